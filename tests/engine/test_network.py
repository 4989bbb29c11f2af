"""LoRA injection, kohya key names and alpha, diffusers round trip, network_weights import."""

from __future__ import annotations

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from loratui.core.config import ModelSection, NetworkSection
from loratui.core.errors import LoratuiError
from loratui.engine.models import build_random_base_model, load_base_model
from loratui.engine.network import inject_lora, save_lora

ATTN_PARTS = [f"{a}_{p}" for a in ("attn1", "attn2") for p in ("to_q", "to_k", "to_v", "to_out_0")]
FF_PARTS = ["ff_net_0_proj", "ff_net_2"]


def _transformer(prefix: str, blocks: int) -> set[str]:
    names = {f"{prefix}_proj_in", f"{prefix}_proj_out"}
    for b in range(blocks):
        names |= {f"{prefix}_transformer_blocks_{b}_{part}" for part in ATTN_PARTS + FF_PARTS}
    return names


def _text_encoder(prefix: str, layers: int) -> set[str]:
    names = set()
    for i in range(layers):
        names |= {f"{prefix}_text_model_encoder_layers_{i}_self_attn_{p}_proj" for p in "qkv"}
        names |= {f"{prefix}_text_model_encoder_layers_{i}_self_attn_out_proj",
                  f"{prefix}_text_model_encoder_layers_{i}_mlp_fc1", f"{prefix}_text_model_encoder_layers_{i}_mlp_fc2"}
    return names


def _keys(modules: set[str]) -> set[str]:
    return {f"{m}.{suffix}" for m in modules for suffix in ("lora_down.weight", "lora_up.weight", "alpha")}


# What sd-scripts writes for the tiny models: SD1 UNet in diffusers names, SDXL UNet in original names.
SD1_EXPECTED = (_transformer("lora_unet_down_blocks_0_attentions_0", 1)
                | _transformer("lora_unet_mid_block_attentions_0", 1)
                | _transformer("lora_unet_up_blocks_1_attentions_0", 1)
                | _transformer("lora_unet_up_blocks_1_attentions_1", 1)
                | _text_encoder("lora_te", 3))
SDXL_EXPECTED = (_transformer("lora_unet_input_blocks_3_1", 2)
                 | _transformer("lora_unet_middle_block_1", 2)
                 | _transformer("lora_unet_output_blocks_0_1", 2)
                 | _transformer("lora_unet_output_blocks_1_1", 2)
                 | _text_encoder("lora_te1", 3) | _text_encoder("lora_te2", 3))


def _base(path, **kw):
    return load_base_model(ModelSection(pretrained_model_name_or_path=str(path), **kw))


def _net(dim=4, alpha=2.0, **kw) -> NetworkSection:
    return NetworkSection(network_dim=dim, network_alpha=alpha, **kw)


def _randomize(network, seed=0):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in network.all_modules():
            m.lora_up.weight.copy_(torch.randn(m.lora_up.weight.shape, generator=gen) * 0.5)
            m.lora_down.weight.copy_(torch.randn(m.lora_down.weight.shape, generator=gen) * 0.5)


def _unet_inputs(base, seed=0):
    gen = torch.Generator().manual_seed(seed)
    latents = torch.randn(2, 4, 8, 8, generator=gen)
    context = torch.randn(2, 77, base.unet.config.cross_attention_dim, generator=gen)
    kwargs = {}
    if base.family == "sdxl":
        kwargs["added_cond_kwargs"] = {"text_embeds": torch.randn(2, 32, generator=gen),
                                       "time_ids": torch.tensor([[64.0, 64, 0, 0, 64, 64]] * 2)}
    return latents, torch.tensor([10, 700]), context, kwargs


@torch.no_grad()
def _outputs(base, unet=None, text_encoders=None):
    latents, t, context, kwargs = _unet_inputs(base)
    unet = unet or base.unet
    text_encoders = text_encoders or base.text_encoders
    ids = torch.randint(0, 500, (2, 77), generator=torch.Generator().manual_seed(3))
    return [unet(latents, t, context, **kwargs).sample] + [te(ids).last_hidden_state for te in text_encoders]


