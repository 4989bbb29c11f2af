"""The command palette: one provider, "area: verb" commands from the app, the current screen, its
widgets and the other screens.

``LoratuiPalette`` is Textual's palette with one change: Enter runs the best match for the whole text
typed. Textual searches in a worker after each key and Enter takes the top row of the list it shows;
typed in one burst (``ctrl+p``, "preview: off", Enter over SSH) that was the list for a partial
text ("preview: auto" ran). Enter now waits, for at most ``SEARCH_WAIT_S``, for the search of what
is in the box.

A screen offers its actions by defining ``palette_commands() -> list[PaletteCommand]``, and so does
any widget on it (the Settings VRAM panel's b/p/f/c work only while it is focused, yet its commands
are listed wherever the focus is); the app adds its own (switch screen, theme, preview, help, quit).
Every action bound to a key appears here too. The other screens' main commands (``ELSEWHERE``) are
listed as "... (on Caption)": running one switches to that screen, then runs its command there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual.command import CommandPalette, DiscoveryHit, Hit, Hits, Provider
from textual.widgets import Input
from textual.worker import WorkerState


@dataclass(frozen=True)
class PaletteCommand:
    title: str                 # "area: verb", e.g. "tags: remove from selection"
    help: str
    run: Callable[[], object]


MODE_TITLES = {"dataset": "Dataset", "caption": "Caption", "settings": "Settings", "train": "Train"}

# The main commands of each screen, offered on the others (titles as that screen's palette names them;
# a test checks each is there). Running one switches screens first: the screen may not exist yet.
ELSEWHERE: dict[str, tuple[str, ...]] = {
    "dataset": ("dataset: filter", "dataset: rescan", "dataset: next problem image",
                "dataset: next image without a caption", "tags: undo the last change",
                "recipes: replay a recipe on this dataset (with preview)"),
    "caption": ("caption: start", "caption: dry run", "caption: cancel", "caption: resume",
                "caption: switch WD14 / BLIP", "caption: find models again"),
    "settings": ("config: save", "config: start training", "config: go to field", "config: reload from disk",
                 "config: open another config", "vram: presets", "vram: show breakdown",
                 "vram: apply cheapest fix", "vram: card size", "steps: target steps"),
    "train": ("train: runs (follow a live or past run)", "train: start a new run from the config",
              "train: stop the run gracefully", "train: save a LoRA now", "train: resume the stopped run",
              "train: promote the highlighted checkpoint"),
}
ELSEWHERE_SCORE = 0.8  # the current screen's own commands rank first for the same text


def own_commands(screen) -> list[PaletteCommand]:
    """The screen's commands, then those of the widgets on it (the first of a title wins)."""
    found: dict[str, PaletteCommand] = {}
    nodes = [screen, *(widget for widget in screen.query("*") if hasattr(widget, "palette_commands"))]
    for node in nodes:
        provide = getattr(node, "palette_commands", None)
        for command in (provide() if provide else []):
            found.setdefault(command.title, command)
    return list(found.values())


def current_mode(app) -> str | None:
    try:
        return app.current_mode
    except AttributeError:
        return None


def elsewhere_commands(app, here: str | None) -> list[PaletteCommand]:
    """The other screens' main commands: "caption: resume (on Caption)"."""
    if not getattr(app, "MODES", None):
        return []
    return [PaletteCommand(f"{title} (on {MODE_TITLES[mode]})", f"switches to {MODE_TITLES[mode]}, then runs it",
                           lambda m=mode, t=title: _run_elsewhere(app, m, t))
            for mode, titles in ELSEWHERE.items() if mode != here and mode in app.MODES for title in titles]


async def _run_elsewhere(app, mode: str, title: str) -> None:
    """Switch to ``mode``'s screen (made on first use), then run its command named ``title``."""
    if current_mode(app) != mode:
        await app.switch_mode(mode)

    def run() -> None:
        command = next((c for c in own_commands(app.screen) if c.title == title), None)
        if command is None:
            app.notify(f"{MODE_TITLES[mode]} has no command {title!r} now", severity="warning")
            return
        command.run()

    app.call_after_refresh(run)  # after the screen's first layout: its widgets exist


def commands_for(screen, app) -> list[PaletteCommand]:
    return [*own_commands(screen), *app.palette_commands()]


class LoratuiCommands(Provider):
    def _elsewhere(self) -> list[PaletteCommand]:
        return elsewhere_commands(self.app, current_mode(self.app))

    async def discover(self) -> Hits:
        for command in commands_for(self.screen, self.app):
            yield DiscoveryHit(command.title, command.run, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in commands_for(self.screen, self.app):
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(score, matcher.highlight(command.title), command.run, help=command.help)
        for command in self._elsewhere():
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(score * ELSEWHERE_SCORE, matcher.highlight(command.title), command.run, help=command.help)


SEARCH_WAIT_S = 2.0  # the longest Enter waits for the search of the text typed


class LoratuiPalette(CommandPalette):
    """The palette whose Enter waits for the search of the whole text (see the module doc)."""

    def _searching(self) -> bool:
        return any(worker.group == self._GATHER_COMMANDS_GROUP
                   and worker.state in (WorkerState.PENDING, WorkerState.RUNNING)
                   for worker in self.workers)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        # runs before CommandPalette's own handler, which it skips while a search is on the way
        if not self._searching():
            return
        event.prevent_default()
        event.stop()
        self._enter_when_searched(event, waited=0.0)

    def _enter_when_searched(self, event: Input.Submitted, waited: float) -> None:
        if not self.is_attached:
            return
        if self._searching() and waited < SEARCH_WAIT_S:
            self.set_timer(0.02, lambda: self._enter_when_searched(event, waited + 0.02))
            return
        self._select_or_command(event)
