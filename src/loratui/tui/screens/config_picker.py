"""Pick a file or folder for a path field of the settings form: one folder at a time, filtered as you type.

``FilePicker(start, want=..., suffixes=...)`` lists ``start``: "(use this folder)" when a folder
may be chosen, "../", the subfolders, then the files whose suffix is wanted (model files for the
base model, .txt for prompts, ...). Typing filters the list (part of the name); enter opens a folder
or picks a file; ctrl+up goes to the parent folder. A diffusers model folder (model_index.json)
is marked as such. Dismisses with the chosen absolute Path, or None on escape.

The box also takes a typed or pasted path (anything with a ``/`` or starting with ``~``; relative
to the folder shown): the list then shows the folder the path names, filtered by the name begun
after its last ``/``; tab completes that name (as far as the matches agree, ``/`` after a folder);
enter picks the file typed, opens the folder typed, or picks the highlighted entry.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from loratui.tui.screens.config_dialogs import ListPickKeys, dialog_css, expand_path

MODEL_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".bin")
MAX_ENTRIES = 2000
USE_FOLDER = "\0use"
PARENT = "\0parent"


def list_folder(folder: Path, want: str, suffixes: tuple[str, ...] | None) -> tuple[list[tuple[str, str]], str]:
    """([(option id, label)], note) for ``folder``: subfolders first, then the wanted files."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name.lower())
    except OSError as exc:
        return [], f"{folder}: cannot list ({exc.strerror or exc})"
    dirs, files = [], []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        try:
            is_dir = entry.is_dir()
        except OSError:
            continue
        if is_dir:
            hint = "  (diffusers model)" if os.path.isfile(os.path.join(entry.path, "model_index.json")) else ""
            dirs.append((entry.path, f"{entry.name}/{hint}"))
        elif want != "folder" and (suffixes is None or entry.name.lower().endswith(suffixes)):
            files.append((entry.path, entry.name))
    shown = dirs + files
    note = ""
    if len(shown) > MAX_ENTRIES:
        note = f"{len(shown)} entries: the first {MAX_ENTRIES} are listed, type to filter"
        shown = shown[:MAX_ENTRIES]
    return shown, note


