"""Any preset applies on top of any other preset of its family: `presets apply` writes it, `config check`
accepts the result, and the result is the same as applying it alone (every preset sets every field the
others set: an SDXL preset that trains the text encoders turns off cache_text_encoder_outputs and full_bf16
that the 6/8 GB presets turn on)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from fixtures.bad_inputs import SD1_KEYS, SDXL_KEYS, write_png, write_safetensors
from loratui.cli import cli
from loratui.core.config import TrainingConfig, config_to_dict, load_config, load_presets, save_config

FAMILIES = {"sd15": SD1_KEYS, "sdxl": SDXL_KEYS}


def base_config(tmp_path, keys) -> bytes:
    """A project `config check` accepts (model named without "xl", family auto); the config's bytes."""
    write_safetensors(tmp_path / "base.safetensors", keys)
    for i in range(2):
        write_png(tmp_path / "img" / "2_thing" / f"{i}.png", size=(64, 64))
    cfg = TrainingConfig()
    cfg.model.pretrained_model_name_or_path = "base.safetensors"
    cfg.dataset.train_data_dir = "img"
    cfg.training.max_train_epochs = 1
    save_config(cfg, tmp_path / "c.toml")
    return (tmp_path / "c.toml").read_bytes()


def invoke(*args: str):
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, f"{' '.join(args)}: {result.output}{result.exception or ''}"
    return result


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_preset_applies_after_every_other(tmp_path, family):
    start = base_config(tmp_path, FAMILIES[family])
    path = tmp_path / "c.toml"
    ids = [p.id for p in load_presets().list(family) if p.source == "shipped"]
    assert len(ids) == 6
    alone = {}
    for second in ids:
        path.write_bytes(start)
        invoke("presets", "apply", str(path), second, "--yes")
        alone[second] = config_to_dict(load_config(path))
    for first in ids:
        for second in ids:
            if first == second:
                continue
            path.write_bytes(start)
            invoke("presets", "apply", str(path), first, "--yes")
            invoke("presets", "apply", str(path), second, "--yes")
            assert invoke("config", "check", str(path)).output.startswith("ok"), (first, second)
            assert config_to_dict(load_config(path)) == alone[second], (first, second)


def test_sdxl_24gb_after_8gb_trains_the_text_encoders_uncached(tmp_path):
    """The reported case: 8 GB (UNet only, outputs cached, full bf16) then 24 GB (text encoders trained)."""
    base_config(tmp_path, SDXL_KEYS)
    path = str(tmp_path / "c.toml")
    invoke("presets", "apply", path, "sdxl-8gb", "--yes")
    out = invoke("presets", "apply", path, "sdxl-24gb", "--yes").output
    total = [line for line in invoke("vram", path).output.splitlines() if line.strip().startswith("total")][0]
    cfg = load_config(path)
    assert not cfg.network.network_train_unet_only
    assert not cfg.training.cache_text_encoder_outputs and not cfg.training.full_bf16
    # the same estimate as `loratui vram` for the file (batches sized by its dataset, as vram does)
    assert f"after applying: {total.split()[1]} GiB" in out
