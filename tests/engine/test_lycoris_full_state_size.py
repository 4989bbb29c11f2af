"""An algo=full state keeps its weights once: lora.safetensors holds every ``diff`` (a whole kohya file that
network_weights may point at), params.safetensors only the elements ``org + diff`` rounds, as indices and
values, not a second copy of every weight (SDXL: ~10 GB a state). Loading gives the trained weights back
bit for bit, also over network_weights loaded already, and an older state's whole tensors still load."""

from __future__ import annotations

import stat

import torch
from safetensors.torch import load_file

from loratui.core.config import ModelSection, NetworkSection
from loratui.engine.lycoris_network import FIX_INDEX, FIX_VALUE
from loratui.engine.models import load_base_model
from loratui.engine.network import inject_lora
from loratui.engine.state import EXACT_PARAMS, save_state

FULL = NetworkSection(network_dim=4, network_alpha=2.0, network_module="lycoris.kohya",
                      network_args=["algo=full", "preset=attn-only"])


def _network(model_dir):
    return inject_lora(load_base_model(ModelSection(pretrained_model_name_or_path=str(model_dir))), FULL)


def _train_a_little(network, seed=0):
    """Small updates like training's, plus a few sign changes near zero: there org + (weight - org) rounds."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in network.all_modules():
            for _, p in m.named_parameters():
                p.add_(torch.randn(p.shape, generator=gen) * 1e-3)
                flat = p.view(-1)
                flat[:3] = torch.tensor([1e-9, -3e-10, 7e-12])[: flat.numel()]


def _params(network) -> dict[str, torch.Tensor]:
    return {f"{m.lora_name}.{k}": p.detach().clone() for m in network.all_modules() for k, p in m.named_parameters()}


def _bits_equal(a: dict, b: dict) -> list[str]:
    return [k for k in a if not torch.equal(a[k].view(torch.int32), b[k].view(torch.int32))]


def test_a_full_state_keeps_only_the_rounded_elements_and_loads_bit_for_bit(tiny_sd1_dir):
    trained = _network(tiny_sd1_dir)
    _train_a_little(trained)
    kohya, exact = trained.kohya_state_dict(torch.float32), trained.exact_params()
    numel = sum(p.numel() for p in trained.parameters())
    assert exact and all(k.endswith((FIX_INDEX, FIX_VALUE)) for k in exact)
    assert sum(v.numel() for v in exact.values()) < numel / 50  # was: numel, a second copy of every weight
    fresh = _network(tiny_sd1_dir)
    fresh.load_kohya_state_dict(kohya)
    assert _bits_equal(_params(trained), _params(fresh))  # org + diff alone rounds: why the fixes exist
    fresh.load_exact_params(exact, source="test")
    assert not _bits_equal(_params(trained), _params(fresh))


def test_loading_a_full_state_over_network_weights_does_not_add_the_update_twice(tiny_sd1_dir):
    trained = _network(tiny_sd1_dir)
    _train_a_little(trained)
    kohya = trained.kohya_state_dict(torch.float32)
    fresh = _network(tiny_sd1_dir)
    fresh.load_kohya_state_dict(kohya)  # network_weights = the same file, then --resume
    fresh.load_kohya_state_dict(kohya)
    fresh.load_exact_params(trained.exact_params(), source="test")
    assert not _bits_equal(_params(trained), _params(fresh))


def test_an_older_state_with_whole_tensors_still_loads(tiny_sd1_dir):
    trained = _network(tiny_sd1_dir)
    _train_a_little(trained)
    fresh = _network(tiny_sd1_dir)
    fresh.load_kohya_state_dict(trained.kohya_state_dict(torch.float32))
    fresh.load_exact_params(_params(trained), source="test")  # what states held before: every weight whole
    assert not _bits_equal(_params(trained), _params(fresh))


def test_damaged_fixes_are_one_line(tiny_sd1_dir):
    import pytest

    from loratui.core.errors import LoratuiError

    trained = _network(tiny_sd1_dir)
    _train_a_little(trained)
    exact = trained.exact_params()
    key = next(k for k in exact if k.endswith(FIX_INDEX))
    exact[key] = exact[key] + 10**9
    with pytest.raises(LoratuiError, match="damaged; resume from an earlier state"):
        _network(tiny_sd1_dir).load_exact_params(exact, source="--resume x")


def test_the_state_files_of_a_full_network(tiny_sd1_dir, tmp_path):
    trained = _network(tiny_sd1_dir)
    _train_a_little(trained)
    optimizer = torch.optim.AdamW(trained.parameters(), lr=1e-4)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)
    state = save_state(tmp_path / "x-state", network=trained, optimizer=optimizer, scheduler=scheduler, scaler=None,
                       generator=torch.Generator(), step=1, epoch=1, batches_done=1, losses=[], config_digest="d")
    lora, params = load_file(str(state / "lora.safetensors")), load_file(str(state / EXACT_PARAMS))
    assert {k.rsplit(".", 1)[1] for k in lora} == {"diff", "diff_b"}  # a whole kohya file: network_weights reads it
    assert sum(v.numel() for v in params.values()) < sum(v.numel() for v in lora.values()) / 50
    assert set(params) == set(trained.exact_params())
    assert not [p.name for p in tmp_path.iterdir() if p.name != "x-state"]
    assert stat.S_IMODE((state / EXACT_PARAMS).stat().st_mode) == stat.S_IMODE((state / "state.json").stat().st_mode)
