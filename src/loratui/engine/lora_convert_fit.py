"""One layer's update as kohya factors in the output's precision, at the smallest rank whose error AS STORED
is within the tolerance (``fit_layer``).

The SVD cut alone (engine/lora_factor.py) meets the tolerance in exact arithmetic; storing the factors in
float16 then adds a rounding error of its own (about 3e-4 relative), so a layer cut just within 0.001 came
out at 1.04e-03 in the file (user hunt s16/h5 #5). A user who asked for a tolerance asked it of the file
they get, so a layer whose stored factors are above it keeps more rank, leaving room for the rounding.
Where the rounding alone is the tolerance or more (bfloat16 at 0.001: about 2e-3), no rank meets it: the
layer keeps its cut and ``lora convert``'s report names it with what to do (``stored_over``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from loratui.engine.lora_factor import _svd

ALPHA = 1.0  # the alpha of every converted layer
RETRIES = 8  # more rank for a layer over the tolerance as stored: the rounding barely changes with the rank


@dataclass
class Fit:
    up: torch.Tensor  # (out, rank[, 1, 1]) in the output dtype, on the CPU
    down: torch.Tensor  # (rank, in[, kh, kw]) likewise
    rank: int
    error: float  # relative Frobenius error of the rank cut (exact arithmetic)
    stored_error: float  # the same of the factors as stored, with alpha/rank applied

    @property
    def rounding(self) -> float:
        """The part of the stored error that the rounding adds (the cut's and the rounding's errors are
        nearly orthogonal: the cut leaves out directions the kept factors do not span)."""
        return math.sqrt(max(self.stored_error ** 2 - self.error ** 2, 0.0))


def fit_layer(delta: torch.Tensor, rank: int | None, tolerance: float, bound: int | None,
              dtype: torch.dtype) -> Fit:
    """Factors of the (out, in[, kh, kw]) update ``delta`` within ``tolerance`` as stored in ``dtype``,
    at most ``rank`` (the user's cap wins over the tolerance: the report says so)."""
    out_ch = delta.shape[0]
    matrix = delta.float().reshape(out_ch, -1)
    u, s, vh = _svd(matrix, bound)  # float32: see lora_factor._factor
    energy = s.square()
    total = float(energy.sum())
    tail = torch.flip(torch.cumsum(torch.flip(energy, [0]), 0), [0]).tolist() + [0.0]  # tail[r]: energy left out
    full = len(s)
    limit = full if rank is None else min(full, rank)
    keep = min(_smallest_rank(tail, total, tolerance), limit)
    fit = _stored(delta, u, s, vh, keep, math.sqrt(tail[keep] / total), dtype)
    for _ in range(RETRIES):
        if fit.stored_error <= tolerance or fit.rank >= limit or fit.rounding >= tolerance:
            break
        # the cut that leaves room for this rounding (a margin: the rounding moves a little with the rank)
        target = 0.98 * math.sqrt(tolerance ** 2 - fit.rounding ** 2)
        keep = min(limit, max(fit.rank + 1, _smallest_rank(tail, total, target)))
        fit = _stored(delta, u, s, vh, keep, math.sqrt(tail[keep] / total), dtype)
    return fit


def _smallest_rank(tail: list[float], total: float, tolerance: float) -> int:
    full = len(tail) - 1
    return next((r for r in range(1, full + 1) if math.sqrt(tail[r] / total) <= tolerance), full)


def _stored(delta: torch.Tensor, u, s, vh, keep: int, error: float, dtype: torch.dtype) -> Fit:
    """The kohya factors at ``keep`` (balanced by √S) rounded to ``dtype``, and their error as stored."""
    root = s[:keep].sqrt()
    # one alpha for every layer (its alpha/rank scale folded into the factors): diffusers 0.42 reads
    # per-layer alphas through an alpha_pattern that misses some UNet layers (their scale came out
    # 16/32 instead of 1), while one shared alpha needs no pattern in any loader
    gain = math.sqrt(keep / ALPHA)
    up = (u[:, :keep] * root * gain).to("cpu", dtype).contiguous()
    down = (root[:, None] * vh[:keep] * gain).to("cpu", dtype).contiguous()
    rebuilt = (up.double() @ down.double()) * (ALPHA / keep)
    flat = delta.detach().cpu().double().reshape(delta.shape[0], -1)
    stored = float((flat - rebuilt).norm() / flat.norm())
    if delta.dim() == 4:
        down = down.reshape(keep, *delta.shape[1:])
        up = up.reshape(delta.shape[0], keep, 1, 1)
    return Fit(up, down, keep, error, stored)


def stored_over(layers, tolerance: float, rank: int | None) -> tuple[list, list]:
    """The report's layers above ``tolerance`` as stored, split into those the --rank cap holds back
    (more rank would bring them within it) and those the output precision's rounding keeps above it
    (no rank would)."""
    over = [layer for layer in layers if layer.stored_error > tolerance]

    def held_by_cap(layer) -> bool:
        rounding = math.sqrt(max(layer.stored_error ** 2 - layer.error ** 2, 0.0))
        return (rank is not None and rank <= layer.rank < layer.full_rank
                and (layer.error > tolerance or rounding < tolerance))

    capped = [layer for layer in over if held_by_cap(layer)]
    return capped, [layer for layer in over if not held_by_cap(layer)]
