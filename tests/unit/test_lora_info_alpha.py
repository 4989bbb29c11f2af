"""`loratui lora info` shows the alpha loaders apply, read from the alpha tensors' few bytes (not the
metadata's ss_network_alpha, which no loader reads), per layer type when linear and conv layers differ, and
warns when the metadata says otherwise. Also: a header over safetensors' 100 MB limit is named as such."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from safetensors.numpy import save_file

from fixtures.cli_run import run_main
from loratui.core.config import describe_lora, read_lora_info
from loratui.core.errors import LoratuiError

UNET = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q"
TE = "lora_te_text_model_encoder_layers_0_self_attn_q_proj"
CONV = "lora_unet_down_blocks_0_resnets_0_conv1"


def _lora(name, rank, alpha, dtype=np.float32, conv=False):
    down = (rank, 8, 3, 3) if conv else (rank, 32)
    up = (8, rank, 1, 1) if conv else (32, rank)
    out = {f"{name}.lora_down.weight": np.zeros(down, np.float16), f"{name}.lora_up.weight": np.zeros(up, np.float16)}
    if alpha is not None:
        out[f"{name}.alpha"] = np.asarray(alpha, dtype=dtype)
    return out


def _write(path, tensors, metadata=None):
    save_file(tensors, str(path), metadata=metadata)
    return path


def test_the_tensors_alpha_is_shown_not_the_metadata(tmp_path, capsys):
    """lies2: rank 8, alpha tensor 8 (scale 1) but ss_network_alpha "1"."""
    path = _write(tmp_path / "lies.safetensors", _lora(UNET, 8, 8.0), {"ss_network_alpha": "1", "ss_network_dim": "8"})
    info = read_lora_info(path)
    assert info.alpha == 8.0 and info.alpha_summary() == "8"
    text = describe_lora(info)
    assert any(line.split()[:2] == ["alpha", "8"] for line in text)
    assert any(line.split()[:3] == ["metadata", "alpha", "1"] for line in text)
    warning = next(line for line in text if line.startswith("warning:"))
    assert "ss_network_alpha is 1 but the alpha tensors of its 1 linear layer hold 8" in warning
    assert "8x the strength" in warning
    code, out, _ = run_main(["lora", "info", path, "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["alpha"] == 8.0 and data["alpha_metadata"] == 1.0 and data["alpha_summary"] == "8"
    assert data["alpha_values"] == {"8": 1} and data["alpha_linear"] == 8.0 and data["alpha_conv"] is None


def test_no_metadata_still_has_the_alpha(tmp_path):
    info = read_lora_info(_write(tmp_path / "nometa.safetensors", _lora(UNET, 4, 1.0) | _lora(TE, 4, 1.0)))
    assert info.alpha == 1.0 and info.to_dict()["alpha"] == 1.0 and info.warnings() == []


def test_linear_and_conv_alphas_are_shown_apart(tmp_path):
    """A LoCon trained with network_alpha 2 and conv_alpha 1: both as the metadata says, no warning."""
    tensors = _lora(UNET, 4, 2.0, np.dtype("float16")) | _lora(CONV, 4, 1.0, np.dtype("float16"), conv=True)
    meta = {"ss_network_alpha": "2.0", "ss_network_args": json.dumps({"conv_dim": "4", "conv_alpha": "1.0"})}
    info = read_lora_info(_write(tmp_path / "locon.safetensors", tensors, meta))
    assert info.alpha is None and info.alpha_summary() == "2 (linear), 1 (conv)"
    assert info.to_dict()["alpha_linear"] == 2.0 and info.to_dict()["alpha_conv"] == 1.0
    assert info.warnings() == []
    # the conv layers' tensors against conv_alpha
    meta["ss_network_args"] = json.dumps({"conv_dim": "4", "conv_alpha": "4"})
    info = read_lora_info(_write(tmp_path / "locon2.safetensors", tensors, meta))
    assert [w for w in info.warnings() if "conv_alpha (ss_network_args) is 4" in w and "conv layer hold 1" in w]


def test_a_flat_lycoris_conv_layer_is_told_by_its_name(tmp_path):
    loha = {f"{CONV}.hada_w1_a": np.zeros((8, 2), np.float16), f"{CONV}.hada_w1_b": np.zeros((2, 72), np.float16),
            f"{CONV}.hada_w2_a": np.zeros((8, 2), np.float16), f"{CONV}.hada_w2_b": np.zeros((2, 72), np.float16),
            f"{CONV}.alpha": np.asarray(1.0, np.float16)}
    info = read_lora_info(_write(tmp_path / "loha.safetensors", loha | _lora(UNET, 4, 2.0)))
    assert CONV in info.conv_layers and info.alpha_summary() == "2 (linear), 1 (conv)"


@pytest.mark.parametrize("dtype, shape", [
    ("float32", ()), ("float16", ()), ("float64", (1,)), ("int64", ()), ("int8", (1, 1)), ("bfloat16", ()),
])
def test_alpha_dtypes_and_one_element_shapes(tmp_path, dtype, shape):
    path = tmp_path / "a.safetensors"
    if dtype == "bfloat16":  # numpy has no bf16: write the header by hand (2.5 = 0x4020)
        tensors = _lora(UNET, 4, None)
        save_file(tensors, str(path))
        _append_bf16_alpha(path, f"{UNET}.alpha", 0x4020)
    else:
        _write(path, _lora(UNET, 4, np.full(shape, 2.5 if "float" in dtype else 3), np.dtype(dtype)))
    expected = 2.5 if "float" in dtype else 3.0
    assert read_lora_info(path).alpha == expected


def _append_bf16_alpha(path, key, bits):
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + length])
    data = raw[8 + length:]
    header[key] = {"dtype": "BF16", "shape": [], "data_offsets": [len(data), len(data) + 2]}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + data + struct.pack("<H", bits))


def test_mixed_missing_zero_and_unreadable_alphas(tmp_path):
    tensors = _lora(UNET, 8, 4.0) | _lora(TE, 8, None) | _lora("lora_te_b", 8, 0.0) \
        | _lora("lora_te_c", 8, [1.0, 2.0])
    info = read_lora_info(_write(tmp_path / "odd.safetensors", tensors, {"ss_network_alpha": "4"}))
    assert info.applied_alphas() == {UNET: 4.0, TE: 8.0, "lora_te_b": 0.0}  # missing: alpha = rank
    assert info.alpha is None
    assert sorted(info.alpha_summary().split(", ")) == ["0 (1 layer)", "4 (1 layer)", "8 (1 layer)"]
    warnings = "\n".join(info.warnings())
    assert "1 of 4 layers has alpha 0 (e.g. lora_te_b), which loaders read two ways" in warnings
    assert "not one number" in warnings and "lora_te_c" in warnings
    assert "ss_network_alpha is 4 but the alpha tensors of 1 of its 2 linear layers hold 0" in warnings


def test_many_alpha_values_are_a_range(tmp_path):
    tensors = {}
    for i in range(6):
        tensors |= _lora(f"lora_unet_l{i}", 4, float(i + 1))
    info = read_lora_info(_write(tmp_path / "range.safetensors", tensors))
    assert info.alpha_summary() == "1..6 (6 values over 6 layers)"


def test_a_header_over_the_safetensors_limit_says_so(tmp_path):
    """safetensors refuses a header over 100,000,000 bytes ("header too large"): not "download it again"."""
    header = {"__metadata__": {"ss_tag_frequency": ""}, f"{UNET}.alpha": {"dtype": "F32", "shape": [],
                                                                          "data_offsets": [0, 4]}}
    text = json.dumps(header).encode()
    header["__metadata__"]["ss_tag_frequency"] = "x" * (100_000_008 - len(text))
    text = json.dumps(header).encode()
    path = tmp_path / "huge.safetensors"
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(text)))
        handle.write(text)
        handle.write(b"\0" * 4)
    with pytest.raises(LoratuiError) as caught:
        read_lora_info(path)
    message = str(caught.value)
    assert "over the 100 MB limit of safetensors" in message and "refuse it too" in message
    assert "download it again" not in message and "\n" not in message
    # a length past the end of the file is still the does-not-fit case
    path.write_bytes(struct.pack("<Q", 200_000_000) + b"{}")
    with pytest.raises(LoratuiError, match="do not give a header length that fits the file"):
        read_lora_info(path)
