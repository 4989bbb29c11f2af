"""The Caption form's checks in our words: each refused value is one line naming the field and what it
takes (not click's "'abc' is not a valid float range."), short enough for the hint line."""

from __future__ import annotations

import textwrap

import pytest

from loratui.commands.caption_cmd import caption
from loratui.tui.screens.caption import COMMON, ESC_NOTE, SPECIFIC
from loratui.tui.widgets.caption_form import field_problem, option_fields

FIELDS = {f.name: f for name in SPECIFIC for f in option_fields(caption.commands[name], SPECIFIC[name] + COMMON)}


@pytest.mark.parametrize("name, text, said", [
    ("general_threshold", "abc", "General threshold (--general-threshold): must be a number from 0 to 1, got 'abc'; "
                                 "type one, or clear it for the default (0.35)"),
    ("character_threshold", "1.5", "Character threshold (--character-threshold): must be a number from 0 to 1, "
                                   "got '1.5'"),
    ("batch_size", "0", "Batch size (--batch-size): must be a whole number, 1 or more, got '0'; type one, or clear "
                        "it for the default (8)"),
    ("workers", "two", "Decode workers (--workers): must be a whole number, 1 or more, got 'two'; type one, or "
                       "clear it for the default"),
    ("num_beams", "2.5", "Num beams (--num-beams): must be a whole number, 1 or more, got '2.5'"),
    ("min_length", "-1", "Min length (--min-length): must be a whole number, 0 or more, got '-1'"),
    ("top_p", "x", "Top-p (--top-p): must be a number from 0 to 1, got 'x'"),
    ("repetition_penalty", "lots", "Repetition penalty (--repetition-penalty): must be a number, got 'lots'"),
    ("separator", " ", "Separator (--separator): needs a visible character, such as ',' (the default) or '|'"),
    ("separator", "tab", "Separator (--separator): needs a visible character"),
    ("caption_extension", "png", "Caption ext. (--caption-extension): give a file extension with its dot"),
    ("caption_extension", ".jpg", "Caption ext. (--caption-extension): is an image extension"),
])
def test_a_refused_value_is_one_line_in_our_words(name, text, said):
    line = field_problem(FIELDS[name], text)
    assert line is not None and line.startswith(said), line
    assert "valid" not in line and "range" not in line and "\n" not in line
    # with the Esc note, the hint line holds it (3 lines at 80 columns, 1 of padding each side)
    assert len(textwrap.wrap(f"{line} {ESC_NOTE}", 78)) <= 3, line


@pytest.mark.parametrize("name, text", [("general_threshold", "0.5"), ("general_threshold", ""), ("batch_size", "4"),
                                        ("separator", "|"), ("separator", ""), ("caption_extension", ".caption"),
                                        ("undesired_tags", "anything, at all"), ("top_p", "1")])
def test_good_values_pass(name, text):
    assert field_problem(FIELDS[name], text) is None


def test_a_long_value_is_shortened_in_the_line():
    line = field_problem(FIELDS["general_threshold"], "x" * 300)
    assert "x" * 19 + "…" in line and len(textwrap.wrap(f"{line} {ESC_NOTE}", 78)) <= 3
