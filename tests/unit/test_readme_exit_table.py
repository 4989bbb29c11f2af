"""README's exit-code table left the 2 column blank for `config check`, whose --help (and code) exit 2
for `config check DIR`. Each row's columns now follow the --help of the commands it covers."""

from __future__ import annotations

from click.testing import CliRunner

from loratui.cli import cli
from test_exit_codes_documented import README, documented_codes

ROWS = {  # the row's first cell -> the commands it speaks for
    "`dataset scan` / `init` / `balance`": [("dataset", "scan"), ("dataset", "init"), ("dataset", "balance")],
    "`tags` operations, `apply`": [("tags", "add"), ("tags", "remove"), ("tags", "apply")],
    "`tags check`": [("tags", "check")],
    "`tags to-utf8`": [("tags", "to-utf8")],
    "`tags undo` / `redo`": [("tags", "undo"), ("tags", "redo")],
    "`caption wd14` / `blip`": [("caption", "wd14"), ("caption", "blip")],
    "`config check`": [("config", "check")],
    "`config` others, `presets`, `steps`, `vram`": [("config", "new"), ("config", "import-kohya"),
                                                     ("config", "show"), ("presets", "apply"), ("steps",), ("vram",)],
    "`train`": [("train",)],
    "`demo`": [("demo",)],
}


def _table() -> dict[str, list[str]]:
    table = README[README.index("| command | 0 | 1 |"):]
    table = table[:table.index("\n\n")]
    rows = {}
    for line in table.splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    return rows


def test_each_row_fills_the_columns_its_commands_use():
    rows = _table()
    assert set(ROWS) <= set(rows)
    for name, commands in ROWS.items():
        codes = set().union(*(documented_codes(path) for path in commands))
        zero, one, two, other = rows[name]
        assert bool(zero) == (0 in codes), name
        assert bool(one) == (1 in codes), f"{name}: the 1 column says {one!r}, the commands' codes are {codes}"
        assert bool(two) == (2 in codes), f"{name}: the 2 column says {two!r}, the commands' codes are {codes}"
        assert other.startswith("3 ") == (3 in codes), name


def test_config_check_of_a_folder_exits_2_as_the_table_says(tmp_path):
    result = CliRunner().invoke(cli, ["config", "check", str(tmp_path)])
    assert result.exit_code == 2
    assert "folder" in _table()["`config check`"][2]
    missing = CliRunner().invoke(cli, ["config", "check", str(tmp_path / "nope.toml")])
    assert missing.exit_code == 1 and "missing" in _table()["`config check`"][1]
