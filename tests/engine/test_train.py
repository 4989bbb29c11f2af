"""The training engine end to end on tiny random models (CPU): loss goes down, options, outputs.

``make_project`` (also used by test_state / test_run / test_ddp / the e2e CLI test) writes a 4-image
kohya project and a config pointing at a tiny model.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from loratui.core.config import TrainingConfig
from loratui.core.config import config_from_dict, config_to_dict, save_config
from loratui.core.events import read_events

COLOURS = [(220, 40, 40), (40, 60, 220), (30, 160, 60), (240, 200, 30)]
SHAPES = ["circle", "square", "circle", "square"]


def write_images(folder: Path, n: int = 4, size=(64, 64), caption_prefix: str = "shp") -> None:
    from PIL import Image, ImageDraw

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        w, h = size if i % 2 == 0 or size[0] != size[1] else size
        img = Image.new("RGB", (w, h), (245, 245, 240) if i % 2 else (15, 15, 20))
        draw = ImageDraw.Draw(img)
        box = (w // 5, h // 5, w - w // 5, h - h // 5)
        (draw.ellipse if SHAPES[i % 4] == "circle" else draw.rectangle)(box, fill=COLOURS[i % 4])
        img.save(folder / f"img{i}.png")
        (folder / f"img{i}.txt").write_text(f"{caption_prefix}, {SHAPES[i % 4]}, colour {i}", encoding="utf-8")


def make_project(root: Path, model_dir: Path, *, reg: bool = False, **overrides) -> Path:
    """A kohya project under ``root`` with config.toml; ``overrides`` are "section.key" = value."""
    root.mkdir(parents=True, exist_ok=True)
    write_images(root / "img" / "2_shp")
    if reg:
        write_images(root / "reg" / "1_shape", n=2, caption_prefix="shape")
    data = config_to_dict(TrainingConfig())
    values = {
        "model.pretrained_model_name_or_path": str(model_dir),
        "dataset.train_data_dir": "img", "dataset.reg_data_dir": "reg" if reg else "",
        "dataset.resolution": [64, 64], "dataset.min_bucket_reso": 64, "dataset.max_bucket_reso": 128,
        "dataset.max_data_loader_n_workers": 0,
        "network.network_dim": 4, "network.network_alpha": 2.0,
        "optimizer.optimizer_type": "AdamW", "optimizer.learning_rate": 1e-3, "optimizer.lr_scheduler": "constant",
        "training.train_batch_size": 2, "training.max_train_epochs": 2, "training.mixed_precision": "no",
        "training.seed": 1,
        "saving.output_dir": "out", "saving.output_name": "tiny", "saving.save_precision": "fp16",
    }
    values.update(overrides)
    for key, value in values.items():
        section, name = key.split(".")
        if value is None:
            data[section].pop(name, None)
        else:
            data[section][name] = value
    cfg = config_from_dict(data)
    save_config(cfg, root / "config.toml")
    return root / "config.toml"


def run(config: Path, **options) -> tuple[int, list[dict]]:
    from loratui.core.config import load_config
    from loratui.engine.run import Run

    r = Run(str(config), show_progress=False, **options)
    code = r.execute()
    cfg = load_config(config)
    out = Path(config).parent / cfg.saving.output_dir
    return code, read_events(out / f"{cfg.saving.output_name}.events.jsonl")


def of(events, kind):
    return [e for e in events if e["event"] == kind]


def _outputs(unet, text_encoders, family):
    """UNet and text-encoder outputs on fixed inputs (for comparing two copies of a model)."""
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 40, (1, 77), generator=gen)
    with torch.no_grad():
        outs = [te(ids, output_hidden_states=True).hidden_states[-2] for te in text_encoders]
        hidden = torch.cat(outs, dim=-1) if family == "sdxl" else outs[0]
        kwargs = {}
        if family == "sdxl":
            kwargs["added_cond_kwargs"] = {"text_embeds": torch.randn(1, 32, generator=gen),
                                           "time_ids": torch.tensor([[64.0, 64, 0, 0, 64, 64]])}
        latents = torch.randn(1, 4, 8, 8, generator=gen)
        outs.append(unet(latents, torch.tensor([500]), hidden, **kwargs).sample)
    return outs


@pytest.fixture(scope="module")
def sd1_run(tiny_sd1_dir, tmp_path_factory):
    """~50 steps on 4 images + 2 reg images, many options at once; the Run object stays in memory."""
    from loratui.engine.run import Run

    root = tmp_path_factory.mktemp("sd1_run")
    (root / "prompts.txt").write_text("shp, red circle --n blurry --w 64 --h 64 --d 5 --s 3 --l 4.0\n",
                                      encoding="utf-8")
    config = make_project(root, tiny_sd1_dir, reg=True, **{
        "training.max_train_epochs": 6, "optimizer.learning_rate": 3e-3, "optimizer.unet_lr": 3e-3,
        "optimizer.text_encoder_lr": 1e-3, "optimizer.max_grad_norm": 1.0, "network.network_dim": 8,
        "network.network_alpha": 4.0, "dataset.prior_loss_weight": 0.5, "dataset.shuffle_caption": True,
        "dataset.keep_tokens": 1, "training.clip_skip": 2, "saving.save_every_n_epochs": 2,
        "saving.save_last_n_epochs": 1, "saving.save_precision": "float",
        "sampling.sample_prompts": "prompts.txt", "sampling.sample_every_n_epochs": 5,
        "sampling.sample_sampler": "ddim"})
    r = Run(str(config), show_progress=False)
    code = r.execute()
    events = read_events(root / "out" / "tiny.events.jsonl")
    return r, code, events, root


def test_overfit_brings_the_loss_down(sd1_run):
    _, code, events, _ = sd1_run
    assert code == 0
    losses = [e["loss"] for e in of(events, "step")]
    assert len(losses) == 6 * 8  # (8 train + 8 reg samples) / batch 2 = 8 steps per epoch
    first, last = sum(losses[:8]) / 8, sum(losses[-8:]) / 8
    assert last < 0.75 * first, (first, last)
    assert all(math.isfinite(x) for x in losses)


def test_steps_equal_the_calculator(sd1_run):
    from click.testing import CliRunner

    from loratui.commands.steps_cmd import steps

    _, _, events, root = sd1_run
    result = CliRunner().invoke(steps, [str(root / "config.toml"), "--json"])
    assert result.exit_code == 0, result.output
    expected = json.loads(result.output)["total_steps"]
    started = of(events, "run_started")[0]
    assert started["schedule"]["total_steps"] == expected == len(of(events, "step"))
    assert of(events, "finished")[0] == {**of(events, "finished")[0], "reason": "completed", "step": expected}


def test_events_outputs_and_pruning(sd1_run):
    _, _, events, root = sd1_run
    kinds = [e["event"] for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "finished"
    started = kinds and of(events, "run_started")[0]
    assert started["model"]["family"] == "sd1" and started["dataset"]["reg_samples_per_epoch"] == 8
    assert started["vram_estimate_gib"] > 0
    step = of(events, "step")[-1]
    assert step["lr"] == pytest.approx(3e-3) and step["eta_s"] is not None and step["images_per_s"] > 0
    assert [e["epoch"] for e in of(events, "epoch_end")] == list(range(1, 7))
    saves = [Path(e["path"]).name for e in of(events, "checkpoint_saved")]
    assert saves == ["tiny-000002.safetensors", "tiny-000004.safetensors", "tiny.safetensors"]
    # save_last_n_epochs = 1 pruned epoch 2
    assert sorted(p.name for p in (root / "out").glob("*.safetensors")) == [
        "tiny-000004.safetensors", "tiny.safetensors"]
    samples = of(events, "sample_saved")
    assert len(samples) == 1 and samples[0]["epoch"] == 5
    assert all(Path(p).is_file() and Path(p).parent.name == "sample" for p in samples[0]["paths"])
    assert not (root / "out" / "tiny.lock").exists()


def test_kohya_keys_alpha_and_metadata(sd1_run):
    from safetensors import safe_open

    _, _, _, root = sd1_run
    with safe_open(str(root / "out" / "tiny.safetensors"), "pt") as fh:
        keys, meta = set(fh.keys()), fh.metadata()
        alpha = fh.get_tensor("lora_te_text_model_encoder_layers_0_self_attn_q_proj.alpha")
        down = fh.get_tensor("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lora_down.weight")
    assert alpha.item() == 4.0 and down.shape[0] == 8 and down.dtype == torch.float32
    assert all(k.startswith(("lora_unet_", "lora_te_")) for k in keys)
    assert all(k.endswith((".lora_down.weight", ".lora_up.weight", ".alpha")) for k in keys)
    assert meta["ss_network_dim"] == "8" and meta["ss_network_alpha"] == "4.0"
    assert meta["ss_steps"] == "48" and meta["ss_epoch"] == "6" and meta["ss_base_model_version"] == "sd_v1"
    assert meta["ss_unet_lr"] == "0.003" and meta["ss_text_encoder_lr"] == "0.001"
    assert json.loads(meta["ss_dataset_dirs"]) == {"2_shp": {"n_repeats": 2, "img_count": 4}}
    assert json.loads(meta["ss_tag_frequency"])["2_shp"]["shp"] == 4
    assert meta["modelspec.architecture"] == "stable-diffusion-v1/lora"
    info = json.loads(meta["ss_bucket_info"])  # sd-scripts' shape: index -> resolution + count (with repeats)
    assert set(info) == {"buckets", "mean_img_ar_error"} and list(info["buckets"]) == [str(i) for i in range(len(
        info["buckets"]))]
    assert sum(b["count"] for b in info["buckets"].values()) == 16  # 2 x 4 train + reg padded to 8
    assert all(len(b["resolution"]) == 2 for b in info["buckets"].values())


def test_trained_file_loads_in_diffusers(sd1_run, tiny_sd1_dir):
    from diffusers import StableDiffusionPipeline

    r, _, _, root = sd1_run
    r.base.unet.eval()
    expected = _outputs(r.base.unet, r.base.text_encoders, "sd1")
    pipe = StableDiffusionPipeline.from_pretrained(tiny_sd1_dir)
    pipe.load_lora_weights(str(root / "out" / "tiny.safetensors"))
    got = _outputs(pipe.unet, [pipe.text_encoder], "sd1")
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e, rtol=0, atol=2e-5)


def test_sdxl_many_options(tiny_sdxl_dir, tmp_path):
    """v-prediction, min-SNR, noise offset, bf16 + full_bf16, gradient checkpointing, accumulation, LoCon, classic
    attention, UNet only with cached text-encoder outputs, uncached latents with flip and random crop,
    step saves with pruning, max_train_steps ending inside an epoch."""
    from safetensors.torch import load_file

    config = make_project(tmp_path, tiny_sdxl_dir, **{
        "model.v_parameterization": True, "training.min_snr_gamma": 5.0, "training.noise_offset": 0.05,
        "training.mixed_precision": "bf16", "training.full_bf16": True, "training.gradient_checkpointing": True,
        "training.gradient_accumulation_steps": 2, "training.sdpa": False,
        "network.network_train_unet_only": True, "training.cache_text_encoder_outputs": True,
        "network.conv_dim": 2, "network.conv_alpha": 1.0,
        "dataset.cache_latents": False, "dataset.flip_aug": True, "dataset.random_crop": True,
        "training.max_train_epochs": None, "training.max_train_steps": 3,
        "saving.save_every_n_steps": 1, "saving.save_last_n_steps": 1, "saving.save_precision": "bf16",
        "training.clip_skip": 2,
        "optimizer.lr_scheduler": "cosine_with_restarts", "optimizer.lr_warmup_steps": 0.5})
    code, events = run(config)
    assert code == 0, events
    assert [e["step"] for e in of(events, "step")] == [1, 2, 3]
    assert all(math.isfinite(e["loss"]) for e in of(events, "step"))
    assert any("clip_skip = 2 is ignored for SDXL" in e["message"] for e in of(events, "warning"))
    assert of(events, "run_started")[0]["model"] == {**of(events, "run_started")[0]["model"], "family": "sdxl",
                                                     "v_prediction": True}
    out = tmp_path / "out"
    # save_last_n_steps 1, as sd-scripts: at the end (step 3) the saves of steps >= 2 are kept
    assert sorted(p.name for p in out.glob("*.safetensors")) == ["tiny-step00000002.safetensors", "tiny.safetensors"]
    sd = load_file(str(out / "tiny.safetensors"))
    assert not any(k.startswith("lora_te") for k in sd)
    assert "lora_unet_input_blocks_3_1_transformer_blocks_0_attn1_to_q.alpha" in sd  # sd-scripts' SDXL names
    assert {v.dtype for v in sd.values()} == {torch.bfloat16}
    assert sd["lora_unet_input_blocks_1_0_in_layers_2.alpha"].item() == 1.0  # conv_alpha on a 3x3 conv
    assert any(v.abs().sum() > 0 for k, v in sd.items() if "lora_up" in k)


def test_gradient_checkpointing_gives_the_same_weights(tiny_sd1_dir, tmp_path):
    from safetensors.torch import load_file

    results = []
    for gc in (False, True):
        config = make_project(tmp_path / str(gc), tiny_sd1_dir, **{
            "training.gradient_checkpointing": gc, "training.max_train_epochs": None, "training.max_train_steps": 2,
            "saving.save_precision": "float", "training.noise_offset": 0.1, "dataset.flip_aug": True})
        code, _ = run(config)
        assert code == 0
        results.append(load_file(str(tmp_path / str(gc) / "out" / "tiny.safetensors")))
    for key in results[0]:
        torch.testing.assert_close(results[0][key], results[1][key], rtol=1e-4, atol=1e-6)


def test_nan_loss_stops_with_an_error_event(tiny_sd1_dir, tmp_path):
    config = make_project(tmp_path, tiny_sd1_dir, **{
        "optimizer.optimizer_type": "SGD", "optimizer.learning_rate": 10.0, "optimizer.max_grad_norm": 0.0,
        "network.network_alpha": 1024.0, "training.max_train_epochs": 3})
    code, events = run(config)
    assert code == 1
    error = of(events, "error")[0]
    assert error["kind"] == "nan" and "learning rate" in error["hint"]
    assert of(events, "finished")[0]["reason"] == "error"
    assert not (tmp_path / "out" / "tiny.safetensors").exists()
