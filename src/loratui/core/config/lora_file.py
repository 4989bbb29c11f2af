"""What a LoRA / LyCORIS .safetensors file holds, read from its header and its alpha tensors' few bytes
(no torch, no other tensor read).

`loratui lora info` prints it: the network type of each layer (from kohya_ss's key names), ranks,
where the file loads, and the training metadata sd-scripts writes (``ss_*``). The shapes alone also show
a damaged file (a lora_down without its lora_up, factors of two ranks) and layers without an alpha
tensor, which every loader reads as alpha = rank (sd-scripts' networks/lora.py "support old LoRA without
alpha", ComfyUI's scale 1.0, lycoris-lora's ``alpha = lora_dim``), whatever ss_network_alpha says. The
alpha shown is the alpha tensors' (what every loader reads); ss_network_alpha is only a note, and a warning
when it disagrees. A1111's bundled embeddings (``bundle_emb.NAME.*``) are listed, not refused. Each layer's
type, rank and damage come from its shapes in lora_layers.py.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from loratui.core.config.lora_alpha import (  # noqa: F401 - DAMAGED_ALPHA: re-exported (weights_check.py)
    DAMAGED_ALPHA, _finite, _layers, _number, _shown, alpha_tensor_warnings, missing_alpha_warning, zero_alpha_layers,
)
from loratui.core.config.lora_layers import (  # layer_kinds and layer_problems: re-exported
    UNCONVERTED_KINDS, base_kind, guess_family, is_conv_layer, layer_kinds, layer_problems, shapes_by_layer,
)
from loratui.core.config.model_check import FAMILY_NAMES, safetensors_header, safetensors_scalars
from loratui.core.errors import LoratuiError
from loratui.core.termline import shell_arg

# Which loaders read which type: ComfyUI's comfy/lora.py and A1111's extensions-builtin/Lora read every
# LyCORIS key natively; diffusers 0.42's load_lora_weights reads lora_down/lora_up only and drops
# dora_scale (with a warning), so those files go through `loratui lora convert` first.
EVERYWHERE = "ComfyUI, A1111/Forge, sd-scripts, LyCORIS, diffusers"
LYCORIS_ONLY = "ComfyUI, A1111/Forge, sd-scripts (lycoris.kohya), LyCORIS"
# A LoKr conv layer trained with use_tucker (lokr_t2): ComfyUI (weight_adapter/lokr.py) and A1111
# (network_lokr.py) rebuild it; lycoris-lora 4.1's file loader (create_lycoris_from_weights, and
# lycoris.kohya's create_network_from_weights that sd-scripts' scripts use) reads its rank from the wrong
# side of lokr_w2_a and stops. A network built with use_tucker=true loads it as network_weights.
# DoRA trained with wd_on_output=false: dora_scale is (1, in[, 1, 1]). ComfyUI tells the axis from the shape
# and A1111's loader normalises over the input axis; lycoris-lora 4.1's file loaders build every DoRA module
# for the output axis and stop copying the scale in. A network built with the same args loads it.
DORA_ON_INPUT = ("ComfyUI, A1111/Forge; sd-scripts (lycoris.kohya) and loratui only as network_weights with "
                 "wd_on_output=false in network_args (lycoris-lora 4.1's file loader cannot read its input-axis "
                 "dora_scale)")
# the LyCORIS types `lora convert` refuses, by where they load as they are: ComfyUI's comfy/weight_adapter has
# OFT, BOFT and GLoRA adapters but no IA3; A1111's extensions-builtin/Lora has network_oft (oft_blocks / oft_diag),
# network_glora and network_ia3
UNCONVERTED_LOADERS = {"OFT": "ComfyUI, A1111/Forge, sd-scripts (lycoris.kohya), LyCORIS",
                       "BOFT": "ComfyUI, sd-scripts (lycoris.kohya), LyCORIS",
                       "GLoRA": "ComfyUI, A1111/Forge, sd-scripts (lycoris.kohya), LyCORIS",
                       "IA3": "A1111/Forge, sd-scripts (lycoris.kohya), LyCORIS"}
CONVERTED_TYPES = "LoCon/LoHa/LoKr/DoRA/full"
TUCKER_LOKR = ("ComfyUI, A1111/Forge; sd-scripts (lycoris.kohya) and loratui only as network_weights with "
               "use_tucker=true in network_args (lycoris-lora 4.1's file loader cannot read its lokr_t2)")


@dataclass
class LoraFileInfo:
    path: Path
    layers: dict[str, str]  # module name -> type (LoRA, LoCon, LoHa, LoKr, full, norm; "DoRA " prefix)
    ranks: dict[str, int]  # module name -> rank, where the type has one
    metadata: dict[str, str] = field(default_factory=dict)
    dtypes: Counter = field(default_factory=Counter)
    no_alpha: list[str] = field(default_factory=list)  # layers scaled by alpha/rank that have no alpha tensor
    damaged: dict[str, str] = field(default_factory=dict)  # layer -> what is wrong with its factors
    tucker_lokr: list[str] = field(default_factory=list)  # LoKr layers with lokr_t2 (see TUCKER_LOKR)
    dora_on_input: list[str] = field(default_factory=list)  # DoRA layers with a (1, in) scale (see DORA_ON_INPUT)
    alpha_tensors: dict[str, float | None] = field(default_factory=dict)  # layer -> its alpha (None: not one number)
    conv_layers: set[str] = field(default_factory=set)  # layers of a k x k conv (kohya's conv_dim / conv_alpha)
    embeddings: dict[str, dict[str, list[int]]] = field(default_factory=dict)  # bundle_emb NAME -> part -> shape
    family_guess: str | None = None  # sd1 / sd2 / sdxl from the key names and widths (lora_layers.guess_family)

    @property
    def kinds(self) -> Counter:
        return Counter(self.layers.values())

    @property
    def unconverted(self) -> dict[str, str]:
        """Layer -> type of the layers `lora convert` refuses (OFT, BOFT, GLoRA, IA3, and unknown types)."""
        return {name: base_kind(kind) for name, kind in sorted(self.layers.items())
                if base_kind(kind) in UNCONVERTED_KINDS or base_kind(kind) == "unknown"}

    def unconverted_message(self) -> str | None:
        """Why `lora convert` refuses the file from its types alone (None when it does not)."""
        found = self.unconverted
        if not found:
            return None
        kinds = Counter(found.values())
        known = [kind for kind, _ in kinds.most_common() if kind != "unknown"]
        where = f" (it loads as it is in {UNCONVERTED_LOADERS[known[0]]})" if len(known) == 1 else ""
        if len(found) == len(self.layers) and len(kinds) == 1:
            kind = next(iter(kinds))
            what = f"{'an' if kind[0] in 'AEIOU' else 'a'} {kind} file" if kind != "unknown" else \
                f"its layers are of a type loratui does not know (e.g. {next(iter(found))})"
        else:
            listed = ", ".join(f"{n} {kind}" for kind, n in kinds.most_common())
            what = (f"{len(found)} of its {len(self.layers)} layers are not converted ({listed}; e.g. "
                    f"{next(iter(found))})")
        return f"{self.path}: {what}; loratui converts {CONVERTED_TYPES} only{where}"

    @property
    def plain_lora(self) -> bool:
        return not self.damaged and all(kind in ("LoRA", "LoCon") for kind in self.layers.values())

    @property
    def diffusers_ready(self) -> bool:
        # diffusers 0.42 reads a kohya file only when every key starts with lora_: bundle_emb keys make it
        # refuse the whole file ("Invalid LoRA checkpoint")
        return self.plain_lora and not self.embeddings

    @property
    def loads_in(self) -> str:
        if self.damaged:  # ComfyUI skips such a layer with a warning, A1111 and diffusers stop on it
            return (f"nowhere cleanly: loaders skip or refuse its {len(self.damaged)} damaged layer(s); get a "
                    "complete copy of the file")
        if self.diffusers_ready:
            return EVERYWHERE
        if self.unconverted:
            kinds = Counter(self.unconverted.values())
            known = [kind for kind, _ in kinds.most_common() if kind != "unknown"]
            where = UNCONVERTED_LOADERS[known[0]] if len(known) == 1 and "unknown" not in kinds else \
                "loaders that know its layer types"
            listed = "/".join(kind for kind, _ in kinds.most_common())
            return f"{where}; not diffusers (loratui lora convert does not convert {listed} layers)"
        where = (EVERYWHERE.removesuffix(", diffusers") if self.plain_lora else TUCKER_LOKR if self.tucker_lokr
                 else DORA_ON_INPUT if self.dora_on_input else LYCORIS_ONLY)
        dropped = " (it leaves the bundled embeddings out)" if self.embeddings else ""
        return f"{where}; for diffusers: loratui lora convert {shell_arg(self.path.name)} OUT --model BASE{dropped}"

    def embedding_keys(self) -> list[str]:
        """The keys of the bundled embeddings (bundle_emb.NAME.PART), which are not LoRA layers."""
        return [f"{BUNDLE_PREFIX}{name}.{part}" for name, parts in sorted(self.embeddings.items()) for part in parts]

    def parts(self) -> dict[str, int]:
        out = Counter()
        for name in self.layers:
            out["UNet" if name.startswith("lora_unet_") else "text encoder"] += 1
        return {part: out[part] for part in ("UNet", "text encoder") if out[part]}

    def text_encoder_parts(self) -> dict[str, int]:
        """SDXL's text-encoder layers per encoder ({"te1": n, "te2": m}: lora_te1_ / lora_te2_); {} otherwise."""
        out = Counter(name[5:8] for name in self.layers if name.startswith(("lora_te1_", "lora_te2_")))
        return {part: out[part] for part in ("te1", "te2") if out[part]}

    @property
    def damaged_alpha(self) -> bool:
        """Some layer's applied alpha is NaN or inf (every loader's output turns NaN)."""
        return any(not math.isfinite(value) for value in self.applied_alphas().values())

    @property
    def whole_lokr(self) -> list[str]:
        """LoKr layers whose lokr_w1 and lokr_w2 are both whole (no low-rank split, so no rank): lycoris-lora
        (alpha = dim there), ComfyUI and A1111 apply them at scale 1, whatever their alpha tensor holds."""
        return sorted(name for name, kind in self.layers.items() if kind.removeprefix("DoRA ") == "LoKr"
                      and name not in self.ranks and name not in self.damaged)

    def applied_alphas(self) -> dict[str, float]:
        """Layer -> the alpha loaders scale it by (alpha / rank): its alpha tensor's value, its rank where it
        has none. Left out: layers without a rank (a LoKr of two whole factors, full, norm: scale 1), damaged
        ones, and an alpha tensor that is not one number."""
        out = {}
        for name, rank in self.ranks.items():
            if name in self.damaged:
                continue
            if name in self.alpha_tensors:
                if self.alpha_tensors[name] is not None:
                    out[name] = self.alpha_tensors[name]
            elif name in self.no_alpha:
                out[name] = float(rank)
        return out

    @property
    def zero_alpha(self) -> list[str]:
        """Ranked layers whose alpha tensor is 0: sd-scripts and LyCORIS read it as alpha = rank, ComfyUI,
        A1111/Forge and diffusers apply 0 (lora_alpha.py); applied_alphas gives them 0."""
        return zero_alpha_layers(self)

    @property
    def alpha(self) -> float | None:
        """The alpha loaders apply when every layer has the same one (from the alpha tensors, alpha = rank
        where a layer has none), whatever ss_network_alpha says; None when they differ (alpha_summary)."""
        applied = self.applied_alphas()
        return next(iter(applied.values())) if len({_shown(v) for v in applied.values()}) == 1 else None

    def alpha_by_type(self) -> dict[str, set[str]]:
        """"linear" / "conv" (k x k conv layers) -> the alphas applied there, as shown."""
        groups: dict[str, set[str]] = {}
        for name, value in sorted(self.applied_alphas().items(), key=lambda item: item[0] in self.conv_layers):
            groups.setdefault("conv" if name in self.conv_layers else "linear", set()).add(_shown(value))
        return groups

    def alpha_summary(self) -> str | None:
        """The applied alpha in a few words: "8", "2 (linear), 1 (conv)", "4 (60 layers), 8 (6 layers)",
        "1..16 (7 values over 66 layers)"; None when no layer has a rank."""
        applied = self.applied_alphas()
        counts = Counter(_shown(v) for v in applied.values())
        if len(counts) <= 1:
            return next(iter(counts), None)
        groups = self.alpha_by_type()
        if len(groups) == 2 and all(len(values) == 1 for values in groups.values()):
            return ", ".join(f"{next(iter(values))} ({kind})" for kind, values in groups.items())
        if len(counts) <= 4:
            return ", ".join(f"{value} ({_layers(n)})" for value, n in counts.most_common())
        finite = sorted(v for v in applied.values() if math.isfinite(v))
        span = f"{_shown(finite[0])}..{_shown(finite[-1])}" if finite else "not finite"
        return f"{span} ({len(counts)} values over {len(applied)} layers)"

    def damage_summary(self) -> str | None:
        """The damaged layers in one line ("N damaged layers: NAME has ...; ..."), None when none is."""
        if not self.damaged:
            return None
        named = [f"{name} {why}" for name, why in sorted(self.damaged.items())[:3]]
        more = f"; and {len(self.damaged) - 3} more" if len(self.damaged) > 3 else ""
        return f"{len(self.damaged)} damaged layer(s): {'; '.join(named)}{more}"

    def damage_message(self) -> str | None:
        """The error for a file whose factors do not fit together (None when they do)."""
        summary = self.damage_summary()
        if summary is None:
            return None
        return (f"{self.path}: the file is damaged or incomplete, {summary}: get a complete copy (download or "
                "export it again)")

    def warnings(self) -> list[str]:
        out = []
        if self.damaged:
            out.append(f"the file is damaged or incomplete, {self.damage_summary()}")
        if self.no_alpha:
            out.append(missing_alpha_warning(self))
        out += alpha_tensor_warnings(self)
        return out

    def to_dict(self) -> dict:
        ranks = sorted(set(self.ranks.values()))
        by_type = {kind: _finite(float(next(iter(values)))) if len(values) == 1 else None
                   for kind, values in self.alpha_by_type().items()}
        return {"path": str(self.path), "layers": len(self.layers), "parts": self.parts(),
                "text_encoder_parts": self.text_encoder_parts(),
                "types": dict(self.kinds), "ranks": ranks, "dtypes": dict(self.dtypes),
                "family_guess": self.family_guess,
                # NaN/inf are not JSON (strict parsers refuse them): null, and the reason beside it
                "alpha": _finite(self.alpha), "alpha_warning": DAMAGED_ALPHA if self.damaged_alpha else None,
                "alpha_summary": self.alpha_summary(),
                "alpha_linear": by_type.get("linear"), "alpha_conv": by_type.get("conv"),
                "alpha_values": dict(Counter(_shown(v) for v in self.applied_alphas().values()).most_common()),
                "alpha_metadata": _number(self.metadata.get("ss_network_alpha")),
                "alpha_missing": len(self.no_alpha), "alpha_zero": len(self.zero_alpha),
                "whole_factor_count": len(self.whole_lokr),
                "whole_factor_layers": self.whole_lokr,
                "damaged": dict(sorted(self.damaged.items())),
                "embeddings": [embedding_dict(name, parts) for name, parts in sorted(self.embeddings.items())],
                "diffusers_ready": self.diffusers_ready, "loads_in": self.loads_in, "warnings": self.warnings(),
                "metadata": self.metadata}


