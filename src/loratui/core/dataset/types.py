"""The scan result types: what the steps calculator, the engine and the TUI read from a dataset scan."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
LEFT_OUT_KINDS = frozenset({"unreadable_image", "unsupported_image", "not_a_file"})  # an image file that does not train
# An entry of a train/reg folder that is no trained concept folder (concepts.py; empty_folder: scan.py).
SKIPPED_FOLDER_KINDS = frozenset({"no_repeat_prefix", "zero_repeats", "too_many_repeats", "empty_folder", "not_a_folder",
                                  "broken_link", "interrupted_balance", "hidden_folders", "unreadable_folder"})


@dataclass(frozen=True)
class ImageEntry:
    path: Path
    width: int
    height: int
    caption_path: Path | None

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height


@dataclass(frozen=True)
class Problem:
    kind: str
    path: Path
    message: str
    severity: Severity

    def to_dict(self) -> dict:
        return {"kind": self.kind, "path": str(self.path), "message": self.message, "severity": self.severity}


@dataclass(frozen=True)
class Subset:
    """One `N_concept` folder: what sd-scripts calls a DreamBooth subset."""

    path: Path
    name: str
    repeats: int
    class_tokens: str
    is_reg: bool
    images: list[ImageEntry] = field(default_factory=list)

    @property
    def num_images(self) -> int:
        return len(self.images)

    @property
    def num_captioned(self) -> int:
        return sum(1 for image in self.images if image.caption_path is not None)

    @property
    def samples(self) -> int:
        """Samples this folder contributes per epoch (repeats x images)."""
        return self.repeats * len(self.images)

    def to_dict(self) -> dict:
        return {
            "path": str(self.path),
            "name": self.name,
            "repeats": self.repeats,
            "class_tokens": self.class_tokens,
            "is_reg": self.is_reg,
            "images": self.num_images,
            "captioned": self.num_captioned,
            "samples": self.samples,
        }


@dataclass(frozen=True)
class DatasetScan:
    train_data_dir: Path
    reg_data_dir: Path | None
    caption_extension: str
    subsets: list[Subset] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # a reg folder scanned on its own (scan_dataset given it as train and reg): every subset is reg,
    # train_data_dir and reg_data_dir are that folder; nothing here trains or balances by itself
    reg_only: bool = False

    @property
    def num_reg_images(self) -> int:
        return sum(s.num_images for s in self.reg_subsets)

    @property
    def train_subsets(self) -> list[Subset]:
        return [s for s in self.subsets if not s.is_reg]

    @property
    def reg_subsets(self) -> list[Subset]:
        return [s for s in self.subsets if s.is_reg]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def left_out(self) -> list[Problem]:
        """Image files in concept folders that training leaves out (unreadable, zero-byte, truncated,
        too large to open, a format sd-scripts does not read), each with why."""
        return [p for p in self.problems if p.kind in LEFT_OUT_KINDS]

    @property
    def skipped_folders(self) -> list[Problem]:
        """Entries of the train/reg folders that train nothing, each with why: what `steps` names (a
        folder with no `N_` prefix, 0 or absurd repeats, no images, hidden, a file or broken link)."""
        return [p for p in self.problems if p.kind in SKIPPED_FOLDER_KINDS]

    @property
    def has_errors(self) -> bool:
        return any(p.severity == "error" for p in self.problems)

    @property
    def num_train_images(self) -> int:
        return sum(s.num_images for s in self.train_subsets)

    @property
    def train_samples_per_epoch(self) -> int:
        return sum(s.samples for s in self.train_subsets)

    @property
    def infos(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "info"]

    def problems_by_level(self) -> dict[tuple[str, str], list[Problem]]:
        """Problems grouped by (severity, kind), errors first: what `dataset scan` and `tags check`
        list under their counts, so a kind with two levels (missing captions: a warning in a train
        folder, info in a reg folder) is two groups and every group adds up to its count."""
        return group_by_level(self.problems)

    def problems_by_kind(self) -> dict[str, list[Problem]]:
        """Problems grouped by kind, most severe kinds first (stable within a kind)."""
        groups: dict[str, list[Problem]] = {}
        for problem in sorted(self.problems, key=lambda p: SEVERITY_ORDER[p.severity]):
            groups.setdefault(problem.kind, []).append(problem)
        return groups

    def to_dict(self) -> dict:
        return {
            "train_data_dir": str(self.train_data_dir),
            "reg_data_dir": str(self.reg_data_dir) if self.reg_data_dir else None,
            "caption_extension": self.caption_extension,
            "subsets": [s.to_dict() for s in self.subsets],
            "reg_only": self.reg_only,
            "train_images": self.num_train_images,
            "train_samples_per_epoch": self.train_samples_per_epoch,
            "problems": [p.to_dict() for p in self.problems],
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "infos": len(self.infos),
        }


def group_by_level(problems: list[Problem]) -> dict[tuple[str, str], list[Problem]]:
    """``problems`` grouped by (severity, kind), most severe first (stable within a group)."""
    groups: dict[tuple[str, str], list[Problem]] = {}
    for problem in sorted(problems, key=lambda p: SEVERITY_ORDER[p.severity]):
        groups.setdefault((problem.severity, problem.kind), []).append(problem)
    return groups


def count_line(problems: list[Problem]) -> str:
    """'1 error(s), 4 warning(s), 6 info': the header over a grouped list (zeros left out but errors)."""
    counts = {level: sum(1 for p in problems if p.severity == level) for level in SEVERITY_ORDER}
    parts = [f"{counts['error']} error(s)"]
    if counts["warning"]:
        parts.append(f"{counts['warning']} warning(s)")
    if counts["info"]:
        parts.append(f"{counts['info']} info")
    return ", ".join(parts)
