"""Control requests to a live run (save now, sample now, stop: NAME.control.jsonl) and extending a
finished run by more epochs, on the tiny model (CPU)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from click.testing import CliRunner

from loratui.commands.train_cmd import train
from loratui.core.events import events_path, read_events, request_control
from test_train import make_project, of, run


def _when(events_file: Path, test, timeout: float = 120.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        events = read_events(events_file)
        if test(events):
            return events
        if time.monotonic() > deadline or any(e["event"] == "finished" for e in events):
            raise AssertionError(f"never happened; last events: {events[-3:]}")
        time.sleep(0.05)


def _drive(out: Path, name: str, script) -> threading.Thread:
    """Runs ``script(events_file, request)`` beside the run (the run stays in the main thread, where
    its signal handlers belong); a failure is kept on the thread object and re-raised by the test."""
    def body():
        try:
            script(events_path(out, name), lambda kind: request_control(out, name, kind))
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            thread.failure = exc
            request_control(out, name, "stop")

    thread = threading.Thread(target=body, daemon=True)
    thread.failure = None
    thread.start()
    return thread


def test_save_now_and_sample_now_mid_run_then_stop(tiny_sd1_dir, tmp_path):
    root = tmp_path / "p"
    root.mkdir()
    (root / "prompts.txt").write_text("shp, red circle --w 64 --h 64 --d 5 --s 2 --l 4.0\n", encoding="utf-8")
    config = make_project(root, tiny_sd1_dir, **{"training.max_train_epochs": 25,
                                                  "sampling.sample_prompts": "prompts.txt"})
    out = root / "out"
    answers = {}

    def script(events_file, request):
        _when(events_file, lambda ev: len(of(ev, "step")) >= 2)
        answers["save"], answers["sample"] = request("save"), request("sample")
        _when(events_file, lambda ev: len(of(ev, "control")) >= 2)
        answers["stop"] = request("stop")

    driver = _drive(out, "tiny", script)
    code, events = run(config)
    driver.join(10)
    assert driver.failure is None, driver.failure
    assert code == 0
    controls = {e["id"]: e for e in of(events, "control")}
    assert set(controls) == set(answers.values())
    assert all(controls[answers[k]]["status"] == "done" and controls[answers[k]]["request"] == k for k in answers)
    finished = of(events, "finished")[0]
    assert finished["reason"] == "stopped"
    saved = [e for e in of(events, "checkpoint_saved") if e["kind"] == "step"]
    assert saved[0]["step"] < finished["step"]  # the save came mid-run, before the stop's own save
    assert Path(saved[0]["path"]).is_file() and saved[0]["path"] in controls[answers["save"]]["message"]
    sample = of(events, "sample_saved")[0]
    assert sample["step"] < finished["step"] and all(Path(p).is_file() for p in sample["paths"])
    # the control event comes right after what it asked for
    kinds = [e["event"] for e in events]
    assert kinds[kinds.index("sample_saved") + 1] == "control"


def test_sample_now_without_prompts_is_refused_and_old_requests_are_ignored(tiny_sd1_dir, tmp_path):
    config = make_project(tmp_path, tiny_sd1_dir, **{"training.max_train_epochs": 25})
    out = tmp_path / "out"
    out.mkdir()
    request_control(out, "tiny", "stop")  # left over from an earlier run: not for this one
    time.sleep(0.01)  # written before this run's launch, beyond the clock's rounding

    def script(events_file, request):
        _when(events_file, lambda ev: len(of(ev, "step")) >= 1)
        request("sample")
        _when(events_file, lambda ev: len(of(ev, "control")) >= 1)
        request("stop")

    driver = _drive(out, "tiny", script)
    code, events = run(config)
    driver.join(10)
    assert driver.failure is None, driver.failure
    assert code == 0 and of(events, "finished")[0]["reason"] == "stopped"
    sample, stop = of(events, "control")
    assert sample["status"] == "refused" and "sample_prompts" in sample["message"]
    assert stop["request"] == "stop" and stop["status"] == "done"
    assert not of(events, "sample_saved")


def test_extend_a_finished_run_by_one_epoch(tiny_sd1_dir, tmp_path):
    from safetensors import safe_open

    config = make_project(tmp_path, tiny_sd1_dir, **{"saving.save_state_on_train_end": True,
                                                      "optimizer.lr_scheduler": "cosine"})
    code, first = run(config)
    assert code == 0 and [e["step"] for e in of(first, "step")] == list(range(1, 9))
    out = tmp_path / "out"
    before = (out / "tiny.safetensors").read_bytes()

    result = CliRunner().invoke(train, [str(config), "--resume", str(out / "tiny-state"), "--extend-epochs", "1"])
    assert result.exit_code == 0, result.output
    events = read_events(events_path(out, "tiny"))[len(first):]
    started = of(events, "run_started")[0]
    assert started["resumed_from"] == str(out / "tiny-state") and started["schedule"]["epochs"] == 3
    assert started["schedule"]["total_steps"] == 12 and Path(started["config"]).is_absolute()
    assert [e["step"] for e in of(events, "step")] == [9, 10, 11, 12]  # steps continue from the state
    assert {e["epoch"] for e in of(events, "step")} == {3}
    finished = of(events, "finished")[0]
    assert finished == {**finished, "reason": "completed", "step": 12, "epoch": 3}
    assert finished["output"] == str(out / "tiny.safetensors")
    with safe_open(str(out / "tiny.safetensors"), "pt") as handle:
        assert handle.metadata()["ss_steps"] == "12" and handle.metadata()["ss_epoch"] == "3"
    # the 2-epoch LoRA the run had is kept under its epoch's name, and listed as a checkpoint
    kept = out / "tiny-000002.safetensors"
    assert kept.read_bytes() == before
    assert {"path": str(kept), "kind": "epoch", "step": 8, "epoch": 2}.items() <= of(events, "checkpoint_saved")[0].items()
    # extending again counts from the new state
    result = CliRunner().invoke(train, [str(config), "--resume", str(out / "tiny-state"), "--extend-epochs", "1",
                                        "--json"])
    assert result.exit_code == 0, result.output
    assert (out / "tiny-000003.safetensors").is_file()
    assert '"step": 16' in result.output


def test_extend_needs_a_state(tiny_sd1_dir, tmp_path):
    config = make_project(tmp_path, tiny_sd1_dir)
    result = CliRunner().invoke(train, [str(config), "--extend-epochs", "1"])
    assert result.exit_code == 2 and "--extend-epochs needs --resume" in result.output
    result = CliRunner().invoke(train, [str(config), "--max-train-epochs", "0"])
    assert result.exit_code == 2 and "must be at least 1" in result.output


def test_an_interrupt_while_loading_exits_130(tiny_sd1_dir, tmp_path, monkeypatch):
    """Ctrl-C while the model loaded said "stopped (nothing saved)" and exited 0: `train && upload` went on."""
    from loratui.engine import models

    config = make_project(tmp_path, tiny_sd1_dir)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(models, "load_base_model", interrupted)
    code, events = run(config)
    assert code == 130
    assert of(events, "finished")[-1]["reason"] == "stopped"