def test_sd1_kohya_keys_and_alpha(tiny_sd1_dir):
    base = _base(tiny_sd1_dir)
    network = inject_lora(base, _net(dim=4, alpha=2.0))
    sd = network.kohya_state_dict()
    assert set(sd) == _keys(SD1_EXPECTED)
    assert len(network.unet_modules) == 48 and len(network.te_modules) == 18
    for key, value in sd.items():
        if key.endswith(".alpha"):
            assert value.shape == () and value.item() == 2.0  # the configured alpha, not the rank (4)
    assert sd["lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight"].shape == (4, 32, 1, 1)  # 1x1 conv
    assert sd["lora_te_text_model_encoder_layers_0_mlp_fc1.lora_up.weight"].shape == (64, 4)


def test_sdxl_kohya_keys_use_original_unet_names(tiny_sdxl_dir):
    base = _base(tiny_sdxl_dir)
    network = inject_lora(base, _net(dim=8, alpha=3.0))
    sd = network.kohya_state_dict()
    assert set(sd) == _keys(SDXL_EXPECTED)
    assert {v.item() for k, v in sd.items() if k.endswith(".alpha")} == {3.0}


def test_conv_dim_targets_resnets_and_samplers(tiny_sd1_dir):
    base = _base(tiny_sd1_dir)
    network = inject_lora(base, _net(dim=4, alpha=4.0, conv_dim=2, conv_alpha=1.0))
    sd = network.kohya_state_dict()
    names = {k.rsplit(".", 2)[0] for k in sd if k.endswith("lora_down.weight")}
    assert "lora_unet_down_blocks_0_resnets_0_conv1" in names
    assert "lora_unet_down_blocks_0_resnets_0_time_emb_proj" in names  # Linear in a resnet: network_dim
    assert "lora_unet_down_blocks_0_downsamplers_0_conv" in names
    assert "lora_unet_up_blocks_0_upsamplers_0_conv" in names
    assert "lora_unet_up_blocks_0_resnets_0_conv_shortcut" in names  # 1x1: network_dim
    assert sd["lora_unet_down_blocks_0_resnets_0_conv1.lora_down.weight"].shape == (2, 32, 3, 3)
    assert sd["lora_unet_down_blocks_0_resnets_0_conv1.alpha"].item() == 1.0
    assert sd["lora_unet_up_blocks_0_resnets_0_conv_shortcut.lora_down.weight"].shape[0] == 4
    assert sd["lora_unet_up_blocks_0_resnets_0_conv_shortcut.alpha"].item() == 4.0


def test_real_size_module_counts_match_sd_scripts():
    """sd-scripts logs 72 TE + 192 UNet modules for SD1.5 and 72 + 192 TE + 722 UNet modules for SDXL."""
    sd15 = inject_lora(build_random_base_model("sd15", device="meta"), _net())
    assert (len(sd15.te_modules), len(sd15.unet_modules)) == (72, 192)
    xl = inject_lora(build_random_base_model("sdxl", device="meta"), _net())
    te1 = [m for m in xl.te_modules if m.lora_name.startswith("lora_te1_")]
    assert (len(te1), len(xl.te_modules) - len(te1), len(xl.unet_modules)) == (72, 192, 722)
    names = {m.lora_name for m in xl.unet_modules}
    assert "lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q" in names
    assert "lora_unet_middle_block_1_transformer_blocks_9_ff_net_2" in names
    assert "lora_unet_output_blocks_2_1_transformer_blocks_9_attn2_to_out_0" in names


def test_fresh_network_is_a_no_op_and_multiplier(tiny_sd1_dir):
    base = _base(tiny_sd1_dir)
    before = _outputs(base)
    network = inject_lora(base, _net())
    for a, b in zip(before, _outputs(base)):
        assert torch.equal(a, b)
    _randomize(network)
    changed = _outputs(base)
    assert not torch.allclose(changed[0], before[0])
    network.set_multiplier(0.0)
    assert torch.equal(_outputs(base)[0], before[0])
    network.set_multiplier(1.0)
    network.restore()
    assert torch.equal(_outputs(base)[0], before[0])


