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
from dataclasses import dataclass
from pathlib import Path

from loratui.core.termline import escape_controls, has_controls

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


@dataclass(frozen=True)
class ImageHeader:
    """What an image's header says, read without decoding its pixels."""

    width: int
    height: int
    tail_ok: bool = True        # a PNG ends with IEND, a JPEG with EOI (False hints at a cut copy)
    animated: bool = False      # APNG, animated WebP or GIF: the trainer sees the first frame only
    alpha: bool = False         # an alpha channel or a transparent colour: some pixels may be see-through
    orientation: int = 1        # EXIF Orientation; 1 = upright as stored (the trainer ignores it)
    high_bit_grey: bool = False  # a 16-bit grey PNG (Pillow mode I;16)


def probe_image_header(path: str | os.PathLike) -> ImageHeader:
    """The ImageHeader of ``path`` from one open and a few reads (PNG chunks before the image data,
    JPEG segments before the frame, WebP chunk headers); other formats from Pillow's lazy open.

    Raises ImageSizeError with a one-line reason. Uses raw file descriptors: for thousands of small
    reads this is several times cheaper than Python file objects.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise ImageSizeError(f"cannot read file: {exc.strerror or exc}") from exc
    try:
        head = _pread(fd, _CHUNK, 0)
        if not head:
            raise ImageSizeError("empty file (0 bytes)")
        if head.startswith(PNG_SIGNATURE):
            header = _png_header(fd, head)
        elif head.startswith(b"\xff\xd8"):
            (width, height), orientation = _jpeg_size(fd, head)
            header = ImageHeader(width, height, b"\xff\xd9" in _tail(fd, head, 64), orientation=orientation)
        elif head.startswith(b"RIFF") and head[8:12] == b"WEBP":
            header = _webp_header(fd, head)
        elif head.startswith(b"BM"):
            header = ImageHeader(*_bmp_size(head))
        else:
            header = None
    except OSError as exc:
        raise ImageSizeError(f"cannot read file: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)
    if header is None:
        (width, height), animated = _pillow_size(path, with_animation=True)
        header = ImageHeader(width, height, animated=animated)
    if header.width <= 0 or header.height <= 0:
        raise ImageSizeError(f"invalid dimensions {header.width}x{header.height}")
    return header


def read_image_size(path: str | os.PathLike) -> tuple[int, int]:
    """(width, height) as stored in the file; raises ImageSizeError with a one-line reason."""
    header = probe_image_header(path)
    return header.width, header.height


def looks_truncated(path: str | os.PathLike) -> bool:
    """Cheap tail check: a PNG must end with IEND, a JPEG with EOI (FFD9).

    A file cut short while copying usually keeps a valid header, so only its tail shows it.
    Unreadable files return False (read_image_size reports those).
    """
    try:
        return not probe_image_header(path).tail_ok
    except ImageSizeError:
        return False


def _tail(fd: int, head: bytes, n: int) -> bytes:
    if len(head) < _CHUNK:
        return head[-n:]  # the whole file is already in memory
    size = os.fstat(fd).st_size
    return _pread(fd, n, max(0, size - n))


_PNG_MAX_CHUNKS = 64  # chunks read before the image data (IDAT); real files have a handful


def _png_header(fd: int, head: bytes) -> ImageHeader | None:
    """Size, animation (acTL), transparency (an alpha colour type or tRNS), 16-bit grey and an eXIf
    orientation from the chunks before IDAT, each chunk's header read and the small ones' data."""
    if len(head) < 26:
        raise ImageSizeError("truncated PNG header")
    if head[12:16] != b"IHDR":
        return None  # e.g. Apple's CgBI variant: let Pillow decide
    width, height = struct.unpack(">II", head[16:24])
    depth, colour = head[24], head[25]
    animated = alpha = False
    orientation = 1
    pos = 8
    for _ in range(_PNG_MAX_CHUNKS):
        raw = head[pos:pos + 8] if pos + 8 <= len(head) else _pread(fd, 8, pos)
        if len(raw) < 8:
            break
        length, kind = struct.unpack(">I", raw[:4])[0], raw[4:8]
        if kind in (b"IDAT", b"IEND"):
            break
        animated |= kind == b"acTL"
        alpha |= kind == b"tRNS"
        if kind == b"eXIf" and length <= 65536:
            orientation = exif_orientation(_pread(fd, length, pos + 8))
        pos += 12 + length
    return ImageHeader(width, height, _tail(fd, head, 12)[4:8] == b"IEND", animated, alpha or colour in (4, 6),
                       orientation, depth == 16 and colour == 0)


def exif_orientation(tiff: bytes) -> int:
    """The Orientation tag (0x0112) of IFD0 in EXIF data (a TIFF structure, "Exif\\0\\0" prefix or not);
    1 when there is none or it cannot be read."""
    if tiff.startswith(b"Exif\x00\x00"):
        tiff = tiff[6:]
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    try:
        if order is None:
            return 1
        ifd = struct.unpack(order + "I", tiff[4:8])[0]
        count = struct.unpack(order + "H", tiff[ifd:ifd + 2])[0]
        for entry in range(ifd + 2, ifd + 2 + 12 * count, 12):
            if struct.unpack(order + "H", tiff[entry:entry + 2])[0] == 0x0112:
                value = struct.unpack(order + "H", tiff[entry + 8:entry + 10])[0]
                return value if 1 <= value <= 8 else 1
    except struct.error:
        pass
    return 1


def _jpeg_size(fd: int, head: bytes) -> tuple[tuple[int, int], int]:
    """((width, height), EXIF orientation): walk the marker segments to the first start-of-frame,
    reading more only past the first chunk (the EXIF APP1 segment comes before it)."""
    buf, base = head, 0

    def get(pos: int, n: int) -> bytes:
        nonlocal buf, base
        if base <= pos and pos + n <= base + len(buf):
            return buf[pos - base : pos - base + n]
        buf, base = _pread(fd, max(n, _CHUNK), pos), pos
        return buf[:n]

    pos = 2
    orientation = 1
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
        if code == 0xE1 and orientation == 1:  # APP1: EXIF (or XMP, which exif_orientation skips)
            orientation = exif_orientation(get(pos + 2, min(length - 2, 4000)))  # IFD0 comes first
        if code in _JPEG_SOF:
            frame = get(pos + 2, 5)
            if len(frame) < 5:
                raise ImageSizeError("truncated JPEG frame header")
            height, width = struct.unpack(">HH", frame[1:5])
            if height == 0:
                # Height 0 means "defined later by a DNL marker"; practically never written.
                raise ImageSizeError("JPEG with deferred height (DNL) is not supported")
            return (width, height), orientation
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


_WEBP_MAX_CHUNKS = 64


def _webp_header(fd: int, head: bytes) -> ImageHeader:
    """Size, animation and alpha from the first chunk (VP8X flags, VP8L's alpha bit); with the VP8X
    EXIF flag, the EXIF chunk (usually after the image data) found by walking the chunk headers."""
    width, height = _webp_size(head)
    chunk = head[12:16]
    if chunk == b"VP8L":
        return ImageHeader(width, height, alpha=bool(int.from_bytes(head[21:25], "little") >> 28 & 1))
    if chunk != b"VP8X":
        return ImageHeader(width, height)
    flags = head[20]
    orientation = 1
    if flags & 0x08:
        pos = 12
        for _ in range(_WEBP_MAX_CHUNKS):
            raw = head[pos:pos + 8] if pos + 8 <= len(head) else _pread(fd, 8, pos)
            if len(raw) < 8:
                break
            size = int.from_bytes(raw[4:8], "little")
            if raw[:4] == b"EXIF":
                orientation = exif_orientation(_pread(fd, min(size, 65536), pos + 8))
                break
            pos += 8 + size + (size & 1)
    return ImageHeader(width, height, animated=bool(flags & 0x02), alpha=bool(flags & 0x10), orientation=orientation)


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
    from PIL import Image, UnidentifiedImageError

    from loratui.core.image_modes import quiet_decompression_bomb_warnings

    quiet_decompression_bomb_warnings()  # the scan reports the size
    try:
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

    Slow (a full decode), so the scan calls it only for files whose tail looks wrong. An image over
    Pillow's warning size decodes (the scan names its size apart); over twice that it fails here.
    """
    from PIL import Image

    from loratui.core.image_modes import quiet_decompression_bomb_warnings

    quiet_decompression_bomb_warnings()
    try:
        with Image.open(path) as image:
            image.load()
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, struct.error...
        return str(exc) or type(exc).__name__
    return None


# modes whose pixels carry alpha; others may have one transparent colour (info["transparency"])
_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "La", "RGBa"})


