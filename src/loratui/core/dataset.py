"""Kohya-style datasets: the public import point (scan, balance, project layout).

The work lives in dataset_types.py (result types), dataset_scan.py (folder scan + problems),
imagesize.py (header-only sizes), balance.py (repeats planning and safe renames) and
dataset_init.py (new project layout).
"""

from __future__ import annotations

from loratui.core.balance import Rename, apply_renames, balance_plan, balance_target, plan_conflicts
from loratui.core.dataset_init import InitResult, concept_folder_name, init_project
from loratui.core.dataset_scan import parse_subset_name, scan_dataset
from loratui.core.dataset_types import DatasetScan, ImageEntry, Problem, Subset
from loratui.core.imagesize import ImageSizeError, read_image_size

__all__ = [
    "DatasetScan",
    "ImageEntry",
    "ImageSizeError",
    "InitResult",
    "Problem",
    "Rename",
    "Subset",
    "apply_renames",
    "balance_plan",
    "balance_target",
    "concept_folder_name",
    "init_project",
    "parse_subset_name",
    "plan_conflicts",
    "read_image_size",
    "scan_dataset",
]
