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


def test_apply_dry_run_then_yes(config_file, monkeypatch):
    from loratui.commands import presets_cmd

    before = config_file.read_bytes()
    out = run("presets", "apply", str(config_file), "sdxl-12gb", "--dry-run").output
    assert "dataset.resolution" in out and "512 -> 1024" in out and "nothing written" in out
    assert config_file.read_bytes() == before
    with pytest.raises(Exception, match="not a terminal"):  # a script must say --yes
        run("presets", "apply", str(config_file), "sdxl-12gb")
    monkeypatch.setattr(presets_cmd, "_interactive", lambda: True)
    out = run("presets", "apply", str(config_file), "sdxl-12gb", input="n\n").output
    assert "not written" in out and config_file.read_bytes() == before
    out = run("presets", "apply", str(config_file), "sdxl-12gb", "--yes").output
    assert "wrote" in out
    cfg = load_config(config_file)
    assert cfg.dataset.resolution == (1024, 1024) and cfg.training.gradient_checkpointing
    assert "nothing to change" in run("presets", "apply", str(config_file), "sdxl-12gb", "--yes").output


def test_apply_refuses_another_family_unless_forced(tmp_path, capsys):
    cfg = TrainingConfig()
    cfg.model.model_family = "sd1"
    path = tmp_path / "sd1.toml"
    save_config(cfg, path)
    before = path.read_bytes()
    with pytest.raises(SystemExit) as exc:
        main(["presets", "apply", str(path), "sdxl-12gb", "--yes"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1
    assert "sdxl-12gb is for sdxl" in err and "model is sd1" in err and "--force" in err
    assert path.read_bytes() == before
    result = CliRunner().invoke(cli, ["presets", "apply", str(path), "sdxl-12gb", "--yes", "--force"])
    assert result.exit_code == 0 and "applied anyway" in result.output
    assert load_config(path).dataset.resolution == (1024, 1024)


def test_apply_refuses_a_family_guessed_from_the_model_name(tmp_path):
    cfg = TrainingConfig()
    cfg.model.pretrained_model_name_or_path = "stabilityai/stable-diffusion-xl-base-1.0"  # a hub id
    save_config(cfg, tmp_path / "xl.toml")
    result = CliRunner().invoke(cli, ["presets", "apply", str(tmp_path / "xl.toml"), "sd15-8gb", "--dry-run"])
    assert result.exit_code != 0 and "guessed from the model name" in str(result.exception)


@pytest.mark.parametrize("spelling", ["sd1", "sd15", "SD1.5"])
def test_both_family_spellings_everywhere(tmp_path, spelling):
    out = run("presets", "list", "--family", spelling).output
    assert "sd15-8gb" in out and "sdxl" not in out
    assert "sd15-8gb:" in run("presets", "show", "sd1-8gb").output
    path = tmp_path / f"{spelling}.toml"
    run("config", "new", str(path), "--family", spelling)
    assert load_config(path).model.model_family == "sd1"
    assert "(sd1)" in run("vram", str(path), "--family", spelling).output
    text = path.read_text().replace('model_family = "sd1"', f'model_family = "{spelling}"')
    path.write_text(text)
    assert load_config(path).model.model_family == "sd1"  # the file may say sd15 too
    assert "no SD 2.x presets" not in run("presets", "list", "--family", "sdxl").output


def test_unknown_family_is_refused_naming_the_spellings():
    result = CliRunner().invoke(cli, ["presets", "list", "--family", "sd2"])
    assert result.exit_code == 2 and "not offered here: use sd1 (or sd15), sdxl" in result.output
    result = CliRunner().invoke(cli, ["config", "new", "x.toml", "--family", "sd3"])
    assert result.exit_code == 2 and "not a model family" in result.output


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
