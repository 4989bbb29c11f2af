"""Recipe dialogs: save operations as a TOML recipe, and pick a recipe to replay.

``SaveRecipeScreen(folder, ops=..., where=...)`` asks a name (a bare name goes into ``folder``;
``~/x`` or an absolute path is used as typed; ``.toml`` is added) and dismisses with the recipe's
Path, or None on escape. Given ``ops`` it saves them itself through ``save_ops_to_recipe`` (core's
append_to_recipe: an existing recipe gains the operations, as ``tags ... --save-recipe`` does) and
shows a failure inline; without ``ops`` the caller saves.

``PickRecipeScreen(folders)`` lists the ``*.toml`` recipes of the folders, or takes a typed path,
shows the recipe (description, where, operations) as core's load_recipe reads it, and dismisses
with the chosen Path (None on escape). A broken recipe shows core's one-line error and cannot be
chosen.

Reading, writing and finding recipe files is services.recipe_files; these screens only ask and show.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from loratui.core.captions import Op, Recipe
from loratui.core.errors import LoratuiError
from loratui.tui.services.recipe_files import (
    RECIPE_SUFFIX, describe_recipe, find_recipes, read_recipe, recipe_path, save_ops_to_recipe,
)


def _short(path: Path) -> str:
    """A folder as shown: ~/... under the home folder."""
    home = Path.home()
    try:
        return "~/" + str(path.relative_to(home))
    except ValueError:
        return str(path)


def _dialog_css(cls: str) -> str:
    return f"""
    {cls} {{
        align: center middle;
    }}
    {cls} > Vertical {{
        width: 100%;
        max-width: 100;
        height: auto;
        max-height: 100%;
        border: round $primary;
        border-title-style: bold;
        background: $surface;
        padding: 0 1;
    }}
    {cls} .recipe-row {{
        height: 1;
        margin-bottom: 1;
    }}
    {cls} .recipe-row > .recipe-label {{
        width: 13;
    }}
    {cls} .recipe-row > Input {{
        width: 1fr;
        height: 1;
        border: none;
        padding: 0 1;
        background: $boost;
    }}
    {cls} .recipe-row > Input:focus {{
        background: $primary 30%;
    }}
    {cls} .recipe-muted {{
        color: $text-muted;
    }}
    {cls} .recipe-message {{
        height: auto;
        min-height: 1;
        color: $text-muted;
    }}
    {cls} .recipe-message.-error {{
        color: $text-error;
        text-style: bold;
    }}
    """


class SaveRecipeScreen(ModalScreen[Path | None]):
    """Ask a recipe name; dismiss with its Path (saved first when ``ops`` were given) or None."""

    DEFAULT_CSS = _dialog_css("SaveRecipeScreen") + """
    SaveRecipeScreen #recipe-ops {
        height: auto;
        max-height: 6;
        margin-bottom: 1;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "save", "Save", id="recipe.save", priority=True, tooltip="Save the recipe under this name"),
        Binding("escape", "cancel", "Cancel", id="recipe.cancel", tooltip="Close; nothing is saved"),
    ]

    def __init__(self, folder: Path, *, ops: Sequence[Op] | None = None, where: str | None = None,
                 default_name: str = "", title: str = "Save as recipe") -> None:
        super().__init__()
        self.folder = Path(folder)
        self.ops = list(ops) if ops is not None else None
        self.where = where
        self.default_name = default_name
        self.dialog_title = title
        self.path: Path | None = None    # what the name resolves to (None: not valid)
        self.problem: str | None = None
        self.saved: Recipe | None = None  # the recipe as written (when this screen saved it)
        self.note = ""  # what saving did besides adding (a top-level where moved onto the earlier operations)

    def compose(self) -> ComposeResult:
        with Vertical(id="recipe-dialog") as dialog:
            dialog.border_title = self.dialog_title
            yield Static(Text(f"Folder: {_short(self.folder)}", no_wrap=True, overflow="ellipsis"),
                         classes="recipe-muted")
            if self.ops:
                lines = [f"{i}. {op.describe_where()}" for i, op in enumerate(self.ops, 1)]
                if self.where:
                    lines.append(f"(only where {self.where})")
                yield VerticalScroll(Static(Text("\n".join(lines))), id="recipe-ops")
            with Horizontal(classes="recipe-row"):
                yield Label("Name", classes="recipe-label")
                yield Input(self.default_name, placeholder="cleanup (or a path, ~/recipes/x.toml)",
                            id="recipe-name", select_on_focus=False)
            with Horizontal(classes="recipe-row"):
                yield Label("Description", classes="recipe-label")
                yield Input(placeholder="optional: what the recipe is for", id="recipe-description")
            yield Static("", id="recipe-message", classes="recipe-message")
        yield Footer()

    def on_mount(self) -> None:
        self._validate()
        self.query_one("#recipe-name", Input).focus()

    def _validate(self) -> None:
        message = self.query_one("#recipe-message", Static)
        name = self.query_one("#recipe-name", Input).value
        if not name.strip():
            self.path, self.problem = None, "give the recipe a name (or a path)"
            message.update(Text("Type a name for the recipe (or a path)."))
            message.remove_class("-error")
            return
        try:
            path = recipe_path(name, self.folder)
            note = "new recipe"
            if path.exists():
                existing, error = read_recipe(path)
                if error:
                    raise LoratuiError(f"{error} (pick another name)")
                note = f"exists with {len(existing.ops)} operation(s)" + (
                    ": these are added to it" if self.ops else "")
                if self.ops:
                    existing.where_to_move(path)  # refused: a top-level where that cannot move onto its operations
                    if existing.appending_note():
                        note += f"; {existing.appending_note()}"
        except LoratuiError as exc:
            self.path, self.problem = None, str(exc)
            message.update(Text(f"error: {self.problem}"))
            message.add_class("-error")
            return
        self.path, self.problem = path, None
        message.update(Text(f"-> {path} ({note})"))
        message.remove_class("-error")

    @on(Input.Changed, "#recipe-name")
    def _name_changed(self) -> None:
        if self.is_mounted:
            self._validate()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def action_save(self) -> None:
        self._validate()
        if self.path is None:
            self.app.bell()
            return
        if self.ops:
            description = self.query_one("#recipe-description", Input).value
            existing = read_recipe(self.path)[0] if self.path.exists() else None
            try:
                self.saved = save_ops_to_recipe(self.path, self.ops, self.where, description)
                self.note = existing.appending_note() if existing is not None else ""
            except LoratuiError as exc:
                self.problem = str(exc)
                message = self.query_one("#recipe-message", Static)
                message.update(Text(f"error: {self.problem}"))
                message.add_class("-error")
                self.app.bell()
                return
        self.dismiss(self.path)

    @property
    def description(self) -> str:
        """What the user typed as the description (for a caller that saves the recipe itself)."""
        return self.query_one("#recipe-description", Input).value.strip()

    def action_cancel(self) -> None:
        self.dismiss(None)


