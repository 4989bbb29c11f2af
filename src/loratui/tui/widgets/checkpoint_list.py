"""CheckpointList: the LoRA files a run saved (every intermediate save, then the final one), one line
each: epoch, step, the average loss around it (the run's moving average when it was saved) and how
many sample images belong to it; samples rendered between saves ("sample now") have lines of their
own, marked "sample". Two saves at one step (save now at the end of an epoch: NAME-step00000013 and
NAME-000001, the same weights) say which is which ("save now", "step", "epoch"); an earlier run's
file that is no longer there is marked "gone". The screen previews the highlighted one's samples and promotes or
continues from it; this widget only lists and keeps the highlight on the same file across updates.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

KIND_WORDS = {"epoch": "epoch", "step": "step", "final": "final"}


def kind_word(checkpoint) -> str:
    """What wrote it: "save now" (a request), "step", "epoch" or "final"."""
    return "save now" if getattr(checkpoint, "asked", False) else KIND_WORDS.get(checkpoint.kind, checkpoint.kind)


def step_text(step: int) -> str:
    """A save's step, short from 100,000 on (200k, 196.5k) so that a week-long run's line fits the side
    panel; the detail line under the preview names the file (its exact step)."""
    if step >= 100_000 and step % 100 == 0:
        return f"{step // 1000}k" if step % 1000 == 0 else f"{step / 1000:.1f}k"
    return f"{step:,}"


def checkpoint_label(checkpoint, shared: bool = False) -> str:
    """One line, what matters most first: the list cuts a line at its width (…) rather than wrap it, so
    the kind (final, save now) comes before the sample count and +state; ``shared``: another save has
    the same step (its kind tells them apart)."""
    where = f"e{checkpoint.epoch} s{step_text(checkpoint.step)}"
    if checkpoint.kind == "sample":  # rendered between saves: images only, no LoRA file
        return f"{where} sample {len(checkpoint.samples)}img"
    loss = "  -   " if checkpoint.avg_loss is None else f"{checkpoint.avg_loss:.4f}"
    samples = f" {len(checkpoint.samples)}img" if checkpoint.samples else ""
    kind = f" {kind_word(checkpoint)}" if shared or checkpoint.kind == "final" else ""
    state = " +state" if checkpoint.state else ""
    if getattr(checkpoint, "gone", False):  # first after the loss: the side panel cuts the end of a line off
        return f"{where} {loss} gone{kind}"
    return f"{where} {loss}{kind}{samples}{state}"


def checkpoint_detail(checkpoint) -> str:
    """The line under the preview: the file, and what there is to see or continue from."""
    if checkpoint.kind == "sample":
        return f"sample(s) at step {checkpoint.step:,}: no LoRA saved at this step"
    if getattr(checkpoint, "gone", False):
        return f"{Path(checkpoint.path).name} is gone (deleted, or written over by a later run)"
    samples = f"{len(checkpoint.samples)} sample(s)" if checkpoint.samples else "no samples"
    state = f"state {Path(checkpoint.state).name}" if checkpoint.state else "no state"
    folder = Path(checkpoint.path).parent.name
    where = f"{folder}/" if "-kept-" in folder else ""  # an earlier run's save, moved aside by a later run
    asked = " (save now)" if getattr(checkpoint, "asked", False) else ""
    return f"{where}{Path(checkpoint.path).name}{asked} · {samples} · {state}"


class CheckpointList(OptionList):
    """``set_checkpoints(checkpoints)`` with core.runs.Checkpoint items (newest last)."""

    DEFAULT_CSS = """
    CheckpointList { height: auto; max-height: 8; text-wrap: nowrap; text-overflow: ellipsis; }
    """  # one screen line per save: a long line is cut (…), never wrapped onto the next

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.checkpoints: list = []
        self._shown: tuple = ()
        self._marked: int | None = None  # the line drawn with the ▶

    def set_checkpoints(self, checkpoints) -> None:
        shown = tuple((str(c.path), c.step, len(c.samples), c.state is not None, c.avg_loss, getattr(c, "asked", False),
                       getattr(c, "gone", False)) for c in checkpoints)
        if shown == self._shown:
            return
        current = self.current
        follow_newest = current is None or self.highlighted == len(self.checkpoints) - 1
        self._shown, self.checkpoints = shown, list(checkpoints)
        self._marked = None
        self.set_options([Option(self._prompt(i), id=str(i)) for i in range(len(self.checkpoints))])
        if not self.checkpoints:
            return
        index = len(self.checkpoints) - 1
        if not follow_newest:  # the user looks at an older one: keep it
            index = next((i for i, c in enumerate(self.checkpoints) if c.path == current.path), index)
        self.highlighted = index

    def _prompt(self, index: int, cursor: bool = False) -> Text:
        checkpoint = self.checkpoints[index]
        shared = checkpoint.kind != "sample" and any(
            other is not checkpoint and other.step == checkpoint.step and other.kind != "sample"
            for other in self.checkpoints)
        return Text(("▶ " if cursor else "  ") + checkpoint_label(checkpoint, shared))

    def watch_highlighted(self, highlighted: int | None) -> None:
        """The highlighted line is marked ▶, not only coloured (the README's rule: marks say what colours say)."""
        marked = getattr(self, "_marked", None)
        if marked != highlighted:
            if marked is not None and marked < self.option_count:
                self.replace_option_prompt_at_index(marked, self._prompt(marked))
            if highlighted is not None and highlighted < self.option_count:
                self.replace_option_prompt_at_index(highlighted, self._prompt(highlighted, cursor=True))
            self._marked = highlighted
        super().watch_highlighted(highlighted)

    @property
    def current(self):
        """The highlighted checkpoint, or None."""
        if self.highlighted is None or not 0 <= self.highlighted < len(self.checkpoints):
            return None
        return self.checkpoints[self.highlighted]
