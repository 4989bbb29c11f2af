"""Settings with a config edited by hand: a file that cannot be read shows why (not the defaults), an
outside change is noticed while the screen is shown, ctrl+r starts a run, and the footer while typing."""

from __future__ import annotations

import asyncio
import json
import struct
import time
from pathlib import Path

from fixtures.tui_dataset import make_dataset
from textual.widgets import Static
from textual.widgets._footer import FooterKey

from loratui.core.dataset import locate_dataset
from loratui.tui.app import LoratuiApp
from loratui.tui.screens.config_dialogs import ChoiceDialog
from loratui.tui.screens.settings import SettingsScreen

GOOD = """\
[network]
network_dim = 16

[training]
max_train_epochs = 2
"""
BROKEN = """\
[network]
netwrk_dim = 4

[training]
max_train_epochs = "two"
"""


def run(tmp_path: Path, monkeypatch, text: str | None, scenario) -> None:
    """The app opened on proj/proj.toml given as a relative path (as `loratui proj/proj.toml` does)."""
    root = make_dataset(tmp_path / "proj")
    if text is None:  # what `loratui config new` writes
        from click.testing import CliRunner

        from loratui.cli import cli

        assert CliRunner().invoke(cli, ["config", "new", str(root / "proj.toml")]).exit_code == 0
    else:
        (root / "proj.toml").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    app = LoratuiApp(locate_dataset(root), config_path=Path("proj/proj.toml"), settings_file=tmp_path / "tui.toml",
                     keymap_file=tmp_path / "k.toml", watch=False)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await app.switch_mode("settings")
            await pilot.pause()
            await scenario(app, pilot, root / "proj.toml")

    asyncio.run(main())


async def until(pilot, test, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not test():
        assert time.monotonic() < deadline, "condition never became true"
        await pilot.pause(0.05)


def settings(app) -> SettingsScreen:
    return app.settings_screen()


def status(app) -> str:
    return str(settings(app).query_one("#settings-status", Static).render())


def broken_box(app) -> str:
    return str(settings(app).query_one("#settings-broken", Static).render())


def test_a_file_that_cannot_be_read_shows_why_and_reloads_once_fixed_by_hand(tmp_path, monkeypatch):
    async def scenario(app, pilot, path):
        screen = settings(app)
        assert not screen.form.display and screen.query_one("#settings-broken").display
        box = broken_box(app)
        assert "netwrk_dim: unknown key in [network] (did you mean 'network_dim'?)" in box
        assert "max_train_epochs: must be an integer" in box and "Fix it in an editor" in box
        assert "proj.toml cannot be read: line 2: netwrk_dim" in status(app)
        await pilot.press("ctrl+s")  # no save-as over the defaults, whatever folder it would start in
        await pilot.pause()
        assert app.screen is screen
        await pilot.press("ctrl+r")  # settings.train
        await pilot.pause()
        assert app.screen is screen and app.current_mode == "settings"
        path.write_text(GOOD, encoding="utf-8")  # fixed by hand: reloaded without a question
        await until(pilot, lambda: screen.form.display and screen.broken is None)
        assert not isinstance(app.screen, ChoiceDialog)
        assert screen.form.field("network_dim").value == 16 and screen.form.field("max_train_epochs").value == 2
        assert not screen.form.changed_fields() and "cannot be read" not in status(app)

    run(tmp_path, monkeypatch, BROKEN, scenario)


def test_f5_after_fixing_reloads_without_asking_and_f5_on_a_broken_file_says_why(tmp_path, monkeypatch):
    async def scenario(app, pilot, path):
        screen = settings(app)
        screen.watch.poll = lambda *_: None  # F5 alone, not the poll
        path.write_text(GOOD.replace("16", "24"), encoding="utf-8")
        await pilot.press("f5")
        await until(pilot, lambda: screen.broken is None and screen.form.field("network_dim").value == 24)
        assert not isinstance(app.screen, ChoiceDialog)
        path.write_text(GOOD + "network_dim = 8\n", encoding="utf-8")  # a key in the wrong table: unknown
        await pilot.press("f5")
        await until(pilot, lambda: screen.broken is not None)
        assert "proj.toml cannot be read: line 6: network_dim: belongs in [network]" in status(app)
        assert not screen.form.display and "network_dim" in broken_box(app)

    run(tmp_path, monkeypatch, BROKEN, scenario)


def test_outside_change_reloads_a_form_without_edits_and_is_named_with_edits(tmp_path, monkeypatch):
    async def scenario(app, pilot, path):
        screen = settings(app)
        assert screen.broken is None and screen.form.display
        path.write_text(GOOD.replace("16", "20"), encoding="utf-8")
        await until(pilot, lambda: screen.form.field("network_dim").value == 20)  # while shown, no F5
        assert not screen.form.changed_fields()
        screen.form.field("max_train_epochs").user_sets(5)  # an unsaved edit
        await pilot.pause()
        path.write_text(GOOD.replace("16", "32"), encoding="utf-8")
        await until(pilot, lambda: "changed on disk" in status(app))
        assert screen.form.field("network_dim").value == 20 and screen.form.field("max_train_epochs").value == 5
        await pilot.press("ctrl+s")  # never over the outside change silently: the merge is offered
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog))
        assert "changed on disk" in app.screen.dialog_title
        await pilot.press("m")
        await until(pilot, lambda: "max_train_epochs = 5" in path.read_text())
        assert "network_dim = 32" in path.read_text()
        await until(pilot, lambda: "changed on disk" not in status(app))

    run(tmp_path, monkeypatch, GOOD, scenario)