def has_transparent_pixels(path: str | os.PathLike) -> bool:
    """Whether some pixel of the image (its first frame) is not fully opaque. Decodes the image: call
    it only where the header says there is alpha (ImageHeader.alpha). False when it cannot be read."""
    from PIL import Image

    from loratui.core.image_modes import quiet_decompression_bomb_warnings

    quiet_decompression_bomb_warnings()
    try:
        with Image.open(path) as image:
            if image.mode in _ALPHA_MODES:
                alpha = image.getchannel("A")
            elif "transparency" in image.info:
                alpha = image.convert("RGBA").getchannel("A")
            else:
                return False
            return alpha.getextrema()[0] < 255
    except Exception:  # noqa: BLE001 - unreadable: the scan names that on its own
        return False


# Whether an image with alpha has see-through pixels needs a full decode (about 20-30 ms for a 1024x1024
# RGBA PNG on one idle core): done in threads (Pillow decodes without the GIL), remembered per file
# version for the next scan (the app rescans often), and within this much time per scan; the rest are
# named as not checked, and each later scan checks further.
TRANSPARENCY_BUDGET_S = 5.0
_transparency_seen: dict[tuple[str, int, int], bool] = {}


def transparency_of(paths: list[Path]) -> dict[Path, bool]:
    """has_transparent_pixels for each of ``paths`` that could be decoded within TRANSPARENCY_BUDGET_S
    (or was, unchanged since, by an earlier call); the others are missing from the answer."""
    import time
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    found: dict[Path, bool] = {}
    todo: dict[Path, tuple[str, int, int]] = {}
    for path in paths:
        try:
            stat = os.stat(path)
        except OSError:
            continue
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        if key in _transparency_seen:
            found[path] = _transparency_seen[key]
        else:
            todo[path] = key
    if not todo:
        return found
    deadline = time.monotonic() + TRANSPARENCY_BUDGET_S
    pool = ThreadPoolExecutor(max_workers=max(1, min(8, os.cpu_count() or 1)))
    try:
        pending = {pool.submit(has_transparent_pixels, path): path for path in todo}
        while pending:
            done, _ = wait(pending, timeout=max(0.0, deadline - time.monotonic()), return_when=FIRST_COMPLETED)
            if not done:
                break
            for future in done:
                path = pending.pop(future)
                _transparency_seen[todo[path]] = found[path] = future.result()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # a decode under way ends on its own, unheard
    return found


