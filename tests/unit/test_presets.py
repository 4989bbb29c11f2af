"""VRAM presets: the shipped tiers, the user folder, validation and applying."""

from __future__ import annotations

from pathlib import Path

import pytest

from loratui.core.config import TrainingConfig
from loratui.core.config import validate
from loratui.core.config import (PresetError, apply_preset, load_preset_file, load_presets,
                                  preset_changes, user_presets_dir)
from loratui.core.plan import GIB, estimate_vram

REQUIRED = ("dataset.resolution", "dataset.cache_latents", "network.network_dim", "optimizer.optimizer_type",
            "training.train_batch_size", "training.gradient_accumulation_steps", "training.mixed_precision",
            "training.gradient_checkpointing")

GOOD = """\
id = "{id}"
family = "sd15"
vram_gb = 10
description = "{desc}"

[training]
train_batch_size = 3
"""


@pytest.fixture
def no_user(tmp_path):
    return tmp_path / "none"


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_tiers_for_both_families(no_user):
    catalog = load_presets(no_user)
    assert catalog.problems == []
    for family in ("sd15", "sdxl"):
        assert [p.vram_gb for p in catalog.list(family)] == [6, 8, 12, 16, 24, 48]


@pytest.mark.parametrize("preset_id", [f"{f}-{gb}gb" for f in ("sd15", "sdxl") for gb in (6, 8, 12, 16, 24, 48)])
def test_each_shipped_preset_is_complete_valid_and_fits_its_card(no_user, preset_id):
    preset = load_presets(no_user).get(preset_id)
    keys = {k for k, _ in preset.items()}
    assert set(REQUIRED) <= keys
    assert preset.description and "\n" not in preset.description
    cfg = TrainingConfig()
    apply_preset(cfg, preset)
    assert validate(cfg) == []
    est = estimate_vram(cfg, family=preset.estimator_family)
    if preset_id == "sdxl-6gb":
        # The frozen bf16 SDXL UNet (4.8 GiB) plus a measured 0.75 GiB CUDA context leave no room on
        # 6 GB: this tier is the smallest setup there is, and its description says it may not fit.
        assert est.total_bytes <= 6.2 * GIB and "may still OOM" in preset.description
    else:
        assert est.total_bytes <= preset.vram_gb * GIB
    if preset.vram_gb >= 8:
        assert est.fits(preset.vram_gb), f"{preset_id}: {est.total_gib:.2f} GiB"


def test_apply_lists_changes_then_nothing(no_user):
    preset = load_presets(no_user).get("sdxl-12gb")
    cfg = TrainingConfig()
    changes = apply_preset(cfg, preset)
    by_key = {c.key: (c.old, c.new) for c in changes}
    assert by_key["dataset.resolution"] == ((512, 512), (1024, 1024))
    assert by_key["training.gradient_checkpointing"] == (False, True)
    assert "dataset.cache_latents" not in by_key  # already true: not a change
    assert cfg.dataset.resolution == (1024, 1024)
    assert preset_changes(cfg, preset) == [] and apply_preset(cfg, preset) == []


def test_preset_changes_is_pure(no_user):
    cfg = TrainingConfig()
    assert preset_changes(cfg, load_presets(no_user).get("sd15-24gb"))
    assert cfg == TrainingConfig()


def test_user_preset_overrides_shipped_and_adds(tmp_path):
    user = tmp_path / "user"
    write(user, "mine.toml", GOOD.format(id="sd15-8gb", desc="my own 8 GB"))
    write(user, "extra.toml", GOOD.format(id="tiny", desc="extra"))
    catalog = load_presets(user)
    assert catalog.get("sd15-8gb").description == "my own 8 GB"
    assert catalog.get("sd15-8gb").source == "user"
    assert catalog.get("tiny").settings == {"training": {"train_batch_size": 3}}
    assert catalog.problems == []


