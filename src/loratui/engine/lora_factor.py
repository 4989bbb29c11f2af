"""The truncated SVD that turns a layer's weight update into kohya ``lora_up`` / ``lora_down`` factors
(``_factor``), with the rank bound from a LyCORIS module's factor shapes that makes it fast
(``rank_bound``). Split out of engine/lora_convert.py, which re-exports these names."""

from __future__ import annotations

import math

import torch


def rank_bound(module) -> int | None:
    """Most rank the module's (non-DoRA) update can have, from its factors' shapes; None: no useful bound
    (DoRA rescales the base weight, full is the whole weight)."""
    kind = type(module).__name__
    if getattr(module, "wd", False) or kind not in ("LoConModule", "LohaModule", "LokrModule"):
        return None
    if kind == "LoConModule":
        return int(module.lora_down.weight.shape[0])
    if kind == "LohaModule":
        return int(module.hada_w1_b.shape[0]) * int(module.hada_w2_b.shape[0])
    w1 = min(module.lokr_w1.shape) if module.use_w1 else module.lokr_w1_a.shape[1]
    if module.use_w2:
        w2 = min(module.lokr_w2.shape[0], module.lokr_w2[0].numel())
    else:
        w2 = module.lokr_w2_a.shape[1]
    return int(w1) * int(w2)  # rank(kron(A, B)) = rank(A) * rank(B)


def _gram_svd(matrix: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Thin SVD through the eigen-decomposition of the small side's Gram matrix, in float64: two to ten
    times faster than LAPACK's SVD on these wide updates on a CPU, and exact to ~1e-7 of the largest
    singular value (float64 keeps the squared condition number harmless down to there)."""
    wide = matrix.shape[0] <= matrix.shape[1]
    a = (matrix if wide else matrix.T).double()
    eigenvalues, u = torch.linalg.eigh(a @ a.T)
    s = eigenvalues.flip(0).clamp_min(0).sqrt()
    u = u.flip(1)
    vh = torch.zeros_like(a)
    live = s > s[0] * 1e-12  # directions with no energy keep zero rows (the tolerance drops them)
    vh[live] = (u[:, live].T @ a) / s[live, None]
    u, s, vh = u.to(matrix.dtype), s.to(matrix.dtype), vh.to(matrix.dtype)
    return (u, s, vh) if wide else (vh.T, s, u.T)


def _svd(matrix: torch.Tensor, bound: int | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Thin SVD of ``matrix``. When its rank is known to be at most ``bound`` (well under its size), its
    range is found from ``bound`` + 8 random mixtures of its columns and only that small block is
    decomposed (exact when the rank bound holds: checked, with the whole matrix as the fallback)."""
    small = min(matrix.shape)
    if bound is not None and bound + 8 < small // 2:
        gen = torch.Generator(device=matrix.device).manual_seed(0)
        probe = torch.randn(matrix.shape[1], bound + 8, generator=gen, device=matrix.device, dtype=matrix.dtype)
        q, _ = torch.linalg.qr(matrix @ probe)
        block = q.T @ matrix
        residual = float((matrix - q @ block).norm() / matrix.norm())
        if residual < 1e-5:
            u, s, vh = _gram_svd(block)
            return q @ u, s, vh
    return _gram_svd(matrix)


def _factor(delta: torch.Tensor, rank: int | None, tolerance: float,
            bound: int | None = None) -> tuple[torch.Tensor, torch.Tensor, int, float]:
    """Truncated SVD of a (out, in[, kh, kw]) update: kohya up/down (balanced by √S), rank, error.

    float32 (float64 is several times slower on a CPU): singular values are exact to about 1e-6 of
    the largest, far below any tolerance worth asking for."""
    out_ch = delta.shape[0]
    matrix = delta.reshape(out_ch, -1)
    u, s, vh = _svd(matrix, bound)
    energy = s.square()
    total = float(energy.sum())
    # tail[r] = energy left out when keeping r singular values
    tail = torch.flip(torch.cumsum(torch.flip(energy, [0]), 0), [0]).tolist() + [0.0]
    full = len(s)
    keep = full
    for r in range(1, full + 1):
        if math.sqrt(tail[r] / total) <= tolerance:
            keep = r
            break
    if rank is not None:
        keep = min(keep, rank)
    error = math.sqrt(tail[keep] / total)
    root = s[:keep].sqrt()
    up = u[:, :keep] * root
    down = root[:, None] * vh[:keep]
    if delta.dim() == 4:
        down = down.reshape(keep, *delta.shape[1:])
        up = up.reshape(out_ch, keep, 1, 1)
    return up, down, keep, error
