"""The h2 hunt on `loratui lora convert` (s14): a LoCon file with Tucker cores (lora_mid) is converted, not
copied unchanged (diffusers refuses lora_mid), and the result gives the LyCORIS network's own outputs in
diffusers; a lycoris-lora builder that fails with a TypeError (IA3's in 4.1) is a one-line refusal naming the file."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open

from fixtures.cli_run import run_main
from loratui.core.errors import LoratuiError
from loratui.engine.lora_convert import convert_to_lora
from test_lora_convert import _lycoris_file
from test_lycoris import TYPES, _base
from test_network import _outputs


def test_a_tucker_locon_file_is_converted_and_loads_in_diffusers(tiny_sd1_dir, tmp_path, monkeypatch, capsys):
    from diffusers import StableDiffusionPipeline

    monkeypatch.setitem(TYPES, "locon_tucker", ["algo=locon", "use_tucker=true", "conv_dim=4", "conv_alpha=2"])
    source = tmp_path / "lt.safetensors"
    expected = _lycoris_file(tiny_sd1_dir, "locon_tucker", source, bias=False)
    with safe_open(str(source), "pt") as fh:
        assert any(key.endswith(".lora_mid.weight") for key in fh.keys())  # the case: Tucker cores in the file
    code, out, _ = run_main(["lora", "info", source, "--json"], capsys)
    info = json.loads(out)
    assert code == 0 and not info["diffusers_ready"] and "Tucker LoCon" in info["types"]

    converted = tmp_path / "plain.safetensors"
    code, out, err = run_main(["lora", "convert", source, converted, "--model", tiny_sd1_dir, "--json",
                               "--tolerance", "0.000001"], capsys)
    assert code == 0, err
    report = json.loads(out)
    assert report.get("copied") is None and report["layers"] == info["layers"]
    with safe_open(str(converted), "pt") as fh:
        assert not any("lora_mid" in key for key in fh.keys())

    pipe = StableDiffusionPipeline.from_pretrained(tiny_sd1_dir)
    pipe.load_lora_weights(str(converted))  # the unconverted file: "keys have not been correctly renamed"
    for got, exp in zip(_outputs(_base(tiny_sd1_dir), pipe.unet, [pipe.text_encoder]), expected):
        torch.testing.assert_close(got, exp, rtol=0, atol=1e-4 * max(1.0, float(exp.abs().max())))


def test_a_type_error_from_lycoris_builders_is_a_refusal_naming_the_file(tiny_sd1_dir, tmp_path, monkeypatch):
    source = tmp_path / "loha.safetensors"
    _lycoris_file(tiny_sd1_dir, "loha", source)

    def builder(*args, **kwargs):
        raise TypeError("IA3Module.make_module_from_state_dict() takes 4 positional arguments but 5 were given")

    monkeypatch.setattr("lycoris.create_lycoris_from_weights", builder)
    with pytest.raises(LoratuiError, match=rf"^{source}: lycoris-lora cannot rebuild its layers \(TypeError: IA3Module"):
        convert_to_lora(source, _base(tiny_sd1_dir))
