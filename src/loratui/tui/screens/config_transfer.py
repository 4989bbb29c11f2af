"""The settings screen's kohya_ss GUI JSON import (into the form, with its report and its sample prompts
written beside the config) and sd-scripts TOML export (to a folder, asking before an earlier export is
written over). ``ConfigImportExport`` is a base of ``ConfigFileActions`` (config_actions.py), whose
``refuse_while_broken``, ``config_to_save`` and ``folder`` it uses, besides the screen's ``form``,
``path``, ``suggested`` and ``config_edited()``. Reading and writing run in thread workers.
"""

from __future__ import annotations

from pathlib import Path

from loratui.core.config import (
    TrainingConfig, earlier_export, export_problems, export_sdscripts, import_kohya_file, validate,
)
from loratui.core.errors import LoratuiError
from loratui.tui.screens.config_dialogs import ChoiceDialog, ImportReportDialog, PathDialog
from loratui.tui.screens.config_picker import FilePicker
from loratui.tui.services.work import report_failure, run_in_thread
from loratui.tui.widgets.config_form import config_values


class ConfigImportExport:
    """kohya_ss import and sd-scripts export of the settings screen (see the module doc)."""

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
