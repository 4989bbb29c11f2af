"""`loratui lora convert` on a plain LoRA that diffusers already loads (user test s12/h6: it re-factored it
anyway): one line saying no conversion is needed and OUT is a byte copy of it, before any model loads;
--rank (a resize) and --force still convert."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner
from safetensors.numpy import save_file

from loratui.cli import cli
from loratui.core.errors import LoratuiError


def _plain(path):
    save_file({"lora_unet_x.lora_down.weight": np.ones((4, 8), np.float16),
               "lora_unet_x.lora_up.weight": np.ones((8, 4), np.float16),
               "lora_unet_x.alpha": np.array(4.0, np.float16)}, str(path))
    return path


def test_a_plain_lora_is_copied_unchanged_not_converted(tmp_path):
    """Review r1 #5: OUT is still written (a script doing `convert a b && use b`), as a byte copy."""
    source, out = _plain(tmp_path / "plain.safetensors"), tmp_path / "out.safetensors"
    # no model is needed to say so: --model names nothing
    result = CliRunner().invoke(cli, ["lora", "convert", str(source), str(out), "--model", str(tmp_path / "none")])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines() == [
        f"{source}: already loads in diffusers: copied unchanged to {out} (--rank N resizes it, --force converts it "
        "anyway)"]
    assert out.read_bytes() == source.read_bytes()
    again = CliRunner().invoke(cli, ["lora", "convert", str(source), str(out), "--model", "x"])
    assert "exists: pass --force to replace it" in str(again.exception)  # create-only
    out2 = tmp_path / "out2.safetensors"
    result = CliRunner().invoke(cli, ["lora", "convert", str(source), str(out2), "--model", "x", "--json"])
    data = json.loads(result.output)
    assert result.exit_code == 0 and data["converted"] is False and data["copied"] is True
    assert data["output"] == str(out2) and out2.read_bytes() == source.read_bytes()


def test_rank_or_force_still_convert(tmp_path):
    source, out = _plain(tmp_path / "plain.safetensors"), tmp_path / "out.safetensors"
    for extra in (["--rank", "2"], ["--force"]):  # they go on to load the model: here one that is missing
        result = CliRunner().invoke(cli, ["lora", "convert", str(source), str(out), "--model",
                                          str(tmp_path / "none"), *extra])
        assert isinstance(result.exception, LoratuiError) and "no conversion needed" not in result.output
        assert "--model" in str(result.exception) and "does not exist" in str(result.exception)
