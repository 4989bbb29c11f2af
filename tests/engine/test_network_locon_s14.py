"""A LoCon file as network_weights with conv_dim = 0 names conv_dim (not "another model family"), in the same
words at `config check` time (headers only) as when `train` loads it; rank lines name the right key; and an
integer warmup exported x N runs sd-scripts' schedule as loratui's (hunt h7)."""

from __future__ import annotations

import pytest
from safetensors.torch import load_file

from loratui.core.config import ModelSection, NetworkSection, check_paths, config_from_dict
from loratui.core.errors import LoratuiError
from loratui.engine.models import load_base_model
from loratui.engine.network import inject_lora, save_lora
from loratui.engine.optim import lr_lambda


def _base(path):
    return load_base_model(ModelSection(pretrained_model_name_or_path=str(path)))


def _check_lines(network: dict, tmp_path) -> list[str]:
    cfg = config_from_dict({"network": network})
    cfg.config_dir = tmp_path
    return [p for p in check_paths(cfg) if p.startswith("network.network_weights")]


@pytest.fixture(params=["sd1", "sdxl"])
def locon(request, tiny_sd1_dir, tiny_sdxl_dir, tmp_path):
    """(model folder, a LoCon saved from it with dim 8 / alpha 4, conv_dim 4 / conv_alpha 1)."""
    model = tiny_sd1_dir if request.param == "sd1" else tiny_sdxl_dir
    path = tmp_path / "locon.safetensors"
    network = NetworkSection(network_dim=8, network_alpha=4.0, conv_dim=4, conv_alpha=1.0)
    save_lora(path, inject_lora(_base(model), network), {}, "fp16")
    return model, path


def test_conv_dim_0_names_conv_dim_at_load_and_at_check_alike(locon, tmp_path):
    model, path = locon
    network = {"network_dim": 8, "network_alpha": 4.0, "network_weights": str(path)}
    with pytest.raises(LoratuiError) as err:
        inject_lora(_base(model), NetworkSection(**network))
    message = str(err.value)
    assert message.startswith(f"network.network_weights ({path}) has LoCon conv layers (conv rank 4, e.g. lora_unet_")
    assert message.endswith("but conv_dim is 0: set conv_dim = 4 (and conv_alpha = 1)")
    assert "another model family" not in message and "\n" not in message
    assert _check_lines(network, tmp_path) == [message]  # config check says it before any model loads
    # with conv_dim set the same file loads, and check has nothing to say
    network.update(conv_dim=4, conv_alpha=1.0)
    inject_lora(_base(model), NetworkSection(**network))
    assert _check_lines(network, tmp_path) == []


def test_a_rank_mismatch_names_network_dim_or_conv_dim(locon, tmp_path):
    model, path = locon
    wrong_conv = {"network_dim": 8, "network_alpha": 4.0, "conv_dim": 2, "conv_alpha": 1.0,
                  "network_weights": str(path)}
    with pytest.raises(LoratuiError, match=r"has rank 4 but this network has rank 2; set conv_dim = 4$"):
        inject_lora(_base(model), NetworkSection(**wrong_conv))
    assert [line.rsplit("; ", 1)[1] for line in _check_lines(wrong_conv, tmp_path)] == ["set conv_dim = 4"]
    wrong_dim = dict(wrong_conv, network_dim=16, conv_dim=4)
    with pytest.raises(LoratuiError, match=r"has rank 8 but this network has rank 16; set network_dim = 8$"):
        inject_lora(_base(model), NetworkSection(**wrong_dim))
    assert [line.rsplit("; ", 1)[1] for line in _check_lines(wrong_dim, tmp_path)] == ["set network_dim = 8"]


def test_another_models_names_are_still_another_model(tiny_sd1_dir, tmp_path):
    # conv names this model does not have (another layout) are not taken for LoCon layers
    network = inject_lora(_base(tiny_sd1_dir), NetworkSection(network_dim=4, network_alpha=2.0, conv_dim=4))
    path = tmp_path / "l.safetensors"
    save_lora(path, network, {}, "float")
    weights = load_file(str(path))
    weights = {k.replace("down_blocks_0_resnets_0_conv1", "down_blocks_7_resnets_0_conv1"): v
               for k, v in weights.items()}
    fresh = inject_lora(_base(tiny_sd1_dir), NetworkSection(network_dim=4, network_alpha=2.0))
    with pytest.raises(LoratuiError, match="do not exist in this sd1 model.*another model family or layout"):
        fresh.load_kohya_state_dict(weights)


@pytest.mark.parametrize("scheduler", ["cosine", "linear", "constant_with_warmup", "cosine_with_restarts"])
@pytest.mark.parametrize("processes", [2, 3])
def test_an_exported_warmup_times_n_is_loratuis_warmup_in_sd_scripts(scheduler, processes):
    # sd-scripts (get_scheduler_fix): total = max_train_steps x N, an integer warmup as given, and accelerate
    # steps the schedule N times per optimizer step; loratui: one schedule step per optimizer step
    warmup, total = 10, 100
    ours = lr_lambda(scheduler, warmup, total, cycles=2)
    theirs = lr_lambda(scheduler, warmup * processes, total * processes, cycles=2)  # the export's lr_warmup_steps
    for step in range(total):
        assert theirs(step * processes) == pytest.approx(ours(step)), step
    unscaled = lr_lambda(scheduler, warmup, total * processes, cycles=2)  # what the export used to write
    assert unscaled(5 * processes) != pytest.approx(ours(5))


def test_a_ckpt_vae_is_read_from_its_pickle_without_running_it(tiny_sd1_dir, tmp_path):
    import torch

    base = _base(tiny_sd1_dir)
    torch.save({"state_dict": {f"first_stage_model.{k}": v for k, v in base.vae.state_dict().items()}},
               tmp_path / "vae.ckpt")
    torch.save(base.unet.state_dict(), tmp_path / "unet.ckpt")
    cfg = config_from_dict({"model": {"vae": "vae.ckpt"}})
    cfg.config_dir = tmp_path
    assert [p for p in check_paths(cfg) if p.startswith("model.vae")] == []
    cfg.model.vae = "unet.ckpt"
    [line] = [p for p in check_paths(cfg) if p.startswith("model.vae")]
    assert line.startswith(f"model.vae: {tmp_path / 'unet.ckpt'} is not a VAE (no encoder.*, decoder.*")
