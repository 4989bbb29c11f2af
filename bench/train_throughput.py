"""Training throughput of loratui's engine against a minimal hand-written diffusers + peft loop.

Both loops do the same work on the same model, batch, resolution and precision: noise, timesteps,
UNet forward/backward through a LoRA on the same target modules (every Linear / 1x1 conv inside the
UNet's transformer blocks; the text encoder's attention and MLP Linears when it trains too), AdamW
with gradient clipping, one loss read per step. They run alternately (--rounds) and the best round
of each counts, so a noisy machine hurts both alike.

    python bench/train_throughput.py                      # tiny SD1 model, CPU: the overhead check
    python bench/train_throughput.py --arch sd15 --random-weights --resolution 512 --batch 4   # GPU
    python bench/train_throughput.py --arch sdxl --random-weights --resolution 1024 --batch 2  # GPU

Tiny (default): "ours" is the whole `loratui train` path (Run: config, dataset, cached latents,
captions through the text encoder, events, progress), timed from its step events; the minimal loop
caches latents and encodes captions the same way. --arch with --random-weights: the real-size
architecture with random weights, latents and text-encoder outputs as random cached tensors (no VAE
or text-encoder time), UNet LoRA only; prints peak VRAM (torch.cuda.max_memory_allocated) beside the
core.vram estimate and the fraction of the GPU's peak FLOP/s achieved (a LoRA step is ~2.1x the
forward: 1.72 TFLOP per 512px image for SD1.5, 14.2 TFLOP per 1024px image for SDXL).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

TFLOP_PER_IMAGE = {"sd1": (1.72, 512), "sdxl": (14.2, 1024)}  # training step, at the reference size


# ---- the minimal loop (diffusers + peft), written the way the diffusers examples do it -------------

def unet_lora_targets(unet) -> list[str]:
    from loratui.engine.network import UNET_TARGETS, _collect

    return [name for name, layer in _collect(unet, UNET_TARGETS)
            if isinstance(layer, torch.nn.Linear) or tuple(getattr(layer, "kernel_size", ())) == (1, 1)]


def minimal_loop(unet, noise_scheduler, batches, *, rank, alpha, lr, steps, warmup, autocast_dtype, device,
                 text_encoder=None, tokenizer=None, sdxl=False) -> dict:
    """``batches(i)`` -> (latents, hidden_or_captions, pooled, time_ids). Returns timing."""
    from peft import LoraConfig

    unet.add_adapter(LoraConfig(r=rank, lora_alpha=alpha, init_lora_weights="gaussian",
                                target_modules=unet_lora_targets(unet)))
    params = [p for p in unet.parameters() if p.requires_grad]
    if text_encoder is not None:
        # peft's own injection: transformers 5.2x's add_adapter asks for a peft newer than any released
        from peft import inject_adapter_in_model

        inject_adapter_in_model(LoraConfig(r=rank, lora_alpha=alpha, init_lora_weights="gaussian",
                                           target_modules=["q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"]),
                                text_encoder)
        params += [p for p in text_encoder.parameters() if p.requires_grad]
    for p in params:
        p.data = p.data.float()
    optimizer = torch.optim.AdamW(params, lr=lr)
    lr_scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1.0)
    unet_dtype = next(unet.parameters()).dtype
    times = []
    for i in range(warmup + steps):
        start = time.perf_counter()
        latents, cond, pooled, time_ids = batches(i)
        noise = torch.randn_like(latents)
        timesteps = torch.randint(0, noise_scheduler.config.num_train_timesteps, (latents.shape[0],),
                                  device=latents.device)
        noisy = noise_scheduler.add_noise(latents, noise, timesteps)
        with torch.autocast(device.type, dtype=autocast_dtype or torch.float32, enabled=autocast_dtype is not None):
            if text_encoder is not None:
                ids = tokenizer(cond, padding="max_length", max_length=77, truncation=True,
                                return_tensors="pt").input_ids.to(device)
                cond = text_encoder(ids)[0]
            kwargs = {"added_cond_kwargs": {"text_embeds": pooled, "time_ids": time_ids}} if sdxl else {}
            pred = unet(noisy.to(unet_dtype), timesteps, cond.to(unet_dtype), **kwargs).sample
        loss = torch.nn.functional.mse_loss(pred.float(), noise.float())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        lr_scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        loss.item()
        times.append(time.perf_counter() - start)
    return {"s_per_step": statistics.median(times[warmup:])}


# ---- tiny model on the CPU: the whole `loratui train` path against the minimal loop ----------------

def tiny_project(root: Path, args) -> Path:
    from PIL import Image

    from loratui.core.config import TrainingConfig
    from loratui.core.config import config_from_dict, config_to_dict, save_config
    from loratui.engine.tiny_models import make_tiny_sd1

    model = make_tiny_sd1(root / "model")
    folder = root / "img" / "1_shp"
    folder.mkdir(parents=True)
    for i in range(args.images):
        Image.new("RGB", (args.resolution, args.resolution), (40 * i % 255, 90, 200)).save(folder / f"{i}.png")
        (folder / f"{i}.txt").write_text(f"shp, picture {i}", encoding="utf-8")
    data = config_to_dict(TrainingConfig())
    data["model"].update(pretrained_model_name_or_path=str(model))
    data["dataset"].update(train_data_dir="img", resolution=[args.resolution, args.resolution],
                           min_bucket_reso=64, max_bucket_reso=max(64, args.resolution), cache_latents=True)
    data["network"].update(network_dim=args.rank, network_alpha=float(args.rank))
    data["optimizer"].update(optimizer_type="AdamW", learning_rate=1e-4, lr_scheduler="constant", max_grad_norm=1.0)
    data["training"].update(train_batch_size=args.batch, max_train_steps=args.warmup + args.steps,
                            mixed_precision=args.precision, seed=0)
    data["training"].pop("max_train_epochs", None)
    data["saving"].update(output_dir="out", output_name="bench", save_precision="fp16")
    save_config(config_from_dict(data), root / "config.toml")
    return root / "config.toml"


def ours_tiny(config: Path, args) -> dict:
    import contextlib
    import io

    from loratui.core.events import read_events
    from loratui.engine.run import Run

    out = config.parent / "out"
    for f in out.glob("*"):
        f.unlink()
    with contextlib.redirect_stderr(io.StringIO()):
        code = Run(str(config), show_progress=False).execute()
    assert code == 0
    stamps = [e["time"] for e in read_events(out / "bench.events.jsonl") if e["event"] == "step"]
    gaps = [b - a for a, b in zip(stamps[args.warmup - 1:], stamps[args.warmup:])]
    return {"s_per_step": statistics.median(gaps)}


def minimal_tiny(config: Path, args) -> dict:
    from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
    from PIL import Image
    from transformers import CLIPTextModel, CLIPTokenizer

    model = config.parent / "model"
    device = torch.device("cpu")
    dtype = {"no": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[args.precision]
    unet = UNet2DConditionModel.from_pretrained(model, subfolder="unet", torch_dtype=dtype).requires_grad_(False)
    vae = AutoencoderKL.from_pretrained(model, subfolder="vae").requires_grad_(False)
    te = CLIPTextModel.from_pretrained(model, subfolder="text_encoder", dtype=dtype).requires_grad_(False)
    tok = CLIPTokenizer.from_pretrained(model, subfolder="tokenizer")
    scheduler = DDPMScheduler.from_pretrained(model, subfolder="scheduler")
    images = sorted((config.parent / "img" / "1_shp").glob("*.png"))
    with torch.no_grad():
        pixels = torch.stack([torch.from_numpy(__import__("numpy").asarray(Image.open(p).convert("RGB")))
                              .permute(2, 0, 1).float() / 127.5 - 1 for p in images])
        latents = vae.encode(pixels).latent_dist.sample() * vae.config.scaling_factor
    captions = [(config.parent / "img" / "1_shp" / f"{p.stem}.txt").read_text() for p in images]

    def batches(i):
        idx = torch.randperm(len(images))[:args.batch]
        return latents[idx], [captions[j] for j in idx], None, None

    return minimal_loop(unet, scheduler, batches, rank=args.rank, alpha=float(args.rank), lr=1e-4, steps=args.steps,
                        warmup=args.warmup, autocast_dtype=None if args.precision == "no" else dtype, device=device,
                        text_encoder=te, tokenizer=tok)


# ---- real-size architecture with random weights (GPU) ----------------------------------------------

class SyntheticData:
    """Cached-latent / cached-text-shaped random batches, in TrainingData's interface."""

    def __init__(self, base, args, device, dtype):
        from loratui.engine.data import Batch
        from loratui.engine.text import TextConditioning

        g = torch.Generator(device="cpu").manual_seed(0)
        b, side = args.batch, args.resolution // 8
        sdxl = base.family == "sdxl"
        width = 2048 if sdxl else base.unet.config.cross_attention_dim
        self.batch = Batch(torch.randn(b, 4, side, side, generator=g).to(device),
                           None, [""] * b, torch.ones(b, device=device),
                           TextConditioning(torch.randn(b, 77, width, generator=g).to(device, dtype),
                                            torch.randn(b, 1280, generator=g).to(device, dtype) if sdxl else None),
                           torch.tensor([[args.resolution, args.resolution, 0, 0, args.resolution,
                                          args.resolution]] * b, dtype=torch.float32, device=device) if sdxl else None,
                           [])
        self.total_steps = args.warmup + args.steps
        self.epochs = 1
        self.steps_per_epoch = self.total_steps

    def epoch(self, epoch, *, skip_batches=0):
        for _ in range(self.total_steps - skip_batches):
            yield self.batch


