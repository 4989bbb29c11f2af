"""Keys named in the tag editor's "kept in the add box" note and in the summary's Balance hints are the
ones the user's keymap.toml binds (services.keymap.bound_key), not fixed letters (Pilot, 80x24)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from fixtures.pilot_wait import until
from fixtures.tui_dataset import make_dataset, run_dataset_app

from loratui.cli import cli
from loratui.tui.services import keymap
from loratui.tui.widgets import tag_editor

BALANCE = "dataset: balance repeats per concept (plan first)"


def run(tmp_path: Path, keys: str, scenario) -> None:
    img = make_dataset(tmp_path / "proj") / "img"

    async def with_img(app, pilot):
        await scenario(app, pilot, img)

    run_dataset_app(tmp_path, img, with_img, keymap=keys)


def notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


def test_bound_key_lives_in_the_keymap_service():
    assert tag_editor.bound_key is keymap.bound_key  # one function, imported where messages need it


async def _kept_note(app, pilot) -> str:
    await pilot.press("e", "a", *"grin")  # into the editor, its add box, typing...
    await pilot.press("escape")  # ...then leaving the box: the text stays, with a word
    await until(pilot, lambda: any("kept in the add box" in m for m in notes(app)), "the note")
    return next(m for m in notes(app) if "kept in the add box" in m)


def test_the_kept_note_names_the_default_add_key(tmp_path):
    async def scenario(app, pilot, img):
        assert await _kept_note(app, pilot) == ("'grin' kept in the add box: a then Enter adds it, ctrl+u in the box "
                                                "clears it")
        hints = {c.title: c.help for c in app.screen.palette_commands()}
        assert hints[BALANCE] == "b in the summary"

    run(tmp_path, "", scenario)


def test_the_kept_note_and_balance_hints_follow_the_keymap(tmp_path):
    async def scenario(app, pilot, img):
        # "a" stays the editor's way in (tags.add moved to "i"); the note names "i"
        await pilot.press("e", "i", *"grin", "escape")
        await until(pilot, lambda: any("kept in the add box" in m for m in notes(app)), "the note")
        note = next(m for m in notes(app) if "kept in the add box" in m)
        assert note.startswith("'grin' kept in the add box: i then Enter adds it")
        hints = {c.title: c.help for c in app.screen.palette_commands()}
        assert hints[BALANCE] == "ctrl+b in the summary"
        # the balance undo names the remapped key too
        CliRunner().invoke(cli, ["dataset", "balance", str(img), "--yes"], catch_exceptions=False)
        await pilot.press("escape", "escape")
        app.screen.query_one("#images").focus()
        await pilot.press("ctrl+z")
        await until(pilot, lambda: any("undid balance repeats" in m for m in notes(app)), "the undo", 15)
        undone = next(m for m in notes(app) if "undid balance repeats" in m)
        assert undone.endswith("(ctrl+b in the summary balances again)"), undone

    run(tmp_path, '"tags.add" = "i"\n"summary.balance" = "ctrl+b"\n', scenario)
