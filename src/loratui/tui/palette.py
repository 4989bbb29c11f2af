"""The command palette: one provider, "area: verb" commands from the app and the current screen.

``LoratuiPalette`` is Textual's palette with one change: Enter runs the best match for the whole text
typed. Textual searches in a worker after each key and Enter takes the top row of the list it shows;
typed in one burst (``ctrl+p``, "preview: off", Enter over SSH) that was the list for a partial
text ("preview: auto" ran). Enter now waits, for at most ``SEARCH_WAIT_S``, for the search of what
is in the box.

A screen offers its actions by defining ``palette_commands() -> list[PaletteCommand]``; the app adds
its own (switch screen, theme, preview, help, quit). Every action bound to a key appears here too.
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


def commands_for(screen, app) -> list[PaletteCommand]:
    own = getattr(screen, "palette_commands", None)
    return [*(own() if own else []), *app.palette_commands()]


class LoratuiCommands(Provider):
    async def discover(self) -> Hits:
        for command in commands_for(self.screen, self.app):
            yield DiscoveryHit(command.title, command.run, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in commands_for(self.screen, self.app):
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(score, matcher.highlight(command.title), command.run, help=command.help)


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
