"""A LyCORIS file (LoHa, LoKr, DoRA, full, LoCon) rewritten as a plain kohya LoRA/LoCon file.

ComfyUI, A1111/Forge, sd-scripts and lycoris-lora read LyCORIS keys natively; diffusers 0.42 does not
(``load_lora_weights`` refuses ``hada_*`` / ``lokr_*`` / ``diff`` keys, and drops ``dora_scale`` with a
warning, so a DoRA file loads there with the wrong output). This module gives those users a file that
every loader reads: each layer's weight update is rebuilt by lycoris-lora's own module (its
``get_diff_weight``, and for DoRA its ``weight_decompose`` over the base weight), then factored by a
truncated SVD into ``lora_down`` / ``lora_up``, every layer with alpha 1. A LoKr conv layer trained with
use_tucker (``lokr_t2``), which lycoris-lora 4.1.3's loader cannot read, is rebuilt here with the same maths.

The rank of each layer is the smallest that keeps the layer's relative error
``|ΔW - up·down|_F / |ΔW|_F`` under ``tolerance``, capped by ``rank``. A LoHa of rank r has an update
of rank at most r², a LoKr one of rank(w1)·rank(w2): both convert without loss at a modest rank. A DoRA
update rescales the base weight's rows, so it is full rank: a cap trades file size for error, and the
report says how much. A LoRA file cannot carry bias or norm updates (algo=full's ``diff_b``,
train_norm's ``w_norm``/``b_norm``): they are refused unless the caller drops them knowingly.

A damaged file (a lora_down without its lora_up, factors of two ranks, NaN/inf weights) is refused,
never converted into a clean-looking one. A layer without an alpha tensor is read as alpha = rank
(scale 1), as sd-scripts, ComfyUI, A1111 and lycoris-lora's own modules read it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from loratui.core.errors import LoratuiError
from loratui.engine.lycoris_unreadable import (_pop_input_axis_scales, _restore_input_axis_scales,
                                                _tucker_lokr_update)

ALPHA = 1.0  # the alpha of every converted layer


@dataclass
class LayerResult:
    name: str
    rank: int
    full_rank: int
    error: float  # relative Frobenius error of the kept rank (the SVD truncation)
    stored_error: float = 0.0  # the same, of the factors as stored (after rounding to the output dtype)


@dataclass
class ConvertReport:
    source_kind: str
    layers: list[LayerResult] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # "NAME (why)"
    skipped_zero: int = 0  # layers whose update is exactly zero (not written)
    no_alpha: int = 0  # layers without an alpha tensor, read as alpha = rank
    embeddings_left_out: list[str] = field(default_factory=list)  # bundle_emb NAMEs not carried over

    @property
    def max_error(self) -> float:
        return max((layer.error for layer in self.layers), default=0.0)

    @property
    def max_stored_error(self) -> float:
        return max((layer.stored_error for layer in self.layers), default=0.0)

    @property
    def ranks(self) -> list[int]:
        return [layer.rank for layer in self.layers]


def _blocked_message(source, blocked: list[str]) -> str:
    return (f"{source}: {len(blocked)} layers change a bias or a norm, which a LoRA file cannot carry (e.g. "
            f"{blocked[0]}); pass --drop-unsupported to convert without them (the rest is converted as usual)")


def _all_finite(value) -> bool:
    """torch.isfinite has no fp8 kernels (an fp8-stored LoRA): those are looked at as float32."""
    if value.element_size() == 1:
        value = value.float()
    return bool(torch.isfinite(value).all())


def check_whole(source, tensors: dict) -> None:
    """Refuse a damaged file: factors that do not fit together (from the header) or NaN/inf weights,
    which would otherwise come out as a layer with "no update" and a file that looks clean; and a file of a
    type loratui does not convert (OFT, BOFT, GLoRA, IA3, unknown), named with its type."""
    from loratui.core.config import read_lora_info

    details = read_lora_info(source)
    refusal = details.damage_message() or details.unconverted_message()  # OFT, BOFT, GLoRA, IA3, unknown types
    if refusal:
        raise LoratuiError(refusal)
    bad = sorted({key.partition(".")[0] for key, value in tensors.items()
                  if value.is_floating_point() and not _all_finite(value)})
    if bad:
        more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        raise LoratuiError(f"{source}: the file is damaged: {len(bad)} layer(s) have NaN/inf weights "
                           f"({', '.join(bad[:3])}{more}); get a good copy (download or export it again)")


def check_convertible(source, tensors: dict, drop_unsupported: bool = False) -> None:
    """Refuse from the file alone, before a base model loads (minutes for SDXL), what convert_to_lora
    would refuse after it: a damaged file, a type it does not convert (OFT, BOFT, GLoRA, IA3), and norm-layer
    updates and non-zero bias updates without drop_unsupported."""
    check_whole(source, tensors)
    if drop_unsupported:
        return
    blocked: dict[str, str] = {}
    for key, value in sorted(tensors.items()):
        name, _, suffix = key.partition(".")
        if suffix in ("w_norm", "b_norm"):
            blocked.setdefault(name, f"{name} (a norm-layer update: train_norm)")
        elif suffix == "diff_b" and bool(value.abs().max() > 0):
            blocked.setdefault(name, f"{name} (a bias update: algo=full)")
    if blocked:
        raise LoratuiError(_blocked_message(source, list(blocked.values())))


def read_lora(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and metadata of a kohya-format LoRA/LyCORIS file, after core's header checks
    (read_lora_info: exists, whole, keys named lora_unet_ / lora_te...). A1111's bundled embeddings
    (bundle_emb.*) are not read: the output is for diffusers, which refuses a file that has them."""
    from safetensors import safe_open

    from loratui.core.config import read_lora_info

    bundled = set(read_lora_info(path).embedding_keys())
    try:
        with safe_open(str(path), "pt") as fh:
            metadata = dict(fh.metadata() or {})
            tensors = {k: fh.get_tensor(k) for k in fh.keys() if k not in bundled}
    except Exception as exc:  # noqa: BLE001 - safetensors raises several types for a damaged file
        raise LoratuiError(f"{path}: cannot read it as .safetensors ({exc}); the file is damaged or not a LoRA") from None
    return tensors, metadata


