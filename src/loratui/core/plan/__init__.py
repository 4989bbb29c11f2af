"""Planning a run before it starts: buckets, steps and epochs, and how much VRAM it will take.

Here live sd-scripts' aspect-ratio buckets (buckets.py), the steps/epochs calculator with
sd-scripts' exact arithmetic and the kohya_ss GUI's own formula (schedule.py, over the epoch's
samples in samples.py), and the peak-VRAM estimator with its per-part breakdown (vram.py) over the
models' shape tables (vram_models.py), its model-family choice (vram_family.py) and calibration
(vram_calibration.py).
It reads configs (core.config) and scans (core.dataset); it writes no file and knows nothing of
caption edits, torch or the engine. Import from here, not from the modules.
"""

from __future__ import annotations

from loratui.core.plan.advice import RULE_SOURCES, Advice, VramFix, plan_advice, vram_fixes
from loratui.core.plan.vram import USABLE_FRACTION
from loratui.core.plan.buckets import (
    BucketAssignment, BucketManager, adjust_bucket_bounds, bucket_key, buckets_for_dataset, make_bucket_resolutions,
    make_buckets, reso_steps_notes,
)
from loratui.core.plan.schedule import (
    RegPadding, Registered, Sample, Schedule, TargetEpochs, all_left_out, compute_schedule, epoch_batches, epoch_samples,
    epochs_for_target_steps, kohya_gui_steps, plan_epoch, register_images, scan_error_note, scan_for_config,
    shard_batches,
)
from loratui.core.plan.vram import (
    CARD_TIERS_GB, CONSTANTS, FAMILY_LABELS, GIB, VramEstimate, VramPart, estimate_vram, largest_bucket_samples,
    family_from_weights, missing_model_warning, network_size, guess_family, resolve_family,
)
from loratui.core.plan.vram_calibration import (
    CalibrationPoint, calibration_config, calibration_points, calibration_report, fit_activation_scales,
)
from loratui.core.plan.vram_models import (
    CLIP_L, FAMILIES, OPENCLIP_BIGG, SD1_UNET, SDXL_UNET, FamilyArch, TextEncoderArch, UNetArch,
    text_encoder_arch_from_config, text_encoder_lora_params, unet_arch_from_config, unet_layout, unet_lora_params,
)
from loratui.core.plan.left_out import (
    SHOWN_FOLDERS, left_out_folders, no_reg_note, no_training_images_reason, scan_notes,
)
from loratui.core.plan.network_params import LycorisOptions, NetworkCount, count_lycoris
from loratui.core.plan.repeats import MAX_TOTAL_STEPS, many_repeats_lines, too_long_problem

__all__ = [
    "RULE_SOURCES", "Advice", "VramFix", "plan_advice", "vram_fixes",
    "USABLE_FRACTION",
    "CARD_TIERS_GB", "CLIP_L", "CONSTANTS", "FAMILIES", "FAMILY_LABELS", "GIB", "OPENCLIP_BIGG", "SD1_UNET",
    "SDXL_UNET",
    "BucketAssignment", "BucketManager", "CalibrationPoint", "FamilyArch", "RegPadding", "Registered", "Sample",
    "Schedule", "TargetEpochs", "VramEstimate", "VramPart",
    "adjust_bucket_bounds", "bucket_key", "buckets_for_dataset", "calibration_config", "calibration_points",
    "calibration_report", "compute_schedule", "epoch_batches", "epoch_samples", "epochs_for_target_steps",
    "estimate_vram", "largest_bucket_samples", "fit_activation_scales", "network_size", "guess_family", "kohya_gui_steps", "make_bucket_resolutions",
    "all_left_out", "family_from_weights", "make_buckets", "plan_epoch", "register_images", "reso_steps_notes", "resolve_family", "scan_error_note", "scan_for_config",
    "shard_batches", "text_encoder_lora_params", "unet_layout", "unet_lora_params",
    "missing_model_warning", "SHOWN_FOLDERS", "left_out_folders", "no_reg_note", "no_training_images_reason",
    "scan_notes", "MAX_TOTAL_STEPS", "many_repeats_lines", "too_long_problem",
    "LycorisOptions", "NetworkCount", "TextEncoderArch", "UNetArch", "count_lycoris", "text_encoder_arch_from_config",
    "unet_arch_from_config",
]