# A1111 / Forge's bundled textual-inversion embeddings: bundle_emb.NAME.string_to_param.* (SD 1.x/2.x, the
# layout of A1111's .pt embeddings) or bundle_emb.NAME.clip_l + .clip_g (SDXL)
BUNDLE_PREFIX = "bundle_emb."
# checked in A1111's extensions-builtin/Lora/networks.py (load_network registers them as embeddings), ComfyUI's
# comfy/lora.py (a "lora key not loaded" warning each) and diffusers 0.42 (load_lora_weights reads a kohya file
# only when every key starts with lora_: it refuses the file, "Invalid LoRA checkpoint")
EMBEDDING_LOADERS = ("A1111 loads them with the LoRA (write the name in the prompt); ComfyUI ignores them (a "
                     "\"lora key not loaded\" warning each); diffusers refuses a file that has them; Forge and "
                     "sd-scripts: not checked")
_TEXT_ENCODER_WIDTHS = {768: "SD 1.x text encoder", 1024: "SD 2.x text encoder"}


def is_bundled_embedding(key: str) -> bool:
    parts = key.split(".", 2)
    return key.startswith(BUNDLE_PREFIX) and len(parts) == 3 and all(parts)


def embedding_dict(name: str, parts: dict[str, list[int]]) -> dict:
    """One bundled embedding: its name, vectors per token and text encoder where the shapes tell."""
    vectors, encoder = None, "unknown"
    if "clip_l" in parts and "clip_g" in parts:
        vectors, encoder = (parts["clip_g"] or [None])[0], "SDXL (clip_l and clip_g)"
    elif len(parts) == 1 and next(iter(parts.values())):
        shape = next(iter(parts.values()))
        vectors = shape[0] if len(shape) == 2 else 1
        encoder = _TEXT_ENCODER_WIDTHS.get(shape[-1], f"unknown ({shape[-1]} wide)")
    return {"name": name, "vectors": vectors, "text_encoder": encoder,
            "keys": [f"{BUNDLE_PREFIX}{name}.{part}" for part in sorted(parts)]}


