"""The LyCORIS file `lora convert` reads (engine/lora_convert.py): its tensors and metadata, the checks that
refuse a damaged file or one it cannot convert before a base model loads, its layer types, and the alpha
a layer without one is read with. Split out of engine/lora_convert.py, which re-exports these names."""

from __future__ import annotations

from pathlib import Path

import torch

from loratui.core.errors import LoratuiError


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
