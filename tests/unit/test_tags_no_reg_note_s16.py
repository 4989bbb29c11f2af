"""`--where reg` on a project that trains no reg folder (no reg/, or its config's reg_data_dir = "") matched
nothing and said nothing: one note now says why (found by driving `tags freq PROJECT --where reg`)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from PIL import Image

from loratui.cli import cli


def _project(tmp_path: Path) -> Path:
    folder = tmp_path / "proj" / "img" / "3_thing"
    folder.mkdir(parents=True)
    Image.new("RGB", (16, 16)).save(folder / "a.png")
    (folder / "a.txt").write_text("alice, solo\n", encoding="utf-8")
    return tmp_path / "proj"


def test_where_reg_without_a_reg_folder_says_why(tmp_path):
    root = _project(tmp_path)
    for args in (["tags", "freq", str(root), "--where", "reg"],
                 ["tags", "add", str(root), "zz", "--where", "reg", "--dry-run"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        assert "trains no reg folder" in result.output and "matches nothing" in result.output


def test_no_note_without_reg_in_where(tmp_path):
    root = _project(tmp_path)
    result = CliRunner().invoke(cli, ["tags", "freq", str(root), "--where", "tag:solo"])
    assert "trains no reg folder" not in result.output
