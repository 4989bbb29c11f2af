"""User test s13/h7 of the Train screen lifecycle, fixed in f7 (tiny model, CPU): a plain --resume of an
extension stopped part way goes on to the extension's end (the state's run's plan), and the final LoRA
an extension kept under its epoch's name is not taken for a promoted copy by the next launch. The
project: 4 images x 2 repeats, batch 2: 4 steps an epoch, 2 epochs planned (8 steps)."""

from __future__ import annotations

import json
import time

import pytest

from loratui.core.errors import LoratuiError
from loratui.core.promote import promoted_final_source
from loratui.core.events import read_events
from test_run_controls import _drive
from test_train import make_project, of, run


def test_a_stopped_extension_resumes_to_its_planned_end_and_keeps_the_final(tiny_sd1_dir, tmp_path, capsys):
    config = make_project(tmp_path, tiny_sd1_dir)
    out = tmp_path / "out"
    assert run(config, save_state=True)[0] == 0  # 8 of 8, with its state
    final_8 = (out / "tiny.safetensors").read_bytes()

    def stop_mid_extension(events_file, request):
        deadline = time.monotonic() + 120  # the file holds the first run's `finished`: wait for a step past it
        while not any(e["step"] > 8 for e in of(read_events(events_file), "step")):
            assert time.monotonic() < deadline, "the extension never trained a step"
            time.sleep(0.05)
        request("stop")

    driver = _drive(out, "tiny", stop_mid_extension)
    code, events = run(config, resume=str(out / "tiny-state"), extend_epochs=3)  # to 5 epochs, 20 steps
    driver.join(10)
    assert driver.failure is None, driver.failure
    stopped = of(events, "finished")[-1]
    assert code == 0 and stopped["reason"] == "stopped" and 8 < stopped["step"] < 20
    assert (out / "tiny-000002.safetensors").read_bytes() == final_8  # the final kept under its epoch's name
    assert promoted_final_source(out, "tiny") is None  # ... is no save it was promoted from

    # an explicit --max-train-epochs below the state is refused, never replaced by the state's run's plan
    from loratui.commands.train_cmd import _resume_preflight
    from loratui.core.config import load_config

    with pytest.raises(LoratuiError):
        _resume_preflight(load_config(config), str(out / "tiny-state"), max_steps=None, max_epochs=2,
                          extend_epochs=None)

    # r (a plain --resume) goes on to the extension's end, not "past the 8 steps this config plans"
    capsys.readouterr()
    code, events = run(config, resume=str(out / "tiny-state"))
    said = capsys.readouterr()
    assert code == 0
    assert of(events, "run_started")[-1]["schedule"]["total_steps"] == 20
    assert of(events, "finished")[-1]["step"] == 20 and of(events, "finished")[-1]["reason"] == "completed"
    warnings = [e["message"] for e in of(events, "warning")]
    assert not any("promoted copy" in w for w in warnings)
    note = next(line for line in (said.out + said.err).splitlines() if "this config plans 8 steps" in line)
    assert "goes on to step 20" in note and "\n" not in note
    assert not list(out.glob("tiny-promoted*.safetensors"))
    assert json.loads((out / "tiny-state" / "state.json").read_text())["step"] == 20

    # the config's own plan still wins where it leaves something to train, and nothing is left now
    with pytest.raises(LoratuiError, match=r"nothing to train: the state is at step 20, the end its run planned "
                                           r"\(5 epoch\(s\), past the 8 steps this config plans\): --extend-epochs"):
        run(config, resume=str(out / "tiny-state"))
