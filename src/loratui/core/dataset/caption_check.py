"""What sd-scripts makes of a caption file: the one list of caption problems.

`loratui dataset scan` (scan.py) and `loratui tags check` both report these, with the same kinds,
levels and words, so the two never disagree. Facts from sd-scripts' train_util.py: a caption file
is read as UTF-8 (anything else raises) in text mode, so universal newlines (``\\r\\n``, ``\\n`` and a lone
``\\r`` each end a line); ``lines[0].strip()`` is the caption and an empty file (no line at all) fails
an assert, so a 0-byte caption stops training; a blank first line trains with an empty prompt (""
is a caption there, not a missing one: the class tokens are not used), and a first line of commas
only (", ,,") trains with that text as its prompt; lines after the first are ignored (unless
wildcards are on). UTF-16 without a byte-order mark reads as valid UTF-8 when its text is ASCII, a
NUL byte after every letter: an error here, since those NULs are what would train. A NUL or other
control character still in the first line (bytes no rule recognises: a binary file, UTF-16 mangled
earlier) is an error too (``caption_control_chars``); `tags to-utf8` leaves such files alone, so
their fix is by hand. A missing caption means the folder's class tokens (or an empty prompt when it
has none).

Cleanup checks on the first line (a tag list split at commas outside brackets, as core.captions
reads it):

- ``long_caption`` (warning): more CLIP tokens than sd-scripts reads. The text encoder sees 75
  tokens, or 150/225 with max_token_length; the rest is cut off silently. The count is an estimate
  without the tokenizer (words, digits and punctuation runs: CLIP's pre-split, which BPE only splits
  further), so it errs low. The default limit is 75, what sd-scripts reads when max_token_length is
  unset (its default, and loratui's config's); the config's max_token_length (the app's config, the
  config beside DIR for `dataset scan` / `tags check`, their --config or --max-token-length) gives the
  real one, and the message names it.
- ``duplicate_tags`` (info): a tag listed twice, also as a case variant (CLIP lowercases captions,
  so ``LONG HAIR`` is ``long hair``), an underscore variant (``long_hair``) or another Unicode form
  (CLIP NFC-normalises: a decomposed ``café`` is ``café``). Exact, case and Unicode-form repeats go
  with ``loratui tags dedupe``; underscore ones with ``tags strip-underscores``.
- ``decomposed_tags`` (info): a tag not in composed Unicode (NFD, as macOS writes text copied with
  files): it trains as its NFC spelling and the tag tools count and match the two as one, but its bytes
  differ; the message names the replace that writes it composed.
- ``comma_in_tag`` (info): a tag with a comma inside brackets or escaped (``(a, b:1.2)``, ``a\\, b``). The tag
  tools keep it as one tag, but training splits at every comma (a plain split, as sd-scripts), so
  shuffle_caption, keep_tokens and tag dropout see its parts apart.
- ``wide_comma_in_tag`` (info): a fullwidth ``，`` or ideographic ``、`` comma inside a tag
  (``赤い髪，青い目``): sd-scripts splits only at ``,``, so it is one tag to training; if meant as
  separators, replace each with ``, ``.
- ``weighted_tags`` (info): ``(tag:1.2)``. loratui reads no prompt weights in captions (sd-scripts'
  weighted_captions has no loratui setting): the brackets and the number train as plain text. The
  message names the `tags replace --regex` that drops them from whole tags (``STRIP_WEIGHTS``).
"""

from __future__ import annotations

import os
import re
import shlex
import unicodedata
from pathlib import Path

from loratui.core.dataset.types import Problem, Severity
from loratui.core.fsutil import describe_os_error
from loratui.core.textcodec import control_summary, decode_caption_bytes, utf16_without_bom

# the caption token limit without a config: sd-scripts reads 75 tokens when max_token_length is unset (its
# default, and the config schema's); 150 and 225 (two or three 75-token chunks) only when a config asks
MAX_CLIP_TOKENS = 75
# CLIP's pre-tokenizer: contractions, letter runs, single digits, runs of other symbols (BPE splits further)
_CLIP_PIECES = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|[^\s\w]+|_+", re.IGNORECASE)
_WEIGHT = re.compile(r"[(\[]\s*[^()\[\]]*?:\s*-?\d+(?:\.\d+)?\s*[)\]]")
_SHOWN = 3  # examples named in one message
_SEPARATORS_ONLY = re.compile(r"[\s,]+")  # a first line of these has no tag (", ,, ,")
# `loratui tags replace DIR --regex OLD NEW` arguments that turn "(tag:1.2)" / "[tag:0.8]" into "tag"
STRIP_WEIGHTS = r"""--regex '[(\[](.+):-?[0-9.]+[)\]]' '\1'"""
# ... and that rewrite every decomposed (NFD) tag composed: the tag tools match in NFC, so each tag is
# renamed to its own NFC text (an NFC tag comes out the same and is left as it is)
COMPOSE_TAGS = r"""--regex '(.+)' '\1'"""
# commas sd-scripts does not split at (fullwidth, ideographic, their half-width and small forms)
_WIDE_COMMAS = {"，": "fullwidth", "、": "ideographic", "､": "half-width ideographic", "﹐": "small",
                "﹑": "small ideographic"}


