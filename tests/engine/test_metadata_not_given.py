"""Metadata keys for settings `config export-sdscripts` leaves out are "None", as sd-scripts writes an argument not
given (hunt h4 finding 2): max_token_length 75, and clip_skip for SDXL (with no modelspec.encoder_layer)."""

from __future__ import annotations

import pytest

from loratui.core.config import TrainingConfig
from loratui.core.config.sdscripts_export import build_sdscripts
from loratui.engine.metadata import build_metadata


def _meta(cfg: TrainingConfig, family: str) -> dict[str, str]:
    return build_metadata(cfg, family, session_id=1, training_started_at=1_700_000_000.0, steps=4, epochs=1,
                          num_train_images=4, num_reg_images=0, tag_frequency={}, dataset_dirs={},
                          training_finished_at=1_700_000_600.0)


@pytest.mark.parametrize("family", ["sd1", "sd2", "sdxl"])
@pytest.mark.parametrize("tokens, written", [(75, "None"), (150, "150"), (225, "225")])
def test_max_token_length_75_is_not_given(family, tokens, written):
    cfg = TrainingConfig()
    cfg.training.max_token_length = tokens
    assert _meta(cfg, family)["ss_max_token_length"] == written


@pytest.mark.parametrize("clip_skip", [1, 2])
def test_sdxl_writes_no_clip_skip_and_no_encoder_layer(clip_skip):
    cfg = TrainingConfig()
    cfg.training.clip_skip = clip_skip
    meta = _meta(cfg, "sdxl")
    assert meta["ss_clip_skip"] == "None" and "modelspec.encoder_layer" not in meta
    for family in ("sd1", "sd2"):  # given there, 1 included, as the export passes it
        meta = _meta(cfg, family)
        assert meta["ss_clip_skip"] == str(clip_skip) == meta["modelspec.encoder_layer"]


@pytest.mark.parametrize("family", ["sd1", "sdxl"])
@pytest.mark.parametrize("tokens, clip_skip", [(75, 1), (225, 2)])
def test_the_keys_follow_what_the_export_passes(tmp_path, family, tokens, clip_skip):
    (tmp_path / "img" / "2_dog").mkdir(parents=True)
    (tmp_path / "img" / "2_dog" / "a.png").write_bytes(b"")
    (tmp_path / "base.safetensors").write_bytes(b"")
    cfg = TrainingConfig()
    cfg.config_dir = tmp_path
    cfg.model.pretrained_model_name_or_path, cfg.dataset.train_data_dir = "base.safetensors", "img"
    cfg.training.max_token_length, cfg.training.clip_skip = tokens, clip_skip
    args = build_sdscripts(cfg, family, num_processes=1).train_args
    meta = _meta(cfg, family)
    assert meta["ss_max_token_length"] == str(args.get("max_token_length"))
    assert meta["ss_clip_skip"] == str(args.get("clip_skip"))
