"""sd-scripts export: both TOML files parsed back with tomllib and checked field by field."""

from __future__ import annotations

import json
import struct
import tomllib

import pytest

from loratui.core.config import config_from_dict, save_config, load_config
from loratui.core.errors import LoratuiError
from loratui.core.config import build_sdscripts, export_sdscripts, find_subsets, guess_model_family


@pytest.fixture
def project(tmp_path):
    img = tmp_path / "img"
    for name, count in [("10_mychar", 3), ("2_mychar outfit", 2), ("notrepeats", 1), ("5_empty", 0)]:
        (img / name).mkdir(parents=True)
        for i in range(count):
            (img / name / f"{i}.png").write_bytes(b"")
            (img / name / f"{i}.txt").write_text("tag")
    (img / ".cache").mkdir()
    reg = tmp_path / "reg"
    (reg / "1_woman").mkdir(parents=True)
    (reg / "1_woman" / "a.jpg").write_bytes(b"")
    return tmp_path


def _cfg(project, **sections):
    data = {
        "model": {"pretrained_model_name_or_path": "models/base.safetensors", "model_family": "sd1"},
        "dataset": {"train_data_dir": "img", "reg_data_dir": "reg", "resolution": [512, 768],
                    "shuffle_caption": True, "keep_tokens": 1, "flip_aug": True,
                    "caption_tag_dropout_rate": 0.1},
        "network": {"network_dim": 32, "network_alpha": 16, "conv_dim": 8, "conv_alpha": 4},
        "optimizer": {"optimizer_type": "adamw8bit", "optimizer_args": ["weight_decay=0.01"],
                      "unet_lr": 2e-4, "lr_scheduler": "cosine_with_restarts", "lr_scheduler_num_cycles": 3,
                      "lr_warmup_steps": 0.05},
        "training": {"max_train_epochs": 10, "train_batch_size": 2, "min_snr_gamma": 5, "clip_skip": 2,
                     "max_token_length": 225, "gradient_checkpointing": True, "noise_offset": 0.05},
        "saving": {"output_dir": "out", "output_name": "mychar", "save_every_n_epochs": 2,
                   "metadata_title": "My char"},
        "sampling": {"sample_prompts": "prompts.txt", "sample_every_n_epochs": 1},
    }
    for section, values in sections.items():
        data[section].update(values)
    path = project / "cfg.toml"
    save_config(config_from_dict(data), path)
    return load_config(path)


def test_export_files_parse_back_field_by_field(project):
    cfg = _cfg(project)
    export, config_path, dataset_path = export_sdscripts(cfg, project / "sd")
    a = tomllib.loads(config_path.read_text())
    root = project.resolve()
    assert a == {
        "pretrained_model_name_or_path": str(root / "models/base.safetensors"),
        "network_module": "networks.lora", "network_dim": 32, "network_alpha": 16.0,
        "network_args": ["conv_dim=8", "conv_alpha=4"],
        "optimizer_type": "AdamW8bit", "learning_rate": 1e-4, "optimizer_args": ["weight_decay=0.01"],
        "unet_lr": 2e-4, "lr_scheduler": "cosine_with_restarts", "lr_warmup_steps": 0.05,
        "lr_scheduler_num_cycles": 3, "max_grad_norm": 1.0,
        "max_train_epochs": 10, "gradient_accumulation_steps": 1, "mixed_precision": "bf16", "no_half_vae": True,
        "gradient_checkpointing": True, "sdpa": True, "noise_offset": 0.05, "min_snr_gamma": 5.0,
        "clip_skip": 2, "max_token_length": 225, "seed": 42, "cache_latents": True,
        "max_data_loader_n_workers": 2, "prior_loss_weight": 1.0,
        "output_dir": str(root / "out"), "output_name": "mychar", "save_model_as": "safetensors",
        "save_precision": "fp16", "save_every_n_epochs": 2, "metadata_title": "My char",
        "sample_prompts": str(root / "prompts.txt"), "sample_sampler": "euler_a", "sample_every_n_epochs": 1,
    }
    ds = tomllib.loads(dataset_path.read_text())
    assert ds["general"] == {"caption_separator": ",", "flip_aug": True, "caption_tag_dropout_rate": 0.1}
    [dataset] = ds["datasets"]
    subsets = dataset.pop("subsets")
    assert dataset == {"resolution": [512, 768], "batch_size": 2, "enable_bucket": True, "min_bucket_reso": 256,
                       "max_bucket_reso": 1024, "bucket_reso_steps": 64, "bucket_no_upscale": False}
    common = {"caption_extension": ".txt", "keep_tokens": 1, "shuffle_caption": True}
    assert subsets == [
        {"image_dir": str(root / "img/10_mychar"), "num_repeats": 10, "class_tokens": "mychar",
         "is_reg": False, **common},
        {"image_dir": str(root / "img/2_mychar outfit"), "num_repeats": 2, "class_tokens": "mychar outfit",
         "is_reg": False, **common},
        {"image_dir": str(root / "reg/1_woman"), "num_repeats": 1, "class_tokens": "woman", "is_reg": True,
         **common},
    ]
    assert export.script == "train_network.py"
    notes = "\n".join(export.notes)
    assert "'notrepeats' has no `N_` repeat prefix" in notes and "5_empty: no images" in notes
    command = export.command(config_path, dataset_path)
    assert command.startswith("accelerate launch") and "train_network.py --config_file" in command
    assert str(dataset_path) in command


