"""LyCORIS in the engine: quoted network_args train, a value lycoris-lora refuses is one
line, an empty network names its cause, a file with parts this run leaves out says which flag, and
`lora convert` of a LoKr trained with use_tucker (which lycoris-lora 4.1.3's loader cannot read)."""

from __future__ import annotations

import json

import pytest
import torch

from loratui.core.config import NetworkSection
from loratui.core.errors import LoratuiError
from loratui.engine.lora_convert import convert_to_lora, save_converted
from loratui.engine.network import inject_lora, save_lora
from test_lycoris import _base, _randomize
from test_network import _outputs


def _lyco(*args, **kw) -> NetworkSection:
    return NetworkSection(network_dim=4, network_alpha=2.0, network_module="lycoris.kohya", network_args=list(args),
                          **kw)


def test_quoted_values_build_the_network_they_name(tiny_sd1_dir):
    base = _base(tiny_sd1_dir)
    network = inject_lora(base, _lyco('algo="loha"', 'conv_dim="2"', "conv_alpha='1'"))
    kinds = {type(m).__name__ for m in network.all_modules()}
    conv = network._by_name["lora_unet_down_blocks_0_resnets_0_conv1"]
    assert kinds == {"LohaModule"} and conv.hada_w1_b.shape[0] == 2
    network.restore()


def test_a_value_lycoris_refuses_is_one_line_naming_network_args(tiny_sd1_dir):
    base = _base(tiny_sd1_dir)
    with pytest.raises(LoratuiError) as caught:  # past config check (e.g. a config written by hand mid-run)
        inject_lora(base, _lyco("algo=loha", "conv_dim=four"))
    message = str(caught.value)
    assert message.startswith("network.network_args: lycoris-lora cannot build a network from algo=loha, conv_dim=four")
    assert "ValueError" in message and "`loratui config check`" in message and "\n" not in message


@pytest.mark.parametrize("preset", ["unet-only", "unet-convblock-only"])
def test_a_unet_only_preset_with_text_encoder_only_names_the_clash(preset, tiny_sd1_dir):
    base = _base(tiny_sd1_dir)
    with pytest.raises(LoratuiError, match=rf"nothing to train: preset={preset} trains no text-encoder layer and "
                                           "network_train_text_encoder_only = true leaves the U-Net out"):
        inject_lora(base, _lyco("algo=loha", f"preset={preset}", network_train_text_encoder_only=True))


@pytest.mark.parametrize("flag, part", [("network_train_unet_only", "text-encoder"),
                                        ("network_train_text_encoder_only", "U-Net")])
def test_a_file_with_a_part_this_run_leaves_out_names_the_flag(flag, part, tiny_sd1_dir, tmp_path):
    base = _base(tiny_sd1_dir)
    network = inject_lora(base, _lyco("algo=loha"))
    path = tmp_path / "loha.safetensors"
    save_lora(path, network, {}, save_precision="float")
    network.restore()
    with pytest.raises(LoratuiError) as caught:
        inject_lora(_base(tiny_sd1_dir), _lyco("algo=loha", network_weights=str(path), **{flag: True}))
    assert f"(the file has {part} weights but {flag} is set); unset {flag}" in str(caught.value)


TUCKER = {
    "lokr_tucker": ["algo=lokr", "use_tucker=true", "conv_dim=4", "conv_alpha=2"],
    "lokr_tucker_w1ab": ["algo=lokr", "use_tucker=true", "decompose_both=true", "conv_dim=4", "conv_alpha=2"],
    "lokr_tucker_dora": ["algo=lokr", "use_tucker=true", "dora_wd=true", "conv_dim=4"],
    # per layer only: lycoris-lora's loader reads every other DoRA layer as wd_on_output=true, so the whole
    # file does not convert (its dora_scale has the other shape)
    "lokr_tucker_dora_in": ["algo=lokr", "use_tucker=true", "dora_wd=true", "wd_on_output=false", "conv_dim=4"],
}


@pytest.mark.parametrize("kind", list(TUCKER))
def test_tucker_lokr_converts_to_the_trained_update(kind, tiny_sd1_dir, tmp_path):
    from diffusers import StableDiffusionPipeline

    from loratui.engine.lora_convert import _tucker_lokr_update

    base = _base(tiny_sd1_dir)
    network = inject_lora(base, _lyco(*TUCKER[kind]))
    _randomize(network)
    tucker = [m for m in network.all_modules() if getattr(m, "tucker", False) and not m.use_w2]
    assert tucker, "the tiny model has no Tucker LoKr layer"
    with torch.no_grad():  # each layer's update against the trained module's own (the one its forward applies)
        for m in tucker:
            own = {k: v.detach() for k, v in m.state_dict().items()}
            delta, _ = _tucker_lokr_update(own, m.org_module[0], "cpu", m.lora_name)
            if m.wd:
                org = m.org_weight.double()
                theirs = m.apply_weight_decompose(org + m.get_weight(m.shape).double() * m.scalar) - org
            else:
                theirs, _ = m.get_diff_weight(1.0 / m.scale, m.shape)  # its scale is applied in get_weight already
            # theirs is float32 (the module's precision), ours float64
            torch.testing.assert_close(delta, theirs.double(), rtol=0, atol=1e-6 * float(theirs.abs().max()))
    if kind == "lokr_tucker_dora_in":
        return
    expected = _outputs(base)
    source = tmp_path / f"{kind}.safetensors"
    save_lora(source, network, {"ss_network_module": "lycoris.kohya",
                                "ss_network_args": json.dumps(dict(a.split("=") for a in TUCKER[kind]))},
              save_precision="float")
    tensors, meta, report = convert_to_lora(source, _base(tiny_sd1_dir), tolerance=1e-6, dtype=torch.float32)
    assert report.max_error <= 1e-6 and len(report.layers) == len(network.all_modules())
    out = tmp_path / "converted.safetensors"
    save_converted(out, tensors, meta)
    pipe = StableDiffusionPipeline.from_pretrained(tiny_sd1_dir)
    pipe.load_lora_weights(str(out))
    for got, exp in zip(_outputs(_base(tiny_sd1_dir), pipe.unet, [pipe.text_encoder]), expected):
        torch.testing.assert_close(got, exp, rtol=0, atol=1e-4 * max(1.0, float(exp.abs().max())))
