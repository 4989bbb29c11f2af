"""The settings screen's kohya_ss GUI JSON import (into the form, with its report) and sd-scripts TOML
export (to a folder, asking before an earlier export is written over). ``ConfigImportExport`` is a base
of ``ConfigFileActions`` (config_actions.py), whose ``refuse_while_broken``, ``config_to_save`` and
``folder`` it uses, besides the screen's ``form``, ``path``, ``suggested`` and ``config_edited()``.
Reading and writing run in thread workers.

The JSON's sample prompts (text, not a file) are not written when the import is applied: an import the
user then discards must leave nothing behind. sample_prompts names the file they will go to
(``NAME.prompts.txt`` beside the config, or ``-1``... when that holds other prompts) and the text waits
in ``pending_prompts`` until a save (ctrl+s, f2, a merge, quit-with-save): ``place_prompts`` then
writes it beside the file being saved, never over other prompts, before the config is written.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import NamedTuple

from loratui.core.config import (
    ImportReport, TrainingConfig, earlier_export, export_problems, export_sdscripts, import_kohya_file,
    resolve_path, validate,
)
from loratui.core.errors import LoratuiError
from loratui.tui.screens.config_dialogs import ChoiceDialog, ImportReportDialog, PathDialog
from loratui.tui.screens.config_picker import FilePicker
from loratui.tui.services.work import report_failure, run_in_thread
from loratui.tui.widgets.config_form import config_values


class PendingPrompts(NamedTuple):
    """Imported sample prompts not written yet: written on the next save while sample_prompts names
    ``planned`` (absolute: a save as into another folder rebases the value, not the place)."""

    report: ImportReport
    planned: Path

    def names(self, path: str) -> bool:
        """Whether ``path`` (sample_prompts resolved) is the planned file (a symlinked folder aside)."""
        return bool(path) and os.path.realpath(path) == os.path.realpath(self.planned)


def relative_to_config(path: Path, config: Path) -> str:
    """``path`` as sample_prompts names it: relative to the config's folder when inside it."""
    try:
        return path.resolve().relative_to(config.parent.resolve()).as_posix()
    except ValueError:
        return str(path)


def place_prompts(cfg: TrainingConfig, path: Path, pending: PendingPrompts | None) -> tuple[TrainingConfig, str]:
    """Before ``cfg`` is saved to ``path`` (in the save's thread): imported prompts still pending are
    written beside it as ``NAME.prompts.txt`` (never over a file: one holding the same text is used, else
    ``NAME.prompts-1.txt``...) and sample_prompts names that file. Returns (the config to save, the words
    for the save message); ``cfg`` unchanged when it no longer names the pending file (the user chose
    another). Raises LoratuiError when they cannot be written (nothing is saved then)."""
    value = cfg.sampling.sample_prompts
    if pending is None or not value:
        return cfg, ""
    if not pending.names(resolve_path(cfg, value, key="sample_prompts")):
        return cfg, ""
    target = path.with_name(path.stem + ".prompts.txt")
    written, wrote = pending.report.write_prompts(target)
    out = copy.copy(cfg)  # keeps the loaded-file snapshot the save checks
    out.sampling = copy.copy(cfg.sampling)
    out.sampling.sample_prompts = relative_to_config(written, path)
    if not wrote:
        return out, f"; sample_prompts names {written.name}, which already holds the imported prompts"
    other = f" ({target.name} holds other prompts)" if written != target else ""
    return out, f"; wrote the imported sample prompts to {written.name}{other}"