@pytest.mark.parametrize("text,problem", [
    ("id = 'x'\nfamily = 'sd15'\nvram_gb = 8\ndescription = 'd'\n[network]\nnetwork_dimm = 8\n",
     "[network] network_dimm: not a config key (did you mean 'network_dim'?)"),
    ("id = 'x'\nfamily = 'sd15'\nvram_gb = 8\ndescription = 'd'\n[training]\ntrain_batch_size = 'two'\n",
     "[training] train_batch_size: must be an integer"),
    ("id = 'x'\nfamily = 'sd15'\nvram_gb = 8\ndescription = 'd'\n[training]\nnetwork_dim = 8\n",
     "it belongs in [network]"),
    ("id = 'x'\nfamily = 'sd15'\nvram_gb = 8\ndescription = 'd'\n[trainng]\nseed = 1\n", "did you mean [training]"),
    ("family = 'sd15'\nvram_gb = 8\ndescription = 'd'\n[training]\nseed = 1\n", "missing required key 'id'"),
    ("id = 'x'\nfamily = 'flux'\nvram_gb = 8\ndescription = 'd'\n[training]\nseed = 1\n", "family must be"),
    ("id = 'x'\nfamily = 'sd15'\nvram_gb = 8.5\ndescription = 'd'\n[training]\nseed = 1\n", "vram_gb"),
    ("id = 'x'\nfamily = 'sd15'\nvram_gb = 8\ndescription = 'd'\n", "sets no config keys"),
    ("id = 'x'\nfamily = [", "not valid TOML"),
])
def test_broken_user_preset_is_reported_not_fatal(tmp_path, text, problem):
    user = tmp_path / "user"
    bad = write(user, "bad.toml", text)
    catalog = load_presets(user)
    assert len(catalog.problems) == 1
    assert str(bad) in catalog.problems[0] and problem in catalog.problems[0]
    assert len(catalog.list()) == 12  # the shipped ones are all still there
    with pytest.raises(PresetError, match="bad.toml"):
        load_preset_file(bad, "user")


def test_duplicate_ids_in_user_folder(tmp_path):
    user = tmp_path / "user"
    write(user, "a.toml", GOOD.format(id="dup", desc="first"))
    write(user, "b.toml", GOOD.format(id="dup", desc="second"))
    catalog = load_presets(user)
    assert catalog.get("dup").description == "first"
    assert "b.toml" in catalog.problems[0] and "a.toml" in catalog.problems[0]


def test_broken_shipped_preset_raises(tmp_path, no_user):
    shipped = tmp_path / "shipped"
    write(shipped, "x.toml", "id = 'x'\n")
    with pytest.raises(PresetError, match="x.toml"):
        load_presets(no_user, shipped_dir=shipped)


def test_unknown_id_suggests(no_user):
    with pytest.raises(PresetError, match="did you mean 'sdxl-12gb'"):
        load_presets(no_user).get("sdxl-12g")


def test_user_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert user_presets_dir() == tmp_path / "loratui" / "presets"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert user_presets_dir() == tmp_path / "home" / ".config" / "loratui" / "presets"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    write(tmp_path / "xdg" / "loratui" / "presets", "p.toml", GOOD.format(id="from-xdg", desc="x"))
    assert load_presets().get("from-xdg").source == "user"


def test_family_filter(no_user):
    catalog = load_presets(no_user)
    assert {p.family for p in catalog.list("sdxl")} == {"sdxl"}
    assert {p.family for p in catalog.list("SD1.5")} == {"sd15"}
    with pytest.raises(PresetError, match="unknown family"):
        catalog.list("flux")


@pytest.mark.parametrize("preset_id", [f"{f}-{gb}gb" for f in ("sd15", "sdxl") for gb in (6, 8, 12, 16, 24, 48)])
def test_shipped_presets_leave_the_training_length_alone(no_user, preset_id):
    # A preset answers "what fits my card"; how long to train is the user's choice (picking
    # "8 GB" once halved a 20-epoch config to 10).
    keys = {k for k, _ in load_presets(no_user).get(preset_id).items()}
    assert not keys & {"training.max_train_epochs", "training.max_train_steps"}
