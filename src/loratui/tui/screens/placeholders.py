"""The Train screen until part 3 of the TUI lands: it says what it will hold and which command does
the same work today, so the app never shows an empty screen."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

TEXTS = {
    "train": (
        "Train",
        "Coming next: start a run that survives closing the app or losing SSH, reattach to it, "
        "watch the loss chart, stop gracefully, promote a checkpoint.\n\n"
        "Today, from a shell (in tmux, so it survives the connection):\n"
        "  loratui train CONFIG.toml\n"
        "  tail -f OUTPUT_DIR/NAME.events.jsonl",
    ),
}


class PlaceholderScreen(Screen):
    """A screen of a later part: says what comes and what works today."""

    DEFAULT_CSS = """
    PlaceholderScreen VerticalScroll { padding: 1 2; }
    PlaceholderScreen .placeholder-title { text-style: bold; margin-bottom: 1; }
    """

    def __init__(self, kind: str) -> None:
        super().__init__(name=kind)
        self.kind = kind

    def compose(self) -> ComposeResult:
        title, body = TEXTS[self.kind]
        yield Header()
        with VerticalScroll():
            yield Static(f"{title} (not built yet)", classes="placeholder-title", markup=False)
            yield Static(body, markup=False)
        yield Footer()


class TrainScreen(PlaceholderScreen):
    def __init__(self) -> None:
        super().__init__("train")
