"""The dataset scans behind StepCalculator, cached by the mtimes of the folders they read.

A scan of a config's train and regularisation folders (``scan_or_error``: the scan, or the
LoratuiError it raised, which is an answer to show and to cache) is slow on a large dataset, so the
calculator runs it in a thread worker and keeps it in ``SCAN_CACHE``, shared by every calculator and
keyed by ``folder_key``: the caption extension and the mtimes of each root folder and its concept
subfolders. A config change over a cached scan is then computed on the UI thread at once, and the
calculator's periodic re-check (``folder_key`` again, in a thread) sees images or concept folders
added, removed or renamed on disk. ``scan_is_of`` tells whether a scan a host hands over is of the
config's own folders. Nothing here imports textual.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict

from loratui.core.config import TrainingConfig, resolve_path
from loratui.core.dataset import DatasetScan
from loratui.core.errors import LoratuiError
from loratui.core.plan import scan_for_config


def _dir_state(path: str) -> tuple:
    """(path, mtime, [(subfolder, mtime)...]) of a root folder: what a scan's result depends on."""
    try:
        root = os.stat(path).st_mtime_ns
        subs = []
        with os.scandir(path) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=True):
                    subs.append((entry.name, entry.stat(follow_symlinks=True).st_mtime_ns))
        return path, root, tuple(sorted(subs))
    except OSError as exc:
        return path, "missing", exc.strerror or ""


def folder_key(cfg: TrainingConfig) -> tuple:
    """What a scan of ``cfg``'s folders depends on. Adding, removing or renaming images or concept
    folders changes a folder mtime; an image rewritten in place does not (re-open the config)."""
    d = cfg.dataset
    train = resolve_path(cfg, d.train_data_dir, key="train_data_dir") if d.train_data_dir else ""
    reg = resolve_path(cfg, d.reg_data_dir, key="reg_data_dir") if d.reg_data_dir else ""
    return (d.caption_extension, _dir_state(train) if train else None, _dir_state(reg) if reg else None)


class ScanCache:
    """A few recent scans (or the error a scan raised), by folder key; shared by every calculator."""

    def __init__(self, size: int = 8) -> None:
        self._items: OrderedDict[tuple, DatasetScan | LoratuiError] = OrderedDict()
        self._size, self._lock = size, threading.Lock()

    def get(self, key: tuple) -> DatasetScan | LoratuiError | None:
        with self._lock:
            return self._items.get(key)

    def put(self, key: tuple, value: DatasetScan | LoratuiError) -> None:
        with self._lock:
            self._items.pop(key, None)
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


SCAN_CACHE = ScanCache()


def scan_is_of(scan: DatasetScan, cfg: TrainingConfig) -> bool:
    """Whether ``scan`` is of ``cfg``'s folders (a host may hold the scan of another dataset)."""
    d = cfg.dataset

    def same(path, value: str, key: str) -> bool:
        if not value:
            return path is None
        return path is not None and os.path.abspath(path) == os.path.abspath(resolve_path(cfg, value, key=key))

    return (scan.caption_extension == d.caption_extension and same(scan.train_data_dir, d.train_data_dir,
            "train_data_dir") and same(scan.reg_data_dir, d.reg_data_dir, "reg_data_dir"))


def scan_or_error(cfg: TrainingConfig) -> DatasetScan | LoratuiError:
    try:
        return scan_for_config(cfg)
    except LoratuiError as exc:  # a missing folder is an answer to show, and to cache
        return exc