def kind_of(tensors: dict[str, torch.Tensor]) -> str:
    """The layer types a file holds, most common first: "LoHa (64), LoRA (2)"."""
    from collections import Counter

    from loratui.core.config import layer_kinds

    layers, _ = layer_kinds({k: list(v.shape) for k, v in tensors.items()})
    return ", ".join(f"{kind} ({n})" for kind, n in Counter(layers.values()).most_common())


def fill_missing_alphas(tensors: dict[str, torch.Tensor]) -> list[str]:
    """Give every layer that lycoris-lora scales by alpha/rank and that has no alpha tensor alpha = rank
    (its ``make_module_from_state_dict`` calls float(None) otherwise); the layers where this changes
    nothing but the key (a LoKr of two whole factors, scale 1 either way) are not returned."""
    from loratui.core.config import base_kind, layer_kinds

    shapes = {k: list(v.shape) for k, v in tensors.items()}
    kinds, ranks = layer_kinds(shapes)
    filled = []
    for name, kind in sorted(kinds.items()):
        base = base_kind(kind)  # a Tucker LoCon (lora_mid) is scaled alike
        if base not in ("LoRA", "LoCon", "LoHa", "LoKr") or f"{name}.alpha" in tensors:
            continue
        tensors[f"{name}.alpha"] = torch.tensor(float(ranks.get(name, 1)))
        if name in ranks:
            filled.append(name)
    return filled


def _holder(base, names_in_file: set[str], source: Path) -> nn.Module:
    """A module whose children are the base model's layers under their kohya names (lycoris-lora's
    loader names a module ``lycoris_`` + its path, so this gives it the file's own names)."""
    from loratui.engine.lycoris_network import _layer_names

    names = _layer_names(base)
    holder = nn.Module()
    for root in [base.unet, *base.text_encoders]:
        for _, module in root.named_modules():
            name = names.get(id(module))
            if name in names_in_file and name not in holder._modules:
                holder.add_module(name, module)
    unknown = sorted(names_in_file - set(holder._modules))
    if unknown:
        raise LoratuiError(f"{source}: {len(unknown)} of its {len(names_in_file)} layers are not in this "
                           f"{base.family} model (e.g. {unknown[0]}): give the base model it was trained on "
                           "with --model")
    return holder


