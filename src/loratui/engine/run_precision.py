"""The run's number formats (engine/run.py): the dtypes of the base model, autocast and the LoRA, and the
fp16 loss scaler."""

from __future__ import annotations

import torch


def run_dtypes(cfg, device: torch.device):
    """(base weights, autocast or None, LoRA) dtypes for training.mixed_precision / full_bf16 / full_fp16."""
    mp = cfg.training.mixed_precision
    weight = {"no": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[mp]
    autocast = None if mp == "no" else weight
    lora = torch.bfloat16 if cfg.training.full_bf16 else torch.float16 if cfg.training.full_fp16 else torch.float32
    return weight, autocast, lora


def grad_scaler(device: torch.device, *, full_fp16: bool):
    """fp16 loss scaling; with full_fp16 the LoRA's own gradients are fp16, which torch refuses to unscale
    unless told (sd-scripts patches accelerate for the same reason)."""
    scaler = torch.amp.GradScaler(device.type)
    if full_fp16:
        unscale = scaler._unscale_grads_
        scaler._unscale_grads_ = lambda opt, inv, found, allow_fp16: unscale(opt, inv, found, True)
    return scaler
