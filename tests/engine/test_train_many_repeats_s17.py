"""`loratui train` on a concept folder with more than 10,000 repeats: trained as sd-scripts trains it (no
longer refused), with one warning naming the folder, its repeats and the run's total steps."""

from __future__ import annotations

from test_train import make_project, of, run


def test_a_folder_of_10001_repeats_trains_with_one_warning(tiny_sd1_dir, tmp_path):
    config = make_project(tmp_path, tiny_sd1_dir, **{"training.max_train_epochs": None,
                                                      "training.max_train_steps": 2})
    (tmp_path / "img" / "2_shp").rename(tmp_path / "img" / "10001_shp")  # 4 images: 40,004 samples, batch 2
    code, events = run(config)
    assert code == 0, [e for e in events if e["event"] in ("error", "warning")]
    assert of(events, "finished")[0]["reason"] == "completed" and of(events, "finished")[0]["step"] == 2
    lines = [e["message"] for e in of(events, "warning") if "10001_shp" in e["message"]]
    assert len(lines) == 1
    assert "train folder '10001_shp' has 10,001 repeats (4 image(s), 40,004 samples an epoch)" in lines[0]
    assert "the run is 2 steps" in lines[0] and "e.g. '10_shp'" in lines[0]
