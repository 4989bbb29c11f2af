"""One Replace of several old tags: ``girl, female, 1girls -> 1girl`` (taggui-style synonym merging).

OLD is read as a caption's tags are (``parse_old_tags``: split at the separator outside brackets, so the
weighted ``(red hair, blue eyes:1.2)`` stays one), and each old tag becomes its own ``ReplaceTag`` in one
plan (``replace_ops``): one preview, one journal entry, one undo. The renames run one after another, each
merging the copies of NEW it makes (``girl, female`` becomes one ``1girl``), as one replace does. Used by
`loratui tags replace` and the app's Replace form.
"""

from __future__ import annotations

from loratui.core.captions.files import DEFAULT_SEPARATOR, split_tags
from loratui.core.captions.ops import ReplaceTag
from loratui.core.captions.patterns import pattern_kind


def parse_old_tags(text: str, separator: str = DEFAULT_SEPARATOR, mode: str = "exact") -> list[str]:
    """The old tags (or patterns) ``text`` names, in order, each once: ``'girl, female, 1girls'`` gives
    ``['girl', 'female', '1girls']``; one tag gives itself. A regex (``mode`` regex, or ``/.../`` in auto)
    is one pattern, never split: its commas are its own (``a{1,3}``). Blank: []."""
    if not text or not text.strip():
        return []
    if pattern_kind(text.strip(), mode)[0] == "regex":
        return [text]
    return list(dict.fromkeys(split_tags(text, separator)))


def replace_ops(olds: list[str], new: str, mode: str = "exact", ignore_case: bool = False) -> list[ReplaceTag]:
    """A ``ReplaceTag`` per old tag, all to ``new``: the operations of one plan."""
    return [ReplaceTag(old, new, mode, ignore_case) for old in olds]


def describe_replace(olds: list[str], new: str, ignore_case: bool = False) -> str:
    """The plan's (and the undo history's) one line: ``replace girl, female -> 1girl``; one old tag reads
    as ``ReplaceTag.describe``."""
    if len(olds) == 1:
        return ReplaceTag(olds[0], new, ignore_case=ignore_case).describe()
    names = ", ".join(olds)
    case = " (any case)" if ignore_case else ""
    if not new.strip():
        return f"replace {names} -> (nothing){case}: removes {names}"
    return f"replace {names} -> {new}{case}"
