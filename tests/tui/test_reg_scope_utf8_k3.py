"""K3: "save non-UTF-8 captions as UTF-8" follows the reg scope of the other bulk changes (the train
images by default, reg captions when the filter says `reg`, journaled in the reg folder, one ctrl+z;
train and reg at once refused); the filter's `reg` term is listed in the help screen and in
`loratui tags ... --help`."""

from __future__ import annotations

from click.testing import CliRunner
from fixtures.pilot_wait import until
from fixtures.tui_dataset import make_dataset, run_dataset_app

from loratui.cli import cli
from loratui.core.captions import journal_dir
from loratui.tui.screens.help import HelpScreen
from tests.tui.test_dataset_reg_rows_f1 import add_reg, filter_to, screen

CP1252 = "café, person\n".encode("cp1252")


def messages(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


def test_reg_captions_are_saved_as_utf8_when_the_filter_shows_them(tmp_path):
    project = make_dataset(tmp_path / "proj")
    reg_caption = add_reg(project) / "p1.txt"
    reg_caption.write_bytes(CP1252)

    async def scenario(app, pilot):
        dataset = screen(app)
        dataset.action_to_utf8()  # no filter: the train images, all plain UTF-8; the reg one is named
        await pilot.pause()
        assert type(app.screen).__name__ != "ChoiceDialog"
        said = messages(app)[-1]
        assert "is plain UTF-8 already" in said and "1 reg caption(s) too: filter with `reg` (/) to save them" in said
        await filter_to(pilot, "reg")
        dataset.action_to_utf8()
        await until(pilot, lambda: type(app.screen).__name__ == "ChoiceDialog", "the question")
        body = str(app.screen.body)
        assert "1 caption(s) are not plain UTF-8 (filtered: 2 of 8)" in body and "1_person/p1.txt: cp1252" in body
        await pilot.press("w")
        await until(pilot, lambda: reg_caption.read_bytes() == "café, person\n".encode(), "the caption saved")
        assert list(journal_dir(project / "reg").glob("*.json"))  # journaled beside the reg captions
        assert not journal_dir(project / "img").is_dir() or not list(journal_dir(project / "img").glob("*.json"))
        await pilot.press("escape", "ctrl+z")  # back to the table, then one undo puts the old bytes back
        await until(pilot, lambda: reg_caption.read_bytes() == CP1252, "the caption restored")

    run_dataset_app(tmp_path, project, scenario)


def test_train_and_reg_captions_at_once_are_refused_in_one_line(tmp_path):
    project = make_dataset(tmp_path / "proj")
    reg_caption = add_reg(project) / "p1.txt"
    reg_caption.write_bytes(CP1252)
    train_caption = project / "img" / "5_bob" / "b01.txt"
    train_caption.write_bytes("bob, solo, café\n".encode("cp1252"))

    async def scenario(app, pilot):
        await filter_to(pilot, "tag:caf*")  # a train image and the reg one
        screen(app).action_to_utf8()
        await pilot.pause()
        assert type(app.screen).__name__ != "ChoiceDialog"
        said = messages(app)[-1]
        assert "1 train and 1 reg image(s) match the filter" in said and "add `reg` or `not reg`" in said
        assert reg_caption.read_bytes() == CP1252 and train_caption.read_bytes().endswith("caf\xe9\n".encode("latin-1"))

    run_dataset_app(tmp_path, project, scenario)


def test_the_help_screen_lists_the_filters_reg_term(tmp_path):
    project = make_dataset(tmp_path / "proj")

    async def scenario(app, pilot):
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help screen")
        entries = [e for group in app.screen.groups for e in group.entries if e.binding_id == "dataset.filter"]
        assert entries and "reg (the reg images; not reg: the train images)" in entries[0].tooltip
        assert "missing, multiline" in entries[0].tooltip

    run_dataset_app(tmp_path, project, scenario)


def test_tags_help_lists_the_reg_term():
    result = CliRunner().invoke(cli, ["tags", "add", "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert "multiline, reg (a regularisation image: DIR is a reg folder" in " ".join(result.output.split())
