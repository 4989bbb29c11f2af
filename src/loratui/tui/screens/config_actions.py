"""What the settings screen does with files: save (in place; a file changed on disk meanwhile is merged
with the form's changed keys, asking when a key changed on both sides), save as, reload,
open, import a kohya_ss JSON, export sd-scripts TOML, and the hand-over to the Train screen.

``ConfigFileActions`` is mixed into ``SettingsScreen``; it expects ``self.form`` (ConfigForm),
``self.path`` (the file shown, None before the first save), ``self.suggested`` (where a new config
goes), ``config_edited()`` and ``show_status()``. Every read and write runs in a thread worker
(services.work) and reaches the form on the UI thread; failures are one line from core.

Save as writes what ctrl+s would: the text the form was loaded from (``self.loaded_text``, read with
it) with the form's values put in by core's in-place writer (update_config_text), so the user's
comments and key order come along; only relative paths change, to point at the same places from the
new folder. Overwriting a file that vanished or cannot be read ("o") starts from that text too.

The kohya_ss import and sd-scripts export are in config_transfer.py (``ConfigImportExport``, a base of
``ConfigFileActions``); the small rules these use (``starter_config``, ``rebase_paths``,
``family_line``, the problems of a saved file) are in config_rules.py, re-exported here.
"""

from __future__ import annotations

import os
from pathlib import Path

from loratui.core.config import (
    ConfigError, TrainingConfig, check_paths, dumps_config, load_config, loads_config, publish_config_bytes,
    save_config, update_config_text, validate,
)
from loratui.core.errors import ConflictError, LoratuiError
from loratui.tui.screens.config_dialogs import ChoiceDialog, OfferDialog, PathDialog
from loratui.tui.screens.config_picker import FilePicker
from loratui.tui.screens.config_rules import (  # the settings screen and tests import these from here
    FAMILY_LABELS, family_line, file_problems, problems_note, rebase_paths, saved_problems, starter_config,
    suggested_path,
)
from loratui.tui.screens.config_transfer import ConfigImportExport, PendingPrompts, place_prompts
from loratui.tui.services.config_watch import file_state
from loratui.tui.services.work import failure_line, report_failure, run_in_thread
from loratui.tui.widgets.config_form import build_config, config_values

__all__ = ["FAMILY_LABELS", "ConfigFileActions", "copy_name", "describe_changes", "family_line", "file_problems",
           "file_state", "problems_note", "read_config_text", "rebase_paths", "saved_problems", "starter_config",
           "suggested_path"]


# names typed in save as that are another kind of file: refused by name rather than saved as NAME.json.toml
OTHER_FILE_TYPES = (".json", ".yaml", ".yml", ".txt", ".ini", ".cfg", ".safetensors")


def read_config_text(path: Path, cfg: TrainingConfig) -> str | None:
    """The text of ``path``, read right after load_config gave ``cfg``: what save as and an overwrite start
    from. None when it cannot be read or no longer holds ``cfg`` (changed in between: a fresh layout then)."""
    try:
        text = path.read_bytes().decode("utf-8")
        same = loads_config(text.removeprefix("\ufeff"), str(path)) == cfg
    except (OSError, UnicodeDecodeError, LoratuiError):
        return None
    return text if same else None


def copy_name(path: Path) -> Path:
    """A free name beside ``path`` for save as: NAME-copy.toml, else NAME-copy-2.toml, ..."""
    for n in range(1, 1000):
        candidate = path.with_name(f"{path.stem}-copy{'' if n == 1 else f'-{n}'}{path.suffix}")
        if not os.path.lexists(candidate):
            return candidate
    return path.with_name(f"{path.stem}-copy{path.suffix}")  # the dialog says it exists


def _write_into_text(cfg: TrainingConfig, path: Path, kept: str | None, new_file: bool) -> str:
    """Write ``cfg`` to ``path`` as ``kept`` (the loaded file's text) edited in place: ctrl+s's way, for a
    file ctrl+s cannot edit (a new name, or one gone or unreadable, overwritten on request); ``kept`` None:
    config new's fresh layout. ``new_file`` (save as) never replaces a file, even one made after the dialog
    checked the name. Returns the words for the save message ("" unless the comments could not be kept)."""
    note = ""
    try:
        text = dumps_config(cfg) if kept is None else update_config_text(kept, cfg, source=str(path))
    except ConfigError:  # a layout tomlkit cannot edit: the values matter more than the comments
        text, note = dumps_config(cfg), " (as a fresh file: the loaded file's layout could not be edited in place)"
    publish_config_bytes(path, text.encode("utf-8"), create_only=new_file)
    return note


