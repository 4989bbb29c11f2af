"""Keys named in hints, toasts, the palette, the help and the footer are those keymap.toml binds (h5 keymap
hunt: with app.help = "f12", app.dataset = "f7", caption.start = "f8", ... they still said ?, 1, ctrl+r);
a keymap.toml that is a folder is called a folder; the mouse wheel on the loss chart zooms as + and - do."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

from textual import events
from textual.widgets import Footer

from fixtures.pilot_wait import until
from fixtures.tui_dataset import make_dataset
from loratui.core.dataset import locate_dataset
from loratui.tui.app import LoratuiApp
from loratui.tui.screens.help import HelpScreen
from loratui.tui.services.keymap import load_keymap
from loratui.tui.services.startup_problems import StartupProblems

KEYMAP = ('[keys]\n"app.help" = "f12"\n"app.dataset" = "f7"\n"app.quit" = "ctrl+x"\n"app.train" = "f11"\n'
          '"caption.start" = "f8"\n"dataset.undo" = "ctrl+u"\n"settings.save" = "f9"\n')


def make_app(tmp_path: Path, keymap: str = KEYMAP) -> LoratuiApp:
    (tmp_path / "k.toml").write_text(keymap, encoding="utf-8")
    root = make_dataset(tmp_path / "proj")
    return LoratuiApp(locate_dataset(root), settings_file=tmp_path / "tui.toml", keymap_file=tmp_path / "k.toml",
                      watch=False)


def run(app: LoratuiApp, scenario, size=(80, 24)) -> None:
    async def main():
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await scenario(pilot)

    asyncio.run(main())


def bottom_row(app) -> str:
    return "".join(segment.text for segment in app.screen._compositor.render_strips()[-1])


def toasts(app) -> list[str]:
    return [notification.message for notification in app._notifications]


# ---- keymap.toml itself -------------------------------------------------------------------------


def test_a_keymap_that_is_a_folder_is_called_a_folder(tmp_path):
    folder = tmp_path / "keymap.toml"
    folder.mkdir()
    keymap, problems = load_keymap(folder)
    assert keymap == {} and len(problems) == 1
    assert problems[0].startswith(f"{folder} is a folder: keymap.toml must be a file")
    assert "permissions" not in problems[0]


# ---- the app's own keys: start-up toast, palette, help, footer, toasts ----------------------------


def test_the_startup_toast_names_the_bound_help_key(tmp_path):
    problems = StartupProblems()
    problems.add("keymap.toml", ["k.toml: one"])
    assert problems.summary("f12")[1].endswith("(f12 shows it again)")
    assert problems.summary("")[1].endswith("('app: help' (ctrl+p) shows it again)")
    problems.add("themes", ["t.toml: two"])
    assert problems.summary("? or f1")[1] == "1 in keymap.toml, 1 in themes: ? or f1 lists them, each with how to fix it"

    app = make_app(tmp_path, KEYMAP + '"dataset.bogus" = "x"\n')

    async def scenario(pilot):
        # KEYMAP's ctrl+x for app.quit also clashes with Settings' ctrl+x: one or more problems, f12 named
        toast = await until(pilot, lambda: next((m for m in toasts(app) if "f12" in m), None), "the toast")
        assert ("(f12 shows it again)" in toast or "f12 lists them" in toast) and "? or F1" not in toast

    run(app, scenario)


def test_the_palette_names_the_keymaps_app_keys(tmp_path):
    app = make_app(tmp_path, KEYMAP + '"app.caption" = "2,f2"\n')

    async def scenario(pilot):
        helps = {command.title: command.help for command in app.palette_commands()}
        assert helps["app: show Dataset screen"] == "key f7"
        assert helps["app: show Caption screen"] == "key 2 or f2"
        assert helps["app: show Train screen"] == "key f11"
        assert helps["app: help (keys of this screen)"] == "f12"
        assert helps["app: quit"] == "ctrl+x"

    run(app, scenario)


def test_the_help_closes_with_the_remapped_help_key_and_its_hint_names_it(tmp_path):
    app = make_app(tmp_path)

    async def scenario(pilot):
        await pilot.press("f12")
        help_screen = await until(pilot, lambda: isinstance(app.screen, HelpScreen) and app.screen, "the help")
        hint = str(help_screen.query_one("#help-hint").render())
        assert hint.startswith("esc, q, ?, f1 or f12: close")
        await pilot.press("f12")  # a modal screen hides the app's bindings: the help binds the key itself
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen), "the help closed by f12")
        await pilot.press("f12")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help again")
        await pilot.press("f1")  # the help's own keys still close it
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen), "the help closed by f1")

    run(app, scenario)


def test_a_screen_group_with_a_remapped_key_reads_as_separate_keys(tmp_path):
    async def footer_of(keymap: str) -> str:
        app = make_app(tmp_path, keymap)
        async with app.run_test(size=(100, 24)) as pilot:
            await until(pilot, lambda: app.screen.query(Footer) and "Screens" in bottom_row(app), "the footer")
            return bottom_row(app)

    assert " 1234 Screens " in asyncio.run(footer_of("[keys]\n"))
    # Textual groups neighbours only: f7 came after "? Help" ("234 Screens  ? Help  f7 Dataset"), or
    # right after 4 with the help moved too ("234f7 Screens")
    assert " 2 3 4 f7 Screens  ? Help " in asyncio.run(footer_of('[keys]\n"app.dataset" = "f7"\n'))
    assert " 2 3 4 f7 Screens  f12 Help " in asyncio.run(footer_of('[keys]\n"app.dataset" = "f7"\n"app.help" = "f12"\n'))


def test_the_settings_draft_and_live_run_toasts_name_the_screen_keys(tmp_path):
    app = make_app(tmp_path)

    async def scenario(pilot):
        app._tell_live_runs([SimpleNamespace(name="tiny", step=3, total_steps=10)])
        await until(pilot, lambda: "tiny is training (step 3/10): f11 follows it" in toasts(app), "the toast")
        assert app.screen_key_does("settings", "opens Settings") == "3 opens Settings"
        app.set_keymap({**app._keymap, "app.settings": "f3,3"})
        assert app.screen_key_does("settings", "opens Settings") == "f3 opens Settings"
        assert app.dataset_undo() == "f7 (Dataset) then ctrl+u"

    run(app, scenario)


# ---- Caption screen ---------------------------------------------------------------------------------


def test_the_caption_screens_hints_and_palette_name_the_keymaps_keys(tmp_path):
    from loratui.tui.screens.caption_overwrite import overwrite_question
    from loratui.tui.widgets.caption_progress import IDLE_HINT

    assert IDLE_HINT.startswith("ctrl+r starts captioning") and IDLE_HINT.endswith("(then 1-4 switch screens).")
    app = make_app(tmp_path, KEYMAP + '"caption.switch_captioner" = "f5"\n')

    async def scenario(pilot):
        await pilot.press("2")
        screen = await until(pilot, lambda: type(app.screen).__name__ == "CaptionScreen" and app.screen, "Caption")
        await until(pilot, lambda: "starts captioning" in str(screen.query_one("#run-list").render()), "the hint")
        idle = str(screen.query_one("#run-list").render())
        assert idle.startswith("f8 starts captioning, ctrl+t shows what a dry run would write")
        assert idle.endswith("(then f7/2/3/f11 switch screens).") and "ctrl+r" not in idle
        hint = screen.hint(screen.query_one("#caption-form"))
        assert hint == "Up/Down go on from the field you left; f7/2/3/f11 switch screens, f12 lists every key."
        assert screen.hint(screen.query_one("#captioner")).endswith("(transformers and torch). f5 switches.")
        assert screen.hint(screen.query_one("#model-folder")).endswith("Esc leaves the field, so that f7/2/3/f11 "
                                                                         "switch screens.")
        helps = {command.title: command.help for command in screen.palette_commands()}
        assert helps["caption: start"] == "f8: caption the dataset with these settings"
        assert helps["caption: switch WD14 / BLIP"] == "f5"
        assert screen.run_panel_keys()["undo_in_app"] == "f7 (Dataset) then ctrl+u"
        existing = SimpleNamespace(with_caption=3, images=5, extension=".txt")
        question = overwrite_question(existing, False, app.dataset_undo_key())
        assert "(ctrl+u on the Dataset screen puts the whole run back)" in question

    run(app, scenario)


# ---- Train screen: the start dialog's warnings, the loss chart's wheel -------------------------------


def test_the_start_warning_names_the_keymaps_save_key(tmp_path):
    from loratui.core.errors import LoratuiError
    from loratui.tui.screens.run_picker import start_warnings

    app = make_app(tmp_path)

    class NoCommand:
        def command(self, config):
            raise LoratuiError("no config")

    async def scenario(pilot):
        app.unsaved_settings = lambda: 2
        lines = start_warnings(app, NoCommand(), tmp_path / "config.toml")
        assert lines == ["Settings holds 2 unsaved change(s): this run reads config.toml as saved (esc, then f9 on "
                         "Settings, to include them)"]

    run(app, scenario)


def test_the_start_dialog_names_the_keymaps_keys(tmp_path):
    from loratui.tui.screens.run_picker import StartDialog

    app = make_app(tmp_path, KEYMAP + '"app.settings" = "f10"\n"train.start" = "S"\n"train.dialog_cancel" = "q"\n')
    command = SimpleNamespace(display="loratui train /p/config.toml")

    async def scenario(pilot):
        dialog = StartDialog("start", lambda n: command, problems=lambda: ["network_dim: must be at least 1"])
        await app.push_screen(dialog)
        await pilot.pause()
        said = str(dialog.query_one("#ask-message").render())
        assert "fix it on Settings (f10), then S again" in said
        dialog.problems = []
        dialog.check()
        assert str(dialog.query_one("#ask-message").render()).endswith("enter: start · q: cancel")

    run(app, scenario)

def test_the_wheel_on_the_loss_chart_zooms_as_plus_and_minus_do_and_the_help_lists_them(tmp_path):
    from test_train_screen import make_app as train_app
    from test_train_screen import make_project, open_train, pick, write_recorded

    config = make_project(tmp_path)
    write_recorded(tmp_path)
    app = train_app(tmp_path, config)

    async def wheel(pilot, chart, event) -> None:
        await pilot._post_mouse_events([event], chart, offset=(20, 5))
        await pilot.pause()

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_train(app, pilot)
            await pick(pilot, app, "COMPLETED")
            chart = screen.chart
            await until(pilot, lambda: "48 steps" in chart.text().splitlines()[0], "the chart")
            chart.WHEEL_GAP_S = 0  # each event a turn (a real wheel's burst makes one step)
            await wheel(pilot, chart, events.MouseScrollUp)
            await until(pilot, lambda: "last 20 steps" in chart.text().splitlines()[0], "wheel up: zoom in")
            await wheel(pilot, chart, events.MouseScrollUp)
            await until(pilot, lambda: "last 10 steps" in chart.text().splitlines()[0], "the closest view")
            for _ in range(3):  # at the closest view: one warning, not one per event
                await wheel(pilot, chart, events.MouseScrollUp)
            await until(pilot, lambda: any("the closest view" in m for m in toasts(app)), "the warning")
            assert sum("the closest view" in m for m in toasts(app)) == 1
            await wheel(pilot, chart, events.MouseScrollDown)
            await until(pilot, lambda: "last 20 steps" in chart.text().splitlines()[0], "wheel down: zoom out")
            await wheel(pilot, chart, events.MouseScrollDown)
            await until(pilot, lambda: "48 steps" in chart.text().splitlines()[0], "whole run")
            chart.WHEEL_GAP_S, chart._last_wheel = 10.0, 0.0  # a burst: one turn sends several events
            await wheel(pilot, chart, events.MouseScrollUp)
            await wheel(pilot, chart, events.MouseScrollUp)
            await until(pilot, lambda: "last 20 steps" in chart.text().splitlines()[0], "one step in")
            await pilot.pause(0.6)  # the chart redraws at most at 2 Hz
            assert "last 20 steps" in chart.text().splitlines()[0]

            app.action_help()  # the footer has no room for + and - while a run is live: the help lists them
            help_screen = await until(pilot, lambda: isinstance(app.screen, HelpScreen) and app.screen, "help")
            entries = {entry.description: entry.keys for group in help_screen.groups for entry in group.entries}
            assert entries["Zoom"] == "+" and entries["Zoom out"] == "-"

    asyncio.run(main())
