"""`config check` notes both sampling intervals (sd-scripts samples at epochs only, so does train), and refuses
the lms sampler without scipy (diffusers' LMSDiscreteScheduler needs it)."""

from __future__ import annotations

from loratui.core.config import TrainingConfig, config_notes, missing_packages
from loratui.core.config import packages


def test_both_sampling_intervals_are_a_note_with_the_words_of_loratui_steps():
    from loratui.core.plan.advice import sampling_note

    cfg = TrainingConfig()
    cfg.sampling.sample_every_n_steps, cfg.sampling.sample_every_n_epochs = 5, 1
    assert sampling_note(cfg) in config_notes(cfg)
    cfg.sampling.sample_every_n_epochs = None
    assert not any("sample_every_n_steps" in n for n in config_notes(cfg))


def test_lms_without_scipy_is_a_problem_naming_the_package(monkeypatch):
    cfg = TrainingConfig()
    cfg.sampling.sample_sampler = "lms"
    monkeypatch.setattr(packages, "installed", lambda name: name != "scipy")
    assert any(p.startswith("sampling.sample_sampler lms needs the scipy package") for p in missing_packages(cfg))
    monkeypatch.setattr(packages, "installed", lambda name: True)
    assert missing_packages(cfg) == []
