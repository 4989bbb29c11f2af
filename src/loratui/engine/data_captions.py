"""Captions for training: read from each image's caption file once, then changed per use as sd-scripts'
process_caption changes them (train_util.py, BaseDataset.process_caption), in its order:

1. ``caption_prefix`` and ``caption_suffix`` are joined to the caption with one space (training and reg
   images alike; no separator is added, so a prefix ends with one to stay a tag of its own).
2. Caption dropout (``caption_dropout_rate``, or every ``caption_dropout_every_n_epochs``-th epoch, epochs
   counted from 1) empties the whole caption, prefix and suffix included.
3. Only with ``shuffle_caption`` or ``caption_tag_dropout_rate``: the caption is split at
   ``caption_separator`` into fixed leading tags, free tags and fixed trailing tags. A caption holding
   ``keep_tokens_separator`` is split at it (the tags before its first occurrence lead, those after a second
   one trail, empty tags are left out); any other caption keeps its first ``keep_tokens`` tags in front.
   The free tags are shuffled, then each is dropped with ``caption_tag_dropout_rate``, and all are joined
   with ", ". With both off the caption is used as it is: a keep_tokens_separator in it stays as text.
4. ``secondary_separator`` is replaced by ``caption_separator`` (the tags it joined shuffled and dropped as
   one tag).

The random draws come from the RNG the caller gives (data.py: one per (seed, epoch)), in sd-scripts' order:
dropout, the shuffle, one draw per free tag for tag dropout.
"""

from __future__ import annotations

import random
from pathlib import Path

from loratui.core.errors import LoratuiError


class DataFileError(LoratuiError):
    """An image or caption the run cannot read once it is under way (moved, deleted, unreadable): the run
    saves and names the file (engine.run_error_ends); any other LoratuiError is not a file's to fix. data.py
    raises it for images too."""


def text_cache_usable(cfg) -> bool:
    """The text-encoder outputs can be cached: the text encoders are frozen and captions never change. The
    prefix, suffix and separators change a caption the same way every time: the cache holds the text they give
    (``fixed_caption``), so changing them encodes again."""
    d = cfg.dataset
    return bool(cfg.training.cache_text_encoder_outputs and cfg.network.network_train_unet_only
                and not (d.shuffle_caption or d.caption_dropout_rate or d.caption_tag_dropout_rate
                         or d.caption_dropout_every_n_epochs))


def read_caption_text(image, subset, caption_extension: str, notes: list[str] | None = None) -> str:
    """The first line of the image's caption file, stripped, as sd-scripts' read_caption takes it; the
    folder's class tokens when there is none (a folder of that name, or a caption that vanished since
    the scan, counts as none: the scan names it).

    What sd-scripts does (train_util.py, DreamBoothDataset.read_caption): ``open(path, "rt",
    encoding="utf-8").readlines()`` (universal newlines: ``\\r\\n``, ``\\n`` and a lone ``\\r`` each end a
    line), ``assert len(lines) > 0`` (a 0-byte file stops training), then ``lines[0].strip()`` is the
    caption. A blank first line is the caption "" (an empty prompt, not the class tokens, which only a
    missing file gets), and a first line of separators only (", ,,") trains as that text.

    Here a caption is decoded as the tag tools read it (UTF-8, UTF-16 with or without its BOM, else
    Windows-1252): a UTF-16 file read as bytes trained as "ÿþa\\x00l\\x00..." before. A
    caption that sd-scripts would stop at (not UTF-8, 0 bytes) or that trains on no tag gets a line in
    ``notes`` (the run warns); a 0-byte one trains with the class tokens instead of stopping."""
    from loratui.core.captions import parse_caption
    from loratui.core.textcodec import control_summary

    def _valid_utf8(data: bytes) -> bool:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True

    path = image.caption_path or Path(image.path).with_suffix(caption_extension)
    try:
        data = Path(path).read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, TypeError):
        return subset.class_tokens
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read the caption ({exc.strerror or exc}): fix its permissions or "
                           "remove it") from None
    caption = parse_caption(data, path)  # first_line ends at the first line break of any kind, as readlines()
    line = caption.first_line.strip()
    if not data:  # sd-scripts' assert: no line at all
        if notes is not None:
            notes.append(f"{path}: the caption is empty: this image trains with its folder's class tokens "
                         f"{subset.class_tokens!r} (0 bytes: sd-scripts stops at a file with no line); write a "
                         "caption or delete the file")
        return subset.class_tokens
    if notes is not None:
        if caption.encoding != "utf-8":
            how = " without a byte-order mark" if caption.encoding.startswith("utf-16") and not caption.bom else ""
            # BOM-less UTF-16 of ASCII text is valid UTF-8, NULs and all; with CJK in it, it is not
            outcome = "trains on its NUL bytes" if how and _valid_utf8(data) else "stops at it"
            fix = ("open it in a text editor and save it as UTF-8 text (`tags to-utf8` leaves text with control "
                   "characters alone)" if control_summary(caption.first_line + caption.rest)
                   else "save it as UTF-8 (`loratui tags to-utf8 DIR`)")
            notes.append(f"{path}: the caption is not UTF-8 (read as {caption.encoding}{how}); sd-scripts "
                         f"{outcome}: {fix}")
        controls = control_summary(line)
        if controls:
            # bytes no decoding rule recognised (UTF-16 gone wrong, a binary file): they would train silently
            notes.append(f"{path}: the caption's first line holds {controls}, which train as part of the prompt; "
                         "open it in a text editor and save it as UTF-8 text, or write the caption again")
        if not line:
            notes.append(f"{path}: the caption's first line is blank: this image trains with an empty prompt, as in "
                         "sd-scripts; write the caption on the first line")
        elif not caption.tags:
            notes.append(f"{path}: the caption's first line holds only separators ({line!r}): this image trains with "
                         "that text as its prompt, as in sd-scripts; write the tags on the first line")
    return line


