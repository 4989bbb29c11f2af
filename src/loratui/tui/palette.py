"""The command palette: one provider, "area: verb" commands from the app and the current screen.

A screen offers its actions by defining ``palette_commands() -> list[PaletteCommand]``; the app adds
its own (switch screen, theme, preview, help, quit). Every action bound to a key appears here too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual.command import DiscoveryHit, Hit, Hits, Provider


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
