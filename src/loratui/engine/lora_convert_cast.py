"""`lora convert --precision P` on a file diffusers already loads (a plain LoRA/LoCon): nothing to
convert, so its tensors are cast to P and everything else is kept (user hunt s16/h5 #4: the option was
ignored and the file copied as it was). Each layer's change is measured as `convert` measures its error,
the relative Frobenius error of the layer's update (alpha/rank · up·down), from small Gram matrices, so a
large SDXL file costs no full products."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from loratui.core.errors import LoratuiError

# safetensors' dtype names (as `lora info` shows them) of the --precision choices
STORED_NAME = {torch.float16: "F16", torch.bfloat16: "BF16", torch.float32: "F32"}


@dataclass
class CastReport:
    layers: int
    max_error: float  # largest relative change of a layer's update
    worst_layer: str


def needs_cast(tensors: dict[str, torch.Tensor], dtype: torch.dtype) -> bool:
    """Whether any floating tensor is stored in another type than ``dtype``."""
    return any(t.is_floating_point() and t.dtype != dtype for t in tensors.values())


def cast_lora(source, tensors: dict[str, torch.Tensor], dtype: torch.dtype) -> tuple[dict[str, torch.Tensor],
                                                                                     CastReport]:
    """``tensors`` (a plain LoRA's) with every floating tensor in ``dtype``; refused, naming the tensor,
    where a value is beyond ``dtype``'s range (it would be stored as inf)."""
    cast = {}
    for key, tensor in tensors.items():
        if not tensor.is_floating_point():
            cast[key] = tensor
            continue
        new = tensor.to(dtype).contiguous()
        # torch.isfinite has no fp8 kernels (an fp8-stored LoRA): a 1-byte tensor is looked at as float32
        finite = torch.isfinite(tensor.float() if tensor.element_size() == 1 else tensor)
        if bool((torch.isinf(new) & finite).any()):
            largest = float(tensor.float().abs().max())
            raise LoratuiError(f"{source}: {key} holds values up to {largest:.3g}, beyond "
                               f"{str(dtype).removeprefix('torch.')}'s range (±{torch.finfo(dtype).max:.5g}): "
                               "choose --precision bf16 or float; nothing was written")
        cast[key] = new
    errors = {name: _update_change(tensors, cast, name)
              for name in sorted({k.split(".", 1)[0] for k in tensors if k.endswith(".lora_down.weight")})}
    worst = max(errors, key=errors.get, default="")
    return cast, CastReport(len(errors), errors.get(worst, 0.0), worst)


def _update_change(before: dict, after: dict, name: str) -> float:
    """|α'/r·A'B' - α/r·AB| / |α/r·AB| for the layer ``name`` (A = up, B = down, flattened), without
    forming either product: c·A'B' - AB = [c·dA, c·A, (c-1)·A] @ [B'; dB; B] with c = α'/α, and
    |P Q|² = trace(PᵀP · QQᵀ), a (3r × 3r) sum. Split so that nothing cancels but rounding-sized terms."""
    a, a2 = (t[f"{name}.lora_up.weight"].double().flatten(1) for t in (before, after))
    b, b2 = (t[f"{name}.lora_down.weight"].double().flatten(1) for t in (before, after))
    alpha = before.get(f"{name}.alpha")
    c = 1.0
    if alpha is not None and float(alpha) != 0.0:
        c = float(after[f"{name}.alpha"].double()) / float(alpha.double())
    p = torch.cat([c * (a2 - a), c * a, (c - 1.0) * a], dim=1)
    q = torch.cat([b2, b2 - b, b], dim=0)
    change = float(((p.T @ p) * (q @ q.T)).sum().clamp_min(0.0))
    size = float(((a.T @ a) * (b @ b.T)).sum().clamp_min(0.0))
    return (change / size) ** 0.5 if size > 0 else 0.0