def _text_option(d, name: str) -> str:
    """A caption option's text; "" (off) for a dataset without it (a test's namespace)."""
    return getattr(d, name, "") or ""


def split_caption(caption: str, d) -> tuple[list[str], list[str], list[str]]:
    """(fixed leading tags, free tags, fixed trailing tags) of ``caption`` as sd-scripts splits it for shuffle
    and tag dropout: at keep_tokens_separator when the caption holds it, else keep_tokens from the front."""
    separator = d.caption_separator or ","
    marker = _text_option(d, "keep_tokens_separator")
    if marker and marker in caption:
        head, rest = caption.split(marker, 1)
        middle, _, tail = rest.partition(marker)  # a third marker stays text inside the trailing part

        def tags(part: str) -> list[str]:
            return [t.strip() for t in part.split(separator) if t.strip()]
        return tags(head), tags(middle), tags(tail)
    tokens = [t.strip() for t in caption.strip().split(separator)]
    keep = max(0, d.keep_tokens)
    return tokens[:keep], tokens[keep:], []


def augment_caption(caption: str, d, epoch: int, rng: random.Random) -> str:
    """The caption one use of an image trains with: sd-scripts' process_caption (see the module docstring),
    ``epoch`` counted from 1."""
    prefix, suffix = _text_option(d, "caption_prefix"), _text_option(d, "caption_suffix")
    if prefix:
        caption = f"{prefix} {caption}"
    if suffix:
        caption = f"{caption} {suffix}"
    dropped = bool(d.caption_dropout_rate) and rng.random() < d.caption_dropout_rate
    if d.caption_dropout_every_n_epochs and epoch % d.caption_dropout_every_n_epochs == 0:
        dropped = True
    if dropped:
        return ""
    if d.shuffle_caption or d.caption_tag_dropout_rate:
        fixed, free, trailing = split_caption(caption, d)
        if d.shuffle_caption:
            rng.shuffle(free)
        if d.caption_tag_dropout_rate:
            free = [t for t in free if rng.random() >= d.caption_tag_dropout_rate]
        caption = ", ".join(fixed + free + trailing)
    joiner = _text_option(d, "secondary_separator")
    if joiner:
        caption = caption.replace(joiner, d.caption_separator or ",")
    return caption


def fixed_caption(caption: str, d) -> str:
    """The one text a caption trains with when nothing random changes it (text_cache_usable): prefix, suffix and
    secondary_separator applied. What the text-encoder cache encodes and looks up."""
    return augment_caption(caption, d, 1, random.Random(0))
