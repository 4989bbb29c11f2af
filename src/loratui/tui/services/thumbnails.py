"""Small RGB thumbnails for terminal previews, decoded with Pillow and kept in a bounded LRU cache.

`ThumbnailCache.get(path, cols, rows)` blocks (call it from a thread worker) and never raises: a file
that cannot be shown comes back as a `ThumbnailError` with a short reason for the user. Pillow is
imported on first use, never at module import, so the TUI's first frame does not pay for it.

The thumbnail fits `cols` x `2*rows` pixels: one terminal cell shows two pixels stacked (a `▀` with
the top pixel as foreground and the bottom one as background), and a cell is about twice as tall as
wide, so those pixels are roughly square and the aspect ratio holds. For a graphics protocol (Kitty,
Sixel) pass `cell=(width, height)`, the pixel size of one cell: the thumbnail then fits
`cols*width` x `rows*height` pixels, the terminal's own resolution for that many cells.

The preview shows what training sees: the trainer (like sd-scripts) converts the stored pixels to RGB,
so EXIF orientation is not applied (see core/dataset/imagesize.py), transparency is dropped (the
colour stored under a see-through pixel shows, not a background: the scan warns about such images)
and 16-bit grey is scaled to 8 bits as core.image_modes does for training.
"""

from __future__ import annotations

import os
import stat
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_DECODE_PIXELS = 89_478_485  # beyond this (Pillow's warning size) only JPEG, which draft() shrinks, is decoded


