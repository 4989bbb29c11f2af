"""The Train screen's checkpoint side: the highlighted checkpoint's sample preview and the lines under it
(the sample's path, its prompt and seed, the keys, the LoRA file), and what acts on the highlighted
checkpoint: copy a path (OSC 52: works over SSH in most terminals), next sample, promote, continue from.
``CheckpointActions`` is mixed into TrainScreen (screens/train.py), which owns the run and the service;
so is ``TrainKeys``, the keys its texts name (the user's keymap applied), and its palette (``PALETTE``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from textual.widgets import OptionList, Static

from loratui.core.runs import state_step
from loratui.tui.screens.run_picker import NumberDialog, StartDialog
from loratui.tui.services.work import run_in_thread
from loratui.tui.widgets.checkpoint_list import checkpoint_detail

PALETTE = (  # (title, binding id, what its help says after the key, action, its arguments): every key
    ("train: runs (follow a live or past run)", "train.pick_run", "", "pick_run"),
    ("train: start a new run from the config", "train.start", " (shows the command first)", "start"),
    ("train: follow the run that is live now", "train.follow_live", " (said on the status line)", "follow_live"),
    ("train: stop the run gracefully", "train.stop", " (saves LoRA and state)", "stop"),
    ("train: save a LoRA now", "train.save_now", "", "save_now"),
    ("train: render samples now", "train.sample_now", "", "sample_now"),
    ("train: resume the stopped run", "train.resume", " (from NAME-state)", "resume"),
    ("train: extend the finished run by N epochs", "train.extend", "", "extend"),
    ("train: continue from the highlighted checkpoint", "train.continue_from", "", "continue_from"),
    ("train: promote the highlighted checkpoint", "train.promote",  # as the binding's tooltip (screens/train.py)
     " (a copy to NAME.safetensors, or NAME-promoted.safetensors while the run can be resumed or extended or that "
     "name exists; never overwrites)", "promote"),
    ("train: next sample image of the checkpoint", "train.next_sample", "", "next_sample"),
    ("train: copy the shown sample's path (OSC 52)", "train.copy_path", " (the LoRA's when it has no sample)",
     "copy_path"),
    ("train: copy the highlighted LoRA's path (OSC 52)", "train.copy_lora_path", "", "copy_path", True),
    ("train: open the setting the error points at", "train.open_setting", "", "open_setting"),
    ("chart: log scale on/off", "train.log_scale", "", "log_scale"),
    ("chart: zoom to fewer recent steps", "train.zoom_in", "", "zoom", 1),
    ("chart: zoom out", "train.zoom_out", "", "zoom", -1),
)
PALETTE_TITLES = {binding_id: title for title, binding_id, *_ in PALETTE}
SIDE_WIDTH = {False: 29, True: 43}  # #train-side's text columns (train.tcss: 30 / 44, less its border)


# engine/sampling.py's sample names (sd-scripts'): _<step>|_e<epoch>, _<index>, _<YYYYmmddHHMMSS>, _<seed> with --d;
# and the names before them: _<step>_<index>_<seed>
SD_SCRIPTS_SAMPLE = re.compile(r"_e?\d{6,}_(?P<index>\d{2,})_\d{14}(?:_(?P<seed>\d+))?$")
OLDER_SAMPLE = re.compile(r"_\d{6,}_(?P<index>\d{2,})_(?P<seed>-?\d+)$")


def shown_path(path: str | os.PathLike, output_dir: str | os.PathLike | None) -> str:
    """A file as a user would type it: relative to the output folder when inside it
    (``sample/p_000005_00_3.png``), else absolute with the home folder as ``~``."""
    path = Path(path)
    if output_dir is not None:
        try:
            return str(path.relative_to(output_dir))
        except ValueError:
            pass
    home = str(Path.home())
    text = str(path)
    return "~" + text[len(home):] if home not in ("", "/") and (text == home or text.startswith(home + "/")) else text


def left_cut(text: str, width: int) -> str:
    """``text`` in ``width`` columns, its start cut (``…/sample/NAME.png``): a path's end names the file."""
    if width < 2 or len(text) <= width:
        return text
    tail = text[-(width - 1):]
    slash = tail.find("/")
    return "…" + (tail[slash:] if 0 <= slash < len(tail) - 1 else tail)


def right_cut(text: str, width: int) -> str:
    """``text`` in ``width`` columns, its end cut (``a red circle, on…``): a prompt's start says most."""
    text = " ".join(text.split())  # one screen line
    return text if len(text) <= width else text[:max(0, width - 1)] + "…"


