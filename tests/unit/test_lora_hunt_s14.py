"""The h2 hunt on `loratui lora` (s14): Tucker LoCon is not diffusers-ready; OFT/BOFT/GLoRA/IA3 are named and
refused by convert before a base model loads; a NaN/inf alpha gives strict JSON; the base model is guessed from
the keys; fp8 alphas are read; an fp8 source converts to fp16 by default. Header-level: no torch needed."""

from __future__ import annotations

import json
import math
import struct

import numpy as np
import pytest
from safetensors.numpy import save_file

from fixtures.cli_run import run_main
from loratui.commands.lora_cmd import output_precision
from loratui.core.config import describe_lora, read_lora_info
from loratui.core.config.model_check import safetensors_header, safetensors_scalars

TE = "lora_te_text_model_encoder_layers_0_self_attn_q_proj"
CONV = "lora_unet_down_blocks_0_resnets_0_conv1"


def _write(path, tensors, metadata=None):
    save_file({k: np.zeros(v, np.float16) if isinstance(v, tuple) else v for k, v in tensors.items()}, str(path),
              metadata=metadata)
    return path


def _lora(name, rank=4, width=32, alpha=2.0):
    return {f"{name}.lora_down.weight": (rank, width), f"{name}.lora_up.weight": (width, rank),
            f"{name}.alpha": np.asarray(alpha, np.float32)}


def test_a_tucker_locon_layer_is_not_diffusers_ready(tmp_path):
    """lora_mid (LoCon's use_tucker): diffusers refuses the key, so the file is converted, not copied."""
    path = _write(tmp_path / "lt.safetensors", {
        **_lora(TE), f"{CONV}.lora_down.weight": (4, 8, 1, 1), f"{CONV}.lora_mid.weight": (4, 4, 3, 3),
        f"{CONV}.lora_up.weight": (8, 4, 1, 1), f"{CONV}.alpha": np.asarray(2.0, np.float32)})
    info = read_lora_info(path)
    assert info.layers[CONV] == "Tucker LoCon" and info.ranks[CONV] == 4 and not info.damaged
    assert not info.plain_lora and not info.diffusers_ready
    assert "loratui lora convert lt.safetensors" in info.loads_in and "diffusers" not in info.loads_in.split(";")[0]
    assert info.unconverted_message() is None


OFT = {"lora_unet_a.oft_blocks": (16, 4, 4), "lora_unet_a.alpha": np.asarray(0.001, np.float32)}
BOFT = {"lora_unet_a.oft_blocks": (5, 16, 4, 4), "lora_unet_a.alpha": np.asarray(0.001, np.float32)}
OLD_OFT = {"lora_unet_a.oft_diag": (16, 4, 4)}
GLORA = {"lora_unet_a.a1.weight": (32, 4), "lora_unet_a.a2.weight": (4, 32), "lora_unet_a.b1.weight": (64, 4),
         "lora_unet_a.b2.weight": (4, 32), "lora_unet_a.alpha": np.asarray(4.0, np.float32)}
IA3 = {"lora_unet_a.weight": (64,), "lora_unet_a.on_input": np.asarray(0.0, np.float32)}


@pytest.mark.parametrize("tensors, kind, article", [
    (OFT, "OFT", "an"), (BOFT, "BOFT", "a"), (OLD_OFT, "OFT", "an"), (GLORA, "GLoRA", "a"), (IA3, "IA3", "an"),
    ({"lora_unet_a.weight": (64,)}, "IA3", "an"),
])
def test_lycoris_types_convert_refuses_are_named_and_not_offered(tensors, kind, article, tmp_path, capsys):
    path = _write(tmp_path / "x.safetensors", tensors)
    info = read_lora_info(path)
    assert info.layers == {"lora_unet_a": kind} and not info.damaged
    assert "convert OUT" not in info.loads_in and f"does not convert {kind} layers" in info.loads_in
    assert f"{article} {kind} file; loratui converts LoCon/LoHa/LoKr/DoRA/full only" in info.unconverted_message()
    # refused before the base model loads (--model does not even exist) and before torch is imported
    code, out, err = run_main(["lora", "convert", path, tmp_path / "o.safetensors", "--model", tmp_path / "nope"],
                              capsys)
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"error: {path}: {article} {kind} file; loratui converts LoCon/LoHa/LoKr/DoRA/full only")
    assert not (tmp_path / "o.safetensors").exists()
    code, out, _ = run_main(["lora", "convert", path, tmp_path / "o.safetensors", "--model", "x", "--json"], capsys)
    assert code == 2 and f"{kind} file" in json.loads(out)["error"]


def test_a_mixed_file_names_the_layers_convert_refuses(tmp_path):
    path = _write(tmp_path / "mix.safetensors", {**_lora(TE), **IA3})
    message = read_lora_info(path).unconverted_message()
    assert "1 of its 2 layers are not converted (1 IA3; e.g. lora_unet_a)" in message


@pytest.mark.parametrize("value, word", [(math.nan, "NaN"), (math.inf, "Infinity")])
def test_a_nan_or_inf_alpha_is_null_in_strict_json(value, word, tmp_path, capsys):
    path = _write(tmp_path / "bad.safetensors", {**_lora(TE, alpha=value), **_lora(CONV.replace("conv1", "x"))},
                  {"ss_network_alpha": "2"})
    code, out, _ = run_main(["lora", "info", path, "--json"], capsys)
    assert code == 0 and f": {word}" not in out
    data = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    assert data["alpha"] is None and data["alpha_warning"] == "alpha is NaN/inf: the file is damaged"
    assert data["alpha_linear"] is None
    text = "\n".join(describe_lora(read_lora_info(path)))
    assert "x the strength" not in text and "alpha is NaN/inf: the file is damaged" in text


