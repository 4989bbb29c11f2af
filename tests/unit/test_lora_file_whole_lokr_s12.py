"""`lora info` on a LoKr file where most layers have whole lokr_w1 and lokr_w2 (user test s12/h6: 58 of
66 layers): those have no rank and loaders apply them at scale 1, so the "alpha / rank" line covers only the
ranked layers, and the whole-factor ones are counted and named (text and --json)."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner
from safetensors.numpy import save_file

from loratui.cli import cli as main
from loratui.core.config import describe_lora, read_lora_info


def _lokr_file(path, whole: int = 3, ranked: int = 1):
    tensors = {}
    for i in range(whole):  # lycoris-lora writes alpha = dim for these (scale 1)
        tensors.update({f"lora_unet_w{i}.lokr_w1": np.ones((4, 4), np.float16),
                        f"lora_unet_w{i}.lokr_w2": np.ones((8, 8), np.float16),
                        f"lora_unet_w{i}.alpha": np.array(8.0, np.float16)})
    for i in range(ranked):
        tensors.update({f"lora_unet_r{i}.lokr_w1": np.ones((4, 4), np.float16),
                        f"lora_unet_r{i}.lokr_w2_a": np.ones((160, 8), np.float16),
                        f"lora_unet_r{i}.lokr_w2_b": np.ones((8, 160), np.float16),
                        f"lora_unet_r{i}.alpha": np.array(4.0, np.float16)})
    save_file(tensors, str(path), metadata={"ss_network_module": "lycoris.kohya", "ss_network_alpha": "4.0"})
    return path


def test_whole_factor_lokr_layers_are_counted_named_and_said_to_apply_at_scale_1(tmp_path):
    info = read_lora_info(_lokr_file(tmp_path / "lokr.safetensors"))
    assert info.whole_lokr == ["lora_unet_w0", "lora_unet_w1", "lora_unet_w2"]
    assert info.applied_alphas() == {"lora_unet_r0": 4.0}
    text = "\n".join(describe_lora(info))
    assert "alpha              4 (what loaders apply to the 1 ranked layer; each layer's scale is alpha / rank)" in text
    assert ("whole factors      3 LoKr layers (e.g. lora_unet_w0) have whole lokr_w1 and lokr_w2, no rank: loaders "
            "apply them at scale 1, whatever their alpha") in text
    assert not [w for w in info.warnings() if "alpha" in w]  # their alpha 8 is no disagreement: it is not used

    result = CliRunner().invoke(main, ["lora", "info", "--json", str(tmp_path / "lokr.safetensors")])
    data = json.loads(result.output)
    assert data["whole_factor_count"] == 3 and data["whole_factor_layers"][0] == "lora_unet_w0"
    assert data["alpha"] == 4.0


def test_a_file_of_whole_factors_only_says_so_and_a_ranked_file_has_no_such_line(tmp_path):
    text = "\n".join(describe_lora(read_lora_info(_lokr_file(tmp_path / "all.safetensors", whole=2, ranked=0))))
    assert "2 LoKr layers (e.g. lora_unet_w0) have whole lokr_w1 and lokr_w2" in text
    assert "alpha / rank" not in text
    ranked = read_lora_info(_lokr_file(tmp_path / "ranked.safetensors", whole=0, ranked=2))
    lines = describe_lora(ranked)
    assert ranked.whole_lokr == [] and not any("whole factors" in line for line in lines)
    assert any("(what loaders apply; each layer's scale is alpha / rank)" in line for line in lines)