def _update(module, device, source=None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The layer's weight update at multiplier 1 (float64) and its bias update, as the module's own
    forward computes it (which is what ComfyUI and A1111 compute: alpha/rank applied once).

    Not ``get_diff_weight`` for LoHa/LoKr: in lycoris-lora 4.1.3 it applies alpha/rank a second time
    and leaves a conv update flat. The result is checked against the module's forward (``_check``)."""
    kind = type(module).__name__
    diff_b = None
    if kind == "FullModule":
        diff, diff_b = module.get_diff_weight(1.0, device=device)
    elif kind in ("LohaModule", "LokrModule"):
        diff = module.get_weight(module.shape) * module.scalar
    elif kind == "LoConModule":
        diff = module.make_weight(device) * module.scale
    else:
        where = f"{source}: " if source is not None else ""
        raise LoratuiError(f"{where}{module.lora_name.removeprefix('lycoris_')}: a {kind} layer, which loratui does "
                           "not convert (LoRA, LoCon, LoHa, LoKr, DoRA and full are converted)")
    org = module.org_weight.detach().to(device)
    diff = diff.detach().to(device).reshape(org.shape).double()
    if getattr(module, "wd", False):
        from lycoris.functional.general import weight_decompose

        org64 = org.double()
        merged = weight_decompose(org64 + diff, module.dora_scale.detach().to(device).double(), 1.0,
                                  module.wd_on_out)
        diff = merged - org64
    return diff, (None if diff_b is None else diff_b.detach())


def _check(module, delta: torch.Tensor, delta_b: torch.Tensor | None, name: str) -> None:
    """The module's forward on a random input, less the base layer's, equals the update's output."""
    org = module.org_module[0]
    gen = torch.Generator().manual_seed(0)
    if isinstance(org, nn.Linear):
        x = torch.randn(3, org.in_features, generator=gen)
    elif isinstance(org, nn.Conv2d):
        x = torch.randn(1, org.in_channels, 6, 6, generator=gen)
    else:
        return
    x = x.to(module.org_weight.device, module.org_weight.dtype)
    module.eval()
    module.multiplier = 1.0
    with torch.no_grad():
        full = module(x)
        theirs = (full - module.org_forward(x)).double()
        bias = None if delta_b is None else delta_b.to(x.device).double()
        ours = module.op(x.double(), delta.to(x.device), bias, **module.kw_dict)
    scale = float(theirs.abs().max()) or 1.0
    # ``theirs`` is a difference of two outputs in the module's precision: a small update (a few steps
    # of training) on a large base output loses digits to rounding there, not in the rebuilt update.
    fan_in = x[0].numel() if isinstance(org, nn.Linear) else org.in_channels * org.kernel_size[0] * org.kernel_size[1]
    rounding = 4 * torch.finfo(full.dtype).eps * math.sqrt(fan_in) * float(full.abs().max())
    if float((theirs - ours).abs().max()) > 1e-4 * scale + rounding:
        raise LoratuiError(f"{name}: the rebuilt update does not reproduce lycoris-lora's forward "
                           f"(off by {float((theirs - ours).abs().max()) / scale:.1e} relative): this is a bug in "
                           "loratui, please report it with the file's network_args")


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


def _rebuilt_by_lycoris(create_lycoris_from_weights, holder, weights: dict, source) -> nn.Module:
    """lycoris-lora's network for ``weights``. Only its own call is narrowed here: a TypeError/AttributeError/
    AssertionError from loratui's code around it is a bug and must reach the crash log, not read as this."""
    try:
        network, _ = create_lycoris_from_weights(1.0, "", holder, weights_sd=weights)
    except (TypeError, AttributeError, AssertionError) as exc:  # a module type whose builder takes other arguments
        raise LoratuiError(f"{source}: lycoris-lora cannot rebuild its layers ({type(exc).__name__}: "
                           f"{_first_line(exc)}); loratui converts LoCon/LoHa/LoKr/DoRA/full only") from None
    return network


def convert_to_lora(source: Path, base, *, rank: int | None = None, tolerance: float = 1e-3,
                    drop_unsupported: bool = False, dtype: torch.dtype = torch.float16, device: str = "cpu",
                    progress=None) -> tuple[dict[str, torch.Tensor], dict[str, str], ConvertReport]:
    """Rewrite ``source`` as kohya LoRA tensors and metadata for ``base`` (the model it was trained on)."""
    from lycoris import create_lycoris_from_weights

    from loratui.engine.lycoris_network import _quiet_lycoris

    if rank is not None and rank < 1:
        raise LoratuiError(f"--rank must be at least 1, not {rank}")
    if not 0 <= tolerance < 1:
        raise LoratuiError(f"--tolerance is a relative error between 0 and 1 (e.g. 0.001), not {tolerance:g}")
    from loratui.core.config import read_lora_info

    tensors, metadata = read_lora(source)
    check_whole(source, tensors)
    report = ConvertReport(source_kind=kind_of(tensors))
    report.embeddings_left_out = sorted(read_lora_info(source).embeddings)
    report.no_alpha = len(fill_missing_alphas(tensors))
    names_in_file = {k.split(".", 1)[0] for k in tensors}
    holder = _holder(base, names_in_file, source)
    tucker = {k.split(".", 1)[0] for k in tensors if k.endswith(".lokr_t2")}  # see _tucker_lokr_update
    _quiet_lycoris()
    try:
        rest = {f"lycoris_{k}": v.float() for k, v in tensors.items() if k.split(".", 1)[0] not in tucker}
        on_input = _pop_input_axis_scales(rest)
        network = _rebuilt_by_lycoris(create_lycoris_from_weights, holder, rest, source) if rest else None
    except (RuntimeError, ValueError, KeyError, IndexError) as exc:
        raise LoratuiError(f"{source}: its layers do not fit this {base.family} model ({_first_line(exc)}); "
                           "give the base model it was trained on with --model") from None
    built = {m.lora_name.removeprefix("lycoris_"): m for m in (network.loras if network is not None else [])}
    _restore_input_axis_scales(built, on_input)
    unread = sorted(names_in_file - set(built) - tucker)
    if unread:
        raise LoratuiError(f"{source}: lycoris-lora cannot read the layer {unread[0]} "
                           f"({', '.join(sorted(k.split('.', 1)[1] for k in tensors if k.startswith(unread[0] + '.')))}); "
                           "it is not a LoRA/LyCORIS type loratui converts")
    out: dict[str, torch.Tensor] = {}
    blocked: list[str] = []
    conv_ranks: list[int] = []
    names = sorted(set(built) | tucker)
    for i, name in enumerate(names):
        module = built.get(name)
        if progress:
            progress(i, len(names), name)
        if module is None:
            own = {k.split(".", 1)[1]: v for k, v in tensors.items() if k.split(".", 1)[0] == name}
            with torch.no_grad():
                delta, bound = _tucker_lokr_update(own, holder._modules[name], device, f"{source}: {name}")
            if not bool(delta.abs().max() > 0):
                report.skipped_zero += 1
                continue
            up, down, keep, error = _factor(delta.float(), rank, tolerance, bound)
            conv_ranks.append(keep)
            _write_layer(out, report, name, delta, up, down, keep, error, dtype)
            continue
        if type(module).__name__ == "NormModule":
            blocked.append(f"{name} (a norm-layer update: train_norm)")
            continue
        with torch.no_grad():
            delta, delta_b = _update(module, device, source)
        _check(module, delta, delta_b, name)
        if delta_b is not None and bool(delta_b.abs().max() > 0):
            blocked.append(f"{name} (a bias update: algo=full)")
        if not bool(delta.abs().max() > 0):
            report.skipped_zero += 1
            continue
        up, down, keep, error = _factor(delta.float(), rank, tolerance, rank_bound(module))
        if delta.dim() == 4 and delta.shape[2:] != (1, 1):
            conv_ranks.append(keep)
        _write_layer(out, report, name, delta, up, down, keep, error, dtype)
    if blocked and not drop_unsupported:
        raise LoratuiError(_blocked_message(source, blocked))
    report.dropped = blocked
    if not out:
        raise LoratuiError(f"{source}: every layer's update is zero: there is nothing to convert (an untrained "
                           "network?)")
    return out, _metadata(metadata, report, conv_ranks, tolerance, rank), report


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [""])[0][:160]


