"""The rules of `loratui caption`'s free-text options, shared by the CLI and the app's Caption form.

One place says what ``--tag-replacement``, ``--undesired-tags``, ``--always-first-tags``,
``--prefix``, ``--postfix`` and ``--device`` accept, so the form marks a value as it is typed with
the same rule the run would refuse it by. Each ``*_problem`` returns the reason as one line (no
option name: the CLI puts ``--option value:`` before it, the form its label), or None.
Pure Python: the app imports this, so neither onnxruntime nor torch may be imported here.
"""

from __future__ import annotations

import re

from loratui.core.errors import LoratuiError

_PAIR_SPLIT = re.compile(r"(?<!\\);")
_FIELD_SPLIT = re.compile(r"(?<!\\),")
_DEVICE = re.compile(r"(auto|cpu|mps|cuda(:\d+)?)")


def _shown(text: str, width: int = 24) -> str:
    """``text`` quoted, cut so that a pasted paragraph still leaves a one-line message."""
    return repr(text if len(text) <= width else text[:width - 1] + "…")


def one_line_problem(text: str) -> str | None:
    """Text added to every caption must not break it: a caption is one line."""
    if "\n" in text or "\r" in text:
        return "holds a line break; a caption is one line (sd-scripts reads only the first): give it on one line"
    return None


def _replacement_items(text: str) -> list[tuple[str, list[str]]]:
    return [(item, _FIELD_SPLIT.split(item)) for item in _PAIR_SPLIT.split(text) if item.strip()]


def replacement_problem(text: str) -> str | None:
    """sd-scripts' ``src1,dst1;src2,dst2`` (``\\,`` and ``\\;`` for literal commas and semicolons)."""
    problem = one_line_problem(text)
    if problem:
        return problem
    for item, parts in _replacement_items(text):
        if len(parts) != 2:
            return (f"{_shown(item.strip())} must be 'source,target', pairs separated by ';' (escape commas "
                    "as \\,)")
    return None


def parse_replacements(text: str) -> list[tuple[str, str]]:
    """The ``(source, target)`` pairs of ``--tag-replacement``; LoratuiError naming the option when
    one is not a pair. Unlike sd-scripts at HEAD, every pair is applied (to the final tag names)."""
    problem = replacement_problem(text)
    if problem:
        raise LoratuiError(f"--tag-replacement: {problem}")
    return [tuple(p.replace("\\,", ",").replace("\\;", ";").strip() for p in parts)  # type: ignore[misc]
            for _, parts in _replacement_items(text)]


def csv_tags(text: str) -> list[str]:
    """``--undesired-tags`` and ``--always-first-tags``: comma-separated, blanks dropped."""
    return [t.strip() for t in text.split(",") if t.strip()]


def device_problem(text: str) -> str | None:
    """``--device`` as written (whether that GPU exists is known only where torch loads)."""
    if not text.strip() or _DEVICE.fullmatch(text.strip().lower()):
        return None
    return f"{_shown(text.strip())}: expected auto, cpu, cuda or cuda:N (N a GPU number, e.g. cuda:1)"


def lengths_problem(min_length: int, max_length: int) -> str | None:
    """BLIP's ``--min-length`` may not exceed ``--max-length``."""
    if min_length > max_length:
        return f"--min-length {min_length} is more than --max-length {max_length}: lower it or raise --max-length"
    return None


# option name -> its rule; every free-text option of `loratui caption wd14|blip` with one is here
TEXT_OPTION_RULES = {
    "tag_replacement": replacement_problem,
    "undesired_tags": one_line_problem,
    "always_first_tags": one_line_problem,
    "prefix": one_line_problem,
    "postfix": one_line_problem,
    "device": device_problem,
}
