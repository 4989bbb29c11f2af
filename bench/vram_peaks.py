"""Measure real peak VRAM of LoRA training steps, to calibrate loratui.core.plan.vram (run on a GPU).

Random-initialised UNets with the real SD1.5 / SDXL shapes use exactly the memory of the real
weights, so no download is needed. The LoRA mirrors kohya's UNet targets (every Linear and 1x1
Conv2d inside a Transformer2DModel); latents and text-encoder outputs are random tensors, as when
both are cached. Each case runs in its own process so the CUDA context is measured cleanly.

    python bench/vram_peaks.py [--out FILE] [--cases NAME,...]

Prints one JSON line per case: peak allocated / reserved (torch) and device-used (mem_get_info)
in GiB, the CUDA context (device-used minus reserved), and the estimator's figures for the same
settings.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

# name: (family, resolution, batch, rank, checkpointing, attention)
CASES = {
    "sd15-512-b1-r16": ("sd1", 512, 1, 16, False, "sdpa"),
    "sd15-512-b1-r16-ckpt": ("sd1", 512, 1, 16, True, "sdpa"),
    "sdxl-1024-b1-r16": ("sdxl", 1024, 1, 16, False, "sdpa"),
    "sdxl-1024-b1-r16-ckpt": ("sdxl", 1024, 1, 16, True, "sdpa"),
    "sd15-512-b1-r16-none": ("sd1", 512, 1, 16, False, "none"),
    "sd15-768-b4-r32": ("sd1", 768, 4, 32, False, "sdpa"),
    "sd15-768-b4-r32-ckpt": ("sd1", 768, 4, 32, True, "sdpa"),
    "sdxl-1024-b2-r32-ckpt": ("sdxl", 1024, 2, 32, True, "sdpa"),
    "sdxl-768-b1-r16": ("sdxl", 768, 1, 16, False, "sdpa"),
}


def build_unet(family: str):
    from diffusers import UNet2DConditionModel

    if family == "sd1":
        return UNet2DConditionModel(cross_attention_dim=768, attention_head_dim=8)
    return UNet2DConditionModel(
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        block_out_channels=(320, 640, 1280), transformer_layers_per_block=(1, 2, 10),
        cross_attention_dim=2048, attention_head_dim=(5, 10, 20), use_linear_projection=True,
        addition_embed_type="text_time", addition_time_embed_dim=256,
        projection_class_embeddings_input_dim=2816)


def add_lora(unet, rank: int):
    """Wrap every Linear / 1x1 Conv2d inside Transformer2DModel blocks with a rank-`rank` LoRA."""
    import torch
    from torch import nn

    class LoRA(nn.Module):
        def __init__(self, base):
            super().__init__()
            self.base = base
            kw = {"bias": False, "device": base.weight.device, "dtype": torch.float32}  # base stays bf16
            if isinstance(base, nn.Linear):
                self.down = nn.Linear(base.in_features, rank, **kw)
                self.up = nn.Linear(rank, base.out_features, **kw)
            else:
                self.down = nn.Conv2d(base.in_channels, rank, 1, **kw)
                self.up = nn.Conv2d(rank, base.out_channels, 1, **kw)
            nn.init.zeros_(self.up.weight)

        def forward(self, x):
            return self.base(x) + self.up(self.down(x))

    params = []
    for module in list(unet.modules()):
        if type(module).__name__ != "Transformer2DModel":
            continue
        for parent in list(module.modules()):
            for name, child in list(parent.named_children()):
                ok = isinstance(child, nn.Linear) or (isinstance(child, nn.Conv2d) and child.kernel_size == (1, 1))
                if ok and not isinstance(parent, LoRA):
                    wrapped = LoRA(child)
                    setattr(parent, name, wrapped)
                    params += [wrapped.down.weight, wrapped.up.weight]
    return params


def run_case(name: str) -> dict:
    import time

    import torch

    family, res, batch, rank, ckpt, attention = CASES[name]
    torch.manual_seed(0)
    dev = torch.device("cuda")
    torch.cuda.init()
    torch.zeros(1, device=dev)
    # build straight in bf16: diffusers' ModelMixin.to(dtype=...) left weights in fp32 on one setup
    torch.set_default_dtype(torch.bfloat16)
    with torch.device(dev):
        unet = build_unet(family)
    torch.set_default_dtype(torch.float32)
    unet.requires_grad_(False)
    frozen_bytes = sum(p.numel() * p.element_size() for p in unet.parameters())
    frozen_dtypes = sorted({str(p.dtype) for p in unet.parameters()})
    if attention == "none":
        from diffusers.models.attention_processor import AttnProcessor
        unet.set_attn_processor(AttnProcessor())
    params = add_lora(unet, rank)
    lora_ids = {id(p) for p in params}
    frozen_after = sum(p.numel() * p.element_size() for p in unet.parameters() if id(p) not in lora_ids)
    assert frozen_after == frozen_bytes, "adding the LoRA changed the frozen weights' dtype"
    if ckpt:
        unet.enable_gradient_checkpointing()
    unet.train()
    opt = torch.optim.AdamW(params, lr=1e-4)
    n_lora = sum(p.numel() for p in params)
    lat = res // 8
    ctx_dim = 768 if family == "sd1" else 2048
    torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        latents = torch.randn(batch, 4, lat, lat, device=dev)
        noise = torch.randn_like(latents)
        t = torch.randint(0, 1000, (batch,), device=dev)
        hidden = torch.randn(batch, 77, ctx_dim, device=dev, dtype=torch.bfloat16)
        extra = {}
        if family == "sdxl":
            extra["added_cond_kwargs"] = {"text_embeds": torch.randn(batch, 1280, device=dev, dtype=torch.bfloat16),
                                          "time_ids": torch.randn(batch, 6, device=dev, dtype=torch.bfloat16)}
        with torch.autocast("cuda", dtype=torch.bfloat16):
            pred = unet(latents + noise, t, hidden, **extra).sample
        loss = torch.nn.functional.mse_loss(pred.float(), noise)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    free, total = torch.cuda.mem_get_info()
    gib = 1024 ** 3
    used = (total - free) / gib
    reserved = torch.cuda.memory_reserved() / gib
    return {
        "case": name, "family": family, "resolution": res, "batch": batch, "rank": rank,
        "checkpointing": ckpt, "attention": attention, "lora_params": n_lora,
        "frozen_gib": round(frozen_bytes / 1024 ** 3, 3), "frozen_dtypes": frozen_dtypes,
        "peak_allocated_gib": round(torch.cuda.max_memory_allocated() / gib, 3),
        "peak_reserved_gib": round(torch.cuda.max_memory_reserved() / gib, 3),
        "device_used_gib": round(used, 3), "context_gib": round(used - reserved, 3),
        "step_s": round(min(times[1:]), 3), "torch": torch.__version__,
        "gpu": torch.cuda.get_device_name(),
    }


def estimate(name: str) -> dict:
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
    from loratui.core.plan import GIB, calibration_config, estimate_vram

    family, res, batch, rank, ckpt, attention = CASES[name]
    cfg = calibration_config(family, res, batch, rank, ckpt, attention)
    est = estimate_vram(cfg)
    return {"estimate_allocated_gib": round(est.allocated_bytes / GIB, 3),
            "estimate_total_gib": round(est.total_gib, 3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--one")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_case(args.one)))
        return
    rows = []
    for name in args.cases.split(","):
        proc = subprocess.run([sys.executable, __file__, "--one", name], capture_output=True, text=True)
        if proc.returncode != 0:
            row = {"case": name, "error": proc.stderr.strip().splitlines()[-1:]}
        else:
            row = json.loads(proc.stdout.strip().splitlines()[-1])
        row.update(estimate(name))
        print(json.dumps(row), flush=True)
        rows.append(row)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write("\n".join(json.dumps(r) for r in rows) + "\n")


if __name__ == "__main__":
    main()