def _write_layer(out: dict, report: ConvertReport, name: str, delta: torch.Tensor, up: torch.Tensor,
                 down: torch.Tensor, keep: int, error: float, dtype: torch.dtype) -> None:
    """One layer's kohya factors into ``out`` and its line into the report."""
    # one alpha for every layer (its alpha/rank scale folded into the factors): diffusers 0.42 reads
    # per-layer alphas through an alpha_pattern that misses some UNet layers (their scale came out
    # 16/32 instead of 1), while one shared alpha needs no pattern in any loader
    gain = math.sqrt(keep / ALPHA)
    down_out = (down * gain).to("cpu", dtype).contiguous()
    up_out = (up * gain).to("cpu", dtype).contiguous()
    rebuilt = (up_out.double().flatten(1) @ down_out.double().flatten(1)) * (ALPHA / keep)
    stored = float((delta.cpu().reshape(delta.shape[0], -1) - rebuilt).norm() / delta.norm().cpu())
    report.layers.append(LayerResult(name, keep, min(delta.shape[0], delta[0].numel()), error, stored))
    out[f"{name}.lora_down.weight"] = down_out
    out[f"{name}.lora_up.weight"] = up_out
    out[f"{name}.alpha"] = torch.tensor(ALPHA, dtype=dtype)


