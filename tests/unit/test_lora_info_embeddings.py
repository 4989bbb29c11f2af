"""`loratui lora info` on a kohya LoRA with A1111's bundled embeddings (bundle_emb.NAME.string_to_param.*,
or .clip_l/.clip_g for SDXL): read, the embeddings listed with who loads them; any other foreign key is still
refused."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import save_file

from fixtures.cli_run import run_main
from loratui.core.config import describe_lora, read_lora_info
from loratui.core.errors import LoratuiError

LORA = {"lora_unet_a.lora_down.weight": (4, 32), "lora_unet_a.lora_up.weight": (32, 4), "lora_unet_a.alpha": ()}


def _write(path, shapes):
    save_file({k: np.ones(shape, dtype=np.float32) for k, shape in shapes.items()}, str(path))
    return path


def test_bundled_embeddings_are_listed(tmp_path, capsys):
    path = _write(tmp_path / "bundle.safetensors", LORA | {
        "bundle_emb.alice.string_to_param.*": (2, 768),
        "bundle_emb.bob.clip_l": (3, 768), "bundle_emb.bob.clip_g": (3, 1280)})
    info = read_lora_info(path)
    assert info.layers == {"lora_unet_a": "LoRA"} and set(info.embeddings) == {"alice", "bob"}
    assert not info.diffusers_ready and info.dtypes == {"F32": 3}  # the LoRA's tensors only
    text = "\n".join(describe_lora(info))
    assert "2 bundled: alice (2 vectors, SD 1.x text encoder); bob (3 vectors, SDXL (clip_l and clip_g))" in text
    assert "A1111 loads them" in text and "ComfyUI ignores them" in text and "diffusers refuses" in text
    assert "not checked" in text
    assert "(it leaves the bundled embeddings out)" in info.loads_in and info.loads_in.startswith("ComfyUI")
    code, out, _ = run_main(["lora", "info", path, "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["embeddings"][0] == {"name": "alice", "vectors": 2, "text_encoder": "SD 1.x text encoder",
                                                   "keys": ["bundle_emb.alice.string_to_param.*"]}
    assert data["diffusers_ready"] is False and data["layers"] == 1


@pytest.mark.parametrize("extra, match", [
    ({"conv_in.weight": (4, 4)}, "key 'conv_in.weight'"),
    ({"bundle_emb": (2, 4)}, "key 'bundle_emb'"),  # not bundle_emb.NAME.PART
    ({"bundle_emb.x": (2, 4)}, "key 'bundle_emb.x'"),
])
def test_other_foreign_keys_are_still_refused(tmp_path, extra, match):
    with pytest.raises(LoratuiError, match=match):
        read_lora_info(_write(tmp_path / "x.safetensors", LORA | extra))


def test_embeddings_alone_are_not_a_lora(tmp_path):
    with pytest.raises(LoratuiError, match="only bundled embeddings"):
        read_lora_info(_write(tmp_path / "emb.safetensors", {"bundle_emb.alice.string_to_param.*": (2, 768)}))
