"""What the settings screen does with files: save (in place; a file changed on disk meanwhile is merged
with the form's changed keys, asking when a key changed on both sides), save as, reload,
open, import a kohya_ss JSON, export sd-scripts TOML, and the hand-over to the Train screen.

``ConfigFileActions`` is mixed into ``SettingsScreen``; it expects ``self.form`` (ConfigForm),
``self.path`` (the file shown, None before the first save), ``self.suggested`` (where a new config
goes), ``config_edited()`` and ``show_status()``. Every read and write runs in a thread worker
(services.work) and reaches the form on the UI thread; failures are one line from core.

Three small rules live here because the CLI keeps them inside its commands (candidates for core):
``starter_config`` is `loratui config new`'s defaults, ``rebase_paths`` keeps relative paths
pointing at the same place when a config is saved into another folder, ``family_line`` says which
model family the base model is (read from the weights, else guessed from its name as `loratui vram`
does).
"""

from __future__ import annotations

import os
from pathlib import Path

from loratui.core.config import (
    PATH_KEYS, TrainingConfig, apply_cpu_defaults, check_paths, config_file_problems, earlier_export,
    export_sdscripts, file_name_problem, guess_model_family, import_kohya_file, load_config, missing_packages,
    resolve_path, save_config, validate,
)
from loratui.core.dataset import DatasetLocation
from loratui.core.errors import ConflictError, LoratuiError
from loratui.tui.screens.config_dialogs import ChoiceDialog, ImportReportDialog, PathDialog
from loratui.tui.screens.config_picker import FilePicker
from loratui.tui.services.config_watch import file_state
from loratui.tui.services.work import failure_line, report_failure, run_in_thread
from loratui.tui.widgets.config_form import build_config, config_values

FAMILY_LABELS = {"sd1": "SD1", "sd2": "SD2", "sdxl": "SDXL"}


def starter_config(target: Path, location: DatasetLocation) -> TrainingConfig:
    """The config `loratui config new TARGET` writes beside this dataset (not saved)."""
    folder = target.parent
    cfg = TrainingConfig()
    cfg.training.max_train_epochs = 10
    cfg.saving.save_every_n_epochs = 1
    cfg.saving.output_name = target.stem
    cfg.dataset.train_data_dir = Path(os.path.relpath(location.train_dir, folder)).as_posix()
    reg = folder / "reg"
    if reg.is_dir() and any(reg.iterdir()):
        cfg.dataset.reg_data_dir = "reg"
    if (folder / "model").is_dir():
        cfg.saving.output_dir = "model"
    apply_cpu_defaults(cfg)  # no GPU here: AdamW and fp32, as config new does
    cfg.config_dir = folder.resolve()
    return cfg


def suggested_path(location: DatasetLocation) -> Path:
    """Where a new config for this dataset goes: the project folder, named after it."""
    folder = location.project_dir or location.train_dir.parent
    name = folder.resolve().name
    if file_name_problem(name) or not name:
        name = "lora"
    return folder / f"{name}.toml"


def rebase_paths(cfg: TrainingConfig, folder: Path) -> TrainingConfig:
    """``cfg`` with its relative paths rewritten relative to ``folder`` (same places on disk)."""
    import copy

    old = cfg.config_dir
    out = copy.copy(cfg)
    for section in ("model", "dataset", "network", "saving", "sampling"):
        setattr(out, section, copy.copy(getattr(cfg, section)))
    for section, key in PATH_KEYS:
        value = getattr(getattr(cfg, section), key)
        if not value or os.path.isabs(os.path.expanduser(value)) or old is None:
            continue
        resolved = resolve_path(cfg, value, key=key)
        if resolved == value:  # a Hugging Face repo id
            continue
        setattr(getattr(out, section), key, Path(os.path.relpath(resolved, folder.resolve())).as_posix())
    out.config_dir = folder.resolve()
    return out


def family_line(cfg: TrainingConfig) -> tuple[str, str]:
    """(short label, one line) for the base model's family; reads a .safetensors header at most."""
    model, forced = cfg.model.pretrained_model_name_or_path, cfg.model.model_family
    if not model:
        if forced != "auto":
            return FAMILY_LABELS[forced], f"family: {FAMILY_LABELS[forced]} (set in model_family)"
        return "?", "family: unknown (no base model yet)"
    path = resolve_path(cfg, model, key="pretrained_model_name_or_path")
    read = guess_model_family(path)
    if forced != "auto":
        label = FAMILY_LABELS[forced]
        if read and read != forced:
            return label, (f"family: {label} (set in model_family), but the file looks like "
                           f"{FAMILY_LABELS[read]}: check model_family")
        return label, f"family: {label} (set in model_family)"
    if read:
        return FAMILY_LABELS[read], f"family: {FAMILY_LABELS[read]} (read from the model's weights)"
    from loratui.core.plan import guess_family

    guess = FAMILY_LABELS[guess_family(model)]
    why = "" if os.path.exists(path) or path == model else f" ({path} does not exist)"
    return guess + "?", (f"family: {guess}? guessed from the name{why}, as `loratui vram` does: "
                         "set model_family to be sure")


