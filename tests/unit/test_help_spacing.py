"""`loratui tags redo --help` printed "byte for byte;     repeat": an indented continuation line of a
help= string stays as spaces inside click's paragraph. No command's help text has such a gap."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from loratui.cli import cli
from test_exit_codes_documented import TREE


def _gaps(path: tuple[str, ...]) -> list[str]:
    out = CliRunner().invoke(cli, [*path, "--help"], terminal_width=80).output
    text = out.split("\n\n", 1)[1].split("\nOptions:")[0]  # the description and the exit codes
    return [line for line in text.splitlines()
            if re.search(r"\S {2,}\S", line.strip()) and not re.match(r"^\d+ {2,}", line.strip())]


def test_redo_help_reads_as_one_sentence():
    assert _gaps(("tags", "redo")) == [] and _gaps(("tags", "undo")) == []
    out = " ".join(CliRunner().invoke(cli, ["tags", "redo", "--help"]).output.split())
    assert "byte for byte; repeat to walk forward again." in out


@pytest.mark.parametrize("path", [path for path, _command in TREE], ids=lambda p: " ".join(p) or "loratui")
def test_no_help_text_has_a_run_of_spaces(path):
    assert _gaps(path) == []
