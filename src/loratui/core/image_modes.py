"""High-bit-depth grey images (16-bit PNG, 32-bit integer or float TIFF) as 8-bit grey, scaled.

Pillow's ``convert("RGB")`` / ``convert("L")`` clip such an image instead of scaling it: a 16-bit
PNG of mid grey (30000) comes out solid white. The captioners (captioners/images.py) and the
training data (engine/data.py) both go through ``high_bit_to_8bit`` so an image trains as it is
captioned and as the preview shows it. Core may use Pillow (design.md), so the rule lives here once,
beside the one filter that keeps Pillow's decompression-bomb warning quiet everywhere.
"""

from __future__ import annotations

import numpy as np

HIGH_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")

# what each conversion is called where a warning names it (the captioners' notes)
CONVERSION_NOTES = {
    "I;16": "16-bit image: scaled to 8 bits",
    "I;16B": "16-bit image: scaled to 8 bits",
    "I;16L": "16-bit image: scaled to 8 bits",
    "I;16N": "16-bit image: scaled to 8 bits",
    "I": "32-bit integer image: scaled to 8 bits",
    "F": "floating-point image: scaled to 8 bits",
}


def high_bit_to_8bit(im):
    """An 8-bit ``L`` PIL image for a 16/32-bit grey ``im`` (modes in HIGH_BIT_MODES), else None.

    16-bit modes scale 0..65535 to 0..255; mode ``I`` does too when a value is over 255 (a 16-bit
    PNG some Pillow versions open as ``I``), else it is already in 8-bit range; ``F`` is read as
    0..1 when nothing is over 1, else as 0..255; values outside are clipped.
    """
    from PIL import Image

    mode = im.mode
    if mode not in HIGH_BIT_MODES:
        return None
    arr = np.asarray(im, dtype=np.float64)
    if mode == "F":
        scaled = arr * 255.0 if arr.size and arr.max() <= 1.0 else arr
    else:
        peak = 65535.0 if mode.startswith("I;16") or (arr.size and arr.max() > 255) else 255.0
        scaled = arr * (255.0 / peak)
    grey = np.clip(np.round(scaled), 0, 255).astype(np.uint8)
    return Image.fromarray(grey, "L")


def quiet_decompression_bomb_warnings() -> None:
    """Silence Pillow's DecompressionBombWarning in this process (it is printed once per image over
    89 MP, and ``-W error`` would make it an exception). Those images train and caption as in
    sd-scripts; the dataset scan names their size once, and over twice that size Pillow still raises
    DecompressionBombError. One process-wide filter (warnings.catch_warnings is not thread-safe and
    images decode in worker threads), put back in front when something (pytest, a caller's
    ``simplefilter``) has put another filter before it; cheap enough to call before every open."""
    import warnings

    from PIL import Image

    category = Image.DecompressionBombWarning
    filters = warnings.filters
    if filters and filters[0][0] == "ignore" and filters[0][2] is category and filters[0][1] is None \
            and filters[0][3] is None:
        return
    warnings.filterwarnings("ignore", category=category)


__all__ = ["CONVERSION_NOTES", "HIGH_BIT_MODES", "high_bit_to_8bit", "quiet_decompression_bomb_warnings"]
