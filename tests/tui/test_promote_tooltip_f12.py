"""The promote key's tooltip and palette help said NAME-promoted.safetensors only "when that exists" (f12 #3):
promote also keeps off NAME.safetensors while the run can be resumed or extended (core/promote.py)."""

from __future__ import annotations

from loratui.tui.screens.train import TrainScreen
from loratui.tui.screens.train_checkpoints import PALETTE


def test_the_promote_tooltip_and_palette_help_say_when_the_copy_is_not_name_safetensors():
    binding = next(b for b in TrainScreen.BINDINGS if b.id == "train.promote")
    assert binding.tooltip == (
        "Copy the highlighted checkpoint to NAME.safetensors, or NAME-promoted.safetensors while the run can be "
        "resumed or extended or that name exists (never overwrites; a run moves a promoted copy aside before "
        "writing its final)")
    note = next(note for _, binding_id, note, *_ in PALETTE if binding_id == "train.promote")
    assert "while the run can be resumed or extended or that name exists" in note and "never overwrites" in note