def test_a_good_alpha_has_no_alpha_warning(tmp_path, capsys):
    code, out, _ = run_main(["lora", "info", _write(tmp_path / "ok.safetensors", _lora(TE)), "--json"], capsys)
    assert code == 0 and json.loads(out)["alpha_warning"] is None


@pytest.mark.parametrize("tensors, family", [
    ({**_lora("lora_te1_text_model_encoder_layers_0_self_attn_q_proj"),
      **_lora("lora_te2_text_model_encoder_layers_0_self_attn_q_proj"),
      **_lora("lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q")}, "sdxl"),
    (_lora(TE, width=768), "sd1"), (_lora(TE, width=1024), "sd2"),
    (_lora("lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k", width=1024), "sd2"),
    (_lora("lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k", width=2048), "sdxl"),
    (_lora("lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q"), "sdxl"),
    (_lora("lora_unet_down_blocks_2_attentions_0_transformer_blocks_7_attn1_to_q"), "sdxl"),
    (_lora(TE), None),  # a tiny model's width does not tell
])
def test_the_base_model_is_guessed_from_the_keys(tensors, family, tmp_path, capsys):
    path = _write(tmp_path / "g.safetensors", tensors)
    info = read_lora_info(path)
    assert info.family_guess == family
    text = describe_lora(info)
    names = {"sd1": "SD 1.x", "sd2": "SD 2.x", "sdxl": "SDXL", None: ""}
    assert (f"{names[family]} (from the keys)" in "\n".join(text)) == (family is not None)
    code, out, _ = run_main(["lora", "info", path, "--json"], capsys)
    assert code == 0 and json.loads(out)["family_guess"] == family


def test_sdxl_text_encoders_are_counted_apart_and_metadata_wins_the_base_model_line(tmp_path):
    path = _write(tmp_path / "xl.safetensors", {
        **_lora("lora_te1_text_model_encoder_layers_0_self_attn_q_proj"),
        **_lora("lora_te2_text_model_encoder_layers_0_self_attn_q_proj"),
        **_lora("lora_te2_text_model_encoder_layers_1_self_attn_q_proj"),
        **_lora("lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q")},
        {"ss_base_model_version": "sdxl_base_v1-0"})
    info = read_lora_info(path)
    assert info.parts() == {"UNet": 1, "text encoder": 3} and info.text_encoder_parts() == {"te1": 1, "te2": 2}
    assert info.to_dict()["text_encoder_parts"] == {"te1": 1, "te2": 2}
    text = "\n".join(describe_lora(info))
    assert "4 (1 UNet, 3 text encoder (1 te1, 2 te2))" in text and "(from the keys)" not in text


def _fp8_file(path, dtype, byte):
    """A one-layer LoRA whose alpha is one fp8 byte (numpy has no fp8: the header is written by hand)."""
    header = {"lora_unet_a.alpha": {"dtype": dtype, "shape": [], "data_offsets": [0, 1]},
              "lora_unet_a.lora_down.weight": {"dtype": dtype, "shape": [4, 8], "data_offsets": [1, 33]},
              "lora_unet_a.lora_up.weight": {"dtype": dtype, "shape": [8, 4], "data_offsets": [33, 65]}}
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + bytes([byte]) + bytes(64))
    return path


@pytest.mark.parametrize("dtype, byte, value", [
    ("F8_E4M3", 0x40, 2.0), ("F8_E4M3", 0x38, 1.0), ("F8_E4M3", 0xC4, -3.0), ("F8_E4M3", 0x7E, 448.0),
    ("F8_E4M3", 0x01, 2.0 ** -9), ("F8_E4M3", 0x7F, math.nan),
    ("F8_E5M2", 0x40, 2.0), ("F8_E5M2", 0x3C, 1.0), ("F8_E5M2", 0x7B, 57344.0), ("F8_E5M2", 0x01, 2.0 ** -16),
    ("F8_E5M2", 0x7C, math.inf), ("F8_E5M2", 0x7D, math.nan),
])
def test_fp8_alphas_are_decoded_without_torch(dtype, byte, value, tmp_path):
    path = _fp8_file(tmp_path / "f8.safetensors", dtype, byte)
    got = safetensors_scalars(path, safetensors_header(path), ["lora_unet_a.alpha"])["lora_unet_a.alpha"]
    assert got == value or (math.isnan(value) and math.isnan(got))


def test_an_fp8_alpha_is_shown_not_warned_about(tmp_path):
    info = read_lora_info(_fp8_file(tmp_path / "f8.safetensors", "F8_E4M3", 0x40))
    assert info.alpha == 2.0 and not any("not one number" in w for w in info.warnings())


@pytest.mark.parametrize("precision, stored, expected", [
    (None, "F8_E4M3", "fp16"), (None, "F8_E5M2", "fp16"), (None, "F16", "fp16"), (None, "BF16", "bf16"),
    (None, "F32", "float"), ("bf16", "F8_E4M3", "bf16"), ("float", "F16", "float"),
])
def test_convert_precision_default_follows_the_source_and_fp8_gets_fp16(precision, stored, expected):
    assert output_precision(precision, stored) == expected
