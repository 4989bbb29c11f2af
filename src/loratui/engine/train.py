"""The training loop: one function, read it top to bottom.

``run.py`` builds a ``Trainer`` (model with the LoRA hooked in, data, optimizer, lr schedule) and
calls ``train_loop``; everything that is not the maths (events, saving, samples, signals) is
reached through the small ``hooks`` object (``on_step``, ``on_epoch_end``).

Several processes (torchrun / accelerate launch): each trains its shard of the batches and the
LoRA gradients are averaged before every optimizer step, as DDP does. The LoRA lives inside the
UNet/text encoders (forward hooks), so one flat all-reduce replaces a DDP wrapper; it also carries
the step's loss and the stop flag, so every process stops at the same step.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from loratui.engine.data import encode_pixels
from loratui.engine.noise import NoisePlan, min_snr_weights  # noqa: F401 - min_snr_weights: its old home
from loratui.engine.speed import LossReading, SpeedPlan, unet_input
from loratui.engine.text import encode_text, tokenize


class NonFiniteLoss(RuntimeError):
    """The loss became NaN or infinite (run.py turns it into an error event with a hint)."""


@dataclass
class Trainer:
    cfg: object
    base: object
    network: object
    data: object                         # TrainingData (or anything with epochs, total_steps, epoch())
    optimizer: torch.optim.Optimizer
    scheduler: object                    # the learning-rate schedule
    device: torch.device
    autocast_dtype: torch.dtype | None   # None = fp32
    scaler: object | None                # GradScaler for fp16
    generator: torch.Generator           # noise and timesteps (per process)
    world_size: int = 1
    step: int = 0                        # optimizer steps done
    epoch: int = 1                       # current epoch (1-based)
    batches_done: int = 0                # batches done in the current epoch (resume skips them)
    losses: list = field(default_factory=list)
    # the current epoch's losses so far, as a running sum and a count: a state keeps them, so that a run
    # resumed mid-epoch reports the epoch's average over all of it (epoch_end), not over its own steps
    epoch_loss_sum: float = 0.0
    epoch_loss_steps: int = 0
    stop_requested: bool = False         # set by the signal handler: stop after the current step
    requests: set = field(default_factory=set)  # "save" / "sample" asked for now (control file, run.py)
    speed: SpeedPlan = field(default_factory=SpeedPlan)  # the step's speed levers (engine/speed.py)

    @property
    def params(self) -> list[torch.Tensor]:
        return [p for g in self.optimizer.param_groups for p in g["params"]]


def _with_last(iterator):
    """(item, is_last) pairs: an epoch's last batch closes a partial accumulation window."""
    previous = next(iterator, None)
    while previous is not None:
        current = next(iterator, None)
        yield previous, current is None
        previous = current


REQUESTS = ("save", "sample")


def _sync_processes(tr: Trainer, loss: torch.Tensor) -> tuple[float, bool]:
    """Average gradients and the loss over processes; returns (loss, stop) agreed by all of them, and
    leaves in ``tr.requests`` the save/sample requests any of them had (only the first reads them).

    A parameter no process used this step (a module LyCORIS's module_dropout skipped everywhere) keeps
    no gradient, as in one process and as DDP leaves globally unused parameters: the optimizer then
    leaves it alone, instead of a momentum and weight-decay step on a zero gradient. One used by some
    processes only gets the average, the others counting zero (DDP's rule too)."""
    if tr.world_size == 1:
        return loss.item(), tr.stop_requested
    import torch.distributed as dist

    params = tr.params
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    wanted = [float(tr.stop_requested)] + [float(r in tr.requests) for r in REQUESTS]
    used = [float(p.grad is not None) for p in params]
    flags = torch.cat([loss.float().reshape(1), torch.tensor(wanted + used, device=loss.device)])
    flat = torch.cat([g.reshape(-1).float() for g in grads] + [flags.to(grads[0].device)])
    dist.all_reduce(flat)
    offset = 0
    for p, g in zip(params, grads):
        p.grad = (flat[offset:offset + g.numel()] / tr.world_size).view_as(g).to(g.dtype)
        offset += g.numel()
    agreed = flat[offset:].tolist()
    for p, users in zip(params, agreed[1 + len(wanted):]):
        if users == 0:
            p.grad = None
    tr.requests = {r for r, f in zip(REQUESTS, agreed[2:2 + len(REQUESTS)]) if f > 0}
    return agreed[0] / tr.world_size, agreed[1] > 0


