"""K3: keys named in the Dataset palette, the reg-scope refusal, the Balance dialog and the caption
services' messages are those keymap.toml binds (they said ctrl+a, ctrl+d, s, S, Esc, ctrl+z, ctrl+g and
ctrl+b whatever the keymap said)."""

from __future__ import annotations

from fixtures.pilot_wait import until
from fixtures.tui_dataset import make_dataset, run_dataset_app

from loratui.tui.screens.balance_dialog import BalanceDialog
from loratui.tui.services.caption_models import KeyWordedError, SWITCH, app_wording
from loratui.tui.services.caption_runs import caption_runner
from tests.tui.test_dataset_reg_rows_f1 import add_reg, screen

KEYMAP = ('"table.select_all" = "f4"\n"table.clear_selection" = "f6"\n"table.sort_next" = "f3"\n'
          '"table.sort_reverse" = "f2"\n"balance.cancel" = "f10"\n"dataset.undo" = "f9"\n'
          '"caption.cancel" = "f11"\n"caption.switch_captioner" = "f12"\n')


def test_the_dataset_palette_names_the_tables_keys(tmp_path):
    project = make_dataset(tmp_path / "proj")

    async def scenario(app, pilot):
        hints = {command.title: command.help for command in screen(app).palette_commands()}
        assert hints["dataset: select all shown"] == "f4" and hints["dataset: deselect all"] == "f6"
        assert hints["dataset: sort by the next column"] == "f3" and hints["dataset: reverse the sort"] == "f2"

    run_dataset_app(tmp_path, project, scenario, keymap=KEYMAP)


def test_a_mixed_selection_names_the_deselect_key(tmp_path):
    project = make_dataset(tmp_path / "proj")
    add_reg(project)

    async def scenario(app, pilot):
        dataset = screen(app)
        rows = [app.store.rows[0], app.store.reg_rows[0]]
        assert dataset.refuse_mixed_scope(rows, "selected: 2 image(s)")
        await pilot.pause()
        said = [str(n.message) for n in app._notifications][-1]
        assert "select one kind only (f6 deselects all)" in said and "ctrl+d" not in said

    run_dataset_app(tmp_path, project, scenario, keymap=KEYMAP)


def test_the_balance_dialog_names_the_cancel_and_undo_keys(tmp_path):
    project = make_dataset(tmp_path / "proj")

    async def scenario(app, pilot):
        await pilot.press("i", "b")
        await until(pilot, lambda: isinstance(app.screen, BalanceDialog), "the balance dialog")
        keys = str(app.screen.query_one("#balance-keys").render())
        assert "f10 cancel" in keys and "(f9 on the Dataset screen renames them back)" in keys
        assert "Esc" not in keys and "ctrl+z" not in keys

    run_dataset_app(tmp_path, project, scenario, keymap=KEYMAP)


def test_caption_messages_name_the_cancel_and_switch_keys(tmp_path):
    project = make_dataset(tmp_path / "proj")

    async def scenario(app, pilot):
        runner = caption_runner(app)
        assert runner._cancel_key() == "f11"
        cli = "x: not a BLIP model; a folder with model.onnx is a WD14 tagger: use `loratui caption wd14`"
        assert app_wording(cli).endswith("is a WD14 tagger: f12 switches to WD14")
        raised_in_a_worker = KeyWordedError(f"a WD14 tagger: {SWITCH} to WD14")  # filled in when shown
        assert str(raised_in_a_worker) == "a WD14 tagger: f12 switches to WD14"

    run_dataset_app(tmp_path, project, scenario, keymap=KEYMAP)
    assert app_wording("x; a folder with model.onnx is a WD14 tagger: use `loratui caption wd14`").endswith(
        "ctrl+b switches to WD14")  # no app running: the default key


def test_a_restored_draft_names_the_editors_leave_key(tmp_path):
    from tests.tui.test_dataset_caption_drafts import dialog, left_draft, session, typed_for

    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "keymap.toml").write_text('[keys]\n"tags.leave" = "f10"\n')
    img = make_dataset(tmp_path / "proj") / "img"
    left_draft(img, typed_for(img, "10_alice/a01.png", "add", "blue eyes"))

    async def reopened(app, pilot, img):
        await dialog(pilot)
        await pilot.press("r")
        await until(pilot, lambda: any("restored what was typed" in str(n.message) for n in app._notifications),
                    "the restored toast")
        said = next(str(n.message) for n in app._notifications if "restored what was typed" in str(n.message))
        assert "ctrl+u (f10 on a rename) drops it" in said and "esc" not in said

    session(tmp_path, reopened)
