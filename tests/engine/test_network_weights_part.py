"""network_weights with network_train_unet_only / _text_encoder_only: the trained part is loaded, the other
left out with one line (sd-scripts loads non-strict), and the saved LoRA holds the trained part only."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from loratui.core.config import ModelSection, NetworkSection
from loratui.core.errors import LoratuiError
from loratui.engine.models import load_base_model
from loratui.engine.network import inject_lora, save_lora


def _base(path):
    return load_base_model(ModelSection(pretrained_model_name_or_path=str(path)))


def _net(**kw) -> NetworkSection:
    return NetworkSection(network_dim=4, network_alpha=2.0, **kw)


@pytest.fixture()
def full_lora(tiny_sd1_dir, tmp_path):
    """A saved SD1 LoRA with UNet and text-encoder weights (random, so a load is visible)."""
    network = inject_lora(_base(tiny_sd1_dir), _net())
    gen = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for p in network.parameters():
            p.copy_(torch.randn(p.shape, generator=gen))
    path = tmp_path / "prev.safetensors"
    save_lora(path, network, {}, "float")
    return path


def _modules(keys, prefix: str) -> set[str]:
    return {k.split(".")[0] for k in keys if k.startswith(prefix)}


@pytest.mark.parametrize("flag, kept, dropped, part, kept_words", [
    ("network_train_unet_only", "lora_unet_", "lora_te", "text-encoder", "the UNet"),
    ("network_train_text_encoder_only", "lora_te", "lora_unet_", "UNet", "the text encoder"),
])
def test_the_trained_part_loads_and_the_other_is_left_out(flag, kept, dropped, part, kept_words, tiny_sd1_dir,
                                                          full_lora, tmp_path):
    previous = load_file(str(full_lora))
    network = inject_lora(_base(tiny_sd1_dir), _net(**{flag: True}, network_weights=str(full_lora)))

    left_out = len(_modules(previous, dropped))
    assert network.notes == [f"network.network_weights ({full_lora}): its {left_out} {part} modules are not "
                             f"trained ({flag}): left out; the saved LoRA has {kept_words} only"]
    # what the run saves: the trained part of the file, unchanged, and nothing of the other part
    out = tmp_path / "next.safetensors"
    save_lora(out, network, {}, "float")
    saved = load_file(str(out))
    assert saved and all(k.startswith(kept) for k in saved)
    assert set(saved) == {k for k in previous if k.startswith(kept)}
    for key, value in saved.items():
        assert torch.equal(value, previous[key]), key


def test_a_file_of_the_untrained_part_only_is_refused(tiny_sd1_dir, full_lora, tmp_path):
    te_only = tmp_path / "te.safetensors"
    from safetensors.torch import save_file

    save_file({k: v for k, v in load_file(str(full_lora)).items() if k.startswith("lora_te")}, str(te_only))
    with pytest.raises(LoratuiError, match="text-encoder weights only and network_train_unet_only is set") as err:
        inject_lora(_base(tiny_sd1_dir), _net(network_train_unet_only=True, network_weights=str(te_only)))
    assert "\n" not in str(err.value)


def test_another_models_file_is_still_refused_with_its_message(tiny_sd1_dir, tiny_sdxl_dir, full_lora, tmp_path):
    xl = tmp_path / "xl.safetensors"
    save_lora(xl, inject_lora(_base(tiny_sdxl_dir), _net()), {}, "float")
    with pytest.raises(LoratuiError, match="do not exist in this sd1 model.*another model family or layout"):
        inject_lora(_base(tiny_sd1_dir), _net(network_train_unet_only=True, network_weights=str(xl)))
    # text-encoder names this model's text encoder does not have are not "left out" either
    network = inject_lora(_base(tiny_sd1_dir), _net(network_train_unet_only=True))
    weights = load_file(str(full_lora))
    weights["lora_te_text_model_encoder_layers_99_mlp_fc1.lora_down.weight"] = torch.zeros(4, 8)
    with pytest.raises(LoratuiError, match="1 LoRA modules do not exist in this sd1 model, e.g. "
                                           "lora_te_text_model_encoder_layers_99_mlp_fc1"):
        network.load_kohya_state_dict(weights, leave_out_untrained=True)


def test_a_resumed_state_stays_strict(tiny_sd1_dir, full_lora):
    # --resume reads the state's own LoRA (state.py): a part it should not hold is an error, not left out
    network = inject_lora(_base(tiny_sd1_dir), _net(network_train_unet_only=True))
    with pytest.raises(LoratuiError, match="network_train_unet_only is set"):
        network.load_kohya_state_dict(load_file(str(full_lora)), source="--resume x")
    assert network.notes == []


def test_a_layer_of_another_size_names_the_model_not_the_rank(tiny_sd1_dir):
    weights = inject_lora(_base(tiny_sd1_dir), _net()).kohya_state_dict()
    name = next(k for k in weights if k.endswith("attn2_to_k.lora_down.weight"))
    weights[name] = torch.zeros(4, weights[name].shape[1] + 8)  # cross-attention of another width (SD2's)
    with pytest.raises(LoratuiError, match="another model family or layout") as err:
        inject_lora(_base(tiny_sd1_dir), _net()).load_kohya_state_dict(weights)
    assert "network_dim" not in str(err.value)
