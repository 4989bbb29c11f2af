"""--help text is wrapped at spaces only: an example such as `SmilingWolf/wd-swinv2-tagger-v3` was split
after "wd-" by click's wrapping and did not paste (a new user's finding, session 12)."""

from __future__ import annotations

from click.testing import CliRunner

from loratui.cli import cli
from loratui.commands.help_text import HelpFormatter


def test_an_example_with_hyphens_stays_on_one_line_in_caption_wd14_help():
    result = CliRunner().invoke(cli, ["caption", "wd14", "--help"], terminal_width=80)
    assert result.exit_code == 0, result.output
    assert any("SmilingWolf/wd-swinv2-tagger-v3" in line for line in result.output.splitlines())
    assert all(len(line) <= 80 for line in result.output.splitlines())


def test_the_formatter_breaks_at_spaces_and_keeps_the_hyphens():
    formatter = HelpFormatter(width=40)
    formatter.write_dl([("--dir PATH", "Where the demo goes.  [default: loratui-demo-folder]")])
    formatter.write_text("a 0-byte or non-UTF-8 caption stops sd-scripts: an error")
    text = formatter.getvalue()
    assert "loratui-demo-folder]" in text and "sd-scripts:" in text
    assert "\ue000" not in text and all(not line.rstrip().endswith("-") for line in text.splitlines())