def test_sdxl_sd2_and_optional_fields(project):
    cfg = _cfg(project, model={"model_family": "sdxl"}, training={"max_token_length": 75},
               dataset={"enable_bucket": False, "resolution": 1024}, sampling={"sample_prompts": ""})
    export = build_sdscripts(cfg)
    a = export.train_args
    assert export.script == "sdxl_train_network.py" and "v2" not in a
    assert "clip_skip" not in a and any("clip_skip" in note for note in export.notes)
    assert "max_token_length" not in a and "sample_prompts" not in a and "sample_every_n_epochs" not in a
    assert export.dataset["datasets"][0]["resolution"] == 1024
    assert "min_bucket_reso" not in export.dataset["datasets"][0]
    cfg = _cfg(project, model={"model_family": "sd2", "v_parameterization": True},
               network={"conv_dim": 0, "network_train_unet_only": True},
               optimizer={"lr_scheduler": "polynomial", "unet_lr": 1e-4})
    a = build_sdscripts(cfg).train_args
    assert a["v2"] is True and a["v_parameterization"] is True and a["network_train_unet_only"] is True
    assert "network_args" not in a and a["lr_scheduler_power"] == 1.0 and "lr_scheduler_num_cycles" not in a
    assert build_sdscripts(cfg, family="sdxl").script == "sdxl_train_network.py"


def test_auto_family_guess_from_safetensors_header_and_diffusers_folder(project, tmp_path):
    def write_st(path, keys):
        header = json.dumps({k: {"dtype": "F16", "shape": [1], "data_offsets": [0, 2]} for k in keys}).encode()
        path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0\0")
    (project / "models").mkdir()
    st = project / "models" / "base.safetensors"
    write_st(st, ["conditioner.embedders.1.model.ln_final.weight"])
    assert guess_model_family(str(st)) == "sdxl"
    write_st(st, ["cond_stage_model.model.ln_final.weight"])
    assert guess_model_family(str(st)) == "sd2"
    write_st(st, ["cond_stage_model.transformer.text_model.final_layer_norm.weight"])
    assert guess_model_family(str(st)) == "sd1"
    assert build_sdscripts(_cfg(project, model={"model_family": "auto"})).family == "sd1"
    diff = tmp_path / "diffusers"
    (diff / "text_encoder").mkdir(parents=True)
    (diff / "text_encoder" / "config.json").write_text('{"hidden_size": 1024}')
    assert guess_model_family(str(diff)) is None  # no unet/config.json: `train` refuses the folder too
    (diff / "unet").mkdir()
    (diff / "unet" / "config.json").write_text('{"cross_attention_dim": 1024}')
    assert guess_model_family(str(diff)) == "sd2"
    (diff / "text_encoder_2").mkdir()
    assert guess_model_family(str(diff)) == "sdxl"
    assert guess_model_family(str(tmp_path / "nothing")) is None
    write_st(st, ["model.diffusion_model.x"])
    with pytest.raises(LoratuiError, match="model_family is auto"):
        build_sdscripts(_cfg(project, model={"model_family": "auto"}))