def _metadata(source_meta: dict[str, str], report: ConvertReport, conv_ranks: list[int], tolerance: float,
              rank: int | None) -> dict[str, str]:
    """The source's ss_* metadata, re-labelled as a kohya LoRA (networks.lora) with what was converted."""
    meta = dict(source_meta)
    ranks = report.ranks
    meta["ss_network_module"] = "networks.lora"
    same = len(set(ranks)) == 1
    meta["ss_network_dim"] = str(ranks[0]) if same else "Dynamic"
    meta["ss_network_alpha"] = f"{ALPHA:g}"
    if conv_ranks:
        conv = str(conv_ranks[0]) if len(set(conv_ranks)) == 1 else "Dynamic"
        meta["ss_network_args"] = json.dumps({"conv_dim": conv, "conv_alpha": f"{ALPHA:g}"})
    else:
        meta.pop("ss_network_args", None)
    meta["loratui_converted_from"] = json.dumps({
        "network_module": source_meta.get("ss_network_module", ""),
        "network_args": json.loads(source_meta["ss_network_args"]) if _is_json(source_meta.get("ss_network_args")) else None,
        "kind": report.source_kind, "tolerance": tolerance, "rank_cap": rank,
        "max_relative_error": float(f"{report.max_stored_error:.3g}"), "dropped_layers": len(report.dropped),
        **({"embeddings_left_out": report.embeddings_left_out} if report.embeddings_left_out else {})})
    for key in ("sshs_model_hash", "sshs_legacy_hash"):
        meta.pop(key, None)  # recomputed over the new tensors when saved
    return meta


def _is_json(text: str | None) -> bool:
    if not text:
        return False
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def save_converted(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str], *,
                   replace: bool = False) -> None:
    """Write atomically, with sd-scripts' sshs_* hashes over the new tensors. Without ``replace`` the
    file is published only if ``path`` is still free: one that appeared while converting (minutes for
    SDXL) is kept and the refusal names it."""
    from safetensors.torch import save

    from loratui.core.fsutil import atomic_create_bytes, atomic_write_bytes
    from loratui.engine.metadata import safetensors_hashes

    meta = {str(k): str(v) for k, v in metadata.items()}
    meta["sshs_model_hash"], meta["sshs_legacy_hash"] = safetensors_hashes(tensors, meta)
    data = save(tensors, metadata=meta)
    if replace:
        atomic_write_bytes(path, data)
        return
    try:
        atomic_create_bytes(path, data)
    except FileExistsError:
        raise LoratuiError(f"{path} appeared while converting (another program wrote it): it was kept and nothing "
                           "was written; pass --force to replace it, or give another name") from None
