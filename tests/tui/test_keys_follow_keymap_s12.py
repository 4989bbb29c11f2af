"""Hints and messages name the keys keymap.toml gives (s12 navigation user-test: with settings.vram_presets =
"P", settings.save = "ctrl+w" and train.promote = "P" they still said p and ctrl+s); ctrl+z puts the file's
value back over text core refuses; the presets dialog keeps its key line at 60x20."""

from __future__ import annotations

import asyncio

from fixtures.pilot_wait import until
from test_preset_picker_checks import Host, demo_config
from test_settings_form import field, run, status, type_into
from test_train_screen import make_app, make_project, open_train

from loratui.core.config import load_presets
from loratui.tui.screens.preset_picker import PresetPicker
from loratui.tui.widgets.config_field import INVALID

KEYMAP = '[keys]\n"settings.vram_presets" = "P"\n"settings.save" = "ctrl+w"\n"train.promote" = "P"\n' \
         '"train.pick_run" = "A"\n'


def test_ctrl_z_puts_the_files_value_back_over_an_invalid_value(tmp_path):
    async def scenario(app, pilot, root):
        await type_into(pilot, "network_dim", "abc")
        assert field(app, "network_dim").value is INVALID and "1 invalid" in status(app)
        await pilot.press("ctrl+z")  # settings.revert_field
        await pilot.pause()
        dim = field(app, "network_dim")
        assert (dim.value, dim.text, dim.problem) == (16, "16", None)
        assert "invalid" not in status(app) and app.unsaved_settings() == 0

    run(tmp_path, scenario)


def test_settings_hints_and_toasts_name_the_keymaps_keys(tmp_path):
    (tmp_path / "k.toml").write_text(KEYMAP)

    async def scenario(app, pilot, root):
        await pilot.press("escape")
        await pilot.pause()
        help_text = str(app.screen.query_one("#settings-help").render())
        assert "P VRAM presets" in help_text and "p VRAM presets" not in help_text
        assert "1-4 switch screens" in help_text and "v the VRAM panel" in help_text
        app.screen.apply_changes({("network", "network_dim"): 8}, "preset sd15-6gb")
        await until(pilot, lambda: any(n.message == "preset sd15-6gb: 1 field(s) set; ctrl+w saves"
                                       for n in app._notifications), "the toast with ctrl+w")
        save = next(c for c in app.screen.palette_commands() if c.title == "config: save")
        assert save.help.startswith("ctrl+w: in place")
        await pilot.press("P")  # the moved key opens the presets
        await until(pilot, lambda: isinstance(app.screen, PresetPicker), "the presets dialog")

    run(tmp_path, scenario)


def test_train_title_status_and_palette_name_the_keymaps_keys(tmp_path):
    config = make_project(tmp_path)
    (tmp_path / "k.toml").write_text(KEYMAP)
    app = make_app(tmp_path, config)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_train(app, pilot)
            assert str(screen.query_one("#checkpoints-title").render()) == "Checkpoints (P promote)"
            screen.show_empty()
            status_line = str(screen.query_one("#run-status").render())
            assert "no run followed · A: the runs · s: start a new run from config.toml" in status_line
            promote = next(c for c in screen.palette_commands() if c.title.startswith("train: promote"))
            assert promote.help.startswith("P (a copy to NAME.safetensors, or NAME-promoted.safetensors while")

    asyncio.run(main())


def test_presets_dialog_keeps_its_keys_line_at_60x20():
    async def main():
        app = Host(PresetPicker(demo_config(), catalog=load_presets(), has_gpu=False))
        async with app.run_test(size=(60, 20)) as pilot:
            for _ in range(4):
                await pilot.pause()
            picker = app.screen
            keys = picker.query_one("#picker-keys")
            assert str(keys.render()) == "Enter apply to the form - Esc cancel"
            assert keys.region.height == 1 and keys.region.bottom <= 19  # above the dialog's bottom border
            listing = picker.query_one("#picker-list")
            assert listing.region.height < 6 and listing.region.bottom <= picker.query_one("#picker-detail").region.y
            summary = picker.query_one("#picker-summary").region
            assert summary.bottom <= keys.region.y  # the estimate and its warnings are not under the keys

    asyncio.run(main())
