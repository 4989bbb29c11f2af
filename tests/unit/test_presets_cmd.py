"""`loratui presets list|show|apply` end to end (in-process)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from loratui.cli import cli, main
from loratui.core.config import TrainingConfig
from loratui.core.config import load_config, save_config


@pytest.fixture(autouse=True)
def isolated_user_presets(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "loratui" / "presets"


@pytest.fixture
def config_file(tmp_path):
    cfg = TrainingConfig()
    cfg.model.pretrained_model_name_or_path = "models/sd_xl_base_1.0.safetensors"
    path = tmp_path / "run.toml"
    save_config(cfg, path)
    return path


def run(*args, input=None):
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def test_list_and_filter():
    out = run("presets", "list").output
    assert "sd15-6gb" in out and "sdxl-48gb" in out and "DESCRIPTION" in out
    out = run("presets", "list", "--family", "sdxl").output
    assert "sdxl-8gb" in out and "sd15-8gb" not in out
    data = json.loads(run("presets", "list", "--json").output)
    assert len(data) == 12 and {"id", "family", "vram_gb", "description"} <= set(data[0])


def test_list_reports_broken_user_preset(isolated_user_presets):
    isolated_user_presets.mkdir(parents=True)
    (isolated_user_presets / "bad.toml").write_text("id = 'bad'\n")
    result = CliRunner().invoke(cli, ["presets", "list"])
    assert result.exit_code == 0
    assert "bad.toml" in result.output and "missing required key" in result.output


def test_show():
    out = run("presets", "show", "sdxl-8gb").output
    assert "training.gradient_checkpointing = true" in out and "estimated peak VRAM" in out
    data = json.loads(run("presets", "show", "sd15-12gb", "--json").output)
    assert data["settings"]["dataset"]["resolution"] == [768, 768]


def test_apply_dry_run_then_yes(config_file):
    before = config_file.read_bytes()
    out = run("presets", "apply", str(config_file), "sdxl-12gb", "--dry-run").output
    assert "dataset.resolution" in out and "512 -> 1024" in out and "nothing written" in out
    assert config_file.read_bytes() == before
    out = run("presets", "apply", str(config_file), "sdxl-12gb", input="n\n").output
    assert "not written" in out and config_file.read_bytes() == before
    out = run("presets", "apply", str(config_file), "sdxl-12gb", "--yes").output
    assert "wrote" in out
    cfg = load_config(config_file)
    assert cfg.dataset.resolution == (1024, 1024) and cfg.training.gradient_checkpointing
    assert "nothing to change" in run("presets", "apply", str(config_file), "sdxl-12gb", "--yes").output


def test_apply_warns_on_family_mismatch(config_file):
    result = CliRunner().invoke(cli, ["presets", "apply", str(config_file), "sd15-8gb", "--dry-run"])
    assert "is for sd15" in result.output


def test_errors_are_one_line(config_file, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["presets", "apply", str(config_file), "sdxl-12g", "--yes"])
    assert exc.value.code == 2
    assert "did you mean 'sdxl-12gb'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["presets", "apply", str(config_file.parent / "missing.toml"), "sdxl-12gb", "--yes"])
    assert exc.value.code == 2


def test_apply_keeps_the_users_comments_and_layout(tmp_path):
    path = tmp_path / "mine.toml"
    text = ("# my run\n[network]\nnetwork_dim = 8   # small on purpose?\n\n"
            "[training]\n# batch tuned by hand\ntrain_batch_size = 1\n")
    path.write_text(text)
    run("presets", "apply", str(path), "sdxl-12gb", "--yes")
    out = path.read_text()
    assert out.startswith("# my run\n[network]\nnetwork_dim = 32   # small on purpose?\n")
    assert "# batch tuned by hand\ntrain_batch_size = 2\n" in out
    assert load_config(path).network.network_train_unet_only is True
    before = path.stat().st_mtime_ns
    assert "nothing to change" in run("presets", "apply", str(path), "sdxl-12gb", "--yes").output
    assert path.stat().st_mtime_ns == before


def test_apply_to_a_config_without_a_model_estimates_for_the_preset_family(tmp_path):
    path = tmp_path / "bare.toml"
    save_config(TrainingConfig(), path)
    out = run("presets", "apply", str(path), "sdxl-8gb", "--dry-run").output
    shown = run("presets", "show", "sdxl-8gb").output
    assert "estimating for sdxl" in out
    gib = out.split("estimated peak VRAM after applying: ")[1].split(" GiB")[0]
    assert f"{gib} GiB" in shown
