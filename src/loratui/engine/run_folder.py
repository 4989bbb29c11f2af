"""The run's output folder: made and locked as the run starts, its events file opened (a finished run's
moved aside, a resumed run's history carried over, NAME.events.jsonl linked to an --events file
elsewhere), what killed saves left removed, and the last run's files moved aside (engine/outputs.py
moves its saves and states, ``move_samples_aside`` here its sample images; this says what moved). The
folder deleted while the run goes on is made again (the docstring of engine/run.py)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from loratui.core.errors import LoratuiError
from loratui.core.events import (ControlReader, EventWriter, control_path, events_path, log_path,
                                 rotate_events)


def reopen_deleted_log(path: Path, fds: tuple[int, ...] = (1, 2)) -> bool:
    """Point those of ``fds`` that write into ``path`` after it was deleted (the TUI sends a run's stdout and
    stderr to NAME.log; an `rm -rf` of the output folder unlinks it under the run) at a new file there.
    Linux only (/proc names a descriptor's file); True when one was moved."""
    import stat

    wanted = str(Path(path).resolve())
    moved, fresh = False, None
    for fd in fds:
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_nlink:
                continue
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.removesuffix(" (deleted)") != wanted:
            continue
        if fresh is None:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except (OSError, ValueError, AttributeError):
                    pass
            fresh = os.open(wanted, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.dup2(fresh, fd)
        moved = True
    if fresh is not None:
        os.close(fresh)
    return moved


class RunFolder:
    """Run's output folder (see the module docstring). The first process only: it holds the lock and
    the event writer."""

    OUTPUT_CHECK_EVERY = 2.0  # seconds between two looks at the output folder (one stat each), besides saves

    def _open_output(self, resume_note: str | None) -> None:
        """Make the folder, take the lock, open the events file and say what the last run left: before
        the model loads, after every check that can refuse the run."""
        self.output_dir.mkdir(parents=True, exist_ok=True)
        stale = self.lock.acquire()
        # requests made while the run was starting count (read at its first step), older ones do not
        self.controls = ControlReader(control_path(self.output_dir, self.name), since=self.launched_at)
        if self.events_file.is_symlink() and not self.events_file.exists():
            self.events_file.unlink()  # an earlier --events run's link, its file gone since
        standard = events_path(self.output_dir, self.name)
        # a resume appends to the history of the run it continues; not to a file a later run began
        self.later_run_events = bool(self.resume) and self._begun_after_the_state(standard)
        fresh_file = not self.resume or (self.later_run_events and self.events_file == standard)
        rotated = rotate_events(self.events_file) if fresh_file else None  # one training per file
        self.history_copied = self._carry_history(standard)
        self.writer = EventWriter(self.events_file, sys.stdout if self.echo_json else None)
        if rotated is not None:
            what = ("the events of a run started after this state was saved" if self.resume
                    else "the previous run's events")
            self.say(f"{what} are now in {rotated.name}")
        self._link_standard_events()
        for note in (stale, resume_note):
            if note:
                self.warn(note)
        for note in self.resume_notes:
            self.say(note)
        self._remove_leftovers()
        # the last run's saves and states move aside later (run.py: once the network is built and the data
        # ready, before the first write), so a run that fails while loading leaves them where they were

    def check_output(self, force: bool = True) -> None:
        """The output folder, the events file or the lock deleted while the run goes on: make them again
        and say so (engine/run.py's docstring). ``force``: look now (before a save); else at most every
        OUTPUT_CHECK_EVERY seconds. The first process only (it holds the writer)."""
        if self.writer is None or self._remaking or self._remake_failed:
            return
        now = time.monotonic()
        if not force and now - self._output_checked < self.OUTPUT_CHECK_EVERY:
            return
        self._output_checked = now
        missing = [path for path in (self.output_dir, self.events_file, self.lock.path) if not os.path.lexists(path)]
        if missing:
            self._remaking = True
            try:
                self._remake_output(missing)
            except (OSError, LoratuiError):
                self._remake_failed = True  # once: the error it becomes is emitted without another try
                raise
            finally:
                self._remaking = False

    def _remake_output(self, missing: list[Path]) -> None:
        folder_gone = self.output_dir in missing
        self.output_dir.mkdir(parents=True, exist_ok=True)
        if self.lock.path in missing:
            self.lock.held = False
            self.lock.acquire()  # another run took the output meanwhile: its LoratuiError ends this one
        if self.events_file in missing:
            old, echo = self.writer, self.writer.echo
            old.close()
            self.writer = EventWriter(self.events_file)  # the run_started again, not echoed twice on --json
            if self.started_event is not None:
                self.writer.emit("run_started", **{k: v for k, v in self.started_event.items() if k != "event"})
            self.writer.echo = echo
        reopen_deleted_log(log_path(self.output_dir, self.name))
        if folder_gone:
            self._link_standard_events()  # --events elsewhere: the link went with the folder
        step = self.trainer.step if self.trainer is not None else 0
        when = f"at step {step:,}" if step else "before the first step"
        if folder_gone:
            what = (f"the output folder {self.output_dir} was deleted while the run was going ({when}): "
                    "made it again and the run goes on, but what it held (earlier saves, samples and states, "
                    "the events and the log so far) is gone")
        else:
            names = ", ".join(path.name for path in missing)
            what = (f"{names} deleted from {self.output_dir} while the run was going ({when}): "
                    "made again, and the run goes on")
        self.warn(what)

    def _link_standard_events(self) -> None:
        """With --events elsewhere, OUTPUT_DIR/NAME.events.jsonl becomes a link to that file, so that
        `loratui attach` and the app find this run as the output's latest. The file it replaces moves
        aside as usual (NAME.events.1.jsonl); on a resume its history was copied into the new file
        first (``_carry_history``), so that file holds the whole run."""
        standard = events_path(self.output_dir, self.name)
        target = self.events_file.resolve()
        if standard.resolve() == target:
            return
        if standard.is_symlink():
            standard.unlink()
        elif standard.exists():
            rotated = rotate_events(standard)
            if rotated is not None and getattr(self, "history_copied", False):
                self.say(f"the run's events so far are copied into {self.events_file}, which {standard.name} now "
                         f"links to (the file itself is kept as {rotated.name})")
            elif rotated is not None:
                self.say(f"the previous run's events are now in {rotated.name}")
        try:
            os.symlink(target, standard)
        except OSError as exc:  # a file system without links: the run is still followed by its --events path
            self.say(f"could not link {standard.name} to {target} ({exc.strerror or exc}): `loratui attach` "
                     "will not list this run")

    def _remove_leftovers(self) -> None:
        """Temp files of our own naming that killed saves left (the run lock is held: none is live)."""
        from loratui.engine.state import leftovers, remove_leftovers, removed_leftovers_line

        d = self.cfg.dataset
        folders = [Path(p) for p in (d.train_data_dir, d.reg_data_dir) if p]
        found = leftovers(self.output_dir, self.name, folders, d.caption_extension)
        count, size = remove_leftovers(found)
        if count:  # named: a killed sample write's sample/.NAME_..png.XXXXXXXX.tmp among them
            self.say(removed_leftovers_line(found, self.output_dir, count, size))

    def _begun_after_the_state(self, events_file: Path) -> bool:
        from loratui.engine.outputs import begun_after_state

        return begun_after_state(events_file, Path(self.resume), self.state_saved_at)

    def _carry_history(self, standard: Path) -> bool:
        """--events elsewhere on a resume of this output's run: its history so far goes into that file."""
        from loratui.engine.outputs import carry_history

        if not self.resume or self.later_run_events:
            return False
        return carry_history(standard, self.events_file)

    def _move_last_run_aside(self) -> None:
        """A fresh run, just before its first write: the last run's final LoRA, states, intermediate saves and
        sample images go into NAME-kept-<time>/ (see engine/outputs.py; samples as NAME-kept-<time>/sample/...).
        Said either way. network_weights among them was loaded already (from where it was) and goes along; when
        it is the final, a copy goes and the final stays until this run completes and writes its own."""
        from loratui.core.config import resolve_path
        from loratui.core.runs import SAMPLE_FOLDER
        from loratui.engine.outputs import move_last_run_aside

        weights = (self.cfg.network.network_weights or "").strip()
        weights = resolve_path(self.cfg, weights) if weights else None
        aside = move_last_run_aside(self.output_dir, self.name, starting_weights=weights)
        folder, moved = aside.folder, aside.moved
        for note in aside.notes:  # a promoted copy in NAME.safetensors went to its own name
            self.warn(note)
        # its samples are named by step like this run's: left in place, this run's would write over them
        folder, samples = move_samples_aside(self.output_dir, self.name, folder)
        final = self.output_dir / f"{self.name}.safetensors"
        overwrite = (f"its {final.name} is overwritten when this one completes (another saving.output_name "
                     "keeps it)") if final.exists() else ""
        if aside.weights is not None:
            if aside.weights_was == "final":  # loaded from where it was, before this copy was made
                self.warn(f"network.network_weights {weights} is the last run's final LoRA, which this run "
                          f"overwrites when it completes: this run loaded it, and a copy is kept as {aside.weights} "
                          "(point network_weights there for later runs)")
            else:
                self.warn(f"network.network_weights {weights} was among the last run's files, which this run "
                          f"writes over: this run loaded it, then it moved with them to {aside.weights} (point "
                          "network_weights there for later runs)")
        images = (f"{len(samples)} sample image(s) ({SAMPLE_FOLDER}/{samples[0].name}"
                  + (f" and {len(samples) - 1} more" if len(samples) > 1 else "") + ")") if samples else ""
        if moved:
            names = ", ".join(p.name for p in moved[:3]) + (f" and {len(moved) - 3} more" if len(moved) > 3 else "")
            what = ("final LoRA, states and intermediate saves" if any(p.name == final.name for p in moved)
                    else "states and intermediate saves")
            self.warn(f"a new run named {self.name}: the last run's {what} ({names})"
                      + (f" and its {images}" if images else "") + f" moved to {folder} (a state belongs to its "
                      "own run; resume or delete them there)" + (f"; {overwrite}" if overwrite else ""))
        elif samples:
            self.warn(f"a new run named {self.name}: the last run's {images} moved to {folder}, where its "
                      "checkpoints still show them" + (f"; {overwrite}" if overwrite else ""))
        elif overwrite:
            self.warn(f"a new run named {self.name}: the last run's {final.name} in {self.output_dir} is "
                      f"overwritten when this one completes (another saving.output_name keeps it)")


def move_samples_aside(output_dir: Path, name: str, folder: Path | None, samples: list[Path] | None = None
                       ) -> tuple[Path | None, list[Path]]:
    """Move the last run's sample images (core.runs ``previous_samples``; a resume: ``samples``, those past
    its state's step) into ``folder`` (the kept folder its saves went to), keeping their place:
    OUTPUT_DIR/sample/X -> folder/sample/X, where core/runs.py ``earlier_checkpoints`` looks for them.
    Without a folder (no save moved) one is made, named as engine/outputs.py names it: NAME-kept-<time of
    the newest>. Returns the folder and what moved; a sample that cannot be moved stays (this run may
    write over it, as before)."""
    from loratui.core.runs import SAMPLE_FOLDER, previous_samples

    samples = previous_samples(output_dir, name) if samples is None else samples
    if not samples:
        return folder, []
    made = folder is None
    if made:
        newest = max((os.path.getmtime(p) for p in samples if os.path.lexists(p)), default=time.time())
        stem = f"{name}-kept-{time.strftime('%Y%m%d-%H%M%S', time.localtime(newest))}"
        folder, n = output_dir / stem, 1
        while os.path.lexists(folder):
            n += 1
            folder = output_dir / f"{stem}-{n}"
        folder.mkdir()
    moved = []
    for path in samples:
        target = folder / SAMPLE_FOLDER / path.name
        try:
            target.parent.mkdir(exist_ok=True)
            if os.path.lexists(target):
                continue
            os.replace(path, target)
        except OSError:
            continue
        moved.append(path)
    if made and not moved:  # nothing went into the folder made for them
        for empty in (folder / SAMPLE_FOLDER, folder):
            try:
                empty.rmdir()
            except OSError:
                pass
        return None, []
    return folder, moved
