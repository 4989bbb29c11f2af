"""Settings drafts (Pilot, 80x24, a real project on disk): typed values reach the draft file within the
debounce, a save or a discard deletes it, a reopened config offers it back naming the fields (and the
keys the file changed since), esc keeps it, and a temp file a killed save left is named and deleted
on request."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import pytest
from test_settings_form import make_app, status, type_into, until

from loratui.core.dataset import locate_dataset
from loratui.core.drafts import FieldDraft, SettingsDraft, draft_path, file_sha256, write_draft
from loratui.tui.app import LoratuiApp
from loratui.tui.screens.config_dialogs import ChoiceDialog
from loratui.tui.screens.settings import SettingsScreen
from loratui.tui.services import drafts as drafts_service


@pytest.fixture(autouse=True)
def quick_drafts(monkeypatch):
    monkeypatch.setattr(drafts_service, "DEBOUNCE_S", 0.05)


def open_settings(tmp_path: Path, root: Path, scenario) -> LoratuiApp:
    """A fresh app on the same project (as after reconnecting), on Settings."""
    app = LoratuiApp(locate_dataset(root), config_path=root / "proj.toml", settings_file=tmp_path / "tui.toml",
                     keymap_file=tmp_path / "k.toml", watch=False)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            app.add_mode("settings2", SettingsScreen)
            await app.switch_mode("settings2")
            await pilot.pause()
            await scenario(app, pilot)

    asyncio.run(main())
    return app


def fields_in(path: Path) -> dict:
    return {key: entry["typed"] for key, entry in json.loads(path.read_text())["fields"].items()}


def typed_and_left(tmp_path: Path, edits: dict[str, str]) -> Path:
    """A session that typed ``edits`` into Settings and ended without saving; the project root."""
    app, root = make_app(tmp_path)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            app.add_mode("settings2", SettingsScreen)
            await app.switch_mode("settings2")
            await pilot.pause()
            for key, text in edits.items():
                await type_into(pilot, key, text)
            await until(pilot, lambda: draft_path(root / "proj.toml").exists()
                        and len(fields_in(draft_path(root / "proj.toml"))) == len(edits))

    asyncio.run(main())
    return root


async def dialog(pilot, title: str) -> str:
    await until(pilot, lambda: isinstance(pilot.app.screen, ChoiceDialog) and pilot.app.screen.dialog_title == title)
    return pilot.app.screen.body


def test_typed_values_are_drafted_and_a_save_deletes_the_draft(tmp_path):
    root = typed_and_left(tmp_path, {"network_dim": "32", "network_alpha": "abc"})
    draft = draft_path(root / "proj.toml")
    data = json.loads(draft.read_text())
    assert data["fields"] == {"network.network_dim": {"typed": "32", "file": "16"},  # only what changed,
                              "network.network_alpha": {"typed": "abc", "file": "8.0"}}  # invalid text too
    assert data["config_sha256"] == file_sha256(root / "proj.toml")

    async def scenario(app, pilot):
        await dialog(pilot, "unsaved draft")
        await pilot.press("r")
        await until(pilot, lambda: app.screen.form.field("network_dim").text == "32")
        assert app.screen.form.field("network_alpha").text == "abc"
        await type_into(pilot, "network_alpha", "16")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "network_dim = 32" in (root / "proj.toml").read_text())
        await until(pilot, lambda: not draft.exists())

    open_settings(tmp_path, root, scenario)


def test_the_offer_names_the_fields_and_delete_leaves_the_form_as_the_file(tmp_path):
    root = typed_and_left(tmp_path, {"network_dim": "32", "max_train_epochs": "12"})

    async def scenario(app, pilot):
        body = await dialog(pilot, "unsaved draft")
        assert "never saved" in body
        assert "network.network_dim: 16 -> 32" in body and "training.max_train_epochs: 10 -> 12" in body
        assert "changed on disk" not in body
        await pilot.press("d", "y")
        await pilot.pause()
        assert not draft_path(root / "proj.toml").exists()
        assert app.screen.form.field("network_dim").text == "16" and "changed" not in status(app)

    open_settings(tmp_path, root, scenario)


def test_a_config_changed_after_the_draft_is_said_and_its_keys_kept(tmp_path):
    root = typed_and_left(tmp_path, {"network_dim": "32", "max_train_epochs": "12"})
    config = root / "proj.toml"
    config.write_text(config.read_text().replace("network_dim = 16", "network_dim = 24"))

    async def scenario(app, pilot):
        body = await dialog(pilot, "unsaved draft")
        assert "proj.toml changed on disk after this draft was taken" in body
        assert "! network.network_dim: the file had 16 -> now 24; the draft has 32" in body
        assert ("r", "restore the 1 the file did not change (drop the rest)") in app.screen.choices
        await pilot.press("r")
        await until(pilot, lambda: app.screen.form.field("max_train_epochs").text == "12")
        assert app.screen.form.field("network_dim").text == "24"  # the file's new value, not applied blindly

    open_settings(tmp_path, root, scenario)


def test_esc_keeps_the_draft_and_new_edits_join_it(tmp_path):
    root = typed_and_left(tmp_path, {"network_dim": "32"})
    draft = draft_path(root / "proj.toml")

    async def scenario(app, pilot):
        await dialog(pilot, "unsaved draft")
        await pilot.press("escape")
        await pilot.pause()
        assert "unsaved draft: f6" in status(app)
        assert app.screen.form.field("network_dim").text == "16"
        await type_into(pilot, "max_train_epochs", "12")
        await until(pilot, lambda: fields_in(draft) == {"network.network_dim": "32", "training.max_train_epochs": "12"})
        await pilot.press("escape", "f6")
        await dialog(pilot, "unsaved draft")

    open_settings(tmp_path, root, scenario)
    assert fields_in(draft)["network.network_dim"] == "32"


def test_a_draft_put_off_survives_a_save_of_the_other_fields(tmp_path):
    root = typed_and_left(tmp_path, {"network_dim": "32"})
    draft = draft_path(root / "proj.toml")

    async def scenario(app, pilot):
        await dialog(pilot, "unsaved draft")
        await pilot.press("escape")
        await type_into(pilot, "max_train_epochs", "12")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "max_train_epochs = 12" in (root / "proj.toml").read_text())
        await until(pilot, lambda: draft.exists() and fields_in(draft) == {"network.network_dim": "32"})

    open_settings(tmp_path, root, scenario)


def test_discard_and_quit_deletes_the_draft(tmp_path):
    app, root = make_app(tmp_path)
    draft = draft_path(root / "proj.toml")

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("3")
            await pilot.pause()
            await type_into(pilot, "network_dim", "32")
            await until(pilot, draft.exists)
            await pilot.press("ctrl+q")
            await dialog(pilot, "quit")
            await pilot.press("d")
            await pilot.pause()

    asyncio.run(main())
    assert not draft.exists()


def test_a_draft_of_a_config_not_created_yet_is_offered_too(tmp_path):
    app, root = make_app(tmp_path, config=None)
    suggested = root / "proj.toml"
    write_draft(draft_path(suggested), SettingsDraft(str(suggested), {"network.network_dim": FieldDraft("32", None)},
                                                     config_sha256=None).to_text())

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            app.add_mode("settings2", SettingsScreen)
            await app.switch_mode("settings2")
            body = await dialog(pilot, "unsaved draft")
            assert "network.network_dim: (no file) -> 32" in body
            await pilot.press("r")
            await until(pilot, lambda: app.screen.form.field("network_dim").text == "32")

    asyncio.run(main())


def test_a_temp_file_a_killed_save_left_is_named_and_deleted_on_x(tmp_path):
    app, root = make_app(tmp_path)
    config = root / "proj.toml"
    cut = root / ".proj.toml.ab12cd34.tmp"
    cut.write_text(config.read_text() + "\n[netw")  # cut mid-way through a heading
    newer = root / ".proj.toml.zz99yy88.tmp"
    newer.write_text(config.read_text())
    old = time.time() - 600
    os.utime(config, (old, old))
    os.utime(cut, (old - 60, old - 60))
    os.utime(newer, (old + 60, old + 60))

    async def scenario(app, pilot):
        body = await dialog(pilot, "left over by a killed save")
        assert f"{cut}: an unfinished copy of proj.toml" in body
        assert f"{newer}: valid TOML that a killed save of proj.toml left, newer than proj.toml" in body
        await pilot.press("x")
        await pilot.pause()
        assert not cut.exists() and newer.exists()  # the maybe-newer content is only deleted on "a"

    open_settings(tmp_path, root, scenario)


def test_a_draft_is_said_at_start_up_on_any_screen(tmp_path):
    """Back after a dropped link the app opens on Dataset: the draft is named there at once (a run
    started now would train on the file without those changes)."""
    root = typed_and_left(tmp_path, {"network_dim": "32"})
    app = LoratuiApp(locate_dataset(root), config_path=root / "proj.toml", settings_file=tmp_path / "tui.toml",
                     keymap_file=tmp_path / "k.toml", watch=False)
    seen: list[str] = []

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            seen.extend(str(n.message) for n in app._notifications)

    asyncio.run(main())
    assert any("proj.toml: 1 unsaved Settings change(s)" in m and "3 opens Settings" in m for m in seen), seen


def test_edits_typed_back_then_a_quick_quit_leave_no_stale_draft(tmp_path):
    """32 typed (drafted), 16 typed back, ctrl+q within the debounce: no question (nothing unsaved),
    and no draft of 32 offered next time (review, session 9)."""
    app, root = make_app(tmp_path)
    draft = draft_path(root / "proj.toml")

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            app.add_mode("settings2", SettingsScreen)
            await app.switch_mode("settings2")
            await pilot.pause()
            await type_into(pilot, "network_dim", "32")
            await until(pilot, draft.exists)
            drafts_service.DEBOUNCE_S = 5.0  # the next write would come too late
            await type_into(pilot, "network_dim", "16")
            assert app.unsaved_settings() == 0
            await pilot.press("escape")
            await pilot.press("ctrl+q")
            await pilot.pause()

    asyncio.run(main())
    assert not draft.exists(), draft.read_text()
