"""Every command documents its exit codes in --help, and the README has them per command (issue 12).

The click tree is walked, so a command added later cannot miss its "Exit codes:" block.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from loratui.cli import COMMANDS, cli

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
KNOWN_CODES = {0, 1, 2, 3, 130, 141}  # the convention: README "Exit codes of every command", `loratui --help` (141: stdout closed)


def walk(command: click.Command = cli, path: tuple[str, ...] = ()):
    """(path, command) for the root, every group and every leaf command of the click tree."""
    yield path, command
    if isinstance(command, click.Group):
        ctx = click.Context(command, info_name=path[-1] if path else "loratui")
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None, f"`loratui {' '.join((*path, name))}` is listed but cannot be loaded"
            yield from walk(sub, (*path, name))


TREE = list(walk())
LEAVES = [path for path, command in TREE if not isinstance(command, click.Group)]
GROUPS = [path for path, command in TREE if isinstance(command, click.Group)]


def documented_codes(path: tuple[str, ...]) -> dict[int, str]:
    """The rows of the "Exit codes:" block of `loratui PATH --help`: {code: meaning}."""
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    text = result.output
    assert "\n  Exit codes:\n" in text, f"`loratui {' '.join(path)} --help` has no \"Exit codes:\" block"
    block = text.split("Exit codes:\n", 1)[1].split("\n\n", 1)[0]
    rows: dict[int, str] = {}
    for line in block.splitlines():
        match = re.match(r"^ {4}(\d+) +(\S.*)$", line)
        if match:
            rows[int(match.group(1))] = match.group(2)
        else:
            assert line.startswith(" " * 9) and rows, f"`loratui {' '.join(path)} --help`: odd exit-code line {line!r}"
    return rows


def test_the_walk_finds_every_leaf_command():
    names = {" ".join(path) for path in LEAVES}
    assert {"tags add", "tags apply", "caption blip", "config new", "presets list", "dataset init", "steps",
            "demo", "tags undo"} <= names
    assert len(names) >= 34


@pytest.mark.parametrize("path", LEAVES, ids=" ".join)
def test_every_leaf_command_lists_its_own_exit_codes(path):
    rows = documented_codes(path)
    assert set(rows) <= KNOWN_CODES, f"`loratui {' '.join(path)}`: {set(rows) - KNOWN_CODES} is not a loratui exit code"
    assert 0 in rows and 2 in rows, \
        f"`loratui {' '.join(path)}`: every command can succeed (0) and refuse bad input (2)"
    assert all(meaning.strip() for meaning in rows.values())


@pytest.mark.parametrize("path", GROUPS, ids=lambda p: " ".join(p) or "loratui")
def test_a_group_lists_every_code_its_commands_return(path):
    rows = documented_codes(path)
    below = [leaf for leaf in LEAVES if leaf[:len(path)] == path]
    missing = {code: " ".join(leaf) for leaf in below for code in documented_codes(leaf) if code not in rows}
    assert not missing, f"`loratui {' '.join(path)} --help` leaves out codes its commands return: {missing}"


@pytest.mark.parametrize("path, codes", [
    (("tags", "add"), {0, 1, 2, 130}), (("tags", "freq"), {0, 2, 130}), (("tags", "check"), {0, 1, 2, 130}),
    (("caption", "wd14"), {0, 1, 2, 3, 130}), (("caption", "blip"), {0, 1, 2, 3, 130}),
    (("config", "new"), {0, 2}), (("config", "check"), {0, 1, 2}), (("presets", "show"), {0, 2}),
    (("dataset", "init"), {0, 2, 130}), (("dataset", "balance"), {0, 2, 130}), (("train",), {0, 1, 2, 130}),
], ids=lambda v: " ".join(v) if isinstance(v, tuple) else None)
def test_the_codes_are_the_ones_the_command_returns(path, codes):
    """Read from the code: tags operations exit 1 when a caption changed during the write (the others are
    written), caption runs 3 when some images failed and 1 when their journal stopped them part-way (a full
    disk), check commands 1 when they find problems."""
    assert set(documented_codes(path)) == codes


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_lists_exit_codes(name):
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0
    assert "Exit codes" in result.output, f"`loratui {name} --help` does not document its exit codes"


@pytest.mark.parametrize("args", [["tags", "check"], ["tags", "undo"], ["tags", "redo"], ["dataset", "scan"],
                                  ["config", "check"], ["presets", "apply"]])
def test_subcommands_with_their_own_codes_list_them(args):
    out = " ".join(CliRunner().invoke(cli, [*args, "--help"]).output.split()).lower()
    assert "exit codes:" in out or "exit code is" in out


def test_the_readme_has_a_row_per_command():
    table = README[README.index("| command | 0 | 1 |"):]
    table = table[:table.index("\n\n")]
    for name in ("dataset scan", "tags check", "tags undo", "caption wd14", "config check", "train", "demo"):
        assert f"`{name.split()[0]}" in table and name.split()[-1] in table


def test_balance_off_a_terminal_without_yes_is_exit_2_not_aborted(tmp_path, capsys):
    from PIL import Image

    from loratui.cli import main

    for name, count in (("10_a", 1), ("1_b", 4)):
        (tmp_path / name).mkdir()
        for i in range(count):
            Image.new("RGB", (64, 64)).save(tmp_path / name / f"{i}.png")
    with pytest.raises(SystemExit) as exc:
        main(["dataset", "balance", str(tmp_path)])
    assert exc.value.code == 2 and "pass --yes" in capsys.readouterr().err
    assert (tmp_path / "10_a").is_dir()