class TimingHooks:
    """What run.Reporter costs per step (an event line written and flushed), plus the step times."""

    def __init__(self, path: Path, device):
        from loratui.core.events import EventWriter

        self.writer, self.device, self.stamps = EventWriter(path), device, []

    def on_step(self, tr, *, loss, avg_loss, images_per_s, eta_s):
        self.stamps.append(time.perf_counter())
        self.writer.emit("step", step=tr.step, total_steps=tr.data.total_steps, epoch=tr.epoch, loss=loss,
                         avg_loss=avg_loss, lr=tr.optimizer.param_groups[0]["lr"], images_per_s=images_per_s,
                         eta_s=eta_s)

    def on_epoch_end(self, tr, *, avg_loss):
        pass


def bench_cfg(args):
    from loratui.core.config import TrainingConfig

    cfg = TrainingConfig()
    cfg.dataset.resolution = (args.resolution, args.resolution)
    cfg.dataset.cache_latents = True
    cfg.network.network_dim, cfg.network.network_alpha = args.rank, float(args.rank)
    cfg.network.network_train_unet_only = True
    cfg.optimizer.optimizer_type, cfg.optimizer.lr_scheduler = "AdamW", "constant"
    cfg.optimizer.learning_rate = 1e-4
    cfg.training.train_batch_size = args.batch
    cfg.training.mixed_precision = args.precision
    cfg.training.gradient_checkpointing = args.gradient_checkpointing
    cfg.training.cache_text_encoder_outputs = True
    return cfg


