"""What the settings screen does with files: save (in place, with the conflict choice), save as, reload,
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
    PATH_KEYS, TrainingConfig, apply_cpu_defaults, check_paths, earlier_export, export_sdscripts, file_name_problem,
    guess_model_family, import_kohya_file, load_config, resolve_path, save_config, validate,
)
from loratui.core.dataset import DatasetLocation
from loratui.core.errors import ConflictError
from loratui.tui.screens.config_dialogs import ChoiceDialog, ImportReportDialog, PathDialog
from loratui.tui.screens.config_picker import FilePicker
from loratui.tui.services.work import report_failure, run_in_thread
from loratui.tui.widgets.config_form import config_values

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


def _save_and_reload(cfg: TrainingConfig, path: Path, force: bool) -> tuple[bool, TrainingConfig, tuple]:
    wrote = save_config(cfg, path, force=force)
    return wrote, load_config(path), file_state(path)


def _load(path: Path) -> tuple[TrainingConfig, tuple]:
    return load_config(path), file_state(path)


def file_state(path: Path) -> tuple:
    """What tells a file's later change: its stat and its bytes (a config is small; mtimes can tie)."""
    try:
        st = path.stat()
        data = path.read_bytes()
    except OSError:
        return ()
    return st.st_mtime_ns, st.st_size, st.st_ino, hash(data)


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

    @property
    def folder(self) -> Path:
        return (self.path or self.suggested).parent

    # ---- save, save as, conflicts -----------------------------------------------------------------

    def action_save(self, then=None) -> None:
        cfg = self.config_to_save("save")
        if cfg is None:
            return
        if self.path is None or self.broken:
            self.action_save_as(then)
            return
        self.write_config(cfg, self.path, then=then)

    def action_save_as(self, then=None) -> None:
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

    def write_config(self, cfg: TrainingConfig, path: Path, *, force: bool = False, then=None) -> None:
        def done(result) -> None:
            wrote, saved, stat = result
            if path != self.path:
                self.show_value_changes(saved)
            self.path, self.broken, self.loaded_stat = path, None, stat
            self.app.config_path = path
            self.form.adopt_file(saved)
            self.config_edited()
            self.notify(f"saved {path}" if wrote else f"{path} already holds these settings: nothing written")
            if then is not None:
                then()

        def failed(exc: BaseException) -> None:
            if isinstance(exc, ConflictError):
                self.ask_conflict(cfg, path, then)
            else:
                report_failure(self.app, f"saving {path.name}", exc)

        run_in_thread(self, _save_and_reload, cfg, path, force, done=done, failed=failed,
                      what=f"saving {path}", group="config-file")

    def show_value_changes(self, saved: TrainingConfig) -> None:
        """Values that moved on a save as (relative paths, output_name) shown in their fields."""
        for key, value in config_values(saved).items():
            field = self.form.fields[key]
            if field.value != value:
                field.show_value(value)

    def ask_conflict(self, cfg: TrainingConfig, path: Path, then) -> None:
        def answer(choice: str | None) -> None:
            if choice == "r":
                self.load_file(path)
            elif choice == "o":
                self.write_config(cfg, path, force=True, then=then)

        body = (f"{path} changed on disk since it was loaded (another program or editor saved it).\n"
                "Reload it to see the other change (your changes in the form are lost), or overwrite it "
                "with the form (the other change is lost). Nothing was written.")
        self.app.push_screen(ChoiceDialog("changed on disk: reload or overwrite", body,
                                          [("r", "reload"), ("o", "overwrite")]), answer)

    # ---- load, reload, open ------------------------------------------------------------------------

    def load_file(self, path: Path) -> None:
        def done(result) -> None:
            base, stat = result
            self.path, self.broken, self.loaded_stat = path, None, stat
            self.app.config_path = path
            self.form.load(base, has_file=True)
            self.config_edited()
            self.notify(f"loaded {path}")

        def failed(exc: BaseException) -> None:
            report_failure(self.app, "", exc)

        run_in_thread(self, _load, path, done=done, failed=failed, what=f"loading {path}", group="config-file")

    def unless_unsaved(self, what: str, go) -> None:
        """Run ``go()`` now, or after a yes when the form holds changes the file does not."""
        changed = len(self.form.changed_fields())
        if not changed and self.form.has_file:
            go()
            return
        count = f"{changed} changed field(s)" if self.form.has_file else "the config (never saved)"
        self.app.push_screen(ChoiceDialog("unsaved changes", f"{what} discards {count}.",
                                          [("d", "discard them"), ("s", "save first")]),
                             lambda choice: go() if choice == "d" else self.action_save(go) if choice == "s" else None)

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
                values[("sampling", "sample_prompts")] = self.write_prompts(report.prompts_text)
            problems = self.form.set_values(values)
            self.config_edited()
            self.notify(f"imported {source.name} into the form: {len(self.form.changed_fields())} field(s) differ "
                        "from the file; ctrl+s saves" + (f"; not set: {problems[0]}" if problems else ""))

        self.app.push_screen(ImportReportDialog(source, lines, summary), answer)

    def write_prompts(self, text: str) -> str:
        """Write imported sample prompts beside the config (never over a file); the value for sample_prompts."""
        from loratui.core.fsutil import atomic_write_text

        target = (self.path or self.suggested)
        target = target.with_name(target.stem + ".prompts.txt")
        if target.exists():
            self.notify(f"{target} exists: the imported sample prompts were not written (sample_prompts left empty)",
                        severity="warning")
            return ""
        try:
            atomic_write_text(target, text)
        except OSError as exc:
            report_failure(self.app, "writing the imported sample prompts", exc)
            return ""
        self.notify(f"wrote the imported sample prompts to {target}")
        return target.name

    def action_export(self) -> None:
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
        cfg = self.config_to_save("start training")
        if cfg is None:
            return
        problems = validate(cfg) + check_paths(cfg)
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            self.notify(f"cannot start training: {problems[0]}{more}", severity="error")
            return
        if self.form.unsaved or self.broken:
            where = self.path.name if self.path and not self.broken else "a new file"
            self.app.push_screen(
                ChoiceDialog("start training", f"The run reads the saved file: save the form to {where} first?",
                             [("s", "save and start")]),
                lambda choice: self.action_save(self.hand_over) if choice == "s" else None)
        else:
            self.hand_over()

    def hand_over(self) -> None:
        """The Train screen starts the run from ``app.config_path``."""
        if self.path is None:
            return
        self.app.config_path = self.path
        self.app.switch_mode("train")