def test_export_refusals(project):
    with pytest.raises(LoratuiError, match="train_data_dir is empty"):
        build_sdscripts(_cfg(project, dataset={"train_data_dir": ""}))
    with pytest.raises(LoratuiError, match="pretrained_model_name_or_path is empty"):
        build_sdscripts(_cfg(project, model={"pretrained_model_name_or_path": ""}))
    with pytest.raises(LoratuiError, match="is not a folder"):
        build_sdscripts(_cfg(project, dataset={"train_data_dir": "missing"}))
    (project / "flat").mkdir()
    (project / "flat" / "a.png").write_bytes(b"")
    with pytest.raises(LoratuiError, match="no N_name folders"):
        build_sdscripts(_cfg(project, dataset={"train_data_dir": "flat"}))


def test_find_subsets_zero_repeats(tmp_path):
    (tmp_path / "0_x").mkdir()
    (tmp_path / "0_x" / "a.png").write_bytes(b"")
    (tmp_path / "3_").mkdir()
    (tmp_path / "3_" / "a.webp").write_bytes(b"")
    (tmp_path / "7").mkdir()  # sd-scripts reads a bare number as repeats with no class tokens
    (tmp_path / "7" / "b.png").write_bytes(b"")
    subsets, notes = find_subsets(str(tmp_path), False)
    assert [(s.num_repeats, s.class_tokens, s.image_count) for s in subsets] == [(3, "", 1), (7, "", 1)]
    assert "0 repeats" in notes[0]


# ---- whole or nothing, earlier exports, odd names (issue 11) -------------------------------------

def _listing(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else None


def test_full_disk_writes_neither_file(project, monkeypatch):
    import errno
    import os

    cfg = _cfg(project)
    real = os.write
    calls = []

    def full(fd, data):
        calls.append(fd)
        if len(calls) > 1:  # the config TOML goes through, the dataset TOML does not
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, data)

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(LoratuiError, match="sd: cannot write the sd-scripts files \\(no space left on the device"):
        export_sdscripts(cfg, project / "sd")
    monkeypatch.undo()
    assert not (project / "sd").exists() and not [p for p in project.iterdir() if "loratui-tmp" in p.name]
    export_sdscripts(cfg, project / "sd")
    assert _listing(project / "sd") == ["config.toml", "dataset.toml"]


def test_full_disk_keeps_the_earlier_export_whole(project, monkeypatch):
    import errno
    import os

    cfg = _cfg(project)
    export_sdscripts(cfg, project / "sd")
    before = {p.name: p.read_bytes() for p in (project / "sd").iterdir()}
    cfg.training.max_train_epochs = 3
    monkeypatch.setattr(os, "write", lambda fd, data: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
    with pytest.raises(LoratuiError, match="no space left"):
        export_sdscripts(cfg, project / "sd", overwrite=True)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in (project / "sd").iterdir()} == before


def test_earlier_export_is_overwritten_only_when_asked(project):
    cfg = _cfg(project)
    export_sdscripts(cfg, project / "sd")
    (project / "sd" / "notes.md").write_text("mine")
    cfg.training.max_train_epochs = 3
    with pytest.raises(LoratuiError, match="config.toml: an earlier export is there; nothing was written: pass --yes"):
        export_sdscripts(cfg, project / "sd")
    export_sdscripts(cfg, project / "sd", overwrite=True)
    assert tomllib.loads((project / "sd" / "config.toml").read_text())["max_train_epochs"] == 3
    assert (project / "sd" / "notes.md").read_text() == "mine"  # the rest of the folder is left alone


