"""`config export-sdscripts` checks the config as `config check` does before writing anything (--force
exports anyway), names a Windows path instead of joining it to the config's folder, writes no_half_vae
as the engine keeps the VAE in fp32, and prints paths as they are (no repr escaping)."""

from __future__ import annotations

import tomllib

import pytest
from click.testing import CliRunner
from PIL import Image

from loratui.cli import cli, main
from loratui.core.config import (
    build_sdscripts, check_paths, config_from_dict, export_problems, find_subsets, load_config, save_config,
)
from loratui.core.errors import LoratuiError


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "img" / "10_mychar").mkdir(parents=True)
    Image.new("RGB", (512, 512), "red").save(tmp_path / "img" / "10_mychar" / "a.png")
    return tmp_path


def _config(project, dataset=None, **training):
    data = {"model": {"pretrained_model_name_or_path": "org/base-model", "model_family": "sdxl"},
            "dataset": {"train_data_dir": "img", "resolution": 512, **(dataset or {})},
            "training": {"max_train_epochs": 1, **training}}
    path = project / "c.toml"
    save_config(config_from_dict(data), path)
    return path


def _export(*args):
    return CliRunner().invoke(cli, ["config", "export-sdscripts", *args])


def _main(capsys, *args) -> tuple[int, list[str]]:
    """(exit code, stderr lines) of `loratui config export-sdscripts ARGS` as the shell sees them."""
    with pytest.raises(SystemExit) as info:
        main(["config", "export-sdscripts", *args])
    return info.value.code, capsys.readouterr().err.strip().splitlines()


def test_a_config_config_check_refuses_is_not_exported(project, capsys):
    path = _config(project, {"max_bucket_reso": 256}, full_bf16=True, mixed_precision="fp16",
                   cache_text_encoder_outputs=True)
    code, lines = _main(capsys, str(path), "--yes")
    assert code == 2 and not (project / "c_sdscripts").exists()
    problems = "\n".join(lines[:-1])
    assert all(line.startswith(f"error: {path}: ") for line in lines)
    assert "full_bf16 needs mixed_precision" in problems and "cache_text_encoder_outputs" in problems
    assert "max_bucket_reso (256)" in problems
    assert "--force" in lines[-1] and "nothing written" in lines[-1]


def test_force_exports_anyway_and_says_what_it_carried(project):
    path = _config(project, full_bf16=True, mixed_precision="fp16")
    result = _export(str(path), "--force")
    assert result.exit_code == 0, result.output
    assert "warning:" in result.output and "full_bf16 needs mixed_precision" in result.output
    assert "(exported anyway: --force)" in result.output
    assert (project / "c_sdscripts" / "config.toml").is_file()
    assert _export(str(path), "--force").exit_code == 0  # --force still overwrites an earlier export


def test_a_good_config_exports_and_the_help_names_the_refusal(project):
    path = _config(project)
    assert _export(str(path)).exit_code == 0
    help_text = _export("--help").output
    assert "--force" in help_text and "config check" in help_text and "-y, --yes" in help_text


@pytest.mark.parametrize("value", ["D:/out", "C:\\Users\\me\\lora\\out", "\\\\nas\\out"])
def test_a_windows_output_dir_is_named_not_joined_to_the_config_folder(project, value, capsys):
    path = _config(project)
    text = path.read_text()
    path.write_text(text.replace('output_dir = "output"', f"output_dir = '{value}'"))
    cfg = load_config(path)
    problems = check_paths(cfg)
    assert [p for p in problems if p.startswith("output_dir:")] == [
        f"output_dir: {value} is a Windows path (from a config made on Windows?), which names nothing on this "
        "machine (it is not joined to the config's folder): set [saving] output_dir to a path here"]
    code, lines = _main(capsys, str(path))
    assert code == 2 and "Windows path" in lines[0] and not (project / "c_sdscripts").exists()
    assert str(project / value) not in "\n".join(lines)  # never shown joined
    assert value in lines[0]  # printed as it is, not as a Python repr (doubled backslashes)
    assert "\\" not in value or value.replace("\\", "\\\\") not in "\n".join(lines)


def test_a_hub_repo_id_is_fine_for_the_export_but_not_for_check(project):
    cfg = load_config(_config(project))
    assert export_problems(cfg) == []
    assert any("org/base-model" in p for p in check_paths(cfg))


@pytest.mark.parametrize("precision, expected", [("fp16", True), ("bf16", True), ("no", None)])
@pytest.mark.parametrize("family", ["sdxl", "sd1"])
def test_no_half_vae_is_exported_as_the_engine_keeps_the_vae_in_fp32(project, precision, expected, family):
    path = _config(project, mixed_precision=precision)
    args = build_sdscripts(load_config(path), family).train_args
    assert args.get("no_half_vae") is expected


def test_the_exported_no_half_vae_reaches_the_file(project):
    path = _config(project, mixed_precision="fp16")
    assert _export(str(path)).exit_code == 0
    assert tomllib.loads((project / "c_sdscripts" / "config.toml").read_text())["no_half_vae"] is True


def test_a_missing_folder_with_backslashes_is_printed_as_it_is(tmp_path):
    folder = str(tmp_path / "C:\\Users\\me\\img")
    with pytest.raises(LoratuiError) as info:
        find_subsets(folder, False)
    assert "\\\\" not in str(info.value) and "C:\\Users\\me\\img" in str(info.value)


def test_main_exits_2_with_one_line_per_problem(project, capsys):
    path = _config(project, full_bf16=True, mixed_precision="fp16")
    code, err = _main(capsys, str(path))
    assert code == 2
    assert err[0] == f'error: {path}: full_bf16 needs mixed_precision = "bf16"'
    assert len(err) == 2 and err[1].startswith(f"error: {path}: 1 problem(s) above")



def test_family_override_is_what_gets_checked(project, monkeypatch):
    """--family stands for model_family: a config saying sd1 exported with --family sdxl is checked as sdxl."""
    seen = []
    monkeypatch.setattr("loratui.core.config.export_problems", lambda cfg: seen.append(cfg.model.model_family) or [])
    path = _config(project)
    path.write_text(path.read_text().replace('model_family = "sdxl"', 'model_family = "sd1"'))
    assert load_config(path).model.model_family == "sd1"
    assert _export(str(path), "--family", "sdxl").exit_code == 0
    assert seen == ["sdxl"]
    assert tomllib.loads((project / "c_sdscripts" / "config.toml").read_text())["no_half_vae"] is True
