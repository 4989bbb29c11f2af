"""ImagePreview's Kitty/Sixel graphics: which protocol to draw with, the graphics child, and the fallback.

``PreviewGraphics`` is a mixin of ImagePreview, kept apart so each file stays readable: it resolves
the mode to a protocol ("auto" asks `services.terminal_graphics`, half-blocks when headless or once a
protocol failed), mounts, places and shows or hides textual-image's widget for that protocol as a
child sized in cells, and gives a protocol up for good (until the mode is set again) with a one-line
note when textual-image is missing or drawing fails. ``_graphics_cell`` picks the pixels per cell
for a graphics thumbnail. It needs from ImagePreview: ``_mode``, ``_failed``, ``_note``,
``_graphic``, ``_graphic_protocol``, ``_path``, ``_requested``, ``_picture_cells``, ``_shown_key``,
``_request`` and ``_text_lines``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.widget import Widget

from loratui.tui.services import terminal_graphics
from loratui.tui.services.thumbnails import Thumbnail

if TYPE_CHECKING:
    from loratui.tui.widgets.image_preview import ImagePreview

_LABEL = {"kitty": "Kitty", "sixel": "Sixel"}


class PreviewGraphics:
    """Mixin of ImagePreview: the protocol, the Kitty/Sixel child and the fall-back to half-blocks."""

    # ---- protocol ---------------------------------------------------------------------------

    def _resolve_protocol(self) -> str:
        mode = self._mode
        if mode in ("off", "halfblock"):
            return mode
        if mode == "auto":
            try:
                headless = self.app.is_headless
            except Exception:  # not attached to an app yet
                headless = False
            wanted = "halfblock" if headless else terminal_graphics.detect_protocol()
        else:
            wanted = mode
        return "halfblock" if wanted in self._failed else wanted

    def _fail_graphics(self, protocol: str, reason: str, *, loading: bool) -> None:
        """Give up `protocol` for this widget: half-blocks from now on, with a one-line note."""
        if protocol in self._failed:
            return
        self._failed[protocol] = reason
        verb = "unavailable" if loading else "failed"
        self._note = f"half-blocks: {_LABEL.get(protocol, protocol)} graphics {verb} ({reason})"
        self._drop_graphic()
        self._requested = None
        self._picture_cells = None
        self._shown_key = None
        if self._path is not None and self.is_mounted:
            self._request()
        self._sync_graphic()
        self.refresh()

    def _on_graphic_failure(self, exc: BaseException) -> None:
        protocol = self._graphic_protocol or self._resolve_protocol()
        self._fail_graphics(protocol, terminal_graphics.failure_reason(exc), loading=False)

    def on_image_preview_graphics_unavailable(self, message: ImagePreview.GraphicsUnavailable) -> None:
        message.stop()
        self._fail_graphics(message.protocol, message.reason, loading=True)

    # ---- the graphics child -----------------------------------------------------------------

    def _show_graphic(self, protocol: str, cls: type, image: Any, thumb: Thumbnail) -> None:
        cols, rows = thumb.cell_cols, thumb.cell_rows
        try:
            graphic = self._graphic
            if graphic is None or type(graphic) is not cls:
                self._drop_graphic()
                graphic = cls(image, on_failure=self._on_graphic_failure)
                self._graphic, self._graphic_protocol = graphic, protocol
                self._place_graphic(graphic, cols, rows)
                self.mount(graphic)
            else:
                self._place_graphic(graphic, cols, rows)
                graphic.image = image  # type: ignore[attr-defined]
        except Exception as exc:  # textual-image refused the image or the widget: half-blocks
            self._fail_graphics(protocol, terminal_graphics.failure_reason(exc), loading=False)
            return
        self._picture_cells = (cols, rows)

    def _place_graphic(self, graphic: Widget, cols: int, rows: int) -> None:
        styles = graphic.styles
        styles.width = cols
        styles.height = rows
        styles.offset = (max((self.size.width - cols) // 2, 0), 0)

    def _sync_graphic(self) -> None:
        """Show the graphics child only while it is what the preview shows."""
        graphic = self._graphic
        if graphic is None:
            return
        visible = self._picture_cells is not None and not self._text_lines()
        if graphic.display != visible:
            graphic.display = visible

    def _drop_graphic(self) -> None:
        graphic, self._graphic, self._graphic_protocol = self._graphic, None, None
        if graphic is None:
            return
        try:
            graphic.release()  # type: ignore[attr-defined]
        except Exception:
            pass
        if graphic.is_attached:
            graphic.remove()

    def on_unmount(self) -> None:
        self._drop_graphic()


def _graphics_cell(cols: int, rows: int) -> tuple[int, int]:
    """Pixels per cell for a graphics thumbnail: the terminal's, scaled down so no side passes the cap."""
    width, height = terminal_graphics.graphics_cell_size()
    scale = min(1.0, terminal_graphics.MAX_GRAPHICS_SIDE / (cols * width),
                terminal_graphics.MAX_GRAPHICS_SIDE / (rows * height))
    return max(1, round(width * scale)), max(1, round(height * scale))