class FilePicker(ListPickKeys, ModalScreen[Path | None]):
    """See the module doc. ``want`` is "file", "folder" or "any" (a model: a file or a diffusers folder)."""

    DEFAULT_CSS = dialog_css("FilePicker") + """
    FilePicker > Vertical { height: 1fr; max-height: 30; }
    FilePicker #picker-folder { height: 1; text-overflow: ellipsis; text-wrap: nowrap; }
    FilePicker OptionList { height: 1fr; border: none; margin-top: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "move(1)", "Next", show=False, id="settings.picker_next"),
        Binding("up", "move(-1)", "Previous", show=False, id="settings.picker_previous"),
        Binding("ctrl+up", "parent", "Parent folder", id="settings.picker_parent"),
        Binding("tab", "complete", "Complete path", id="settings.picker_complete", priority=True,
                tooltip="Complete the name typed after the last / (a path typed or pasted in the box)"),
        Binding("escape", "cancel", "Cancel", id="settings.dialog_cancel", tooltip="Close; the field is unchanged"),
    ]

    def __init__(self, start: Path, *, want: str = "file", suffixes: tuple[str, ...] | None = None,
                 title: str = "Pick a file") -> None:
        super().__init__()
        self.folder = Path(start).absolute()
        self.want = want
        self.suffixes = tuple(s.lower() for s in suffixes) if suffixes else None
        self.dialog_title = title
        self.entries: list[tuple[str, str]] = []
        self.note = ""

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.dialog_title
            yield Static("", id="picker-folder", classes="dialog-muted")
            yield Input(placeholder="type to filter, or a path (/..., ~/..., ./...): tab completes, enter picks",
                        id="picker-filter", compact=True)
            yield OptionList(id="picker-list")
            yield Static("", id="picker-note", classes="dialog-muted")
        yield Footer()

    def on_mount(self) -> None:
        self.open_folder(self.folder)
        self.query_one(Input).focus()

    def open_folder(self, folder: Path) -> None:
        self.folder = folder
        self.entries, self.note = list_folder(folder, self.want, self.suffixes)
        self.query_one("#picker-folder", Static).update(Text(str(folder)))
        filter_input = self.query_one(Input)
        if filter_input.value:
            filter_input.value = ""  # its Changed message refills the list
        self._fill("")

    @staticmethod
    def is_path(text: str) -> bool:
        """Whether the box holds a path (to follow) rather than part of a name (to filter by)."""
        text = text.strip()
        return "/" in text or text.startswith("~") or (os.sep != "/" and os.sep in text)

    def typed_place(self, text: str) -> tuple[Path, str]:
        """(the folder a typed path names, the start of a name typed after its last /)."""
        text = os.path.expanduser(text.strip())
        head, _, tail = text.rpartition("/") if "/" in text else ("", "", text)
        if "/" in text and not head:
            head = "/"
        return (expand_path(head, self.folder) if head else self.folder), tail

    def _fill(self, text: str) -> None:
        if self.is_path(text):
            self._fill_typed(text)
            return
        low = text.strip().lower()
        options = []
        if self.want != "file" and not low:
            options.append(Option(Text("(use this folder)", style="bold"), id=USE_FOLDER))
        if self.folder.parent != self.folder and (not low or low in ".."):
            options.append(Option("../", id=PARENT))
        options += [Option(label, id=path) for path, label in self.entries if low in label.lower()]
        self._show(options)
        count = sum(1 for o in options if o.id not in (USE_FOLDER, PARENT))
        what = {"folder": "folders", "file": "entries", "any": "entries"}[self.want]
        note = self.note or (f"{count} {what}" + (f" matching {text.strip()!r}" if low else ""))
        self.query_one("#picker-note", Static).update(Text(note))

    def _fill_typed(self, text: str) -> None:
        """The folder a typed path names, its entries starting with the name begun after the last /."""
        folder, tail = self.typed_place(text)
        whole = expand_path(text, self.folder)
        if not folder.is_dir():
            self._show([])
            self.query_one("#picker-note", Static).update(Text(f"{folder}: no such folder"))
            return
        entries, note = list_folder(folder, self.want, self.suffixes)
        low = tail.lower()
        options = [Option(label, id=path) for path, label in entries if label.lower().startswith(low)]
        self._show(options)
        if whole.is_file():
            note = f"enter picks {whole}" + ("" if self.want != "folder" else " (a folder is wanted: not a file)")
        elif whole.is_dir() and text.strip().endswith("/"):
            note = f"{len(options)} entries in {folder}; enter opens it"
        else:
            note = note or (f"{len(options)} entries in {folder}" + (f" starting with {tail!r}" if tail else "")
                            + ("; tab completes" if options else ""))
        self.query_one("#picker-note", Static).update(Text(note))

    def _show(self, options: list[Option]) -> None:
        option_list = self.query_one(OptionList)
        option_list.clear_options()
        option_list.add_options(options)
        if options:
            option_list.highlighted = 0

    def action_complete(self) -> None:
        """Tab: complete the name typed after the last / as far as the matching entries agree."""
        box = self.query_one(Input)
        text = box.value
        if not self.is_path(text):
            if box.value.strip():
                self.app.bell()
            return
        folder, tail = self.typed_place(text)
        try:
            names = sorted(e.name for e in os.scandir(folder) if e.name.startswith(tail)
                           and (not e.name.startswith(".") or tail.startswith(".")))
        except OSError:
            names = []
        if not names:
            self.app.bell()
            return
        common = os.path.commonprefix(names)
        if len(names) == 1 and (folder / common).is_dir():
            common += "/"
        if common == tail:
            self.app.bell()  # nothing more in common: the list shows the candidates
            return
        box.value = text[: len(text) - len(tail)] + common
        box.cursor_position = len(box.value)

    def enter_typed(self, text: str) -> None:
        """Enter read before the box had the focus (ListPickKeys.on_key): a typed path that exists, else the
        highlighted entry."""
        if not self.submit_path(text):
            self.pick_highlighted()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter on a typed path: one that exists is taken as it is, else the highlighted entry. (Without
        a path, ListPickKeys' handler, which Textual calls next, picks the highlighted entry.)"""
        if self.submit_path(event.value):
            event.stop()
            event.prevent_default()  # ListPickKeys' handler is not called

    def submit_path(self, text: str) -> bool:
        """Enter with ``text`` in the box: False when it is no path (the highlighted entry is picked)."""
        if not self.is_path(text):
            return False
        whole = expand_path(text, self.folder)
        if whole.is_dir():
            self.open_folder(whole)
        elif whole.is_file() and self.want == "folder":
            self.query_one("#picker-note", Static).update(Text(f"{whole} is a file: a folder is wanted"))
            self.app.bell()
        elif whole.is_file():
            self.dismiss(whole)
        else:
            self.pick_highlighted()
        return True

    @on(Input.Changed)
    def _filter(self, event: Input.Changed) -> None:
        self._fill(event.value)

    def action_parent(self) -> None:
        if self.folder.parent != self.folder:
            self.open_folder(self.folder.parent)

    def choose(self, option_id: str) -> None:
        if option_id == USE_FOLDER:
            self.dismiss(self.folder)
        elif option_id == PARENT:
            self.action_parent()
        elif os.path.isdir(option_id):
            self.open_folder(Path(option_id))
        else:
            self.dismiss(Path(option_id))
