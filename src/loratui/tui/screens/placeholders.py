"""The Caption, Settings and Train screens until parts 2 and 3 of the TUI land: each says what it
will hold and which command does the same work today, so the app never shows an empty screen."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

TEXTS = {
    "caption": (
        "Caption",
        "Coming next: caption the dataset with WD14 (onnxruntime) or BLIP / BLIP-2 / GIT from here, "
        "with progress, the provider that really runs, failed images, cancel and a dry run.\n\n"
        "Today, from a shell:\n"
        "  loratui caption wd14 DIR --model MODEL_DIR\n"
        "  loratui caption blip DIR --model MODEL\n\n"
        "Captions written that way show up in the Dataset screen at once (the folder is watched).",
    ),
    "settings": (
        "Settings",
        "Coming next: a form over the whole training config with help on every field, a live "
        "steps/epochs calculator, VRAM presets and a VRAM estimate against your GPU.\n\n"
        "Today, from a shell:\n"
        "  loratui config new CONFIG.toml --train-data-dir img\n"
        "  loratui config check CONFIG.toml\n"
        "  loratui steps CONFIG.toml\n"
        "  loratui vram CONFIG.toml\n"
        "  loratui presets apply CONFIG.toml sd15-8gb",
    ),
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


class CaptionScreen(PlaceholderScreen):
    def __init__(self) -> None:
        super().__init__("caption")


class SettingsScreen(PlaceholderScreen):
    def __init__(self) -> None:
        super().__init__("settings")


class TrainScreen(PlaceholderScreen):
    def __init__(self) -> None:
        super().__init__("train")
