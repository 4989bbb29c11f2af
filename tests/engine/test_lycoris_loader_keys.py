"""Every LyCORIS file loratui writes has what ComfyUI's and AUTOMATIC1111's LoRA loaders read.

Neither loader is installed here, so this test states their rules (facts read from their sources, checked
2025; code of our own) and holds every saved file, each type on the tiny SD1 and SDXL models, to them:

Module names (a file module that maps to nothing is silently skipped by both):
- ComfyUI comfy/lora.py ``model_lora_keys_unet``: ``lora_unet_`` + the original (ldm) UNet key without
  ``.weight``, dots as ``_`` (SDXL, and SD1 too), and ``lora_unet_`` + the diffusers name through
  comfy/utils.py ``unet_to_diffusers`` (conv_in, conv_out, time_embedding included: UNET_MAP_BASIC);
  ``model_lora_keys_clip``: ``lora_te_`` / ``lora_te1_`` / ``lora_te2_`` + ``text_model_encoder_layers_N_``
  + mlp_fc1 | mlp_fc2 | self_attn_{q,k,v,out}_proj (LORA_CLIP_MAP), nothing else of CLIP.
- A1111 extensions-builtin/Lora/networks.py ``convert_diffusers_name_to_compvis``: SD1/SD2 diffusers-style
  names by pattern (conv_in, conv_out, time_embedding_linear_N, {down,up}_blocks_N_{attentions,resnets}_N_,
  mid_block_{attentions,resnets}_N_, {down,up}_blocks_N_{down,up}samplers_0_conv; resnet parts conv1, conv2,
  norm1, norm2, time_emb_proj, conv_shortcut), ``lora_te_text_model_encoder_layers_N_``; SDXL: ``lora_unet``
  replaced by ``diffusion_model`` (original names), ``lora_te1_text_model`` and
  ``lora_te2_text_model_encoder_layers_N_``.
Key suffixes (after the module name and one dot):
- alpha and dora_scale for any low-rank module: ComfyUI comfy/lora.py ``load_lora``; A1111 network.py
  ``NetworkModule.__init__`` (``weights.w.get("dora_scale")``).
- LoRA/LoCon lora_up.weight + lora_down.weight (+ lora_mid.weight): ComfyUI comfy/weight_adapter/lora.py,
  A1111 network_lora.py (needs both up and down).
- LoHa hada_w1_a, hada_w1_b, hada_w2_a, hada_w2_b (+ hada_t1, hada_t2): ComfyUI weight_adapter/loha.py,
  A1111 network_hada.py (needs all four w).
- LoKr lokr_w1 or lokr_w1_a + lokr_w1_b, lokr_w2 or lokr_w2_a + lokr_w2_b, lokr_t2: ComfyUI
  weight_adapter/lokr.py, A1111 network_lokr.py (needs a whole w1 and a whole w2).
- full diff (+ diff_b): ComfyUI comfy/lora.py; A1111 network_full.py (``diff`` required, ``diff_b`` read).
- norms (train_norm) w_norm + b_norm: ComfyUI comfy/lora.py; A1111 network_norm.py.
Both rebuild the update and reshape it to the layer's weight, so the factors' shapes must multiply out to
the layer's (checked below for every module).
"""

from __future__ import annotations

import math
import re

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from loratui.engine.network import inject_lora, save_lora
from loratui.engine.unet_names import to_original_name, unet_prefix_map
from test_lycoris import TYPES, _base, _lyco, _model_dir

LORA_KEYS = {"lora_up.weight", "lora_down.weight", "lora_mid.weight"}
LOHA_KEYS = {"hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b", "hada_t1", "hada_t2"}
LOKR_KEYS = {"lokr_w1", "lokr_w1_a", "lokr_w1_b", "lokr_w2", "lokr_w2_a", "lokr_w2_b", "lokr_t2"}
LOW_RANK_EXTRA = {"alpha", "dora_scale"}
FULL_KEYS = {"diff", "diff_b"}
NORM_KEYS = {"w_norm", "b_norm"}

CLIP_PART = r"text_model_encoder_layers_\d+_(mlp_fc1|mlp_fc2|self_attn_(q|k|v|out)_proj)"
A1111_SD1_UNET = re.compile(
    r"lora_unet_(conv_in|conv_out|time_embedding_linear_\d+"
    r"|(down|up)_blocks_\d+_attentions_\d+_.+|mid_block_attentions_\d+_.+"
    r"|(down|up)_blocks_\d+_resnets_\d+_(conv1|conv2|norm1|norm2|time_emb_proj|conv_shortcut)"
    r"|mid_block_resnets_\d+_(conv1|conv2|norm1|norm2|time_emb_proj|conv_shortcut)"
    r"|down_blocks_\d+_downsamplers_0_conv|up_blocks_\d+_upsamplers_0_conv)$")
