"""On the tiny model (CPU): a bug during a step ends the run with the CLI's one line, ``internal error:
TYPE: MESSAGE (details in LOG)``, and a crash log (not a traceback on stderr); a stop read after step N
stops one process after step N, as its answer says ("stopping after step N"), not after N + 1."""

from __future__ import annotations

import time

from loratui.core.events import events_path, read_events
from loratui.core.run_control import request_control
from test_train import make_project, of


def test_a_bug_in_a_step_ends_with_one_line_and_a_crash_log(tiny_sd1_dir, tmp_path, monkeypatch, capsys):
    from loratui.engine import run as run_module

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("LORATUI_DEBUG", raising=False)
    config = make_project(tmp_path, tiny_sd1_dir, **{"training.max_train_steps": 6})
    on_step = run_module.Reporter.on_step

    def broken(self, tr, **kwargs):
        if tr.step == 2:
            raise RuntimeError("boom in the step")
        return on_step(self, tr, **kwargs)

    monkeypatch.setattr(run_module.Reporter, "on_step", broken)
    code = run_module.Run(str(config), show_progress=False).execute()
    assert code == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    logs = list((tmp_path / "cache" / "loratui").glob("train-crash-*.log"))
    assert len(logs) == 1 and "boom in the step" in logs[0].read_text()
    assert err.rstrip().splitlines()[-1] == f"internal error: RuntimeError: boom in the step (details in {logs[0]})"
    events = read_events(events_path(tmp_path / "out", "tiny"))
    error = of(events, "error")[0]
    assert error["kind"] == "crash" and error["message"] == "RuntimeError: boom in the step"
    assert error["hint"] == f"this is a bug in loratui or a broken input file; details in {logs[0]}"
    assert of(events, "finished")[0]["reason"] == "error"


def test_a_stop_read_after_step_one_stops_after_step_one(tiny_sd1_dir, tmp_path):
    from loratui.engine.run import Run

    config = make_project(tmp_path, tiny_sd1_dir, **{"training.max_train_epochs": 25})
    out = tmp_path / "out"
    out.mkdir()
    run = Run(str(config), show_progress=False, launched_at=time.time())
    stop = request_control(out, "tiny", "stop")  # made while the run starts: read after its first step
    assert run.execute() == 0
    events = read_events(events_path(out, "tiny"))
    answer = next(e for e in of(events, "control") if e["id"] == stop)
    assert answer["message"] == "stopping after step 1: the LoRA and the state will be saved"
    assert [e["step"] for e in of(events, "step")] == [1]  # no step 2 after the answer said step 1
    finished = of(events, "finished")[0]
    assert finished["reason"] == "stopped" and finished["step"] == 1
    saved = [e for e in of(events, "checkpoint_saved") if e["kind"] == "state"]
    assert saved and saved[-1]["step"] == 1
