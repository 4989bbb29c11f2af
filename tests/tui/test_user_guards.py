"""What the app says before work is lost: quitting with unsaved Settings, a new run over the last
run's files, a Settings change a new run would not see, promoting the final LoRA onto itself, an
undo over captions edited since."""

from __future__ import annotations

import asyncio

from fixtures.pilot_wait import until
from loratui.core.config import load_config
from loratui.tui.screens.config_dialogs import ChoiceDialog
from loratui.tui.screens.run_picker import StartDialog
from test_train_screen import make_app, make_project, notices, pick, write_recorded


def _run(app, scenario, size=(80, 24)) -> None:
    async def main():
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await scenario(pilot)

    asyncio.run(main())


async def _change_epochs(app, pilot, value: str) -> None:
    await app.switch_mode("settings")
    await until(pilot, lambda: getattr(app.screen, "form", None) is not None, "the settings form")
    await pilot.press("ctrl+g", *"max_train_epochs", "enter")
    await pilot.pause()
    await pilot.press("ctrl+u", *value)
    await until(pilot, lambda: app.unsaved_settings() == 1, "one unsaved change")


def test_quit_asks_about_unsaved_settings_and_can_save_first(tmp_path):
    config = make_project(tmp_path)
    app = make_app(tmp_path, config)

    async def scenario(pilot):
        await _change_epochs(app, pilot, "7")
        await pilot.press("ctrl+q")
        dialog = await until(pilot, lambda: isinstance(app.screen, ChoiceDialog) and app.screen, "the question")
        assert "1 unsaved change" in dialog.body
        await pilot.press("escape")  # cancel: still running, still unsaved
        await until(pilot, lambda: not isinstance(app.screen, ChoiceDialog), "closed")
        assert app.is_running and app.unsaved_settings() == 1
        await pilot.press("ctrl+q", "s")
        await until(pilot, lambda: not app.is_running, "quit after saving", 20)

    _run(app, scenario)
    assert load_config(config).training.max_train_epochs == 7


def test_quit_without_changes_does_not_ask(tmp_path):
    config = make_project(tmp_path)
    app = make_app(tmp_path, config)

    async def scenario(pilot):
        await app.switch_mode("settings")
        await pilot.pause()
        await pilot.press("ctrl+q")
        await until(pilot, lambda: not app.is_running, "quit at once")

    _run(app, scenario)


def test_start_dialog_lists_the_files_a_new_run_overwrites_and_unsaved_settings(tmp_path):
    config = make_project(tmp_path)
    write_recorded(tmp_path)  # a finished run named tiny in out/
    app = make_app(tmp_path, config)

    async def scenario(pilot):
        await _change_epochs(app, pilot, "9")
        await app.switch_mode("train")
        await pilot.pause()
        if app.screen.__class__.__name__ == "RunPicker":
            await pilot.press("escape")
        await pilot.press("s")
        dialog = await until(pilot, lambda: isinstance(app.screen, StartDialog) and app.screen, "the start dialog")
        text = " ".join(str(w.render()) for w in dialog.query(".dialog-warning"))
        assert "Settings holds 1 unsaved change(s)" in text
        # the final, states and intermediate saves are moved aside by the run (engine/outputs.py), not
        # overwritten (f5: the final was, and the advice to promote could not keep it)
        assert "overwrites" not in text and "promote" not in text
        assert "moves the last run's final tiny.safetensors, tiny-000004.safetensors, tiny-000008.safetensors" in text
        assert "tiny-kept-<time>/ (nothing is deleted" in text
        await pilot.press("escape")

    _run(app, scenario)


def test_promote_asks_for_a_highlighted_checkpoint_and_refuses_the_final_one(tmp_path):
    config = make_project(tmp_path)
    out = write_recorded(tmp_path)
    app = make_app(tmp_path, config)

    async def scenario(pilot):
        await app.switch_mode("train")
        screen = app.get_screen_stack("train")[0]
        await pick(pilot, app, "tiny")
        await until(pilot, lambda: len(screen.checkpoints.checkpoints) == 3, "the checkpoints")
        screen.set_focus(None)  # nothing focused: which checkpoint p means was never shown
        await pilot.press("p")
        await until(pilot, lambda: any("highlight the checkpoint to promote" in n for n in notices(app)), "asked")
        assert screen.checkpoints.has_focus
        await pilot.press("p")  # the final LoRA is highlighted
        await until(pilot, lambda: any("is the final LoRA already" in n for n in notices(app)), "refused")
        assert not (out / "tiny-promoted.safetensors").exists()

    _run(app, scenario)


def test_a_tag_typed_and_not_entered_is_added_by_pgdn_and_quitting_asks_first(tmp_path):
    """Typed in the add box, then PgDn: the tag went nowhere; ctrl+q quit without a word."""
    from loratui.tui.widgets.tag_editor import TagEditor

    config = make_project(tmp_path)
    app = make_app(tmp_path, config)

    async def scenario(pilot):
        await until(pilot, lambda: app.screen.query(TagEditor), "the dataset screen")
        await pilot.press("e", "a", *"pending")
        await pilot.pause()
        editor = app.screen.query_one(TagEditor)
        await pilot.press("ctrl+q")
        dialog = await until(pilot, lambda: isinstance(app.screen, ChoiceDialog) and app.screen, "the question")
        assert "'pending' typed in the add box" in dialog.body
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ChoiceDialog), "closed")
        assert app.is_running and editor.typed_not_entered()
        await pilot.press("pagedown")
        await until(pilot, lambda: not editor.typed_not_entered(), "the tag entered")
        await until(pilot, lambda: any("pending" in p.read_text() for p in (tmp_path / "img" / "2_shp").glob("*.txt")),
                    "written to the caption")
        await pilot.press("ctrl+q")
        await until(pilot, lambda: not app.is_running, "quit at once: nothing pending")

    _run(app, scenario)
    written = [p.name for p in (tmp_path / "img" / "2_shp").glob("*.txt") if "pending" in p.read_text()]
    assert written == ["img0.txt"]
