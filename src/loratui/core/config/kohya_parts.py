"""What the kohya_ss importer's parts (kohya_network.NetworkKeys, kohya_training.TrainingKeys) need from
the importer (kohya_import._Importer), declared once: its state and the methods that map, ignore and
read keys."""

from __future__ import annotations

from typing import Any


class ImporterPart:
    """Mixin base: the importer's data, report, done, values, locked, set(), ignore(), get() and whole()."""

    data: dict
    report: Any
    done: set[str]
    values: dict[str, Any]
    locked: dict[str, str]

    def set(self, kohya_key: str, key: str, value: Any, note: str = "") -> bool:  # the importer's
        raise NotImplementedError

    def ignore(self, kohya_key: str, reason: str) -> None:  # the importer's
        raise NotImplementedError

    def get(self, key: str, default: Any = None) -> Any:  # the importer's
        raise NotImplementedError

    def whole(self, kohya_key: str, value: Any) -> Any:  # the importer's
        raise NotImplementedError
