"""The r2 review's engine findings: a NaN alpha or half a layer in network_weights is a damaged file (in core's
words), a diffusers VAE saved under "vae." loads as `config check` promised, and only lycoris-lora's own call is
taken for "lycoris-lora cannot rebuild its layers" (a bug in loratui's code around it stays a bug)."""

from __future__ import annotations

import math

import pytest
import torch
from safetensors.torch import save_file

import loratui.engine.lora_convert as lora_convert
from loratui.core.config import ModelSection, NetworkSection, alpha_refusal
from loratui.core.errors import LoratuiError
from loratui.engine.lora_convert import convert_to_lora
from loratui.engine.models import load_base_model, load_vae
from loratui.engine.network import inject_lora
from test_lora_convert import _lycoris_file


@pytest.fixture(scope="module")
def base(tiny_sd1_dir):
    return load_base_model(ModelSection(pretrained_model_name_or_path=str(tiny_sd1_dir)))


def _weights(base) -> dict[str, torch.Tensor]:
    network = inject_lora(base, NetworkSection(network_dim=4, network_alpha=2.0))
    try:
        return network.kohya_state_dict(torch.float32)
    finally:
        network.restore()  # the base model is shared by the module's tests


def _load(base, sd) -> None:
    network = inject_lora(base, NetworkSection(network_dim=4, network_alpha=2.0))
    try:
        network.load_kohya_state_dict(sd, source="network.network_weights (w.safetensors)")
    finally:
        network.restore()


def test_a_nan_alpha_says_the_file_is_damaged(base):
    sd = _weights(base)
    name = next(k for k in sorted(sd) if k.endswith(".alpha"))
    sd[name] = torch.tensor(math.nan)
    layer = name.rsplit(".", 1)[0]
    with pytest.raises(LoratuiError) as err:
        _load(base, sd)
    assert str(err.value) == alpha_refusal("network.network_weights (w.safetensors)", layer, math.nan, 2.0,
                                           "network_alpha")
    assert "alpha is NaN/inf: the file is damaged" in str(err.value) and "set network_alpha" not in str(err.value)


def test_half_a_layer_is_refused_not_started_from_zero(base):
    sd = _weights(base)
    up = next(k for k in sorted(sd) if k.endswith(".lora_up.weight"))
    del sd[up]
    with pytest.raises(LoratuiError, match=r"the file is damaged or incomplete, .* has lora_down only: get a "
                                           r"complete copy"):
        _load(base, sd)


def test_a_diffusers_vae_under_vae_prefix_loads(base, tmp_path):
    path = tmp_path / "vae.safetensors"
    save_file({f"vae.{k}": v.contiguous() for k, v in base.vae.state_dict().items()}, str(path))
    vae = load_vae(path, base, torch.float32)
    key = "decoder.conv_in.weight"
    assert torch.equal(vae.state_dict()[key], base.vae.state_dict()[key])


def test_a_bug_beside_lycoris_call_is_not_reported_as_lycoris(tiny_sd1_dir, base, tmp_path, monkeypatch):
    source = tmp_path / "locon.safetensors"
    _lycoris_file(tiny_sd1_dir, "locon", source, bias=False)

    def broken(weights):
        raise TypeError("a loratui bug")

    monkeypatch.setattr(lora_convert, "_pop_input_axis_scales", broken)
    with pytest.raises(TypeError, match="a loratui bug"):
        convert_to_lora(source, base, dtype=torch.float32)


def test_lycoris_own_type_error_is_the_one_line_refusal():
    def create(*args, **kwargs):
        raise TypeError("__init__() got an unexpected keyword argument 'x'")

    with pytest.raises(LoratuiError, match=r"^s.safetensors: lycoris-lora cannot rebuild its layers \(TypeError: "):
        lora_convert._rebuilt_by_lycoris(create, None, {}, "s.safetensors")
