"""`loratui lora` (tags, dataset, config) with no subcommand prints the group's help as --help does:
on stdout, exit 0, with no "error:" and no hint glued to its last line (click's NoArgsIsHelpError is a
UsageError whose message is the whole help)."""

from __future__ import annotations

import pytest

from loratui.cli import main


@pytest.mark.parametrize("group", ["lora", "tags", "dataset", "config"])
def test_a_bare_group_prints_its_help(group, capsys):
    with pytest.raises(SystemExit) as ended:
        main([group])
    assert ended.value.code == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.startswith(f"Usage: loratui {group} [OPTIONS] COMMAND [ARGS]...")
    assert "error:" not in out and "lists what it takes" not in out
    try:
        main([group, "--help"])
    except SystemExit as exc:
        assert exc.code in (0, None)
    assert capsys.readouterr().out == out  # the same text as --help


def test_a_bad_subcommand_is_still_one_error_line(capsys):
    with pytest.raises(SystemExit) as ended:
        main(["lora", "nosuch"])
    assert ended.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
