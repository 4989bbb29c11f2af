"""kohya_ss GUI JSON import: each fixture's mapped and ignored keys, semantics and refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loratui.core.config import config_to_dict, dumps_config, loads_config, validate
from loratui.core.errors import LoratuiError
from loratui.core.config import import_kohya, import_kohya_file

DATA = Path(__file__).resolve().parent.parent / "data"
SD15 = DATA / "kohya_ss_sd15_standard.json"
SDXL = DATA / "kohya_ss_sdxl_locon_prodigy.json"
LOHA = DATA / "kohya_ss_sd2_loha_dadapt.json"


def _load(path):
    return json.loads(path.read_text())


@pytest.fixture(autouse=True)
def no_xformers(monkeypatch):
    """The import keeps xformers only when the package is installed: tests decide which."""
    monkeypatch.setattr("loratui.core.config.packages.installed", lambda name: name != "xformers")


@pytest.mark.parametrize("path", [SD15, SDXL, LOHA])
def test_every_key_is_reported_exactly_once_and_result_is_valid(path):
    cfg, report = import_kohya_file(path, as_lora=True)
    keys = set(_load(path))
    mapped = {k for k, _, _ in report.mapped}
    ignored = [k for k, _ in report.ignored]
    assert len(ignored) == len(set(ignored))
    assert not mapped & set(ignored)
    assert mapped | set(ignored) == keys
    assert all(reason for _, reason in report.ignored)
    assert loads_config(dumps_config(cfg)) == cfg  # saves and loads back
    # LOHA is DAdaptation with unet_lr 1 and text_encoder_lr 0.5: as Prodigy that is refused (and said on import)
    assert [p for p in validate(cfg) if not (path == LOHA and p.startswith("Prodigy needs one learning rate"))] == []


def test_sd15_standard_values():
    cfg, report = import_kohya_file(SD15)
    d = config_to_dict(cfg)
    assert d["model"] == {"pretrained_model_name_or_path": "/data/models/anything-v5.safetensors",
                          "model_family": "sd1", "v_parameterization": False, "vae": ""}
    assert d["dataset"]["resolution"] == 512 and d["dataset"]["keep_tokens"] == 1
    assert d["dataset"]["caption_extension"] == ".txt" and d["dataset"]["shuffle_caption"] is True
    assert d["dataset"]["max_data_loader_n_workers"] == 0
    assert d["network"]["network_dim"] == 16 and d["network"]["network_alpha"] == 8.0
    assert d["network"]["conv_dim"] == 0  # Standard: kohya does not pass conv_dim
    assert d["network"]["network_train_unet_only"] is True  # text_encoder_lr 0, unet_lr set
    o = d["optimizer"]
    assert o["optimizer_type"] == "AdamW8bit" and o["optimizer_args"] == ["weight_decay=0.01", "betas=0.9,0.99"]
    assert o["unet_lr"] == 1e-4 and "text_encoder_lr" not in o
    assert o["lr_scheduler"] == "cosine_with_restarts" and o["lr_scheduler_num_cycles"] == 3
    assert o["lr_warmup_steps"] == 0.1  # 10 percent
    t = d["training"]
    assert t["max_train_epochs"] == 10 and "max_train_steps" not in t
    assert (t["xformers"], t["sdpa"]) == (False, True)  # "xformers", not installed: sdpa
    assert t["noise_offset"] == 0.05 and t["min_snr_gamma"] == 5.0
    assert t["clip_skip"] == 2 and t["max_token_length"] == 150 and t["seed"] == 1234
    assert t["mixed_precision"] == "fp16"
    s = d["saving"]
    assert s["save_every_n_epochs"] == 2 and "save_every_n_steps" not in s
    assert d["sampling"]["sample_every_n_epochs"] == 2 and d["sampling"]["sample_sampler"] == "euler_a"
    assert report.prompts_text.startswith("mychar, 1girl, smile --w 512")
    ignored = dict(report.ignored)
    assert ignored["conv_dim"] == "LoRA_type 'Standard' does not train conv layers in kohya_ss"
    assert "`loratui train CONFIG --processes N`" in ignored["num_processes"]
    assert "events file" in ignored["wandb_api_key"]
    assert ignored["stop_text_encoder_training"] == "the kohya_ss GUI itself ignores it"
    assert "0 (off)" in ignored["sample_every_n_steps"]
    assert "wandb-secret-key" not in "\n".join(report.lines())  # values of ignored keys never echoed


def test_sdxl_locon_prodigy_values():
    cfg, report = import_kohya_file(SDXL)
    assert cfg.model.model_family == "sdxl"
    assert cfg.model.vae == "/data/models/sdxl_vae.safetensors"
    assert (cfg.network.conv_dim, cfg.network.conv_alpha) == (8, 4.0)
    assert cfg.network.network_dropout == 0.1
    assert cfg.optimizer.optimizer_type == "Prodigy" and cfg.optimizer.learning_rate == 1.0
    assert "d_coef=2" in cfg.optimizer.optimizer_args
    assert cfg.optimizer.lr_warmup_steps == 0  # constant scheduler: its 100 warmup steps are dropped
    assert cfg.optimizer.max_grad_norm == 0.0
    assert (cfg.training.sdpa, cfg.training.xformers) == (True, False)
    assert cfg.training.cache_text_encoder_outputs is True and cfg.network.network_train_unet_only
    assert cfg.training.max_train_epochs is None and cfg.training.max_train_steps == 1600  # steps win over epoch
    assert cfg.training.full_bf16 and cfg.training.gradient_accumulation_steps == 2
    assert cfg.dataset.caption_extension == ".caption"  # empty -> sd-scripts default
    assert cfg.dataset.reg_data_dir == "/data/reg" and cfg.dataset.bucket_reso_steps == 32
    assert cfg.saving.save_every_n_steps == 400 and cfg.saving.save_state_on_train_end
    assert cfg.saving.metadata_title == "XL style" and cfg.sampling.sample_every_n_steps == 200
    assert report.prompts_text is None
    warnings = "\n".join(report.warnings)
    assert "--log_prefix=xl" in warnings and "'./outputs/xl'" in warnings
    ignored = dict(report.ignored)
    assert ignored["flux1_checkbox"].startswith("FLUX/SD3 setting")
    assert "see the warning" in ignored["lr_warmup_steps"] and ignored["lr_warmup"] == "0: no warmup"
    assert "lr_warmup_steps not applied: the constant scheduler has no warmup" in warnings


def test_unsupported_type_refused_and_lycoris_as_lora_is_plain():
    with pytest.raises(LoratuiError, match=r"LoRA_type 'LyCORIS/iA3' cannot be trained equivalently.*--as-lora"):
        import_kohya({"LoRA_type": "LyCORIS/iA3", "network_dim": 8})
    cfg, report = import_kohya_file(LOHA, as_lora=True)
    assert cfg.network.network_module == "networks.lora" and cfg.network.network_args == []
    assert cfg.model.model_family == "sd2" and cfg.model.v_parameterization
    assert cfg.optimizer.optimizer_type == "Prodigy"
    assert cfg.optimizer.optimizer_args == ["decouple=True", "weight_decay=0.02"]  # quoted args
    assert cfg.optimizer.text_encoder_lr == 0.5 and cfg.optimizer.unet_lr == 1.0
    assert (cfg.training.xformers, cfg.training.sdpa) == (False, True)  # old boolean xformers, not installed
    assert cfg.training.noise_offset == 0.0  # Multires type: noise_offset not applied
    assert cfg.training.multires_noise_iterations == 8  # ... its multires noise is
    assert cfg.dataset.caption_extension == ".caption" and cfg.dataset.resolution == (768, 768)
    assert cfg.training.seed == 42 and cfg.optimizer.lr_warmup_steps == 0.05
    ignored = dict(report.ignored)
    assert cfg.sampling.sample_sampler == "dpmsingle"  # an sd-scripts sampler (schema.SAMPLERS): kept
    assert ignored["bucket_reso_steps_typo_key"] == "not used by loratui"
    assert "Original" in ignored["noise_offset"]  # kohya_ss passes it with noise_offset_type Original only
    notes = {k: n for k, _, n in report.mapped}
    assert "Prodigy" in notes["optimizer"] and "plain LoRA" in notes["LoRA_type"]


def test_lycoris_locon_imports_as_lycoris():
    cfg, report = import_kohya({"LoRA_type": "LyCORIS/LoCon", "conv_dim": 4, "conv_alpha": 2, "network_dim": 8})
    assert cfg.network.network_module == "lycoris.kohya" and cfg.network.conv_dim == 0
    assert "conv_dim=4" in cfg.network.network_args and "algo=locon" in cfg.network.network_args
    assert "lycoris.kohya with algo=locon" in dict((k, n) for k, _, n in report.mapped)["LoRA_type"]


@pytest.mark.parametrize("te, unet, lr, expect", [
    (0, 1e-4, 1e-4, {"network_train_unet_only": True, "unet_lr": 1e-4, "text_encoder_lr": None}),
    (5e-5, 0, 1e-4, {"network_train_text_encoder_only": True, "text_encoder_lr": 5e-5, "unet_lr": None}),
    (0, 0, 2e-4, {"unet_lr": None, "text_encoder_lr": None, "network_train_unet_only": False}),
    ("", "", 2e-4, {"unet_lr": None, "text_encoder_lr": None}),
    (5e-5, 1e-4, 1e-4, {"unet_lr": 1e-4, "text_encoder_lr": 5e-5, "network_train_unet_only": False}),
])
def test_learning_rate_semantics(te, unet, lr, expect):
    cfg, _ = import_kohya({"network_dim": 8, "text_encoder_lr": te, "unet_lr": unet, "learning_rate": lr})
    for key, value in expect.items():
        section = cfg.network if key.startswith("network") else cfg.optimizer
        assert getattr(section, key) == value, key
    assert cfg.optimizer.learning_rate == lr


@pytest.mark.parametrize("name, expected, args", [
    ("AdamW", "AdamW", []), ("adafactor", "Adafactor", []), ("Lion", "Lion", []),
    ("PagedAdamW8bit", "AdamW8bit", []), ("PagedLion8bit", "Lion8bit", []),
    ("SGDNesterov", "SGD", ["momentum=0.9", "nesterov=True"]), ("DAdaptLion", "Prodigy", []),
    ("CAME", "AdamW8bit", []),
])
def test_optimizer_mapping(name, expected, args):
    cfg, report = import_kohya({"network_dim": 8, "optimizer": name})
    assert cfg.optimizer.optimizer_type == expected
    assert cfg.optimizer.optimizer_args == args
    if name == "CAME":
        assert "not supported" in report.warnings[0]


@pytest.mark.parametrize("raw, sdpa, xformers", [
    ("xformers", True, False), ("sdpa", True, False), ("none", False, False), (True, True, False),
    (False, False, False), ("True", True, False), ("SDPA", True, False),
])
def test_attention_mapping_without_the_xformers_package(raw, sdpa, xformers):
    cfg, report = import_kohya({"network_dim": 8, "xformers": raw})
    assert (cfg.training.sdpa, cfg.training.xformers) == (sdpa, xformers)
    assert validate(cfg) == []
    notes = [(ours, note) for k, ours, note in report.mapped if k == "xformers"]
    assert len(notes) == 1  # one line in the report, naming what training will use
    if raw in ("xformers", True, "True"):
        assert notes[0][0] == "training.sdpa"
        assert "xformers replaced by sdpa" in notes[0][1] and "not installed" in notes[0][1]


@pytest.mark.parametrize("raw", ["xformers", True])
def test_attention_keeps_xformers_when_installed(raw, monkeypatch):
    monkeypatch.setattr("loratui.core.config.packages.installed", lambda name: True)
    cfg, report = import_kohya({"network_dim": 8, "xformers": raw})
    assert (cfg.training.sdpa, cfg.training.xformers) == (False, True)
    assert [ours for k, ours, _ in report.mapped if k == "xformers"] == ["training.xformers"]


def test_mem_eff_attn_without_xformers_becomes_sdpa():
    cfg, _ = import_kohya({"network_dim": 8, "xformers": "none", "mem_eff_attn": True})
    assert cfg.training.sdpa is True


def test_schedulers_and_warmup_edge_cases():
    cfg, report = import_kohya({"network_dim": 8, "lr_scheduler": "adafactor", "lr_warmup": 100})
    assert cfg.optimizer.lr_scheduler == "constant" and cfg.optimizer.lr_warmup_steps == 0
    assert "see the warning" in dict(report.ignored)["lr_warmup"]
    assert report.warnings == ["lr_warmup not applied: the adafactor scheduler (imported as constant) has no warmup; "
                               "set lr_scheduler = \"constant_with_warmup\" to warm up"]
    cfg, report = import_kohya({"network_dim": 8, "lr_scheduler": "constant", "lr_warmup": 10})
    assert cfg.optimizer.lr_scheduler == "constant" and cfg.optimizer.lr_warmup_steps == 0
    assert "see the warning" in dict(report.ignored)["lr_warmup"] and "constant_with_warmup" in report.warnings[0]
    assert "the constant scheduler has no warmup" in report.warnings[0] and len(report.warnings) == 1
    cfg, report = import_kohya({"network_dim": 8, "lr_scheduler": "inverse_sqrt"})
    assert cfg.optimizer.lr_scheduler == "cosine" and "inverse_sqrt" in report.warnings[0]


def test_invalid_values_are_reported_not_fatal():
    cfg, report = import_kohya({"network_dim": "lots", "bucket_reso_steps": 1, "max_resolution": "huge"})
    ignored = dict(report.ignored)
    assert "network_dim: " not in ignored["network_dim"]
    assert "must be an integer from 1 to 1024, got 'lots'" in ignored["network_dim"]
    assert "must be an integer from 8 to 1024, got 1" in ignored["bucket_reso_steps"]
    assert "resolution" not in {o for _, o, _ in report.mapped}
    assert cfg.network.network_dim == 16 and cfg.dataset.resolution == (512, 512)


def test_refusals(tmp_path):
    with pytest.raises(LoratuiError, match="not a LoRA config"):
        import_kohya({"learning_rate": 1e-5, "train_data_dir": "x"})
    with pytest.raises(LoratuiError, match="FLUX1: loratui supports SD 1.x, 2.x and SDXL only"):
        import_kohya({"network_dim": 8, "flux1_checkbox": True})
    with pytest.raises(LoratuiError, match="JSON object"):
        import_kohya([1, 2])
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "network_dim": 8,\n}\n')
    with pytest.raises(LoratuiError, match=r"bad.json, line 3: not valid JSON"):
        import_kohya_file(bad)
    with pytest.raises(LoratuiError, match="cannot read"):
        import_kohya_file(tmp_path / "missing.json")


def test_bad_numbers_are_reported_with_their_reason():
    cfg, report = import_kohya({"network_dim": 8, "unet_lr": "abc", "text_encoder_lr": "", "epoch": "ten",
                                "seed": 0})
    ignored = dict(report.ignored)
    assert ignored["unet_lr"] == "must be a number, got 'abc': learning_rate is used (see the warning)"
    assert ignored["epoch"] == "must be a whole number of epochs, got 'ten'"
    assert "random seed in kohya_ss" in ignored["seed"] and cfg.training.seed == 42


# ---- issue 12: epoch vs max_train_steps, string booleans, dataset_config, LyCORIS extras ----------

@pytest.mark.parametrize("keys, epochs, steps, epoch_reason", [
    ({"epoch": 10, "max_train_steps": ""}, 10, None, None),
    ({"epoch": 10, "max_train_steps": 0}, 10, None, None),
    ({"epoch": 10, "max_train_steps": "0"}, 10, None, None),
    ({"epoch": 10, "max_train_steps": 500}, None, 500, "max_train_steps is set"),
    ({"epoch": "4", "max_train_steps": "500"}, None, 500, "max_train_steps is set"),
    ({"epoch": 10, "max_train_epochs": 3, "max_train_steps": 0}, 3, None, "max_train_epochs is set"),
])
def test_epoch_only_counts_when_max_train_steps_is_unset(keys, epochs, steps, epoch_reason):
    cfg, report = import_kohya({"network_dim": 8, **keys})
    assert (cfg.training.max_train_epochs, cfg.training.max_train_steps) == (epochs, steps)
    ignored = dict(report.ignored)
    if epoch_reason:
        assert epoch_reason in ignored["epoch"]
    else:
        assert ("epoch", "training.max_train_epochs") in {(k, o) for k, o, _ in report.mapped}


def test_max_train_epochs_and_steps_both_set_keep_sd_scripts_precedence():
    cfg, report = import_kohya({"network_dim": 8, "epoch": 1, "max_train_epochs": 3, "max_train_steps": 500})
    assert (cfg.training.max_train_epochs, cfg.training.max_train_steps) == (3, 500)
    assert "epochs win" in "\n".join(report.warnings)


def test_sdxl_fixture_trains_the_same_1600_steps(tmp_path):
    from PIL import Image

    from loratui.core.config import save_config, load_config
    from loratui.core.plan import compute_schedule, scan_for_config

    cfg, _ = import_kohya_file(SDXL)
    for i in range(3):
        folder = tmp_path / "img" / f"{i + 1}_style{i}"
        folder.mkdir(parents=True)
        Image.new("RGB", (64, 64)).save(folder / "a.png")
    cfg.dataset.train_data_dir, cfg.dataset.reg_data_dir = "img", ""
    save_config(cfg, tmp_path / "xl.toml")
    loaded = load_config(tmp_path / "xl.toml")
    assert compute_schedule(loaded, scan_for_config(loaded)).total_steps == 1600


@pytest.mark.parametrize("raw, expected", [
    ("True", True), ("true", True), ("1", True), ("yes", True), ("on", True), (1, True),
    ("False", False), ("false", False), ("0", False), ("no", False), (0, False),
])
def test_string_booleans_are_read_with_a_note(raw, expected):
    cfg, report = import_kohya({"network_dim": 8, "sdxl": raw, "shuffle_caption": raw, "flip_aug": raw,
                                "gradient_checkpointing": raw})
    assert cfg.model.model_family == ("sdxl" if expected else "sd1")
    assert cfg.dataset.shuffle_caption is expected and cfg.dataset.flip_aug is expected
    assert cfg.training.gradient_checkpointing is expected
    notes = {k: n for k, _, n in report.mapped}
    assert f"{raw!r} read as {str(expected).lower()}" in notes["shuffle_caption"]
    assert f"{raw!r} read as {str(expected).lower()}" in notes["sdxl"]


def test_string_v2_and_v_parameterization():
    cfg, report = import_kohya({"network_dim": 8, "sdxl": "False", "v2": "True", "v_parameterization": "true"})
    assert cfg.model.model_family == "sd2" and cfg.model.v_parameterization is True


def test_string_flux_checkbox_is_refused():
    with pytest.raises(LoratuiError, match="FLUX1"):
        import_kohya({"network_dim": 8, "flux1_checkbox": "True"})


@pytest.mark.parametrize("key", ["sdxl", "shuffle_caption", "cache_latents", "flux1_checkbox", "xformers",
                                 "sdxl_cache_text_encoder_outputs", "mem_eff_attn"])
def test_a_boolean_that_is_not_one_is_a_one_line_error_naming_the_key(key, tmp_path):
    with pytest.raises(LoratuiError) as info:
        import_kohya({"network_dim": 8, "sdxl": True, key: "maybe"})
    message = str(info.value)
    assert "\n" not in message and repr(key) in message and "'maybe'" in message and "true or false" in message
    path = tmp_path / "k.json"
    path.write_text(json.dumps({"network_dim": 8, key: "maybe"}))
    with pytest.raises(LoratuiError, match=rf"k.json: kohya_ss key {key!r}"):
        import_kohya_file(path)


def test_numbers_given_as_strings():
    cfg, report = import_kohya({"network_dim": "8", "network_alpha": "4.5", "learning_rate": "1e-4",
                                "unet_lr": "2e-4", "text_encoder_lr": "5e-5", "epoch": "10", "keep_tokens": "1",
                                "max_bucket_reso": "2048", "noise_offset": "0.05", "min_snr_gamma": "5",
                                "lr_warmup": "10"})
    assert (cfg.network.network_dim, cfg.network.network_alpha) == (8, 4.5)
    assert cfg.optimizer.learning_rate == 1e-4 and cfg.optimizer.unet_lr == 2e-4
    assert cfg.optimizer.text_encoder_lr == 5e-5 and cfg.training.max_train_epochs == 10
    assert cfg.dataset.keep_tokens == 1 and cfg.dataset.max_bucket_reso == 2048
    assert cfg.training.noise_offset == 0.05 and cfg.training.min_snr_gamma == 5.0
    assert cfg.optimizer.lr_warmup_steps == 0.1


def test_lycoris_extras_become_network_args():
    cfg, report = import_kohya({"LoRA_type": "LyCORIS/LoCon", "network_dim": 8, "conv_dim": 4, "conv_alpha": 2,
                                "LyCORIS_preset": "full", "use_tucker": True, "dora_wd": "true"})
    args = cfg.network.network_args
    assert {"preset=full", "use_tucker=True", "dora_wd=True", "conv_alpha=2"} <= set(args)
    mapped = {k: ours for k, ours, _ in report.mapped}
    assert mapped["use_tucker"] == mapped["dora_wd"] == mapped["LyCORIS_preset"] == "network.network_args"
    assert "with DoRA" in dict((k, n) for k, _, n in report.mapped)["LoRA_type"]
    assert not report.warnings

# ---- issue 13: LyCORIS types import as lycoris.kohya with kohya_ss' own network_args ------------------------


@pytest.mark.parametrize("name, algo, expected", [
    ("kohya_ss_sd2_loha_dadapt.json", "loha", ["preset=attn-mlp", "conv_dim=8", "conv_alpha=4", "algo=loha"]),
    ("kohya_ss_sd15_lokr.json", "lokr", ["factor=8", "use_cp=False", "decompose_both=True", "algo=lokr"]),
    ("kohya_ss_sdxl_loha_dora.json", "loha", ["dora_wd=True", "preset=attn-mlp", "algo=loha"]),
    ("kohya_ss_sd15_lycoris_locon_dora.json", "locon", ["dora_wd=True", "use_tucker=True", "rank_dropout=0.1"]),
    ("kohya_ss_sd15_full.json", "full", ["preset=attn-only", "algo=full"]),
])
def test_lycoris_fixtures_import_without_as_lora(name, algo, expected):
    from loratui.core.config import algo_of, split_network_args, validate

    cfg, report = import_kohya_file(DATA / name)
    assert cfg.network.network_module == "lycoris.kohya"
    assert set(expected) <= set(cfg.network.network_args)
    assert algo_of(split_network_args(cfg.network.network_args)[0]) == algo
    assert not [p for p in validate(cfg) if "network" in p]
    listed = {k for k, _, _ in report.mapped} | {k for k, _ in report.ignored}
    assert set(json.loads((DATA / name).read_text())) <= listed  # every key accounted for


def test_lokr_decompose_both_false_is_what_kohya_ss_trains():
    cfg, report = import_kohya_file(DATA / "kohya_ss_sd15_lokr.json")
    note = dict((k, n) for k, _, n in report.mapped)["decompose_both"]
    assert "reads as on" in note and "decompose_both=True" in cfg.network.network_args


def test_lycoris_export_writes_the_same_network_args(tmp_path):
    from PIL import Image

    from loratui.core.config import build_sdscripts

    cfg, _ = import_kohya_file(DATA / "kohya_ss_sd15_lokr.json")
    cfg.model.pretrained_model_name_or_path = str(tmp_path / "m.safetensors")
    (tmp_path / "img" / "2_x").mkdir(parents=True)
    Image.new("RGB", (64, 64)).save(tmp_path / "img" / "2_x" / "a.png")
    cfg.dataset.train_data_dir = str(tmp_path / "img")
    export = build_sdscripts(cfg, family="sd1")
    args = export.train_args
    assert args["network_module"] == "lycoris.kohya"
    assert args["network_args"] == cfg.network.network_args


# ---- hunt 5, sections 8 and 15: explicit train-only keys, honest reasons, paths, encodings ----------------------

UNET_ONLY, TE_ONLY = "network_train_unet_only", "network_train_text_encoder_only"


def _std(**keys):
    """The sd15 Standard fixture (text_encoder_lr 0, unet_lr 1e-4) with keys changed."""
    return {**_load(SD15), **keys}


def _lines_are_single(report):
    assert all("\n" not in line for line in report.lines())


@pytest.mark.parametrize("keys, unet_only, te_only, warning", [
    # explicit true, rates that say nothing: the key is mapped (it was dropped as "not used by loratui")
    ({UNET_ONLY: True, "text_encoder_lr": 5e-5}, True, False, None),
    ({TE_ONLY: "True", "text_encoder_lr": 5e-5}, False, True, None),
    # the key and the rates agree: one source, the rate is explained by the key
    ({UNET_ONLY: True}, True, False, None),
    # they disagree: the explicit key wins, and a warning says what kohya_ss would have trained
    ({UNET_ONLY: False}, False, False, "network_train_unet_only is false in the file, but text_encoder_lr 0"),
    ({TE_ONLY: True}, False, True, "network_train_text_encoder_only is true in the file, but text_encoder_lr 0"),
    # no key: derived from text_encoder_lr 0 as before
    ({}, True, False, None),
])
def test_explicit_train_only_keys_are_mapped_and_win(keys, unet_only, te_only, warning):
    cfg, report = import_kohya(_std(**keys))
    assert (cfg.network.network_train_unet_only, cfg.network.network_train_text_encoder_only) == (unet_only, te_only)
    mapped = {k: ours for k, ours, _ in report.mapped}
    ignored = dict(report.ignored)
    for key in set(keys) & {UNET_ONLY, TE_ONLY}:
        assert mapped[key] == f"network.{key}" and key not in ignored
    found = [w for w in report.warnings if "network_train" in w]
    if warning:
        assert len(found) == 1 and found[0].startswith(warning) and "explicit key wins" in found[0]
    else:
        assert not found
    if keys == {UNET_ONLY: True}:
        assert ignored["text_encoder_lr"] == "0: UNet only, as network_train_unet_only says"
    assert validate(cfg) == []
    _lines_are_single(report)


def test_explicit_unet_only_reaches_the_written_config(tmp_path):
    path = tmp_path / "k.json"
    path.write_text(json.dumps(_std(**{UNET_ONLY: True, "text_encoder_lr": "0.00005"})))
    cfg, report = import_kohya_file(path)
    assert "network_train_unet_only = true" in dumps_config(cfg)
    assert "not used by loratui" not in "\n".join(report.lines())


def test_launcher_keys_point_to_multi_gpu_training():
    _, report = import_kohya(_std(num_processes=1))
    ignored = dict(report.ignored)
    for key in ("multi_gpu", "num_processes", "num_machines"):
        assert "`loratui train CONFIG --processes N`" in ignored[key], key
        assert "torchrun" not in ignored[key], key
    assert "CUDA_VISIBLE_DEVICES" in ignored["gpu_ids"]
    assert "one process on one GPU" not in "\n".join(report.lines())
    _, report = import_kohya(_std(num_processes="2", multi_gpu=True))
    ignored = dict(report.ignored)
    assert ignored["num_processes"].startswith("2 processes in kohya_ss: train with `loratui train CONFIG "
                                               "--processes 2`")
    _lines_are_single(report)


def test_lycoris_options_of_a_standard_lora_name_its_lora_type():
    cfg, report = import_kohya(_std(LyCORIS_preset="full", factor=-1, train_on_input=True, use_cp=False, unit=1,
                                    use_tucker=True))
    ignored = dict(report.ignored)
    for key in ("LyCORIS_preset", "factor", "train_on_input", "use_cp", "use_tucker"):
        assert ignored[key] == "LyCORIS option: not used by LoRA_type 'Standard' in kohya_ss", key
    assert ignored["unit"] == "DyLoRA option: not used by LoRA_type 'Standard' in kohya_ss"
    assert not report.warnings or not any("use_tucker" in w for w in report.warnings)  # kohya_ss ignores it too
    assert "kohya-style LoRA only" not in "\n".join(report.lines())
    _, report = import_kohya({"LoRA_type": "Kohya LoCon", "network_dim": 8, "factor": 4, "unit": 2})
    assert dict(report.ignored)["factor"] == "LyCORIS option: not used by LoRA_type 'Kohya LoCon' in kohya_ss"
    _, report = import_kohya({"LoRA_type": "LyCORIS/LoHa", "network_dim": 8, "factor": 4, "use_cp": True, "unit": 2})
    ignored = dict(report.ignored)
    assert ignored["factor"] == ignored["use_cp"] == "not used by LoRA_type 'LyCORIS/LoHa' in kohya_ss"
    assert ignored["unit"] == "DyLoRA option: not used by LoRA_type 'LyCORIS/LoHa' in kohya_ss"


def test_as_lora_says_which_options_it_drops():
    _, report = import_kohya({"LoRA_type": "Kohya DyLoRA", "network_dim": 8, "unit": 4, "factor": 2,
                              "conv_dim": 4}, as_lora=True)
    ignored = dict(report.ignored)
    assert ignored["unit"] == "DyLoRA option: --as-lora trains a plain LoRA"
    assert ignored["factor"] == "LyCORIS option: not used by LoRA_type 'Kohya DyLoRA' in kohya_ss"
    assert ignored["conv_dim"] == "--as-lora trains a plain LoRA (no conv layers)"
    _, report = import_kohya({"LoRA_type": "LyCORIS/LoHa", "network_dim": 8, "use_tucker": True, "unit": 4},
                             as_lora=True)
    ignored = dict(report.ignored)
    assert ignored["use_tucker"] == "LyCORIS option: --as-lora trains a plain LoRA"
    assert ignored["unit"] == "DyLoRA option: not used by LoRA_type 'LyCORIS/LoHa' in kohya_ss"
    assert any(w.startswith("use_tucker set: --as-lora trains a plain LoRA without them") for w in report.warnings)


def test_empty_max_resolution_keeps_the_default_quietly():
    cfg, report = import_kohya(_std(max_resolution=""))
    assert dict(report.ignored)["max_resolution"] == "empty in the file: loratui's default 512x512 kept"
    assert cfg.dataset.resolution == (512, 512)
    assert not [w for w in report.warnings if "resolution" in w]


@pytest.mark.parametrize("raw", ["512,512,512", "abc", "0"])
def test_unreadable_max_resolution_is_a_warning(raw):
    cfg, report = import_kohya(_std(max_resolution=raw))
    assert cfg.dataset.resolution == (512, 512)
    assert "loratui's default kept" in dict(report.ignored)["max_resolution"]
    found = [w for w in report.warnings if w.startswith("max_resolution")]
    assert found == [f"max_resolution {raw!r} cannot be used: training uses loratui's default 512x512; set [dataset] "
                     "resolution in the imported config"]
    assert f"warning: {found[0]}" in report.lines()


@pytest.mark.parametrize("keys, family, cache_reason", [
    ({"sdxl": True, "v2": True}, "sdxl", "off in the file: text-encoder outputs are not cached"),
    ({"sdxl": True, "v2": False}, "sdxl", "off in the file: text-encoder outputs are not cached"),
    ({"sdxl": False, "v2": True}, "sd2", "only used with sdxl (this file trains sd2)"),
    ({"sdxl": False, "v2": False}, "sd1", "only used with sdxl (this file trains sd1)"),
])
def test_sdxl_cache_text_encoder_outputs_reason_follows_the_family(keys, family, cache_reason):
    cfg, report = import_kohya(_std(sdxl_cache_text_encoder_outputs=False, **keys))
    assert cfg.model.model_family == family
    assert dict(report.ignored)["sdxl_cache_text_encoder_outputs"] == cache_reason
    v2_warnings = [w for w in report.warnings if w.startswith("v2 and sdxl are both checked")]
    assert len(v2_warnings) == (1 if keys == {"sdxl": True, "v2": True} else 0)
    cfg, report = import_kohya(_std(sdxl_cache_text_encoder_outputs=True, **keys))
    mapped = {k: ours for k, ours, _ in report.mapped}
    if family == "sdxl":
        assert mapped["sdxl_cache_text_encoder_outputs"] == "training.cache_text_encoder_outputs"
        assert cfg.training.cache_text_encoder_outputs is True
    else:
        assert cfg.training.cache_text_encoder_outputs is False


@pytest.mark.parametrize("keys", [{"lr_warmup": 10}, {"lr_warmup_steps": 100}, {"lr_warmup": 10, "lr_warmup_steps": 50}])
def test_adafactor_scheduler_warmup_gives_one_warning(keys):
    cfg, report = import_kohya(_std(lr_scheduler="adafactor", **{"lr_warmup": 0, "lr_warmup_steps": 0, **keys}))
    assert cfg.optimizer.lr_scheduler == "constant" and cfg.optimizer.lr_warmup_steps == 0
    about_warmup = [w for w in report.warnings if "warm" in w]
    assert len(about_warmup) == 1 and "the adafactor scheduler (imported as constant) has no warmup" in about_warmup[0]
    assert about_warmup[0].startswith(" and ".join(k for k in ("lr_warmup", "lr_warmup_steps") if keys.get(k)))
    ignored = dict(report.ignored)
    for key in ("lr_warmup", "lr_warmup_steps"):
        assert ignored[key] == ("not applied (see the warning below)" if keys.get(key) else "0: no warmup")


@pytest.mark.parametrize("name", ["kohya_ss_sd2_loha_dadapt.json", "kohya_ss_sd15_lycoris_locon_dora.json",
                                  "kohya_ss_sdxl_loha_dora.json", "kohya_ss_sd15_lokr.json", "kohya_ss_sd15_full.json"])
def test_lycoris_network_args_and_report_hold_each_key_once(name):
    cfg, report = import_kohya_file(DATA / name)
    arg_keys = [a.split("=", 1)[0] for a in cfg.network.network_args]
    assert len(arg_keys) == len(set(arg_keys)), arg_keys
    listed = [k for k, _, _ in report.mapped] + [k for k, _ in report.ignored]
    assert len(listed) == len(set(listed))
    assert set(listed) == set(_load(DATA / name))


def test_lycoris_locon_use_tucker_is_written_once():
    cfg, report = import_kohya({"LoRA_type": "LyCORIS/LoCon", "network_dim": 8, "use_tucker": True})
    assert [a for a in cfg.network.network_args if a.startswith("use_tucker=")] == ["use_tucker=True"]
    assert [k for k, _, _ in report.mapped].count("use_tucker") == 1


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig", "utf-32"])
def test_utf16_and_bom_json_files_are_read(encoding, tmp_path):
    data = _std(output_name="café")
    path = tmp_path / "k.json"
    path.write_bytes(json.dumps(data, indent=2, ensure_ascii=False).encode(encoding))
    cfg, report = import_kohya_file(path)
    reference, _ = import_kohya(data, source_dir=tmp_path)
    assert cfg == reference and cfg.saving.output_name == "café"


def test_a_json_in_another_encoding_says_save_it_as_utf8(tmp_path):
    path = tmp_path / "k.json"
    path.write_bytes(json.dumps(_std(output_name="café"), ensure_ascii=False).encode("cp1252"))
    with pytest.raises(LoratuiError) as info:
        import_kohya_file(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}: cannot read: not UTF-8 text")
    assert message.endswith("save it as UTF-8")


def test_windows_and_relative_paths_get_one_note_per_key_and_are_kept():
    data = _std(train_data_dir="C:\\Users\\me\\img", output_dir="C:/Users/me/model", reg_data_dir="\\\\nas\\reg",
                vae="vae/sd.safetensors", pretrained_model_name_or_path="model.safetensors",
                lora_network_weights="D:\\loras\\start.safetensors", resume="/data/state")
    cfg, report = import_kohya(data)
    assert (cfg.dataset.train_data_dir, cfg.saving.output_dir) == ("C:\\Users\\me\\img", "C:/Users/me/model")
    assert cfg.dataset.reg_data_dir == "\\\\nas\\reg" and cfg.network.network_weights == "D:\\loras\\start.safetensors"
    notes = [w for w in report.warnings if "path" in w or "relative" in w]
    assert sorted(notes) == sorted([
        "train_data_dir: a Windows path (C:\\Users\\me\\img): set it for this machine (imported as is)",
        "output_dir: a Windows path (C:/Users/me/model): set it for this machine (imported as is)",
        "reg_data_dir: a Windows path (\\\\nas\\reg): set it for this machine (imported as is)",
        "lora_network_weights: a Windows path (D:\\loras\\start.safetensors): set it for this machine (imported as is)",
        "vae 'vae/sd.safetensors' was relative to the kohya_ss folder; in loratui it is relative to the config file: "
        "check it",
        "pretrained_model_name_or_path 'model.safetensors' was relative to the kohya_ss folder; in loratui it is "
        "relative to the config file: check it",
    ])
    _lines_are_single(report)


@pytest.mark.parametrize("value", ["runwayml/stable-diffusion-v1-5", "/data/models/x.safetensors", "~/models/x"])
def test_repo_ids_and_absolute_paths_get_no_path_note(value):
    _, report = import_kohya(_std(pretrained_model_name_or_path=value))
    assert not [w for w in report.warnings if "pretrained_model_name_or_path" in w]


def test_any_value_replaced_by_a_default_is_a_warning():
    cfg, report = import_kohya(_std(network_dim=-4))
    assert cfg.network.network_dim == 16
    assert "network_dim -4 cannot be used: training uses loratui's default 16; set [network] network_dim in the " \
           "imported config" in report.warnings


def test_keys_the_file_leaves_out_are_marked_as_kohya_ss_defaults():
    """A file without optimizer / lr_scheduler / LoRA_type listed them as mapped, as if it held them."""
    from loratui.core.config import import_kohya

    _cfg, report = import_kohya({"network_dim": 8, "optimizer": "AdamW"})
    notes = {kohya: note for kohya, _ours, note in report.mapped}
    assert "not in the file" not in notes["optimizer"] and "not in the file" not in notes["network_dim"]
    assert notes["lr_scheduler"].startswith("not in the file: kohya_ss's default")
    assert notes["LoRA_type"].startswith("not in the file: kohya_ss's default (Standard)")


def test_imported_prompts_never_overwrite_and_never_blank(tmp_path):
    """Finding 11: config.prompts.txt holds the user's own prompts: the import's go to a new name;
    a file already holding the same prompts is reused (importing twice makes one file)."""
    _, report = import_kohya_file(SD15)
    target = tmp_path / "config.prompts.txt"
    assert report.prompts_file(target) == (target, True)  # free: written there
    assert report.write_prompts(target) == (target, True)
    assert target.read_text(encoding="utf-8") == report.prompts_text
    assert report.write_prompts(target) == (target, False)  # the same text: used as it is

    target.write_text("my own prompt --w 512\n", encoding="utf-8")
    other = tmp_path / "config.prompts-1.txt"
    assert report.write_prompts(target) == (other, True)
    assert target.read_text(encoding="utf-8") == "my own prompt --w 512\n"  # never overwritten
    assert other.read_text(encoding="utf-8") == report.prompts_text
    assert report.write_prompts(target) == (other, False)  # again: reused, no -2
    assert not (tmp_path / "config.prompts-2.txt").exists()

    (tmp_path / "config.prompts-1.txt").write_text("changed by hand\r\n", encoding="utf-8")
    assert report.prompts_file(target) == (tmp_path / "config.prompts-2.txt", True)
    # CRLF and a BOM do not make the same prompts "different"
    (tmp_path / "config.prompts-2.txt").write_bytes(b"\xef\xbb\xbf" + report.prompts_text.replace("\n", "\r\n").encode())
    assert report.prompts_file(target) == (tmp_path / "config.prompts-2.txt", False)


def test_write_prompts_refuses_a_report_without_prompts(tmp_path):
    _, report = import_kohya({"LoRA_type": "Standard"})
    assert report.prompts_text is None
    with pytest.raises(ValueError):
        report.prompts_file(tmp_path / "x.prompts.txt")
