"""ImagePreview: the current image drawn with coloured half-blocks, decoded in a thread worker.

Each cell is a `▀` whose foreground is the upper pixel and background the lower one: it works in any
truecolour/256-colour terminal, in tmux and over plain SSH, with no graphics protocol. Decoding goes
through `services.thumbnails.ThumbnailCache` in an exclusive thread worker, so moving the cursor
quickly through a table only ever finishes the newest request; results come back as a message.

Kitty/Sixel graphics (the `textual-image` package) are not used yet: "auto" means half-blocks.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import ClassVar, Literal

from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.message import Message
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget
from textual.worker import get_current_worker

from loratui.tui.services.thumbnails import Thumbnail, ThumbnailCache, ThumbnailError, default_cache

PreviewMode = Literal["auto", "halfblock", "off"]
MODES: tuple[str, ...] = ("auto", "halfblock", "off")
LOADING_DELAY = 0.15  # keep the old image this long before saying "loading…": no flicker on cache hits
UPPER_HALF = "▀"


def halfblock_strips(thumb: Thumbnail) -> list[Strip]:
    """One Strip per two pixel rows; a missing last pixel row leaves the background showing."""
    width, height, pixels = thumb.width, thumb.height, thumb.pixels
    styles: dict[tuple[int, ...], Style] = {}
    strips: list[Strip] = []
    stride = width * 3
    for top in range(0, height, 2):
        upper = pixels[top * stride : (top + 1) * stride]
        lower = pixels[(top + 1) * stride : (top + 2) * stride] if top + 1 < height else None
        segments = []
        for x in range(0, stride, 3):
            key = tuple(upper[x : x + 3]) + (tuple(lower[x : x + 3]) if lower is not None else ())
            style = styles.get(key)
            if style is None:
                fg = Color.from_rgb(*key[:3])
                bg = Color.from_rgb(*key[3:]) if lower is not None else None
                style = styles[key] = Style.from_color(fg, bg)
            segments.append(Segment(UPPER_HALF, style))
        strips.append(Strip(Segment.simplify(segments), width))
    return strips


class ImagePreview(Widget):
    """Shows one image file; `show(path)` is cheap to call on every cursor move."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"image-preview--info", "image-preview--error"}

    DEFAULT_CSS = """
    ImagePreview {
        height: 1fr;
        width: 1fr;
        & > .image-preview--info { color: $text-muted; }
        & > .image-preview--error { color: $error; text-style: bold; }
    }
    """

    class Updated(Message):
        """A preview finished: `info` ("WxH · 123 KB") or `error` (a short reason) is set."""

        def __init__(self, preview: ImagePreview, path: Path, info: str, error: str | None) -> None:
            super().__init__()
            self.preview = preview
            self.path = path
            self.info = info
            self.error = error

        @property
        def control(self) -> ImagePreview:
            return self.preview

    class ThumbnailReady(Message, bubble=False):
        """Internal: a worker's result, handed back to the UI thread."""

        def __init__(
            self, generation: int, path: Path, result: Thumbnail | ThumbnailError, strips: list[Strip] | None
        ) -> None:
            super().__init__()
            self.generation = generation
            self.path = path
            self.result = result
            self.strips = strips

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        mode: PreviewMode = "auto",
        cache: ThumbnailCache | None = None,
        show_info: bool = True,
        placeholder: str = "",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        self._mode: str = mode
        self._cache = cache
        self.show_info = show_info
        self.placeholder = placeholder
        self._path: Path | None = Path(path) if path is not None else None
        self._generation = 0
        self._requested: tuple[Path, int, int] | None = None
        self._loading = False
        self._loading_visible = False
        self._loading_timer: Timer | None = None
        # what is on screen (kept while the next image loads, for LOADING_DELAY)
        self._strips: list[Strip] | None = None
        self._info = ""
        self._error: str | None = None
        self._glyph_error = "x" if os.environ.get("TERM") == "linux" else "✗"

    # ---- public API -------------------------------------------------------------------------

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {value!r}")
        if value == self._mode:
            return
        self._mode = value
        self._requested = None
        self._clear_shown()
        if value != "off" and self._path is not None and self.is_mounted:
            self._request()
        self.refresh()

    @property
    def info(self) -> str:
        """"WxH · 123 KB" for the image shown; "" while loading, on error or with no image."""
        return "" if self._loading else self._info

    @property
    def error(self) -> str | None:
        """The reason the current image cannot be shown, or None."""
        return None if self._loading else self._error

    @property
    def is_loading(self) -> bool:
        return self._loading

    def show(self, path: str | os.PathLike[str] | None) -> None:
        """Preview `path` (None: nothing). The same path again is a no-op; see `reload`."""
        new = Path(path) if path is not None else None
        if new == self._path:
            return
        self._path = new
        self._requested = None
        if new is None:
            self._generation += 1  # a result still in flight is dropped
            self._set_loading(False)
            self._clear_shown()
            self.refresh()
            return
        if self.is_mounted:
            self._request()

    def reload(self) -> None:
        """Decode the current file again if it changed on disk (the cache keys on mtime and size)."""
        self._requested = None
        if self._path is not None and self.is_mounted:
            self._request()

    # ---- worker -----------------------------------------------------------------------------

    def _thumbnail_box(self) -> tuple[int, int]:
        width, height = self.size
        rows = height - 1 if self.show_info and height > 2 else height
        return max(width, 1), max(rows, 1)

    def _request(self) -> None:
        if self._mode == "off" or self._path is None or not self.size.area:
            return
        cols, rows = self._thumbnail_box()
        wanted = (self._path, cols, rows)
        if wanted == self._requested:
            return
        self._requested = wanted
        self._generation += 1
        self._set_loading(True)
        cache = self._cache if self._cache is not None else default_cache()
        generation, path = self._generation, self._path

        def load() -> None:
            result = cache.get(path, cols, rows)
            strips = halfblock_strips(result) if isinstance(result, Thumbnail) else None
            if not get_current_worker().is_cancelled:
                self.post_message(self.ThumbnailReady(generation, path, result, strips))

        self.run_worker(
            load, name="image-preview", group="image-preview", thread=True, exclusive=True, exit_on_error=False
        )

    def on_image_preview_thumbnail_ready(self, message: ThumbnailReady) -> None:
        message.stop()
        if message.generation != self._generation:
            return  # a newer request (or show(None)) superseded this one
        self._set_loading(False)
        result = message.result
        if isinstance(result, Thumbnail):
            self._strips, self._info, self._error = message.strips, result.info, None
        else:
            self._strips, self._info, self._error = None, "", result.reason
        self.refresh()
        self.post_message(self.Updated(self, message.path, self._info, self._error))

    def _set_loading(self, loading: bool) -> None:
        self._loading = loading
        if self._loading_timer is not None:
            self._loading_timer.stop()
            self._loading_timer = None
        self._loading_visible = False
        if loading:
            if self._strips is None and self._error is None:
                self._loading_visible = True  # nothing to keep on screen meanwhile
                self.refresh()
            else:
                self._loading_timer = self.set_timer(LOADING_DELAY, self._show_loading)

    def _show_loading(self) -> None:
        self._loading_timer = None
        if self._loading:
            self._loading_visible = True
            self.refresh()

    def _clear_shown(self) -> None:
        self._strips, self._info, self._error = None, "", None

    def on_mount(self) -> None:
        if self._path is not None:
            self._request()

    def on_resize(self, event: events.Resize) -> None:
        if self._path is not None and self._mode != "off":
            self._request()

    # ---- rendering --------------------------------------------------------------------------

    def _text_lines(self) -> list[tuple[str, str | None]]:
        """Lines of text to show instead of (or under) the image, with their component class."""
        width = max(self.size.width, 1)
        if self._mode == "off":
            return [("preview off (setting)", "image-preview--info")]
        if self._loading and self._loading_visible:
            return [("loading…", "image-preview--info")]
        if self._error is not None:
            message = f"{self._glyph_error} broken image: {self._error}"
            return [(line, "image-preview--error") for line in textwrap.wrap(message, width) or [message]]
        if self._strips is None:
            return [(self.placeholder, "image-preview--info")] if self.placeholder else []
        return []

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        lines = self._text_lines()
        if lines or self._strips is None or self._mode == "off":
            if y < len(lines):
                text, component = lines[y]
                style = self.get_component_rich_style(component) if component else base
                return Strip([Segment(text, style)]).adjust_cell_length(width, style)
            return Strip.blank(width, base)
        strips = self._strips
        if y < len(strips):
            strip = strips[y]
            left = max((width - strip.cell_length) // 2, 0)
            strip = strip.crop(0, width) if strip.cell_length > width else strip
            right = max(width - left - strip.cell_length, 0)
            padded = Strip.join([Strip.blank(left, base), strip, Strip.blank(right, base)])
            return padded.apply_style(base)
        if y == len(strips) and self.show_info and self._info:
            style = self.get_component_rich_style("image-preview--info")
            text = self._info if len(self._info) <= width else self._info[: max(width - 1, 0)] + "…"
            return Strip([Segment(text.center(width), style)]).adjust_cell_length(width, style)
        return Strip.blank(width, base)