def test_a_config_toml_this_command_did_not_write_is_never_overwritten(project):
    """`export-sdscripts config.toml -o .` with --yes replaced the user's own config: a file of the same
    name that is not an earlier export is refused, asked or not."""
    cfg = _cfg(project)
    own = project / "config.toml"
    own.write_text("# my loratui config\n[training]\nmax_train_epochs = 4\n")
    before = own.read_bytes()
    for overwrite in (False, True):
        with pytest.raises(LoratuiError, match="config.toml: exists and was not written by `loratui config "
                                               "export-sdscripts`.*nothing was written"):
            export_sdscripts(cfg, project, overwrite=overwrite)
    assert own.read_bytes() == before and not (project / "dataset.toml").exists()


def test_non_utf8_folder_name_is_one_line_and_writes_nothing(project):
    import os

    os.mkdir(os.path.join(os.fsencode(project / "img"), b"3_caf\xe9"))
    (project / "img" / os.fsdecode(b"3_caf\xe9") / "a.png").write_bytes(b"")
    with pytest.raises(LoratuiError) as info:
        export_sdscripts(_cfg(project), project / "sd")
    message = str(info.value)
    assert "3_caf\\xe9: this name is not valid UTF-8" in message and "rename it; nothing was written" in message
    message.encode("utf-8")  # printable
    assert not (project / "sd").exists()


def test_output_dir_that_is_a_file(project):
    (project / "sd").write_text("x")
    with pytest.raises(LoratuiError, match="sd: exists and is not a folder"):
        export_sdscripts(_cfg(project), project / "sd")


def _real_images(project):
    """The fixture's empty image files made 512x512 images (`config check` leaves empty files out)."""
    from PIL import Image

    for path in [*project.rglob("*.png"), *project.rglob("*.jpg")]:
        Image.new("RGB", (512, 512)).save(path, format="PNG" if path.suffix == ".png" else "JPEG")


def test_cli_asks_before_overwriting(project, monkeypatch, capsys):
    from click.testing import CliRunner

    from loratui.cli import cli, main

    # writes project/cfg.toml, one `config check` finds nothing in (the export refuses problems: test_export_check.py)
    _cfg(project, model={"pretrained_model_name_or_path": "runwayml/stable-diffusion-v1-5"})
    (project / "prompts.txt").write_text("a photo\n")
    _real_images(project)
    config = str(project / "cfg.toml")
    result = CliRunner().invoke(cli, ["config", "export-sdscripts", config])
    assert result.exit_code == 0, result.output
    with pytest.raises(SystemExit) as info:  # no terminal: stop, exit 2, one line
        main(["config", "export-sdscripts", config])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "an earlier export is there" in err and "--yes" in err
    monkeypatch.setattr("loratui.commands.config_cmd._interactive", lambda: True)
    result = CliRunner().invoke(cli, ["config", "export-sdscripts", config], input="n\n")
    assert "Overwrite the earlier export" in result.output and "Nothing written." in result.output
    for flag in ("--yes", "--force", "-y"):
        assert CliRunner().invoke(cli, ["config", "export-sdscripts", config, flag]).exit_code == 0


# ---- issue 12: export what `train` would use for a diffusers folder ---------------------------------

def _diffusers_folder(root, *, prediction="v_prediction", cross=1024, hidden=1024, act="gelu", index=True):
    (root / "unet").mkdir(parents=True)
    (root / "text_encoder").mkdir()
    (root / "scheduler").mkdir()
    if index:
        (root / "model_index.json").write_text('{"_class_name": "StableDiffusionPipeline"}')
    (root / "unet" / "config.json").write_text(json.dumps({"cross_attention_dim": cross,
                                                           "use_linear_projection": cross == 1024}))
    (root / "text_encoder" / "config.json").write_text(json.dumps({"hidden_size": hidden, "hidden_act": act}))
    (root / "scheduler" / "scheduler_config.json").write_text(json.dumps({"prediction_type": prediction}))
    return root


