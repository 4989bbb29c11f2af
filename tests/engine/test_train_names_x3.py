"""`train` and odd names (hunt h2, items 1, 2 and 8): a long output_name and a concept folder whose name is
not UTF-8 are refused before torch is imported; the resume hint a state save prints pastes into a shell."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from test_run import PREFLIGHT_PROBE
from test_train import make_project, of, run

CAT = "猫"


def _probe(config: Path) -> tuple[str, str]:
    probe = subprocess.run([sys.executable, "-c", PREFLIGHT_PROBE, str(config)], capture_output=True, text=True,
                           timeout=120)
    name, message, heavy = (part.strip() for part in probe.stdout.strip().rsplit("\n", 1)[-1].split("|"))
    assert probe.returncode == 0 and name.endswith("Error"), probe.stdout + probe.stderr
    return message, heavy


def test_train_refuses_a_long_output_name_before_loading(tiny_sd1_dir, tmp_path):
    config = make_project(tmp_path, tiny_sd1_dir, **{"saving.output_name": CAT * 78})
    message, heavy = _probe(config)
    assert "output_name is 234 bytes" in message and "255 bytes" in message, message
    assert heavy == "none"


def test_train_refuses_a_concept_folder_whose_name_is_not_utf8_before_loading(tiny_sd1_dir, tmp_path):
    config = make_project(tmp_path, tiny_sd1_dir)
    bad = Path(os.fsdecode(os.fsencode(tmp_path / "img") + b"/3_bad\xff"))
    try:
        bad.mkdir()
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system refuses names that are not UTF-8")
    (tmp_path / "img" / "2_shp" / "img0.png").rename(bad / "img0.png")
    message, heavy = _probe(config)
    assert "3_bad\\xff" in message and "not valid UTF-8" in message and "rename it" in message, message
    assert heavy == "none"


def test_the_resume_hint_is_shell_quoted(tiny_sd1_dir, tmp_path, capsys):
    name = f"{CAT} LoRA 'q\""
    config = make_project(tmp_path / "a b", tiny_sd1_dir, **{
        "saving.output_name": name, "training.max_train_steps": 1, "training.max_train_epochs": None,
        "saving.save_every_n_steps": 1})
    code, events = run(config, save_state=True)
    assert code == 0, events
    state = [e["path"] for e in of(events, "checkpoint_saved") if e["kind"] == "state"][0]
    err = capsys.readouterr().err
    assert f"(resume with --resume {shlex.quote(state)})" in err, err
    assert shlex.split(f"--resume {shlex.quote(state)}") == ["--resume", state]
