"""What each layer of a kohya-format LoRA / LyCORIS file is, from its tensors' shapes alone: its network type
(LoRA, LoCon, Tucker LoCon, LoHa, LoKr, full, norm; DoRA; and the LyCORIS types loratui does not convert:
OFT, BOFT, GLoRA, IA3), its rank, whether it is a k x k conv, and what is damaged (a
factor missing, two ranks). lora_file.py reads the header and the alphas and builds on these.
"""

from __future__ import annotations

import re

# The UNet's 3x3 convs by their kohya names, for a layer whose factors are flat (LoHa, LoKr without Tucker):
# diffusers' layout (what sd-scripts names SD 1.x/2.x layers after) and the original one (its SDXL names;
# engine/unet_names.py maps one to the other, and tests/unit/test_lora_conv_names.py checks this against it).
# The resnets' skip connection (conv_shortcut / skip_connection) and SD 1.x's proj_in/out are 1x1 convs:
# sd-scripts' networks/lora.py and lycoris-lora give a 1x1 conv network_dim / network_alpha, not conv_*.
_CONV_NAME = re.compile(
    r"^lora_unet_("
    r"(down_blocks_\d+_|mid_block_|up_blocks_\d+_)resnets_\d+_conv[12]"  # diffusers
    r"|(down|up)_blocks_\d+_(down|up)samplers_\d+_conv|conv_in|conv_out"
    r"|(input_blocks_\d+_0|middle_block_\d+|output_blocks_\d+_0)_(in_layers_2|out_layers_3)"  # original
    r"|input_blocks_\d+_0_op|output_blocks_\d+_\d+_conv|input_blocks_0_0|out_2"
    r")$")


def is_conv_layer(name: str, own: dict[str, list[int]]) -> bool:
    """A layer of a k x k conv (kohya's conv_dim / conv_alpha; a 1x1 conv takes network_alpha)."""
    factors = [shape for key, shape in own.items() if key not in ("alpha", "dora_scale")]
    if any(len(shape) == 4 and shape[2:] != [1, 1] for shape in factors):
        return True
    if "lora_down.weight" in own or "lora_up.weight" in own:
        return False  # a LoRA's own shapes tell
    return bool(_CONV_NAME.search(name))


# LyCORIS types that `lora convert` does not rewrite as a LoRA (their update is not a low-rank sum of the weight:
# OFT/BOFT rotate it, IA3 rescales it, GLoRA also changes the input), by lycoris-lora 3.x's key names
# (modules/diag_oft.py, boft.py, glora.py, ia3.py; A1111's network_oft.py also reads older LyCORIS OFT's oft_diag)
UNCONVERTED_KINDS = ("OFT", "BOFT", "GLoRA", "IA3")


def base_kind(kind: str) -> str:
    """The type without its DoRA / Tucker prefix: "DoRA Tucker LoCon" -> "LoCon"."""
    return kind.removeprefix("DoRA ").removeprefix("Tucker ")


def _layer_kind(suffixes: set[str], shapes: dict[str, list[int]]) -> str:
    if any(s.startswith("hada_") for s in suffixes):
        kind = "LoHa"
    elif any(s.startswith("lokr_") for s in suffixes):
        kind = "LoKr"
    elif "diff" in suffixes:
        kind = "full"
    elif suffixes & {"lora_down.weight", "lora_up.weight"}:
        shape = shapes.get("lora_down.weight", [])
        kind = "LoCon" if len(shape) == 4 and shape[2:] != [1, 1] else "LoRA"
        if "lora_mid.weight" in suffixes:  # use_tucker: down 1x1, mid k x k, up 1x1 (diffusers refuses lora_mid)
            kind = "Tucker LoCon"
    elif "oft_blocks" in suffixes:  # diag-oft: (blocks, size, size); boft: (m, blocks, size, size)
        kind = "BOFT" if len(shapes["oft_blocks"]) == 4 else "OFT"
    elif "oft_diag" in suffixes:
        kind = "OFT"
    elif any(s.startswith("boft_") for s in suffixes):
        kind = "BOFT"
    elif suffixes & {"a1.weight", "a2.weight", "b1.weight", "b2.weight"}:
        kind = "GLoRA"
    elif "on_input" in suffixes or suffixes - {"alpha"} == {"weight"}:
        kind = "IA3"
    elif suffixes & {"w_norm", "b_norm"}:
        kind = "norm"
    else:
        kind = "unknown"
    return f"DoRA {kind}" if "dora_scale" in suffixes else kind


def _rank(kind: str, shapes: dict[str, list[int]]) -> int | None:
    if kind.endswith(("LoRA", "LoCon")):
        down, up = shapes.get("lora_down.weight", []), shapes.get("lora_up.weight", [])
        return down[0] if down else (up[1] if len(up) > 1 else None)
    if kind.endswith("LoHa") and "hada_w1_b" in shapes:
        return shapes["hada_w1_b"][0]
    if kind.endswith("LoKr"):  # a decomposed w1 or w2 has the rank (ComfyUI and lycoris-lora look at w1 first)
        for key in ("lokr_w1_b", "lokr_w2_b"):
            if key in shapes and shapes[key]:
                return shapes[key][0]
    return None


# the factors each type needs ("a|b": either), and pairs (x, i, y, j) whose dims x[i] and y[j] are the rank
_NEEDED = {"LoRA": ("lora_down.weight", "lora_up.weight"), "LoCon": ("lora_down.weight", "lora_up.weight"),
           "LoHa": ("hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b"),
           "LoKr": ("lokr_w1|lokr_w1_a", "lokr_w1|lokr_w1_b", "lokr_w2|lokr_w2_a", "lokr_w2|lokr_w2_b")}
