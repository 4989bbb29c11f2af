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


def _pread_fallback(fd: int, n: int, offset: int) -> bytes:
    os.lseek(fd, offset, os.SEEK_SET)
    return os.read(fd, n)


_pread = getattr(os, "pread", _pread_fallback)  # os.pread is POSIX-only
_CHUNK = 4096


def probe_image(path: str | os.PathLike) -> tuple[int, int, bool]:
    """(width, height, tail_ok) with one open: the size from the header, and whether a PNG ends with
    IEND / a JPEG with EOI (False hints at a file cut short; other formats always report True).

    Raises ImageSizeError with a one-line reason. Uses raw file descriptors: for thousands of small
    reads this is several times cheaper than Python file objects.
    """
    width, height, tail_ok, _animated = probe_image_info(path)
    return width, height, tail_ok


def probe_image_info(path: str | os.PathLike) -> tuple[int, int, bool, bool]:
    """probe_image's (width, height, tail_ok) and whether the image is animated (APNG, animated
    WebP or GIF: the trainer sees only its first frame), from the same header bytes."""
    animated = False
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise ImageSizeError(f"cannot read file: {exc.strerror or exc}") from exc
    try:
        head = _pread(fd, _CHUNK, 0)
        if not head:
            raise ImageSizeError("empty file (0 bytes)")
        tail_ok = True
        if head.startswith(PNG_SIGNATURE):
            size = _png_size(head)
            tail_ok = _tail(fd, head, 12)[4:8] == b"IEND"
            idat = head.find(b"IDAT")
            animated = b"acTL" in (head if idat < 0 else head[:idat])  # APNG: acTL precedes the image data
        elif head.startswith(b"\xff\xd8"):
            size = _jpeg_size(fd, head)
            tail_ok = b"\xff\xd9" in _tail(fd, head, 64)  # some writers pad after EOI
        elif head.startswith(b"RIFF") and head[8:12] == b"WEBP":
            size = _webp_size(head)
            animated = head[12:16] == b"VP8X" and bool(head[20] & 0x02)
        elif head.startswith(b"BM"):
            size = _bmp_size(head)
        else:
            size = None
    except OSError as exc:
        raise ImageSizeError(f"cannot read file: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)
    if size is None:
        size, animated = _pillow_size(path, with_animation=True)
    width, height = size
    if width <= 0 or height <= 0:
        raise ImageSizeError(f"invalid dimensions {width}x{height}")
    return width, height, tail_ok, animated


def read_image_size(path: str | os.PathLike) -> tuple[int, int]:
    """(width, height) as stored in the file; raises ImageSizeError with a one-line reason."""
    width, height, _tail_ok = probe_image(path)
    return width, height


def looks_truncated(path: str | os.PathLike) -> bool:
    """Cheap tail check: a PNG must end with IEND, a JPEG with EOI (FFD9).

    A file cut short while copying usually keeps a valid header, so only its tail shows it.
    Unreadable files return False (read_image_size reports those).
    """
    try:
        return not probe_image(path)[2]
    except ImageSizeError:
        return False


def _tail(fd: int, head: bytes, n: int) -> bytes:
    if len(head) < _CHUNK:
        return head[-n:]  # the whole file is already in memory
    size = os.fstat(fd).st_size
    return _pread(fd, n, max(0, size - n))


def _png_size(head: bytes) -> tuple[int, int] | None:
    if len(head) < 24:
        raise ImageSizeError("truncated PNG header")
    if head[12:16] != b"IHDR":
        return None  # e.g. Apple's CgBI variant: let Pillow decide
    return struct.unpack(">II", head[16:24])


def _jpeg_size(fd: int, head: bytes) -> tuple[int, int]:
    """Walk the marker segments to the first start-of-frame, reading more only past the first chunk."""
    buf, base = head, 0

    def get(pos: int, n: int) -> bytes:
        nonlocal buf, base
        if base <= pos and pos + n <= base + len(buf):
            return buf[pos - base : pos - base + n]
        buf, base = _pread(fd, max(n, _CHUNK), pos), pos
        return buf[:n]

    pos = 2
    while True:
        byte = get(pos, 1)
        if not byte:
            raise ImageSizeError("truncated JPEG: no frame header before end of file")
        if byte != b"\xff":
            raise ImageSizeError("corrupt JPEG: expected a marker")
        pos += 1
        marker = get(pos, 1)
        while marker == b"\xff":  # fill bytes
            pos += 1
            marker = get(pos, 1)
        if not marker:
            raise ImageSizeError("truncated JPEG: no frame header before end of file")
        pos += 1
        code = marker[0]
        if code in _JPEG_STANDALONE:
            continue
        if code in (0xD9, 0xDA):
            raise ImageSizeError("corrupt JPEG: image data starts before any frame header")
        raw_length = get(pos, 2)
        if len(raw_length) < 2:
            raise ImageSizeError("truncated JPEG header")
        length = struct.unpack(">H", raw_length)[0]
        if length < 2:
            raise ImageSizeError("corrupt JPEG: bad segment length")
        if code in _JPEG_SOF:
            frame = get(pos + 2, 5)
            if len(frame) < 5:
                raise ImageSizeError("truncated JPEG frame header")
            height, width = struct.unpack(">HH", frame[1:5])
            if height == 0:
                # Height 0 means "defined later by a DNL marker"; practically never written.
                raise ImageSizeError("JPEG with deferred height (DNL) is not supported")
            return width, height
        pos += length


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


def _pillow_size(path: str | os.PathLike, *, with_animation: bool = False):
    """(width, height) from Pillow's lazy open; with ``with_animation`` ((w, h), animated)."""
    import warnings

    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the scan reports the size
            with Image.open(path) as image:
                size = image.size
                animated = bool(with_animation and getattr(image, "is_animated", False))
    except Image.DecompressionBombError as exc:
        raise ImageSizeError(f"too large to open: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise ImageSizeError("not a recognised image format") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageSizeError(f"cannot read image header: {exc}") from exc
    return (size, animated) if with_animation else size


def decode_error(path: str | os.PathLike) -> str | None:
    """Fully decode with Pillow, as the trainer will; the reason it fails, or None if it loads.

    Slow (a full decode), so the scan calls it only for files whose tail looks wrong.
    """
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                image.load()
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, struct.error...
        return str(exc) or type(exc).__name__
    return None
