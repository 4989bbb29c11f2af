"""CLIP token counts for a taggui user (h5 (b)1): without a config the long-caption check's limit is 75,
what sd-scripts reads when max_token_length is unset (it was 225, sd-scripts' most, so a 76-225 token
caption that training cuts at 75 went unwarned); `dataset scan` / `tags check` take the limit of the
config beside DIR (the app's); and `tokens>N` / `tokens<N` / `tokens=N` in the --where language (and so
in the app's filter box) count with the same estimate as the warning."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from loratui.cli import cli
from loratui.core.captions import SYNTAX_HELP, load_captions, parse_where
from loratui.core.dataset import MAX_CLIP_TOKENS, caption_problems, config_token_limit, estimate_clip_tokens
from loratui.core.errors import LoratuiError
from tests.unit.test_caption_token_limit import long_captions

HUNDRED = ", ".join(f"blue sky {i}" for i in range(22))  # about 100 CLIP tokens: over 75, under 150
SHORT = "alice, 1girl, solo"


def test_the_hundred_token_caption_is_what_the_tests_say():
    assert 90 < estimate_clip_tokens(HUNDRED) < 150 and estimate_clip_tokens(SHORT) < 75


def dataset(tmp_path: Path, captions: dict[str, str | None]) -> Path:
    """tmp_path/proj: a project folder (img/10_alice/...) with these captions (None: no caption file)."""
    folder = tmp_path / "proj" / "img" / "10_alice"
    folder.mkdir(parents=True)
    for name, text in captions.items():
        Image.new("RGB", (16, 16)).save(folder / f"{name}.png")
        if text is not None:
            (folder / f"{name}.txt").write_text(text + "\n", encoding="utf-8")
    return tmp_path / "proj"


def config_beside(project: Path, max_token_length: int | None) -> Path:
    from loratui.core.config import TrainingConfig, save_config

    cfg = TrainingConfig()
    cfg.dataset.train_data_dir = "img"
    if max_token_length is not None:
        cfg.training.max_token_length = max_token_length
    path = project / "config.toml"
    save_config(cfg, path)
    return path


# ---- the limit --------------------------------------------------------------------------------------------


def test_the_default_limit_is_sd_scripts_default():
    assert MAX_CLIP_TOKENS == 75
    [problem] = [p for p in caption_problems(Path("10_a/x.txt"), HUNDRED.encode()) if p.kind == "long_caption"]
    assert problem.severity == "warning" and "\n" not in problem.message
    assert ("over the 75 tokens sd-scripts reads by default (max_token_length unset): the rest is cut off "
            "silently; remove tags, or set max_token_length = 150 or 225 in the config to keep more") in problem.message
    assert not [p for p in caption_problems(Path("10_a/x.txt"), HUNDRED.encode(), max_tokens=150)
                if p.kind == "long_caption"]


def test_the_message_says_how_to_keep_more_only_while_there_is_more():
    long = ", ".join(f"blue sky {i}" for i in range(80)).encode()  # about 240
    said = {limit: next(p.message for p in caption_problems(Path("10_a/x.txt"), long, max_tokens=limit)
                        if p.kind == "long_caption") for limit in (75, 150, 225)}
    assert "with max_token_length 75" in said[75] and "set max_token_length = 150 or 225" in said[75]
    assert "with max_token_length 150" in said[150] and "set max_token_length = 225 in" in said[150]
    assert "with max_token_length 225" in said[225] and "set max_token_length" not in said[225]


def test_reading_a_configs_limit(tmp_path):
    path = tmp_path / "c.toml"
    assert config_token_limit(None) is None and config_token_limit(path) is None
    path.write_text("[training]\nmax_token_length = 150\n")
    assert config_token_limit(path) == 150
    path.write_text("[dataset]\ncaption_extension = '.txt'\n")
    assert config_token_limit(path) == 75  # unset: the schema's and sd-scripts' 75
    path.write_text("[training]\nmax_token_length = 100\n")
    assert config_token_limit(path) is None
    path.write_text("not toml [")
    assert config_token_limit(path) is None


@pytest.mark.parametrize("command", [["dataset", "scan"], ["tags", "check"]])
def test_a_hundred_token_caption_without_a_config_is_warned(tmp_path, command):
    project = dataset(tmp_path, {"a": HUNDRED, "b": SHORT})
    [message] = long_captions(*command, str(project))
    assert message.startswith("10_alice/a.txt is about") and "75 tokens sd-scripts reads by default" in message


@pytest.mark.parametrize("command", [["dataset", "scan"], ["tags", "check"]])
def test_the_config_beside_dir_gives_the_limit(tmp_path, command):
    """The limit the app checks this dataset against: a config with 150 warns of nothing here."""
    project = dataset(tmp_path, {"a": HUNDRED})
    config_beside(project, 150)
    assert long_captions(*command, str(project)) == []
    [message] = long_captions(*command, str(project), "--max-token-length", "75")  # the option wins
    assert "with max_token_length 75" in message
    config_beside(project, None)  # unset: 75, named as the config's
    [message] = long_captions(*command, str(project))
    assert "over the 75 sd-scripts reads with max_token_length 75" in message


def test_a_config_dir_gives_its_limit(tmp_path):
    project = dataset(tmp_path, {"a": HUNDRED})
    config = config_beside(project, 225)
    assert long_captions("dataset", "scan", str(config)) == []


def test_a_broken_config_beside_dir_does_not_stop_the_scan(tmp_path):
    project = dataset(tmp_path, {"a": HUNDRED})
    (project / "config.toml").write_text("[training]\nmax_token_length = 100\n")
    result = CliRunner().invoke(cli, ["tags", "check", str(project), "--json"])
    assert result.exit_code == 0, result.output
    [problem] = json.loads(result.output)["problems"]
    assert "75 tokens sd-scripts reads by default" in problem["message"]


def test_help_names_the_default(tmp_path):
    for command in (["dataset", "scan"], ["tags", "check"]):
        out = CliRunner().invoke(cli, [*command, "--help"], terminal_width=200).output
        assert "else 75, what sd-scripts reads when max_token_length is unset" in " ".join(out.split())
        assert "225, the most" not in out


# ---- tokens>N in --where ----------------------------------------------------------------------------------


def test_tokens_terms_count_like_the_warning(tmp_path):
    project = dataset(tmp_path, {"a": HUNDRED, "b": SHORT, "c": None, "d": ""})
    caps = {c.path.stem: c for c in load_captions(project / "img")}

    def names(expr: str) -> list[str]:
        match = parse_where(expr)
        return sorted(name for name, c in caps.items() if match(c))

    n = estimate_clip_tokens(HUNDRED)
    assert names("tokens>75") == ["a"]
    assert names("TOKENS>75") == ["a"]  # keywords ignore case
    assert names("tokens<75") == ["b", "c", "d"]  # no caption file: 0 tokens
    assert names(f"tokens={n}") == ["a"] and names(f"tokens>{n}") == []
    assert names("tokens=0") == ["c", "d"]
    assert names("not tokens>75") == ["b", "c", "d"] and names("-tokens>75") == ["b", "c", "d"]
    assert names("tokens>75 or tag:solo") == ["a", "b"]
    assert names("tokens<75 and tags>2") == ["b"]


@pytest.mark.parametrize("bad", ["tokens>x", "tokens>", "tokens<1.5", "tokens=-3", "tokens>=75"])
def test_a_bad_token_count_is_one_line_naming_the_term(bad):
    with pytest.raises(LoratuiError) as caught:
        parse_where(bad)
    message = str(caught.value)
    assert "\n" not in message and repr(bad) in message
    assert "tokens<N, tokens>N or tokens=N with a whole number N (e.g. tokens>75)" in message


def test_the_syntax_help_and_module_doc_name_the_term():
    import loratui.core.captions.filter as module

    assert "tokens>N" in SYNTAX_HELP and "about N CLIP tokens" in SYNTAX_HELP
    assert "tokens<N tokens>N tokens=N" in module.__doc__ and "estimate_clip_tokens" in module.__doc__


def test_the_cli_where_takes_it(tmp_path):
    project = dataset(tmp_path, {"a": HUNDRED, "b": SHORT})
    result = CliRunner().invoke(cli, ["tags", "freq", str(project), "--where", "tokens>75", "--json"])
    assert result.exit_code == 0, result.output
    assert '"blue sky 0"' in result.output and '"alice"' not in result.output
    bad = subprocess.run([sys.executable, "-m", "loratui", "tags", "freq", str(project), "--where", "tokens>many"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith("error: --where: cannot read 'tokens>many': a CLIP token count is")
    assert bad.stderr.count("\n") == 1


def test_the_app_filter_box_reads_it_as_a_term():
    from loratui.tui.services.dataset_filter import split_filter

    assert split_filter("tokens>75 hair") == ("tokens>75", ["hair"])
    assert split_filter("-tokens<10") == ("-tokens<10", [])
    assert split_filter("tokens>x") == ("tokens>x", [])  # core's one-line error, not free text
    assert split_filter("tokens") == ("", ["tokens"])  # a plain word stays a word
