"""One draft file per running app (hunt3 findings 1, 2): names tagged with the writer's pid and start
time, whether the writer still runs (a reused pid is not it), and the merge of ended sessions' drafts."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from loratui.core.drafts import (
    FieldDraft, SettingsDraft, base_draft_path, draft_files, draft_path, gather_settings_drafts, process_start,
    writer_alive, writer_tag,
)


@pytest.fixture
def live_pid():
    """A running process other than this one (stands for another loratui)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc.pid
    proc.kill()
    proc.wait()


def ended_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_the_writer_tag_names_the_pid_and_a_reused_pid_is_not_the_writer(live_pid):
    assert writer_tag().split("-")[0] == str(os.getpid())
    assert writer_alive(writer_tag(live_pid))
    assert not writer_alive(str(ended_pid()))
    if process_start(live_pid) is not None:  # Linux: the start time tells a reused pid
        assert not writer_alive(f"{live_pid}-1")


def test_draft_files_tell_own_live_and_ended_writers(tmp_path, live_pid):
    config = tmp_path / "lora.toml"
    own, live = draft_path(config), draft_path(config, writer_tag(live_pid))
    ended, old = draft_path(config, str(ended_pid())), base_draft_path(config)
    for path in (own, live, ended, old, tmp_path / ".lora.toml.loratui-draft-x1"):
        path.write_text("{}")
    found = {f.path: f for f in draft_files(base_draft_path(config))}
    assert set(found) == {own, live, ended, old}  # not a name that merely starts the same
    assert found[own].own and not found[own].alive
    assert found[live].alive and found[live].pid == live_pid
    assert not found[ended].alive and not found[ended].own
    assert found[old].tag is None and not found[old].alive  # the old single name: an ended session's


def test_gathering_merges_ended_drafts_newest_field_wins_and_skips_a_live_one(tmp_path, live_pid):
    config = tmp_path / "lora.toml"
    config.write_text("x")
    older = SettingsDraft(str(config), {"a.x": FieldDraft("1", "0"), "a.y": FieldDraft("5", "0")}, None, 100.0)
    newer = SettingsDraft(str(config), {"a.x": FieldDraft("2", "0")}, None, 200.0)
    running = SettingsDraft(str(config), {"a.z": FieldDraft("9", "0")}, None, 300.0)
    draft_path(config, str(ended_pid())).write_text(newer.to_text())
    base_draft_path(config).write_text(older.to_text())
    draft_path(config, writer_tag(live_pid)).write_text(running.to_text())
    gathered = gather_settings_drafts(config)
    assert {k: f.typed for k, f in gathered.draft.fields.items()} == {"a.x": "2", "a.y": "5"}
    assert gathered.live == [live_pid] and len(gathered.files) == 2 and gathered.draft.written == 200.0
