"""LyCORIS network types (issue 13): module sets, keys, lycoris-lora's own loader, one step vs lycoris-lora,
network_weights / resume, and `loratui train` with each algo on the tiny SD1 and SDXL models."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file
from torch import nn

from loratui.core.config import ModelSection, NetworkSection
from loratui.core.errors import LoratuiError
from loratui.engine.models import load_base_model
from loratui.engine.network import inject_lora, save_lora
from test_network import _outputs, _unet_inputs
from test_train import make_project, of, run

# name -> network_args; "lokr_w1ab" factors w1 too (decompose_both) and has a factorised w2 on the
# larger layers and a full lokr_w2 on the small ones (LyCORIS switches per layer).
TYPES = {
    "loha": ["algo=loha", "preset=full"],
    "loha_tucker_norm": ["algo=loha", "use_tucker=true", "train_norm=true", "conv_dim=2", "conv_alpha=1"],
    "lokr": ["algo=lokr", "factor=4"],
    "lokr_w1ab": ["algo=lokr", "factor=-1", "decompose_both=true", "full_matrix=false"],
    "lokr_full_w2": ["algo=lokr", "full_matrix=true"],
    "dora": ["algo=locon", "dora_wd=true"],
    "loha_dora": ["algo=loha", "dora_wd=true"],
    "locon": ["algo=locon", "preset=full", "conv_dim=2", "conv_alpha=1"],
    "full": ["algo=full", "preset=attn-mlp"],
}
EXPECTED_KEYS = {
    "loha": {"alpha", "hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b"},
    "loha_tucker_norm": {"alpha", "hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b", "hada_t1", "hada_t2",
                         "w_norm", "b_norm"},
    "lokr": {"alpha", "lokr_w1", "lokr_w2", "lokr_w2_a", "lokr_w2_b"},
    "lokr_w1ab": {"alpha", "lokr_w1", "lokr_w1_a", "lokr_w1_b", "lokr_w2", "lokr_w2_a", "lokr_w2_b"},
    "lokr_full_w2": {"alpha", "lokr_w1", "lokr_w2"},
    "dora": {"alpha", "lora_down.weight", "lora_up.weight", "dora_scale"},
    "loha_dora": {"alpha", "hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b", "dora_scale"},
    "locon": {"alpha", "lora_down.weight", "lora_up.weight"},
    "full": {"diff", "diff_b"},
}


def _base(path):
    return load_base_model(ModelSection(pretrained_model_name_or_path=str(path)))


def _lyco(kind, dim=4, alpha=2.0, **kw) -> NetworkSection:
    return NetworkSection(network_dim=dim, network_alpha=alpha, network_module="lycoris.kohya",
                          network_args=list(TYPES[kind]), **kw)


def _randomize(network, seed=0):
    """Non-zero updates everywhere (a fresh LyCORIS network is a no-op), DoRA magnitudes moved too."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in network.all_modules():
            for name, p in m.named_parameters():
                scale = 0.01 if name in ("diff", "diff_b", "w_norm", "b_norm") else 0.3
                p.add_(torch.randn(p.shape, generator=gen) * scale)


def _model_dir(family, tiny_sd1_dir, tiny_sdxl_dir):
    return tiny_sd1_dir if family == "sd1" else tiny_sdxl_dir


def _lycoris_from_file(base, path):
    """lycoris-lora's own loader (create_lycoris_from_weights) over ``base``.

    It names modules "lycoris_" + the module path; a holder module whose children are the base
    model's layers under their kohya names gives it exactly the file's names.
    """
    from lycoris import create_lycoris_from_weights
    from loratui.engine.lycoris_network import _layer_names

    names = _layer_names(base)
    saved = load_file(str(path))
    in_file = {k.split(".", 1)[0] for k in saved}
    holder = nn.Module()  # only the wrapped layers: a parent block would hide its children's own names
    for root in [base.unet, *base.text_encoders]:
        for _, module in root.named_modules():
            if names.get(id(module)) in in_file:
                holder.add_module(names[id(module)], module)
    weights = {f"lycoris_{k}": v.float() for k, v in saved.items()}
    network, _ = create_lycoris_from_weights(1.0, "", holder, weights_sd=weights)
    return network, weights