@pytest.mark.parametrize("family,conv_dim", [("sd1", 0), ("sdxl", 2)])
def test_diffusers_load_lora_weights_reproduces_outputs(family, conv_dim, tiny_sd1_dir, tiny_sdxl_dir, tmp_path):
    from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline

    folder = tiny_sd1_dir if family == "sd1" else tiny_sdxl_dir
    base = _base(folder)
    network = inject_lora(base, _net(dim=4, alpha=2.0, conv_dim=conv_dim, conv_alpha=1.0))
    _randomize(network)
    expected = _outputs(base)
    path = tmp_path / "lora.safetensors"
    save_lora(path, network, {"ss_network_dim": "4"}, "float")

    cls = StableDiffusionXLPipeline if family == "sdxl" else StableDiffusionPipeline
    pipe = cls.from_pretrained(folder)
    plain = _outputs(base, pipe.unet, [pipe.text_encoder] + ([pipe.text_encoder_2] if family == "sdxl" else []))
    assert not torch.allclose(plain[0], expected[0])
    pipe.load_lora_weights(str(path))
    got = _outputs(base, pipe.unet, [pipe.text_encoder] + ([pipe.text_encoder_2] if family == "sdxl" else []))
    assert len(got) == len(expected) == (3 if family == "sdxl" else 2)
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e, rtol=0, atol=5e-6)


def test_save_precision_and_hash_metadata(tiny_sd1_dir, tmp_path):
    base = _base(tiny_sd1_dir)
    network = inject_lora(base, _net(dim=4, alpha=2.0))
    path = tmp_path / "out" / "lora.safetensors"
    path.parent.mkdir()
    save_lora(path, network, {"ss_network_alpha": "2.0", "modelspec.title": "x"}, "fp16")
    with safe_open(str(path), framework="pt") as fh:
        meta = fh.metadata()
        assert {fh.get_tensor(k).dtype for k in fh.keys()} == {torch.float16}
        assert fh.get_tensor("lora_te_text_model_encoder_layers_0_mlp_fc1.alpha").item() == 2.0
    assert meta["ss_network_alpha"] == "2.0" and meta["modelspec.title"] == "x"
    assert len(meta["sshs_model_hash"]) == 64 and len(meta["sshs_legacy_hash"]) == 8
    assert [p.name for p in path.parent.iterdir()] == ["lora.safetensors"]  # no temp file left behind
    save_lora(path, network, {}, "bf16")
    assert load_file(str(path))["lora_te_text_model_encoder_layers_0_mlp_fc1.alpha"].dtype == torch.bfloat16
    with pytest.raises(LoratuiError, match="save_precision"):
        save_lora(path, network, {}, "fp8")


def test_network_weights_round_trip(tiny_sdxl_dir, tmp_path):
    base = _base(tiny_sdxl_dir)
    network = inject_lora(base, _net(dim=4, alpha=2.0, conv_dim=2, conv_alpha=1.0))
    _randomize(network, seed=7)
    expected = _outputs(base)
    path = tmp_path / "lora.safetensors"
    save_lora(path, network, {}, "float")

    fresh = _base(tiny_sdxl_dir)
    loaded = inject_lora(fresh, _net(dim=4, alpha=2.0, conv_dim=2, conv_alpha=1.0, network_weights=str(path)))
    for g, e in zip(_outputs(fresh), expected):
        assert torch.equal(g, e)
    for a, b in zip(network.parameters(), loaded.parameters()):
        assert torch.equal(a, b)


