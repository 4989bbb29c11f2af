"""`loratui caption` applies the option rules of captioners.option_rules and lists images with
existing_captions.run_images: one rule for the CLI and the app's Caption form, not two copies; and
``--device cuda:x`` is a one-line error naming --device, not an internal error."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fixtures.blip_tiny import make_git  # noqa: E402

from loratui.captioners import existing_captions, option_rules  # noqa: E402
from loratui.cli import main  # noqa: E402
from loratui.commands import caption_cmd  # noqa: E402
from loratui.commands.caption_cmd import _plan, caption  # noqa: E402
from loratui.core.errors import LoratuiError  # noqa: E402


@pytest.fixture
def folder(tmp_path) -> Path:
    concept = tmp_path / "img" / "10_cat"
    concept.mkdir(parents=True)
    for name in ("a.png", "b.png"):
        Image.new("RGB", (16, 16), (200, 10, 10)).save(concept / name)
    return tmp_path / "img"


def _error(args: list[str]) -> str:
    result = CliRunner().invoke(caption, args)
    assert isinstance(result.exception, LoratuiError), result.output
    return str(result.exception)


# ---- 1. one rule, shared: a changed rule changes the CLI's answer ------------------------------------

def test_one_line_options_use_the_shared_rule(folder, monkeypatch):
    value = "trig\nger"
    assert _error(["blip", str(folder), "--model", str(folder), "--prefix", value]) == \
        f"--prefix {value!r}: {option_rules.one_line_problem(value)}"  # the words the CLI always gave
    monkeypatch.setattr(option_rules, "one_line_problem", lambda text: "the shared rule said no")
    assert _error(["wd14", str(folder), "--model", str(folder), "--undesired-tags", "x"]) == \
        "--undesired-tags 'x': the shared rule said no"


def test_the_length_check_is_the_shared_rule(folder, monkeypatch):
    assert _error(["blip", str(folder), "--model", str(folder), "--min-length", "50", "--max-length", "10"]) == \
        "--min-length 50 is more than --max-length 10: lower it or raise --max-length"
    monkeypatch.setattr(option_rules, "lengths_problem", lambda low, high: f"shared: {low} {high}")
    assert _error(["blip", str(folder), "--model", str(folder)]) == "shared: 5 75"


def test_comma_separated_tags_use_the_shared_parsing(folder, monkeypatch):
    import loratui.captioners.wd14 as wd14

    def fake_captioner(model, options, **kwargs):  # stops the run once the options are made
        raise LoratuiError(f"undesired={options.undesired_tags} first={options.always_first_tags}")

    monkeypatch.setattr(wd14, "WD14Captioner", fake_captioner)
    args = ["wd14", str(folder), "--model", str(folder), "--undesired-tags", " a, ,b ", "--always-first-tags", "ohwx,"]
    assert _error(args) == "undesired=['a', 'b'] first=['ohwx']"
    monkeypatch.setattr(option_rules, "csv_tags", lambda text: [f"<{text}>"])
    assert _error(args) == "undesired=['< a, ,b >'] first=['<ohwx,>']"
    assert not hasattr(caption_cmd, "_csv")  # no copy of the rule left behind


def test_the_plan_lists_the_runs_images_as_the_app_counts_them(folder, monkeypatch):
    only = folder / "10_cat" / "a.png"
    monkeypatch.setattr(existing_captions, "run_images", lambda dataset_dir, recursive: [only])
    todo, skipped = _plan(str(folder), False, ".txt", "overwrite")
    assert [job.image for job in todo] == [only] and skipped == []
    monkeypatch.setattr(existing_captions, "run_images", lambda dataset_dir, recursive: [])
    with pytest.raises(LoratuiError, match="no images found"):
        _plan(str(folder), False, ".txt", "overwrite")


def test_no_images_keeps_its_message(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(LoratuiError) as info:
        _plan(str(tmp_path / "empty"), False, ".txt", "overwrite")
    assert str(info.value) == (f"{tmp_path / 'empty'}: no images found (looked in {tmp_path / 'empty'} and its "
                               "N_concept folders; --recursive looks in every subfolder)")


# ---- 2. --device as written is checked before anything parses it -----------------------------------

@pytest.mark.parametrize("device", ["cuda:x", "cuda:", "gpu", "cuda:1x"])
def test_a_malformed_device_is_one_line_naming_the_option(device, monkeypatch):
    import torch

    from loratui.captioners.blip import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # where int("x") was reached
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(LoratuiError) as info:
        resolve_device(device)
    assert str(info.value) == f"--device {option_rules.device_problem(device)}"
    assert str(info.value).startswith(f"--device '{device}': expected auto, cpu, cuda or cuda:N")


def test_the_cli_says_so_with_exit_2(tmp_path, folder, monkeypatch, capsys):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    model = make_git(tmp_path / "git")
    capsys.readouterr()  # making the model prints its own progress
    with pytest.raises(SystemExit) as exit_info:
        main(["caption", "blip", str(folder), "--model", str(model), "--device", "cuda:x"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: --device 'cuda:x': expected auto, cpu, cuda or cuda:N (N a GPU number, e.g. cuda:1)"]
    assert not list(folder.glob("**/*.txt"))
