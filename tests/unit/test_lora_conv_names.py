"""`lora info` tells a UNet 3x3 conv layer (kohya's conv_dim / conv_alpha) from a linear one by its name when
the factors are flat (LoHa, LoKr without Tucker), in both layouts sd-scripts writes: diffusers' names (SD 1.x/2.x)
and the original UNet's (SDXL: ``input_blocks_1_0_in_layers_2``). The reviewer's repro: an SDXL LoHa with conv
alpha 1 and linear alpha 8 was shown as "1 (4 layers), 8 (2 layers)" with a false ss_network_alpha warning.

core may not import engine, so core's lora_layers keeps its own pattern; the test here builds every conv and linear
layer of an SD 1.5 and an SDXL UNet from engine/unet_names.py's mapping so the two cannot drift. 1x1 convs
(the resnets' skip connection, SD 1.x's proj_in/out) take network_alpha, as in sd-scripts' networks/lora.py
and lycoris-lora."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import save_file

from fixtures.cli_run import run_main
from loratui.core.config import describe_lora, read_lora_info
from loratui.engine.unet_names import to_original_name, unet_prefix_map

SD15 = {"layers_per_block": 2,
        "down_block_types": ["CrossAttnDownBlock2D"] * 3 + ["DownBlock2D"],
        "up_block_types": ["UpBlock2D"] + ["CrossAttnUpBlock2D"] * 3}
SDXL = {"layers_per_block": 2,
        "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
        "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"]}
ATTENTION_LINEARS = ("proj_in", "proj_out", "transformer_blocks.0.attn1.to_q", "transformer_blocks.0.attn2.to_k",
                     "transformer_blocks.0.attn1.to_out.0", "transformer_blocks.0.ff.net.0.proj",
                     "transformer_blocks.0.ff.net.2")


def unet_modules(config) -> tuple[set[str], set[str]]:
    """(the 3x3 convs, the linear layers and 1x1 convs) of a UNet, as dotted diffusers module names."""
    conv, linear = {"conv_in", "conv_out"}, set()
    for prefix in unet_prefix_map(config):
        if ".resnets." in prefix:
            conv |= {f"{prefix}.conv1", f"{prefix}.conv2"}
            linear |= {f"{prefix}.conv_shortcut", f"{prefix}.time_emb_proj"}
        elif prefix.endswith("samplers.0.conv"):
            conv.add(prefix)
        elif ".attentions." in prefix:
            linear |= {f"{prefix}.{child}" for child in ATTENTION_LINEARS}
        elif prefix.startswith(("time_embedding.", "add_embedding.")):
            linear.add(prefix)
    return conv, linear


def kohya(name: str, prefix_map: dict[str, str] | None = None) -> str:
    """The kohya key of a diffusers module name; in the original layout when given its prefix map."""
    return "lora_unet_" + (to_original_name(name, prefix_map) if prefix_map else name).replace(".", "_")


def loha(name: str, rank: int, alpha: float, k: int = 1) -> dict:
    flat = (rank, 8 * k * k)  # lycoris-lora flattens a conv's kernel into hada_w*_b without use_tucker
    return {f"{name}.hada_w1_a": np.zeros((8, rank), np.float16), f"{name}.hada_w1_b": np.zeros(flat, np.float16),
            f"{name}.hada_w2_a": np.zeros((8, rank), np.float16), f"{name}.hada_w2_b": np.zeros(flat, np.float16),
            f"{name}.alpha": np.asarray(alpha, np.float16)}


def lokr(name: str, rank: int, alpha: float, k: int = 1) -> dict:
    """A low-rank LoKr layer (whole w1, w2 split in two): flat, so only its name says conv."""
    return {f"{name}.lokr_w1": np.zeros((4, 4), np.float16), f"{name}.lokr_w2_a": np.zeros((8, rank), np.float16),
            f"{name}.lokr_w2_b": np.zeros((rank, 8 * k * k), np.float16), f"{name}.alpha": np.asarray(alpha, np.float16)}


def locon(name: str, rank: int, alpha: float, k: int = 1) -> dict:
    down = (rank, 8, k, k) if k > 1 or "skip_connection" in name else (rank, 8)
    up = (8, rank, 1, 1) if len(down) == 4 else (8, rank)
    return {f"{name}.lora_down.weight": np.zeros(down, np.float16),
            f"{name}.lora_up.weight": np.zeros(up, np.float16), f"{name}.alpha": np.asarray(alpha, np.float16)}


@pytest.mark.parametrize("config", [SD15, SDXL], ids=["sd15", "sdxl"])
@pytest.mark.parametrize("layout", ["diffusers", "original"])
def test_every_unet_conv_is_told_by_its_name_in_both_layouts(tmp_path, config, layout):
    prefix_map = unet_prefix_map(config) if layout == "original" else None
    conv, linear = unet_modules(config)
    convs, linears = {kohya(n, prefix_map) for n in conv}, {kohya(n, prefix_map) for n in linear}
    assert len(convs) == len(conv) and len(linears) == len(linear) and not convs & linears
    tensors = {}
    for name in convs:
        tensors |= loha(name, 2, 1.0, k=3)
    for name in linears:
        tensors |= loha(name, 2, 8.0)
    path = tmp_path / "all.safetensors"
    save_file(tensors, str(path))
    info = read_lora_info(path)
    assert sorted(convs - info.conv_layers) == [] and sorted(info.conv_layers - convs) == []
    assert info.alpha_summary() == "8 (linear), 1 (conv)"


def test_the_1x1_skip_connection_takes_the_linear_alpha():
    _, linear = unet_modules(SDXL)
    skips = {kohya(n, unet_prefix_map(SDXL)) for n in linear if n.endswith("conv_shortcut")}
    assert skips and all(name.endswith("_skip_connection") for name in skips)


SDXL_META = {"ss_network_module": "lycoris.kohya", "ss_network_dim": "8", "ss_network_alpha": "8",
             "ss_base_model_version": "sdxl_base_v1-0"}
SDXL_CONVS = ["lora_unet_input_blocks_1_0_in_layers_2", "lora_unet_input_blocks_1_0_out_layers_3",
              "lora_unet_input_blocks_3_0_op", "lora_unet_output_blocks_2_2_conv", "lora_unet_middle_block_0_in_layers_2",
              "lora_unet_input_blocks_0_0", "lora_unet_out_2"]
SDXL_LINEARS = ["lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q",
                "lora_unet_input_blocks_4_1_proj_in", "lora_unet_input_blocks_4_0_skip_connection",
                "lora_unet_input_blocks_4_0_emb_layers_1"]


@pytest.mark.parametrize("algo, make", [("loha", loha), ("lokr", lokr), ("locon", locon)])
def test_an_sdxl_lycoris_file_shows_linear_and_conv_alpha_without_a_false_warning(tmp_path, capsys, algo, make):
    """The reviewer's repro (/tmp/s11/r1/lora/mk.py) for LoHa, a low-rank LoKr and a LoCon."""
    tensors = {}
    for name in SDXL_CONVS:
        tensors |= make(name, 4, 1.0, k=3)
    for name in SDXL_LINEARS:
        tensors |= make(name, 8, 8.0)
    meta = SDXL_META | {"ss_network_args": json.dumps({"algo": algo, "conv_dim": "4", "conv_alpha": "1"})}
    path = tmp_path / f"sdxl_{algo}.safetensors"
    save_file(tensors, str(path), metadata=meta)
    info = read_lora_info(path)
    assert info.conv_layers == set(SDXL_CONVS)
    assert info.alpha_summary() == "8 (linear), 1 (conv)" and info.warnings() == []
    assert not [line for line in describe_lora(info) if line.startswith("warning:")]
    code, out, _ = run_main(["lora", "info", path, "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["alpha_linear"] == 8.0 and data["alpha_conv"] == 1.0 and data["warnings"] == []
    # a conv tensor off conv_alpha is still named against conv_alpha, not ss_network_alpha
    meta["ss_network_args"] = json.dumps({"algo": algo, "conv_dim": "4", "conv_alpha": "4"})
    save_file(tensors, str(path), metadata=meta)
    warnings = read_lora_info(path).warnings()
    assert len(warnings) == 1 and "conv_alpha (ss_network_args) is 4" in warnings[0]
    assert f"its {len(SDXL_CONVS)} conv layers hold 1" in warnings[0]


def test_text_encoder_names_that_look_like_conv_names_are_linear(tmp_path):
    name = "lora_te1_text_model_encoder_layers_0_out_2"  # not a UNet key: never a conv
    path = tmp_path / "te.safetensors"
    save_file(loha(name, 2, 1.0), str(path))
    assert read_lora_info(path).conv_layers == set()
