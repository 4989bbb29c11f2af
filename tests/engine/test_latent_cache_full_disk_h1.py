"""A latent cache (cache_latents_to_disk) that fills the dataset's disk is named as such: the failed
line names the cache file being written and the disk it is on, not output_dir's disk (h1 hunt, item 2)."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import torch

from fixtures.small_disk import fill, small_disk
from test_train import make_project


def test_store_cached_names_the_cache_file_when_the_disk_is_full(tmp_path, monkeypatch):
    from loratui.engine import data_cache
    from loratui.engine.run_saves import RunSaves

    from PIL import Image

    image = tmp_path / "img0.png"
    Image.new("RGB", (8, 8)).save(image)
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left on device")))
    try:
        data_cache.store_cached(image, (8, 8), False, (8, 8), "vae", torch.zeros(4, 1, 1))
    except OSError as exc:
        caught = exc
    monkeypatch.undo()
    assert caught.errno == errno.ENOSPC and caught.filename == str(data_cache.cache_path(image))
    assert not list(tmp_path.glob(".*.tmp"))  # no temp file left

    class Saves(RunSaves):  # the run's error handler, with no save under way
        def __init__(self):
            self.writing, self.output_dir = None, Path("/elsewhere/out")

    line = Saves()._disk_full(_wrapped(caught))
    assert f"writing {data_cache.cache_path(image)}:" in line and "/elsewhere/out" not in line


def _wrapped(exc: OSError) -> Exception:
    """The cache error as it may reach the handler: inside another error, whose own has no file name."""
    try:
        raise RuntimeError("caching latents failed") from exc
    except RuntimeError as outer:
        return outer


def test_a_full_dataset_disk_is_named_not_the_output_disk(tiny_sd1_dir, tmp_path, capsys):
    from loratui.engine.run import Run

    make_project(tmp_path / "p", tiny_sd1_dir)  # its images, copied onto the small disk
    with small_disk(tmp_path / "disk", "1m") as disk:
        shutil.copytree(tmp_path / "p" / "img", disk / "img")
        config = make_project(tmp_path / "p", tiny_sd1_dir, **{
            "dataset.train_data_dir": str(disk / "img"), "dataset.cache_latents_to_disk": True,
            "training.max_train_steps": 1})
        fill(disk)
        code = Run(str(config), show_progress=False).execute()
        err = capsys.readouterr().err
        assert code == 1, err
        line = next(line for line in err.splitlines() if line.startswith("error: "))
        assert f"(mounted at {disk}) writing {disk / 'img' / '2_shp'}" in line, line
        assert ".loratui-latents.safetensors: " in line and "free some space" in line
        assert not [p for p in (disk / "img" / "2_shp").iterdir() if p.name.endswith(".tmp")]
