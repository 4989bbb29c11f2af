"""The "changed on disk: merge?" dialog opens after a re-read the user did not wait for: it is an
OfferDialog, so keys typed before it showed (meant for the form) are ignored, and r (reload, which drops
the form's changes) asks y first."""

from __future__ import annotations

from test_settings_outside_edits import GOOD, run, settings, until

from loratui.tui.screens.config_dialogs import OfferDialog


def _offer_merge(app, pilot, path):
    screen = settings(app)
    screen.form.field("max_train_epochs").user_sets(5)  # an unsaved edit
    path.write_text(GOOD.replace("16", "32"), encoding="utf-8")


def test_r_in_the_merge_dialog_asks_y_before_dropping_the_forms_changes(tmp_path, monkeypatch):
    async def scenario(app, pilot, path):
        _offer_merge(app, pilot, path)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, OfferDialog))
        assert "changed on disk" in app.screen.dialog_title
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, OfferDialog) and app.screen.asking == "r"
        await pilot.press("n")  # any other key goes back: nothing reloaded
        await pilot.pause()
        assert isinstance(app.screen, OfferDialog) and app.screen.asking is None
        assert settings(app).form.field("max_train_epochs").value == 5
        await pilot.press("r", "y")
        await until(pilot, lambda: not isinstance(app.screen, OfferDialog))
        await until(pilot, lambda: settings(app).form.field("network_dim").value == 32)
        assert settings(app).form.field("max_train_epochs").value == 2

    run(tmp_path, monkeypatch, GOOD, scenario)


def test_m_merges_at_once_and_keys_typed_before_the_dialog_are_ignored(tmp_path, monkeypatch):
    async def scenario(app, pilot, path):
        _offer_merge(app, pilot, path)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, OfferDialog))
        dialog = app.screen
        dialog.shown_at += 10.0  # as if the next key had been read before the dialog opened
        await pilot.press("r")
        await pilot.pause()
        assert app.screen is dialog and dialog.dropped == 1 and dialog.asking is None
        dialog.shown_at -= 10.0
        await pilot.press("m")
        await until(pilot, lambda: "max_train_epochs = 5" in path.read_text())
        assert "network_dim = 32" in path.read_text()

    run(tmp_path, monkeypatch, GOOD, scenario)