TE_PREFIXES = {"sd1": ("lora_te_",), "sdxl": ("lora_te1_", "lora_te2_")}


def _loader_names(family, base) -> dict[str, nn.Module]:
    """The module names the two loaders resolve on ``base``, each to its layer."""
    names = {}
    if family == "sd1":  # diffusers-style names (A1111's patterns, ComfyUI's unet_to_diffusers)
        for path, module in base.unet.named_modules():
            names["lora_unet_" + path.replace(".", "_")] = module
    else:  # original names: lora_unet_ + the ldm key (ComfyUI), lora_unet -> diffusion_model (A1111)
        prefix_map = unet_prefix_map(base.unet.config)
        for path, module in base.unet.named_modules():
            if isinstance(module, (nn.Linear, nn.Conv2d, nn.GroupNorm, nn.LayerNorm)):
                names["lora_unet_" + to_original_name(path, prefix_map).replace(".", "_")] = module
    for prefix, encoder in zip(TE_PREFIXES[family], base.text_encoders):
        for path, module in encoder.named_modules():  # transformers 5 dropped the text_model level
            path = path[len("text_model."):] if path.startswith("text_model.") else path
            names[prefix + "text_model_" + path.replace(".", "_")] = module
    return names


def test_sdxl_original_names_are_diffusers_own_conversion(tiny_sdxl_dir):
    """The ldm names used above are what diffusers' own single-file converter reads back (the layout
    SDXL checkpoints, ComfyUI and A1111 use), so the SDXL name check does not rest on loratui's table."""
    from diffusers.loaders.single_file_utils import convert_ldm_unet_checkpoint

    unet = _base(tiny_sdxl_dir).unet
    prefix_map = unet_prefix_map(unet.config)
    ours = unet.state_dict()
    ldm = {"model.diffusion_model." + to_original_name(k, prefix_map): v for k, v in ours.items()}
    back = convert_ldm_unet_checkpoint(ldm, dict(unet.config))
    assert set(back) == set(ours)
    assert all(torch.equal(back[k], ours[k]) for k in ours)


def _rebuilt_numel(kind: str, w: dict[str, torch.Tensor]) -> tuple[int, int]:
    """(rows, elements) of the update a loader rebuilds from one module's factors."""
    if kind == "lora":
        up, down = w["lora_up.weight"], w["lora_down.weight"]
        mid = w.get("lora_mid.weight")
        spatial = math.prod(mid.shape[2:]) if mid is not None else math.prod(down.shape[2:])
        assert up.shape[1] == down.shape[0]
        return up.shape[0], up.shape[0] * down.shape[1] * spatial
    if kind == "loha":
        if "hada_t1" in w:  # (r, out), (r, in), t (r, r, k, k)
            t = w["hada_t1"]
            assert w["hada_t2"].shape == t.shape
            return w["hada_w1_a"].shape[1], w["hada_w1_a"].shape[1] * w["hada_w1_b"].shape[1] * math.prod(t.shape[2:])
        a1, b1, a2, b2 = (w[k] for k in ("hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b"))
        assert a1.shape == a2.shape and b1.shape == b2.shape and a1.shape[1] == b1.shape[0]
        return a1.shape[0], a1.shape[0] * b1.shape[1]
    # lokr: kron(w1, w2)
    w1 = w.get("lokr_w1")
    w1_shape = tuple(w1.shape) if w1 is not None else (w["lokr_w1_a"].shape[0], w["lokr_w1_b"].shape[1])
    if "lokr_w2" in w:
        w2_rows, w2_cols = w["lokr_w2"].shape[0], math.prod(w["lokr_w2"].shape[1:])
    elif "lokr_t2" in w:
        w2_rows = w["lokr_w2_a"].shape[1]
        w2_cols = w["lokr_w2_b"].shape[1] * math.prod(w["lokr_t2"].shape[2:])
    else:
        w2_rows, w2_cols = w["lokr_w2_a"].shape[0], w["lokr_w2_b"].shape[1]
    return w1_shape[0] * w2_rows, w1_shape[0] * w1_shape[1] * w2_rows * w2_cols