def _save_and_reload(cfg: TrainingConfig, path: Path, force: bool, kept: str | None, new_file: bool,
                     prompts: PendingPrompts | None) -> tuple:
    """(wrote, the saved config, its state, its problems, its text, words for the message)."""
    cfg, note = place_prompts(cfg, path, prompts)
    if kept is None and not new_file:
        wrote = save_config(cfg, path, force=force)
    else:
        note = _write_into_text(cfg, path, kept, new_file) + note
        wrote = True
    saved = load_config(path)
    return wrote, saved, file_state(path), saved_problems(path), read_config_text(path, saved), note


def _load(path: Path) -> tuple[TrainingConfig, tuple, str | None]:
    cfg = load_config(path)
    return cfg, file_state(path), read_config_text(path, cfg)


def _reread(path: Path) -> tuple[TrainingConfig | None, tuple, str]:
    """(the file as it is now, its state, why it cannot be read) for a merge after a conflict."""
    try:
        return load_config(path), file_state(path), ""
    except LoratuiError as exc:
        return None, file_state(path), str(exc)


def describe_changes(changes: dict[tuple[str, str], tuple], limit: int = 4) -> str:
    """"key: old -> new" per change, a few per line."""
    lines = [f"  {key}: {_shown(key, old)} -> {_shown(key, new)}" for (_, key), (old, new) in
             list(changes.items())[:limit]]
    if len(changes) > limit:
        lines.append(f"  ... and {len(changes) - limit} more")
    return "\n".join(lines)


def _shown(key: str, value) -> str:
    from loratui.core.config import field_spec
    from loratui.tui.widgets.config_field import value_text

    return value_text(field_spec(key), value) or "(unset)"