def test_module_sets_follow_sd_scripts(tiny_sd1_dir, tiny_sdxl_dir):
    """preset=full = kohya LoCon's module set (transformers, resnets, samplers, text encoders), plus on
    SD1/SD2 the four modules sd-scripts' UNet names conv_in, conv_out and time_embedding.linear_1/2."""
    for path, extra in ((tiny_sd1_dir, {"lora_unet_conv_in", "lora_unet_conv_out", "lora_unet_time_embedding_linear_1",
                                        "lora_unet_time_embedding_linear_2"}), (tiny_sdxl_dir, set())):
        base = _base(path)
        locon = inject_lora(base, NetworkSection(network_dim=4, conv_dim=4))
        expected = {m.lora_name for m in locon.all_modules()} | extra
        locon.restore()
        for kind in ("loha", "lokr", "dora"):
            network = inject_lora(base, _lyco(kind))
            assert {m.lora_name for m in network.all_modules()} == expected, kind
            network.restore()
        network = inject_lora(base, NetworkSection(network_module="lycoris.kohya",
                                                   network_args=["algo=loha", "preset=attn-mlp"]))
        assert {m.lora_name for m in network.all_modules()} == {
            m.lora_name for m in inject_lora(base, NetworkSection()).all_modules()}
        network.restore()


@pytest.mark.parametrize("family", ["sd1", "sdxl"])
@pytest.mark.parametrize("kind", list(TYPES))
def test_file_loads_in_lycoris_and_gives_the_same_outputs(kind, family, tiny_sd1_dir, tiny_sdxl_dir, tmp_path):
    model_dir = _model_dir(family, tiny_sd1_dir, tiny_sdxl_dir)
    base = _base(model_dir)
    network = inject_lora(base, _lyco(kind))
    _randomize(network)
    ours = _outputs(base)
    path = tmp_path / "x.safetensors"
    save_lora(path, network, {"ss_network_module": "lycoris.kohya"}, save_precision="float")
    with safe_open(str(path), "pt") as fh:
        keys = set(fh.keys())
    assert {k.split(".", 1)[1] for k in keys} == EXPECTED_KEYS[kind]
    assert all(k.startswith(("lora_unet_", "lora_te_" if family == "sd1" else "lora_te1_", "lora_te2_"))
               for k in keys)
    assert not any("lora_te" in k and "text_model" not in k for k in keys)

    fresh = _base(model_dir)
    theirs, weights = _lycoris_from_file(fresh, path)
    assert len(theirs.loras) == len(network.all_modules())
    theirs.apply_to()  # registers the modules under their names
    assert set(theirs.state_dict()) == set(weights)  # nothing missing, nothing unexpected
    for a, b in zip(ours, _outputs(fresh)):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", ["loha", "lokr_w1ab", "dora"])