def read_lora_info(path: str | os.PathLike) -> LoraFileInfo:
    path = Path(path)
    if not path.is_file():
        raise LoratuiError(f"{path} does not exist: give a LoRA / LyCORIS .safetensors file")
    full = safetensors_header(path)
    metadata = full.pop("__metadata__", None) or {}
    header = {k: v for k, v in full.items() if not is_bundled_embedding(k)}
    if not header or not all(k.startswith("lora_") and "." in k for k in header):
        bad = next((k for k in header if not (k.startswith("lora_") and "." in k)), None)
        what = ("no tensors" if not full else "only bundled embeddings (bundle_emb.*), no LoRA layers"
                if bad is None else f"key {bad!r}")
        if bad is not None and any(part in bad for part in (".lora_A.", ".lora_B.", ".lora.down.", ".lora.up.",
                                                           "_lora.down.", "_lora.up.", "lora_linear_layer")):
            raise LoratuiError(f"{path}: a diffusers / PEFT-format LoRA ({what}): loratui reads kohya-format files "
                               "(keys lora_unet_... / lora_te..., what sd-scripts, A1111 and ComfyUI write)")
        raise LoratuiError(f"{path}: not a kohya-format LoRA/LyCORIS file ({what}); a LoRA's keys start with "
                           "lora_unet_ / lora_te (and A1111's bundled embeddings with bundle_emb.NAME.)")
    dtypes = Counter(str(info.get("dtype", "?")) for info in header.values())
    shapes = {k: list(info.get("shape", [])) for k, info in header.items()}
    layers, ranks = layer_kinds(shapes)
    no_alpha, damaged = layer_problems(shapes, layers)
    tucker_lokr = sorted(k.split(".", 1)[0] for k in shapes if k.endswith(".lokr_t2"))
    dora_on_input = sorted(k.split(".", 1)[0] for k, shape in shapes.items()
                           if k.endswith(".dora_scale") and len(shape) > 1 and shape[0] == 1 and shape[1] > 1)
    alpha_keys = [k for k in header if k.endswith(".alpha") and k.count(".") == 1]
    alphas = {k.split(".", 1)[0]: v for k, v in safetensors_scalars(path, header, alpha_keys).items()}
    conv = {name for name, own in shapes_by_layer(shapes).items() if is_conv_layer(name, own)}
    embeddings: dict[str, dict[str, list[int]]] = {}
    for key, info in full.items():
        if is_bundled_embedding(key):
            _, name, part = key.split(".", 2)
            embeddings.setdefault(name, {})[part] = list(info.get("shape", []))
    return LoraFileInfo(path, layers, ranks, {str(k): str(v) for k, v in metadata.items()}, dtypes,
                        no_alpha, damaged, tucker_lokr, dora_on_input, alphas, conv, embeddings, guess_family(shapes))


