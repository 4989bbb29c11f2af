"""The key help screen: every key active on the screen it was opened from, built from the bindings.

``show_help(app)`` reads ``app.screen.active_bindings`` (the focused widget's chain, the screen and
the app, with the user's keymap already applied) and pushes a ``HelpScreen`` listing, per owner
(focused widget first, then its containers, the screen, then the app): the key(s), the description
and the binding's tooltip. Bindings hidden from the footer are listed too, except those without a
description (internal keys such as ctrl+c "help_quit") and the scroll keys of an axis their container
never scrolls (a VerticalScroll's left/right: its overflow-x is hidden); bindings whose ``check_action`` currently
returns None are listed dimmed, those returning False are not active and not listed. A binding the user's
keymap left without a key here (its key given to another action) is listed with "no key" and why, so a
clash in keymap.toml does not make an action vanish. The screen's commands that no key runs (only the
command palette, ctrl+p: "caption: resume") follow, under ``PALETTE_TITLE``. The problems
found at start-up (theme files, the keymap, tui.toml: ``app.startup_problems``) head the list: their
toasts go after a few seconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

if TYPE_CHECKING:
    from textual.app import App
    from textual.dom import DOMNode

APP_GROUP_TITLE = "Everywhere"
PALETTE_TITLE = "Only in the command palette (ctrl+p)"
PROBLEMS_TITLE = "Problems at start-up"


@dataclass(frozen=True)
class HelpEntry:
    keys: str
    """Display form of every key bound to this action, e.g. "? / f1"."""
    description: str
    tooltip: str = ""
    enabled: bool = True
    binding_id: str | None = None
    no_key: str = ""
    """Why the action has no key here (the keymap gave it to another); empty when it has one."""


@dataclass(frozen=True)
class HelpGroup:
    title: str
    entries: tuple[HelpEntry, ...]


# Textual's scroll actions by the axis they scroll: they do nothing where that axis's overflow is hidden
SCROLL_AXIS = {"scroll_left": "x", "scroll_right": "x", "page_left": "x", "page_right": "x",
               "scroll_up": "y", "scroll_down": "y", "page_up": "y", "page_down": "y",
               "scroll_home": "y", "scroll_end": "y"}


def _never_acts(node: DOMNode, action: str) -> bool:
    """A scroll key of an axis ``node`` never scrolls (its overflow there is hidden)."""
    axis = SCROLL_AXIS.get(action)
    styles = getattr(node, "styles", None)
    return axis is not None and styles is not None and getattr(styles, f"overflow_{axis}") == "hidden"


def _field_label(node: DOMNode) -> str:
    """The label beside a form control on its row ("Rewrite read-only" for #opt-force), "" when it has none."""
    from textual.containers import Horizontal

    parent = node.parent
    if not isinstance(parent, Horizontal) or not getattr(node, "can_focus", False):
        return ""
    for sibling in parent.children:
        if sibling is not node and isinstance(sibling, Label):
            text = str(sibling.render()).strip()
            if text:
                return text
    return ""


def _humanize(class_name: str) -> str:
    """"TagListView" -> "Tag list view"."""
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+", class_name.lstrip("_")) or [class_name]
    text = " ".join(word if word.isupper() and len(word) > 1 else word.lower() for word in words)
    return text[:1].upper() + text[1:]


def _group_title(node: DOMNode, screen: Screen, focused: DOMNode | None) -> str:
    if node is screen.app:
        return node.BINDING_GROUP_TITLE or APP_GROUP_TITLE
    if node.BINDING_GROUP_TITLE:
        title = node.BINDING_GROUP_TITLE
    elif node is screen:
        title = screen.title or _humanize(type(screen).__name__)
        if "screen" not in title.lower():
            title += " screen"
    elif _field_label(node):  # a form field by its label, not its id ("Opt force")
        title = _field_label(node)
    elif node.id:  # "run-results" reads "Run results"; the class name would be Textual's (Vertical scroll)
        title = node.id.replace("-", " ").replace("_", " ").capitalize()
    else:
        title = _humanize(type(node).__name__)
    if node is focused:
        title += " (focused)"
    return title


def _chain_order(screen: Screen) -> list[DOMNode]:
    """The nodes whose bindings apply, nearest first, as Textual walks them."""
    focused = screen.focused
    if focused is not None and not focused.loading:
        return list(focused.ancestors_with_self)
    return [screen, screen.app]


def collect_help(screen: Screen) -> list[HelpGroup]:
    """Group the active bindings of ``screen`` by owner; several keys for one action share an entry."""
    app = screen.app
    focused = screen.focused
    # node -> (action, description) -> [key displays, tooltip, enabled, id, why it has no key]
    by_node: dict[DOMNode, dict[tuple[str, str], list]] = {}
    for active in screen.active_bindings.values():
        binding: Binding = active.binding
        if not binding.description.strip() or _never_acts(active.node, binding.action):
            continue
        entries = by_node.setdefault(active.node, {})
        slot = entries.setdefault(
            (binding.action, binding.description),
            [[], active.tooltip or binding.tooltip, active.enabled, binding.id, ""],
        )
        display = app.get_key_display(binding)
        if display not in slot[0]:
            slot[0].append(display)
        slot[2] = slot[2] or active.enabled
    for node, binding, why in _keyless(screen):  # listed all the same, with why it has no key
        by_node.setdefault(node, {}).setdefault((binding.action, binding.description),
                                                [[], binding.tooltip, False, binding.id, why])

    order = _chain_order(screen)
    rank = {id(node): index for index, node in enumerate(order)}

    def generic(node) -> bool:  # only Textual's own keys (scrolling, list moves): they carry no loratui id
        return all(slot[3] is None for slot in by_node[node].values())

    # the screen's own keys first: Textual's scroll and list keys of the focused widget come after them
    nodes = sorted(by_node, key=lambda node: (generic(node), rank.get(id(node), len(order))))
    groups = []
    for node in nodes:
        entries = tuple(
            HelpEntry(" / ".join(keys) or "no key", description, tooltip, enabled, binding_id, no_key)
            for (_action, description), (keys, tooltip, enabled, binding_id, no_key) in by_node[node].items()
        )
        groups.append(HelpGroup(_group_title(node, screen, focused), entries))
    palette_only = palette_only_entries(screen)
    if palette_only:  # before the app's own keys, which come last
        at = next((i for i, g in enumerate(groups) if g.title == _group_title(app, screen, focused)), len(groups))
        groups.insert(at, HelpGroup(PALETTE_TITLE, tuple(palette_only)))
    return groups


def _action_name(action: str) -> str:
    """"screen.move_field(1)" -> "move_field"."""
    return action.split("(", 1)[0].rsplit(".", 1)[-1]


def palette_only_entries(screen: Screen) -> list[HelpEntry]:
    """The palette commands of ``screen`` (and its widgets) whose action no binding of its owner
    runs: a bound ``action_X`` method (or a partial of one) with no binding for X. Commands made of
    lambdas cannot be told apart and are left out (each screen's lambdas run keyed actions)."""
    from functools import partial

    from loratui.tui.palette import own_commands

    entries = []
    for command in own_commands(screen):
        run = command.run.func if isinstance(command.run, partial) else command.run
        owner, name = getattr(run, "__self__", None), getattr(run, "__name__", "")
        if owner is None or not name.startswith("action_"):
            continue
        bound = {_action_name(binding.action) for _key, binding in owner._bindings}
        if name[len("action_"):] not in bound:
            entries.append(HelpEntry("ctrl+p", command.title, command.help))
    return entries


def _keyless(screen: Screen) -> list[tuple[DOMNode, Binding, str]]:
    """(node, binding, why) for each described binding of the chain that the user's keymap left without
    a key here: its key given to another action of the same node, or to a nearer node of the chain."""
    from loratui.tui.services.keymap import binding_name, lost_bindings, normalize_keymap

    app = screen.app
    keymap = normalize_keymap(getattr(app, "_keymap", None) or {})  # what App.set_keymap stored
    if not keymap:
        return []
    active = screen.active_bindings
    keyless = []
    for node in _modal_chain(screen):
        lost = lost_bindings(node._bindings, keymap)
        after = node._bindings.copy()
        after.apply_keymap(keymap)
        reachable = {binding_name(item.binding) for item in active.values() if item.node is node}
        listed: set[str] = set()
        for _key, binding in node._bindings:
            name = binding_name(binding)
            if (not binding.description.strip() or name in reachable or name in listed
                    or app._check_action_state(binding.action, node) is False):  # not active: not listed
                continue
            if name in lost:
                clash = lost[name]
                why = f"'{app.get_key_display(clash.winner)}' runs {binding_name(clash.winner)}"
            else:
                why = _shadowed_by(after, name, node, active, keymap, binding, app)
            if why:
                listed.add(name)
                keyless.append((node, binding, why))
    return keyless


def _shadowed_by(after, name: str, node: DOMNode, active: dict, keymap: dict[str, str], binding: Binding,
                 app: App) -> str:
    """"'t' runs dataset.tags_pane" when every key of ``name`` goes to a nearer node and the keymap made
    that so; "" otherwise (a key a text box takes, or Textual's own nearer keys, are not a clash)."""
    from loratui.tui.services.keymap import binding_name

    keys = [key for key, bound in after.key_to_bindings.items() if binding_name(bound[0]) == name]
    takers = [active.get(key) for key in keys]
    if not keys or any(taker is None or taker.node is node for taker in takers):
        return ""
    if binding.id not in keymap and not any(taker.binding.id in keymap for taker in takers):
        return ""
    return f"'{app.get_key_display(takers[0].binding)}' runs {binding_name(takers[0].binding)}"


def _modal_chain(screen: Screen) -> list[DOMNode]:
    """The nodes whose bindings apply, as Textual walks them: none past the first modal screen."""
    chain = []
    for node in _chain_order(screen):
        chain.append(node)
        if node.is_modal:
            break
    return chain


def _group_table(group: HelpGroup, key_width: int) -> Table:
    table = Table.grid(padding=(0, 2), expand=True)
    table.add_column("keys", style="bold", width=key_width)
    table.add_column("description", ratio=1)
    for entry in group.entries:
        text = Text(entry.description)
        if entry.tooltip:
            text.append(f" - {entry.tooltip}", style="dim")
        if entry.no_key:
            text.stylize("dim")
            text.append(f" ! no key: {entry.no_key} (keymap.toml)", style="italic")
        elif not entry.enabled:
            text.append(" (not available now)", style="italic")
            text.stylize("dim")
        if entry.binding_id:  # what ~/.config/loratui/keymap.toml calls it
            text.append(f"  [{entry.binding_id}]", style="dim italic")
        table.add_row(Text(entry.keys, style="" if entry.enabled else "dim"), text)
    return table


def _problems_table(problems: tuple[str, ...]) -> Table:
    """One "! problem" a row, a long one wrapped under its text (not under the mark)."""
    table = Table.grid(padding=(0, 1), expand=True)
    table.add_column("mark", width=1, style="bold")
    table.add_column("problem", ratio=1)
    for problem in problems:
        table.add_row("!", Text(problem))
    table.add_row("", Text("These files are read when loratui starts: fix them, then start it again.",
                           style="dim"))
    return table


class HelpScreen(ModalScreen[None]):
    """A scrollable list of the keys of the screen below; escape, q, ? or F1 closes it, and so do the keys
    keymap.toml gives the app's help (a modal screen hides the app's own bindings: f12 would do nothing)."""

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen > #help-dialog {
        width: 100%;
        max-width: 100;
        height: 100%;
        max-height: 40;
        border: round $primary;
        border-title-style: bold;
        background: $surface;
        padding: 0 1;
    }
    HelpScreen #help-body {
        height: 1fr;
        background: $surface;
    }
    HelpScreen .help-group-title {
        text-style: bold underline;
        color: $text-accent;
        margin-top: 1;
        &:first-child {
            margin-top: 0;
        }
    }
    HelpScreen .help-group {
        width: 100%;
    }
    HelpScreen #help-problems-title {
        color: $text-warning;
    }
    HelpScreen #help-hint {
        height: 1;
        color: $text-muted;
    }
    """

    BINDINGS = [
        Binding("escape,q,question_mark,f1", "close", "Close help", id="help.close"),
    ]

    def __init__(self, groups: list[HelpGroup], title: str = "Keys", problems: tuple[str, ...] | list[str] = (),
                 help_keys: list[tuple[str, str]] | tuple = ()) -> None:
        """``help_keys``: (Textual's key name, as shown) of each key that opens the help (the app's
        app.help with the keymap applied): each closes it too."""
        super().__init__()
        self.groups = list(groups)
        self.help_title = title
        self.problems = tuple(problems)
        own = {name for name, _bindings in self._bindings.key_to_bindings.items()}
        self.extra_close_keys = [(name, shown) for name, shown in help_keys if name not in own]
        for name, _shown in self.extra_close_keys:  # no id: a keymap entry for help.close leaves them be
            self._bindings.bind(name, "close", "Close help", show=False)

    def close_keys(self) -> str:
        """"esc, q, ?, f1 or f12": what closes the help, with the user's keymap applied."""
        from loratui.tui.services.keymap import keys_in, or_words

        return or_words(list(dict.fromkeys([*keys_in(self._bindings, getattr(self.app, "_keymap", None), "help.close"),
                                            *(shown for _name, shown in self.extra_close_keys)])))

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog") as dialog:
            dialog.border_title = self.help_title
            with VerticalScroll(id="help-body"):
                if self.problems:
                    yield Label(Text(PROBLEMS_TITLE), id="help-problems-title", classes="help-group-title")
                    yield Static(_problems_table(self.problems), id="help-problems")
                if not self.groups:
                    yield Static("No keys are active here.")
                # One key-column width for every group, so the descriptions line up.
                longest = max((len(e.keys) for g in self.groups for e in g.entries), default=6)
                key_width = min(max(longest, 6), 24)
                for group in self.groups:
                    yield Label(Text(group.title), classes="help-group-title")
                    yield Static(_group_table(group, key_width), classes="help-group")
            yield Static(Text(f"{self.close_keys() or 'no key (keymap.toml: help.close)'}: close   up/down, page up/down: scroll"),
                         id="help-hint")

    def on_mount(self) -> None:
        self.query_one("#help-body", VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)


def _screen_title(app: App, screen: Screen) -> str:
    if screen.title:
        return screen.title
    if type(screen) is Screen:  # the app's default screen
        return app.title or "this screen"
    return _humanize(type(screen).__name__)


def show_help(app: App) -> HelpScreen | None:
    """Open the help for the current screen (or close it when it is already showing)."""
    screen = app.screen
    if isinstance(screen, HelpScreen):
        screen.dismiss(None)
        return None
    from loratui.tui.services.keymap import named_keys_in

    help_keys = named_keys_in(app._bindings, getattr(app, "_keymap", None), "app.help")
    help_screen = HelpScreen(collect_help(screen), title=f"Keys: {_screen_title(app, screen)}",
                             problems=getattr(app, "startup_problems", ()), help_keys=help_keys)
    app.push_screen(help_screen)
    return help_screen
