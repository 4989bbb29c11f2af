"""Kohya-style datasets: the folders, the images in them, and what is wrong with them.

Here live the `N_concept` folder scan with its problems (scan.py, types.py), the concept folders sd-scripts
trains (concepts.py: the list the scan, `steps` and the sd-scripts export share), header-only image sizes
(imagesize.py), image file recognition (images.py), which dataset a path names (locate.py), the project layout of `loratui dataset init`
(project.py) and repeats balancing by safe folder renames (balance.py; the record its undo reads:
balance_record.py). This package is the bottom of core: it knows nothing of captions' tag operations,
configs or training plans, and imports no other core subpackage. Import from here, not from the modules.
"""

from __future__ import annotations

from loratui.core.dataset.balance import (
    Rename, apply_renames, balance_plan, balance_target, nothing_to_balance_line, plan_conflicts, reg_balance_refusal,
    reg_fills, samples_change_line,
)
from loratui.core.dataset.balance_pending import (
    RENAMED as RENAMED_STATE, claim_written, discard_pending, has_pending, pending_records, settle_pending, write_pending,
    write_pending_rows,
)
from loratui.core.dataset.balance_record import (
    BalanceNotRecordedError, balance_recorded_at, balance_still_applied, forget_balance, last_balance,
    no_balance_undo_line, record_and_rename, record_balance, undo_balance,
)
from loratui.core.dataset.concepts import (
    MAX_TRAINABLE_REPEATS, ConceptFolder, concept_folders, repeats_problem,
)
from loratui.core.dataset.images import (
    IMAGE_EXTENSIONS, entry_is_dir, entry_is_file, is_image, iter_images, list_folder,
)
from loratui.core.dataset.locate import (
    DatasetLocation, config_reg_dir, locate_config, locate_dataset, reg_dir_hint, regularised_train_dir, train_dir_hint,
)
from loratui.core.dataset.imagesize import ImageSizeError, decode_error, looks_truncated, read_image_size, shown_name
from loratui.core.dataset.project import PROJECT_FOLDERS, InitResult, concept_folder_name, init_project
from loratui.core.dataset.scan import (
    APPLE_DOUBLE_PREFIX, JPEG_ALIAS_EXTENSIONS, MAX_REPEATS, OTHER_IMAGE_EXTENSIONS, caption_candidates, parse_subset_name,
    scan_dataset, unreadable_reason,
)
from loratui.core.dataset.types import DatasetScan, ImageEntry, Problem, Severity, Subset, count_line, group_by_level
from loratui.core.dataset.caption_check import (
    MAX_CLIP_TOKENS, OTHER_CAPTION_EXTENSIONS, caption_problems, config_token_limit, estimate_clip_tokens,
    missing_caption_problem, other_caption_file, tag_variant_key,
)
from loratui.core.dataset.caption_ext import caption_extension_option, caption_extension_problem
from loratui.core.dataset.name_utf8 import NOT_UTF8_FOLDER, is_utf8_name
from loratui.core.dataset.unreadable import captions_of_unreadable_images

__all__ = [
    "APPLE_DOUBLE_PREFIX",
    "IMAGE_EXTENSIONS",
    "JPEG_ALIAS_EXTENSIONS",
    "MAX_REPEATS",
    "MAX_TRAINABLE_REPEATS",
    "NOT_UTF8_FOLDER", "is_utf8_name",
    "ConceptFolder",
    "concept_folders",
    "repeats_problem",
    "OTHER_CAPTION_EXTENSIONS",
    "OTHER_IMAGE_EXTENSIONS",
    "DatasetLocation",
    "DatasetScan",
    "ImageEntry",
    "ImageSizeError",
    "InitResult",
    "PROJECT_FOLDERS",
    "Problem",
    "BalanceNotRecordedError",
    "Rename",
    "Severity",
    "Subset",
    "apply_renames", "balance_still_applied", "forget_balance", "last_balance", "record_and_rename", "record_balance",
    "undo_balance",
    "RENAMED_STATE", "claim_written", "discard_pending", "has_pending", "pending_records", "settle_pending",
    "write_pending", "write_pending_rows",
    "no_balance_undo_line", "nothing_to_balance_line",
    "balance_plan", "balance_recorded_at", "config_reg_dir",
    "reg_balance_refusal", "reg_fills", "samples_change_line", "regularised_train_dir",
    "balance_target",
    "caption_candidates",
    "caption_extension_option",
    "caption_extension_problem",
    "caption_problems",
    "MAX_CLIP_TOKENS", "estimate_clip_tokens", "config_token_limit",
    "captions_of_unreadable_images",
    "count_line",
    "group_by_level",
    "missing_caption_problem",
    "other_caption_file",
    "tag_variant_key",
    "concept_folder_name",
    "decode_error",
    "init_project",
    "entry_is_dir",
    "entry_is_file",
    "is_image",
    "iter_images",
    "list_folder",
    "locate_config",
    "locate_dataset",
    "train_dir_hint",
    "reg_dir_hint",
    "looks_truncated",
    "parse_subset_name",
    "plan_conflicts",
    "read_image_size",
    "scan_dataset",
    "shown_name",
    "unreadable_reason",
]