# ss_* keys shown by `lora info`, in this order, with their labels
SHOWN_METADATA = (
    ("ss_output_name", "output name"), ("ss_network_module", "network module"),
    ("ss_network_args", "network args"), ("ss_network_dim", "dim"), ("ss_network_alpha", "metadata alpha"),
    ("ss_base_model_version", "base model version"), ("ss_sd_model_name", "base model"),
    ("ss_steps", "steps"), ("ss_epoch", "epochs"), ("ss_learning_rate", "learning rate"),
    ("ss_optimizer", "optimizer"), ("ss_training_finished_at", "finished at"),
    ("loratui_converted_from", "converted from"),
)


LABEL = max(len(label) for _, label in SHOWN_METADATA)


def describe_lora(info: LoraFileInfo) -> list[str]:
    """Human lines for `loratui lora info`."""
    kinds = ", ".join(f"{n} {kind}" for kind, n in info.kinds.most_common())
    split = ", ".join(f"{n} {part}" for part, n in info.text_encoder_parts().items())
    parts = ", ".join(f"{n} {part}" + (f" ({split})" if split and part == "text encoder" else "")
                      for part, n in info.parts().items())
    lines = [f"{info.path}", f"  {'layers':<{LABEL}} {len(info.layers)} ({parts}): {kinds}"]
    ranks = sorted(set(info.ranks.values()))
    if ranks:
        shown = ", ".join(map(str, ranks)) if len(ranks) <= 6 else f"{ranks[0]}..{ranks[-1]} ({len(ranks)} values)"
        lines.append(f"  {'ranks':<{LABEL}} {shown}")
    alpha, whole = info.alpha_summary(), info.whole_lokr
    if alpha is not None and info.damaged_alpha:
        lines.append(f"  {'alpha':<{LABEL}} is NaN/inf ({alpha}): the file is damaged (every loader's output turns "
                     "NaN)")
    elif alpha is not None:
        which = f" to the {_layers(len(info.applied_alphas()), 'ranked')}" if whole else ""
        what = ("what ComfyUI, A1111/Forge and diffusers apply; sd-scripts reads alpha 0 as rank: see the warning"
                if info.zero_alpha else "what loaders apply")
        lines.append(f"  {'alpha':<{LABEL}} {alpha} ({what}{which}; each layer's scale is alpha / rank)")
    if whole:  # lycoris-lora sets alpha = dim where both Kronecker factors are whole: scale 1
        lines.append(f"  {'whole factors':<{LABEL}} {_layers(len(whole), 'LoKr')} (e.g. {whole[0]}) have whole "
                     "lokr_w1 and lokr_w2, no rank: loaders apply them at scale 1, whatever their alpha")
    lines.append(f"  {'stored as':<{LABEL}} {', '.join(f'{d} ({n})' for d, n in info.dtypes.most_common())}")
    lines.append(f"  {'loads in':<{LABEL}} {info.loads_in}")
    if info.embeddings:
        lines.append(f"  {'embeddings':<{LABEL}} {len(info.embeddings)} bundled: "
                     + "; ".join(_embedding_text(embedding_dict(name, parts))
                                 for name, parts in sorted(info.embeddings.items())))
        lines.append(f"  {'':<{LABEL}} {EMBEDDING_LOADERS}")
    said = info.metadata.get("ss_base_model_version") or info.metadata.get("ss_sd_model_name")
    if info.family_guess and not said:
        lines.append(f"  {'base model':<{LABEL}} {FAMILY_NAMES[info.family_guess]} (from the keys)")
    for key, label in SHOWN_METADATA:
        value = info.metadata.get(key)
        if value not in (None, "", "None"):
            if key == "ss_training_finished_at":
                value = _when(value)
            if key == "ss_network_dim" and set(info.kinds) <= {"full", "DoRA full"}:
                value += " (not used: a full-matrix update has no rank)"
            if key == "ss_network_alpha" and info.no_alpha:
                value += " (metadata only: loaders read the layers without an alpha tensor as alpha = rank)"
            lines.append(f"  {label:<{LABEL}} {value if len(value) <= 200 else value[:197] + '...'}")
    if not info.metadata:
        lines.append("  (no metadata: not written by sd-scripts, kohya_ss or loratui)")
    lines += [f"warning: {warning}" for warning in info.warnings()]
    return lines


def _embedding_text(embedding: dict) -> str:
    vectors = embedding["vectors"]
    count = f"{vectors} vector{'s' if vectors != 1 else ''}, " if vectors is not None else ""
    return f"{embedding['name']} ({count}{embedding['text_encoder']})"


def _when(value: str) -> str:
    import datetime as dt

    try:
        return dt.datetime.fromtimestamp(float(value), dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    except (ValueError, OverflowError, OSError):
        return value

