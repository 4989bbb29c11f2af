"""cache_latents_to_disk = true with cache_latents = false trains with latents cached (sd-scripts turns it on)
and the run says so once, as a warning event after run_started (sd-scripts logs the same)."""

from __future__ import annotations

from test_train import make_project, of, run


def test_the_run_warns_that_cache_to_disk_turned_caching_on(tiny_sd1_dir, tmp_path):
    config = make_project(tmp_path, tiny_sd1_dir, **{"dataset.cache_latents": False,
                                                      "dataset.cache_latents_to_disk": True,
                                                      "training.max_train_steps": 1})
    code, events = run(config)
    assert code == 0
    notes = [e["message"] for e in of(events, "warning") if "cache_latents_to_disk" in e["message"]]
    assert len(notes) == 1 and "turns dataset.cache_latents on" in notes[0]
    names = [e["event"] for e in events]
    assert names.index("run_started") < names.index("warning")