class ConfigImportExport:
    """kohya_ss import and sd-scripts export of the settings screen (see the module doc)."""

    pending_prompts: PendingPrompts | None = None  # imported prompts the next save writes

    def action_import_kohya(self) -> None:
        if self.refuse_while_broken("import into the form"):
            return

        def chosen(path: Path | None) -> None:
            if path is not None:
                # relative paths in the JSON are rewritten for the folder the config is saved in
                home = (self.path or self.suggested).parent
                run_in_thread(self, lambda: import_kohya_file(path, config_dir=home),
                              done=lambda result: self.show_import(path, *result),
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
            if self.form.unsaved_edits():  # every field is replaced: ask first, as f5 and ctrl+o do
                self.unless_unsaved(f"importing {source.name}", put_in_form)
            else:
                put_in_form()

        def put_in_form() -> None:
            values = config_values(cfg)
            waiting = ""
            self.pending_prompts = None
            if report.prompts_text:
                planned = self.plan_prompts(report)
                if planned is None:  # no name for them: the form keeps the prompts file it names
                    values.pop(("sampling", "sample_prompts"), None)
                else:
                    value, name, new = planned
                    values[("sampling", "sample_prompts")] = value
                    waiting = (f"; its sample prompts go to {name} when you save (nothing is written before)"
                               if new else f"; sample_prompts names {name}, which already holds its prompts")
            problems = self.form.set_values(values)
            self.config_edited()
            self.notify(f"imported {source.name} into the form: {len(self.form.changed_fields())} field(s) differ "
                        f"from the file; {self.key_does('settings.save', 'saves')}" + waiting
                        + (f"; not set: {problems[0]}" if problems else ""),
                        timeout=10)

        self.app.push_screen(ImportReportDialog(source, lines, summary), answer)

    def plan_prompts(self, report) -> tuple[str, str, bool] | None:
        """Where the imported prompts will go: (sample_prompts' value, the file's name, whether the save
        must write it), or None (said why) when no name is free. Nothing is written here: a file that
        already holds the same text is named at once, else the text waits in ``pending_prompts``."""
        config = self.path or self.suggested
        target = config.with_name(config.stem + ".prompts.txt")
        try:
            path, new = report.prompts_file(target)
        except LoratuiError as exc:
            report_failure(self.app, "the imported sample prompts have no file to go to", exc)
            return None
        if new:
            self.pending_prompts = PendingPrompts(report, path.absolute())
        return relative_to_config(path, config), path.name, new

    def pending_prompts_problems(self, problems: list[str]) -> list[str]:
        """The file checks without "sample_prompts: FILE does not exist" while FILE is the pending prompts
        file (it is written on save); its field says so instead."""
        field = self.form.field("sample_prompts")
        cfg, pending = self.form.current_config(), self.pending_prompts
        named = resolve_path(cfg, cfg.sampling.sample_prompts) if cfg is not None and pending else ""
        waiting = pending is not None and pending.names(named)
        field.set_info("the imported sample prompts: this file is written when the config is saved" if waiting
                       else "")
        return [p for p in problems if p != f"sample_prompts: {named} does not exist"] if waiting else problems

    def action_export(self) -> None:
        if self.refuse_while_broken("export"):
            return
        cfg = self.config_to_save("export")
        if cfg is None:
            return
        base = self.path or self.suggested
        unsaved = self.unsaved_export_line()

        def check(path: Path) -> str | None:
            if path.exists() and not path.is_dir():
                return f"{path}: exists and is not a folder: choose another"
            return None

        def chosen(out: Path | None) -> None:
            if out is None:
                return
            run_in_thread(self, export_problems, cfg, done=lambda problems: checked(out, problems),
                          what="checking the config for the export", group="config-file")

        def checked(out: Path, problems: list[str]) -> None:
            if problems:  # what `config export-sdscripts` refuses without --force: sd-scripts would stop on it
                shown = problems[:8] + ([f"... and {len(problems) - 8} more (`loratui config check`)"]
                                        if len(problems) > 8 else [])
                self.app.push_screen(
                    ChoiceDialog("export problems", "`loratui config check` refuses this config (sd-scripts would stop on it, "
                                 "train it differently, or it looks like a typo):\n"
                                 + "\n".join(f"  {p}" for p in shown), [("f", "export anyway")]),
                    lambda choice: write(out) if choice == "f" else None)
            else:
                write(out)

        def write(out: Path) -> None:
            if earlier_export(out):
                self.app.push_screen(
                    ChoiceDialog("earlier export", f"{out} holds an earlier export (config.toml, dataset.toml).",
                                 [("o", "overwrite it")]),
                    lambda choice: self.export_to(cfg, out, unsaved) if choice == "o" else None)
            else:
                self.export_to(cfg, out, unsaved)

        prompt = "A folder for config.toml and dataset.toml" + (f" ({unsaved})" if unsaved else "") + ":"
        self.app.push_screen(PathDialog("Export sd-scripts TOML", prompt,
                                        str(base.with_name(base.stem + "_sdscripts")), self.folder, check), chosen)

    def unsaved_export_line(self) -> str:
        """"" when the form matches the file; else what an export of the form's values carries that the file lacks
        (a later `config export-sdscripts` of the file, or a quit without saving, would disagree with it)."""
        count = self.form.unsaved_edits()
        if not count:
            return ""
        name = self.path.name if self.path else "the config (not saved yet)"
        return f"includes {count} unsaved change(s), not in {name} yet: {self.key_does('settings.save', 'saves them')}"

    def export_to(self, cfg: TrainingConfig, out: Path, unsaved: str = "") -> None:
        def done(result) -> None:
            export, cfg_file, ds_file = result
            lines = [f"wrote {cfg_file}", f"wrote {ds_file}", *([f"note: the export {unsaved}"] if unsaved else []),
                     *[f"note: {n}" for n in export.notes],
                     "", "run from your sd-scripts folder:", "  " + export.command(cfg_file, ds_file)]
            self.notify(f"exported to {out}: config.toml and dataset.toml" + (f" ({unsaved})" if unsaved else ""))
            self.app.push_screen(ChoiceDialog("sd-scripts export written", "\n".join(lines), [("enter", "close")]))

        run_in_thread(self, lambda: export_sdscripts(cfg, out, None, overwrite=True), done=done,
                      what=f"exporting to {out}", group="config-file")
