"""Config keys checked as sd-scripts and `train` read them (hunt h7): network_weights' rank, alpha and LoCon conv
layers and the VAE file at `config check` time (headers only), an integer warmup and cache_text_encoder_outputs
in the sd-scripts export, and the warmup's help."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest
from click.testing import CliRunner
from safetensors.numpy import save_file

from loratui.cli import cli
from loratui.core.config import build_sdscripts, check_paths, config_from_dict, export_sdscripts, field_help

UNET_ATTN = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q"
UNET_CONV = "lora_unet_down_blocks_0_resnets_0_conv1"
UNET_TIME = "lora_unet_down_blocks_0_resnets_0_time_emb_proj"
TE_FC1 = "lora_te_text_model_encoder_layers_0_mlp_fc1"


def _layer(name: str, rank: int, alpha: float, conv: bool = False) -> dict[str, np.ndarray]:
    down = np.zeros((rank, 32, 3, 3) if conv else (rank, 32), np.float16)
    up = np.zeros((32, rank, 1, 1) if conv else (32, rank), np.float16)
    return {f"{name}.lora_down.weight": down, f"{name}.lora_up.weight": up,
            f"{name}.alpha": np.array(alpha, np.float16)}


def _lora(path, *layers) -> str:
    tensors = {}
    for layer in layers:
        tensors.update(layer)
    save_file(tensors, str(path))
    return str(path)


def _problems(tmp_path, key: str, **sections) -> list[str]:
    cfg = config_from_dict(sections)
    cfg.config_dir = tmp_path
    return [p for p in check_paths(cfg) if p.startswith(key)]


@pytest.fixture
def locon(tmp_path):
    """A LoCon made with network_dim 8 / alpha 4 and conv_dim 4 / conv_alpha 1 (what sd-scripts writes)."""
    return _lora(tmp_path / "locon.safetensors", _layer(UNET_ATTN, 8, 4), _layer(UNET_TIME, 8, 4),
                 _layer(UNET_CONV, 4, 1, conv=True), _layer(TE_FC1, 8, 4))


def test_a_locon_file_with_conv_dim_0_names_conv_dim_and_conv_alpha(tmp_path, locon):
    problems = _problems(tmp_path, "network.network_weights",
                         network={"network_weights": "locon.safetensors", "network_dim": 8, "network_alpha": 4})
    assert problems == [f"network.network_weights ({locon}) has LoCon conv layers (conv rank 4, e.g. {UNET_CONV}) "
                        "but conv_dim is 0: set conv_dim = 4 (and conv_alpha = 1)"]


def test_the_matching_network_passes(tmp_path, locon):
    network = {"network_weights": "locon.safetensors", "network_dim": 8, "network_alpha": 4, "conv_dim": 4,
               "conv_alpha": 1}
    assert _problems(tmp_path, "network.network_weights", network=network) == []


def test_rank_conv_rank_and_alpha_mismatches_are_one_line_each(tmp_path, locon):
    network = {"network_weights": "locon.safetensors", "network_dim": 16, "network_alpha": 4, "conv_dim": 8,
               "conv_alpha": 2}
    problems = _problems(tmp_path, "network.network_weights", network=network)
    assert problems == [
        f"network.network_weights ({locon}): {TE_FC1} has rank 8 but this network has rank 16; set network_dim = 8",
        f"network.network_weights ({locon}): {UNET_CONV} has rank 4 but this network has rank 8; set conv_dim = 4",
        f"network.network_weights ({locon}): {UNET_CONV} was trained with alpha 1 but conv_alpha is 2; "
        "set conv_alpha = 1",
    ]
    network.update(network_dim=8, network_alpha=0, conv_dim=4, conv_alpha=1)  # alpha 0 means alpha = dim (8)
    assert _problems(tmp_path, "network.network_weights", network=network) == [
        f"network.network_weights ({locon}): {TE_FC1} was trained with alpha 4 but network_alpha is 8; "
        "set network_alpha = 4"]


def test_the_untrained_part_is_not_checked(tmp_path):
    # the engine leaves the part network_train_unet_only does not train out (sd-scripts loads non-strict)
    _lora(tmp_path / "mixed.safetensors", _layer(UNET_ATTN, 8, 4), _layer(TE_FC1, 16, 4))
    network = {"network_weights": "mixed.safetensors", "network_dim": 8, "network_alpha": 4}
    assert len(_problems(tmp_path, "network.network_weights", network=network)) == 1
    network["network_train_unet_only"] = True
    assert _problems(tmp_path, "network.network_weights", network=network) == []


def test_not_a_lora_and_not_safetensors_are_named(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    save_file({"encoder.conv_in.weight": np.zeros((2, 2), np.float32)}, str(tmp_path / "vae.safetensors"))
    [txt] = _problems(tmp_path, "network.network_weights", network={"network_weights": "notes.txt"})
    assert txt == f"network.network_weights: {tmp_path / 'notes.txt'} must be a .safetensors file (a kohya-format LoRA)"
    [vae] = _problems(tmp_path, "network.network_weights", network={"network_weights": "vae.safetensors"})
    assert "not a kohya-format LoRA" in vae and str(tmp_path / "vae.safetensors") in vae


def test_a_loha_file_with_networks_lora_names_lycoris(tmp_path):
    tensors = {f"{UNET_ATTN}.{k}": np.zeros((4, 32) if k.endswith("_b") else (32, 4), np.float16)
               for k in ("hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b")}
    save_file(tensors, str(tmp_path / "loha.safetensors"))
    [line] = _problems(tmp_path, "network.network_weights", network={"network_weights": "loha.safetensors"})
    assert "LoHa (LyCORIS), which networks.lora cannot load: set network_module = \"lycoris.kohya\"" in line
    lycoris = {"network_weights": "loha.safetensors", "network_module": "lycoris.kohya",
               "network_args": ["algo=loha"]}
    assert _problems(tmp_path, "network.network_weights", network=lycoris) == []


# ---------------------------------------------------------------- model.vae


def _vae_tensors(prefix: str = "", latent: int = 4, diffusers: bool = False) -> dict[str, np.ndarray]:
    down = "encoder.down_blocks.0.resnets.0.conv1.weight" if diffusers else "encoder.down.0.block.0.conv1.weight"
    return {prefix + k: np.zeros(shape, np.float16) for k, shape in (
        ("encoder.conv_in.weight", (32, 3, 3, 3)), (down, (32, 32, 3, 3)),
        ("decoder.conv_in.weight", (64, latent, 3, 3)), ("quant_conv.weight", (2 * latent, 2 * latent, 1, 1)),
        ("post_quant_conv.weight", (latent, latent, 1, 1)))}


@pytest.mark.parametrize("tensors", [_vae_tensors(), _vae_tensors(diffusers=True),
                                     _vae_tensors("first_stage_model.")], ids=["ldm", "diffusers", "checkpoint"])
def test_a_vae_in_either_layout_passes(tmp_path, tensors):
    save_file(tensors, str(tmp_path / "vae.safetensors"))
    assert _problems(tmp_path, "model.vae", model={"vae": "vae.safetensors"}) == []


def test_a_text_file_a_lora_and_a_16_channel_vae_are_refused_naming_the_file(tmp_path, locon):
    (tmp_path / "prompts.txt").write_text("a cat\n")
    [txt] = _problems(tmp_path, "model.vae", model={"vae": "prompts.txt"})
    assert txt.startswith(f"model.vae: {tmp_path / 'prompts.txt'}: unsupported file type '.txt'")
    [lora] = _problems(tmp_path, "model.vae", model={"vae": "locon.safetensors"})
    assert lora.startswith(f"model.vae: {locon} is a LoRA (lora_unet_* / lora_te* tensors), not a VAE: ")
    save_file(_vae_tensors(latent=16), str(tmp_path / "flux_vae.safetensors"))
    [flux] = _problems(tmp_path, "model.vae", model={"vae": "flux_vae.safetensors"})
    assert "16 latent channels" in flux
    (tmp_path / "cut.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{}")
    [cut] = _problems(tmp_path, "model.vae", model={"vae": "cut.safetensors"})
    assert cut.startswith(f"model.vae: {tmp_path / 'cut.safetensors'}: ")
    assert all("\n" not in line for line in (txt, lora, flux, cut))


def test_vae_folders(tmp_path):
    folder = tmp_path / "vae_folder"
    folder.mkdir()
    [empty] = _problems(tmp_path, "model.vae", model={"vae": "vae_folder"})
    assert "without config.json" in empty
    (folder / "config.json").write_text('{"_class_name": "AutoencoderKL"}')
    [no_weights] = _problems(tmp_path, "model.vae", model={"vae": "vae_folder"})
    assert "no diffusion_pytorch_model.safetensors" in no_weights
    save_file(_vae_tensors(diffusers=True), str(folder / "diffusion_pytorch_model.safetensors"))
    assert _problems(tmp_path, "model.vae", model={"vae": "vae_folder"}) == []
    model = tmp_path / "model"  # a whole diffusers model: its vae/ is read
    (model / "vae").mkdir(parents=True)
    (model / "vae" / "config.json").write_text('{"_class_name": "AutoencoderKL"}')
    save_file(_vae_tensors(diffusers=True), str(model / "vae" / "diffusion_pytorch_model.safetensors"))
    assert _problems(tmp_path, "model.vae", model={"vae": "model"}) == []
    (folder / "config.json").write_text('{"_class_name": "UNet2DConditionModel"}')
    [unet] = _problems(tmp_path, "model.vae", model={"vae": "vae_folder"})
    assert "describes a UNet2DConditionModel, not a VAE" in unet


def test_config_check_refuses_a_bad_vae_before_any_model_loads(tmp_path):
    (tmp_path / "prompts.txt").write_text("a cat\n")
    (tmp_path / "c.toml").write_text('[model]\nvae = "prompts.txt"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["config", "check", str(tmp_path / "c.toml")])
    assert result.exit_code == 1 and "model.vae: " in result.output and "unsupported file type '.txt'" in result.output


# ---------------------------------------------------------------- sd-scripts export


@pytest.fixture
def project(tmp_path):
    (tmp_path / "img" / "10_cat").mkdir(parents=True)
    (tmp_path / "img" / "10_cat" / "a.png").write_bytes(b"")
    return tmp_path


def _cfg(project, family="sd1", **optimizer):
    cfg = config_from_dict({"model": {"pretrained_model_name_or_path": "base.safetensors", "model_family": family},
                            "dataset": {"train_data_dir": "img", "shuffle_caption": False},
                            "network": {"network_train_unet_only": True},
                            "training": {"cache_text_encoder_outputs": True},
                            "optimizer": {"lr_scheduler": "cosine", **optimizer}})
    cfg.config_dir = project
    return cfg


def test_an_integer_warmup_is_scaled_by_the_process_count(project):
    export = build_sdscripts(_cfg(project, lr_warmup_steps=10), num_processes=4)
    assert export.train_args["lr_warmup_steps"] == 40
    assert any("lr_warmup_steps = 40: 10 optimizer steps on 4 processes" in line for line in export.comments)
    assert "--multi_gpu --num_processes 4 " in export.command("c.toml", "d.toml")
    one = build_sdscripts(_cfg(project, lr_warmup_steps=10), num_processes=1)
    assert one.train_args["lr_warmup_steps"] == 10 and not any("warmup" in c for c in one.comments)
    assert "--num_processes" not in one.command("c.toml", "d.toml")


def test_a_ratio_warmup_is_kept_whatever_the_processes(project):
    for processes in (None, 1, 4):
        export = build_sdscripts(_cfg(project, lr_warmup_steps=0.1), num_processes=processes)
        assert export.train_args["lr_warmup_steps"] == 0.1
        assert not any("multiplied" in c or "x N" in c for c in export.comments)


def test_an_unknown_process_count_writes_a_comment_line_in_the_toml(project):
    export, config_path, _ = export_sdscripts(_cfg(project, lr_warmup_steps=10), project / "sd")
    text = config_path.read_text(encoding="utf-8")
    assert tomllib.loads(text)["lr_warmup_steps"] == 10
    [line] = [line for line in text.splitlines() if line.startswith("# lr_warmup_steps")]
    assert "on N processes (GPUs) set it to 10 x N here" in line
    assert "--num_processes" not in export.command("c.toml", "d.toml")


@pytest.mark.parametrize("family, kept", [("sd1", False), ("sd2", False), ("sdxl", True)])
def test_cache_text_encoder_outputs_is_exported_for_sdxl_only(project, family, kept):
    export = build_sdscripts(_cfg(project, family))
    assert ("cache_text_encoder_outputs" in export.train_args) is kept
    said = [c for c in export.comments if c.startswith("cache_text_encoder_outputs left out")]
    assert bool(said) is not kept
    if not kept:
        assert "text encoder runs each step there" in said[0]


def test_the_sd1_export_file_says_why_the_key_is_missing(project):
    _, config_path, _ = export_sdscripts(_cfg(project), project / "sd")
    text = config_path.read_text(encoding="utf-8")
    assert "cache_text_encoder_outputs" not in tomllib.loads(text)
    assert "\n# cache_text_encoder_outputs left out: sd-scripts' train_network.py" in text


def test_the_warmup_help_says_how_sd_scripts_counts_it():
    text = field_help("optimizer", "lr_warmup_steps")
    assert "optimizer steps" in text and "multiplied by N" in text and "export-sdscripts" in text


def test_export_sdscripts_takes_the_process_count_from_the_command_line(tmp_path):
    """`config export-sdscripts --num-processes N` is how a user gives N: the warmup is written x N."""
    import re
    import tomllib

    from click.testing import CliRunner

    from loratui.cli import cli

    runner = CliRunner()
    config = tmp_path / "c.toml"
    (tmp_path / "img" / "10_cat").mkdir(parents=True)
    from PIL import Image

    Image.new("RGB", (64, 64)).save(tmp_path / "img" / "10_cat" / "a.png")
    made = runner.invoke(cli, ["config", "new", str(config), "--train-data-dir", str(tmp_path / "img"),
                               "--model", str(tmp_path / "base.safetensors"), "--family", "sd1"])
    assert made.exit_code == 0, made.output
    text = config.read_text(encoding="utf-8")
    config.write_text(re.sub(r"(?m)^lr_warmup_steps = .*$", "lr_warmup_steps = 10", text), encoding="utf-8")
    result = runner.invoke(cli, ["config", "export-sdscripts", str(config), "-o", str(tmp_path / "out"),
                                 "--family", "sd1", "--num-processes", "2", "--force", "--yes"])
    assert result.exit_code == 0, result.output
    assert tomllib.loads((tmp_path / "out" / "config.toml").read_text())["lr_warmup_steps"] == 20
    assert "--multi_gpu --num_processes 2" in result.output
    bad = runner.invoke(cli, ["config", "export-sdscripts", str(config), "--num-processes", "0"])
    assert bad.exit_code == 2
