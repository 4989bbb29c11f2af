"""saving.output_name is a plain file name: checked when a config is loaded, validated or imported."""

from __future__ import annotations

import subprocess
import sys

import pytest

from loratui.core.config import ConfigError, TrainingConfig, import_kohya, loads_config, validate

BAD = ["../../x", "a/b", "/abs", "x\\\\y", "..", ".", "", "   ", "a\\nb"]


@pytest.mark.parametrize("name", BAD)
def test_load_refuses_a_name_that_is_not_a_plain_file_name(name):
    with pytest.raises(ConfigError) as info:
        loads_config(f'[saving]\noutput_name = "{name}"\n', "c.toml")
    message = str(info.value)
    assert message.startswith("c.toml, line 2: output_name: ") and "plain file name" in message
    assert "\n" not in message


@pytest.mark.parametrize("name", ["my_lora", "char v2", "a..b", "ünïcode", ".hidden-ok"])
def test_plain_names_load(name):
    assert loads_config(f'[saving]\noutput_name = "{name}"\n').saving.output_name == name


def test_validate_catches_a_name_set_in_code():
    cfg = TrainingConfig()
    cfg.saving.output_name = "../y"
    assert any(p.startswith("output_name: '../y' holds a path separator") for p in validate(cfg))


@pytest.mark.parametrize("name, clean", [("../../x", "x"), ("C:\\\\loras\\\\mine", "mine"), ("out/", "out")])
def test_kohya_import_cleans_the_name_with_a_note(name, clean):
    cfg, report = import_kohya({"LoRA_type": "Standard", "network_dim": 8, "output_name": name})
    assert cfg.saving.output_name == clean
    assert any(f"output_name {name!r} is not a plain file name" in w and repr(clean) in w for w in report.warnings)


def test_kohya_import_keeps_the_default_when_nothing_is_left():
    cfg, report = import_kohya({"LoRA_type": "Standard", "network_dim": 8, "output_name": "../.."})
    assert cfg.saving.output_name == TrainingConfig().saving.output_name
    assert any(key == "output_name" and "not a plain file name" in why for key, why in report.ignored)


def test_config_check_cli_names_the_field(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[saving]\noutput_name = "../../x"\n')
    proc = subprocess.run([sys.executable, "-m", "loratui", "config", "check", str(path)],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr + proc.stdout  # config check: 1 = problems
    assert f"{path}, line 2: output_name: '../../x' holds a path separator" in proc.stdout.splitlines()[0]
