"""The prompt file is read again at every sampling, scheduled or asked for (sample now), as sd-scripts
reads it (user test s11/f8): an edit made while the run goes on applies from the next sample; a file
that became empty or invalid is said in one line naming it and the last good prompts are used, and
the run goes on. Tiny model, CPU: 4 images x 2 repeats, batch 2, 2 epochs = 8 steps, samples every 2."""

from __future__ import annotations

import re

from loratui.core.run_control import request_control
from test_train import make_project, of, run


def test_each_sampling_reads_the_prompt_file_again_and_keeps_the_last_good_prompts(tiny_sd1_dir, tmp_path,
                                                                                 monkeypatch):
    from loratui.engine import run as run_module

    prompts = tmp_path / "prompts.txt"
    tmp_path.mkdir(exist_ok=True)
    prompts.write_text("shp, red circle --w 64 --h 64 --d 3 --s 2\n", encoding="utf-8")
    config = make_project(tmp_path, tiny_sd1_dir, **{"sampling.sample_prompts": "prompts.txt",
                                                     "sampling.sample_every_n_steps": 2})
    out = tmp_path / "out"
    edits = {  # written just before the step's hooks run (its sampling)
        2: "# edited overnight\nshp, blue square --w 64 --h 64 --d 7 --s 2\n",
        3: "",  # emptied, and a sample-now request at this step
        4: "shp --w wide --d 8\n",  # invalid
        6: "shp --w wide --d 8\n",  # still the same problem: not said again
        8: "shp, green --w 64 --h 64 --d 9 --s 2\n",  # fixed
    }
    on_step = run_module.Reporter.on_step

    def edit_then_step(self, tr, **kw):
        if tr.step in edits:
            prompts.write_text(edits[tr.step], encoding="utf-8")
            if tr.step == 3:
                request_control(out, "tiny", "sample")
        on_step(self, tr, **kw)

    monkeypatch.setattr(run_module.Reporter, "on_step", edit_then_step)
    code, events = run(config)
    assert code == 0 and of(events, "finished")[-1]["reason"] == "completed"
    # sd-scripts' names, NAME_STEP_II_YYYYmmddHHMMSS_SEED.png: the time left out here; the prompt each event says
    samples = [(e["step"], [re.sub(r"_\d{14}_", "_", p.rsplit("/", 1)[1]) for p in e["paths"]],
                [a["prompt"] for a in e["prompts"]]) for e in of(events, "sample_saved")]
    assert samples == [(2, ["tiny_000002_00_7.png"], ["shp, blue square"]),
                       (3, ["tiny_000003_00_7.png"], ["shp, blue square"]),
                       (4, ["tiny_000004_00_7.png"], ["shp, blue square"]),
                       (6, ["tiny_000006_00_7.png"], ["shp, blue square"]), (8, ["tiny_000008_00_9.png"], ["shp, green"])]
    said = [e["message"] for e in of(events, "warning") if "prompt" in e["message"]]
    assert len(said) == 2, said
    assert said[0] == (f"sampling.sample_prompts: {prompts} has no prompts (one per line): the samples at step 3 "
                       "(and later, until it is fixed) use the 1 prompt(s) last read from it")
    assert said[1].startswith(f"{prompts}:1: --w needs a ") and ": the samples at step 4 (and later" in said[1]
    assert [e["status"] for e in of(events, "control")] == ["done"]  # sample now: answered, not refused
