"""ss_epoch and modelspec.date of every save of a real run, as sd-scripts writes them (hunt h10 #5, #8): a step
save holds the 0-based epoch its step is in (train_network.py:1501), an epoch save its epoch, the final the
run's epochs; each save is dated when it was written. A resume that keeps those saves aside announces them with
the epoch their own events said. Tiny model, CPU: 4 images x 2 repeats, batch 2: 4 steps an epoch, 2 epochs."""

from __future__ import annotations

import datetime
from pathlib import Path

from safetensors import safe_open

from test_train import make_project, of, run


def _meta(path: Path) -> dict[str, str]:
    with safe_open(str(path), "pt") as handle:
        return handle.metadata()


def test_each_save_holds_sd_scripts_epoch_and_its_own_date_and_a_resume_keeps_the_events_epochs(
        tiny_sd1_dir, tmp_path):
    config = make_project(tmp_path, tiny_sd1_dir, **{"saving.save_every_n_steps": 2, "saving.save_every_n_epochs": 1,
                                                      "saving.save_state": True})
    out = tmp_path / "out"
    code, events = run(config)
    assert code == 0
    epochs = {Path(p).name: _meta(Path(p))["ss_epoch"] for p in (e["path"] for e in of(events, "checkpoint_saved"))
              if p.endswith(".safetensors")}
    assert epochs == {"tiny-step00000002.safetensors": "0", "tiny-step00000004.safetensors": "0",
                      "tiny-000001.safetensors": "1", "tiny-step00000006.safetensors": "1", "tiny.safetensors": "2"}
    for name in epochs:
        meta = _meta(out / name)
        saved = datetime.datetime.fromtimestamp(int(float(meta["ss_training_finished_at"]))).isoformat()
        assert meta["modelspec.date"] == saved  # the save's time (the start is ss_training_started_at)
    said = {Path(e["path"]).name: e["epoch"] for e in of(events, "checkpoint_saved")}

    code, resumed = run(config, resume=str(out / "tiny-step00000002-state"))
    assert code == 0
    last = max(i for i, e in enumerate(resumed) if e["event"] == "run_started")
    kept = {Path(e["path"]).name: e["epoch"] for e in of(resumed[last:], "checkpoint_saved") if "-kept-" in e["path"]}
    assert kept == {"tiny-kept-step00000004.safetensors": said["tiny-step00000004.safetensors"],
                    "tiny-kept-000001.safetensors": said["tiny-000001.safetensors"],
                    "tiny-kept-step00000006.safetensors": said["tiny-step00000006.safetensors"],
                    "tiny-kept-step00000008.safetensors": said["tiny.safetensors"]}
    assert kept["tiny-kept-step00000004.safetensors"] == 1 and kept["tiny-kept-step00000006.safetensors"] == 2
