"""The caption options sd-scripts applies per use (keep_tokens_separator, secondary_separator, caption_prefix,
caption_suffix: engine/data_captions.py does what its process_caption does): the values it would misbehave on,
refused (validate) one line each naming the key, and what a valid but idle setting does (a `config check` note).

sd-scripts misbehaves, without a word, on:
- a separator of whitespace only: it splits or rewrites captions at every such space ("long hair" becomes
  "long,hair");
- a line break in any of the four: a caption is its file's first line, so a separator holding one never
  matches, and a prefix or suffix holding one cuts the caption there (sd-scripts keeps the first line after
  adding them);
- keep_tokens_separator that is caption_separator or part of it: it would end the fixed tags at the first
  tag separator;
- secondary_separator that overlaps caption_separator, or is part of the ", " the tags are joined with: the tags
  it joins would be split apart, or every tag separator rewritten;
- the two separators overlapping each other: the one is read for the other.
"""

from __future__ import annotations

CAPTION_TEXT_KEYS = ("keep_tokens_separator", "secondary_separator", "caption_prefix", "caption_suffix")
_JOINER = ", "  # what sd-scripts joins the tags with after a shuffle


def caption_option_problems(d) -> list[str]:
    """Why sd-scripts would misbehave on the dataset's caption options, one line each (none: [])."""
    problems: list[str] = []
    separator = d.caption_separator or ","
    marker, joiner = d.keep_tokens_separator, d.secondary_separator
    for key in CAPTION_TEXT_KEYS:
        value = getattr(d, key)
        if "\n" in value or "\r" in value:
            why = ("a caption is its file's first line, so the separator would never be found" if key.endswith(
                "separator") else "sd-scripts keeps the caption's first line after adding it, so the caption would "
                                  "be cut there")
            problems.append(f"{key} {value!r} holds a line break: {why}: write it on one line")
        elif value and not value.strip() and key.endswith("separator"):
            problems.append(f"{key} {value!r} is only whitespace: sd-scripts would split or rewrite every caption at "
                            "each such space: use a mark such as \"|||\", or \"\" for off")
    problems = problems or _overlaps(separator, marker, joiner)
    return problems


def _overlaps(separator: str, marker: str, joiner: str) -> list[str]:
    problems = []
    if marker and marker in separator:
        problems.append(f"keep_tokens_separator {marker!r} is caption_separator {separator!r} or part of it: the fixed "
                        "tags would end at the first tag separator: use a mark of its own such as \"|||\"")
    if joiner and (joiner in separator or separator in joiner):
        problems.append(f"secondary_separator {joiner!r} overlaps caption_separator {separator!r}: the tags it joins "
                        "would be split apart: use a mark of its own such as \";;;\"")
    elif joiner and joiner in _JOINER:
        problems.append(f"secondary_separator {joiner!r} is part of the {_JOINER!r} that shuffled tags are joined "
                        "with: every tag separator would be replaced: use a mark of its own such as \";;;\"")
    if marker and joiner and (marker in joiner or joiner in marker):
        problems.append(f"keep_tokens_separator {marker!r} and secondary_separator {joiner!r} overlap: one would be "
                        "read for the other: give them different marks (e.g. \"|||\" and \";;;\")")
    return problems


def caption_option_notes(d) -> list[str]:
    """What `config check` says of a valid caption option that does not do what its name suggests here."""
    if d.keep_tokens_separator and not (d.shuffle_caption or d.caption_tag_dropout_rate):
        return [f"dataset.keep_tokens_separator {d.keep_tokens_separator!r} does nothing with shuffle_caption and "
                "caption_tag_dropout_rate off: captions are used as written, the mark in them as text (as in "
                "sd-scripts); turn shuffle_caption on, or set keep_tokens_separator = \"\""]
    return []