def test_ctrl_t_save_and_start_opens_the_train_screens_start_dialog(tmp_path, monkeypatch):
    from loratui.tui.screens.run_picker import StartDialog

    async def scenario(app, pilot, path):
        screen = settings(app)
        model = path.parent / "model" / "base.safetensors"  # a header-only file the family is read from
        header = json.dumps({"cond_stage_model.transformer.x": {"dtype": "F16", "shape": [1],
                                                                 "data_offsets": [0, 2]}}).encode()
        model.write_bytes(struct.pack("<Q", len(header)) + header + b"\0\0")
        screen.form.field("pretrained_model_name_or_path").user_types("model/base.safetensors")
        await pilot.pause()
        await pilot.press("ctrl+r")  # settings.train
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog))
        assert "save and start" in "\n".join("".join(seg.text for seg in strip)
                                              for strip in app.screen._compositor.render_strips())
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, StartDialog))  # the Train screen's own start (`s`)
        assert app.current_mode == "train" and "start a new run from proj.toml" == app.screen.dialog_title
        assert "model/base.safetensors" in path.read_text()

    run(tmp_path, monkeypatch, None, scenario)


def test_footer_while_typing_in_a_field_shows_esc_and_f1_not_the_screen_digits(tmp_path, monkeypatch):
    def keys(app) -> list[str]:
        return [key.key for key in app.screen.query(FooterKey)]

    async def scenario(app, pilot, path):
        screen = settings(app)
        assert "1" in keys(app) and "question_mark" in keys(app) and "escape" not in keys(app)
        await pilot.press("ctrl+g", *"learning_rate", "enter")
        await pilot.pause()
        shown = keys(app)
        assert "1" not in shown and "question_mark" not in shown  # typed 1-4 and ? go into the field
        assert "f1" in shown and "escape" in shown
        await pilot.press("escape")
        await pilot.pause()
        assert screen.focused is None and "1" in keys(app)

    run(tmp_path, monkeypatch, GOOD, scenario)


def test_typing_while_an_outside_change_is_read_is_kept(tmp_path, monkeypatch):
    """The watcher's reload reads the file in a thread (slow on NFS): a field typed meanwhile is not
    reset to the file's value; the change is named and ctrl+s merges (review, session 9)."""
    import threading

    from test_settings_form import make_app, type_into, until

    from loratui.tui.screens import config_actions
    from loratui.tui.screens.settings import SettingsScreen

    real = config_actions._load
    typed = threading.Event()  # the read ends once the field is typed (a fixed sleep raced a busy CI machine)

    def slow(path):
        typed.wait(20)
        return real(path)

    monkeypatch.setattr(config_actions, "_load", slow)
    app, root = make_app(tmp_path)
    cfg = root / "proj.toml"

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            app.add_mode("settings2", SettingsScreen)
            await app.switch_mode("settings2")
            await pilot.pause(0.3)
            screen = app.screen
            cfg.write_text(cfg.read_text().replace("network_alpha = 8.0", "network_alpha = 4.0"))
            await until(pilot, screen.file_work_running, timeout=5)
            await type_into(pilot, "network_dim", "64")
            typed.set()
            await until(pilot, lambda: not screen.file_work_running(), timeout=8)
            await pilot.pause(0.2)
            assert screen.form.unsaved_edits() == 1 and screen.form.field("network_dim").text == "64"
            assert "changed on disk: ctrl+s merges" in screen.outside_note

    asyncio.run(main())
