"""Every --help reads well at 80 columns: no line past 80, integer counts shown as N, every option of
`caption blip` explained, and --tags-csv described for the command it is on."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from loratui.cli import cli
from test_exit_codes_documented import TREE


def help_text(path, **invoke) -> str:
    result = CliRunner().invoke(cli, [*path, "--help"], **invoke)
    assert result.exit_code == 0, result.output
    return result.output


def name(path) -> str:
    return " ".join(("loratui", *path))


@pytest.mark.parametrize("path", [path for path, _ in TREE], ids=lambda p: " ".join(p) or "loratui")
def test_no_help_line_is_wider_than_80_columns(path):
    # COLUMNS=80 is what click reads from the terminal (78 wide); a forced width of 80 is the edge
    for invoke in ({"env": {"COLUMNS": "80"}}, {"terminal_width": 80}):
        wide = [line for line in help_text(path, **invoke).splitlines() if len(line) > 80]
        assert not wide, f"`{name(path)} --help` ({invoke}) has lines over 80 columns: {wide}"


def test_the_exit_codes_of_a_group_are_a_list_not_a_run_on_paragraph():
    text = help_text(["tags"], env={"COLUMNS": "80"})
    block = text.split("Exit codes:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert [line.split()[0] for line in block if not line.startswith(" " * 9)] == ["0", "1", "2", "130"]


def _options(command: click.Command):
    return [p for p in command.params if isinstance(p, click.Option)]


@pytest.mark.parametrize("path", [path for path, command in TREE if not isinstance(command, click.Group)],
                         ids=" ".join)
def test_integer_options_show_n(path):
    command = dict(TREE)[path]
    ints = [opt for opt in _options(command)
            if not opt.is_flag and isinstance(opt.type, (click.types.IntParamType, click.IntRange))]
    odd = {opt.opts[-1]: opt.metavar for opt in ints if opt.metavar != "N"}
    assert not odd, f"`{name(path)}`: integer options whose metavar is not N: {odd}"
    text = help_text(path)
    assert "INTEGER" not in text, f"`{name(path)} --help` still shows INTEGER"


def test_the_counts_the_tester_named_read_n():
    assert "--repeats N " in help_text(["dataset", "init"])
    assert "--target N " in help_text(["dataset", "balance"])
    assert "--max-steps N " in help_text(["train"]) and "--max-train-epochs N " in help_text(["train"])
    assert "--position N " in help_text(["tags", "add"]) and "--keep N " in help_text(["tags", "add"])


def test_every_caption_blip_option_has_help():
    command = dict(TREE)[("caption", "blip")]
    bare = [opt.opts[-1] for opt in _options(command) if not (opt.help or "").strip()]
    assert not bare, f"`loratui caption blip` options without help: {bare}"
    text = " ".join(help_text(["caption", "blip"]).split())
    for words in ("Beam search over N", "Shortest caption", "Longest caption", "repeated words", "bf16 on a GPU"):
        assert words in text


@pytest.mark.parametrize("path", [path for path, command in TREE if not isinstance(command, click.Group)],
                         ids=" ".join)
def test_no_option_of_any_command_lacks_help(path):
    command = dict(TREE)[path]
    bare = [opt.opts[-1] for opt in _options(command) if not (opt.help or "").strip() and not opt.hidden]
    assert not bare, f"`{name(path)}` options without help: {bare}"


TAGS_CSV_SAYS = {
    "freq": "category (general, character, ...) to the table",
    "sort": "for --by category",
    "remove-category": "needed for every CATEGORY but rating",
    "apply": "remove_category ops",
    **{op: f"Not used by {op}" for op in ("add", "remove", "replace", "dedupe", "move-front", "strip-underscores",
                                          "find")},
}


@pytest.mark.parametrize("op", sorted(TAGS_CSV_SAYS))
def test_tags_csv_help_says_what_it_does_for_that_command(op):
    option = next(o for o in _options(dict(TREE)[("tags", op)]) if "--tags-csv" in o.opts)
    assert TAGS_CSV_SAYS[op] in option.help
    assert "sort --by category, remove-category" not in option.help  # the old text, wrong on 8 commands


def test_every_tags_operation_still_takes_tags_csv():
    """An option is a contract: scripts passing --tags-csv to any operation keep working."""
    ops = [path for path, command in TREE if path[:1] == ("tags",) and len(path) == 2
           and any(p.name == "directory" for p in command.params) and path[1] not in ("check", "undo", "redo", "to-utf8")]
    assert len(ops) == len(TAGS_CSV_SAYS)
    for path in ops:
        assert any("--tags-csv" in o.opts for o in _options(dict(TREE)[path])), path