@pytest.mark.parametrize("family", ["auto", "sd2"])
def test_sd2_768_v_diffusers_folder_exports_v_parameterization(project, family):
    _diffusers_folder(project / "models" / "sd21")
    cfg = _cfg(project, model={"pretrained_model_name_or_path": "models/sd21", "model_family": family})
    assert cfg.model.v_parameterization is False
    export = build_sdscripts(cfg)
    assert export.family == "sd2" and export.train_args["v2"] is True
    assert export.train_args["v_parameterization"] is True
    assert any("v_prediction" in note and "scheduler_config.json" in note for note in export.notes)


def test_epsilon_folder_exports_no_v_parameterization(project):
    _diffusers_folder(project / "models" / "sd21base", prediction="epsilon")
    cfg = _cfg(project, model={"pretrained_model_name_or_path": "models/sd21base", "model_family": "auto"})
    export = build_sdscripts(cfg)
    assert export.train_args["v2"] is True and "v_parameterization" not in export.train_args


@pytest.mark.parametrize("cross, hidden, act, index, expected", [
    (1024, 1024, "gelu", True, "sd2"),
    (1024, 768, "quick_gelu", False, "sd2"),   # the UNet's cross-attention width alone
    (768, 1024, "gelu", True, "sd2"),          # the text encoder's width alone
    (768, 768, "quick_gelu", True, "sd1"),
])
def test_family_from_a_diffusers_folder(tmp_path, cross, hidden, act, index, expected):
    folder = _diffusers_folder(tmp_path / "m", cross=cross, hidden=hidden, act=act, index=index,
                               prediction="epsilon")
    assert guess_model_family(str(folder)) == expected


def test_sdxl_folder_and_non_folders(tmp_path):
    folder = _diffusers_folder(tmp_path / "xl", cross=2048, hidden=768, act="quick_gelu", index=False)
    (folder / "text_encoder_2").mkdir()
    assert guess_model_family(str(folder)) == "sdxl"
    (folder / "model_index.json").write_text('{"_class_name": "StableDiffusionXLPipeline", '
                                             '"text_encoder": ["transformers", "CLIPTextModel"]}')
    assert guess_model_family(str(folder)) == "sdxl"
    (folder / "model_index.json").write_text('{"_class_name": "StableDiffusionXLImg2ImgPipeline"}')
    assert guess_model_family(str(folder)) is None  # the refiner: `train` refuses it
    (tmp_path / "empty").mkdir()
    assert guess_model_family(str(tmp_path / "empty")) is None
    bad = _diffusers_folder(tmp_path / "bad")
    (bad / "unet" / "config.json").write_text("{not json")
    assert guess_model_family(str(bad)) is None


def test_lycoris_network_args_are_written_as_sd_scripts_splits_them(project):
    """hunt9: "algo = loha" trains a LoHa in loratui (it strips), but sd-scripts splits on "=" without
    stripping: the key "algo " is unknown to LyCORIS and it trains a LoCon."""
    cfg = _cfg(project, network={"network_module": "lycoris.kohya", "conv_dim": 0,
                                 "network_args": ["algo = loha", " conv_dim=4", "conv_alpha= 1"]})
    a = build_sdscripts(cfg).train_args
    assert a["network_args"] == ["algo=loha", "conv_dim=4", "conv_alpha=1"]


def test_clip_skip_1_and_the_description_reach_sd_scripts_metadata(project):
    """sd-scripts writes ss_clip_skip / modelspec.encoder_layer only when clip_skip is passed (kohya_ss
    always passes it, 1 included) and ss_training_comment from training_comment: what loratui's own
    saves write, so a run from the export writes the same."""
    a = build_sdscripts(_cfg(project, training={"clip_skip": 1},
                             saving={"metadata_description": "trigger: sks dog"})).train_args
    assert a["clip_skip"] == 1 and a["training_comment"] == "trigger: sks dog"
    assert a["metadata_description"] == "trigger: sks dog"
    assert "training_comment" not in build_sdscripts(_cfg(project)).train_args
