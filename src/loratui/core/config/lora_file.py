"""What a LoRA / LyCORIS .safetensors file holds, read from its header alone (no torch, no tensors).

`loratui lora info` prints it: the network type of each layer (from kohya_ss's key names), ranks,
where the file loads, and the training metadata sd-scripts writes (``ss_*``).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from loratui.core.config.model_check import safetensors_header
from loratui.core.errors import LoratuiError
from loratui.core.termline import shell_arg

# Which loaders read which type: ComfyUI's comfy/lora.py and A1111's extensions-builtin/Lora read every
# LyCORIS key natively; diffusers 0.42's load_lora_weights reads lora_down/lora_up only and drops
# dora_scale (with a warning), so those files go through `loratui lora convert` first.
EVERYWHERE = "ComfyUI, A1111/Forge, sd-scripts, LyCORIS, diffusers"
LYCORIS_ONLY = "ComfyUI, A1111/Forge, sd-scripts (lycoris.kohya), LyCORIS"


@dataclass
class LoraFileInfo:
    path: Path
    layers: dict[str, str]  # module name -> type (LoRA, LoCon, LoHa, LoKr, full, norm; "DoRA " prefix)
    ranks: dict[str, int]  # module name -> rank, where the type has one
    metadata: dict[str, str] = field(default_factory=dict)
    dtypes: Counter = field(default_factory=Counter)

    @property
    def kinds(self) -> Counter:
        return Counter(self.layers.values())

    @property
    def diffusers_ready(self) -> bool:
        return all(kind in ("LoRA", "LoCon") for kind in self.layers.values())

    @property
    def loads_in(self) -> str:
        if self.diffusers_ready:
            return EVERYWHERE
        return f"{LYCORIS_ONLY}; for diffusers: loratui lora convert {shell_arg(self.path.name)} OUT --model BASE"

    def parts(self) -> dict[str, int]:
        out = Counter()
        for name in self.layers:
            out["UNet" if name.startswith("lora_unet_") else "text encoder"] += 1
        return {part: out[part] for part in ("UNet", "text encoder") if out[part]}

    def to_dict(self) -> dict:
        ranks = sorted(set(self.ranks.values()))
        return {"path": str(self.path), "layers": len(self.layers), "parts": self.parts(),
                "types": dict(self.kinds), "ranks": ranks, "dtypes": dict(self.dtypes),
                "diffusers_ready": self.diffusers_ready, "loads_in": self.loads_in, "metadata": self.metadata}


def _layer_kind(suffixes: set[str], shapes: dict[str, list[int]]) -> str:
    if any(s.startswith("hada_") for s in suffixes):
        kind = "LoHa"
    elif any(s.startswith("lokr_") for s in suffixes):
        kind = "LoKr"
    elif "diff" in suffixes:
        kind = "full"
    elif "lora_down.weight" in suffixes:
        shape = shapes.get("lora_down.weight", [])
        kind = "LoCon" if len(shape) == 4 and shape[2:] != [1, 1] else "LoRA"
    elif suffixes & {"w_norm", "b_norm"}:
        kind = "norm"
    else:
        kind = "unknown"
    return f"DoRA {kind}" if "dora_scale" in suffixes else kind


def _rank(kind: str, shapes: dict[str, list[int]]) -> int | None:
    if kind.endswith(("LoRA", "LoCon")):
        return shapes["lora_down.weight"][0]
    if kind.endswith("LoHa") and "hada_w1_b" in shapes:
        return shapes["hada_w1_b"][0]
    if kind.endswith("LoKr") and "lokr_w2_b" in shapes:  # w2 decomposed at the rank (dim); else no rank
        return shapes["lokr_w2_b"][0]
    return None


def read_lora_info(path: str | os.PathLike) -> LoraFileInfo:
    path = Path(path)
    if not path.is_file():
        raise LoratuiError(f"{path} does not exist: give a LoRA / LyCORIS .safetensors file")
    header = safetensors_header(path)
    metadata = header.pop("__metadata__", None) or {}
    if not header or not all(k.startswith("lora_") and "." in k for k in header):
        bad = next((k for k in header if not (k.startswith("lora_") and "." in k)), None)
        what = "no tensors" if bad is None else f"key {bad!r}"
        if bad is not None and any(part in bad for part in (".lora_A.", ".lora_B.", ".lora.down.", ".lora.up.",
                                                           "_lora.down.", "_lora.up.", "lora_linear_layer")):
            raise LoratuiError(f"{path}: a diffusers / PEFT-format LoRA ({what}): loratui reads kohya-format files "
                               "(keys lora_unet_... / lora_te..., what sd-scripts, A1111 and ComfyUI write)")
        raise LoratuiError(f"{path}: not a kohya-format LoRA/LyCORIS file ({what}); a LoRA's keys start with "
                           "lora_unet_ / lora_te")
    dtypes = Counter(str(info.get("dtype", "?")) for info in header.values())
    layers, ranks = layer_kinds({k: list(info.get("shape", [])) for k, info in header.items()})
    return LoraFileInfo(path, layers, ranks, {str(k): str(v) for k, v in metadata.items()}, dtypes)


def layer_kinds(shapes: dict[str, list[int]]) -> tuple[dict[str, str], dict[str, int]]:
    """Key -> shape of a kohya-format file to (layer -> type, layer -> rank where the type has one)."""
    by_layer: dict[str, dict[str, list[int]]] = {}
    for key, shape in shapes.items():
        name, suffix = key.split(".", 1)
        by_layer.setdefault(name, {})[suffix] = shape
    layers, ranks = {}, {}
    for name, own in by_layer.items():
        kind = _layer_kind(set(own), own)
        layers[name] = kind
        rank = _rank(kind, own)
        if rank is not None:
            ranks[name] = rank
    return layers, ranks


# ss_* keys shown by `lora info`, in this order, with their labels
SHOWN_METADATA = (
    ("ss_output_name", "output name"), ("ss_network_module", "network module"),
    ("ss_network_args", "network args"), ("ss_network_dim", "dim"), ("ss_network_alpha", "alpha"),
    ("ss_base_model_version", "base model version"), ("ss_sd_model_name", "base model"),
    ("ss_steps", "steps"), ("ss_epoch", "epochs"), ("ss_learning_rate", "learning rate"),
    ("ss_optimizer", "optimizer"), ("ss_training_finished_at", "finished at"),
    ("loratui_converted_from", "converted from"),
)


LABEL = max(len(label) for _, label in SHOWN_METADATA)


def describe_lora(info: LoraFileInfo) -> list[str]:
    """Human lines for `loratui lora info`."""
    kinds = ", ".join(f"{n} {kind}" for kind, n in info.kinds.most_common())
    parts = ", ".join(f"{n} {part}" for part, n in info.parts().items())
    lines = [f"{info.path}", f"  {'layers':<{LABEL}} {len(info.layers)} ({parts}): {kinds}"]
    ranks = sorted(set(info.ranks.values()))
    if ranks:
        shown = ", ".join(map(str, ranks)) if len(ranks) <= 6 else f"{ranks[0]}..{ranks[-1]} ({len(ranks)} values)"
        lines.append(f"  {'ranks':<{LABEL}} {shown}")
    lines.append(f"  {'stored as':<{LABEL}} {', '.join(f'{d} ({n})' for d, n in info.dtypes.most_common())}")
    lines.append(f"  {'loads in':<{LABEL}} {info.loads_in}")
    for key, label in SHOWN_METADATA:
        value = info.metadata.get(key)
        if value not in (None, "", "None"):
            if key == "ss_training_finished_at":
                value = _when(value)
            if key == "ss_network_dim" and set(info.kinds) <= {"full", "DoRA full"}:
                value += " (not used: a full-matrix update has no rank)"
            lines.append(f"  {label:<{LABEL}} {value if len(value) <= 200 else value[:197] + '...'}")
    if not info.metadata:
        lines.append("  (no metadata: not written by sd-scripts, kohya_ss or loratui)")
    return lines


def _when(value: str) -> str:
    import datetime as dt

    try:
        return dt.datetime.fromtimestamp(float(value), dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    except (ValueError, OverflowError, OSError):
        return value