def _save_and_reload(cfg: TrainingConfig, path: Path, force: bool) -> tuple[bool, TrainingConfig, tuple, list[str]]:
    wrote = save_config(cfg, path, force=force)
    return wrote, load_config(path), file_state(path), saved_problems(path)


def saved_problems(path: Path) -> list[str]:
    """What `loratui config check PATH` reports (training refuses the file then), without the file name."""
    _, problems = config_file_problems(path)
    prefix = f"{path}: "
    return [p[len(prefix):] if p.startswith(prefix) else p for p in problems]


def problems_note(problems: list[str]) -> str:
    """", with N problem(s) training will refuse: the first two, up to their first ';' ..." for a save
    message (each field shows its own in full)."""
    if not problems:
        return ""
    shown = "; ".join(p.split("; ", 1)[0] for p in problems[:2])
    more = f"; and {len(problems) - 2} more" if len(problems) > 2 else ""
    return (f", with {len(problems)} problem(s) training will refuse: {shown}{more} "
            "(in full under the fields, as `loratui config check` says)")


def file_problems(cfg: TrainingConfig) -> list[str]:
    """What training would refuse about the files and packages ``cfg`` names (check_paths, missing
    packages): what `loratui config check` adds to the fields' own checks. Reads headers, lists folders."""
    return check_paths(cfg) + missing_packages(cfg)


def _load(path: Path) -> tuple[TrainingConfig, tuple]:
    return load_config(path), file_state(path)


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


