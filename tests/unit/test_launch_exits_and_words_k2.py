"""K2: `train --processes N` exits as one process does (0 when the stop saved the LoRA; 130 / 143 / 129 only
when nothing was saved); `steps --processes N` is `--num-processes N`; a resume on another process count
suggests `loratui train ... --processes N`; the stop line after SIGHUP does not offer "again" (a second
SIGHUP is ignored)."""

from __future__ import annotations

import json
import signal
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from loratui.cli import cli
from test_steps_cli import project  # noqa: F401  (the fixture)

SAVED = {"event": "finished", "reason": "stopped", "step": 4, "output": "/o/tiny-step00000004.safetensors"}


# ---- 1: the launcher's exit code after a stop -----------------------------------------------------------

def test_a_stop_that_saved_exits_0_and_one_that_saved_nothing_exits_by_its_signal():
    from loratui.engine.launch import stopped_code

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        assert stopped_code([signum], SAVED) == 0
        assert stopped_code([signum], {**SAVED, "output": None}) == 128 + signum  # stopped while loading
        assert stopped_code([signum], None) == 128 + signum  # no finished event: nothing to name
    assert stopped_code([signal.SIGINT, signal.SIGINT], {**SAVED, "output": None}) == 130  # twice: unsaved
    # a stop's save that failed after an earlier LoRA (its error event names that one): not a saved stop
    assert stopped_code([signal.SIGTERM], {**SAVED, "reason": "error"}) == 143
    assert stopped_code([signal.SIGINT], {**SAVED, "reason": "completed"}) == 0  # ended as the signal came


def test_the_launch_exits_0_when_rank_0_saved(tmp_path, monkeypatch):
    from loratui.engine import launch as launcher

    events = tmp_path / "tiny.events.jsonl"
    told = []
    monkeypatch.setattr(launcher, "_run_agent", lambda *a: ([signal.SIGTERM], {}))
    monkeypatch.setattr("loratui.engine.run_events.tell", lambda line, **k: told.append(line))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    events.write_text(json.dumps({**SAVED, "time": 1.0}) + "\n")
    assert launcher.launch(2, ["c.toml"], events_file=events) == 0
    assert told[-1].endswith("the LoRA saved at step 4: /o/tiny-step00000004.safetensors")
    events.write_text(json.dumps({**SAVED, "output": None, "time": 1.0}) + "\n")
    assert launcher.launch(2, ["c.toml"], events_file=events) == 143
    assert told[-1].endswith("nothing saved")
    # the stop's save failed (rank 0 exited 1 with an error event): the failure's line and exit 1
    failed = SimpleNamespace(exitcode=1)
    monkeypatch.setattr(launcher, "_run_agent", lambda *a: ([signal.SIGINT], {0: failed}))
    events.write_text(json.dumps({"event": "error", "kind": "disk_full", "message": "disk full", "time": 1.0}) + "\n"
                      + json.dumps({**SAVED, "reason": "error", "time": 1.0}) + "\n")
    assert launcher.launch(2, ["c.toml"], events_file=events) == 1
    assert told[-1] == ("error: process 0 of 2 exited with code 1: disk full; the launch stopped (its lines above, "
                        "and the run's events file)")


def test_train_help_and_its_exit_codes_say_a_saved_stop_exits_0():
    out = " ".join(CliRunner().invoke(cli, ["train", "--help"], terminal_width=200).output.split())
    assert "the launch exits 0 as one process does" in out
    assert "130 (143 for SIGTERM, 129 for SIGHUP" in out
    assert "saved or not" not in out


# ---- 3: steps --processes ------------------------------------------------------------------------------

def test_steps_takes_processes_as_train_spells_it(project):  # noqa: F811
    path, _ = project
    runner = CliRunner()
    new = runner.invoke(cli, ["steps", str(path), "--json", "--processes", "2"])
    old = runner.invoke(cli, ["steps", str(path), "--json", "--num-processes", "2"])
    assert new.exit_code == old.exit_code == 0, new.output
    assert json.loads(new.output)["steps_per_epoch"] == json.loads(old.output)["steps_per_epoch"] == 32
    bad = runner.invoke(cli, ["steps", str(path), "--processes", "0"])
    assert bad.exit_code == 2 and "--processes" in bad.output
    assert "--processes, --num-processes N" in runner.invoke(cli, ["steps", "--help"]).output


# ---- 5: the stop line per signal -------------------------------------------------------------------------

@pytest.mark.parametrize("world", [1, 2])
def test_the_stop_line_after_sighup_does_not_offer_a_second_one(world):
    from loratui.engine.run_controls import RunControls

    def stop_line(signum):
        said = []
        run = SimpleNamespace(world=world, training_began=True, signals_seen=0, peer_failed=False,
                              trainer=SimpleNamespace(stop_requested=False), say=said.append,
                              stop_asked_while_loading=None)
        RunControls._on_signal(run, signum, None)
        assert run.trainer.stop_requested
        return said[-1]

    hup = stop_line(signal.SIGHUP)
    assert "again to stop" not in hup
    assert "a second SIGHUP or a SIGTERM is ignored; Ctrl-C to stop at once, without saving" in hup
    for signum in (signal.SIGINT, signal.SIGTERM):
        assert "(again to stop at once, without saving)" in stop_line(signum)


def test_the_loading_stop_line_after_sighup_too():
    from loratui.engine.run_controls import RunControls

    said = []
    run = SimpleNamespace(world=1, training_began=False, signals_seen=0, peer_failed=False, trainer=None,
                          say=said.append, stop_asked_while_loading=None)
    RunControls._on_signal(run, signal.SIGHUP, None)
    assert run.stop_asked_while_loading == "SIGHUP"
    assert said[-1].endswith("nothing is saved (a second SIGHUP or a SIGTERM is ignored; Ctrl-C to stop at once)")
