"""core.plan.advice: the rules of thumb (each with its source) and the cheapest VRAM fixes."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from loratui.core.config import TrainingConfig, validate
from loratui.core.dataset import DatasetScan, ImageEntry, Subset
from loratui.core.plan import RULE_SOURCES, compute_schedule, estimate_vram, plan_advice, vram_fixes


def scan_of(folders: dict[str, int], reg: dict[str, int] | None = None, size=(512, 512)) -> DatasetScan:
    """A scan without files: {"10_alice": 20} is 20 images of `size` with 10 repeats."""
    subsets = []
    for is_reg, group in ((False, folders), (True, reg or {})):
        for name, count in group.items():
            images = [ImageEntry(Path(f"/d/{name}/{i}.png"), *size, None) for i in range(count)]
            subsets.append(Subset(Path(f"/d/{name}"), name, int(name.split("_")[0]), name.split("_", 1)[1],
                                  is_reg, images))
    return DatasetScan(Path("/d"), Path("/r") if reg else None, ".txt", subsets, [])


def config(epochs=10, batch=2, rank=16, alpha=8.0, family="sd1") -> TrainingConfig:
    cfg = TrainingConfig()
    cfg.model.model_family = family
    cfg.training.max_train_epochs = epochs
    cfg.training.train_batch_size = batch
    cfg.network.network_dim = rank
    cfg.network.network_alpha = alpha
    return cfg


def advice_for(cfg, scan) -> dict[str, object]:
    return {a.rule: a for a in plan_advice(cfg, compute_schedule(cfg, scan))}


def test_a_common_plan_gets_no_warnings_and_every_rule_names_a_source():
    cfg, scan = config(), scan_of({"10_alice": 30})  # 300 samples/epoch, 10 epochs, batch 2: 1,500 steps
    found = advice_for(cfg, scan)
    assert set(found) == set(RULE_SOURCES)
    assert all(a.ok for a in found.values()), [a.message for a in found.values() if not a.ok]
    assert all(a.source for a in found.values())
    assert "1,500" in found["total_steps"].message
    assert "100 times" in found["uses_per_image"].message


def test_far_plans_are_flagged_with_their_numbers():
    found = advice_for(config(epochs=100, batch=1, rank=128, alpha=256), scan_of({"20_alice": 50}))
    assert not found["total_steps"].ok and "100,000" in found["total_steps"].message
    assert not found["uses_per_image"].ok and "2,000 times" in found["uses_per_image"].message
    assert not found["samples_per_epoch"].ok and "1,000 samples" in found["samples_per_epoch"].message
    assert "lower repeats" in found["samples_per_epoch"].message
    assert not found["rank"].ok and "kohya-colab" in found["rank"].source
    assert not found["alpha"].ok


def test_too_few_steps_and_samples():
    found = advice_for(config(epochs=1, batch=4), scan_of({"2_a": 20}))
    assert not found["total_steps"].ok and "below" in found["total_steps"].message
    assert not found["samples_per_epoch"].ok and "raise repeats" in found["samples_per_epoch"].message


def test_sdxl_rules_come_from_the_xl_notebook():
    found = advice_for(config(family="sdxl", rank=64, alpha=32), scan_of({"5_alice": 100}))  # 500 samples/epoch
    assert not found["samples_per_epoch"].ok and "Lora_Trainer_XL" in found["samples_per_epoch"].source
    assert not found["rank"].ok and "Lora_Trainer_XL" in found["rank"].source
    # one repeat over many images is the XL notebook's own advice: nothing to lower
    found = advice_for(config(family="sdxl"), scan_of({"1_alice": 500}))
    assert found["samples_per_epoch"].ok


def test_max_train_steps_plans_count_the_partial_epoch():
    cfg = config(epochs=None)
    cfg.training.max_train_steps = 1500
    found = advice_for(cfg, scan_of({"10_alice": 30}))  # 150 steps per epoch
    assert found["total_steps"].ok and "100 times" in found["uses_per_image"].message


# ---- VRAM fixes ------------------------------------------------------------------------------------


def big_sdxl() -> TrainingConfig:
    cfg = TrainingConfig()
    cfg.model.model_family = "sdxl"
    cfg.dataset.resolution = (1024, 1024)
    cfg.dataset.cache_latents = False
    cfg.training.train_batch_size = 4
    cfg.optimizer.optimizer_type = "AdamW"
    return cfg


def test_no_fix_when_it_fits():
    assert vram_fixes(big_sdxl(), 80) == []


@pytest.mark.parametrize("card", [24, 16, 12, 8])
def test_every_fix_is_checked_with_the_estimator_and_keeps_the_config_valid(card):
    cfg = big_sdxl()
    fixes = vram_fixes(cfg, card)
    assert fixes and all(f.fits for f in fixes)
    for fix in fixes:
        changed = copy.deepcopy(cfg)
        for (section, key), value in fix.changes.items():
            assert fix.old[(section, key)] == getattr(getattr(cfg, section), key)
            setattr(getattr(changed, section), key, value)
        assert estimate_vram(changed).fits(card)
        assert round(estimate_vram(changed).total_gib, 2) == fix.estimate_gib
        assert not validate(changed)
        assert len(fix.labels) >= 1 and fix.fields_text()


def test_single_fixes_come_cheapest_first():
    fixes = vram_fixes(big_sdxl(), 24)
    assert fixes[0].changes == {("training", "gradient_checkpointing"): True}
    assert "slower" in fixes[0].describe()


def test_a_combination_when_no_single_change_is_enough():
    fix, = vram_fixes(big_sdxl(), 8)
    assert len(fix.changes) > 1 and fix.fits
    assert fix.changes[("training", "train_batch_size")] == 1  # stepped down more than once


def test_nothing_fits_says_so():
    cfg = big_sdxl()
    fix, = vram_fixes(cfg, 2)
    assert not fix.fits and fix.estimate_gib > 2


def test_fixes_never_break_validation():
    cfg = big_sdxl()
    cfg.dataset.random_crop = True  # cache_latents would contradict it: never proposed
    cfg.dataset.shuffle_caption = True  # cache_text_encoder_outputs would contradict it
    for card in (24, 12, 8):
        for fix in vram_fixes(cfg, card):
            assert ("dataset", "cache_latents") not in fix.changes
            assert ("training", "cache_text_encoder_outputs") not in fix.changes