def sample_words(path: str | os.PathLike, about: dict | None = None, width: int | None = None) -> str | None:
    """What a sample shows: "a red circle · seed 3" from its sample_saved event (``about``: its prompt
    and seed; the prompt cut to leave the seed in ``width``), else from its name: "prompt 1 · seed 3" (the
    prompt counted from 1, as the prompt list; sd-scripts' names, NAME_STEP_II_TIME[_SEED].png, hold a seed
    only for a prompt with --d, the names before them NAME_STEP_II_SEED.png always); None for another name."""
    if about and isinstance(about.get("prompt"), str) and about["prompt"].strip():
        seed = f" · seed {about['seed']}" if isinstance(about.get("seed"), int) else ""
        room = max(8, width - len(seed)) if width else len(about["prompt"])
        return right_cut(about["prompt"], room) + seed
    stem = Path(path).stem
    named = SD_SCRIPTS_SAMPLE.search(stem) or OLDER_SAMPLE.search(stem)
    if named is None:
        return None
    seed = named["seed"]
    return f"prompt {int(named['index']) + 1}" + (f" · seed {seed}" if seed is not None else "")


def detail_lines(checkpoint, sample: Path | None, index: int, count: int, output_dir, width: int,
                 keys: tuple[str, str, str] = ("y", "v", "Y"), about: dict | None = None) -> list[str]:
    """The lines under the preview, each one screen line, keys where they are never cut off: the sample's
    path, its prompt and seed (``about``: from its sample_saved event; n/N when there are several), the keys
    (``keys``: copy path, next sample, copy the LoRA's path, as the user's keymap has them; "" for none),
    then the LoRA file and its state."""
    copy, following, lora = keys
    if checkpoint is None:
        return []
    lines = []
    if sample is not None:
        lines.append(left_cut(shown_path(sample, output_dir), width))
        place = f"{index + 1}/{count}" if count > 1 else None
        words = sample_words(sample, about, width - (len(place) + 3 if place else 0))
        lines.append(" · ".join(part for part in (words, place) if part))
    named = [f"{copy} copy path"] if copy and (sample is not None or checkpoint.kind != "sample") else []
    if count > 1 and following:
        named.append(f"{following} next")
    if lora and sample is not None and checkpoint.kind != "sample" and \
            len(" · ".join([*named, f"{lora} the LoRA's"])) <= width:
        named.append(f"{lora} the LoRA's")  # where it fits (the palette names it too)
    lines = [line for line in (*lines, " · ".join(named)) if line]
    lines.append(checkpoint_detail(checkpoint))
    return lines


