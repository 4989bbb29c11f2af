"""ss_num_reg_images and ss_tag_frequency as sd-scripts writes them (train_util.py: DreamBoothDataset
counts num_reg_images as repeats x images per reg folder; set_tag_frequency counts every image of a
folder once, its caption split at "," and lowercased), from a real run on the tiny model (CPU).

Before: ss_num_reg_images was the reg samples an epoch used (padded / cut to the train count), tags
kept their case and were split at caption_separator, and reg images no epoch used were not counted."""

from __future__ import annotations

import json

from safetensors import safe_open

from test_train import make_project, of, run, write_images


def test_reg_count_and_tag_frequency_match_sd_scripts(tiny_sd1_dir, tmp_path):
    root = tmp_path / "p"
    write_images(root / "img" / "1_shp", n=2)
    for caption in root.glob("img/1_shp/*.txt"):
        caption.write_text("Shp_Demo, Red Circle, shp_demo", encoding="utf-8")
    write_images(root / "reg" / "2_shape", n=6)
    for caption in root.glob("reg/2_shape/*.txt"):
        caption.unlink()  # no captions: the folder's class token "shape"
    # make_project adds img/2_shp (4 images, "shp, circle, colour 0" ...): two train folders
    config = make_project(root, tiny_sd1_dir, **{"dataset.reg_data_dir": "reg", "dataset.caption_separator": ";",
                                                 "training.max_train_epochs": 1})
    code, events = run(config)
    assert code == 0, events[-3:]
    with safe_open(of(events, "finished")[-1]["output"], "pt") as f:
        meta = f.metadata()
    # train: 1 x 2 + 2 x 4 = 10 samples; reg: 2 repeats x 6 images = 12 (an epoch uses 10 of them)
    assert meta["ss_num_train_images"] == "10"
    assert meta["ss_num_reg_images"] == "12"
    frequency = json.loads(meta["ss_tag_frequency"])
    assert frequency["1_shp"] == {"shp_demo": 4, "red circle": 2}  # 2 images, each once; split at ","
    assert frequency["2_shape"] == {"shape": 6}  # every reg image once, used or not, repeats not counted
    assert frequency["2_shp"]["shp"] == 4
    assert json.loads(meta["ss_reg_dataset_dirs"]) == {"2_shape": {"n_repeats": 2, "img_count": 6}}
