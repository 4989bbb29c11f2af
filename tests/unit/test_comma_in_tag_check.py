"""A tag with a comma inside brackets or escaped is one tag to the tag tools (the editor, counts, "keep
first N") but two to training, which splits at every comma as sd-scripts does (shuffle_caption,
keep_tokens): the caption check says so, as an info, naming the tag."""

from __future__ import annotations

import random
from pathlib import Path
from types import SimpleNamespace

from loratui.core.dataset import caption_problems
from loratui.engine.data import augment_caption
from loratui.tui.screens.dataset_columns import PROBLEM_WORDS

P = Path("10_alice/x.txt")


def _kinds(line: str) -> dict:
    return {p.kind: p for p in caption_problems(P, line.encode())}


def test_a_bracketed_or_escaped_comma_is_named_as_an_info():
    problem = _kinds("alice, (red hair, blue eyes:1.2), solo")["comma_in_tag"]
    assert problem.severity == "info"
    assert "'(red hair, blue eyes:1.2)'" in problem.message and "keep_tokens" in problem.message
    assert "and 1 more" in _kinds("a\\, b, (c, d), e")["comma_in_tag"].message
    assert PROBLEM_WORDS["comma_in_tag"] == "comma tag"


def test_plain_tags_and_one_tag_captions_are_not_flagged():
    assert "comma_in_tag" not in _kinds("alice, red hair, (blue eyes:1.2), solo")
    assert "comma_in_tag" not in _kinds("a photo of alice")


def test_training_does_split_such_a_tag_at_its_comma():
    """What the message claims: with keep_tokens 1 only '(mikuchan' stays in front."""
    d = SimpleNamespace(caption_dropout_rate=0, caption_dropout_every_n_epochs=0, shuffle_caption=True,
                        caption_tag_dropout_rate=0, caption_separator=",", keep_tokens=1)
    out = augment_caption("(mikuchan, cosplay:1.2), solo, smile", d, 1, random.Random(0))
    assert out.split(", ")[0] == "(mikuchan"