def test_one_step_equals_lycoris_lora(kind, tiny_sd1_dir, tmp_path):
    """Same weights, batch and noise: loratui's network and lycoris-lora's own give the same loss and grads."""
    base = _base(tiny_sd1_dir)
    network = inject_lora(base, _lyco(kind))
    _randomize(network)
    path = tmp_path / "x.safetensors"
    save_lora(path, network, {}, save_precision="float")
    other = _base(tiny_sd1_dir)
    theirs, _ = _lycoris_from_file(other, path)
    theirs.apply_to()

    def loss_and_grads(b, modules):
        latents, t, context, kwargs = _unet_inputs(b)
        target = torch.randn(latents.shape, generator=torch.Generator().manual_seed(7))
        loss = nn.functional.mse_loss(b.unet(latents, t, context, **kwargs).sample, target)
        loss.backward()
        return loss.item(), {f"{m.lora_name}.{n}": p.grad.clone() for m in modules for n, p in m.named_parameters()}

    ours_loss, ours_grads = loss_and_grads(base, network.unet_modules)
    their_mods = [m for m in theirs.loras if m.lora_name.startswith("lycoris_lora_unet_")]
    for m in their_mods:
        m.lora_name = m.lora_name[len("lycoris_"):]
    their_loss, their_grads = loss_and_grads(other, their_mods)
    assert ours_loss == pytest.approx(their_loss, rel=1e-6)
    assert set(ours_grads) == set(their_grads)
    for key in ours_grads:
        torch.testing.assert_close(ours_grads[key], their_grads[key], rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("kind", ["lokr", "loha_dora"])
def test_network_weights_round_trip_and_mismatch(kind, tiny_sdxl_dir, tmp_path):
    base = _base(tiny_sdxl_dir)
    network = inject_lora(base, _lyco(kind))
    _randomize(network)
    expected = _outputs(base)
    path = tmp_path / "x.safetensors"
    save_lora(path, network, {}, save_precision="float")
    fresh = _base(tiny_sdxl_dir)
    loaded = inject_lora(fresh, _lyco(kind, network_weights=str(path)))
    for a, b in zip(expected, _outputs(fresh)):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    loaded.restore()
    with pytest.raises(LoratuiError, match="trained with other network_args"):
        inject_lora(_base(tiny_sdxl_dir), _lyco("locon" if kind == "lokr" else "loha", network_weights=str(path)))
    with pytest.raises(LoratuiError, match="not in this"):
        inject_lora(_base(tiny_sdxl_dir), NetworkSection(network_module="lycoris.kohya", network_weights=str(path),
                                                          network_args=["algo=lokr", "preset=attn-mlp"]))


def test_speed_levers_leave_lycoris_modules_working(tiny_sd1_dir):
    from loratui.engine.speed import SpeedPlan, apply_speed

    base = _base(tiny_sd1_dir)
    network = inject_lora(base, _lyco("loha"))
    _randomize(network)
    expected = _outputs(base)[0]
    apply_speed(SpeedPlan(channels_last=True, unet_autocast=False), base, network)
    assert all(hasattr(m, "compute_in_input_dtype") for m in network.unet_modules)
    # channels_last picks other conv kernels (another summation order): float32 noise of ~1e-5 of the
    # outputs' size (3 of 512 values were 2.3e-5 off once), so the bound scales with them
    scale = float(expected.abs().max())
    torch.testing.assert_close(_outputs(base)[0], expected, rtol=1e-4, atol=2e-5 * scale)
    base.unet.to(torch.bfloat16)  # bf16 UNet, fp32 LyCORIS masters, no autocast: the update is cast to bf16
    latents, t, context, kwargs = _unet_inputs(base)
    out = base.unet(latents.bfloat16(), t, context.bfloat16()).sample
    assert out.dtype == torch.bfloat16 and torch.isfinite(out).all()


def _train(tmp_path, model_dir, args, **extra):
    config = make_project(tmp_path, model_dir, **{"network.network_module": "lycoris.kohya",
                                                   "network.network_args": args,
                                                   "training.max_train_epochs": None, "training.max_train_steps": 4,
                                                   "saving.save_every_n_steps": 2, "saving.save_state": True,
                                                   **extra})
    code, events = run(config)
    assert code == 0, [e for e in events if e["event"] in ("error", "warning")]
    return config, events


@pytest.mark.slow
@pytest.mark.parametrize("family, args", [
    ("sd1", ["algo=loha", "preset=full", "conv_dim=2", "conv_alpha=1"]),
    ("sd1", ["algo=lokr", "factor=4", "decompose_both=true"]),
    ("sdxl", ["algo=locon", "dora_wd=true", "preset=attn-mlp"]),
    ("sdxl", ["algo=full", "preset=attn-only"]),
])
def test_train_saves_resumes_and_writes_lycoris_metadata(family, args, tiny_sd1_dir, tiny_sdxl_dir, tmp_path):
    model_dir = _model_dir(family, tiny_sd1_dir, tiny_sdxl_dir)
    config, events = _train(tmp_path / "a", model_dir, args)
    out = tmp_path / "a" / "out"
    final = out / "tiny.safetensors"
    assert (out / "tiny-step00000002.safetensors").is_file() and final.is_file()
    with safe_open(str(final), "pt") as fh:
        meta = fh.metadata()
        weights = {k: fh.get_tensor(k) for k in fh.keys()}
    assert meta["ss_network_module"] == "lycoris.kohya"
    assert json.loads(meta["ss_network_args"]) == {**dict(a.split("=", 1) for a in args), "dropout": None}
    assert meta["ss_network_dim"] == "4" and meta["ss_network_alpha"] == "2.0"
    trained = [k for k, v in weights.items() if k.endswith(("hada_w2_a", "lokr_w1", "lora_up.weight", "diff"))]
    assert trained and any(weights[k].abs().sum() > 0 for k in trained)
    # resume from the step-2 state gives the same final file as the straight run
    state = out / "tiny-step00000002-state"
    assert (state / "state.json").is_file()
    final.rename(out / "straight.safetensors")
    code, _ = run(config, resume=str(state))
    assert code == 0
    a, b = load_file(str(out / "straight.safetensors")), load_file(str(final))
    assert set(a) == set(b)
    for key in a:
        torch.testing.assert_close(a[key].float(), b[key].float(), rtol=0, atol=2e-3)


def test_diffusers_load_lora_weights(tiny_sd1_dir, tmp_path):
    """diffusers 0.42 reads LyCORIS LoCon files exactly (conv_in/conv_out/time embedding included) and refuses
    LoHa / LoKr / full ("keys have not been correctly renamed"). A DoRA file loads but diffusers drops its
    dora_scale keys on purpose ("a DoRA checkpoint that is not compatible in Diffusers at the moment ... we are
    going to filter out the keys associated to 'dora_scale'"), so its output is the plain LoRA's. Those files
    load in ComfyUI, A1111/Forge and LyCORIS as they are; for diffusers, `loratui lora convert` rewrites them
    as plain LoRA (test_lora_convert.py)."""
    from diffusers import StableDiffusionPipeline

    for kind in ("locon", "loha", "lokr", "full"):
        base = _base(tiny_sd1_dir)
        network = inject_lora(base, _lyco(kind))
        _randomize(network)
        expected = _outputs(base)
        path = tmp_path / f"{kind}.safetensors"
        save_lora(path, network, {}, save_precision="float")
        pipe = StableDiffusionPipeline.from_pretrained(tiny_sd1_dir)
        if kind != "locon":
            with pytest.raises(ValueError, match="not been correctly renamed"):
                pipe.load_lora_weights(str(path))
            continue
        pipe.load_lora_weights(str(path))
        for got, exp in zip(_outputs(base, pipe.unet, [pipe.text_encoder]), expected):
            torch.testing.assert_close(got, exp, rtol=0, atol=2e-5)


@pytest.mark.parametrize("kind", ["lokr", "dora"])
def test_sampling_renders_through_the_lycoris_network(kind, tiny_sd1_dir, tmp_path):
    """Samples during training go through the LyCORIS modules (multiplier 0 renders another image) with
    their dropouts off (module_dropout=0.5 in training mode would make two renders differ)."""
    from PIL import Image

    from loratui.engine.sampling import SamplePrompt, generate_samples

    base = _base(tiny_sd1_dir)
    cfg = NetworkSection(network_dim=4, network_alpha=2.0, network_module="lycoris.kohya",
                         network_args=[*TYPES[kind], "module_dropout=0.5", "rank_dropout=0.3"])
    network = inject_lora(base, cfg)
    _randomize(network)
    network.train()
    prompt = [SamplePrompt("a red circle", width=64, height=64, steps=2, seed=5)]

    def render(folder):
        (path,) = generate_samples(base, prompt, tmp_path / folder, output_name="t", step=1, epoch=1, device="cpu",
                                   dtype=torch.float32, seed=1, network=network)
        return Image.open(path).tobytes()

    first, second = render("a"), render("b")
    assert first == second and all(m.training for m in network.all_modules())
    network.set_multiplier(0.0)
    assert render("c") != first
