"""How a training step is made fast: the levers, chosen once per run from the config and the device.

Each lever is measured on its own by ``bench/train_levers.py`` (docs/benchmarks.md has the table);
only the ones that pay and leave the loss curve unchanged (within bf16 rounding) are on by default.

- ``fused_optimizer``: AdamW's fused CUDA kernel (one launch for all LoRA tensors instead of a dozen
  per tensor); same update, rounding aside. Default on CUDA.
- ``cudnn_benchmark``: cuDNN times its convolution algorithms once per input shape and keeps the
  fastest (a bucketed dataset has a handful of shapes).
- ``channels_last``: UNet and LoRA convolutions in NHWC, the layout cuDNN's bf16/fp16 kernels prefer.
- ``unet_autocast``: False runs the UNet in its own (bf16/fp16) weights without autocast; the LoRA
  then computes in that dtype from its fp32 master weights (what autocast does too), but group and
  layer norms stay in bf16 instead of going through fp32 copies of the activations.
- ``compile_unet``: ``torch.compile`` of the UNet with the LoRA hooks inside (``training.torch_compile``);
  the first step pays the compile, which is cached on disk for later runs of the same shapes.
- ``pinned_transfers``: a batch's cached latents, text-encoder outputs, pixels and loss weights are
  gathered into page-locked host memory and copied with ``non_blocking``. A copy from ordinary
  (pageable) memory makes the host wait for the GPU's queue to drain first, four or five times a
  step; from pinned memory the copy is queued like a kernel. The same bytes (pixels are scaled on
  the host as before) in the same layout: identical results. Off until measured (CUDA only).
- ``early_loss_read``: the step's loss is copied to the host right after the forward, and the loop
  waits for that copy (to check it is finite and report it) while the backward still runs, instead
  of reading it after the optimizer step, when the GPU's queue is empty: the GPU does not sit idle
  while the host does its between-steps work (events, the next batch, the next launches). The same
  float is read, so results are identical. One process only (several average the loss with the
  gradients); off until measured.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import torch

COMPILE_MODES = ("default", "reduce-overhead", "max-autotune-no-cudagraphs")


@dataclass(frozen=True)
class SpeedPlan:
    fused_optimizer: bool = False
    cudnn_benchmark: bool = False
    channels_last: bool = False
    unet_autocast: bool = True
    compile_unet: bool = False
    compile_mode: str = "default"
    pinned_transfers: bool = False
    early_loss_read: bool = False

    def describe(self) -> str:
        on = [name for name, value in (("fused AdamW", self.fused_optimizer),
                                       ("cuDNN benchmark", self.cudnn_benchmark), ("channels-last", self.channels_last),
                                       ("UNet without autocast", not self.unet_autocast),
                                       (f"torch.compile ({self.compile_mode})", self.compile_unet),
                                       ("pinned transfers", self.pinned_transfers),
                                       ("early loss read", self.early_loss_read)) if value]
        return ", ".join(on) or "none"

    def with_(self, **changes) -> "SpeedPlan":
        return replace(self, **changes)


def plan_speed(cfg, device: torch.device) -> SpeedPlan:
    """The levers for this run: the safe ones on CUDA by default, compile when the config asks."""
    cuda = device.type == "cuda"
    return SpeedPlan(fused_optimizer=cuda, channels_last=False, unet_autocast=True,
                     compile_unet=bool(cfg.training.torch_compile))


def compile_cache_dir() -> Path:
    """Where inductor keeps compiled kernels between runs (TORCHINDUCTOR_CACHE_DIR wins)."""
    if os.environ.get("TORCHINDUCTOR_CACHE_DIR"):
        return Path(os.environ["TORCHINDUCTOR_CACHE_DIR"])
    from loratui.core.userdirs import user_cache_dir

    return user_cache_dir() / "torch-compile"


def apply_speed(plan: SpeedPlan, base, network) -> None:
    """Put the model-side levers in place (after the LoRA is injected and on its device)."""
    torch.backends.cudnn.benchmark = plan.cudnn_benchmark
    if plan.channels_last:
        base.unet.to(memory_format=torch.channels_last)
        for module in network.unet_modules:
            module.to(memory_format=torch.channels_last)
    if not plan.unet_autocast:
        for module in network.unet_modules:
            module.compute_in_input_dtype = True
    if plan.compile_unet:
        folder = compile_cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(folder))
        import torch._dynamo as dynamo

        # buckets give a few distinct latent shapes; past the second one dynamo compiles a dynamic graph
        dynamo.config.cache_size_limit = max(dynamo.config.cache_size_limit, 32)
        base.unet.compile(mode=None if plan.compile_mode == "default" else plan.compile_mode)


def to_device(parts: list[torch.Tensor], device: torch.device, *, pinned: bool = False, stack: bool = True,
              dtype: torch.dtype | None = None) -> torch.Tensor:
    """``parts`` stacked (or concatenated) and moved to ``device`` in one copy. With ``pinned`` (and a
    CUDA device) they are gathered straight into page-locked memory and the copy does not block the
    host; torch's pinned-memory allocator keeps that buffer until the copy has run."""
    join = torch.stack if stack else torch.cat
    if not (pinned and device.type == "cuda"):
        return join(parts).to(device, dtype)
    first = parts[0]
    rows = len(parts) if stack else sum(part.shape[0] for part in parts)
    shape = (rows, *first.shape) if stack else (rows, *first.shape[1:])
    buffer = torch.empty(shape, dtype=first.dtype, pin_memory=True)
    join(parts, out=buffer)
    return buffer.to(device, dtype, non_blocking=True)


class LossReading:
    """A loss on its way to the host: the copy is queued now (behind the forward that made it) and
    ``value`` waits only for that copy, not for the work queued after it (the backward)."""

    def __init__(self, loss: torch.Tensor):
        self.buffer = torch.empty((), dtype=loss.dtype, pin_memory=True)
        self.buffer.copy_(loss.detach(), non_blocking=True)
        self.done = torch.cuda.Event()
        self.done.record()

    def value(self) -> float:
        self.done.synchronize()
        return self.buffer.item()


def unet_input(x: torch.Tensor, plan: SpeedPlan, dtype: torch.dtype) -> torch.Tensor:
    if plan.channels_last:
        return x.to(dtype=dtype, memory_format=torch.channels_last)
    return x.to(dtype)