def test_network_weights_mismatches_are_clear(tiny_sd1_dir, tiny_sdxl_dir, tmp_path):
    xl_path = tmp_path / "xl.safetensors"
    save_lora(xl_path, inject_lora(_base(tiny_sdxl_dir), _net(dim=4, alpha=2.0)), {}, "float")
    sd1_path = tmp_path / "sd1.safetensors"
    save_lora(sd1_path, inject_lora(_base(tiny_sd1_dir), _net(dim=4, alpha=2.0)), {}, "float")

    with pytest.raises(LoratuiError, match="do not exist in this sd1 model") as err:
        inject_lora(_base(tiny_sd1_dir), _net(dim=4, alpha=2.0, network_weights=str(xl_path)))
    assert "\n" not in str(err.value)
    with pytest.raises(LoratuiError, match="rank 4 .* set network_dim"):
        inject_lora(_base(tiny_sd1_dir), _net(dim=8, alpha=2.0, network_weights=str(sd1_path)))
    with pytest.raises(LoratuiError, match="alpha 2 .* set network_alpha = 2"):
        inject_lora(_base(tiny_sd1_dir), _net(dim=4, alpha=4.0, network_weights=str(sd1_path)))
    # network_train_unet_only with a file holding text-encoder weights loads the UNet part (as sd-scripts):
    # tests/engine/test_network_weights_part.py
    with pytest.raises(LoratuiError, match="does not exist"):
        inject_lora(_base(tiny_sd1_dir), _net(network_weights=str(tmp_path / "nope.safetensors")))


def test_unet_only_te_only_and_param_groups(tiny_sd1_dir):
    base = _base(tiny_sd1_dir)
    unet_only = inject_lora(base, _net(network_train_unet_only=True))
    assert unet_only.train_unet and not unet_only.train_te and len(unet_only.te_modules) == 0
    groups = unet_only.param_groups(unet_lr=None, text_encoder_lr=5e-5, default_lr=1e-4)
    assert [(g["name"], g["lr"]) for g in groups] == [("unet", 1e-4)]
    unet_only.restore()

    te_only = inject_lora(base, _net(network_train_text_encoder_only=True))
    assert len(te_only.unet_modules) == 0 and len(te_only.te_modules) == 18
    te_only.restore()

    both = inject_lora(base, _net())
    groups = both.param_groups(unet_lr=2e-4, text_encoder_lr=5e-5, default_lr=1e-4)
    assert [(g["name"], g["lr"]) for g in groups] == [("unet", 2e-4), ("text_encoder", 5e-5)]
    assert sum(len(g["params"]) for g in groups) == len(list(both.parameters()))
    frozen = both.param_groups(unet_lr=None, text_encoder_lr=0.0, default_lr=1e-4)
    assert [g["name"] for g in frozen] == ["unet"]
    both.restore()
    with pytest.raises(LoratuiError, match="both"):
        inject_lora(base, _net(network_train_unet_only=True, network_train_text_encoder_only=True))


def test_lora_trains_and_dropout_only_in_training(tiny_sd1_dir):
    base = _base(tiny_sd1_dir)
    network = inject_lora(base, _net(network_dropout=0.5))
    _randomize(network)
    network.train()
    latents, t, context, kwargs = _unet_inputs(base)
    out = base.unet(latents, t, context).sample
    out.square().mean().backward()
    grads = [p.grad for p in network.parameters() if p.grad is not None]
    assert grads and not any(p.requires_grad for p in base.unet.parameters())
    network.eval()
    with torch.no_grad():
        a = base.unet(latents, t, context).sample
        b = base.unet(latents, t, context).sample
    assert torch.equal(a, b)


def test_conv_alpha_mismatch_names_conv_alpha(tiny_sd1_dir, tmp_path):
    path = tmp_path / "locon.safetensors"
    save_lora(path, inject_lora(_base(tiny_sd1_dir), _net(dim=4, alpha=4.0, conv_dim=2, conv_alpha=1.0)), {}, "float")
    with pytest.raises(LoratuiError, match="set conv_alpha = 1"):
        inject_lora(_base(tiny_sd1_dir), _net(dim=4, alpha=4.0, conv_dim=2, conv_alpha=2.0, network_weights=str(path)))