def config_token_limit(config_path: str | os.PathLike | None) -> int | None:
    """The caption token limit a loratui config asks for: its training.max_token_length (75 when unset,
    the schema's and sd-scripts' default); None without a config, or when it cannot be read or the value
    is not 75, 150 or 225 (loading the config names that): the check then uses ``MAX_CLIP_TOKENS``.
    Read without loading the config, so that a config with problems elsewhere still gives its limit."""
    import tomllib

    if config_path is None:
        return None
    try:
        data = tomllib.loads(Path(config_path).read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        return None
    training = data.get("training")
    value = training.get("max_token_length", 75) if isinstance(training, dict) else 75
    return value if type(value) is int and value in (75, 150, 225) else None


def rel(path: Path) -> str:
    """`folder/file`: enough to find a file in a problem list without the full path."""
    return f"{path.parent.name}/{path.name}" if path.parent.name else path.name


def read_small_file(path: Path) -> bytes:
    # os.open/os.read skip the buffered file object: noticeably cheaper over thousands of captions.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def caption_problems(path: Path, data: bytes | None = None, max_tokens: int | None = None) -> list[Problem]:
    """The problems of the caption file at ``path`` (its bytes read unless ``data`` is given).
    ``max_tokens``: the caption token limit to check against (default 75, sd-scripts' default)."""
    if data is None:
        try:
            data = read_small_file(path)
        except IsADirectoryError:
            return [Problem("unreadable_caption", path, f"{rel(path)} is a folder, not a caption file: rename or "
                            "move it", "error")]
        except OSError as exc:
            return [Problem("unreadable_caption", path, f"{rel(path)}: cannot read ({describe_os_error(exc)})",
                            "error")]
    utf16 = utf16_without_bom(data)
    if utf16:
        return [Problem("caption_not_utf8", path, f"{rel(path)} is {utf16.upper()} without a byte-order mark: "
                        f"sd-scripts {_utf16_outcome(data)}; save it as UTF-8 (`loratui tags to-utf8 DIR`)", "error")]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return [Problem("caption_not_utf8", path, f"{rel(path)} is not UTF-8: sd-scripts stops with an error; "
                        f"{_resave_fix(data)}", "error")]
    problems = []
    if text.startswith("\ufeff"):
        problems.append(Problem("caption_bom", path, f"{rel(path)} starts with a UTF-8 byte-order mark: sd-scripts "
                                f"keeps it in the first tag; {_resave_fix(data, 'save the file without BOM')}",
                                "warning"))
        text = text[1:]
    if not text:
        problems.append(Problem("empty_caption", path, f"{rel(path)} is empty (0 bytes): sd-scripts stops with an "
                                "error; write a caption or delete the file", "error"))
        return problems
    # Python text files split on \n, \r and \r\n only (not str.splitlines' extra separators).
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    controls = control_summary(lines[0])
    if controls:
        # sd-scripts trains on them (UTF-16 read as bytes, a binary file): nothing else here matters first
        problems.append(Problem("caption_control_chars", path, f"{rel(path)}: the first line holds {controls}, "
                                "which sd-scripts trains on as part of the prompt; open it in a text editor and "
                                "save it as UTF-8 text, or write the caption again", "error"))
        return problems
    if not lines[0].strip():
        problems.append(Problem("empty_caption", path, f"{rel(path)}: the first line is blank, so the image trains "
                                "with an empty prompt; write the caption on the first line", "warning"))
    elif not _SEPARATORS_ONLY.sub("", lines[0]):
        # sd-scripts trains on lines[0].strip() as it is: ", ,," becomes the prompt, not an empty one
        problems.append(Problem("empty_caption", path, f"{rel(path)}: the first line holds only separators "
                                f"({lines[0].strip()!r}), no tag; the image trains with that text as its prompt: "
                                "write the tags on the first line", "warning"))
    if sum(1 for line in lines if line.strip()) > 1:
        problems.append(Problem("multiline_caption", path, f"{rel(path)} has several lines: sd-scripts uses only the "
                                "first (unless wildcards are on)", "warning"))
    problems.extend(tag_problems(path, lines[0].strip(), max_tokens))
    return problems


def _utf16_outcome(data: bytes) -> str:
    """What sd-scripts does with BOM-less UTF-16: ASCII text is valid UTF-8 (NULs and all), CJK is not."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "stops with an error (it reads UTF-8)"
    return "trains on its NUL bytes"


def _resave_fix(data: bytes, what: str = "save it as UTF-8") -> str:
    """The fix for a file `tags to-utf8` converts; the by-hand one for a file it leaves alone (its text,
    as the tag tools read it, holds NUL or control characters that a conversion would make permanent)."""
    text, encoding, _bom = decode_caption_bytes(data)
    controls = control_summary(text)
    if not controls:
        return f"{what} (`loratui tags to-utf8 DIR`)"
    return (f"read as {encoding} it holds {controls}, which `tags to-utf8` will not carry over: open it in a "
            "text editor and save it as UTF-8 text, or write the caption again")


def estimate_clip_tokens(text: str) -> int:
    """CLIP tokens of ``text`` at least: its pre-split pieces (a rare word may take several more)."""
    return len(_CLIP_PIECES.findall(text))


def _split_commas(line: str) -> list[str]:
    """Tags of a caption line: commas outside brackets that open a tag (``(a, b:1.2)``, not the
    emoticon ``:(``), ``\\,`` escaped: core.captions' rule, in light."""
    tags, depth, start, i = [], 0, 0, 0
    while i < len(line):
        ch = line[i]
        if ch == "\\":
            i += 2
            continue
        if ch in "([{":
            head = line[start:i].strip()
            if depth or not head or head[-1] in "([{":
                depth += 1
        elif ch in ")]}" and depth:
            depth -= 1
        elif ch == "," and not depth:
            tags.append(line[start:i])
            start = i + 1
        i += 1
    tags.append(line[start:])
    return [t for t in (t.strip() for t in tags) if t]


def tag_variant_key(tag: str) -> str:
    """What two spellings of one tag share: case, underscores for spaces (not in ``^_^``) and A1111's
    escaped brackets (``miku \\(vocaloid\\)``, as taggui writes them); the captioners' merge uses it
    too, so an appended tag is never a repeat this check flags."""
    tag = _nfc(tag)  # CLIP NFC-normalises: a decomposed "café" (macOS) is "café"
    key = tag.casefold().replace("\\(", "(").replace("\\)", ")")
    return key.replace("_", " ") if len(tag) > 3 else key


def _nfc(text: str) -> str:
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def _is_decomposed(tag: str) -> bool:
    return not tag.isascii() and not unicodedata.is_normalized("NFC", tag)


def _duplicates(tags: list[str]) -> list[str]:
    """``'solo' x2``, ``'LONG HAIR' = 'long hair'``: the repeated tags of one caption, in order."""
    groups: dict[str, list[str]] = {}
    for tag in tags:
        groups.setdefault(tag_variant_key(tag), []).append(tag)
    found = []
    for spellings in groups.values():
        if len(spellings) < 2:
            continue
        distinct = list(dict.fromkeys(spellings))
        if len(distinct) == 1:
            found.append(f"'{distinct[0]}' x{len(spellings)}")
        else:
            # an NFD spelling looks like its NFC twin: said, so "'café' = 'café'" is not a riddle
            found.append(" = ".join(f"'{s}'" + (" (NFD)" if _is_decomposed(s) else "") for s in distinct))
    return found


def tag_problems(path: Path, line: str, max_tokens: int | None = None) -> list[Problem]:
    """The cleanup checks of one caption line (see the module docstring)."""
    problems = []
    limit = max_tokens or MAX_CLIP_TOKENS
    tags = _split_commas(line) if "," in line else [line] if line else []
    if len(line) > limit:  # a piece has at least one character: a shorter line cannot be over
        tokens = estimate_clip_tokens(line)
        if tokens > limit:
            problems.append(Problem(
                "long_caption", path,
                f"{rel(path)} is about {tokens} CLIP tokens ({len(tags)} tags), {_over_limit(max_tokens)}",
                "warning"))
    if len(tags) > 1:
        repeats = _duplicates(tags)
        if repeats:
            more = f" and {len(repeats) - _SHOWN} more" if len(repeats) > _SHOWN else ""
            underscores = any("_" in r for r in repeats) and " (`tags strip-underscores` for _ variants)"
            problems.append(Problem(
                "duplicate_tags", path,
                f"{rel(path)} repeats tags: {', '.join(repeats[:_SHOWN])}{more}; remove them with `loratui tags "
                f"dedupe`{underscores or ''}", "info"))
    joined = [tag for tag in tags if "," in tag]
    if joined:  # "(a, b:1.2)" or "a\\, b": one tag to the tag tools, two to training (a plain split)
        more = f" and {len(joined) - 1} more" if len(joined) > 1 else ""
        problems.append(Problem(
            "comma_in_tag", path,
            f"{rel(path)} has a tag with a comma inside it ('{joined[0]}'{more}): loratui's tag tools keep it as "
            "one tag, but training (as sd-scripts) splits tags at every comma, so shuffle_caption, keep_tokens and "
            "tag dropout see its parts apart; if not meant, edit it without the comma", "info"))
    problems += _unicode_problems(path, tags)
    weighted = [m.group(0) for m in _WEIGHT.finditer(line)]
    if weighted:
        more = f" and {len(weighted) - 1} more" if len(weighted) > 1 else ""
        problems.append(Problem(
            "weighted_tags", path,
            f"{rel(path)} has prompt weights like '{weighted[0]}'{more}: they train as plain text (loratui reads "
            "no prompt weights; sd-scripts' weighted_captions has no loratui setting); if not meant, "
            f"`loratui tags replace DIR {STRIP_WEIGHTS}` drops them", "info"))
    return problems


def _over_limit(max_tokens: int | None) -> str:
    """The long-caption message's tail: the limit, where it comes from (the config's max_token_length, or
    sd-scripts' default when no config is known) and how to keep more."""
    if not max_tokens:
        return (f"over the {MAX_CLIP_TOKENS} tokens sd-scripts reads by default (max_token_length unset): the rest "
                "is cut off silently; remove tags, or set max_token_length = 150 or 225 in the config to keep more")
    more = {75: "150 or 225", 150: "225"}.get(max_tokens)
    keep = f", or set max_token_length = {more} in the config to keep more" if more else ""
    return (f"over the {max_tokens} sd-scripts reads with max_token_length {max_tokens}: the rest is cut off "
            f"silently; remove tags{keep}")


def _unicode_problems(path: Path, tags: list[str]) -> list[Problem]:
    """``decomposed_tags`` and ``wide_comma_in_tag`` of one caption's tags (see the module docstring)."""
    if all(map(str.isascii, tags)):  # most captions: nothing to look at
        return []
    problems = []
    decomposed = list(dict.fromkeys(t for t in tags if _is_decomposed(t)))
    if decomposed:
        more = f" and {len(decomposed) - 1} more" if len(decomposed) > 1 else ""
        problems.append(Problem(
            "decomposed_tags", path,
            f"{rel(path)} has a tag in decomposed Unicode (NFD, as macOS writes it): '{decomposed[0]}'{more}; CLIP "
            "reads it as the composed (NFC) spelling and the tag tools count and match the two as one tag. To write "
            f"it composed: `loratui tags replace DIR {shlex.quote(_nfc(decomposed[0]))} "
            f"{shlex.quote(_nfc(decomposed[0]))}`, or every such tag: `loratui tags replace DIR {COMPOSE_TAGS}`; "
            "`loratui tags dedupe` drops it where the composed one is also in the caption", "info"))
    wide = [t for t in tags if any(ch in _WIDE_COMMAS for ch in t)]
    if wide:
        kinds = dict.fromkeys(f"'{ch}' ({_WIDE_COMMAS[ch]})" for t in wide for ch in t if ch in _WIDE_COMMAS)
        more = f" and {len(wide) - 1} more" if len(wide) > 1 else ""
        problems.append(Problem(
            "wide_comma_in_tag", path,
            f"{rel(path)} has a tag with a {' and '.join(kinds)} comma in it ('{wide[0]}'{more}): sd-scripts splits "
            "tags only at ',', so it trains as one tag (shuffle_caption, keep_tokens and tag dropout keep it "
            "whole); if they are meant as separators, replace each with ', '", "info"))
    return problems


OTHER_CAPTION_EXTENSIONS = (".txt", ".caption")  # what kohya_ss (.caption) and most taggers (.txt) write


def other_caption_file(image: Path) -> Path | None:
    """A caption file beside ``image`` with one of the usual extensions (the one the dataset uses is
    missing, so any found is another): the config's caption_extension is probably wrong."""
    for ext in OTHER_CAPTION_EXTENSIONS:
        candidate = image.with_suffix(ext)
        if candidate.is_file():
            return candidate
    return None


def missing_caption_problem(image: Path, class_tokens: str, is_reg: bool = False) -> Problem:
    """An image without a caption file: trained with its folder's class tokens, or an empty prompt.
    A caption with another usual extension beside it is named (a caption_extension mix-up)."""
    other = other_caption_file(image)
    if other is not None:
        return Problem("missing_caption", image, f"{rel(image)} has no caption, but {other.name} is beside it: set "
                       f"caption_extension = \"{other.suffix}\" (Settings, or --caption-extension {other.suffix}) "
                       "or rename the captions", "warning")
    if class_tokens:
        message = f"{rel(image)} has no caption: sd-scripts trains it with the class tokens '{class_tokens}'"
        # Reg images usually have no captions on purpose.
        severity: Severity = "info" if is_reg else "warning"
    else:
        message = f"{rel(image)} has no caption and its folder has no class tokens: it trains with an empty prompt"
        severity = "warning"
    return Problem("missing_caption", image, message, severity)
