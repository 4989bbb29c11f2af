"""`e` (extend) on a finished run without a state said "set saving.save_state_on_train_end", while
`train --help` named only save_state / --save-state. Both now name the real keys and the option."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from loratui.cli import cli
from loratui.core.config import TrainingConfig
from loratui.core.errors import LoratuiError
from loratui.tui.services.runs import RunService

KEYS = ("saving.save_state_on_train_end", "saving.save_state")


def test_the_keys_named_are_config_keys():
    saving = {field.name for field in dataclasses.fields(TrainingConfig().saving)}
    assert {key.split(".")[1] for key in KEYS} <= saving


def test_extend_without_a_state_names_both_keys_and_the_option(tmp_path):
    snapshot = SimpleNamespace(earlier=0, key=tmp_path / "lora.events.jsonl", output_dir=tmp_path, name="lora",
                               state=None, config=tmp_path / "c.toml")
    with pytest.raises(LoratuiError) as caught:
        RunService(app=None).check_resumable(snapshot)
    message = str(caught.value)
    assert message.startswith("lora has no saved state (lora-state) to continue from: stopped runs save one; ")
    assert all(f"{key} = true" in message for key in KEYS) and "`loratui train --save-state`" in message


def test_train_help_names_both_keys():
    text = " ".join(CliRunner().invoke(cli, ["train", "--help"]).output.split())
    assert all(f"{key} = true" in text for key in KEYS) and "--save-state" in text
