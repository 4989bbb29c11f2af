"""Calibration of the VRAM estimator: the published and measured peaks its constants are fitted to,
a report of the estimate against each, and the refit of the activation multipliers. Split from vram.py
(docs/vram.md explains the fit)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from loratui.core.config import TrainingConfig
from loratui.core.plan.vram import CONSTANTS, GIB, estimate_vram


@dataclass
class CalibrationPoint:
    """A measured or published peak for one config. basis "allocated" = torch's allocator peak
    (torch.cuda.max_memory_allocated/reserved, no CUDA context); "device" = nvidia-smi's figure."""

    label: str
    cfg: TrainingConfig
    family: str
    gib: float
    basis: str = "allocated"
    source: str = ""

    def estimated_gib(self) -> float:
        est = estimate_vram(self.cfg, family=self.family)
        return (est.allocated_bytes if self.basis == "allocated" else est.total_bytes) / GIB



def calibration_config(family: str, resolution: int, batch: int, rank: int, checkpointing: bool,
                       attention: str) -> TrainingConfig:
    """The setup every calibration point shares: UNet-only LoRA, bf16, AdamW, everything cached."""
    cfg = TrainingConfig()
    cfg.model.model_family = family
    cfg.dataset.resolution = (resolution, resolution)
    cfg.dataset.cache_latents = True
    cfg.network.network_dim = rank
    cfg.network.network_train_unet_only = True
    cfg.training.train_batch_size = batch
    cfg.training.mixed_precision = "bf16"
    cfg.training.cache_text_encoder_outputs = True
    cfg.training.gradient_checkpointing = checkpointing
    cfg.training.sdpa = attention == "sdpa"
    cfg.optimizer.optimizer_type = "AdamW"
    return cfg


def calibration_points() -> list[CalibrationPoint]:
    """The published figures the constants are fitted to (SimpleTuner's SD1.5/SDXL LoRA numbers).

    Their basis is taken to be torch's allocator peak: the SD1.5 figure with checkpointing (1.98 GiB)
    leaves only 0.28 GiB above the frozen UNet and the LoRA state, less than any CUDA context.
    """
    points = []
    for fam, res, ckpt, gib in (("sd1", 512, False, 2.87), ("sd1", 512, True, 1.98),
                                ("sdxl", 1024, False, 13.0), ("sdxl", 1024, True, 6.5)):
        cfg = calibration_config(fam, res, 1, 16, ckpt, "sdpa")
        label = f"{'SD1.5' if fam == 'sd1' else 'SDXL'} {res}px r16 bs1 bf16 cached{', ckpt' if ckpt else ''}"
        points.append(CalibrationPoint(label, cfg, fam, gib, "allocated", "SimpleTuner (published)"))
    return points + measured_points()


# Peaks measured by bench/vram_peaks.py on an H100 80GB (torch 2.11 + CUDA 13, bf16 frozen UNet, fp32
# LoRA, AdamW, cached latents and text-encoder outputs, random weights at the real shapes), as
# torch.cuda.max_memory_reserved(): what the caching allocator held, fragmentation included. The
# device-level figure was 0.75 GiB higher in every case (the CUDA context). docs/benchmarks.md has
# the full table. Columns: family, resolution, batch, rank, checkpointing, attention, reserved GiB.
MEASURED_H100 = (
    ("sd1", 512, 1, 16, False, "sdpa", 2.984),
    ("sd1", 512, 1, 16, True, "sdpa", 2.092),
    ("sdxl", 1024, 1, 16, False, "sdpa", 13.949),
    ("sdxl", 1024, 1, 16, True, "sdpa", 6.926),
    ("sd1", 512, 1, 16, False, "none", 8.412),
    ("sd1", 768, 4, 32, False, "sdpa", 13.102),
    ("sd1", 768, 4, 32, True, "sdpa", 4.762),
    ("sdxl", 1024, 2, 32, True, "sdpa", 8.361),
    ("sdxl", 768, 1, 16, False, "sdpa", 10.469),
)


def measured_points() -> list[CalibrationPoint]:
    """The H100 measurements above as calibration points (basis: allocator reserved peak)."""
    points = []
    for fam, res, batch, rank, ckpt, attention, gib in MEASURED_H100:
        cfg = calibration_config(fam, res, batch, rank, ckpt, attention)
        label = (f"{'SD1.5' if fam == 'sd1' else 'SDXL'} {res}px r{rank} bs{batch} {attention}"
                 f"{', ckpt' if ckpt else ''} (H100)")
        points.append(CalibrationPoint(label, cfg, fam, gib, "allocated", "measured, bench/vram_peaks.py"))
    return points


def calibration_report(points: list[CalibrationPoint] | None = None) -> list[tuple[str, float, float, float]]:
    """(label, reference GiB, estimated GiB, relative error) for each calibration point."""
    rows = []
    for pt in points if points is not None else calibration_points():
        est = pt.estimated_gib()
        rows.append((pt.label, pt.gib, est, (est - pt.gib) / pt.gib))
    return rows


def fit_activation_scales(points: list[CalibrationPoint] | None = None) -> dict[str, float]:
    """Refit act_scale_full / act_scale_ckpt to ``points`` (least squares on log(estimate/reference)).

    Returns the new values without changing CONSTANTS; paste them into its table in vram.py.
    """
    if points is None:  # the attention-kernel "none" case is fitted separately (attn_matrix_copies)
        points = [p for p in calibration_points() if p.cfg.training.sdpa or p.cfg.training.xformers]
    saved = dict(CONSTANTS)
    result: dict[str, float] = {}
    try:
        for ckpt, key in ((False, "act_scale_full"), (True, "act_scale_ckpt")):
            group = [p for p in points if p.cfg.training.gradient_checkpointing == ckpt]
            if not group:
                continue

            def loss(scale: float) -> float:
                CONSTANTS[key] = scale
                return sum(math.log(p.estimated_gib() / p.gib) ** 2 for p in group)

            lo, hi = 0.05, 10.0  # golden-section search: the loss is unimodal in the scale
            ratio = (math.sqrt(5) - 1) / 2
            for _ in range(60):
                a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
                if loss(a) < loss(b):
                    hi = b
                else:
                    lo = a
            result[key] = round((lo + hi) / 2, 3)
            CONSTANTS[key] = saved[key]
    finally:
        CONSTANTS.clear()
        CONSTANTS.update(saved)
    return result
