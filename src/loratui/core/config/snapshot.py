"""What a config file held when it was loaded, so a later save can tell whether someone else changed it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from loratui.core.config.schema import TrainingConfig

_SNAPSHOT_ATTR = "_loaded_snapshot"


@dataclass(frozen=True)
class FileSnapshot:
    """What a config file held when it was loaded: compared before a save overwrites it."""

    path: Path  # resolved
    data: bytes
    mtime_ns: int
    size: int

    @classmethod
    def take(cls, path: Path, data: bytes, st: os.stat_result) -> "FileSnapshot":
        return cls(path.resolve(), data, st.st_mtime_ns, st.st_size)


def remember_snapshot(cfg: TrainingConfig, snapshot: FileSnapshot | None) -> None:
    # An instance attribute, not a field: it is never saved and takes no part in ==.
    setattr(cfg, _SNAPSHOT_ATTR, snapshot)


def loaded_snapshot(cfg: TrainingConfig) -> FileSnapshot | None:
    """The file state captured when ``cfg`` was loaded (None for a config built in code)."""
    return getattr(cfg, _SNAPSHOT_ATTR, None)
