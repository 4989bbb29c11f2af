"""The training step's noise and loss weights, as sd-scripts' train_network.py makes them.

``NoisePlan`` draws a step's noise, timesteps and noisy latents (sd-scripts' get_noise_noisy_latents_and_timesteps),
``weight_loss`` applies the per-image loss weights in sd-scripts' order (post_process_loss). Every draw comes from the
run's generator, in sd-scripts' order: noise, [noise offset strength], noise offset, [one draw per multires level],
timesteps, [input-perturbation strength], input-perturbation noise. An option that is off draws nothing, so a run with
all of them off draws exactly what it drew before they existed.

sd-scripts builds its SNR table (``all_snr``) before zero_terminal_snr rescales the betas, so every SNR-based weight
(min-SNR, debiased, the v-prediction scales) reads the original schedule while the noise follows the rescaled one;
loratui does the same. The multires level sizes use a uniform draw (sd-scripts: Python's ``random``): here one
``random.Random`` per batch, seeded from the run's seed, rank, epoch and batch, so a resumed run repeats them.
"""

from __future__ import annotations

import random

import torch
import torch.nn.functional as F

from loratui.core.errors import LoratuiError


def min_snr_weights(noise_scheduler, timesteps: torch.Tensor, gamma: float, v_prediction: bool) -> torch.Tensor:
    """Min-SNR-gamma loss weights (Hang et al. 2023) as sd-scripts applies them."""
    alphas = noise_scheduler.alphas_cumprod.to(timesteps.device)[timesteps]
    snr = alphas / (1.0 - alphas)
    clipped = torch.clamp(snr, max=gamma)
    return (clipped / (snr + 1.0) if v_prediction else clipped / snr).float()


def snr_table(noise_scheduler) -> torch.Tensor:
    """SNR of every timestep, computed as sd-scripts' prepare_scheduler_for_custom_training does it."""
    alphas_cumprod = noise_scheduler.alphas_cumprod
    return (torch.sqrt(alphas_cumprod) / torch.sqrt(1.0 - alphas_cumprod)) ** 2


def zero_terminal_snr_betas(betas: torch.Tensor) -> torch.Tensor:
    """Betas rescaled so that the last timestep is pure noise (Lin et al. 2023, arXiv 2305.08891, Algorithm 1):
    sqrt(alphas_cumprod) is shifted to end at 0 and scaled to keep its first value."""
    root = torch.cumprod(1 - betas, dim=0).sqrt()
    first, last = root[0].clone(), root[-1].clone()
    root = (root - last) * (first / (first - last))
    cumprod = root ** 2
    alphas = torch.cat([cumprod[0:1], cumprod[1:] / cumprod[:-1]])
    return 1 - alphas


def with_zero_terminal_snr(noise_scheduler):
    """A copy of the DDPM scheduler with zero-terminal-SNR betas (the given one is left as it is: sampling and
    the SNR weights read the original)."""
    fixed = type(noise_scheduler).from_config(noise_scheduler.config)
    fixed.betas = zero_terminal_snr_betas(noise_scheduler.betas)
    fixed.alphas = 1.0 - fixed.betas
    fixed.alphas_cumprod = torch.cumprod(fixed.alphas, dim=0)
    return fixed


def pyramid_noise(noise: torch.Tensor, iterations: int, discount: float, gen: torch.Generator,
                  uniform: random.Random) -> torch.Tensor:
    """Multi-resolution noise: noise at sizes shrinking by a random factor in [2, 4) per level, upsampled and
    added with weight discount**level, then scaled to unit standard deviation. Level 0 is full size; it stops
    after the level that reaches one pixel."""
    b, c, height, width = noise.shape
    for level in range(iterations):
        shrink = uniform.random() * 2 + 2
        h, w = max(1, int(height / (shrink ** level))), max(1, int(width / (shrink ** level)))
        coarse = torch.randn((b, c, h, w), generator=gen, device=gen.device).to(noise.device)
        noise = noise + F.interpolate(coarse, size=(height, width), mode="bilinear") * discount ** level
        if h == 1 or w == 1:
            break
    return noise / noise.std()


