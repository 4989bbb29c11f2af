"""A one-line notice over the top row while the terminal is smaller than 80x24.

The screens are laid out for 80x24 and up; below it they cut keys and values without a word. The
notice is mounted on a screen only the first time it is needed (so at 80x24 and up nothing in the DOM
or on screen changes), on the overlay layer over the header row (so it takes no row from the screen),
and hidden again once the terminal is big enough.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widget import Widget

if TYPE_CHECKING:
    from textual.geometry import Size
    from textual.screen import Screen

MIN_WIDTH, MIN_HEIGHT = 80, 24


def too_small_message(width: int, height: int) -> str:
    """The longest wording that fits ``width``; "" at 80x24 and up."""
    if width >= MIN_WIDTH and height >= MIN_HEIGHT:
        return ""
    size = f"{width}x{height}"
    least = f"{MIN_WIDTH}x{MIN_HEIGHT}"
    wordings = (
        f"! terminal is {size}: loratui is made for {least} or more; some keys and values are cut",
        f"! terminal is {size}: loratui is made for {least}; some keys and values are cut",
        f"! terminal is {size}: made for {least}; some keys and values are cut",
        f"! terminal {size} is below {least}: keys and values are cut",
        f"! terminal {size} < {least}: text is cut",
        f"! {size} < {least}: text cut",
        f"! {size} < {least}",
    )
    return next((wording for wording in wordings if len(wording) <= width), wordings[-1])


class SizeNotice(Widget):
    """The "terminal is too small" line; hidden (display: none) when there is nothing to say."""

    DEFAULT_CSS = """
    SizeNotice {
        dock: top;
        layer: overlay;
        height: 1;
        width: 100%;
        background: $warning;
        color: auto 90%;
        text-style: bold;
    }
    """

    message: reactive[str] = reactive("", layout=False)

    def __init__(self, message: str) -> None:
        super().__init__()
        self.set_reactive(SizeNotice.message, message)

    def watch_message(self, message: str) -> None:
        self.display = bool(message)

    def render(self) -> Text:
        return Text(self.message, no_wrap=True, overflow="ellipsis")


def show_size_notice(screen: Screen, size: Size) -> None:
    """Show, update or hide the notice on ``screen`` for a terminal of ``size``.

    A modal screen gets none (its layout is not touched): the notice is the one on the screen under it,
    which shows through, so that one is updated (it stayed "! terminal 60x20" after the terminal grew
    while help was open).
    """
    if isinstance(screen, ModalScreen):
        below = [s for s in screen.app.screen_stack if not isinstance(s, ModalScreen)]
        if not below:
            return
        screen = below[-1]
    if not screen.is_mounted:
        return
    message = too_small_message(size.width, size.height)
    notices = screen.query_children(SizeNotice)
    if notices:
        notices.first().message = message
    elif message:
        screen.mount(SizeNotice(message))
