"""The training step's speed levers, measured one by one on the engine's own loop.

Each row builds a fresh model (random weights at the real shapes, or the tiny test model with
--tiny), injects the LoRA, applies a SpeedPlan (src/loratui/engine/speed.py), and runs the
engine's ``train_loop`` on one fixed batch with a fixed seed, so every row does the same
arithmetic: the per-step time (median after warm-up), peak VRAM, and how far its loss curve is
from the first row's (the "identical results" check: bf16 rounding only).

    python bench/train_levers.py --tiny --cpu                      # CI: every lever runs on the CPU
    python bench/train_levers.py --arch sd15 --resolution 512 --batch 4 --levers baseline,fused,channels_last
    python bench/train_levers.py --arch sdxl --resolution 1024 --batch 2 --text te --latents pixels

Levers (cumulative, in the order given): baseline (the engine before issue 14: foreach AdamW,
autocast, NCHW, eager), fused, cudnn_benchmark, channels_last, no_autocast, compile, cudagraphs (compile with
mode="reduce-overhead"), default (the engine's own plan for this device). ``--text``: cached
(text-encoder outputs cached, UNet LoRA only) or te (captions through the text encoders every step,
their LoRA trained too). ``--latents``: cached or pixels (the VAE encodes every step).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

TFLOP_PER_IMAGE = {"sd1": (1.72, 512), "sdxl": (14.2, 1024)}
LEVERS = ("baseline", "fused", "cudnn_benchmark", "channels_last", "no_autocast", "pinned", "early_loss", "compile",
          "cudagraphs", "default")


def plan_for(lever: str, previous, device):
    from loratui.engine.speed import SpeedPlan, plan_speed

    if lever == "baseline":
        return SpeedPlan()
    if lever == "default":
        return plan_speed(bench_cfg_defaults(), device)
    changes = {"fused": dict(fused_optimizer=True), "cudnn_benchmark": dict(cudnn_benchmark=True),
               "channels_last": dict(channels_last=True),
               "no_autocast": dict(unet_autocast=False), "pinned": dict(pinned_transfers=True),
               "early_loss": dict(early_loss_read=True),
               "compile": dict(compile_unet=True),
               "cudagraphs": dict(compile_unet=True, compile_mode="reduce-overhead")}[lever]
    return (previous or SpeedPlan()).with_(**changes)  # the first row may be any lever


def bench_cfg_defaults():
    from loratui.core.config import TrainingConfig

    return TrainingConfig()


def bench_cfg(args):
    from loratui.core.config import TrainingConfig

    cfg = TrainingConfig()
    cfg.dataset.resolution = (args.resolution, args.resolution)
    cfg.dataset.cache_latents = args.latents == "cached"
    cfg.network.network_dim, cfg.network.network_alpha = args.rank, float(args.rank)
    cfg.network.network_train_unet_only = args.text == "cached"
    cfg.optimizer.optimizer_type, cfg.optimizer.lr_scheduler = "AdamW", "constant"
    cfg.optimizer.learning_rate = 1e-4
    cfg.training.train_batch_size = args.batch
    cfg.training.mixed_precision = args.precision
    cfg.training.gradient_checkpointing = args.gradient_checkpointing
    cfg.training.cache_text_encoder_outputs = args.text == "cached"
    return cfg


class FixedBatches:
    """One batch's worth of data, repeated (TrainingData's interface). As in a real run the cached
    tensors live in host memory, one per image, and every step moves them to the device through the
    engine's own copy path (speed.to_device / data.pixels_to_device), so the host waits and copies a
    real run pays are in the figures, and the `pinned` lever acts on them."""

    def __init__(self, base, args, device, dtype, steps, plan):
        g = torch.Generator(device="cpu").manual_seed(0)
        b, r = args.batch, args.resolution
        self.sdxl = base.family == "sdxl"
        self.device, self.dtype, self.pinned = device, dtype, plan.pinned_transfers
        self.latents = self.pixels = self.hidden = self.pooled = None
        if args.latents == "cached":
            self.latents = [torch.randn(4, r // 8, r // 8, generator=g) for _ in range(b)]
        else:
            self.pixels = [torch.randint(0, 256, (r, r, 3), generator=g, dtype=torch.uint8).numpy()
                           for _ in range(b)]
        if args.text == "cached":
            width = 2048 if self.sdxl else base.unet.config.cross_attention_dim
            self.hidden = [torch.randn(1, 77, width, generator=g).to(dtype) for _ in range(b)]
            self.pooled = [torch.randn(1, 1280, generator=g).to(dtype) for _ in range(b)] if self.sdxl else None
        self.time_ids = torch.tensor([[r, r, 0, 0, r, r]] * b, dtype=torch.float32)
        self.captions = [f"shp, a picture of a cat {i}, sitting, outdoors, blue sky" for i in range(b)]
        self.total_steps, self.epochs, self.steps_per_epoch = steps, 1, steps

    def batch(self):
        from loratui.engine.data import Batch, pixels_to_device
        from loratui.engine.speed import to_device
        from loratui.engine.text import TextConditioning

        move = dict(pinned=self.pinned, stack=False)
        latents = to_device(self.latents, self.device, pinned=self.pinned) if self.latents else None
        pixels = pixels_to_device(self.pixels, self.device, pinned=self.pinned) if self.pixels else None
        text = None
        if self.hidden is not None:
            text = TextConditioning(to_device(self.hidden, self.device, **move),
                                    to_device(self.pooled, self.device, **move) if self.pooled else None)
        weights = to_device([torch.ones(len(self.captions))], self.device, **move)
        time_ids = to_device([self.time_ids], self.device, **move) if self.sdxl else None
        return Batch(latents, pixels, self.captions, weights, text, time_ids, [])

    def epoch(self, epoch, *, skip_batches=0):
        for _ in range(self.total_steps - skip_batches):
            yield self.batch()


class Stamps:
    def __init__(self, device):
        self.device, self.times, self.losses = device, [], []

    def on_step(self, tr, *, loss, avg_loss, images_per_s, eta_s):
        # the loop read the loss back (after the step, or after the forward with early_loss: then the
        # host runs at most one step ahead of the GPU, and the median gap is still the step's time)
        self.times.append(time.perf_counter())
        self.losses.append(loss)

    def on_epoch_end(self, tr, *, avg_loss):
        pass


def build_base(args, device, dtype):
    from loratui.engine.models import build_random_base_model

    if args.tiny:
        from loratui.core.config import TrainingConfig
        from loratui.engine.models import load_base_model
        from loratui.engine.tiny_models import make_tiny_sd1

        folder = Path(args.work) / "tiny-model"
        if not folder.exists():
            make_tiny_sd1(folder)
        model_cfg = TrainingConfig().model
        model_cfg.pretrained_model_name_or_path = str(folder)
        base = load_base_model(model_cfg, dtype=dtype, device=device)
    else:
        base = build_random_base_model(args.arch, device=device, dtype=dtype)
    base.vae.to(dtype=torch.float32)
    if args.latents == "cached":
        base.vae.to("cpu")
    if args.text == "cached":
        for te in base.text_encoders:
            te.to("cpu")
    return base


def run_row(lever, plan, args, device, dtype) -> dict:
    from loratui.engine.network import inject_lora
    from loratui.engine.optim import build_lr_scheduler, build_optimizer
    from loratui.engine.speed import apply_speed
    from loratui.engine.train import Trainer, train_loop

    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    torch.manual_seed(0)
    cfg = bench_cfg(args)
    base = build_base(args, device, dtype)
    if args.gradient_checkpointing:
        base.unet.enable_gradient_checkpointing()
    network = inject_lora(base, cfg.network)
    network.to(device=device)
    apply_speed(plan, base, network)
    base.unet.train()
    steps = args.warmup + args.steps
    data = FixedBatches(base, args, device, dtype, steps, plan)
    groups = network.param_groups(None, None, cfg.optimizer.learning_rate)
    optimizer = build_optimizer(cfg, groups, fused=plan.fused_optimizer)
    tr = Trainer(cfg, base, network, data, optimizer, build_lr_scheduler(cfg, optimizer, steps), device,
                 None if args.precision == "no" else dtype,
                 torch.amp.GradScaler(device.type) if dtype == torch.float16 else None,
                 torch.Generator(device=device).manual_seed(0), speed=plan)
    hooks = Stamps(device)
    started = time.perf_counter()
    train_loop(tr, hooks)
    first = hooks.times[0] - started
    gaps = [b - a for a, b in zip(hooks.times[args.warmup - 1:], hooks.times[args.warmup:])]
    peak = torch.cuda.max_memory_allocated() / 1024 ** 3 if device.type == "cuda" else None
    s = statistics.median(gaps)
    row = {"lever": lever, "plan": plan.describe(), "s_per_step": s, "images_per_s": args.batch / s,
           "first_step_s": first, "peak_gib": peak, "losses": hooks.losses}
    if plan.compile_unet:
        from torch._dynamo.utils import counters

        breaks = counters["graph_break"]
        row["graph_breaks"] = sum(breaks.values())
        row["graph_break_reasons"] = [str(reason)[:200] for reason in list(breaks)[:5]]
    del tr, optimizer, network, base, data
    if plan.compile_unet:
        import torch._dynamo as dynamo
        from torch._dynamo.utils import counters

        counters.clear()
        dynamo.reset()
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--arch", choices=["sd15", "sdxl"], default="sd15")
    p.add_argument("--tiny", action="store_true", help="the tiny SD1 test model (CPU, CI)")
    p.add_argument("--cpu", action="store_true", help="run on the CPU even when CUDA is there")
    p.add_argument("--resolution", type=int)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--rank", type=int, default=8)
    p.add_argument("--steps", type=int, default=10, help="timed steps per row")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--precision", choices=["no", "fp16", "bf16"])
    p.add_argument("--gradient-checkpointing", action="store_true")
    p.add_argument("--text", choices=["cached", "te"], default="cached")
    p.add_argument("--latents", choices=["cached", "pixels"], default="cached")
    p.add_argument("--levers", default="baseline,fused,channels_last,no_autocast",
                   help=f"comma-separated, cumulative: {', '.join(LEVERS)}")
    p.add_argument("--peak-tflops", type=float, default=989.0, help="dense bf16 peak (H100/H200 SXM: 989)")
    p.add_argument("--work", default="/tmp/loratui-bench")
    p.add_argument("--json-out", help="append one JSON line per row here")
    args = p.parse_args(argv)
    if args.warmup < 1 or args.steps < 1:
        p.error("--warmup and --steps must be at least 1 (a step is timed from the one before it)")
    levers = [x.strip() for x in args.levers.split(",") if x.strip()]
    unknown = [x for x in levers if x not in LEVERS]
    if unknown:
        p.error(f"unknown lever {unknown[0]!r}: use {', '.join(LEVERS)}")
    device = torch.device("cuda" if torch.cuda.is_available() and not args.cpu else "cpu")
    args.precision = args.precision or ("bf16" if device.type == "cuda" else "no")
    dtype = {"no": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[args.precision]
    family = "sdxl" if args.arch == "sdxl" and not args.tiny else "sd1"
    args.resolution = args.resolution or (64 if args.tiny else TFLOP_PER_IMAGE[family][1])
    Path(args.work).mkdir(parents=True, exist_ok=True)
    name = "tiny sd1" if args.tiny else args.arch
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"{where}: {name} {args.resolution}px batch {args.batch} rank {args.rank} {args.precision}, "
          f"text {args.text}, latents {args.latents}, checkpointing {args.gradient_checkpointing}, "
          f"{args.warmup}+{args.steps} steps per row", flush=True)
    flops = TFLOP_PER_IMAGE[family][0] * (args.resolution / TFLOP_PER_IMAGE[family][1]) ** 2
    if not args.tiny:
        from loratui.core.plan import estimate_vram

        est = estimate_vram(bench_cfg(args), family=family)
        print(f"  core.plan VRAM estimate for these settings: {est.total_gib:.2f} GiB (CUDA context included)",
              flush=True)
    rows, plan = [], None
    for lever in levers:
        plan = plan_for(lever, plan, device)
        try:
            row = run_row(lever, plan, args, device, dtype)
        except Exception as exc:  # one lever failing must not cost the others' figures
            print(f"  {lever:<14} FAILED: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}", flush=True)
            rows.append({"lever": lever, "error": f"{type(exc).__name__}: {exc}"[:2000]})
            continue
        ref = next((r for r in rows if "losses" in r), None)
        if ref is not None:
            diffs = [abs(a - b) for a, b in zip(ref["losses"], row["losses"])]
            row["loss_max_abs_diff"] = max(diffs)
            row["loss_max_rel_diff"] = max(d / max(abs(a), 1e-12) for d, a in zip(diffs, ref["losses"]))
        rows.append(row)
        share = f"  {row['images_per_s'] * flops / args.peak_tflops:6.1%} of peak" if device.type == "cuda" else ""
        peak = f"  peak {row['peak_gib']:.2f} GiB" if row["peak_gib"] is not None else ""
        diff = (f"  loss vs first row: max rel {row['loss_max_rel_diff']:.2e}" if "loss_max_rel_diff" in row else "")
        print(f"  {lever:<14} {row['s_per_step'] * 1000:8.1f} ms/step {row['images_per_s']:8.2f} img/s{share}{peak}"
              f"  first step {row['first_step_s']:.1f} s{diff}   [{row['plan']}]", flush=True)
        if "graph_breaks" in row:
            print(f"  {'':<14} graph breaks: {row['graph_breaks']} {row['graph_break_reasons']}", flush=True)
    good = [r for r in rows if "s_per_step" in r]
    if len(good) >= 2:
        print(f"speed-up of the last working row over the first: {good[0]['s_per_step'] / good[-1]['s_per_step']:.2f}x")
    if args.json_out:
        with open(args.json_out, "a", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps({"arch": name, "resolution": args.resolution, "batch": args.batch,
                                    "text": args.text, "latents": args.latents, "device": where,
                                    "checkpointing": args.gradient_checkpointing, **r}) + "\n")
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
