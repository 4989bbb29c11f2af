"""`loratui config ...` through click's CliRunner on loratui.cli.cli (plus one real process for exit codes)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from loratui.cli import cli
from loratui.core.config import ConfigError, load_config
from loratui.core.errors import LoratuiError

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture
def runner(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "img" / "10_mychar").mkdir(parents=True)
    from PIL import Image

    Image.new("RGB", (64, 64), "red").save(tmp_path / "img" / "10_mychar" / "a.png")
    return CliRunner()


def run(runner, *args):
    return runner.invoke(cli, ["config", *args], catch_exceptions=True)


def test_new_writes_commented_config_and_refuses_overwrite(runner, tmp_path):
    (tmp_path / "proj").mkdir()
    result = run(runner, "new", "proj/cfg.toml", "--train-data-dir", "img", "--model", "org/model",
                 "--family", "sdxl", "--output-dir", "out")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "proj" / "cfg.toml").read_text()
    assert "# LoRA rank" in text
    cfg = load_config(tmp_path / "proj" / "cfg.toml")
    assert cfg.dataset.train_data_dir == "../img"  # relative to the config's folder
    assert cfg.saving.output_dir == "../out" and cfg.model.pretrained_model_name_or_path == "org/model"
    assert cfg.model.model_family == "sdxl" and cfg.dataset.resolution == (1024, 1024)
    assert cfg.saving.output_name == "cfg" and cfg.training.max_train_epochs == 10
    result = run(runner, "new", "proj/cfg.toml")
    assert isinstance(result.exception, LoratuiError) and "already exists" in str(result.exception)
    assert (tmp_path / "proj" / "cfg.toml").read_text() == text
    result = run(runner, "new", "nowhere/cfg.toml")
    assert "is not a folder" in str(result.exception)


def test_check_ok_and_problems(runner, tmp_path):
    # a local model: a Hugging Face repo id ("org/model") is a problem for training (it reads local files)
    assert run(runner, "new", "c.toml", "--train-data-dir", "img", "--model", _local_model()).exit_code == 0
    result = run(runner, "check", "c.toml")
    assert result.exit_code == 0 and result.output.splitlines()[0] == "ok"
    Path("bad.toml").write_text('[network]\nnetwork_dim = "sixteen"\n[training]\nlearning_rate = 1\n')
    result = run(runner, "check", "bad.toml")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "bad.toml, line 2: network_dim: must be an integer from 1 to 1024, got 'sixteen'",
        "bad.toml, line 4: learning_rate: belongs in [optimizer], not [training]",
        "bad.toml: pretrained_model_name_or_path is empty: set the base model in [model]",  # paths too: every problem
        "bad.toml: train_data_dir is empty: set the training images folder in [dataset]",
    ]
    Path("x.toml").write_text('[network]\nnetwork_train_unet_only = true\nnetwork_train_text_encoder_only = true\n'
                              '[dataset]\ntrain_data_dir = "missing"\n')
    result = run(runner, "check", "x.toml")
    assert result.exit_code == 1
    assert "x.toml: network_train_unet_only and network_train_text_encoder_only are both true" in result.output
    assert "train_data_dir: folder" in result.output and "pretrained_model_name_or_path is empty" in result.output
    Path("syntax.toml").write_text('[model]\nvae = "unclosed\n')
    result = run(runner, "check", "syntax.toml")
    assert result.exit_code == 1 and result.output.startswith("syntax.toml, line 2: not valid TOML")


def test_explain(runner):
    result = run(runner, "explain", "network_dim")
    assert result.exit_code == 0
    assert result.output.startswith("[network] network_dim  (integer, default 16; from 1 to 1024)")
    assert "LoRA rank" in result.output
    assert "one of AdamW" in run(runner, "explain", "optimizer.optimizer_type").output
    assert "default unset" in run(runner, "explain", "max_train_epochs").output
    section = run(runner, "explain", "sampling").output
    assert "sample_prompts" in section and "network_dim" not in section
    everything = run(runner, "explain").output
    from loratui.core.config import FIELDS
    assert everything.count("\n\n[") == len(FIELDS) - 1
    result = run(runner, "explain", "netwrk_dim")
    assert str(result.exception) == "netwrk_dim: no such config key (did you mean 'network_dim'?)"


def test_show_prints_effective_config(runner):
    Path("c.toml").write_text('[network]\nnetwork_dim = 8\n')
    result = run(runner, "show", "c.toml")
    assert result.exit_code == 0
    data = tomllib.loads(result.output)
    assert data["network"]["network_dim"] == 8 and data["optimizer"]["optimizer_type"] == "AdamW8bit"
    assert "# max_train_epochs = (unset)" in result.output and "LoRA rank" not in result.output
    assert "no such config file" in str(run(runner, "show", "missing.toml").exception)


def test_import_kohya_report_and_output(runner, tmp_path):
    src = DATA / "kohya_ss_sd15_standard.json"
    result = run(runner, "import-kohya", str(src))
    assert result.exit_code == 0
    assert "epoch -> training.max_train_epochs" in result.output
    assert "conv_dim: LoRA_type 'Standard' does not train conv layers" in result.output
    assert "nothing written" in result.output and not list(Path().glob("*.toml"))
    result = run(runner, "import-kohya", str(src), "-o", "mine.toml")
    assert result.exit_code == 0, result.output
    cfg = load_config("mine.toml")
    assert cfg.sampling.sample_prompts == "mine.prompts.txt"
    assert Path("mine.prompts.txt").read_text().startswith("mychar, 1girl")
    assert cfg.network.network_train_unet_only is True
    result = run(runner, "import-kohya", str(src), "-o", "mine.toml")
    assert "already exists" in str(result.exception)
    Path("other.prompts.txt").write_text("my own prompts\n")  # never overwritten: the next free name
    assert run(runner, "import-kohya", str(src), "-o", "other.toml").exit_code == 0
    assert Path("other.prompts.txt").read_text() == "my own prompts\n"
    assert load_config("other.toml").sampling.sample_prompts == "other.prompts-1.txt"
    Path("same.prompts.txt").write_text(Path("mine.prompts.txt").read_text())  # the same prompts: reused
    result = run(runner, "import-kohya", str(src), "-o", "same.toml")
    assert "sample_prompts uses same.prompts.txt" in result.output and not Path("same.prompts-1.txt").exists()
    result = run(runner, "import-kohya", str(DATA / "kohya_ss_sd2_loha_dadapt.json"))
    assert result.exit_code == 0 and "lycoris.kohya with algo=loha" in result.output
    result = run(runner, "import-kohya", str(DATA / "kohya_ss_sd2_loha_dadapt.json"), "--as-lora")
    assert result.exit_code == 0 and "imported as a plain LoRA" in result.output


def test_export_sdscripts(runner, tmp_path):
    assert run(runner, "new", "c.toml", "--train-data-dir", "img", "--model", "org/base-model",
               "--family", "sd1").exit_code == 0  # a repo id: sd-scripts downloads it, the export takes it
    result = run(runner, "export-sdscripts", "c.toml")
    assert result.exit_code == 0, result.output
    out = tmp_path / "c_sdscripts"
    args = tomllib.loads((out / "config.toml").read_text())
    dataset = tomllib.loads((out / "dataset.toml").read_text())
    assert args["network_module"] == "networks.lora" and args["output_name"] == "c"
    assert dataset["datasets"][0]["subsets"][0]["num_repeats"] == 10
    assert "train_network.py --config_file" in result.output
    result = run(runner, "export-sdscripts", "c.toml", "-o", "elsewhere", "--family", "sdxl")
    assert result.exit_code == 0 and "sdxl_train_network.py" in result.output
    assert (tmp_path / "elsewhere" / "dataset.toml").is_file()


def test_bad_config_gives_one_line_error_and_exit_2_without_traceback(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[network]\nnetwork_dim = 0\n")
    proc = subprocess.run([sys.executable, "-m", "loratui", "config", "show", str(bad)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr == f"error: {bad}, line 2: network_dim: must be an integer from 1 to 1024, got 0\n"
    assert isinstance(ConfigError("x"), LoratuiError)


def test_config_new_in_a_project_folder_uses_its_folders(tmp_path):
    for name in ("img", "reg", "model"):
        (tmp_path / name).mkdir()
    result = CliRunner().invoke(cli, ["config", "new", str(tmp_path / "alice.toml")], catch_exceptions=False)
    assert "output_dir = model" in result.output and "reg_data_dir" not in result.output
    cfg = load_config(tmp_path / "alice.toml")
    assert (cfg.dataset.train_data_dir, cfg.dataset.reg_data_dir, cfg.saving.output_dir) == ("img", "", "model")


def test_config_new_says_when_it_uses_the_reg_folder(tmp_path):
    (tmp_path / "img" / "10_alice").mkdir(parents=True)
    (tmp_path / "reg" / "1_woman").mkdir(parents=True)
    for i in range(3):
        (tmp_path / "reg" / "1_woman" / f"{i}.png").write_bytes(b"x")
    result = CliRunner().invoke(cli, ["config", "new", str(tmp_path / "alice.toml")], catch_exceptions=False)
    assert "reg_data_dir = reg: its 3 regularization image(s) are used, which doubles the steps" in result.output
    assert load_config(tmp_path / "alice.toml").dataset.reg_data_dir == "reg"
    (tmp_path / "reg" / "notes").mkdir()  # a reg/ with only a stray folder is not used
    other = tmp_path / "other"
    (other / "reg" / "notes").mkdir(parents=True)
    CliRunner().invoke(cli, ["config", "new", str(other / "b.toml")], catch_exceptions=False)
    assert load_config(other / "b.toml").dataset.reg_data_dir == ""


def _local_model() -> str:
    """The tiny SD1 model in the current folder (check_paths reads its layout and headers)."""
    from fixtures.tiny_models import make_tiny_sd1

    make_tiny_sd1(Path("models") / "base")
    return "models/base"


def test_check_reports_a_missing_package_as_train_would(runner, tmp_path, monkeypatch):
    assert run(runner, "new", "c.toml", "--train-data-dir", "img", "--model", _local_model()).exit_code == 0
    text = Path("c.toml").read_text()
    Path("x.toml").write_text(text.replace("xformers = false", "xformers = true").replace("sdpa = true",
                                                                                         "sdpa = false"))
    assert load_config("x.toml").training.xformers is True
    monkeypatch.setattr("loratui.core.config.packages.installed", lambda name: name != "xformers")
    result = run(runner, "check", "x.toml")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "x.toml: training.xformers is true but xformers is not installed: pip install xformers, or use sdpa = true"]
    monkeypatch.setattr("loratui.core.config.packages.installed", lambda name: name not in ("bitsandbytes",))
    cfg = load_config("c.toml")
    result = run(runner, "check", "c.toml")
    assert result.exit_code == 1 and cfg.optimizer.optimizer_type in result.output
    assert "needs the bitsandbytes package: pip install bitsandbytes" in result.output


def test_core_package_table_matches_the_engine():
    pytest.importorskip("torch")
    from loratui.core.config.packages import OPTIMIZER_PACKAGES
    from loratui.engine.optim import NEEDS

    assert OPTIMIZER_PACKAGES == NEEDS


def test_config_new_picks_cpu_friendly_defaults_without_a_gpu(tmp_path, monkeypatch):
    """No NVIDIA GPU: AdamW and fp32 (about 10x faster on a CPU), said in a note; LORATUI_GPU=1 keeps the GPU ones."""
    from click.testing import CliRunner

    from loratui.core.config import load_config

    monkeypatch.setenv("LORATUI_GPU", "0")
    result = CliRunner().invoke(cli, ["config", "new", str(tmp_path / "cpu.toml")])
    assert result.exit_code == 0 and "note: no NVIDIA GPU here" in result.output
    cfg = load_config(tmp_path / "cpu.toml")
    assert (cfg.optimizer.optimizer_type, cfg.training.mixed_precision) == ("AdamW", "no")
    monkeypatch.setenv("LORATUI_GPU", "1")
    result = CliRunner().invoke(cli, ["config", "new", str(tmp_path / "gpu.toml")])
    assert result.exit_code == 0 and "NVIDIA" not in result.output
    cfg = load_config(tmp_path / "gpu.toml")
    assert (cfg.optimizer.optimizer_type, cfg.training.mixed_precision) == ("AdamW8bit", "bf16")


def test_check_reports_what_train_refuses_in_the_dataset_naming_the_image(runner, tmp_path):
    """A 64x512 image with bucket_no_upscale gets no bucket: check said ok, train refused it
    without naming the file."""
    from PIL import Image

    assert run(runner, "new", "c.toml", "--train-data-dir", "img", "--model", _local_model()).exit_code == 0
    for name in ("thin.png", "thin2.png"):
        Image.new("RGB", (16, 512), "blue").save(tmp_path / "img" / "10_mychar" / name)
    text = Path("c.toml").read_text().replace("bucket_no_upscale = false", "bucket_no_upscale = true")
    Path("c.toml").write_text(text)
    assert load_config("c.toml").dataset.bucket_no_upscale
    result = run(runner, "check", "c.toml")
    assert result.exit_code == 1, result.output
    (line,) = result.output.splitlines()
    assert "10_mychar/thin" in line and "(and 1 more image(s) like it)" in line and "16x512" in line


def test_check_lists_paths_beside_bad_values_and_notes_the_datasets_problems(runner, tmp_path):
    """A value error hid a missing base model; an "ok" config said nothing of captions train warns about."""
    assert run(runner, "new", "c.toml", "--train-data-dir", "img", "--model", _local_model()).exit_code == 0
    text = Path("c.toml").read_text()
    Path("bad.toml").write_text(text.replace('"models/base"', '"models/gone.safetensors"').replace("network_dim = 16",
                                                                                     'network_dim = "x"'))
    result = run(runner, "check", "bad.toml")
    assert result.exit_code == 1
    assert "network_dim: must be an integer" in result.output
    assert f"pretrained_model_name_or_path: {tmp_path / 'models' / 'gone.safetensors'} does not exist" in result.output
    (tmp_path / "img" / "10_mychar" / "a.txt").write_bytes(b"\xff\xfe not utf-8")
    (tmp_path / "img" / "10_mychar" / "b.png").write_bytes(b"")
    result = run(runner, "check", "c.toml")
    assert result.exit_code == 0 and result.stdout.splitlines()[0] == "ok"
    assert f"note: the dataset has 2 error(s); training warns about each (`loratui dataset scan {tmp_path / 'img'}`" \
        in result.stderr
    assert "a.txt is not UTF-8" in result.stderr and "b.png: empty file" in result.stderr
