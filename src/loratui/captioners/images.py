"""Loading one image for captioning: always an 8-bit RGB or RGBA PIL image, or BadImage(reason).

Problems a real dataset has are converted where a faithful conversion exists (16-bit -> 8-bit,
CMYK -> RGB, palette with transparency -> RGBA, animated -> first frame with a warning) and turned
into one BadImage line otherwise (zero bytes, corrupt, truncated, decompression bomb).
"""

from __future__ import annotations

import os

from PIL import Image

from loratui.core.image_modes import CONVERSION_NOTES, high_bit_to_8bit, quiet_decompression_bomb_warnings

MAX_PIXELS = 178_956_970  # Pillow's own bomb limit (2x its warning threshold): larger images are refused


class BadImage(Exception):
    """An image that cannot be captioned; str() is the one-line reason."""


def load_image(path: str | os.PathLike, max_pixels: int = MAX_PIXELS) -> Image.Image:
    # an image between Pillow's warning size and its limit (a 100 MP photo) captions as sd-scripts does:
    # the warning would print once per image from the decode threads (and -W error would fail it)
    quiet_decompression_bomb_warnings()
    try:
        if os.path.getsize(path) == 0:
            raise BadImage("zero-byte file")
    except OSError as exc:
        raise BadImage(f"cannot read: {exc.strerror or exc}") from None
    try:
        with Image.open(path) as im:
            if im.width * im.height > max_pixels:
                raise BadImage(f"decompression bomb: {im.width}x{im.height} pixels exceeds {max_pixels}")
            animated = getattr(im, "is_animated", False)
            if animated:
                im.seek(0)
            im.load()
            source_mode = im.mode
            out = _to_8bit(im)
    except BadImage:
        raise
    except Image.DecompressionBombError as exc:
        raise BadImage(f"decompression bomb: {exc}") from None
    except Image.UnidentifiedImageError:
        raise BadImage("corrupt or not an image: Pillow cannot identify it") from None
    except OSError as exc:
        msg = str(exc)
        if "truncated" in msg.lower():
            raise BadImage(f"truncated image: {msg}") from None
        raise BadImage(f"corrupt or unsupported image: {msg}") from None
    except (ValueError, SyntaxError) as exc:  # pragma: no cover - Pillow variety
        raise BadImage(f"corrupt image: {exc}") from None
    notes = [_CONVERSION_NOTES[source_mode]] if source_mode in _CONVERSION_NOTES else []
    if animated:
        notes.insert(0, "animated image: captioned its first frame")
    if notes:
        out.info["loratui_warning"] = "; ".join(notes)
    return out


# Images that caption fine after a conversion the user may want to know about (a trainer has to
# convert them too); reported as warnings, never as failures. The high-bit-depth ones are core's
# (core.image_modes), shared with the training data so an image trains as it is captioned.
_CONVERSION_NOTES = {
    "CMYK": "CMYK image: converted to RGB (colours may shift; save it as RGB to be sure)",
    **CONVERSION_NOTES,
}


def _to_8bit(im: Image.Image) -> Image.Image:
    mode = im.mode
    if mode in ("RGB", "RGBA"):
        return im.copy()
    if mode == "P" or mode == "PA":
        return im.convert("RGBA") if ("transparency" in im.info or mode == "PA") else im.convert("RGB")
    grey = high_bit_to_8bit(im)  # 16/32-bit grey: scaled (Pillow's convert("L") clips instead of scaling)
    if grey is not None:
        return grey.convert("RGB")
    if mode in ("LA", "La", "RGBa", "LA;16"):
        return im.convert("RGBA")
    if "transparency" in im.info:
        return im.convert("RGBA")
    return im.convert("RGB")  # L, 1, CMYK, YCbCr, LAB, HSV