# ---- what a header means for training: the scan's notes --------------------------------------------
# (here beside the header facts they read; scan.py builds the rest of its problems)

SHOWN_NOTE_NAMES = 3  # names listed in a folder's note before "and N more"
MAX_IMAGE_PIXELS = 1024 * 1024 * 1024 // 4 // 3  # Pillow's warning size (Image.MAX_IMAGE_PIXELS)
EXTREME_ASPECT = 8  # longer side over shorter: beyond any bucket (1:4 by default, 1:8 with max_bucket_reso 2048)


def shown_name(name: str) -> str:
    """A file or folder name as a problem line shows it: as it is, CJK, emoji and joined emoji included;
    quoted as repr quotes, with only the characters core.termline.needs_escape names escaped (a line
    break, a control character, a bidi override; an undecodable byte as ``\\xff``) when it holds any, so
    one problem stays one line and the quotes show where the odd name starts and ends."""
    if not has_controls(name):
        return name
    quote = '"' if "'" in name and '"' not in name else "'"
    return quote + escape_controls(name) + quote


def one_line(problem):
    """``problem`` with the names of its path that hold a control character quoted in its message (and
    any such character left escaped, core.termline's rule: a joiner or CJK stays as it is): a name with a
    newline split `dataset scan --all` lines in two."""
    message = problem.message
    if not has_controls(message):
        return problem
    import re

    names = sorted({n for n in (problem.path.name, problem.path.parent.name) if n}, key=len, reverse=True)
    # each piece escaped once: a name by shown_name (a plain one byte for byte, backslashes too), the text
    # between the names on its own (escaping the whole line would double the backslashes of their escapes)
    pieces = re.split(f"({'|'.join(map(re.escape, names))})", message) if names else [message]
    message = "".join(shown_name(piece) if i % 2 else escape_controls(piece) for i, piece in enumerate(pieces))
    return type(problem)(problem.kind, problem.path, message, problem.severity)