class NoisePlan:
    """The noise options of [training] and the schedules they use, built once per run."""

    def __init__(self, t, noise_scheduler, v_prediction: bool, seed_key: str = ""):
        from loratui.core.config import v_prediction_problems

        problems = v_prediction_problems(t, v_prediction)  # config check says it too; the model decides here
        if problems:
            raise LoratuiError(problems[0])
        self.t = t
        self.v_prediction = v_prediction
        self.weights_scheduler = noise_scheduler  # SNR weights: the original schedule, as sd-scripts
        self.scheduler = with_zero_terminal_snr(noise_scheduler) if t.zero_terminal_snr else noise_scheduler
        self.num_timesteps = noise_scheduler.config.num_train_timesteps
        self.seed_key = seed_key
        self._snr = None

    def noisy(self, latents: torch.Tensor, gen: torch.Generator, where: str = ""):
        """(noise, noisy latents, timesteps) for one batch; ``where`` names the batch (seeds the multires sizes)."""
        t = self.t
        bsz = latents.shape[0]
        noise = torch.randn(latents.shape, generator=gen, device=gen.device).to(latents.device)
        if t.noise_offset:
            strength = t.noise_offset
            if t.noise_offset_random_strength:
                strength = torch.rand(1, generator=gen, device=gen.device).to(latents.device) * t.noise_offset
            if t.adaptive_noise_scale is not None:
                # each image's channel means, in absolute value, raise (or lower) its offset; never below 0
                means = torch.abs(latents.mean(dim=(2, 3), keepdim=True))
                strength = torch.clamp(strength + t.adaptive_noise_scale * means, 0.0, None)
            offset = torch.randn((bsz, latents.shape[1], 1, 1), generator=gen, device=gen.device)
            noise = noise + strength * offset.to(latents.device)
        if t.multires_noise_iterations:
            uniform = random.Random(f"{self.seed_key}:{where}:multires")
            noise = pyramid_noise(noise, t.multires_noise_iterations, t.multires_noise_discount, gen, uniform)
        timesteps = torch.randint(0, self.num_timesteps, (bsz,), generator=gen, device=gen.device)
        timesteps = timesteps.to(latents.device)
        if t.ip_noise_gamma:
            # input perturbation (Ning et al. 2023): the UNet sees extra noise, the target stays ``noise``
            gamma = t.ip_noise_gamma
            if t.ip_noise_gamma_random_strength:
                gamma = torch.rand(1, generator=gen, device=gen.device).to(latents.device) * t.ip_noise_gamma
            extra = torch.randn(latents.shape, generator=gen, device=gen.device).to(latents.device)
            noisy_latents = self.scheduler.add_noise(latents, noise + gamma * extra, timesteps)
        else:
            noisy_latents = self.scheduler.add_noise(latents, noise, timesteps)
        return noise, noisy_latents, timesteps

    def snr(self, timesteps: torch.Tensor) -> torch.Tensor:
        if self._snr is None:
            self._snr = snr_table(self.weights_scheduler)
        return self._snr.to(timesteps.device)[timesteps]

    def weight_loss(self, loss: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        """Per-image loss weights in sd-scripts' order: min-SNR, v-pred scale, v-pred-like loss, debiased."""
        t = self.t
        if t.min_snr_gamma:
            loss = loss * min_snr_weights(self.weights_scheduler, timesteps, t.min_snr_gamma, self.v_prediction)
        if t.scale_v_pred_loss_like_noise_pred:
            loss = loss * v_pred_scale(self.snr(timesteps))
        if t.v_pred_like_loss:
            loss = loss + loss / v_pred_scale(self.snr(timesteps)) * t.v_pred_like_loss
        if t.debiased_estimation_loss:
            loss = debiased_weights(self.snr(timesteps), self.v_prediction) * loss
        return loss


def v_pred_scale(snr: torch.Tensor) -> torch.Tensor:
    """snr / (snr + 1), with the SNR capped at 1000 (timestep 0's is near infinite): a v-prediction loss
    scaled like a noise-prediction one (sd-scripts' get_snr_scale)."""
    snr = torch.minimum(snr, torch.ones_like(snr) * 1000)
    return snr / (snr + 1)


def debiased_weights(snr: torch.Tensor, v_prediction: bool) -> torch.Tensor:
    """Debiased estimation (Yu et al. 2023): 1/sqrt(snr), or 1/(snr + 1) for v-prediction; the SNR capped at 1000."""
    snr = torch.minimum(snr, torch.ones_like(snr) * 1000)
    return 1 / (snr + 1) if v_prediction else 1 / torch.sqrt(snr)
