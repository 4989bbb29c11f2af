"""The long-caption check uses the training's max_token_length (75, 150 or 225) when it is known:
`dataset scan` and `tags check` take --max-token-length or --config, and the message names the limit.
Without either, the config beside DIR's (the app's), else 75: what sd-scripts reads when max_token_length
is unset."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from loratui.cli import cli

NINETY_TOKENS = ", ".join(f"blue sky {i}" for i in range(30))  # about 30 x 3 pieces: over 75, under 150


def dataset(tmp_path: Path) -> Path:
    folder = tmp_path / "img" / "10_alice"
    folder.mkdir(parents=True)
    Image.new("RGB", (16, 16)).save(folder / "a.png")
    (folder / "a.txt").write_text(NINETY_TOKENS + "\n")
    return tmp_path / "img"


def config(tmp_path: Path, max_token_length: int | None) -> Path:
    from loratui.core.config import TrainingConfig, save_config

    cfg = TrainingConfig()
    cfg.dataset.train_data_dir = "img"
    if max_token_length is not None:
        cfg.training.max_token_length = max_token_length
    path = tmp_path / "run.toml"
    save_config(cfg, path)
    return path


def long_captions(*args: str) -> list[str]:
    result = CliRunner().invoke(cli, [*args, "--json"], catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    return [p["message"] for p in json.loads(result.output)["problems"] if p["kind"] == "long_caption"]


@pytest.mark.parametrize("command", [["dataset", "scan"], ["tags", "check"]])
def test_the_option_sets_the_limit_and_the_message_names_it(tmp_path, command):
    img = dataset(tmp_path)
    [default] = long_captions(*command, str(img))  # 75 by default, as sd-scripts
    assert "over the 75 tokens sd-scripts reads by default (max_token_length unset)" in default
    assert long_captions(*command, str(img), "--max-token-length", "225") == []
    assert long_captions(*command, str(img), "--max-token-length", "150") == []
    [message] = long_captions(*command, str(img), "--max-token-length", "75")
    assert "over the 75 sd-scripts reads with max_token_length 75" in message
    assert "set max_token_length = 150 or 225 in the config to keep more" in message


@pytest.mark.parametrize("command", [["dataset", "scan"], ["tags", "check"]])
def test_the_configs_max_token_length_is_the_limit(tmp_path, command):
    img = dataset(tmp_path)
    assert long_captions(*command, str(img), "--config", str(config(tmp_path, 150))) == []
    [message] = long_captions(*command, str(img), "--config", str(config(tmp_path, None)))  # unset: 75
    assert "max_token_length 75" in message
    # the option wins over the config
    assert long_captions(*command, str(img), "--config", str(config(tmp_path, 75)), "--max-token-length", "225") == []


def test_a_config_that_cannot_be_read_is_a_one_line_error(tmp_path):
    img = dataset(tmp_path)
    bad = tmp_path / "bad.toml"
    bad.write_text("[training]\nmax_token_length = 100\n")
    out = subprocess.run([sys.executable, "-m", "loratui", "dataset", "scan", str(img), "--config", str(bad)],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.startswith("error: ") and "bad.toml, line 2: max_token_length" in out.stderr


def test_a_bad_option_value_is_refused(tmp_path):
    result = CliRunner().invoke(cli, ["tags", "check", str(dataset(tmp_path)), "--max-token-length", "100"])
    assert result.exit_code == 2 and "100" in result.output


def test_without_a_config_the_message_says_it_is_sd_scripts_default(tmp_path):
    img = dataset(tmp_path)
    (img / "10_alice" / "a.txt").write_text(", ".join(f"blue sky {i}" for i in range(90)) + "\n")
    [message] = long_captions("dataset", "scan", str(img))
    assert "CLIP tokens (90 tags), over the 75 tokens sd-scripts reads by default (max_token_length unset)" \
        in message
    assert message.endswith("remove tags, or set max_token_length = 150 or 225 in the config to keep more")
    assert "\n" not in message