class _Preview(VerticalScroll):
    """The recipe text; takes focus (to scroll) only when it does not fit."""

    def allow_focus(self) -> bool:
        return self.max_scroll_y > 0


class PickRecipeScreen(ModalScreen[Path | None]):
    """Choose a recipe to replay: the list of recipes in ``folders`` or a typed path; shows it first."""

    DEFAULT_CSS = _dialog_css("PickRecipeScreen") + """
    PickRecipeScreen > Vertical {
        height: 1fr;
        max-height: 30;
    }
    PickRecipeScreen #recipe-panes {
        height: 1fr;
        margin-bottom: 1;
    }
    PickRecipeScreen #recipe-list {
        width: 30;
        height: 1fr;
        border: none;
        background: $boost;
    }
    PickRecipeScreen #recipe-preview {
        width: 1fr;
        height: 1fr;
        padding: 0 1;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "pick", "Replay", id="recipe.pick", priority=True,
                tooltip="Choose the recipe shown (the highlighted one or the typed path)"),
        Binding("escape", "cancel", "Cancel", id="recipe.cancel", tooltip="Close; nothing is replayed"),
    ]

    def __init__(self, folders: Sequence[Path], *, title: str = "Replay a recipe") -> None:
        super().__init__()
        self.folders = [Path(f) for f in folders]
        self.dialog_title = title
        self.recipes = find_recipes(self.folders)
        self.current: Path | None = None          # the recipe shown
        self.current_recipe: Recipe | None = None  # it, loaded (None: broken or none)
        self.problem: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="recipe-dialog") as dialog:
            dialog.border_title = self.dialog_title
            where = ", ".join(_short(f) for f in self.folders) or "no folder"
            yield Static(Text(f"Recipes in {where}", no_wrap=True, overflow="ellipsis"), classes="recipe-muted")
            with Horizontal(id="recipe-panes"):
                yield OptionList(*[Option(Text(p.name), id=str(i)) for i, p in enumerate(self.recipes)],
                                 id="recipe-list")
                with _Preview(id="recipe-preview"):
                    yield Static("", id="recipe-text")
            with Horizontal(classes="recipe-row"):
                yield Label("Or a path", classes="recipe-label")
                yield Input(placeholder="recipe.toml, ~/recipes/x.toml", id="recipe-path")
            yield Static("", id="recipe-message", classes="recipe-message")
        yield Footer()

    def on_mount(self) -> None:
        listing = self.query_one("#recipe-list", OptionList)
        if self.recipes:
            listing.highlighted = 0
            listing.focus()
            self._show(self.recipes[0])
        else:
            listing.display = False
            self.query_one("#recipe-text", Static).update(
                Text("No recipes here yet: save one from a bulk operation, or type a path below."))
            self.query_one("#recipe-path", Input).focus()

    def _show(self, path: Path | None) -> None:
        self.current = path
        body = self.query_one("#recipe-text", Static)
        message = self.query_one("#recipe-message", Static)
        if path is None:
            self.current_recipe, self.problem = None, None
            body.update("")
            message.update("")
            return
        recipe, error = read_recipe(path)
        self.current_recipe, self.problem = recipe, error
        if error:
            body.update(Text(f"{path.name}: cannot be replayed", style="bold"))
            message.update(Text(f"error: {error}"))
            message.add_class("-error")
        else:
            body.update(describe_recipe(recipe))
            message.update(Text(f"{path} ({len(recipe.ops)} operation(s))"))
            message.remove_class("-error")

    def _typed_path(self) -> Path | None:
        text = self.query_one("#recipe-path", Input).value.strip()
        if not text:
            return None
        path = Path(text).expanduser()
        if not path.is_absolute():
            path = (self.folders[0] if self.folders else Path.cwd()) / path
        if path.suffix.lower() != RECIPE_SUFFIX and not path.exists():
            path = path.with_name(path.name + RECIPE_SUFFIX)
        return path

    def on_descendant_focus(self, event) -> None:
        """The preview follows the focused source: the list's highlighted recipe or the typed path."""
        if event.widget.id == "recipe-list":
            index = event.widget.highlighted
            self._show(self.recipes[index] if self.recipes and index is not None else None)
        elif event.widget.id == "recipe-path" and self._typed_path() is not None:
            self._show(self._typed_path())

    @on(OptionList.OptionHighlighted, "#recipe-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._show(self.recipes[int(event.option.id)])

    @on(OptionList.OptionSelected, "#recipe-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._show(self.recipes[int(event.option.id)])
        self.action_pick()

    @on(Input.Changed, "#recipe-path")
    def _path_changed(self) -> None:
        path = self._typed_path()
        if path is None:
            listing = self.query_one("#recipe-list", OptionList)
            index = listing.highlighted
            self._show(self.recipes[index] if self.recipes and index is not None else None)
        else:
            self._show(path)

    @on(Input.Submitted, "#recipe-path")
    def _path_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_pick()

    def action_pick(self) -> None:
        if self.current is None or self.current_recipe is None:
            self.app.bell()
            return
        self.dismiss(self.current)

    def action_cancel(self) -> None:
        self.dismiss(None)
