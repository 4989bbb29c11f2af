"""core/config/lora_file.py: what `loratui lora info` reads from a LoRA / LyCORIS header (no torch)."""

from __future__ import annotations

import numpy as np
import pytest
from safetensors.numpy import save_file

from loratui.core.config import describe_lora, read_lora_info
from loratui.core.errors import LoratuiError


def _write(path, tensors, metadata=None):
    save_file({k: np.zeros(shape, dtype=np.float16) for k, shape in tensors.items()}, str(path), metadata=metadata)
    return path


def test_types_ranks_parts_and_where_it_loads(tmp_path):
    path = _write(tmp_path / "mix.safetensors", {
        "lora_unet_a.hada_w1_a": (32, 4), "lora_unet_a.hada_w1_b": (4, 32), "lora_unet_a.hada_w2_a": (32, 4),
        "lora_unet_a.hada_w2_b": (4, 32), "lora_unet_a.alpha": (),
        "lora_unet_b.lora_down.weight": (8, 16, 3, 3), "lora_unet_b.lora_up.weight": (16, 8, 1, 1),
        "lora_unet_c.lora_down.weight": (8, 16, 1, 1), "lora_unet_c.lora_up.weight": (16, 8, 1, 1),
        "lora_te1_d.lora_down.weight": (2, 16), "lora_te1_d.lora_up.weight": (16, 2), "lora_te1_d.dora_scale": (16, 1),
        "lora_te2_e.lokr_w1": (4, 4), "lora_te2_e.lokr_w2": (8, 8),
        "lora_unet_f.diff": (16, 16), "lora_unet_f.diff_b": (16,),
    }, {"ss_network_module": "lycoris.kohya", "ss_training_finished_at": "0", "ss_steps": "1200"})
    info = read_lora_info(path)
    assert info.layers == {"lora_unet_a": "LoHa", "lora_unet_b": "LoCon", "lora_unet_c": "LoRA",
                           "lora_te1_d": "DoRA LoRA", "lora_te2_e": "LoKr", "lora_unet_f": "full"}
    assert info.ranks == {"lora_unet_a": 4, "lora_unet_b": 8, "lora_unet_c": 8, "lora_te1_d": 2}
    assert info.parts() == {"UNet": 4, "text encoder": 2}
    assert not info.diffusers_ready and "loratui lora convert mix.safetensors" in info.loads_in
    text = "\n".join(describe_lora(info))
    assert "1970-01-01 00:00 UTC" in text and "1200" in text and "lycoris.kohya" in text
    assert info.to_dict()["types"]["LoHa"] == 1


def test_plain_lora_loads_everywhere_and_no_metadata_is_said(tmp_path):
    path = _write(tmp_path / "plain.safetensors", {"lora_unet_x.lora_down.weight": (4, 8),
                                                   "lora_unet_x.lora_up.weight": (8, 4), "lora_unet_x.alpha": ()})
    info = read_lora_info(path)
    assert info.diffusers_ready and "diffusers" in info.loads_in and "convert" not in info.loads_in
    assert any("no metadata" in line for line in describe_lora(info))


def test_bad_files_are_one_line(tmp_path):
    with pytest.raises(LoratuiError, match="does not exist"):
        read_lora_info(tmp_path / "missing.safetensors")
    model = _write(tmp_path / "model.safetensors", {"conv_in.weight": (4, 4)})
    with pytest.raises(LoratuiError, match="not a kohya-format LoRA.*conv_in.weight"):
        read_lora_info(model)
    (tmp_path / "junk.safetensors").write_bytes(b"\x01" * 64)
    with pytest.raises(LoratuiError, match="junk.safetensors: not a .safetensors file"):
        read_lora_info(tmp_path / "junk.safetensors")
    whole = _write(tmp_path / "cut.safetensors", {"lora_unet_x.lora_down.weight": (64, 64)}).read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(LoratuiError, match="truncated"):
        read_lora_info(tmp_path / "cut.safetensors")


@pytest.mark.parametrize("entry, message", [
    ({"__metadata__": [1, 2]}, "__metadata__ is not a table of texts"),
    ({"__metadata__": {"ss_network_dim": 8}}, "__metadata__ is not a table of texts"),
    ({"k.lora_down.weight": {"dtype": "F16", "shape": [-4, 8], "data_offsets": [0, 64]}}, "has the shape [-4, 8]"),
    ({"k.lora_down.weight": {"dtype": "F16", "shape": "abc", "data_offsets": [0, 64]}}, "has the shape 'abc'"),
    ({"k.lora_down.weight": {"dtype": "Q99", "shape": [4, 8], "data_offsets": [0, 64]}}, "unknown dtype 'Q99'"),
    ({"k.lora_down.weight": {"dtype": "F16", "shape": [4, 10 ** 20], "data_offsets": [0, 64]}}, "has the shape"),
    ({"k.lora_down.weight": {"dtype": "F16", "shape": [4, 4], "data_offsets": [0, 64]}}, "does not fit"),
])
def test_headers_safetensors_would_refuse_are_one_line(tmp_path, entry, message):
    """lora info crashed on a list __metadata__ and reported "ranks -4 ... loads in ComfyUI" for shapes
    safetensors itself refuses."""
    import json
    import struct

    header = {"k.lora_up.weight": {"dtype": "F16", "shape": [8, 4], "data_offsets": [0, 64]}}
    header.update(entry)
    raw = json.dumps(header).encode()
    path = tmp_path / "bad.safetensors"
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + bytes(64))
    with pytest.raises(LoratuiError, match=message.replace("[", r"\[").replace("]", r"\]")):
        read_lora_info(path)


@pytest.mark.parametrize("key", ["unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.lora_A.weight",
                                 "unet.down_blocks.0.attentions.0.processor.to_q_lora.down.weight"])
def test_a_diffusers_lora_is_named_as_one(tmp_path, key):
    """hunt9: a diffusers / PEFT LoRA was "not a kohya-format LoRA/LyCORIS file": it is a LoRA."""
    path = _write(tmp_path / "d.safetensors", {key: (4, 8)})
    with pytest.raises(LoratuiError, match="a diffusers / PEFT-format LoRA"):
        read_lora_info(path)


@pytest.mark.parametrize("head, kind", [(b"PK\x03\x04" + b"\0" * 60, "zip archive"),
                                        (b"\x80\x02}q\x00(X" + b"\0" * 60, "pickle")])
def test_a_pickled_lora_is_named_as_one_not_as_damaged(tmp_path, head, kind):
    path = tmp_path / "l.ckpt"
    path.write_bytes(head)
    with pytest.raises(LoratuiError, match=f"a PyTorch {kind}") as info:
        read_lora_info(path)
    assert "download it again" not in str(info.value)


def test_lokr_rank_and_full_dim_note(tmp_path):
    path = _write(tmp_path / "k.safetensors", {
        "lora_unet_a.lokr_w1": (4, 4), "lora_unet_a.lokr_w2_a": (16, 3), "lora_unet_a.lokr_w2_b": (3, 8),
    })
    assert read_lora_info(path).ranks == {"lora_unet_a": 3}
    full = _write(tmp_path / "f.safetensors", {"lora_unet_a.diff": (4, 4)}, {"ss_network_dim": "8"})
    assert any("8 (not used: a full-matrix update has no rank)" in line for line in describe_lora(read_lora_info(full)))
