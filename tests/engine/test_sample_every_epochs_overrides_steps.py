"""sample_every_n_epochs set: sample_every_n_steps is ignored, as sd-scripts does ("overwrites n_steps",
train_util.sample_images_common); `loratui steps` says so in a note. Both used to fire: a step that
ended an epoch was rendered twice into the same files."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from click.testing import CliRunner

from loratui.commands.steps_cmd import steps
from loratui.engine.run_events import Reporter
from test_train import make_project


def _sampled_steps(every_epochs, every_steps, named: bool = False) -> list:
    """The steps sampled at; ``named``: (step, "epoch" | "step"), what the sample's name holds (sd-scripts:
    NAME_e000002_... at an epoch's end, NAME_000003_... else)."""
    sampled = []
    cfg = SimpleNamespace(saving=SimpleNamespace(save_every_n_steps=None, save_every_n_epochs=None),
                          sampling=SimpleNamespace(sample_every_n_epochs=every_epochs,
                                                   sample_every_n_steps=every_steps))
    run = SimpleNamespace(cfg=cfg, world=1, first_step_at=None, emit=lambda *a, **k: None,
                          progress=lambda *a: None, save_lora=lambda *a: None, poll_controls=lambda tr: None,
                          handle_requests=lambda tr: None,
                          sample=lambda tr, epoch_end=False: sampled.append(
                              (tr.step, "epoch" if epoch_end else "step") if named else tr.step))
    reporter = Reporter(run)
    tr = SimpleNamespace(step=0, epoch=1, speed=SimpleNamespace(compile_unet=False), device=torch.device("cpu"),
                         optimizer=SimpleNamespace(param_groups=[{"lr": 1e-4}]),
                         data=SimpleNamespace(total_steps=4, epochs=2))
    for step in range(1, 5):  # two epochs of two steps
        tr.step, tr.epoch = step, (step + 1) // 2
        reporter.on_step(tr, loss=0.1, avg_loss=0.1, images_per_s=1.0, eta_s=None)
        if step % 2 == 0:
            reporter.on_epoch_end(tr, avg_loss=0.1)
    return sampled


@pytest.mark.parametrize(("every_epochs", "every_steps", "expected"), [
    (1, 1, [2, 4]),          # both: epochs only (each epoch-ending step once, not twice)
    (2, 1, [4]),
    (None, 1, [1, 2, 3, 4]),
    (None, 3, [3]),
    (1, None, [2, 4]),
])
def test_epochs_take_precedence_over_steps(every_epochs, every_steps, expected):
    assert _sampled_steps(every_epochs, every_steps) == expected


def test_an_epochs_samples_are_named_by_epoch_and_a_steps_by_step():
    assert _sampled_steps(1, None, named=True) == [(2, "epoch"), (4, "epoch")]
    assert _sampled_steps(None, 2, named=True) == [(2, "step"), (4, "step")]


def test_steps_notes_that_sample_every_n_steps_is_ignored(tiny_sd1_dir, tmp_path):
    both = make_project(tmp_path / "both", tiny_sd1_dir, **{"sampling.sample_every_n_epochs": 1,
                                                             "sampling.sample_every_n_steps": 5})
    result = CliRunner().invoke(steps, [str(both)])
    assert result.exit_code == 0, result.output
    assert ("sample_every_n_steps (5) is ignored: sample_every_n_epochs (1) is set and takes precedence, as in "
            "sd-scripts") in " ".join(result.output.split())
    one = make_project(tmp_path / "one", tiny_sd1_dir, **{"sampling.sample_every_n_steps": 5})
    result = CliRunner().invoke(steps, [str(one)])
    assert result.exit_code == 0 and "sample_every_n_steps" not in result.output
