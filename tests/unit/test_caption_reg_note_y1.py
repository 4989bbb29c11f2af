"""`loratui caption ... PROJECT` leaves the reg images out (kohya users rarely caption class images) and now
says so once: a note on stderr naming how many, where, and the command that captions them; with
--json-events the `started` event's `reg_left_out` field instead, stdout staying JSON only (h5 item 6).
The reg folder is the one every command reads: the config's reg_data_dir ("" = none), else the project's reg/."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from PIL import Image

from fixtures.caption_resume import tagger  # noqa: F401 (a fixture)
from loratui.commands.caption_reg import RegLeftOut, reg_left_out, reg_note
from loratui.commands.caption_cmd import caption


def _project(root: Path, config_reg: str | None = None) -> Path:
    """root/img/3_shape with two captioned images; root/reg/1_shape with r0 (captioned), r1, r2; a config
    beside them when ``config_reg`` is given (its dataset.reg_data_dir)."""
    for folder, names in (("img/3_shape", ("a", "b")), ("reg/1_shape", ("r0", "r1", "r2"))):
        (root / folder).mkdir(parents=True)
        for name in names:
            Image.new("RGB", (32, 32), (20, 40, 200)).save(root / folder / f"{name}.png")
    for caption_file in ("img/3_shape/a.txt", "img/3_shape/b.txt", "reg/1_shape/r0.txt"):
        (root / caption_file).write_text("shape\n", encoding="utf-8")
    if config_reg is not None:
        (root / "config.toml").write_text(f'[dataset]\ntrain_data_dir = "img"\nreg_data_dir = "{config_reg}"\n',
                                          encoding="utf-8")
    return root


def test_the_reg_folder_left_out_is_the_one_every_command_reads(tmp_path):
    plain = _project(tmp_path / "plain")  # no config: the project's reg/
    assert reg_left_out(plain, False, ".txt") == RegLeftOut(plain / "reg", 3, 2)
    assert reg_left_out(plain / "img", False, ".txt") is None  # a train folder alone: no reg beside it
    assert reg_left_out(plain / "img" / "3_shape", False, ".txt") is None  # one concept: nothing said
    assert reg_left_out(plain / "reg", False, ".txt") is None  # the reg folder's own run captions it
    assert reg_left_out(plain, False, ".caption").without_caption == 3  # the run's extension counts
    named = _project(tmp_path / "named", config_reg="reg")
    assert reg_left_out(named, False, ".txt").images == 3
    assert reg_left_out(_project(tmp_path / "none", config_reg=""), False, ".txt") is None  # "" = no reg folder


def test_the_note_says_how_many_where_and_the_command():
    left = {"reg_dir": "/p/my reg", "images": 3, "without_caption": 2}
    assert reg_note("wd14", left, relative=False) == (
        "3 reg image(s) in '/p/my reg' are not captioned by this run (2 have no caption): to caption them, run "
        "loratui caption wd14 '/p/my reg' with the same options")
    assert "(1 has no caption)" in reg_note("blip", {**left, "without_caption": 1}, relative=False)
    assert "(all have a caption)" in reg_note("wd14", {**left, "without_caption": 0}, relative=False)
    assert "(none has a caption)" in reg_note("wd14", {**left, "without_caption": 3}, relative=False)
    assert "are not captioned by this run: to" in reg_note("wd14", {**left, "without_caption": None}, relative=False)
    assert reg_note("wd14", None) is None and reg_note("wd14", {"images": "3"}) is None
    assert "\n" not in reg_note("wd14", {**left, "reg_dir": "/p/a\nb"}, relative=False)  # one line, always


def test_the_cli_says_it_on_stderr_and_in_the_started_event(tmp_path, monkeypatch, tagger):  # noqa: F811
    project = _project(tmp_path / "proj", config_reg="reg")
    monkeypatch.chdir(project)
    res = CliRunner().invoke(caption, ["wd14", ".", "--model", str(tagger), "--dry-run"])
    assert res.exit_code == 0, res.output
    assert "reg image" not in res.stdout
    notes = [line for line in res.stderr.splitlines() if "reg image" in line]
    assert notes == ["note: 3 reg image(s) in reg/ are not captioned by this run (2 have no caption): to caption "
                     "them, run loratui caption wd14 reg/ with the same options"]

    res = CliRunner().invoke(caption, ["wd14", ".", "--model", str(tagger), "--dry-run", "--json-events"])
    assert res.exit_code == 0, res.output
    events = [json.loads(line) for line in res.stdout.splitlines()]  # stdout: JSON lines only
    started = next(e for e in events if e["event"] == "started")
    assert started["reg_left_out"] == {"reg_dir": str(project / "reg"), "images": 3, "without_caption": 2}
    assert "reg image" not in res.stderr

    # the reg folder captioned on its own, as the note says: no note, its three images captioned
    res = CliRunner().invoke(caption, ["wd14", "reg", "--model", str(tagger), "--dry-run", "--json-events"])
    started = next(json.loads(line) for line in res.stdout.splitlines() if '"started"' in line)
    assert started["reg_left_out"] is None and started["to_caption"] == 3