_RANK_PAIRS = {"LoRA": (("lora_down.weight", 0, "lora_up.weight", 1),),
               "LoHa": (("hada_w1_b", 0, "hada_w1_a", 1), ("hada_w2_b", 0, "hada_w2_a", 1)),
               "LoKr": (("lokr_w1_b", 0, "lokr_w1_a", 1), ("lokr_w2_b", 0, "lokr_w2_a", 1))}
_TUCKER = ("lora_mid.weight", "hada_t1", "hada_t2", "lokr_t2")  # a Tucker core changes the factors' layout


def _damage(kind: str, own: dict[str, list[int]]) -> str | None:
    """What is wrong with one layer's factors, from their shapes: a missing one, or two ranks."""
    base = base_kind(kind)
    if base == "unknown" and set(own) <= {"alpha", "dora_scale"}:
        return f"has only {' and '.join(sorted(own))}, no weights"
    missing = [need.split("|")[-1] for need in _NEEDED.get(base, ()) if not any(k in own for k in need.split("|"))]
    if missing:
        present = next((k for k in own if k not in ("alpha", "dora_scale")), "alpha")
        return f"has {present.removesuffix('.weight')} but no {', '.join(m.removesuffix('.weight') for m in missing)}"
    if any(k in own for k in _TUCKER):
        return None
    for x, i, y, j in _RANK_PAIRS.get("LoRA" if base == "LoCon" else base, ()):
        if x in own and y in own and len(own[x]) > i and len(own[y]) > j and own[x][i] != own[y][j]:
            return (f"has {x.removesuffix('.weight')} of rank {own[x][i]} and {y.removesuffix('.weight')} of rank "
                    f"{own[y][j]}")
    return None


def shapes_by_layer(shapes: dict[str, list[int]]) -> dict[str, dict[str, list[int]]]:
    by_layer: dict[str, dict[str, list[int]]] = {}
    for key, shape in shapes.items():
        name, suffix = key.split(".", 1)
        by_layer.setdefault(name, {})[suffix] = shape
    return by_layer


def layer_problems(shapes: dict[str, list[int]], layers: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """(layers scaled by alpha/rank without an alpha tensor, layer -> what is damaged), from the shapes.

    A LoKr whose w1 and w2 are both whole has no rank: its scale is 1 with or without an alpha."""
    no_alpha, damaged = [], {}
    for name, own in sorted(shapes_by_layer(shapes).items()):
        kind = layers[name]
        problem = _damage(kind, own)
        if problem:
            damaged[name] = problem
        elif base_kind(kind) in ("LoRA", "LoCon", "LoHa", "LoKr") and "alpha" not in own \
                and _rank(kind, own) is not None:
            no_alpha.append(name)
    return no_alpha, damaged


def layer_kinds(shapes: dict[str, list[int]]) -> tuple[dict[str, str], dict[str, int]]:
    """Key -> shape of a kohya-format file to (layer -> type, layer -> rank where the type has one)."""
    layers, ranks = {}, {}
    for name, own in shapes_by_layer(shapes).items():
        kind = _layer_kind(set(own), own)
        layers[name] = kind
        rank = _rank(kind, own)
        if rank is not None:
            ranks[name] = rank
    return layers, ranks


# The width a layer reads, by family: the UNet's cross-attention key/value read the text encoder's output (768 SD
# 1.x CLIP-L, 1024 SD 2.x OpenCLIP-H, 2048 SDXL's two joined); a text-encoder layer's input is its hidden width.
_CROSS_WIDTHS = {768: "sd1", 1024: "sd2", 2048: "sdxl"}
_TEXT_WIDTHS = {768: "sd1", 1024: "sd2"}
_TEXT_LAYERS = ("_q_proj", "_k_proj", "_v_proj", "_out_proj", "_fc1")
_IN_FACTORS = ("lora_down.weight", "hada_w1_b", "hada_w2_b", "diff")  # (rank or out, in): in is the input width
# sd-scripts names SDXL UNet layers in the original layout (input_blocks_4_1_...); only SDXL has transformer
# blocks past the first in one attention (2 and 10 per block)
_ORIGINAL_UNET = re.compile(r"^lora_unet_(input_blocks|middle_block|output_blocks)_")
_DEEP_TRANSFORMER = re.compile(r"_transformer_blocks_[1-9]")


def guess_family(shapes: dict[str, list[int]]) -> str | None:
    """sd1, sd2 or sdxl from a LoRA's key names and input widths, None when they do not tell (a tiny test model,
    a LoKr whose factors hide the width)."""
    names = {key.split(".", 1)[0] for key in shapes}
    if any(name.startswith(("lora_te1_", "lora_te2_")) for name in names):
        return "sdxl"
    for key, shape in shapes.items():
        name, _, suffix = key.partition(".")
        if suffix not in _IN_FACTORS or len(shape) != 2:
            continue
        if name.startswith("lora_unet_") and name.endswith(("attn2_to_k", "attn2_to_v")) and shape[1] in _CROSS_WIDTHS:
            return _CROSS_WIDTHS[shape[1]]
        if name.startswith("lora_te_") and name.endswith(_TEXT_LAYERS) and shape[1] in _TEXT_WIDTHS:
            return _TEXT_WIDTHS[shape[1]]
    unet = [name for name in names if name.startswith("lora_unet_")]
    if any(_DEEP_TRANSFORMER.search(name) for name in unet):
        return "sdxl"
    # the original layout with an SD 1.x/2.x text encoder (lora_te_) is some other tool's SD 1.x/2.x naming
    if not any(name.startswith("lora_te_") for name in names) and any(_ORIGINAL_UNET.search(n) for n in unet):
        return "sdxl"
    return None