@dataclass(frozen=True, slots=True)
class Thumbnail:
    """`width` x `height` RGB pixels (`pixels`: 3 bytes each, row-major), fit into the requested cells."""

    path: Path
    cols: int
    rows: int
    width: int
    height: int
    pixels: bytes = field(repr=False)
    source_width: int
    source_height: int
    file_size: int
    format: str | None = None
    frames: int = 1
    cell_width: int = 1  # pixels per cell the thumbnail was made for: 1x2 for half-blocks
    cell_height: int = 2

    @property
    def cell_rows(self) -> int:
        """Terminal lines the image needs (two pixels a line for half-blocks)."""
        return -(-self.height // self.cell_height)

    @property
    def cell_cols(self) -> int:
        """Terminal columns the image needs."""
        return -(-self.width // self.cell_width)

    @property
    def nbytes(self) -> int:
        return len(self.pixels)

    def to_pil(self) -> Any:
        """The pixels as a Pillow RGB image (imports Pillow: call it from a worker)."""
        from PIL import Image

        return Image.frombytes("RGB", (self.width, self.height), self.pixels)

    @property
    def info(self) -> str:
        """e.g. "1024x768 · 123 KB · GIF 12 frames"."""
        parts = [f"{self.source_width}x{self.source_height}", format_size(self.file_size)]
        if self.frames > 1:
            parts.append(f"{self.format or 'animated'} {self.frames} frames")
        return " · ".join(parts)

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        i = (y * self.width + x) * 3
        p = self.pixels
        return p[i], p[i + 1], p[i + 2]


@dataclass(frozen=True, slots=True)
class ThumbnailError:
    """An image that cannot be previewed; `reason` is short and meant for the user."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return self.reason


def format_size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n / (1024 * 1024):.1f} MB"


class ThumbnailCache:
    """Thread-safe LRU of thumbnails keyed by (path, mtime_ns, size, cols, rows, cell).

    A changed file (new mtime or size) misses and is decoded again. Errors are cached too: a broken
    file stays broken until it changes. At most `max_entries` entries and `max_bytes` of pixels
    (graphics thumbnails are much bigger than half-block ones); the newest entry is always kept.
    """

    def __init__(self, max_entries: int = 64, max_bytes: int = 64 * 1024 * 1024) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._bytes = 0
        self._entries: OrderedDict[tuple[Any, ...], Thumbnail | ThumbnailError] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def nbytes(self) -> int:
        """Pixel bytes held."""
        return self._bytes

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def get(
        self, path: str | os.PathLike[str], cols: int, rows: int, *, cell: tuple[int, int] = (1, 2)
    ) -> Thumbnail | ThumbnailError:
        """A thumbnail fitting `cols` x `rows` cells of `cell` pixels each (1x2: half-blocks)."""
        path = Path(path)
        cols, rows = max(int(cols), 1), max(int(rows), 1)
        cell = (max(int(cell[0]), 1), max(int(cell[1]), 1))
        try:
            st = path.stat()
        except FileNotFoundError:
            return ThumbnailError(path, "file not found")
        except PermissionError:
            return ThumbnailError(path, "permission denied")
        except OSError as exc:
            return ThumbnailError(path, f"cannot read: {exc.strerror or exc}")
        if not stat.S_ISREG(st.st_mode):
            return ThumbnailError(path, "not a file")
        key = (str(path), st.st_mtime_ns, st.st_size, cols, rows, cell)
        with self._lock:
            cached = self._entries.get(key)
            if cached is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return cached
            self.misses += 1
        result = decode_thumbnail(path, cols, rows, st.st_size, cell=cell)
        with self._lock:
            old = self._entries.pop(key, None)
            if isinstance(old, Thumbnail):
                self._bytes -= old.nbytes
            self._entries[key] = result
            if isinstance(result, Thumbnail):
                self._bytes += result.nbytes
            while len(self._entries) > 1 and (len(self._entries) > self.max_entries or self._bytes > self.max_bytes):
                _, evicted = self._entries.popitem(last=False)
                if isinstance(evicted, Thumbnail):
                    self._bytes -= evicted.nbytes
        return result


_default_cache: ThumbnailCache | None = None


def default_cache() -> ThumbnailCache:
    """The process-wide cache the preview widgets share."""
    global _default_cache
    if _default_cache is None:
        _default_cache = ThumbnailCache()
    return _default_cache


def decode_thumbnail(
    path: Path, cols: int, rows: int, file_size: int | None = None, *, cell: tuple[int, int] = (1, 2)
) -> Thumbnail | ThumbnailError:
    """Decode `path` into a thumbnail fitting `cols*cell[0]` x `rows*cell[1]` pixels; never raises."""
    from PIL import Image, UnidentifiedImageError

    from loratui.core.image_modes import quiet_decompression_bomb_warnings

    quiet_decompression_bomb_warnings()  # sizes are checked here; Pillow's warning would print over the TUI
    if file_size is None:
        try:
            file_size = path.stat().st_size
        except OSError as exc:
            return ThumbnailError(path, f"cannot read: {exc.strerror or exc}")
    if file_size == 0:
        return ThumbnailError(path, "file is empty")
    box = (cols * cell[0], rows * cell[1])
    try:
        with Image.open(path) as im:
            source_w, source_h = im.size
            fmt = im.format
            frames = getattr(im, "n_frames", 1) or 1
            if fmt != "JPEG" and source_w * source_h > MAX_DECODE_PIXELS:
                megapixels = source_w * source_h / 1e6
                return ThumbnailError(path, f"too large to preview ({source_w}x{source_h}, {megapixels:.0f} MP)")
            if frames > 1:
                im.seek(0)
            # JPEG: decode at 1/2..1/8 scale straight from the DCT, still at least the box size
            im.draft("RGB", box)
            im.load()
            rgb = _to_rgb(im, box)
    except Image.DecompressionBombError:
        return ThumbnailError(path, "too large: decompression-bomb guard")
    except UnidentifiedImageError:
        return ThumbnailError(path, "cannot decode: not a known image format")
    except MemoryError:
        return ThumbnailError(path, "cannot decode: out of memory")
    except PermissionError:
        return ThumbnailError(path, "permission denied")
    except FileNotFoundError:
        return ThumbnailError(path, "file not found")
    except IsADirectoryError:
        return ThumbnailError(path, "not a file")
    except OSError as exc:
        message = str(exc)
        if "truncated" in message.lower():
            return ThumbnailError(path, "cannot decode: truncated file")
        return ThumbnailError(path, f"cannot decode: {_short(message or type(exc).__name__)}")
    except Exception as exc:  # Pillow raises many kinds (SyntaxError, ValueError, struct.error...)
        return ThumbnailError(path, f"cannot decode: {_short(str(exc) or type(exc).__name__)}")
    return Thumbnail(
        path=path,
        cols=cols,
        rows=rows,
        width=rgb.width,
        height=rgb.height,
        pixels=rgb.tobytes(),
        source_width=source_w,
        source_height=source_h,
        file_size=file_size,
        format=fmt,
        frames=frames,
        cell_width=cell[0],
        cell_height=cell[1],
    )


def _short(message: str, limit: int = 60) -> str:
    message = " ".join(message.split())
    return message if len(message) <= limit else message[: limit - 1] + "…"


def _to_rgb(im: Any, box: tuple[int, int]) -> Any:
    """Any Pillow mode -> an RGB image fitting `box`, converted as training converts it: the stored RGB
    (alpha dropped), high-bit grey scaled to 8 bits (core.image_modes)."""
    from PIL import Image

    from loratui.core.image_modes import high_bit_to_8bit

    im = high_bit_to_8bit(im) or im
    if im.mode != "RGB":
        im = im.convert("RGB")  # raises for modes with no conversion
    # fit the box both ways: a small image is scaled up too, so the preview area is used
    scale = min(box[0] / im.width, box[1] / im.height)
    size = (max(1, min(box[0], round(im.width * scale))), max(1, min(box[1], round(im.height * scale))))
    if size != im.size:
        im = im.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0 if scale < 1 else None)
    return im
