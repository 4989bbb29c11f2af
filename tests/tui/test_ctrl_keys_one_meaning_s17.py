"""s17: one meaning per ctrl key across screens. ctrl+r runs the screen's job (Caption: caption, Settings: train,
Train: start, beside s); Settings' revert field is ctrl+z; the bulk dialog's clear is ctrl+l; ctrl+t is
Caption's dry run only; ctrl+g keeps cancel (Caption) and go to a field (Settings). The binding ids stay:
keymap.toml files name them (Pilot, 80x24)."""

from __future__ import annotations

from test_bulk_keep_and_back import project, run_on, shown, type_text
from test_settings_form import field, run, safetensors, screen_text, status, type_into, until
from test_train_screen import make_app, make_project, run_app
from textual.widgets import Input

from loratui.tui.screens.choice_dialogs import ChoiceDialog
from loratui.tui.services.keymap import class_bindings, keys_in, loratui_binding_classes


def _ids_of(key: str) -> set[str]:
    """The ids of every binding of the app's screens, dialogs and widgets that ``key`` runs by default."""
    ids = set()
    for node_class in loratui_binding_classes():
        for binding in class_bindings(node_class).key_to_bindings.get(key, []):
            ids.add(binding.id)
    return ids


def test_each_ctrl_key_has_one_meaning_and_the_ids_stay():
    assert _ids_of("ctrl+r") == {"caption.start", "settings.train", "train.start"}  # run this screen's job
    assert _ids_of("ctrl+t") == {"caption.dry_run"}
    assert _ids_of("ctrl+z") >= {"dataset.undo", "settings.revert_field"}  # undo / put the file's value back
    assert _ids_of("ctrl+g") == {"caption.cancel", "settings.goto"}  # kept on purpose (screens/settings.py)
    assert "bulk.clear" in _ids_of("ctrl+l")
    from loratui.tui.screens.train import TrainScreen

    assert keys_in(class_bindings(TrainScreen), None, "train.start") == ["s", "ctrl+r"]  # messages name s


def test_settings_ctrl_r_trains_ctrl_z_reverts_and_ctrl_t_does_nothing(tmp_path):
    async def scenario(app, pilot, root):
        config = root / "proj.toml"
        on_disk = config.read_bytes()
        # ctrl+z on an edited field puts the file's value back (it was ctrl+r)
        await type_into(pilot, "network_dim", "32")
        assert field(app, "network_dim").value == 32 and "* 1 changed" in status(app)
        await pilot.press("ctrl+z")
        await pilot.pause()
        assert field(app, "network_dim").value == 16 and "changed" not in status(app)
        assert field(app, "network_dim").text == "16" and config.read_bytes() == on_disk
        # ctrl+t (Settings' train key before) does nothing: no question, no run, the field and file as they were
        safetensors(root / "model" / "base.safetensors", ["cond_stage_model.transformer.x"])
        await type_into(pilot, "pretrained_model_name_or_path", "model/base.safetensors")
        typed = field(app, "pretrained_model_name_or_path").text
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert type(app.screen).__name__ == "SettingsScreen" and app.current_mode == "settings2"
        assert field(app, "pretrained_model_name_or_path").text == typed and config.read_bytes() == on_disk
        await pilot.press("escape", "ctrl+t")  # no field focused: still nothing
        await pilot.pause()
        assert type(app.screen).__name__ == "SettingsScreen" and app.current_mode == "settings2"
        # ctrl+r: the train confirmation (save first); esc there leaves the file alone
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog))
        assert "save the form to proj.toml first" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert app.current_mode == "settings2" and config.read_bytes() == on_disk
        assert "^r Train" in screen_text(app).replace("\xa0", " ")  # the footer names the new key

    run(tmp_path, scenario)


def test_bulk_dialog_ctrl_l_clears_and_ctrl_r_no_longer_does(tmp_path):
    root = project(tmp_path)

    async def scenario(app, pilot):
        await pilot.press("R")
        await shown(pilot, app, "BulkOpScreen")
        await type_text(pilot, "hat")
        await pilot.pause()
        old = app.screen.query_one("#bulk-old", Input)
        assert old.value == "hat"
        await pilot.press("ctrl+r")  # not this dialog's key now
        await pilot.pause()
        assert type(app.screen).__name__ == "BulkOpScreen" and old.value == "hat"
        assert "^l Clear" in screen_text_of(app)
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert app.screen.query_one("#bulk-old", Input).value == ""

    run_on(tmp_path, root, scenario)


def test_train_ctrl_r_starts_as_s_does(tmp_path):
    from loratui.tui.screens.run_picker import StartDialog

    config = make_project(tmp_path)
    app = make_app(tmp_path, config)

    async def scenario(pilot, screen):
        await until(pilot, lambda: "no runs yet" in str(screen.query_one("RunStatus").render()))
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, StartDialog))
        assert f"$ loratui train {config.resolve()}" in str(app.screen.query_one("#ask-message").render())
        await pilot.press("escape")  # nothing starts
        await pilot.pause()
        assert screen.run is None

    run_app(app, scenario)


def screen_text_of(app) -> str:
    return screen_text(app).replace("\xa0", " ")