class CheckpointActions:
    """The highlighted checkpoint: its preview and lines, and the keys that act on it (TrainScreen's)."""

    sample_index = 0

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_list is self.checkpoints:
            self.sample_index = 0
            self.show_checkpoint()

    def shown_sample(self) -> Path | None:
        """The sample image the preview shows, or None."""
        checkpoint = self.checkpoints.current
        samples = checkpoint.samples if checkpoint else []
        return Path(samples[self.sample_index % len(samples)]) if samples else None

    def show_checkpoint(self) -> None:
        from loratui.tui.widgets.image_preview import ImagePreview

        checkpoint = self.checkpoints.current
        sample = self.shown_sample()
        self.query_one(ImagePreview).show(sample)
        detail = self.query_one("#checkpoint-detail", Static)
        count = len(checkpoint.samples) if checkpoint else 0
        output_dir = self.snapshot.output_dir if self.snapshot is not None else None
        width = detail.size.width or SIDE_WIDTH[self.has_class("wide")]
        keys = tuple(self.key_for(f"train.{name}") for name in ("copy_path", "next_sample", "copy_lora_path"))
        lines = detail_lines(checkpoint, sample, self.sample_index % max(1, count), count, output_dir, width, keys,
                             self.sample_about(sample))
        detail.update("\n".join(lines))

    def sample_about(self, sample: Path | None) -> dict | None:
        """The prompt and seed the run's sample_saved event gave ``sample`` (by file name: a sample moved
        aside keeps it), or None (events before they carried them)."""
        about = getattr(self.snapshot, "sample_prompts", None) if sample is not None else None
        return about.get(sample.name) if isinstance(about, dict) else None

    def action_next_sample(self) -> None:
        self.sample_index += 1
        self.show_checkpoint()

    def action_copy_path(self, lora: bool = False) -> None:
        """Copy the shown sample's path (``lora``: the highlighted LoRA's; a checkpoint without samples: its
        LoRA's) to the terminal's clipboard: OSC 52, which most terminals honour over SSH too."""
        checkpoint = self.checkpoints.current
        if checkpoint is None:
            self.notify("no checkpoint or sample to copy the path of yet", severity="warning")
            return
        sample = None if lora else self.shown_sample()
        if sample is None and checkpoint.kind == "sample":
            self.notify(f"step {checkpoint.step:,} has sample images only, no LoRA", severity="warning")
            return
        path = str(sample or Path(checkpoint.path))
        self.app.copy_to_clipboard(path)
        self.notify(f"copied {path} (sent to the terminal's clipboard with OSC 52; in tmux: set-clipboard on)",
                    timeout=10)

    def action_continue_from(self) -> None:
        snapshot = self._shown()
        if snapshot is None or self._read_only(snapshot):
            return
        checkpoint = self.checkpoints.current
        if checkpoint is not None and checkpoint.kind == "sample":
            self.notify(f"step {checkpoint.step:,} has sample images only, no LoRA or state: highlight a checkpoint",
                        severity="warning")
            return
        if checkpoint is None or checkpoint.state is None:
            what = Path(checkpoint.path).name if checkpoint else "no checkpoint highlighted"
            self.notify(f"{what}: no saved state to continue from (saving.save_state = true keeps one with each "
                        "save, saving.save_state_on_train_end = true one with the final LoRA)", severity="error")
            return
        held = state_step(checkpoint.state)
        if held != checkpoint.step:  # the folder was written again by a later save, or is gone
            now = f"holds step {held:,} now" if held is not None else "cannot be read"
            self.notify(f"{Path(checkpoint.state).name} {now}, not step {checkpoint.step:,}: "
                        "continue from the checkpoint that owns it", severity="error")
            return
        config = snapshot.config
        if config is None:
            self.notify(f"{snapshot.name}: its run_started event names no config to continue with", severity="error")
            return
        from loratui.core.events import run_is_alive

        # said now, as e says it, not after the epochs and the command were asked for (the start refuses it)
        owner = run_is_alive(snapshot.output_dir, snapshot.name)
        if owner is not None or snapshot.status in ("starting", "live"):
            pid = owner or snapshot.pid
            self.notify(f"cannot continue from {Path(checkpoint.path).name}: {snapshot.name} is still running"
                        + (f" (pid {pid})" if pid else "") + ": stop it first, or wait until it ends",
                        severity="error")
            return

        def ask_command(epochs: int | None) -> None:
            if epochs:
                self.open_dialog(StartDialog(
                    f"continue from {Path(checkpoint.path).name}",
                    lambda n: self.service.command(config, processes=n, resume=checkpoint.state,
                                                   extend_epochs=epochs)), self._start)

        self.open_dialog(NumberDialog(f"continue from {Path(checkpoint.path).name}",
                                      "More epochs (--extend-epochs N): the run goes on from this "
                                      "checkpoint's state through its planned epochs, plus N.",
                                      lambda n: f"show the command for {n} more epoch(s)"), ask_command)

    def action_promote(self) -> None:
        snapshot = self._shown()
        if snapshot is None:
            return
        checkpoint = self.checkpoints.current
        if checkpoint is None:
            self.notify("no checkpoint to promote yet", severity="warning")
            return
        if checkpoint.gone:
            self.notify(f"{Path(checkpoint.path).name} of {snapshot.title} is gone (deleted, or written over by a "
                        "later run): nothing to promote", severity="warning")
            return
        if checkpoint.kind == "sample" and self.checkpoints.has_focus:
            self.notify(f"step {checkpoint.step:,} has sample images only, no LoRA: highlight a checkpoint",
                        severity="warning")
            return
        if not self.checkpoints.has_focus:  # p from the chart: which checkpoint was never shown
            self.checkpoints.focus()
            promote = self.key_for("train.promote") or "promote"
            self.notify(f"highlight the checkpoint to promote with ↑↓, then {promote}", timeout=6)
            return
        if Path(checkpoint.path).name == f"{snapshot.name}.safetensors":
            self.notify(f"{snapshot.name}.safetensors is the final LoRA already: highlight an epoch or step "
                        "checkpoint (↑↓) to promote", severity="warning")
            return
        from loratui.core.events import run_is_alive

        # its end writes NAME.safetensors: a promoted copy would go. An earlier run of the name is never
        # live itself, but the name's latest run may be
        if snapshot.status in ("starting", "live") or run_is_alive(snapshot.output_dir, snapshot.name):
            self.notify(f"{snapshot.name} is still running and writes {snapshot.name}.safetensors when it ends: "
                        "promote once it has stopped", severity="warning")
            return
        run = self.run
        run_in_thread(self, self.service.promote, run, checkpoint, what=f"promoting {Path(checkpoint.path).name}",
                      done=lambda result: self.notify(result[1], timeout=10))


class TrainKeys:
    """The keys the Train screen's texts name, with the user's keymap applied (the app's key_does)."""

    def key_for(self, binding_id: str) -> str:
        try:
            app = self.app
        except RuntimeError:  # NoActiveAppError: built outside an app (a test lists the palette): default keys
            return next((b.key_display or b.key.split(",")[0] for _, b in self._bindings if b.id == binding_id), "")
        return app.key_for(binding_id, self)

    def key_does(self, binding_id: str, does: str) -> str:
        """"x stops it"; without a key, the palette command that does it."""
        return self.app.key_does(self, binding_id, does, PALETTE_TITLES.get(binding_id, binding_id))

    def hints(self, *parts: str | tuple[str, str]) -> str:
        """Status-line parts joined by " · "; (binding id, what) reads "a: the runs", left out with no key."""
        keyed = [part if isinstance(part, str) else f"{self.key_for(part[0])}: {part[1]}" if self.key_for(part[0])
                 else "" for part in parts]
        return " · ".join(part for part in keyed if part)

    def settings_screen_named(self) -> str:
        key = self.app.key_for("app.settings")
        return f"the Settings screen ({key})" if key else "the Settings screen"
