"""The two caption limits the tag editor shows: CLIP tokens against max_token_length, and keep_tokens.

- The token count is core's estimate (``estimate_clip_tokens``: the one behind the "about 102 CLIP
  tokens" warning, so the editor and the problem list never disagree) of the caption as core writes it,
  against the config's max_token_length; without a config, core's default (``MAX_CLIP_TOKENS``: what
  the long-caption check uses then).
- keep_tokens counts what sd-scripts counts: the caption split at every comma (a plain split), so a
  tag with a comma inside, ``(red hair, blue eyes:1.2)``, is two. A tag that starts inside the kept
  part is kept (shuffling keeps its first piece where it is).

Pure functions: TagEditor draws them and says when an edit moves a tag across the keep_tokens line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from loratui.core.captions import DEFAULT_SEPARATOR, join_tags
from loratui.core.dataset import MAX_CLIP_TOKENS, estimate_clip_tokens


@dataclass(frozen=True)
class CaptionLimits:
    """``keep_tokens``: the config's (0: none, nothing drawn); ``max_tokens``: its max_token_length, None
    without a config (core's default applies)."""

    keep_tokens: int = 0
    max_tokens: int | None = None

    @property
    def token_limit(self) -> int:
        return self.max_tokens or MAX_CLIP_TOKENS  # as core's long-caption check: tag_problems


def caption_tokens(tags: Sequence[str], separator: str = DEFAULT_SEPARATOR) -> int:
    """The caption's CLIP tokens (core's estimate: at least this many) as it would be written."""
    if not tags:
        return 0
    try:
        text = join_tags(list(tags), separator)
    except Exception:  # noqa: BLE001 - a separator core refuses: the count is only a hint
        text = ", ".join(tags)
    return estimate_clip_tokens(text)


def token_text(tags: Sequence[str], separator: str, limits: CaptionLimits) -> tuple[str, bool]:
    """("31/75 tokens", False); ("102/75 tokens: over", True) when sd-scripts cuts the rest off."""
    count, limit = caption_tokens(tags, separator), limits.token_limit
    over = count > limit
    return f"{count}/{limit} tokens{': over' if over else ''}", over


def kept_count(tags: Sequence[str], keep_tokens: int) -> int:
    """How many of the first tags keep_tokens keeps in place (each tag counts its comma pieces)."""
    if keep_tokens <= 0:
        return 0
    pieces = 0
    for index, tag in enumerate(tags):
        if pieces >= keep_tokens:
            return index
        pieces += tag.count(",") + 1
    return len(tags)


def _names(tags: list[str]) -> str:
    return ", ".join(tags)


def _verb(tags: list[str]) -> str:
    return "are" if len(tags) > 1 else "is"


def kept_change_line(before: Sequence[str], after: Sequence[str], keep_tokens: int) -> str | None:
    """One line when an edit moved tags across the keep_tokens line (a move, a delete or re-insert in the
    kept part), None when the kept part holds the same tags: "long hair is now inside keep_tokens = 1:
    alice moved out of the kept part". A tag renamed, added or deleted is not named (its own edit says
    so); only tags in the caption before and after are."""
    if keep_tokens <= 0:
        return None
    old_kept = list(before[:kept_count(before, keep_tokens)])
    new_kept = list(after[:kept_count(after, keep_tokens)])
    entered = [t for t in new_kept if t not in old_kept and t in before]
    left = [t for t in old_kept if t not in new_kept and t in after]
    if not entered and not left:
        return None
    where = f"keep_tokens = {keep_tokens}"
    if entered and left:
        return f"{_names(entered)} {_verb(entered)} now inside {where}: {_names(left)} moved out of the kept part"
    if entered:
        return f"{_names(entered)} {_verb(entered)} now inside {where} (kept in place when shuffled)"
    return f"{_names(left)} moved out of the kept part ({where}): shuffled from now on"
