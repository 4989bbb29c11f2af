"""`./dev.sh demo` / `loratui demo --headless` run twice: the rerun does and prints what the first run
did (issue 12: strip-underscores turned the trigger shp_demo into 'shp demo', then it was added again,
and the summary read the first run's events)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from loratui import demo

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}


def _walkthrough(folder: Path) -> str:
    proc = subprocess.run([sys.executable, "-m", "loratui", "demo", "--headless", "--no-train", "--dir", str(folder)],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, env=ENV, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # from the first command on; timings aside
    out = proc.stdout[proc.stdout.index("$ loratui"):]
    return re.sub(r"Demo finished in \d+ s", "Demo finished in N s", out)


def _captions(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(demo.concept_dir(folder).glob("*.txt"))}


@pytest.mark.slow
def test_a_rerun_gives_the_first_runs_result(tmp_path):
    folder = tmp_path / "demo"
    first = _walkthrough(folder)
    captions = _captions(folder)
    assert all(text.startswith(f"{demo.TRIGGER}, ") for text in captions.values())
    assert not any("shp demo" in text for text in captions.values())
    second = _walkthrough(folder)
    assert second == first
    assert _captions(folder) == captions


def test_the_run_summary_reads_only_the_last_run(tmp_path, capsys):
    output = tmp_path / "model"
    output.mkdir()
    events = [{"event": "run_started"}, {"event": "step", "step": 1, "avg_loss": 9.0},
              {"event": "step", "step": 2, "avg_loss": 8.0}, {"event": "finished", "step": 2},
              {"event": "run_started"}, {"event": "step", "step": 1, "avg_loss": 2.0},
              {"event": "step", "step": 2, "avg_loss": 1.0}, {"event": "finished", "step": 2}]
    (output / "shapes_demo.events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    demo._show_run(output)
    out = capsys.readouterr().out
    assert "4 events of this run" in out and "2.0000 at step 1 -> 1.0000 at step 2" in out


def test_a_rerun_keeps_captions_the_user_edited(tmp_path):
    """The reset of a rerun is for the demo's own captions only: an edit (the README says to clean
    them up in the app) and its undo history stay."""
    folder = tmp_path / "demo"
    from loratui.commands.demo_cmd import prepare_project

    prepare_project(folder)
    assert demo.captions_are_the_demos(folder)
    edited = demo.concept_dir(folder) / "000_red_circle.txt"
    edited.write_text("MY EDIT\n")
    (folder / "img" / ".loratui").mkdir()
    assert demo.reset_captions(folder) is False
    assert edited.read_text() == "MY EDIT\n" and (folder / "img" / ".loratui").is_dir()
    edited.write_text("")  # back to the demo's own: a reset is allowed again
    demo.write_captions(demo.concept_dir(folder))
    assert demo.reset_captions(folder) is True


def test_a_folder_with_someone_elses_config_is_not_taken_for_the_demo(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "config.toml").write_text("[model]\n")
    proc = subprocess.run([sys.executable, "-m", "loratui", "demo", "--headless", "--no-train", "--dir",
                           str(tmp_path / "mine")], capture_output=True, text=True, env=ENV, timeout=120)
    assert proc.returncode == 2 and "was not made by the demo" in proc.stderr
    assert (tmp_path / "mine" / "config.toml").read_text() == "[model]\n"