class ConfigFileActions(ConfigImportExport):
    """File actions of the settings screen (see the module doc)."""

    # ---- what can be saved ------------------------------------------------------------------------

    def config_to_save(self, what: str) -> TrainingConfig | None:
        """The form's config, or None (with one line saying which field to fix) while a field is invalid."""
        invalid = self.form.invalid_fields()
        if invalid:
            more = f" (and {len(invalid) - 1} more)" if len(invalid) > 1 else ""
            self.notify(f"cannot {what}: {invalid[0].problem}{more}: fix the field first", severity="error")
            invalid[0].focus_editor()
            return None
        return self.form.current_config()

    def refuse_while_broken(self, what: str) -> bool:
        """A file that cannot be read shows no form (its defaults are not the file's values): nothing can be
        saved, exported or trained from it until it is fixed. Says so and returns True then."""
        if not self.broken:
            return False
        self.notify(f"cannot {what}: {self.path.name} cannot be read (the screen says why): fix it in an editor "
                    f"and save it (Settings reloads it then; {self.key_does('settings.reload', 'now')}), or "
                    f"{self.key_does('settings.open', 'opens another config')}",
                    severity="error", timeout=8)
        return True

    @property
    def folder(self) -> Path:
        return (self.path or self.suggested).parent

    # ---- save, save as, conflicts -----------------------------------------------------------------

    def action_save(self, then=None) -> None:
        if self.refuse_while_broken("save"):
            return
        cfg = self.config_to_save("save")
        if cfg is None:
            return
        if self.path is None:
            self.action_save_as(then)
            return
        self.write_config(cfg, self.path, then=then)

    def action_save_as(self, then=None) -> None:
        if self.refuse_while_broken("save as"):
            return
        cfg = self.config_to_save("save")
        if cfg is None:
            return

        def check(path: Path) -> str | None:
            if path.suffix.lower() != ".toml":
                kohya = (f" ({self.key_does('settings.import_kohya', 'imports a kohya_ss .json')})"
                         if path.suffix.lower() == ".json" else "")
                return f"{path.name}: a config file ends in .toml{kohya}"
            if path.exists():
                return f"{path} already exists: choose another name (save as never overwrites a config)"
            if not path.parent.is_dir():
                return f"{path.parent} is not a folder: create it first"
            return None

        def chosen(path: Path | None) -> None:
            if path is None:
                return
            new = rebase_paths(cfg, path.parent)
            if self.path is None and new.saving.output_name == self.suggested.stem:
                new.saving.output_name = path.stem  # as `config new` names the LoRA after the file
            # ctrl+s to a new name: the loaded file's text with the form's values (a new config: config new's)
            kept = self.loaded_text if self.form.has_file and self.path is not None else None
            self.write_config(new, path, then=then, kept=kept, new_file=True)

        if self.path is None:
            # its name only: the dialog reads a relative path from self.folder, the suggestion's folder
            title, initial = "Create the config (the defaults of `loratui config new`)", self.suggested.name
        else:  # the file's own name is always refused: offer a free one, all selected (typing replaces it)
            title, initial = "Save the config as", copy_name(self.path).name
        prompt = "A new .toml file (a relative path starts in the config's folder; .toml is added if left out):"
        self.app.push_screen(PathDialog(title, prompt, initial, self.folder, check, select=True, suffix=".toml",
                                        other_suffixes=OTHER_FILE_TYPES), chosen)

    def write_config(self, cfg: TrainingConfig, path: Path, *, force: bool = False, then=None,
                     merged: str = "", kept: str | None = None, new_file: bool = False) -> None:
        """Save ``cfg`` to ``path`` in a thread; a file changed on disk meanwhile goes to ask_conflict.
        ``merged`` (the merge's own words) means ``cfg`` is the form merged into the new file: the
        fields then show the file as saved (the outside changes too). ``kept``: write ``cfg`` into this
        text (the loaded file's) rather than into what ``path`` holds: save as (``new_file``: never over
        a file) and an overwrite of a file that vanished or cannot be read. Imported sample prompts
        still pending are written first, beside ``path`` (config_transfer.place_prompts)."""
        def done(result) -> None:
            wrote, saved, stat, problems, text, note = result
            if (path != self.path or self.pending_prompts is not None) and not merged:
                self.show_value_changes(saved)  # moved paths, the prompts file's name
            self.path, self.broken, self.loaded_stat = path, None, stat
            self.broken_foreign = None
            self.loaded_text, self.pending_prompts = text, None
            self.app.config_path = path
            self.file_settled()
            if merged:
                self.form.load(saved, has_file=True)
            else:
                self.form.adopt_file(saved)
            self.config_edited()
            self.draft_settled()  # saved: the draft goes (one not restored yet stays, on its own)
            self.check_files(force=True)
            self.follow_caption_extension(saved.dataset.caption_extension)
            if wrote:
                what = f"saved {path.name}{merged}{note}"
            elif merged:
                what = f"{path.name} left as it is (it already holds the merged settings){merged}{note}"
            else:
                what = f"{path.name} already holds these settings: nothing written{note}"
            self.notify(what + problems_note(problems), severity="warning" if problems else "information",
                        timeout=12 if problems else 5)
            if wrote:  # a live run read its config at start: said once per run (services.live_run)
                from loratui.tui.services.live_run import tell_once

                tell_once(self)
            if then is not None:
                then()

        def failed(exc: BaseException) -> None:
            if isinstance(exc, ConflictError):
                self.ask_conflict(path, then)
            else:
                report_failure(self.app, f"saving {path.name}", exc)

        run_in_thread(self, _save_and_reload, cfg, path, force, kept, new_file, self.pending_prompts, done=done,
                      failed=failed, what=f"saving {path}", group="config-file")

    def follow_caption_extension(self, extension: str) -> None:
        """A saved caption_extension the Dataset screen does not read yet: it reads the captions again
        with the new one (its edits, the Caption screen's default and the watcher follow)."""
        store = self.app.store
        if extension == store.caption_extension:
            return
        store.caption_extension = extension
        try:
            stack = self.app.get_screen_stack("dataset")
        except (KeyError, LookupError):
            stack = []
        for screen in stack:
            rescan = getattr(screen, "action_rescan", None)
            if rescan is not None:
                rescan()
        self.notify(f"the Dataset screen now reads the {extension} captions", timeout=6)

    def show_value_changes(self, saved: TrainingConfig) -> None:
        """Values that moved on a save as (relative paths, output_name) shown in their fields."""
        for key, value in config_values(saved).items():
            field = self.form.fields[key]
            if field.value != value:
                field.show_value(value)

    # ---- the file changed on disk: merge ------------------------------------------------------------

    def ask_conflict(self, path: Path, then) -> None:
        """Someone saved ``path`` since the form loaded it: read it again and offer to merge the form's
        changed keys into it (in place, as any save: the outside comments stay); when a key changed on
        both sides, name it and let the user keep either side. Nothing is written without a choice."""
        run_in_thread(self, _reread, path, done=lambda result: self.offer_merge(path, then, *result),
                      what=f"reading {path.name} again", group="config-file")

    def offer_merge(self, path: Path, then, new: TrainingConfig | None, stat: tuple, why: str) -> None:
        if self.form.current_config() is None:  # a field made invalid while the file was read again
            # the key the keymap binds to save (a moved ctrl+s is the one named)
            self.app.notify(f"a field's value is not valid: fix it (its message says how), then "
                            f"{self.key_does('settings.save', 'again')}; nothing was written", severity="warning")
            return
        loaded = config_values(self.form.base)
        mine = {f.key: (f.file_value, f.value) for f in self.form.changed_fields()}
        if new is None:  # not readable now (half-saved, broken, deleted): nothing to merge into
            body = (f"{path} changed on disk since it was loaded and cannot be read now:\n  {why}\n\n"
                    f"Your {len(mine)} change(s):\n{describe_changes(mine)}\n\n"
                    "o writes the whole form over it (what the file holds now is lost; the comments the app "
                    f"loaded are kept); {self.key_does('settings.save_as', 'saves to a new file instead')}. "
                    "Nothing was written.")
            cfg = self.form.current_config()
            kept = self.loaded_text if self.form.has_file else None  # the form goes into the text it came from
            self.app.clear_notifications()  # the "changed on disk" toast would cover the dialog's keys at 80x24
            self.app.push_screen(
                OfferDialog("changed on disk (cannot be read)", body, [("o", "overwrite with the form")],
                            confirm={"o": "overwrite the file with the form"}),
                lambda choice: self.write_config(cfg, path, force=True, then=then, kept=kept)
                if choice == "o" and cfg else None)
            return
        theirs = {key: (loaded[key], value) for key, value in config_values(new).items() if value != loaded[key]}
        both = {key for key in mine if key in theirs and theirs[key][1] != mine[key][1]}
        kept = {key: change for key, change in theirs.items() if key not in mine}
        outside = (f"The outside change(s) to settings:\n{describe_changes(theirs)}" if theirs else
                   "The outside change touched no setting (comments or layout only).")
        body = (f"{path} changed on disk since it was loaded (another program or editor saved it).\n{outside}\n"
                f"Your {len(mine)} change(s) in the form:\n{describe_changes(mine)}\n")
        if both:
            clash = "\n".join(f"  {key}: the file now has {_shown(key, theirs[(s, key)][1])}, the form "
                              f"{_shown(key, mine[(s, key)][1])}" for s, key in sorted(both, key=lambda k: k[1]))
            body += (f"Changed on both sides:\n{clash}\nm keeps yours for these, t keeps the file's; every other "
                     "change of both sides is kept. r reloads (your changes are dropped). Nothing was written yet.")
            choices = [("m", "keep mine"), ("t", "keep theirs"), ("r", "reload")]
            title = f"changed on disk: {len(both)} key(s) changed on both sides"
        else:
            body += ("m writes your changes into the new file and keeps the outside ones (comments too); "
                     "r reloads (your changes are dropped). Nothing was written yet.")
            choices = [("m", "merge"), ("r", "reload")]
            title = "changed on disk: merge?"

        def answer(choice: str | None) -> None:
            if choice == "r":
                self.load_file(path)
            elif choice in ("m", "t"):
                values = {key: new_value for key, (_, new_value) in mine.items() if choice == "m" or key not in both}
                merged = build_config(new, values)
                names = ", ".join(key for _, key in kept) or "none"
                note = f": your {len(values)} change(s) merged into the file changed outside"
                if kept:
                    note += f", keeping its change(s) to {names}"
                if both:
                    side = "your value" if choice == "m" else "the file's value"
                    note += f"; {side} kept for {', '.join(key for _, key in sorted(both))}"
                self.write_config(merged, path, then=then, merged=note)

        self.app.clear_notifications()  # the "changed on disk" toast would cover the dialog's keys at 80x24
        # an OfferDialog: it opens after a re-read, so keys typed meanwhile were meant for the form (an r
        # there would reload and drop the edits), and r asks y since it drops them
        self.app.push_screen(OfferDialog(title, body, choices, confirm={"r": "reload (your changes are dropped)"}),
                             answer)

    # ---- load, reload, open ------------------------------------------------------------------------

    def load_file(self, path: Path, note: str = "", *, outside: bool = False) -> None:
        """Read ``path`` into the form (``note``: what to say instead of "loaded PATH"). A file that cannot
        be read shows why in place of the form (show_broken) and in the status line. ``outside``: a
        reload the watcher started with nothing unsaved; typing that came while the file was read is
        not overwritten (the change is named instead, as when there were edits at once)."""
        def typed_meanwhile() -> bool:
            if outside and not self.broken and self.form.unsaved_edits():
                merges = self.key_does("settings.save", "merges your changes into it")
                reloads = self.key_does("settings.reload", "reloads it")
                self.outside_note = (f"{path.name} changed on disk: {merges} (asking about a key changed on both "
                                     f"sides); {reloads} (your changes are lost)")
                self.notify(self.outside_note, severity="warning", timeout=8)
                self.show_status()
                return True
            return False

        def done(result) -> None:
            if typed_meanwhile():
                return
            base, stat, text = result
            self.path, self.broken, self.loaded_stat = path, None, stat
            self.broken_foreign = None
            self.loaded_text, self.pending_prompts = text, None  # the form shows the file: no import waits
            self.app.config_path = path
            self.file_settled()
            self.form.load(base, has_file=True)
            self.config_edited()
            self.check_files(force=True)
            self.notify(note or f"loaded {path}")
            self.check_draft_and_leftovers()

        def failed(exc: BaseException) -> None:
            from loratui.core.config import ConfigError

            if not isinstance(exc, ConfigError):  # gone, unreadable: the form stays as it was
                self.outside_note = failure_line(f"cannot reload {path.name}", exc)[0]
                self.show_status()
                report_failure(self.app, "", exc)
                return
            if typed_meanwhile():
                return
            self.path, self.app.config_path = path, path
            self.broken, self.broken_lines, self.loaded_stat = str(exc), list(exc.problems), file_state(path)
            self.broken_foreign = getattr(exc, "foreign", None)
            self.pending_prompts = None
            self.file_settled()
            self.form.load(self.form.base, has_file=self.form.has_file)  # edits were discarded to get here
            self.config_edited()
            self.notify(f"{path.name} cannot be read: the screen says why", severity="error")

        run_in_thread(self, _load, path, done=done, failed=failed, what=f"loading {path}", group="config-file")

    def unless_unsaved(self, what: str, go) -> None:
        """Run ``go()`` now, or after a yes when the form holds changes the file does not."""
        changed = len(self.form.changed_fields())
        if self.broken or (not changed and self.form.has_file):  # a broken file shows no form: nothing to lose
            go()
            return
        count = f"{changed} changed field(s)" if self.form.has_file else "the config (never saved)"
        def answer(choice: str | None) -> None:
            if choice == "d":
                self.forget_form_draft()
                go()
            elif choice == "s":
                self.action_save(go)

        self.app.clear_notifications()  # a toast (f5 after "changed on disk") would cover the dialog's keys
        self.app.push_screen(ChoiceDialog("unsaved changes", f"{what} discards {count}.",
                                          [("d", "discard them"), ("s", "save first")]), answer)

    def action_reload(self) -> None:
        if self.path is None:
            creates = self.key_does("settings.save", "creates it")
            self.notify(f"nothing to reload: this config is not saved yet ({creates})", severity="warning")
            return
        path = self.path
        self.unless_unsaved(f"reloading {path.name}", lambda: self.load_file(path))

    def action_open(self) -> None:
        def chosen(path: Path | None) -> None:
            if path is not None:
                self.unless_unsaved(f"opening {path.name}", lambda: self.load_file(path))

        self.app.push_screen(FilePicker(self.folder, suffixes=(".toml",), title="Open a config"), chosen)

    # ---- start training ------------------------------------------------------------------------------

    def action_train(self) -> None:
        """Save (after asking) and start a run: the Train screen's own start (its dialog shows the exact
        command and what the run would overwrite; Enter there starts it)."""
        if self.refuse_while_broken("start training"):
            return
        cfg = self.config_to_save("start training")
        if cfg is None:
            return
        problems = validate(cfg) + check_paths(cfg)
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            self.notify(f"cannot start training: {problems[0]}{more}", severity="error")
            return
        if self.form.unsaved:
            where = self.path.name if self.path else "a new file"
            self.app.push_screen(
                ChoiceDialog("start training", f"The run reads the saved file: save the form to {where} first? "
                             "The Train screen then shows the run's command; Enter there starts it.",
                             [("s", "save and start")]),
                lambda choice: self.action_save(self.hand_over) if choice == "s" else None)
        else:
            self.hand_over()

    def hand_over(self) -> None:
        """The Train screen starts a run from ``app.config_path``: switch to it, then its start action (the
        `s` key there), once it is the screen shown."""
        if self.path is None:
            return
        self.app.config_path = self.path
        switched = self.app.switch_mode("train")
        train = self.app.screen  # switch_mode made it current; its arrival (ScreenResume) is still queued
        if not hasattr(train, "action_start"):
            return
        if hasattr(train, "offered"):  # the runs picker it offers on arrival would cover the start dialog
            train.offered = True

        async def start() -> None:
            await switched
            train.action_start()

        self.app.call_later(start)
