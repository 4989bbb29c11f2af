"""The settings form: every field of the training config, grouped like the TOML file's sections.

One ``ConfigField`` per entry of core's field table, under a heading per section ([model],
[dataset], ... in file order). The form holds two configs: ``base`` (the file as loaded, or a
starter config not saved yet) and what the fields hold now; ``current_config()`` builds the latter
from ``base`` (a shallow copy, so the file snapshot that save_config's conflict check reads and
the folder relative paths are resolved against come along).

Cross-field problems (core's ``validate``) are shown under every field they name; what training
would refuse about the files and packages (core's ``check_paths``, found by the screen in a thread:
``set_file_problems``) under the field each problem starts with, as `loratui config check` words it.
The form does not check or convert anything itself: the fields ask core's ``coerce_value``.

Under network_args, its LyCORIS arguments have fields of their own (widgets.lycoris_fields: shown with
network_module = lycoris.kohya for the algo that reads them, kept in step with the list, which stays the
value saved); they are not in ``fields`` (keyed like the file) but in ``lycoris``.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Iterable
from typing import Any

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from loratui.core.config import FIELDS, SECTIONS, TrainingConfig, validate
from loratui.tui.widgets.config_field import INVALID, NO_FILE, PART_CLASSES, ConfigField, parts_css
from loratui.tui.widgets.lycoris_fields import ARGS_KEY, LORA_ONLY_KEYS, MODULE_KEY, LycorisField, LycorisFields, named_arg

SECTION_TITLES = {"model": "Model", "dataset": "Dataset", "network": "Network", "optimizer": "Optimizer",
                  "training": "Training", "saving": "Saving", "sampling": "Sampling"}
# every key name, longest first, as a whole word: which fields a cross-field problem names
_KEY_PATTERN = re.compile(r"\b(" + "|".join(sorted({k for _, k in FIELDS}, key=len, reverse=True)) + r")\b")


def keys_named(problem: str) -> list[str]:
    """The config keys a problem text mentions, in order, each once."""
    seen: list[str] = []
    for match in _KEY_PATTERN.finditer(problem):
        if match.group(1) not in seen:
            seen.append(match.group(1))
    return seen


def config_values(cfg: TrainingConfig) -> dict[tuple[str, str], Any]:
    return {(section, key): getattr(getattr(cfg, section), key) for (section, key) in FIELDS}


def build_config(base: TrainingConfig, values: dict[tuple[str, str], Any]) -> TrainingConfig:
    """``base`` with these values: a shallow copy (keeps its file snapshot and folder), new sections."""
    cfg = copy.copy(base)
    for section in SECTIONS:
        own = {key: value for (sec, key), value in values.items() if sec == section}
        setattr(cfg, section, dataclasses.replace(getattr(base, section), **own))
    return cfg


class ConfigForm(VerticalScroll, can_focus=False):
    """All config fields in sections; see the module doc."""

    DEFAULT_CSS = """
    ConfigForm { height: 1fr; scrollbar-size-vertical: 1; }
    ConfigForm > .config-section { height: 1; margin-top: 1; text-style: bold; color: $accent; }
    ConfigForm > .config-section.-first { margin-top: 0; }
    ConfigForm > .lycoris-heading { height: auto; padding-left: 2; color: $text-muted; text-style: italic; }
    """ + parts_css("ConfigForm")
    COMPONENT_CLASSES = PART_CLASSES  # the fields' parts (config_field.PART_CLASSES: why the form's)

    def __init__(self, base: TrainingConfig, *, has_file: bool, id: str | None = None) -> None:
        super().__init__(id=id)
        self.base = base
        self.has_file = has_file
        self.fields: dict[tuple[str, str], ConfigField] = {}
        self.problems: list[str] = []    # cross-field problems of the current config (core's validate)
        self.file_problems: list[str] = []  # what training refuses about the files named (check_paths)
        self._keeping = False  # a scroll to the focused field is scheduled
        self._parts_drawn: tuple | None = None  # the fields' part styles they were drawn with
        self.lycoris = LycorisFields(self)  # network_args' LyCORIS arguments as fields (lycoris_fields.py)

    def compose(self) -> ComposeResult:
        values = config_values(self.base)
        for index, section in enumerate(SECTIONS):
            yield Static(f"[{section}]  {SECTION_TITLES.get(section, section)}", id=f"section-{section}",
                         classes="config-section" + (" -first" if index == 0 else ""), markup=False)
            for (sec, key), spec in FIELDS.items():
                if sec != section:
                    continue
                field = ConfigField(spec, values[(sec, key)], values[(sec, key)] if self.has_file else NO_FILE)
                self.fields[(sec, key)] = field
                yield field
                if (sec, key) == ARGS_KEY:
                    yield from self.lycoris.compose(values[ARGS_KEY], values[ARGS_KEY] if self.has_file else NO_FILE)

    def on_mount(self) -> None:
        self.lycoris.show()
        self._parts_drawn = self._part_styles()

    # ---- the fields' part styles (config_field.PART_CLASSES) ----------------------------------------

    def _part_styles(self) -> tuple:
        return tuple(self.get_component_rich_style(name) for name in sorted(PART_CLASSES))

    def notify_style_update(self) -> None:
        super().notify_style_update()
        if getattr(self, "_parts_drawn", None) is not None:  # Textual works the parts out just after this
            self.call_next(self._redraw_if_parts_changed)

    def _redraw_if_parts_changed(self) -> None:
        """A theme change: the fields draw again with the new part styles (a field's own restyle did
        this when the parts were its own; now nothing of the field's changes)."""
        parts = self._part_styles()
        if parts != self._parts_drawn:
            self._parts_drawn = parts
            for child in self.children:
                if isinstance(child, ConfigField):
                    child.refresh()

    def on_config_field_edited(self, event: ConfigField.Edited) -> None:
        """Keep the LyCORIS fields and the network_args list in step (before the screen checks the config)."""
        edited = event.field
        if isinstance(edited, LycorisField):
            self.lycoris.write(edited)
            self.lycoris.show()
        elif edited.key == ARGS_KEY:
            self.lycoris.sync()
        elif edited.key == MODULE_KEY or edited.key in LORA_ONLY_KEYS:
            self.lycoris.show()

    # ---- what the form holds ----------------------------------------------------------------------

    def field(self, key: str) -> ConfigField:
        """The field of "section.key" (a LyCORIS one: "network_args.NAME") or a bare key name."""
        if key.startswith("network_args."):
            return self.lycoris.fields[key.split(".", 1)[1]]
        if "." in key:
            section, name = key.split(".", 1)
            return self.fields[(section, name)]
        return next(f for (_, name), f in self.fields.items() if name == key)

    def invalid_fields(self) -> list[ConfigField]:
        return [f for f in self.fields.values() if f.value is INVALID] + self.lycoris.invalid()

    def changed_fields(self) -> list[ConfigField]:
        return [f for f in self.fields.values() if f.changed]

    def unsaved_edits(self) -> int:
        """Fields the user changed since the form was loaded or saved (text that is not valid counts):
        what quitting would throw away. A form with no file counts its changes from what it showed."""
        loaded = config_values(self.base)
        return len(self.lycoris.invalid()) + sum(  # a valid LyCORIS field's value is in network_args
            1 for key, f in self.fields.items()
            if f.value is INVALID or f.value != (loaded[key] if f.file_value is NO_FILE else f.file_value))

    def draft_fields(self) -> dict:
        """The fields ``unsaved_edits`` counts, for a draft: "section.key" -> core.drafts.FieldDraft
        (the text as typed, and the file's value it differs from; None with no file)."""
        from loratui.core.drafts import FieldDraft
        from loratui.tui.widgets.config_field import value_text

        loaded = config_values(self.base)
        out = {}
        for (section, key), f in self.fields.items():
            compared = loaded[(section, key)] if f.file_value is NO_FILE else f.file_value
            if f.value is INVALID or f.value != compared:
                out[f"{section}.{key}"] = FieldDraft(f.text, None if f.file_value is NO_FILE
                                                     else value_text(f.spec, f.file_value))
        out.update(self.lycoris.draft_fields())
        return out

    def file_texts(self) -> dict[str, str | None]:
        """"section.key" -> the file's value as its field shows it (None for all: no file)."""
        from loratui.tui.widgets.config_field import value_text

        texts = {f"{section}.{key}": None if f.file_value is NO_FILE else value_text(f.spec, f.file_value)
                 for (section, key), f in self.fields.items()}
        return texts | self.lycoris.file_texts()

    def restore_typed(self, texts: dict[str, str]) -> list[str]:
        """Put texts from a draft back into their fields, checked as if typed; the keys no field has."""
        unknown = []
        for name, text in texts.items():
            if name.startswith("network_args."):
                continue  # after the list they are typed into
            field = self.fields.get(tuple(name.split(".", 1)))
            if field is None:
                unknown.append(name)
            else:
                field.restore_text(text)
        self.lycoris.sync()
        return unknown + self.lycoris.restore({k: t for k, t in texts.items() if k.startswith("network_args.")})

    @property
    def unsaved(self) -> bool:
        """Whether saving would write something: a field differs from the file, or there is no file."""
        return not self.has_file or bool(self.changed_fields())

    def current_config(self) -> TrainingConfig | None:
        """The config the fields hold now, or None while a field's text is not valid."""
        values = {key: f.value for key, f in self.fields.items()}
        if any(v is INVALID for v in values.values()) or self.lycoris.invalid():
            return None
        return build_config(self.base, values)

    def refresh_problems(self, cfg: TrainingConfig | None) -> list[str]:
        """Run core's cross-field checks on ``cfg`` and show each problem under the fields it names."""
        self.problems = validate(cfg) if cfg is not None else []
        self._show_problems()
        return self.problems

    def set_file_problems(self, problems: list[str]) -> None:
        """Show what training refuses about the files (core's check_paths) under the key each names first."""
        if problems != self.file_problems:
            self.file_problems = list(problems)
            self._show_problems()

    def all_problems(self) -> list[str]:
        """Every problem training would refuse, cross-field first, each once."""
        return self.problems + [p for p in self.file_problems if p not in self.problems]

    def problem_keys(self) -> list[str]:
        """The keys the problems are shown under, in form order."""
        marked = {key for (_, key), f in self.fields.items() if f.cross}
        return [key for (_, key) in self.fields if key in marked]

    def _show_problems(self) -> None:
        named: dict[str, list[str]] = {}
        for problem in self.problems:
            for key in keys_named(problem):
                named.setdefault(key, []).append(problem)
        for problem in self.file_problems:
            keys = keys_named(problem)[:1]  # "train_data_dir: folder ... does not exist": its own field
            if keys and problem not in named.get(keys[0], []):
                named.setdefault(keys[0], []).append(problem)
        for (section, key), field in self.fields.items():
            mine = named.get(key, [])
            if (section, key) in LORA_ONLY_KEYS:  # "network_args: conv_dim ..." is the list's conv_dim
                mine = [p for p in mine if not p.startswith("network_args: ")]
            field.set_cross(mine)
        by_arg: dict[str, list[str]] = {}
        for problem in self.problems:
            name = named_arg(problem)
            if name is not None:
                by_arg.setdefault(name, []).append(problem)
        for name, field in self.lycoris.fields.items():
            field.set_cross(by_arg.get(name, []))
        self.lycoris.show()  # its heading says which hidden keys these problems block training with

    # ---- set from code ---------------------------------------------------------------------------

    def load(self, base: TrainingConfig, *, has_file: bool) -> None:
        """Show ``base`` in every field; it is also what the fields are compared with (when a file)."""
        self.base, self.has_file = base, has_file
        for key, value in config_values(base).items():
            field = self.fields[key]
            field.file_value = value if has_file else NO_FILE
            field.show_value(value)
        self.lycoris.sync()

    def adopt_file(self, saved: TrainingConfig) -> None:
        """The file now holds ``saved`` (after a save): compare with it, keep what the fields show."""
        self.base, self.has_file = saved, True
        for key, value in config_values(saved).items():
            self.fields[key].set_file_value(value)
        self.lycoris.sync(keep_typed=True)

    def set_values(self, changes: dict[tuple[str, str], Any] | Iterable[tuple[tuple[str, str], Any]]) -> list[str]:
        """Put already-checked values into fields (a preset, the calculator's epochs); returns problems.

        Each value still goes through core's coerce_value; a refused one is not set and its
        problem ("key: ...") is returned.
        """
        from loratui.core.config import coerce_value

        problems = []
        items = changes.items() if isinstance(changes, dict) else changes
        for (section, key), value in items:
            field = self.fields.get((section, key))
            if field is None:
                problems.append(f"{section}.{key}: no such config key")
                continue
            try:
                checked = None if value is None and field.spec.optional else coerce_value(field.spec, value)
            except ValueError as exc:
                problems.append(f"{key}: {exc}")
                continue
            field.show_value(checked)
        self.lycoris.sync(keep_typed=True)
        return problems

    def revert(self, field: ConfigField) -> None:
        if field.file_value is not NO_FILE:
            field.show_value(field.file_value)
            if isinstance(field, LycorisField):
                self.lycoris.write(field)
            self.lycoris.sync()

    # ---- sections and focus ----------------------------------------------------------------------

    def keep_focused_in_view(self) -> None:
        """A field's notes came or went: after the relayout, scroll the focused field back into view
        (notes added above it at 80x24 pushed the field being typed in off the form)."""
        if not self._keeping:
            self._keeping = True
            self.call_after_refresh(self._scroll_to_focused)

    def _scroll_to_focused(self) -> None:
        self._keeping = False
        focused = self.screen.focused if self.is_attached else None
        if isinstance(focused, ConfigField) and focused.parent is self:
            self.scroll_to_widget(focused, animate=False, immediate=True)

    def section_of(self, field: ConfigField | None) -> str:
        return field.spec.section if field is not None else SECTIONS[0]

    def first_field(self, section: str) -> ConfigField:
        return next(f for (sec, _), f in self.fields.items() if sec == section)

    def show_section(self, section: str) -> None:
        """Focus the section's first field, with its heading at the top of the form."""
        self.first_field(section).focus_editor()
        self.scroll_to_widget(self.query_one(f"#section-{section}"), top=True, animate=False)
