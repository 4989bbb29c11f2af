"""core's parameter counts (core/plan/network_params.py, vram_models.py) equal the engine's networks.

The formulas count from shape tables; here the tables come from the tiny models' own config.json files
(unet_arch_from_config / text_encoder_arch_from_config), so the same code that counts the released
SD1.5 / SDXL for `loratui vram` and `loratui steps` is checked element for element against
``sum(p.numel())`` of the networks lycoris-lora (and loratui's kohya LoRA) actually build.
"""

from __future__ import annotations

import json

import pytest

from loratui.core.config import NetworkSection
from loratui.core.plan import (FamilyArch, LycorisOptions, count_lycoris, text_encoder_arch_from_config,
                               text_encoder_lora_params, unet_arch_from_config, unet_lora_params)
from loratui.engine.network import inject_lora
from test_lycoris import TYPES, _base, _model_dir

# every type of test_lycoris.py, and every preset, Tucker/scalar/DoRA-on-input/LoKr variants
CASES = {
    **TYPES,
    "lokr_balanced": ["algo=lokr", "preset=full"],
    "lokr_tucker": ["algo=lokr", "use_tucker=true", "conv_dim=2", "factor=8"],
    "lokr_unbalanced": ["algo=lokr", "unbalanced_factorization=true", "decompose_both=true", "factor=2"],
    "lokr_dora": ["algo=lokr", "dora_wd=true"],
    "loha_dora_in": ["algo=loha", "dora_wd=true", "wd_on_output=false"],
    "locon_tucker_scalar": ["algo=locon", "conv_dim=2", "use_tucker=true", "use_scalar=true"],
    "locon_no_conv": ["algo=locon", "conv_dim=0"],
    "full_full": ["algo=full", "preset=full"],
    **{f"loha_{p}_norm": ["algo=loha", f"preset={p}", "train_norm=true"]
       for p in ("full-lin", "attn-mlp", "attn-only", "unet-only", "unet-transformer-only", "unet-convblock-only")},
    **{f"full_{p}": ["algo=full", f"preset={p}"] for p in ("full-lin", "attn-only", "unet-convblock-only")},
}

# The four figures measured when the types were added (dim 4, alpha 2, preset full). They were the
# elements of the saved file: the parameters plus one ``alpha`` per module (full has no alpha).
FILE_ELEMENTS = {
    ("sd1", "loha"): 162_725, ("sdxl", "loha"): 255_387,
    ("sd1", "lokr_balanced"): 20_037, ("sdxl", "lokr_balanced"): 29_323,
    ("sd1", "dora"): 87_017, ("sdxl", "dora"): 139_931,
    ("sd1", "full_full"): 814_884, ("sdxl", "full_full"): 1_355_648,
}


def _arch(family, model_dir) -> FamilyArch:
    unet = unet_arch_from_config(json.loads((model_dir / "unet" / "config.json").read_text()))
    encoders = tuple(text_encoder_arch_from_config(json.loads((model_dir / sub / "config.json").read_text()))
                     for sub in ("text_encoder", "text_encoder_2") if (model_dir / sub).is_dir())
    return FamilyArch(family, unet, encoders, 0, 0)


def _params(network) -> int:
    return sum(p.numel() for p in network.parameters())


@pytest.mark.parametrize("family", ["sd1", "sdxl"])
def test_core_counts_equal_the_engines_networks(family, tiny_sd1_dir, tiny_sdxl_dir):
    model_dir = _model_dir(family, tiny_sd1_dir, tiny_sdxl_dir)
    base, arch = _base(model_dir), _arch(family, model_dir)
    wrong = []
    for name, args in CASES.items():
        variants = ((4, False), (16, True)) if name in TYPES else ((4, False),)
        for dim, unet_only in variants:
            section = NetworkSection(network_dim=dim, network_alpha=2.0, network_module="lycoris.kohya",
                                     network_args=list(args), network_train_unet_only=unet_only)
            network = inject_lora(base, section)
            try:
                count = count_lycoris(LycorisOptions.from_network(section), arch, train_te=not unet_only)
                real = _params(network)
                got = (count.params, count.modules, count.te_params)
                want = (real, len(network.all_modules()), sum(_params(m) for m in network.te_modules))
                if got != want:
                    wrong.append(f"{name} dim {dim}{' unet only' if unet_only else ''}: core {got}, engine {want}")
                if dim == 4 and (family, name) in FILE_ELEMENTS:
                    elements = sum(t.numel() for t in network.kohya_state_dict().values())
                    alphas = 0 if name.startswith("full") else count.modules
                    assert elements == FILE_ELEMENTS[family, name] == count.params + alphas, name
            finally:
                network.restore()
    assert not wrong, "\n".join(wrong)

    # kohya LoRA / LoCon (networks.lora) from the same tables
    for conv_dim in (0, 2):
        network = inject_lora(base, NetworkSection(network_dim=4, conv_dim=conv_dim))
        expected = (unet_lora_params(arch.unet, 4, conv_dim)
                    + sum(text_encoder_lora_params(te, 4) for te in arch.text_encoders))
        assert _params(network) == expected
        network.restore()
