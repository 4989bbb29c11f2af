"""Image width/height from file headers, without decoding pixels.

Why: a dataset scan touches every image; Pillow's lazy open costs far more per file than reading a
few header bytes, and 10,000 images must scan in well under 2 s. PNG (IHDR), JPEG (SOF), WebP
(VP8/VP8L/VP8X) and BMP are parsed here by their signature (not their extension); anything else
falls back to Pillow's lazy open.

EXIF orientation is deliberately ignored: sd-scripts' ``load_image`` (library/train_util.py) does
``Image.open(path)`` then ``convert("RGB")`` with no ``ImageOps.exif_transpose``, and its size
probe reads the stored dimensions too. So the trainer sees the *stored* width/height, and buckets
are chosen from those; reporting the rotated size would put images in the wrong bucket.
"""

from __future__ import annotations

import os
import struct

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) do not.
_JPEG_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
# Markers that stand alone (no length field): TEM, RST0-7, SOI.
_JPEG_STANDALONE = frozenset({0x01, 0xD8, *range(0xD0, 0xD8)})


class ImageSizeError(Exception):
    """The file is not a readable image (empty, truncated header, unknown or corrupt format)."""


def read_image_size(path: str | os.PathLike) -> tuple[int, int]:
    """(width, height) as stored in the file; raises ImageSizeError with a one-line reason."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(32)
            if not head:
                raise ImageSizeError("empty file (0 bytes)")
            if head.startswith(PNG_SIGNATURE):
                size = _png_size(head)
            elif head.startswith(b"\xff\xd8"):
                size = _jpeg_size(handle)
            elif head.startswith(b"RIFF") and head[8:12] == b"WEBP":
                size = _webp_size(head)
            elif head.startswith(b"BM"):
                size = _bmp_size(head)
            else:
                size = None
    except OSError as exc:
        raise ImageSizeError(f"cannot read file: {exc.strerror or exc}") from exc
    if size is None:
        size = _pillow_size(path)
    width, height = size
    if width <= 0 or height <= 0:
        raise ImageSizeError(f"invalid dimensions {width}x{height}")
    return width, height


def _png_size(head: bytes) -> tuple[int, int] | None:
    if len(head) < 24:
        raise ImageSizeError("truncated PNG header")
    if head[12:16] != b"IHDR":
        return None  # e.g. Apple's CgBI variant: let Pillow decide
    return struct.unpack(">II", head[16:24])


def _jpeg_size(handle) -> tuple[int, int]:
    handle.seek(2)
    while True:
        byte = handle.read(1)
        if not byte:
            raise ImageSizeError("truncated JPEG: no frame header before end of file")
        if byte != b"\xff":
            raise ImageSizeError("corrupt JPEG: expected a marker")
        marker = handle.read(1)
        while marker == b"\xff":  # fill bytes
            marker = handle.read(1)
        if not marker:
            raise ImageSizeError("truncated JPEG: no frame header before end of file")
        code = marker[0]
        if code in _JPEG_STANDALONE:
            continue
        if code in (0xD9, 0xDA):
            raise ImageSizeError("corrupt JPEG: image data starts before any frame header")
        raw_length = handle.read(2)
        if len(raw_length) < 2:
            raise ImageSizeError("truncated JPEG header")
        length = struct.unpack(">H", raw_length)[0]
        if length < 2:
            raise ImageSizeError("corrupt JPEG: bad segment length")
        if code in _JPEG_SOF:
            frame = handle.read(5)
            if len(frame) < 5:
                raise ImageSizeError("truncated JPEG frame header")
            height, width = struct.unpack(">HH", frame[1:5])
            if height == 0:
                # Height 0 means "defined later by a DNL marker": rare; let Pillow handle it.
                raise ImageSizeError("JPEG with deferred height (DNL) is not supported")
            return width, height
        handle.seek(length - 2, os.SEEK_CUR)


def _webp_size(head: bytes) -> tuple[int, int]:
    if len(head) < 30:
        raise ImageSizeError("truncated WebP header")
    chunk = head[12:16]
    if chunk == b"VP8 ":
        if head[23:26] != b"\x9d\x01\x2a":
            raise ImageSizeError("corrupt WebP (VP8): bad start code")
        width, height = struct.unpack("<HH", head[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":
        if head[20] != 0x2F:
            raise ImageSizeError("corrupt WebP (VP8L): bad signature")
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        width = int.from_bytes(head[24:27], "little") + 1
        height = int.from_bytes(head[27:30], "little") + 1
        return width, height
    raise ImageSizeError(f"unknown WebP chunk {chunk!r}")


def _bmp_size(head: bytes) -> tuple[int, int]:
    if len(head) < 26:
        raise ImageSizeError("truncated BMP header")
    header_size = struct.unpack("<I", head[14:18])[0]
    if header_size == 12:  # OS/2 BITMAPCOREHEADER: 16-bit unsigned sizes
        return struct.unpack("<HH", head[18:22])
    width, height = struct.unpack("<ii", head[18:26])
    return width, abs(height)  # negative height = top-down rows, same size


def _pillow_size(path: str | os.PathLike) -> tuple[int, int]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return image.size
    except UnidentifiedImageError as exc:
        raise ImageSizeError("not a recognised image format") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageSizeError(f"cannot read image header: {exc}") from exc


def looks_truncated(path: str | os.PathLike) -> bool:
    """Cheap tail check: a PNG must end with IEND, a JPEG with EOI (FFD9).

    A file cut short while copying usually keeps a valid header, so only its tail shows it.
    WebP/BMP and unknown formats return False (their headers carry the size; see read_image_size).
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
            size = handle.seek(0, os.SEEK_END)
            if head.startswith(PNG_SIGNATURE):
                handle.seek(max(0, size - 12))
                return handle.read(12)[4:8] != b"IEND"
            if head.startswith(b"\xff\xd8"):
                # Some writers pad after EOI; look a little way back for it.
                handle.seek(max(0, size - 64))
                return b"\xff\xd9" not in handle.read(64)
    except OSError:
        return False
    return False


def decode_error(path: str | os.PathLike) -> str | None:
    """Fully decode with Pillow, as the trainer will; the reason it fails, or None if it loads.

    Slow (a full decode), so the scan calls it only for files whose tail looks wrong.
    """
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.load()
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, struct.error...
        return str(exc) or type(exc).__name__
    return None
