"""Go to a field by name (ctrl+g) and pick a file for a path field (ctrl+f): the Settings screen's two
pickers, mixed into SettingsScreen (screens/settings.py; split from it whole). They expect ``self.form``,
``self.folder``, ``refuse_while_broken``, ``key_does`` and ``apply_changes``.
"""

from __future__ import annotations

from pathlib import Path

from loratui.core.config import LYCORIS, TrainingConfig
from loratui.tui.screens.settings_texts import MODEL_KEYS, PATH_PICKS


class SettingsPicks:
    """ctrl+g (a field by its key name, LyCORIS ones too) and ctrl+f (a file or folder for a path field)."""

    def action_goto(self) -> None:
        from loratui.tui.screens.config_dialogs import goto_field_dialog

        if self.refuse_while_broken("go to a field"):
            return
        lycoris = self.form.fields[("network", "network_module")].value == LYCORIS
        self.app.push_screen(goto_field_dialog(lycoris_first=lycoris), self.go_to_field)

    def go_to_field(self, key: str | None) -> None:
        """Focus the field ctrl+g picked; one hidden (a LyCORIS argument the network doesn't read, [network]
        conv_dim under lycoris.kohya) is named, and the field that shows it gets the focus instead."""
        if not key:
            return
        field = self.form.field(key)
        if field.display:
            field.focus_editor()
            return
        name = field.spec.name
        if key.startswith("network_args."):
            module = self.form.fields[("network", "network_module")]
            shows = module if module.value != LYCORIS else self.form.field("network_args.algo")
            why = (f"network_args {name} is shown with network_module = \"{LYCORIS}\"" if shows is module else
                   f"network_args {name} is not read by algo={shows.value} (it is by "
                   f"{', '.join(field.arg.algos)})")
        else:
            shows = self.form.field(f"network_args.{name}")
            why = (f"[network] {name} is read by networks.lora only; with network_module = \"{LYCORIS}\" "
                   f"{name} is this network_args field")
            if shows.display:
                shows.focus_editor()
                self.notify(why, timeout=6)
                return
            shows = self.form.field("network_args.algo")
        shows.focus_editor()
        self.notify(f"{why}: {shows.spec.name} has the focus", timeout=6)

    def empty_path_start(self, cfg: TrainingConfig, key: str) -> Path:
        """Where ctrl+f opens for an empty path field: a VAE beside the base model (that folder), else the
        project's model/ for a model or LoRA, else the config's folder (or the cwd). An empty vae opened in
        model/, which `loratui demo` and many projects make the output folder: no VAE there."""
        from loratui.core.config import resolve_path

        project = self.folder if self.folder.is_dir() else Path.cwd()
        base = cfg.model.pretrained_model_name_or_path
        if key == "vae":
            where = Path(resolve_path(cfg, base, key="pretrained_model_name_or_path")) if base else None
            return where.parent if where is not None and where.parent.is_dir() else project
        if key in MODEL_KEYS and (project / "model").is_dir():
            return project / "model"
        return project

    def action_pick_file(self) -> None:
        from loratui.core.config import resolve_path
        from loratui.tui.screens.config_picker import FilePicker

        field = self.focused_field()
        if field is None or field.spec.name not in PATH_PICKS:
            self.notify(f"{self.key_does('settings.pick_file', 'picks')} a file for a path field (model, folders, "
                        "prompts): focus one first",
                        severity="warning")
            return
        want, suffixes, title = PATH_PICKS[field.spec.name]
        cfg = self.form.current_config() or self.form.base
        current = Path(resolve_path(cfg, field.text.strip(), key=field.spec.name)) if field.text.strip() else None
        start = current if current is not None and current.is_dir() and want == "folder" else \
            current.parent if current is not None and current.parent.is_dir() else None
        if start is None:
            start = self.empty_path_start(cfg, field.spec.name)

        def chosen(path: Path | None) -> None:
            if path is None:
                return
            folder = (cfg.config_dir or self.folder).resolve()
            try:
                text = path.resolve().relative_to(folder).as_posix()
            except ValueError:
                text = str(path)
            self.apply_changes({field.key: text}, field.spec.name, quiet=True)
            field.focus_editor()

        self.app.push_screen(FilePicker(start, want=want, suffixes=suffixes, title=title), chosen)