def _check_module(name: str, keys: dict[str, torch.Tensor], layer: nn.Module) -> str | None:
    """What a loader would refuse or skip in one module's tensors; None when all of it is read."""
    suffixes = set(keys)
    if suffixes & NORM_KEYS:
        if not isinstance(layer, (nn.GroupNorm, nn.LayerNorm)) or suffixes != NORM_KEYS:
            return f"norm keys {sorted(suffixes)} on a {type(layer).__name__}"
        return None if keys["w_norm"].shape == layer.weight.shape else "w_norm shape"
    if not isinstance(layer, (nn.Linear, nn.Conv2d)):
        return f"{sorted(suffixes)} on a {type(layer).__name__}, not a Linear/Conv2d"
    weight = layer.weight
    if suffixes & FULL_KEYS:
        if "diff" not in suffixes or suffixes - FULL_KEYS:
            return f"full keys {sorted(suffixes)}"
        if keys["diff"].shape != weight.shape:
            return "diff shape"
        if "diff_b" in keys and (layer.bias is None or keys["diff_b"].shape != layer.bias.shape):
            return "diff_b shape"
        return None
    for kind, algo_keys, needed in (("lora", LORA_KEYS, [{"lora_up.weight", "lora_down.weight"}]),
                                    ("loha", LOHA_KEYS, [{"hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b"}]),
                                    ("lokr", LOKR_KEYS, None)):
        if suffixes & algo_keys:
            break
    else:
        return f"no loader reads {sorted(suffixes)}"
    if suffixes - algo_keys - LOW_RANK_EXTRA:
        return f"unread keys {sorted(suffixes - algo_keys - LOW_RANK_EXTRA)} beside {kind}"
    if "alpha" not in suffixes:
        return "no alpha"
    if kind == "lokr":
        has_1 = "lokr_w1" in suffixes or {"lokr_w1_a", "lokr_w1_b"} <= suffixes
        has_2 = "lokr_w2" in suffixes or {"lokr_w2_a", "lokr_w2_b"} <= suffixes
        if not (has_1 and has_2):
            return "A1111 needs a whole w1 and w2"
    elif not needed[0] <= suffixes:
        return f"missing {sorted(needed[0] - suffixes)}"
    rows, numel = _rebuilt_numel(kind, keys)
    if rows != weight.shape[0] or numel != weight.numel():
        return f"rebuilds {rows} rows / {numel} elements for a weight of shape {tuple(weight.shape)}"
    if "dora_scale" in keys and keys["dora_scale"].numel() not in (weight.shape[0], weight.shape[1]):
        return "dora_scale is neither per output nor per input feature"
    return None


@pytest.mark.parametrize("family", ["sd1", "sdxl"])
def test_every_saved_type_is_read_whole_by_comfyui_and_a1111(family, tiny_sd1_dir, tiny_sdxl_dir, tmp_path):
    base = _base(_model_dir(family, tiny_sd1_dir, tiny_sdxl_dir))
    loader = _loader_names(family, base)
    problems = []
    for kind in TYPES:
        network = inject_lora(base, _lyco(kind))
        path = tmp_path / f"{family}-{kind}.safetensors"
        try:
            save_lora(path, network, {"ss_network_module": "lycoris.kohya"}, save_precision="fp16")
        finally:
            network.restore()
        saved = load_file(str(path))
        modules: dict[str, dict[str, torch.Tensor]] = {}
        for key, value in saved.items():
            module, suffix = key.split(".", 1)
            modules.setdefault(module, {})[suffix] = value
        for module, keys in modules.items():
            if module not in loader:
                problems.append(f"{kind}: {module} names no layer of the {family} model")
                continue
            if module.startswith("lora_te"):
                if not any(re.fullmatch(re.escape(p) + CLIP_PART, module) for p in TE_PREFIXES[family]):
                    problems.append(f"{kind}: {module} is outside ComfyUI's CLIP key map")
            elif family == "sd1" and not A1111_SD1_UNET.match(module):
                problems.append(f"{kind}: {module} matches none of A1111's SD1 name patterns")
            problem = _check_module(module, keys, loader[module])
            if problem:
                problems.append(f"{kind}: {module}: {problem}")
    assert not problems, "\n".join(problems[:20])


def test_the_rules_catch_what_a_loader_would_skip():
    layer = nn.Linear(8, 6)
    good = {"alpha": torch.tensor(1.0), "hada_w1_a": torch.zeros(6, 2), "hada_w1_b": torch.zeros(2, 8),
            "hada_w2_a": torch.zeros(6, 2), "hada_w2_b": torch.zeros(2, 8)}
    assert _check_module("m", good, layer) is None
    assert "missing" in _check_module("m", {k: v for k, v in good.items() if k != "hada_w2_b"}, layer)
    assert "unread" in _check_module("m", {**good, "lokr_w1": torch.zeros(2, 2)}, layer)
    assert "rebuilds" in _check_module("m", {**good, "hada_w1_b": torch.zeros(2, 4), "hada_w2_b": torch.zeros(2, 4)},
                                       layer)
    assert "whole w1" in _check_module("m", {"alpha": torch.tensor(1.0), "lokr_w1_a": torch.zeros(2, 2),
                                             "lokr_w2": torch.zeros(3, 4)}, layer)
    assert "not a Linear" in _check_module("m", good, nn.GroupNorm(2, 6))
    assert _check_module("m", {"diff": torch.zeros(6, 8), "diff_b": torch.zeros(6)}, layer) is None
