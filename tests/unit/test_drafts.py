"""core.drafts (the Settings draft file) and the temp files a killed config save leaves (core.tomlfile),
with what `loratui config check` says about both."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from loratui.cli import cli
from loratui.core.drafts import (
    FieldDraft, SettingsDraft, draft_path, writer_tag, file_sha256, load_settings_draft, read_draft, remove_draft, write_draft,
)
from loratui.core.errors import LoratuiError
from loratui.core.fsutil import atomic_write_text, leftover_temp_files
from loratui.core.tomlfile import leftover_toml_temps

CONFIG = '[network]\nnetwork_dim = 16\n'


def aged(path: Path, seconds: float = 600) -> Path:
    os.utime(path, (time.time() - seconds, time.time() - seconds))
    return path


def test_the_draft_sits_hidden_beside_the_config_and_is_no_toml(tmp_path):
    path = draft_path(tmp_path / "lora.toml")
    assert path == tmp_path / f".lora.toml.loratui-draft-{writer_tag()}"  # this app's own (pid, start time)
    write_draft(path, "x")
    assert list(tmp_path.glob("*.toml")) == []  # a folder's configs are listed with *.toml
    assert read_draft(path) == "x"
    assert remove_draft(path) and not remove_draft(path)
    assert read_draft(path) is None


def test_a_settings_draft_round_trips_and_tells_conflicts(tmp_path):
    config = tmp_path / "lora.toml"
    config.write_text(CONFIG)
    draft = SettingsDraft(str(config), {"network.network_dim": FieldDraft("32", "16"),
                                        "network.network_alpha": FieldDraft("abc", "8.0")},
                          config_sha256=file_sha256(config))
    write_draft(draft_path(config), draft.to_text())
    back = load_settings_draft(config)
    assert back.fields == draft.fields and back.written > 0
    assert not back.changed_on_disk(config)
    assert back.conflicts({"network.network_dim": "16", "network.network_alpha": "8.0"}) == []
    config.write_text(CONFIG.replace("16", "24"))
    assert back.changed_on_disk(config)
    assert back.conflicts({"network.network_dim": "24", "network.network_alpha": "8.0"}) == ["network.network_dim"]


def test_a_draft_taken_with_no_config_conflicts_once_the_config_exists(tmp_path):
    draft = SettingsDraft(str(tmp_path / "new.toml"), {"network.network_dim": FieldDraft("32", None)})
    assert draft.conflicts({"network.network_dim": None}) == []
    assert draft.conflicts({"network.network_dim": "16"}) == ["network.network_dim"]
    assert not draft.changed_on_disk(tmp_path / "new.toml")


@pytest.mark.parametrize("text", ["not json", "[]", '{"kind": "other", "fields": {}}',
                                  '{"kind": "loratui settings draft", "fields": {"a.b": {"typed": 3}}}'])
def test_a_damaged_draft_is_one_line_naming_the_file(tmp_path, text):
    config = tmp_path / "lora.toml"
    draft_path(config).write_text(text)
    with pytest.raises(LoratuiError, match=r"\.lora\.toml\.loratui-draft-[0-9-]+: not a loratui Settings draft .*delete it"):
        load_settings_draft(config)


def test_leftover_temps_are_the_atomic_writes_temp_names_only(tmp_path):
    config = tmp_path / "lora.toml"
    config.write_text(CONFIG)
    kept = tmp_path / ".lora.toml.ab12cd34.tmp"
    kept.write_text("[network]\nnetw")
    aged(kept)
    for other in (".other.toml.ab12cd34.tmp", "..lora.toml.loratui-draft.ab12cd34.tmp", ".lora.toml.loratui-draft"):
        (tmp_path / other).write_text("x")
        aged(tmp_path / other)
    young = tmp_path / ".lora.toml.zz99yy88.tmp"
    young.write_text(CONFIG)
    assert leftover_temp_files(config, min_age_s=60) == [kept]
    assert set(leftover_temp_files(config)) == {kept, young}


def test_a_cut_temp_file_is_named_with_how_to_delete_it(tmp_path):
    config = tmp_path / "lora.toml"
    config.write_text(CONFIG)
    temp = tmp_path / ".lora.toml.ab12cd34.tmp"
    temp.write_text("[network]\nnetwork_dim = ")
    aged(temp)
    [item] = leftover_toml_temps(config)
    assert not item.valid_toml
    assert item.line() == (f"{temp}: an unfinished copy of lora.toml that a killed save left (lora.toml kept what "
                           f"it held before): delete it (rm {temp})")


def test_a_valid_temp_newer_than_the_config_is_named_as_such_not_as_rubbish(tmp_path):
    config = tmp_path / "lora.toml"
    config.write_text(CONFIG)
    aged(config, 900)
    temp = tmp_path / ".lora.toml.ab12cd34.tmp"
    temp.write_text(CONFIG.replace("16", "32"))
    aged(temp, 300)
    [item] = leftover_toml_temps(config)
    assert item.valid_toml and item.newer
    assert "valid TOML that a killed save of lora.toml left, newer than lora.toml: compare them" in item.line()
    assert f"diff {config} {temp}" in item.line()


def test_config_check_names_leftovers_and_a_draft(tmp_path):
    config = tmp_path / "lora.toml"
    result = CliRunner().invoke(cli, ["config", "new", str(config)])
    assert result.exit_code == 0, result.output
    temp = tmp_path / ".lora.toml.ab12cd34.tmp"
    temp.write_text("[model")
    aged(temp)
    draft = SettingsDraft(str(config), {"network.network_dim": FieldDraft("32", "16")})
    atomic_write_text(draft_path(config), draft.to_text())
    result = CliRunner().invoke(cli, ["config", "check", str(config)])
    assert f"note: {temp}: an unfinished copy of lora.toml" in result.output
    assert f"note: {draft_path(config)}: Settings changes to lora.toml a closed app never saved" in result.output
    assert temp.exists()  # named, never deleted by a check


def test_config_check_names_a_draft_another_app_left(tmp_path):
    """The app's draft is its own file (pid-tagged): check looks at every app's, not its own name."""
    from loratui.core.drafts import base_draft_path

    config = tmp_path / "lora.toml"
    assert CliRunner().invoke(cli, ["config", "new", str(config)]).exit_code == 0
    left = base_draft_path(config).with_name(base_draft_path(config).name + "-999999999-1")  # an ended app's
    atomic_write_text(left, SettingsDraft(str(config), {"network.network_dim": FieldDraft("32", "16")}).to_text())
    result = CliRunner().invoke(cli, ["config", "check", str(config)])
    assert f"note: {left}: Settings changes to lora.toml a closed app never saved" in result.output
