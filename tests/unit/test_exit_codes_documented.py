"""Every command documents its exit codes in --help, and the README has them per command (issue 12)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from loratui.cli import COMMANDS, cli

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


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