def peak_memory(device) -> float | None:
    if device.type == "cuda":
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() / 1024 ** 3
    return None


def reset_peak(device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def bench_arch(args) -> list[dict]:
    """Each loop of each round gets a freshly built model, so peaks and layers are never shared."""
    from loratui.engine.models import build_random_base_model
    from loratui.engine.network import inject_lora
    from loratui.engine.optim import build_lr_scheduler, build_optimizer
    from loratui.engine.train import Trainer, train_loop

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dtype = {"no": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[args.precision]
    autocast = None if args.precision == "no" else dtype
    cfg = bench_cfg(args)

    def fresh_base():
        reset_peak(device)
        torch.manual_seed(0)
        base = build_random_base_model(args.arch, device=device, dtype=dtype)
        base.vae.to("cpu")
        for te in base.text_encoders:
            te.to("cpu")  # cached text outputs: the text encoders are not on the GPU during training
        if args.gradient_checkpointing:
            base.unet.enable_gradient_checkpointing()
        base.unet.train()
        reset_peak(device)
        return base

    rows = []
    for round_ in range(args.rounds):
        # ours: the engine's train_loop with its LoRA
        base = fresh_base()
        data = SyntheticData(base, args, device, dtype)
        network = inject_lora(base, cfg.network)
        network.to(device=device)
        optimizer = build_optimizer(cfg, network.param_groups(None, None, cfg.optimizer.learning_rate))
        tr = Trainer(cfg, base, network, data, optimizer, build_lr_scheduler(cfg, optimizer, data.total_steps),
                     device, autocast, torch.amp.GradScaler(device.type) if dtype == torch.float16 else None,
                     torch.Generator(device=device).manual_seed(0))
        with tempfile.TemporaryDirectory() as tmp:
            hooks = TimingHooks(Path(tmp) / "events.jsonl", device)
            train_loop(tr, hooks)
            hooks.writer.close()
        gaps = [b - a for a, b in zip(hooks.stamps[args.warmup - 1:], hooks.stamps[args.warmup:])]
        rows.append({"loop": "loratui", "round": round_, "s_per_step": statistics.median(gaps),
                     "peak_gib": peak_memory(device)})
        del network, optimizer, tr, hooks, base
        # minimal: peft on a fresh UNet of the same architecture, same cached-tensor batch
        base = fresh_base()
        text = data.batch.text

        def batches(i):
            return data.batch.latents, text.hidden_states, text.pooled, data.batch.time_ids

        timing = minimal_loop(base.unet, base.noise_scheduler, batches, rank=args.rank, alpha=float(args.rank),
                              lr=1e-4, steps=args.steps, warmup=args.warmup, autocast_dtype=autocast, device=device,
                              sdxl=base.family == "sdxl")
        rows.append({"loop": "diffusers+peft", "round": round_, **timing, "peak_gib": peak_memory(device)})
        del base, data, text
    return rows


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--arch", choices=["sd15", "sdxl"], help="real-size architecture (needs --random-weights)")
    p.add_argument("--random-weights", action="store_true", help="build --arch with random weights (no download)")
    p.add_argument("--resolution", type=int, default=None)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--rank", type=int, default=8)
    p.add_argument("--steps", type=int, default=30, help="timed steps per loop and round")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--images", type=int, default=8, help="tiny mode: dataset size")
    p.add_argument("--precision", choices=["no", "fp16", "bf16"], default=None)
    p.add_argument("--gradient-checkpointing", action="store_true")
    p.add_argument("--peak-tflops", type=float, default=989.0, help="GPU peak (default H100 SXM bf16 dense)")
    args = p.parse_args(argv)
    if args.warmup < 1 or args.steps < 1 or args.rounds < 1:
        p.error("--warmup, --steps and --rounds must be at least 1 (a step is timed from the one before it, "
                "so one warm-up step is the least)")
    if args.arch and not args.random_weights:
        p.error("--arch needs --random-weights (real weights are not downloaded by a benchmark)")
    cuda = torch.cuda.is_available()
    args.precision = args.precision or ("bf16" if cuda else "no")
    torch.manual_seed(0)
    if args.arch:
        family = "sd1" if args.arch == "sd15" else "sdxl"
        args.resolution = args.resolution or TFLOP_PER_IMAGE[family][1]
        rows = bench_arch(args)
    else:
        family = "sd1"
        args.resolution = args.resolution or 64
        rows = []
        with tempfile.TemporaryDirectory() as tmp:
            config = tiny_project(Path(tmp), args)
            for round_ in range(args.rounds):
                rows.append({"loop": "loratui", "round": round_, **ours_tiny(config, args), "peak_gib": None})
                rows.append({"loop": "diffusers+peft", "round": round_, **minimal_tiny(config, args),
                             "peak_gib": None})
    best = {name: min((r for r in rows if r["loop"] == name), key=lambda r: r["s_per_step"])
            for name in ("loratui", "diffusers+peft")}
    device = torch.cuda.get_device_name() if cuda else "cpu"
    print(f"device {device}, {args.arch or 'tiny sd1'}{' (random weights)' if args.arch else ''}, "
          f"{args.resolution}px, batch {args.batch}, rank {args.rank}, precision {args.precision}, "
          f"gradient checkpointing {args.gradient_checkpointing}, {args.steps} steps x {args.rounds} rounds")
    for r in rows:
        print(f"  round {r['round']} {r['loop']:<15} {r['s_per_step'] * 1000:8.1f} ms/step")
    flops = TFLOP_PER_IMAGE[family][0] * (args.resolution / TFLOP_PER_IMAGE[family][1]) ** 2
    for name, r in best.items():
        ips = args.batch / r["s_per_step"]
        line = f"{name:<15} {ips:8.2f} images/s  {r['s_per_step']:.4f} s/step"
        if r["peak_gib"] is not None:
            line += f"  peak {r['peak_gib']:.2f} GiB"
        if args.arch and cuda:
            line += f"  {ips * flops / args.peak_tflops:.1%} of {args.peak_tflops:g} TFLOP/s"
        print(line)
    if not cuda:
        print(f"process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2:.2f} GiB "
              "(both loops; per-loop VRAM peaks need a GPU)")
    if args.arch:
        from loratui.core.plan import estimate_vram

        est = estimate_vram(bench_cfg(args), family=family)
        print(f"core.vram estimate {est.total_gib:.2f} GiB (measured loratui peak: "
              f"{best['loratui']['peak_gib'] if best['loratui']['peak_gib'] is not None else 'n/a'})")
    ratio = best["loratui"]["s_per_step"] / best["diffusers+peft"]["s_per_step"]
    print(f"overhead ratio loratui / minimal = {ratio:.3f} (target <= 1.05)")
    print(json.dumps({"ratio": round(ratio, 4), "rows": rows}))


if __name__ == "__main__":
    main(sys.argv[1:])