def train_loop(tr: Trainer, hooks) -> str:
    """Train until the planned step count, or a stop request. Returns "completed" or "stopped"."""
    cfg, base, data, t = tr.cfg, tr.base, tr.data, tr.cfg.training
    # the noise options (noise offset, multires, input perturbation, zero terminal SNR) and the loss weights
    noise_plan = NoisePlan(t, base.noise_scheduler, base.v_prediction,
                           seed_key=f"{t.seed}:{tr.generator.initial_seed()}")
    noise_scheduler = noise_plan.scheduler
    if t.zero_terminal_snr and not base.v_prediction and hasattr(getattr(hooks, "run", None), "warn"):
        hooks.run.warn("zero_terminal_snr without v-prediction: the last timestep is pure noise, which a "
                       "noise-predicting model cannot learn from (sd-scripts warns too: training will be unexpected)")
    unet_dtype = next(base.unet.parameters()).dtype
    train_te = bool(getattr(tr.network, "train_te", False))
    accumulation = t.gradient_accumulation_steps
    total = data.total_steps
    autocast = dict(device_type=tr.device.type, dtype=tr.autocast_dtype or torch.float32,
                    enabled=tr.autocast_dtype is not None)
    gen = tr.generator
    recent = deque(tr.losses[-50:], maxlen=50)
    started, images_seen, steps_at_start = time.perf_counter(), 0, tr.step
    stopping = False
    # the loss read back as soon as the forward made it (speed.py): one process on a GPU
    early_read = tr.speed.early_loss_read and tr.world_size == 1 and tr.device.type == "cuda"

    while tr.epoch <= data.epochs and tr.step < total and not stopping:
        if not tr.batches_done:  # a new epoch; one resumed mid-way keeps the losses of its earlier steps
            tr.epoch_loss_sum, tr.epoch_loss_steps = 0.0, 0
        steps_here = 0  # this session's steps in the epoch: a resumed epoch with no batches left ends unsaid
        window, window_loss = 0, None
        epoch_done = True  # stays True when a resumed epoch has no batches left
        for batch, is_last in _with_last(iter(data.epoch(tr.epoch, skip_batches=tr.batches_done))):
            # 1. Latents: cached, or encoded now (the VAE is frozen).
            latents = batch.latents if batch.latents is not None else encode_pixels(base, batch.pixels)
            bsz = latents.shape[0]

            # 2. Noise (+ noise offset, multires noise) and a random timestep per image; forward diffusion
            #    (+ input-perturbation noise). engine/noise.py, in sd-scripts' order of random draws.
            noise, noisy_latents, timesteps = noise_plan.noisy(latents, gen, where=f"{tr.epoch}:{tr.batches_done}")

            # 3. Predict the noise (or v) from the noisy latents and the caption, in mixed precision
            #    (the UNet runs without autocast in its own dtype when the speed plan says so).
            with torch.autocast(**autocast):
                if batch.text is not None:
                    cond = batch.text
                else:
                    with torch.set_grad_enabled(train_te):
                        ids = tokenize(base, batch.captions, t.max_token_length)
                        cond = encode_text(base, ids, t.clip_skip)
                added = {}
                if base.family == "sdxl":
                    added["added_cond_kwargs"] = {"text_embeds": cond.pooled.to(unet_dtype),
                                                  "time_ids": batch.time_ids.to(unet_dtype)}
                with torch.autocast(**{**autocast, "enabled": autocast["enabled"] and tr.speed.unet_autocast}):
                    pred = base.unet(unet_input(noisy_latents, tr.speed, unet_dtype), timesteps,
                                     cond.hidden_states.to(unet_dtype), **added).sample

            # 4. Loss: MSE to the target, per image; reg images weighted; optional timestep weights (min-SNR,
            #    v-prediction scales, debiased estimation: engine/noise.py).
            target = noise_scheduler.get_velocity(latents, noise, timesteps) if base.v_prediction else noise
            loss = F.mse_loss(pred.float(), target.float(), reduction="none").mean(dim=(1, 2, 3))
            loss = loss * batch.loss_weights
            loss = noise_plan.weight_loss(loss, timesteps).mean()

            # 5. Backward; gradients accumulate over `accumulation` batches (fewer at an epoch's end).
            window += 1
            window_loss = loss.detach() if window_loss is None else window_loss + loss.detach()
            closes = window >= accumulation or is_last
            reading = LossReading(window_loss / window) if closes and early_read else None
            scaled = loss / accumulation
            (tr.scaler.scale(scaled) if tr.scaler is not None else scaled).backward()
            tr.batches_done += 1
            images_seen += bsz * tr.world_size
            epoch_done = is_last
            if not closes:
                continue

            # 6. Optimizer step: average over processes, stop on NaN, unscale, clip, step, schedule.
            if reading is not None:
                step_loss, stopping = reading.value(), tr.stop_requested
            else:
                step_loss, stopping = _sync_processes(tr, window_loss / window)
            if not math.isfinite(step_loss):
                raise NonFiniteLoss(f"the loss is {step_loss} at step {tr.step + 1} (epoch {tr.epoch})")
            if tr.scaler is not None:
                tr.scaler.unscale_(tr.optimizer)
            if cfg.optimizer.max_grad_norm:
                torch.nn.utils.clip_grad_norm_(tr.params, cfg.optimizer.max_grad_norm)
            if tr.scaler is not None:
                tr.scaler.step(tr.optimizer)
                tr.scaler.update()
            else:
                tr.optimizer.step()
            tr.scheduler.step()
            tr.optimizer.zero_grad(set_to_none=True)
            tr.step += 1
            window, window_loss = 0, None

            # 7. Report (events, progress, intermediate saves and samples live in the hooks).
            tr.losses.append(step_loss)
            recent.append(step_loss)
            tr.epoch_loss_sum += step_loss
            tr.epoch_loss_steps += 1
            steps_here += 1
            elapsed = time.perf_counter() - started
            steps_per_s = (tr.step - steps_at_start) / elapsed if elapsed > 0 else 0.0
            hooks.on_step(tr, loss=step_loss, avg_loss=sum(recent) / len(recent),
                          images_per_s=images_seen / elapsed if elapsed > 0 else 0.0,
                          eta_s=(total - tr.step) / steps_per_s if steps_per_s > 0 else None)
            if tr.speed.compile_unet and tr.step == steps_at_start + 1:
                # the first step carried the compile: speed and ETA count from here
                started, images_seen, steps_at_start = time.perf_counter(), 0, tr.step
            # a stop read in the hooks (the control file, a signal during a save): one process stops
            # now, as it said; several learn of it only at the next step's sync (_sync_processes)
            stopping = stopping or tr.world_size == 1 and tr.stop_requested
            if tr.step >= total or stopping:
                break

        tr.stop_requested = tr.stop_requested or stopping  # a stop asked at an epoch's last step stays asked
        if epoch_done:
            if steps_here:
                hooks.on_epoch_end(tr, avg_loss=tr.epoch_loss_sum / tr.epoch_loss_steps)
            tr.epoch += 1
            tr.batches_done = 0
            tr.epoch_loss_sum, tr.epoch_loss_steps = 0.0, 0
        # else: a step limit or a stop fell inside the epoch: it has not ended (no epoch_end: the chart would
        # mark it twice once resumed), and a state saved now continues it where it stopped (`--max-steps N`
        # then `--resume`) rather than skipping its remaining batches
        elif steps_here and tr.step >= total and hasattr(hooks, "on_limit_inside_epoch"):
            hooks.on_limit_inside_epoch(tr)  # sd-scripts still runs its epoch-end sampling there
    return "stopped" if stopping and tr.step < total else "completed"
