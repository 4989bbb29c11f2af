"""One rule per free-text caption option, shared by the CLI and the Caption form; and the count of
captions a run would replace, made with the run's own image list."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from PIL import Image

from loratui.captioners.existing_captions import count_existing_captions
from loratui.captioners.option_rules import (
    TEXT_OPTION_RULES, device_problem, lengths_problem, parse_replacements, replacement_problem,
)
from loratui.commands.caption_cmd import _plan, caption
from loratui.core.errors import LoratuiError
from loratui.tui.screens.caption import COMMON, SPECIFIC
from loratui.tui.widgets.caption_form import field_problem, option_fields


@pytest.mark.parametrize("text, pairs", [
    ("", []),
    ("a,b", [("a", "b")]),
    ("a,b;c,d;", [("a", "b"), ("c", "d")]),
    (r"red_theme,red\, theme;x\;y,z", [("red_theme", "red, theme"), ("x;y", "z")]),
    ("gone,", [("gone", "")]),
])
def test_replacement_pairs(text, pairs):
    assert replacement_problem(text) is None
    assert parse_replacements(text) == pairs


@pytest.mark.parametrize("text, item", [("onlyone", "'onlyone'"), ("a,b;c", "'c'"), ("a,b,c", "'a,b,c'"),
                                        ("a,b\nc,d", None)])
def test_a_bad_replacement_is_refused_in_one_line(text, item):
    problem = replacement_problem(text)
    assert problem and "\n" not in problem
    if item:
        assert problem.startswith(f"{item} must be 'source,target'")
    with pytest.raises(LoratuiError, match=r"^--tag-replacement: "):
        parse_replacements(text)


def test_a_long_bad_item_is_cut_in_the_line():
    assert len(replacement_problem("x" * 500)) < 120


@pytest.mark.parametrize("text, ok", [("", True), ("auto", True), ("cpu", True), ("CUDA", True), ("cuda:1", True),
                                      ("mps", True), (" cuda:0 ", True), ("gpu", False), ("cuda:x", False),
                                      ("cuda1", False)])
def test_device_as_written(text, ok):
    assert (device_problem(text) is None) == ok


def test_lengths():
    assert lengths_problem(5, 75) is None and lengths_problem(75, 75) is None
    assert lengths_problem(80, 75).startswith("--min-length 80 is more than --max-length 75")


def test_the_cli_and_the_form_refuse_with_the_same_rule(tmp_path):
    """The CLI's error and the form's line carry the same words: one rule, not two copies."""
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    result = CliRunner().invoke(caption, ["wd14", str(tmp_path), "--model", str(tmp_path), "--tag-replacement",
                                          "a,b;c"])
    problem = replacement_problem("a,b;c")
    assert isinstance(result.exception, LoratuiError) and str(result.exception) == f"--tag-replacement: {problem}"
    fields = {f.name: f for f in option_fields(caption.commands["wd14"], SPECIFIC["wd14"])}
    assert field_problem(fields["tag_replacement"], "a,b;c") == f"Replace tags (--tag-replacement): {problem}"


def test_every_free_text_option_on_the_form_has_its_rule():
    """A text option added to `loratui caption` without a rule here would be refused only by the run."""
    import click

    checked_elsewhere = {"separator", "caption_extension", "providers"}  # core's rules; a choice on the form
    for name, names in SPECIFIC.items():
        for field in option_fields(caption.commands[name], names + COMMON):
            if field.kind == "text" and field.param.type is click.STRING and field.name not in checked_elsewhere:
                assert field.name in TEXT_OPTION_RULES, field.name


# ---- the captions a run would replace ------------------------------------------------------------

def _image(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8)).save(path)
    return path


@pytest.fixture
def dataset(tmp_path):
    train = tmp_path / "proj" / "img"
    for rel in ("10_a/a1.png", "10_a/a2.png", "5_b/b1.png", "extra/e1.png", "extra/deep/e2.png"):
        _image(train / rel)
    (train / "10_a" / "a1.txt").write_text("txt caption\n")
    (train / "10_a" / "a2.txt").write_text("txt caption\n")
    (train / "10_a" / "a2.caption").write_text("hand\n")
    (train / "5_b" / "b1.caption").write_text("")  # empty: nothing to lose, as skip existing reads it
    (train / "extra" / "e1.caption").write_text("hand\n")
    (train / "extra" / "deep" / "e2.caption").write_text("hand\n")
    return tmp_path / "proj"


@pytest.mark.parametrize("recursive, extension, expected", [
    (False, ".txt", (2, 3)), (False, ".caption", (1, 3)), (True, ".caption", (3, 5)), (True, ".tags", (0, 5)),
])
def test_the_count_is_the_runs_own(dataset, recursive, extension, expected):
    counted = count_existing_captions(dataset, recursive, extension)
    assert (counted.with_caption, counted.images) == expected and counted.extension == extension
    todo, skipped = _plan(str(dataset), recursive, extension, "skip")  # what the run itself would skip
    assert counted.with_caption == len(skipped) and counted.images == len(todo) + len(skipped)


def test_a_concept_folder_counts_its_own_images(dataset):
    counted = count_existing_captions(dataset / "img" / "10_a", False, ".txt")
    assert (counted.with_caption, counted.images) == (2, 2)


def test_a_bad_extension_is_the_clis_line(dataset):
    with pytest.raises(LoratuiError, match="--caption-extension 'png'"):
        count_existing_captions(dataset, False, "png")
