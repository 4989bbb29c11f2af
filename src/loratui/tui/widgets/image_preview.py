"""ImagePreview: the current image as Kitty or Sixel graphics, or coloured half-blocks; decoded in a thread worker.

Modes: "auto" (what `services.terminal_graphics.detect()` finds from the environment: Kitty graphics,
Sixel, else half-blocks; always half-blocks when the app is headless), "kitty", "sixel", "halfblock"
and "off".

Half-blocks: each cell is a `▀` whose foreground is the upper pixel and background the lower one: it
works in any truecolour/256-colour terminal, in tmux and over plain SSH, with no graphics protocol.

Kitty/Sixel: textual-image's widget for that protocol (imported lazily, in the worker, by
`terminal_graphics.load_widget_class`) is mounted as a child, sized in cells, and given a Pillow
image of the thumbnail's size (the preview area at the terminal's cell resolution), never the full
file. If textual-image is missing or drawing fails, the preview falls back to half-blocks for good
(until the mode is set again) and shows a one-line note saying why (widgets/preview_graphics.py).

Decoding goes through `services.thumbnails.ThumbnailCache` in an exclusive thread worker, so moving
the cursor quickly through a table only ever finishes the newest request; results come back as a
message. A file that cannot be shown shows its reason, in every mode.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any, ClassVar, Literal

from rich.segment import Segment
from textual import events
from textual.message import Message
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget
from textual.worker import get_current_worker

from loratui.tui.services import terminal_graphics
from loratui.tui.services.thumbnails import Thumbnail, ThumbnailCache, ThumbnailError, default_cache
from loratui.tui.widgets.halfblocks import halfblock_strips
from loratui.tui.widgets.preview_graphics import PreviewGraphics, _graphics_cell
from loratui.tui.services.terminal_graphics import ascii_only

PreviewMode = Literal["auto", "kitty", "sixel", "halfblock", "off"]
MODES: tuple[str, ...] = ("auto", "kitty", "sixel", "halfblock", "off")
GRAPHICS = ("kitty", "sixel")
LOADING_DELAY = 0.15  # keep the old image this long before saying "loading…": no flicker on cache hits
NO_COLOR_LINE = "preview off (NO_COLOR)"


class ImagePreview(PreviewGraphics, Widget):
    """Shows one image file; `show(path)` is cheap to call on every cursor move."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"image-preview--info", "image-preview--error"}

    DEFAULT_CSS = """
    ImagePreview {
        height: 1fr;
        width: 1fr;
        overflow: hidden hidden;
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
            self,
            generation: int,
            path: Path,
            result: Thumbnail | ThumbnailError,
            strips: list[Strip] | None,
            *,
            key: tuple[Any, ...] | None = None,
            image: Any = None,
            graphic_class: type | None = None,
        ) -> None:
            super().__init__()
            self.generation = generation
            self.path = path
            self.result = result
            self.strips = strips
            self.key = key
            self.image = image  # a Pillow image of the thumbnail (graphics protocols only)
            self.graphic_class = graphic_class

    class GraphicsUnavailable(Message, bubble=False):
        """Internal: the worker could not load textual-image for `protocol`."""

        def __init__(self, protocol: str, reason: str) -> None:
            super().__init__()
            self.protocol = protocol
            self.reason = reason

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
        self._requested: tuple[Any, ...] | None = None
        self._loading = False
        self._loading_visible = False
        self._loading_timer: Timer | None = None
        # what is on screen (kept while the next image loads, for LOADING_DELAY)
        self._strips: list[Strip] | None = None
        self._picture_cells: tuple[int, int] | None = None  # (cols, rows) of the graphics image shown
        self._shown_key: tuple[Any, ...] | None = None
        self._info = ""
        self._error: str | None = None
        self._glyph_error = "x" if ascii_only() else "✗"
        # graphics protocols: the child widget, and protocols that failed (sticky until the mode is set)
        self._graphic: Widget | None = None
        self._graphic_protocol: str | None = None
        self._failed: dict[str, str] = {}
        self._note: str | None = None

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
        self._failed.clear()  # choosing a mode again tries its protocol again
        self._note = None
        self._requested = None
        self._clear_shown()
        if self._resolve_protocol() not in GRAPHICS:
            self._drop_graphic()
        if value != "off" and self._path is not None and self.is_mounted:
            self._request()
        self._sync_graphic()
        self.refresh()

    @property
    def protocol(self) -> str:
        """What the preview draws with now: "kitty", "sixel", "halfblock" or "off"."""
        return self._resolve_protocol()

    @property
    def note(self) -> str | None:
        """Why graphics fell back to half-blocks, or None."""
        return self._note

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

    @property
    def is_settled(self) -> bool:
        """Nothing in flight and what is shown was made for the current path, size and protocol."""
        if self._loading:
            return False
        if self._path is None or self._resolve_protocol() == "off" or not self.size.area:
            return True
        return self._shown_key == self._wanted_key()

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
            self._sync_graphic()
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
        rows = height
        if self.show_info and rows > 2:
            rows -= 1
        if self._note and rows > 2:
            rows -= 1
        return max(width, 1), max(rows, 1)

    def _wanted_key(self) -> tuple[Any, ...]:
        return (self._path, *self._thumbnail_box(), self._resolve_protocol())

    def _request(self) -> None:
        protocol = self._resolve_protocol()
        if protocol == "off" or self._path is None or not self.size.area:
            return
        cols, rows = self._thumbnail_box()
        wanted = self._wanted_key()
        if wanted == self._requested:
            return
        self._requested = wanted
        self._generation += 1
        self._set_loading(True)
        cache = self._cache if self._cache is not None else default_cache()
        generation, path = self._generation, self._path

        def load() -> None:
            worker = get_current_worker()
            graphic_class = None
            if protocol in GRAPHICS:
                try:
                    graphic_class = terminal_graphics.load_widget_class(protocol)
                except terminal_graphics.GraphicsUnavailable as exc:
                    if not worker.is_cancelled:
                        self.post_message(self.GraphicsUnavailable(protocol, str(exc)))
                    return
                result = cache.get(path, cols, rows, cell=_graphics_cell(cols, rows))
                image = result.to_pil() if isinstance(result, Thumbnail) else None
                strips = None
            else:
                result = cache.get(path, cols, rows)
                strips = halfblock_strips(result) if isinstance(result, Thumbnail) else None
                image = None
            if not worker.is_cancelled:
                self.post_message(self.ThumbnailReady(generation, path, result, strips, key=wanted, image=image,
                                                      graphic_class=graphic_class))

        self.run_worker(
            load, name="image-preview", group="image-preview", thread=True, exclusive=True, exit_on_error=False
        )

    def on_image_preview_thumbnail_ready(self, message: ThumbnailReady) -> None:
        message.stop()
        if message.generation != self._generation:
            return  # a newer request (or show(None), or a fallback) superseded this one
        self._set_loading(False)
        result = message.result
        self._shown_key = message.key
        self._strips, self._picture_cells = None, None
        if isinstance(result, Thumbnail):
            self._info, self._error = result.info, None
            if message.image is not None and message.graphic_class is not None:
                protocol = message.key[-1] if message.key else self._resolve_protocol()
                self._show_graphic(protocol, message.graphic_class, message.image, result)
            else:
                self._strips = message.strips
        else:
            self._info, self._error = "", result.reason
        self._sync_graphic()
        self.refresh()
        self.post_message(self.Updated(self, message.path, self._info, self._error))

    # ---- loading state ----------------------------------------------------------------------

    def _set_loading(self, loading: bool) -> None:
        self._loading = loading
        if self._loading_timer is not None:
            self._loading_timer.stop()
            self._loading_timer = None
        self._loading_visible = False
        if loading:
            if self._strips is None and self._picture_cells is None and self._error is None:
                self._loading_visible = True  # nothing to keep on screen meanwhile
                self._sync_graphic()
                self.refresh()
            else:
                self._loading_timer = self.set_timer(LOADING_DELAY, self._show_loading)

    def _show_loading(self) -> None:
        self._loading_timer = None
        if self._loading:
            self._loading_visible = True
            self._sync_graphic()
            self.refresh()

    def _clear_shown(self) -> None:
        self._strips, self._picture_cells, self._shown_key, self._info, self._error = None, None, None, "", None

    def on_mount(self) -> None:
        if self._path is not None:
            self._request()

    def on_resize(self, event: events.Resize) -> None:
        if self._path is not None and self._mode != "off":
            self._request()

    # ---- rendering --------------------------------------------------------------------------

    def _text_lines(self) -> list[tuple[str, str | None]]:
        """Lines of text to show instead of the image, with their component class."""
        width = max(self.size.width, 1)
        if self._mode == "off":
            return [("preview off (setting)", "image-preview--info")]
        if self._loading and self._loading_visible:
            return [("loading…", "image-preview--info")]
        if self._error is not None:
            message = f"{self._glyph_error} broken image: {self._error}"
            return [(line, "image-preview--error") for line in textwrap.wrap(message, width) or [message]]
        if self._strips is None and self._picture_cells is None:
            return [(self.placeholder, "image-preview--info")] if self.placeholder else []
        if self._strips is not None and self._colour_off():
            return [(NO_COLOR_LINE, "image-preview--info")]
        return []

    def _colour_off(self) -> bool:
        """NO_COLOR: half-blocks are nothing but colour, and Textual's filter makes them one grey block."""
        try:
            return bool(self.app.no_color)
        except Exception:  # noqa: BLE001 - no app (a widget drawn on its own): colour as usual
            return False

    def _footer(self) -> list[str]:
        """Lines under the image (or the text): the info line, then the fallback note."""
        lines = []
        text = self._text_lines()
        if self.show_info and self._info and (not text or text[0][0] == NO_COLOR_LINE):
            lines.append(self._info)
        if self._note and self._mode != "off":
            lines.append(self._note)
        return lines

    def _line(self, text: str, component: str | None, width: int, *, center: bool = False) -> Strip:
        style = self.get_component_rich_style(component) if component else self.rich_style
        if len(text) > width:
            text = text[: max(width - 1, 0)] + "…"
        if center:
            text = text.center(width)
        return Strip([Segment(text, style)]).adjust_cell_length(width, style)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        lines = self._text_lines()
        if lines or self._mode == "off" or (self._strips is None and self._picture_cells is None):
            if y < len(lines):
                text, component = lines[y]
                style = self.get_component_rich_style(component) if component else base
                return Strip([Segment(text, style)]).adjust_cell_length(width, style)
            footer = self._footer()
            if 0 <= y - len(lines) < len(footer):
                return self._line(footer[y - len(lines)], "image-preview--info", width)
            return Strip.blank(width, base)
        if self._picture_cells is not None:
            image_rows = self._picture_cells[1]
            if y < image_rows:
                return Strip.blank(width, base)  # the graphics child is drawn over these lines
        else:
            strips = self._strips or []
            image_rows = len(strips)
            if y < image_rows:
                strip = strips[y]
                left = max((width - strip.cell_length) // 2, 0)
                strip = strip.crop(0, width) if strip.cell_length > width else strip
                right = max(width - left - strip.cell_length, 0)
                padded = Strip.join([Strip.blank(left, base), strip, Strip.blank(right, base)])
                return padded.apply_style(base)
        footer = self._footer()
        if 0 <= y - image_rows < len(footer):
            return self._line(footer[y - image_rows], "image-preview--info", width, center=True)
        return Strip.blank(width, base)