class ConfigFileActions:
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
                    "and save it (Settings reloads it then; f5 now), or ctrl+o opens another config",
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
                return f"{path.name}: a config file ends in .toml"
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
            self.write_config(new, path, then=then)

        title = "Save the config as" if self.path else "Create the config (the defaults of `loratui config new`)"
        initial = str(self.path or self.suggested)
        prompt = "A new .toml file (a relative path starts in the config's folder):"
        self.app.push_screen(PathDialog(title, prompt, initial, self.folder, check), chosen)

    def write_config(self, cfg: TrainingConfig, path: Path, *, force: bool = False, then=None,
                     merged: str = "") -> None:
        """Save ``cfg`` to ``path`` in a thread; a file changed on disk meanwhile goes to ask_conflict.
        ``merged`` (the merge's own words) means ``cfg`` is the form merged into the new file: the
        fields then show the file as saved (the outside changes too)."""
        def done(result) -> None:
            wrote, saved, stat, problems = result
            if path != self.path and not merged:
                self.show_value_changes(saved)
            self.path, self.broken, self.loaded_stat = path, None, stat
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
                what = f"saved {path.name}{merged}"
            elif merged:
                what = f"{path.name} left as it is (it already holds the merged settings){merged}"
            else:
                what = f"{path.name} already holds these settings: nothing written"
            self.notify(what + problems_note(problems), severity="warning" if problems else "information",
                        timeout=12 if problems else 5)
            if then is not None:
                then()

        def failed(exc: BaseException) -> None:
            if isinstance(exc, ConflictError):
                self.ask_conflict(path, then)
            else:
                report_failure(self.app, f"saving {path.name}", exc)

        run_in_thread(self, _save_and_reload, cfg, path, force, done=done, failed=failed,
                      what=f"saving {path}", group="config-file")

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
            self.app.notify("a field's value is not valid: fix it (its message says how), then ctrl+s again; "
                            "nothing was written", severity="warning")
            return
        loaded = config_values(self.form.base)
        mine = {f.key: (f.file_value, f.value) for f in self.form.changed_fields()}
        if new is None:  # not readable now (half-saved, broken, deleted): nothing to merge into
            body = (f"{path} changed on disk since it was loaded and cannot be read now:\n  {why}\n\n"
                    f"Your {len(mine)} change(s):\n{describe_changes(mine)}\n\n"
                    "o writes the whole form over it (what the file holds now is lost); f2 saves to a new file "
                    "instead. Nothing was written.")
            cfg = self.form.current_config()
            self.app.push_screen(
                ChoiceDialog("changed on disk (cannot be read)", body, [("o", "overwrite with the form")]),
                lambda choice: self.write_config(cfg, path, force=True, then=then) if choice == "o" and cfg else None)
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

        self.app.push_screen(ChoiceDialog(title, body, choices), answer)

    # ---- load, reload, open ------------------------------------------------------------------------

    def load_file(self, path: Path, note: str = "") -> None:
        """Read ``path`` into the form (``note``: what to say instead of "loaded PATH"). A file that cannot
        be read shows why in place of the form (show_broken) and in the status line."""
        def done(result) -> None:
            base, stat = result
            self.path, self.broken, self.loaded_stat = path, None, stat
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
            self.path, self.app.config_path = path, path
            self.broken, self.broken_lines, self.loaded_stat = str(exc), list(exc.problems), file_state(path)
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

        self.app.push_screen(ChoiceDialog("unsaved changes", f"{what} discards {count}.",
                                          [("d", "discard them"), ("s", "save first")]), answer)

    def action_reload(self) -> None:
        if self.path is None:
            self.notify("nothing to reload: this config is not saved yet (ctrl+s creates it)", severity="warning")
            return
        path = self.path
        self.unless_unsaved(f"reloading {path.name}", lambda: self.load_file(path))

    def action_open(self) -> None:
        def chosen(path: Path | None) -> None:
            if path is not None:
                self.unless_unsaved(f"opening {path.name}", lambda: self.load_file(path))

        self.app.push_screen(FilePicker(self.folder, suffixes=(".toml",), title="Open a config"), chosen)

    # ---- kohya_ss import, sd-scripts export ----------------------------------------------------------

    def action_import_kohya(self) -> None:
        if self.refuse_while_broken("import into the form"):
            return

        def chosen(path: Path | None) -> None:
            if path is not None:
                run_in_thread(self, import_kohya_file, path, done=lambda result: self.show_import(path, *result),
                              what=f"importing {path.name}", group="config-file")

        self.app.push_screen(FilePicker(self.folder, suffixes=(".json",), title="Import a kohya_ss GUI JSON"),
                             chosen)

    def show_import(self, source: Path, cfg: TrainingConfig, report) -> None:
        lines = report.lines() + [f"warning: {p}" for p in validate(cfg)]
        summary = (f"mapped {len(report.mapped)} keys, dropped {len(report.ignored)} (each with its reason below)"
                   + (f", {len(report.warnings)} warning(s)" if report.warnings else ""))

        def answer(apply: bool | None) -> None:
            if not apply:
                return
            values = config_values(cfg)
            if report.prompts_text:
                prompts = self.write_prompts(report)
                if prompts is not None:
                    values[("sampling", "sample_prompts")] = prompts
                else:  # not written: the form keeps the prompts file it names
                    values.pop(("sampling", "sample_prompts"), None)
            problems = self.form.set_values(values)
            self.config_edited()
            self.notify(f"imported {source.name} into the form: {len(self.form.changed_fields())} field(s) differ "
                        "from the file; ctrl+s saves" + (f"; not set: {problems[0]}" if problems else ""))

        self.app.push_screen(ImportReportDialog(source, lines, summary), answer)

    def write_prompts(self, report) -> str | None:
        """Imported sample prompts beside the config: the value for sample_prompts, or None when they
        could not be written. Never over a file: one holding the same text is used, else a new name
        (core's ImportReport.write_prompts)."""
        target = (self.path or self.suggested)
        target = target.with_name(target.stem + ".prompts.txt")
        try:
            path, wrote = report.write_prompts(target)
        except LoratuiError as exc:
            report_failure(self.app, "the imported sample prompts were not written", exc)
            return None
        if wrote and path != target:
            self.notify(f"{target.name} exists (other prompts): wrote the imported sample prompts to {path.name}; "
                        "sample_prompts names it", severity="warning", timeout=8)
        elif wrote:
            self.notify(f"wrote the imported sample prompts to {path}")
        else:
            self.notify(f"{path.name} already holds the imported sample prompts: sample_prompts names it")
        folder = target.parent.resolve()
        try:
            return path.resolve().relative_to(folder).as_posix()
        except ValueError:
            return str(path)

    def action_export(self) -> None:
        if self.refuse_while_broken("export"):
            return
        cfg = self.config_to_save("export")
        if cfg is None:
            return
        base = self.path or self.suggested

        def check(path: Path) -> str | None:
            if path.exists() and not path.is_dir():
                return f"{path}: exists and is not a folder: choose another"
            return None

        def chosen(out: Path | None) -> None:
            if out is None:
                return
            if earlier_export(out):
                self.app.push_screen(
                    ChoiceDialog("earlier export", f"{out} holds an earlier export (config.toml, dataset.toml).",
                                 [("o", "overwrite it")]),
                    lambda choice: self.export_to(cfg, out) if choice == "o" else None)
            else:
                self.export_to(cfg, out)

        self.app.push_screen(PathDialog("Export sd-scripts TOML", "A folder for config.toml and dataset.toml:",
                                        str(base.with_name(base.stem + "_sdscripts")), self.folder, check), chosen)

    def export_to(self, cfg: TrainingConfig, out: Path) -> None:
        def done(result) -> None:
            export, cfg_file, ds_file = result
            lines = [f"wrote {cfg_file}", f"wrote {ds_file}", *[f"note: {n}" for n in export.notes],
                     "", "run from your sd-scripts folder:", "  " + export.command(cfg_file, ds_file)]
            self.notify(f"exported to {out}: config.toml and dataset.toml")
            self.app.push_screen(ChoiceDialog("sd-scripts export written", "\n".join(lines), [("enter", "close")]))

        run_in_thread(self, lambda: export_sdscripts(cfg, out, None, overwrite=True), done=done,
                      what=f"exporting to {out}", group="config-file")

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
