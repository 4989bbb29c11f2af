"""Samples in a run are named as sd-scripts names them (train_network.py calls sample_images with the epoch at
an epoch's end and at sample_at_first, epoch 0, else with none: NAME_e000002_... / NAME_000003_...), their
events say each image's prompt, and the first sampling does not say the prompts changed (they were read
at the start with the same 512x512 default). Tiny model, CPU: 4 images x 2 repeats, batch 2: 4 steps an epoch."""

from __future__ import annotations

import re

from loratui.core import runs
from loratui.core.run_control import request_control
from test_run_files_across_runs import _with_prompts
from test_train import make_project, of, run


def _shown(path: str) -> str:
    """A sample's file name without its time (YYYYmmddHHMMSS), checked to be one."""
    name = path.rsplit("/", 1)[1]
    assert re.search(r"_\d{14}(_|\.png$)", name), name
    return re.sub(r"_\d{14}(?=_|\.png$)", "", name)


def test_epoch_samples_are_named_by_epoch_and_the_others_by_step(tiny_sd1_dir, tmp_path, monkeypatch):
    from loratui.engine import run as run_module

    config = _with_prompts(tmp_path, tiny_sd1_dir, **{"sampling.sample_every_n_steps": None,
                                                      "sampling.sample_every_n_epochs": 1,
                                                      "sampling.sample_at_first": True})
    out = tmp_path / "out"
    on_step = run_module.Reporter.on_step

    def sample_now_at_3(self, tr, **kw):
        if tr.step == 3:
            request_control(out, "tiny", "sample")
        on_step(self, tr, **kw)

    monkeypatch.setattr(run_module.Reporter, "on_step", sample_now_at_3)
    code, events = run(config)
    assert code == 0
    saved = [(e["step"], e["epoch"], [_shown(p) for p in e["paths"]]) for e in of(events, "sample_saved")]
    assert saved == [(0, 1, ["tiny_e000000_00_3.png"]),  # sample_at_first: sd-scripts' epoch 0
                     (3, 1, ["tiny_000003_00_3.png"]),  # sample now: by step
                     (4, 1, ["tiny_e000001_00_3.png"]), (8, 2, ["tiny_e000002_00_3.png"])]
    assert all(e["prompts"] == [{"prompt": "shp, red circle", "seed": 3}] for e in of(events, "sample_saved"))
    # read back: the epoch's samples by epoch, the others by step; the record keeps each image's prompt
    on_disk = runs.previous_samples(out, "tiny")
    assert {(runs.sample_step(p, "tiny"), runs.sample_epoch(p, "tiny")) for p in on_disk} == {
        (3, None), (None, 0), (None, 1), (None, 2)}
    record = runs.read_summary(out, "tiny").record
    assert {record.sample_prompts[p.name]["prompt"] for p in on_disk} == {"shp, red circle"}


def test_the_first_sampling_does_not_say_the_prompts_changed(tiny_sd1_dir, tmp_path, monkeypatch, capsys):
    """A prompt without --w/--h: the start read it at the training resolution (64 here), each sampling at
    sd-scripts' 512x512, so the first sampling said "read again ... (changed)" of an unchanged file."""
    import loratui.engine.sampling as sampling

    (tmp_path / "prompts.txt").write_text("shp, red circle --d 3 --s 1\n", encoding="utf-8")
    config = make_project(tmp_path, tiny_sd1_dir, **{"sampling.sample_prompts": "prompts.txt",
                                                     "sampling.sample_every_n_steps": 2,
                                                     "training.max_train_epochs": 1})
    rendered = []

    def render(base, prompts, out_dir, *, step, **kw):  # 512x512 renders are slow on a CPU: the sizes suffice
        rendered.append([(p.width, p.height) for p in prompts])
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"tiny_{step:06d}_00_20260101000000_3.png"
        path.write_bytes(b"png")
        return [path]

    monkeypatch.setattr(sampling, "generate_samples", render)
    code, events = run(config)
    assert code == 0 and len(of(events, "sample_saved")) == 2
    assert rendered == [[(512, 512)], [(512, 512)]]  # sd-scripts' size, not the training resolution
    err = capsys.readouterr().err
    assert "generating 1 sample image(s) at step 2" in err
    assert "read again" not in err and "changed" not in err, err