def header_problems(folder: Path, images: list[tuple[Path, ImageHeader, bool | None]]) -> list:
    """The scan's notes on a concept folder's trainable images ((path, header, has transparent
    pixels: None when not checked)): one per image over Pillow's warning size or of an extreme shape, and one per folder
    for transparent pixels, EXIF rotations and 16-bit grey, each with what training does and the fix."""
    from loratui.core.dataset.types import Problem

    problems = []
    see_through, turned, high_bit, unchecked = [], [], [], []
    for path, header, transparent in images:
        rel = f"{shown_name(folder.name)}/{shown_name(path.name)}"
        width, height = header.width, header.height
        if width * height > MAX_IMAGE_PIXELS:
            problems.append(Problem(
                "large_image", path,
                f"{rel}: {width}x{height} is {width * height / 1e6:.0f} megapixels, over Pillow's decompression-bomb "
                f"warning size ({MAX_IMAGE_PIXELS / 1e6:.0f} MP): it trains, as in sd-scripts, but every load "
                f"decodes {width * height * 3 / 1e6:.0f} MB; downscale it to save time and memory", "info"))
        if max(width, height) > EXTREME_ASPECT * min(width, height) and min(width, height) > 1:
            long_side, short_side = max(width, height), min(width, height)
            problems.append(Problem(
                "extreme_aspect", path,
                f"{rel} is {width}x{height} (1:{long_side / short_side:.0f}): far narrower than any bucket (1:4 by "
                f"default), so only a centred part of it trains; cut it into pieces or pad it to a less extreme "
                "shape", "warning"))
        if transparent:
            see_through.append(path.name)
        elif transparent is None:
            unchecked.append(path.name)
        if header.orientation != 1:
            turned.append(f"{path.name} (Orientation {header.orientation})")
        if header.high_bit_grey:
            high_bit.append(path.name)
    name = shown_name(folder.name)
    if see_through:
        problems.append(Problem(
            "transparent_pixels", folder,
            f"{name}/: {len(see_through)} image(s) with transparent pixels: {_names(see_through)}: training sees "
            "the colour stored under them (as sd-scripts does), the WD14 and BLIP taggers see white; flatten them "
            "onto a background (e.g. `mogrify -background white -flatten IMAGE`) to train what you see", "warning"))
    if unchecked:
        problems.append(Problem(
            "transparency_unchecked", folder,
            f"{name}/: {len(unchecked)} image(s) with an alpha channel not yet checked for transparent pixels (the "
            f"scan's time for that ran out; the next scan goes on): {_names(unchecked)}", "info"))
    if turned:
        problems.append(Problem(
            "exif_orientation", folder,
            f"{name}/: {len(turned)} image(s) with an EXIF rotation: {_names(turned)}: viewers turn them, but "
            "training (like sd-scripts) uses the stored pixels, sideways or mirrored; rotate the pixels (e.g. "
            "`exiftran -ai IMAGE` or `mogrify -auto-orient IMAGE`) to train them upright", "warning"))
    if high_bit:
        problems.append(Problem(
            "high_bit_image", folder,
            f"{name}/: {len(high_bit)} 16-bit grey image(s): {_names(high_bit)}: loratui scales them to 8 bits "
            "(30000 of 65535 trains as 117), sd-scripts clips them (every value over 255 trains white); save them "
            "as 8-bit to train the same in both", "info"))
    return problems


def _names(names: list[str]) -> str:
    more = f" and {len(names) - SHOWN_NOTE_NAMES} more" if len(names) > SHOWN_NOTE_NAMES else ""
    return ", ".join(shown_name(n) for n in names[:SHOWN_NOTE_NAMES]) + more
