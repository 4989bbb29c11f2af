"""Two loratui apps on one project (Pilot, hunt3 findings 1, 2, 6): each keeps its own draft file; the
drafts of ended sessions are gathered, merged and settled together; another running app's draft is
named, never offered or deleted; a save while a draft is put off is not later called an outside change."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_dataset_caption_drafts import dialog as caption_dialog
from test_dataset_caption_drafts import session, typed_for, until
from test_settings_drafts import dialog, fields_in, open_settings, typed_and_left
from test_settings_form import status, type_into

from loratui.core.drafts import (
    FieldDraft, SettingsDraft, base_draft_path, draft_path, file_sha256, write_draft, writer_tag,
)
from loratui.tui.screens.config_dialogs import ChoiceDialog
from loratui.tui.screens.dataset_drafts import caption_draft_base, caption_draft_path, drafts_to_text
from loratui.tui.services import drafts as drafts_service


@pytest.fixture(autouse=True)
def quick_drafts(monkeypatch):
    monkeypatch.setattr(drafts_service, "DEBOUNCE_S", 0.05)


@pytest.fixture
def live_pid():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc.pid
    proc.kill()
    proc.wait()


def ended_tag() -> str:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return str(proc.pid)


def as_ended_session(root: Path) -> Path:
    """The draft this test process left, renamed as if another app (now ended) had written it."""
    ended = draft_path(root / "proj.toml", ended_tag())
    draft_path(root / "proj.toml").rename(ended)
    return ended


def test_ended_drafts_are_merged_a_live_one_is_named_and_delete_leaves_it(tmp_path, live_pid):
    root = typed_and_left(tmp_path, {"network_dim": "32"})
    ended = as_ended_session(root)
    old = base_draft_path(root / "proj.toml")  # an older version's single name
    write_draft(old, SettingsDraft(str(root / "proj.toml"), {"training.max_train_epochs": FieldDraft("12", None)},
                                   None, 1.0).to_text())
    live = draft_path(root / "proj.toml", writer_tag(live_pid))
    write_draft(live, SettingsDraft(str(root / "proj.toml"), {"network.network_alpha": FieldDraft("7", "8")}).to_text())

    async def scenario(app, pilot):
        body = await dialog(pilot, "unsaved draft")
        assert "network.network_dim" in body and "training.max_train_epochs" in body
        assert "network_alpha" not in body  # the running app's edits stay with it
        await pilot.press("d", "y")
        await until(pilot, lambda: not ended.exists() and not old.exists())
        assert f"another loratui (pid {live_pid}) has unsaved edits to this config" in status(app)

    open_settings(tmp_path, root, scenario)
    assert fields_in(live) == {"network.network_alpha": "7"}  # not deleted from here


def test_restore_takes_the_ended_drafts_into_this_apps_own_file(tmp_path):
    root = typed_and_left(tmp_path, {"network_dim": "32"})
    ended = as_ended_session(root)

    async def scenario(app, pilot):
        await dialog(pilot, "unsaved draft")
        await pilot.press("r")
        own = draft_path(root / "proj.toml")
        await until(pilot, lambda: not ended.exists() and own.exists()
                    and fields_in(own) == {"network.network_dim": "32"})

    open_settings(tmp_path, root, scenario)


def test_a_save_with_a_draft_put_off_is_not_called_an_outside_change_later(tmp_path):
    root = typed_and_left(tmp_path, {"network_dim": "32"})
    ended = as_ended_session(root)
    own = draft_path(root / "proj.toml")

    async def scenario(app, pilot):
        await dialog(pilot, "unsaved draft")
        await pilot.press("escape")
        await type_into(pilot, "max_train_epochs", "12")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "max_train_epochs = 12" in (root / "proj.toml").read_text())
        await until(pilot, lambda: own.exists() and fields_in(own) == {"network.network_dim": "32"}
                    and not ended.exists())
        assert json.loads(own.read_text())["config_sha256"] == file_sha256(root / "proj.toml")

    open_settings(tmp_path, root, scenario)
    as_ended_session(root)  # that app ended too; the next one is offered the draft

    async def reopened(app, pilot):
        body = await dialog(pilot, "unsaved draft")
        assert "changed on disk" not in body and "network.network_dim: 16 -> 32" in body

    open_settings(tmp_path, root, reopened)


def test_caption_drafts_of_ended_sessions_are_all_offered_and_a_live_one_named(tmp_path, live_pid):
    async def prepare(app, pilot, img):  # drafts of an ended app, of an older version, of a running app
        caption_draft_base(img).parent.mkdir(exist_ok=True)
        alpha = typed_for(img, "10_alice/a02.png", "add", "alpha")
        write_draft(caption_draft_path(img, ended_tag()), drafts_to_text([alpha], img))
        write_draft(caption_draft_base(img), drafts_to_text([typed_for(img, "5_bob/b02.png", "add", "bravo")], img))
        write_draft(caption_draft_path(img, writer_tag(live_pid)),
                    drafts_to_text([typed_for(img, "10_alice/a03.png", "add", "charlie")], img))

    img = session(tmp_path, prepare)
    notes = []

    async def scenario(app, pilot, img):
        notes.extend(n.message for n in app._notifications)
        body = await caption_dialog(pilot)
        assert "alpha" in body and "1 more typed" in body and "charlie" not in body
        await pilot.press("d", "y")
        body = await caption_dialog(pilot)
        assert "bravo" in body
        await pilot.press("d", "y")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, ChoiceDialog)

    session(tmp_path, scenario)
    assert any(f"another loratui (pid {live_pid}) has unsaved edits to this dataset" in n for n in notes)
    left_now = sorted(p.name for p in caption_draft_base(img).parent.glob("caption-draft*"))
    assert left_now == [caption_draft_path(img, writer_tag(live_pid)).name]  # only the running app's
