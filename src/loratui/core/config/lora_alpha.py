"""What `loratui lora info` says about a LoRA file's alpha tensors (core/config/lora_file.py reads them): layers
without one, an ss_network_alpha the tensors contradict, alpha 0 (read two ways by the loaders), NaN/inf.

Alpha 0: sd-scripts' networks/lora.py (``alpha = self.lora_dim if alpha is None or alpha == 0``) and
lycoris-lora's modules read it as alpha = rank, scale 1; ComfyUI (weight_adapter: ``alpha / rank``), A1111/Forge
(networks: ``alpha / dim``) and diffusers (PEFT's ``lora_alpha / r``) apply 0: the layer does nothing. So the
same file trains or continues one way and generates another; `loratui lora convert --alpha-zero dim` writes
alpha = rank on those layers, which every loader reads as scale 1.
"""

from __future__ import annotations

import json
import math
from collections import Counter

DAMAGED_ALPHA = "alpha is NaN/inf: the file is damaged"
ZERO_READ_AS_RANK = "sd-scripts and LyCORIS read it as alpha = rank (scale 1)"
ZERO_APPLIED = "ComfyUI, A1111/Forge and diffusers apply alpha / rank = 0 (the layer does nothing)"


def _layers(n: int, kind: str = "") -> str:
    return f"{n} {kind + ' ' if kind else ''}layer{'' if n == 1 else 's'}"


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _shown(value: float) -> str:
    """An alpha as shown and compared: 4 significant digits (an fp16/bf16 alpha of 0.1 is 0.0999..)."""
    return f"{value:.4g}"


def _number(text: str | None) -> float | None:
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return value if value == value and abs(value) != float("inf") else None


def missing_alpha_warning(info) -> str:
    """The warning for layers without an alpha tensor (every loader reads them as alpha = rank)."""
    missing = info.no_alpha
    which = ("no layer has an alpha tensor" if len(missing) == len(info.ranks)
             else f"{len(missing)} of {len(info.ranks)} layers have no alpha tensor (e.g. {missing[0]})")
    ranks = sorted({info.ranks[name] for name in missing})
    rank = f"rank ({ranks[0]})" if len(ranks) == 1 else "rank"
    line = f"{which}: ComfyUI, A1111/Forge, sd-scripts and diffusers then use alpha = {rank}, scale 1"
    trained = _number(info.metadata.get("ss_network_alpha"))
    if trained and len(ranks) == 1 and trained != ranks[0]:
        strength = ranks[0] / trained
        line += (f", while it was trained with alpha {trained:g} (ss_network_alpha): it applies at {strength:g}x "
                 f"the trained strength (use weight {1 / strength:.3g} for the trained effect)")
    elif trained is None or len(ranks) != 1:
        line += ", which may not be the strength it was trained at"
    return line


def _network_args(metadata: dict[str, str]) -> dict:
    try:
        args = json.loads(metadata.get("ss_network_args") or "{}")
    except ValueError:
        return {}
    return args if isinstance(args, dict) else {}


def alpha_tensor_warnings(info) -> list[str]:
    """What the alpha tensors say that the metadata or the loaders do not: an ss_network_alpha (or
    conv_alpha) other than the tensors' (loaders read only the tensors), alpha 0, NaN, not one number."""
    out = []
    held = {name: value for name, value in info.alpha_tensors.items()
            if value is not None and name in info.ranks and name not in info.damaged}
    finite = {name: value for name, value in held.items() if math.isfinite(value)}  # NaN/inf: said once, below
    said_conv = _number(str(_network_args(info.metadata).get("conv_alpha")))
    for kind, key, said in (("linear", "ss_network_alpha", _number(info.metadata.get("ss_network_alpha"))),
                            ("conv", "conv_alpha (ss_network_args)", said_conv)):
        own = [value for name, value in finite.items() if (name in info.conv_layers) == (kind == "conv")]
        off = Counter(_shown(v) for v in own if said is not None and not math.isclose(v, said, rel_tol=5e-3))
        if not off:
            continue
        which = (f"its {_layers(len(own), kind)}" if sum(off.values()) == len(own)
                 else f"{sum(off.values())} of its {_layers(len(own), kind)}")
        line = (f"the metadata's {key} is {said:g} but the alpha tensors of {which} hold "
                f"{', '.join(off)}: loaders apply the tensors' alpha, not the metadata's")
        if len(off) == 1 and said:
            line += f" ({float(next(iter(off))) / said:.3g}x the strength the metadata suggests)"
        out.append(line)
    zero = zero_alpha_warning(info)
    if zero:
        out.append(zero)
    bad = sorted(name for name, value in held.items() if not math.isfinite(value))
    if bad:
        out.append(f"{DAMAGED_ALPHA} ({len(bad)} layer(s), e.g. {bad[0]}): every loader's output turns NaN; get a "
                   "good copy")
    odd = sorted(name for name, value in info.alpha_tensors.items() if value is None)
    if odd:
        out.append(f"{len(odd)} layer(s) have an alpha tensor that is not one number loratui reads (several values, "
                   f"or an F8_E8M0 / sub-byte type; e.g. {odd[0]}): loaders read one number there; its scale is not "
                   "shown")
    return out


def zero_alpha_layers(info) -> list[str]:
    """The ranked layers (not damaged) whose alpha tensor holds 0, sorted."""
    return sorted(name for name, value in info.alpha_tensors.items()
                  if value == 0 and name in info.ranks and name not in info.damaged)


def zero_alpha_warning(info) -> str | None:
    """One line for the layers with alpha 0: how many, what each loader does with them, and the fix."""
    zero = zero_alpha_layers(info)
    if not zero:
        return None
    from loratui.core.termline import shell_arg

    which = (f"all {_layers(len(zero))} have" if len(zero) == len(info.ranks) else
             f"{len(zero)} of {_layers(len(info.ranks))} have" if len(zero) > 1 else f"1 of {_layers(len(info.ranks))} has")
    return (f"{which} alpha 0 (e.g. {zero[0]}), which loaders read two ways: {ZERO_READ_AS_RANK}; {ZERO_APPLIED}; "
            f"`loratui lora convert {shell_arg(info.path.name)} OUT --model BASE --alpha-zero dim` writes alpha = rank "
            "there, scale 1 in every loader")
