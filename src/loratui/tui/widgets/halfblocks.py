"""Half-block rendering of a thumbnail: the picture drawn with text cells, for ImagePreview.

Each cell is a `▀` whose foreground is the upper pixel and background the lower one, so two pixel
rows make one line of text: it works in any truecolour/256-colour terminal, in tmux and over plain
SSH, with no graphics protocol. ``halfblock_strips`` is pure (a Thumbnail in, Strips out) and runs in
ImagePreview's thread worker.
"""

from __future__ import annotations

from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from loratui.tui.services.thumbnails import Thumbnail

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
