"""A LyCORIS file (LoHa, LoKr, DoRA, full, LoCon) rewritten as a plain kohya LoRA/LoCon file.

ComfyUI, A1111/Forge, sd-scripts and lycoris-lora read LyCORIS keys natively; diffusers 0.42 does not
(``load_lora_weights`` refuses ``hada_*`` / ``lokr_*`` / ``diff`` keys, and drops ``dora_scale`` with a
warning, so a DoRA file loads there with the wrong output). This module gives those users a file that
every loader reads: each layer's weight update is rebuilt by lycoris-lora's own module (its
``get_diff_weight``, and for DoRA its ``weight_decompose`` over the base weight), then factored by a
truncated SVD into ``lora_down`` / ``lora_up``, every layer with alpha 1. A LoKr conv layer trained with
use_tucker (``lokr_t2``), which lycoris-lora 4.1.3's loader cannot read, is rebuilt here with the same maths.

The rank of each layer is the smallest that keeps the layer's relative error
``|ΔW - up·down|_F / |ΔW|_F`` under ``tolerance`` as stored in the output dtype (room is left for its
rounding: engine/lora_convert_fit.py), capped by ``rank``. A LoHa of rank r has an update
of rank at most r², a LoKr one of rank(w1)·rank(w2): both convert without loss at a modest rank. A DoRA
update rescales the base weight's rows, so it is full rank: a cap trades file size for error, and the
report says how much. A LoRA file cannot carry bias or norm updates (algo=full's ``diff_b``,
train_norm's ``w_norm``/``b_norm``): they are refused unless the caller drops them knowingly.

A damaged file (a lora_down without its lora_up, factors of two ranks, NaN/inf weights) is refused,
never converted into a clean-looking one. A layer without an alpha tensor is read as alpha = rank
(scale 1), as sd-scripts, ComfyUI, A1111 and lycoris-lora's own modules read it. Reading and checking the
file is engine/lora_source.py; the SVD, engine/lora_factor.py; the rank as stored, engine/lora_convert_fit.py.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from loratui.core.errors import LoratuiError
# the SVD factoring (engine/lora_factor.py) and the source file's reading and checks (engine/lora_source.py)
# are re-exported here, where `lora convert` and the tests import them
from loratui.engine.lora_convert_fit import ALPHA, Fit, fit_layer
from loratui.engine.lora_factor import _factor, _gram_svd, _svd, rank_bound  # noqa: F401
from loratui.engine.lora_source import (  # noqa: F401
    _all_finite, _blocked_message, check_convertible, check_whole, fill_missing_alphas, kind_of, read_lora,
)
from loratui.engine.lycoris_unreadable import (_pop_input_axis_scales, _restore_input_axis_scales,
                                                _tucker_lokr_update)



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
    alpha_zero: int = 0  # layers with alpha 0, read as alpha = rank (lycoris-lora's and sd-scripts' reading)
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
    details = read_lora_info(source)
    report.embeddings_left_out = sorted(details.embeddings)
    report.no_alpha = len(fill_missing_alphas(tensors))
    # lycoris-lora's modules read alpha 0 as alpha = rank (scale 1); ComfyUI, A1111 and diffusers apply 0 there:
    # `lora convert` asks for --alpha-zero dim first, and the metadata records it
    report.alpha_zero = len(details.zero_alpha)
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
            fit = fit_layer(delta, rank, tolerance, bound, dtype)
            conv_ranks.append(fit.rank)
            _write_layer(out, report, name, delta, fit, dtype)
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
        fit = fit_layer(delta, rank, tolerance, rank_bound(module), dtype)
        if delta.dim() == 4 and delta.shape[2:] != (1, 1):
            conv_ranks.append(fit.rank)
        _write_layer(out, report, name, delta, fit, dtype)
    if blocked and not drop_unsupported:
        raise LoratuiError(_blocked_message(source, blocked))
    report.dropped = blocked
    if not out:
        raise LoratuiError(f"{source}: every layer's update is zero: there is nothing to convert (an untrained "
                           "network?)")
    return out, _metadata(metadata, report, conv_ranks, tolerance, rank), report


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [""])[0][:160]


def _write_layer(out: dict, report: ConvertReport, name: str, delta: torch.Tensor, fit: Fit,
                 dtype: torch.dtype) -> None:
    """One layer's kohya factors into ``out`` and its line into the report."""
    report.layers.append(LayerResult(name, fit.rank, min(delta.shape[0], delta[0].numel()), fit.error,
                                     fit.stored_error))
    out[f"{name}.lora_down.weight"] = fit.down
    out[f"{name}.lora_up.weight"] = fit.up
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
        **({"alpha_zero": "dim", "alpha_zero_layers": report.alpha_zero} if report.alpha_zero else {}),
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
