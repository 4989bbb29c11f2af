"""The noise and loss options of [training] (engine/noise.py) against hand-worked values and sd-scripts' formulas
(library/custom_train_functions.py, train_util.get_noise_noisy_latents_and_timesteps, train_network.py's loss order,
transcribed below as references), the step unchanged when they are off, and one tiny CPU run with all of them set."""

from __future__ import annotations

import math
import random
from types import SimpleNamespace

import pytest
import torch

from loratui.core.config import TrainingConfig
from loratui.engine.models import make_noise_scheduler
from loratui.engine.noise import (
    NoisePlan, debiased_weights, pyramid_noise, snr_table, v_pred_scale, with_zero_terminal_snr,
    zero_terminal_snr_betas,
)

from test_train import make_project, of, run


def _t(**kw):
    return SimpleNamespace(**{**vars(TrainingConfig().training), **kw})


# ---------------------------------------------------------------- schedules and weights


def test_zero_terminal_snr_ends_in_pure_noise_and_keeps_the_first_step():
    sched = make_noise_scheduler(False)
    before = sched.alphas_cumprod.clone()
    fixed = with_zero_terminal_snr(sched)
    assert fixed.alphas_cumprod[-1].item() == 0.0 and fixed.betas[-1].item() == 1.0
    assert math.isclose(fixed.alphas_cumprod[0].item(), before[0].item(), rel_tol=1e-6)
    assert torch.all(fixed.alphas_cumprod[1:] <= fixed.alphas_cumprod[:-1])
    assert torch.equal(sched.alphas_cumprod, before)  # the original (sampling, SNR weights) is left alone
    # the paper's Algorithm 1 as sd-scripts writes it (fix_noise_scheduler_betas_for_zero_terminal_snr)
    root = torch.cumprod(1 - sched.betas, 0).sqrt()
    r0, rt = root[0].clone(), root[-1].clone()
    root = root - rt
    root = root * (r0 / (r0 - rt))
    bar = root ** 2
    ref = 1 - torch.cat([bar[0:1], bar[1:] / bar[:-1]])
    assert torch.equal(zero_terminal_snr_betas(sched.betas), ref)
    # a noisy latent at the last timestep is the noise itself
    latents, noise = torch.ones(1, 4, 2, 2), torch.full((1, 4, 2, 2), 0.5)
    assert torch.equal(fixed.add_noise(latents, noise, torch.tensor([999])), noise)


def test_snr_table_is_sd_scripts_all_snr():
    sched = make_noise_scheduler(False)
    a = sched.alphas_cumprod
    assert torch.equal(snr_table(sched), (torch.sqrt(a) / torch.sqrt(1.0 - a)) ** 2)
    assert math.isclose(snr_table(sched)[0].item(), (1 - 0.00085) / 0.00085, rel_tol=1e-4)  # beta_0 = 0.00085


def test_debiased_and_v_prediction_weights_by_hand():
    snr = torch.tensor([4.0, 3.0, 2000.0])
    assert debiased_weights(snr, False).tolist() == pytest.approx([0.5, 1 / math.sqrt(3), 1 / math.sqrt(1000)])
    assert debiased_weights(snr, True).tolist() == pytest.approx([0.2, 0.25, 1 / 1001])
    assert v_pred_scale(snr).tolist() == pytest.approx([0.8, 0.75, 1000 / 1001])


@pytest.mark.parametrize("v_pred", [False, True])
def test_loss_weights_follow_sd_scripts_order(v_pred):
    sched = make_noise_scheduler(v_pred)
    timesteps = torch.tensor([0, 10, 500, 999])
    loss = torch.tensor([0.3, 0.5, 0.7, 0.9])
    t = _t(min_snr_gamma=5.0, scale_v_pred_loss_like_noise_pred=v_pred, v_pred_like_loss=0.0 if v_pred else 0.2,
           debiased_estimation_loss=True)
    got = NoisePlan(t, sched, v_pred).weight_loss(loss, timesteps)
    # sd-scripts: apply_snr_weight (loratui's min-SNR), then scale_v / v_pred_like, then apply_debiased_estimation
    a = sched.alphas_cumprod[timesteps]
    snr_old = a / (1 - a)
    ref = loss * (torch.clamp(snr_old, max=5.0) / (snr_old + 1 if v_pred else snr_old))
    snr = torch.minimum(snr_table(sched)[timesteps], torch.ones(4) * 1000)
    if v_pred:
        ref = ref * (snr / (snr + 1))
    else:
        ref = ref + ref / (snr / (snr + 1)) * 0.2
    ref = (1 / (snr + 1) if v_pred else 1 / torch.sqrt(snr)) * ref
    assert torch.equal(got, ref)


def test_snr_weights_read_the_schedule_before_zero_terminal_snr():
    sched = make_noise_scheduler(False)
    timesteps = torch.tensor([999])
    plain = NoisePlan(_t(debiased_estimation_loss=True, min_snr_gamma=5.0), sched, False)
    zero = NoisePlan(_t(debiased_estimation_loss=True, min_snr_gamma=5.0, zero_terminal_snr=True), sched, False)
    assert zero.scheduler is not sched and zero.scheduler.alphas_cumprod[-1] == 0
    assert torch.equal(zero.weight_loss(torch.ones(1), timesteps), plain.weight_loss(torch.ones(1), timesteps))
    assert torch.isfinite(zero.weight_loss(torch.ones(1), timesteps)).all()


# ---------------------------------------------------------------- noise and its random draws


def _old_step(latents, gen, noise_offset, sched):
    """The noise of the step before these options existed (train.py as it was), for the byte-for-byte check."""
    bsz = latents.shape[0]
    noise = torch.randn(latents.shape, generator=gen, device=gen.device).to(latents.device)
    if noise_offset:
        offset = torch.randn((bsz, latents.shape[1], 1, 1), generator=gen, device=gen.device)
        noise = noise + noise_offset * offset.to(latents.device)
    timesteps = torch.randint(0, 1000, (bsz,), generator=gen, device=gen.device).to(latents.device)
    return noise, sched.add_noise(latents, noise, timesteps), timesteps


@pytest.mark.parametrize("noise_offset", [0.0, 0.05])
def test_options_off_leave_the_step_byte_for_byte(noise_offset):
    sched = make_noise_scheduler(False)
    latents = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    old = _old_step(latents, torch.Generator().manual_seed(7), noise_offset, sched)
    gen = torch.Generator().manual_seed(7)
    new = NoisePlan(_t(noise_offset=noise_offset), sched, False).noisy(latents, gen, "1:0")
    for a, b in zip(old, new):
        assert torch.equal(a, b)
    assert torch.equal(gen.get_state(), _after(old, noise_offset))


def _after(_old, noise_offset):
    gen = torch.Generator().manual_seed(7)
    _old_step(torch.zeros(2, 4, 8, 8), gen, noise_offset, make_noise_scheduler(False))
    return gen.get_state()


def _sd_scripts_noise(latents, t, sched, gen, uniform):
    """sd-scripts' get_noise_noisy_latents_and_timesteps with apply_noise_offset and pyramid_noise_like, its global
    torch RNG replaced by ``gen`` and its Python ``random`` by ``uniform``: the same draws in the same order."""
    noise = torch.randn(latents.shape, generator=gen)
    if t.noise_offset:
        noise_offset = torch.rand(1, generator=gen) * t.noise_offset if t.noise_offset_random_strength \
            else t.noise_offset
        if t.adaptive_noise_scale is not None:
            latent_mean = torch.abs(latents.mean(dim=(2, 3), keepdim=True))
            noise_offset = noise_offset + t.adaptive_noise_scale * latent_mean
            noise_offset = torch.clamp(noise_offset, 0.0, None)
        noise = noise + noise_offset * torch.randn((latents.shape[0], latents.shape[1], 1, 1), generator=gen)
    if t.multires_noise_iterations:
        b, c, w, h = noise.shape
        u = torch.nn.Upsample(size=(w, h), mode="bilinear")
        for i in range(t.multires_noise_iterations):
            r = uniform.random() * 2 + 2
            wn, hn = max(1, int(w / (r ** i))), max(1, int(h / (r ** i)))
            noise += u(torch.randn(b, c, wn, hn, generator=gen)) * t.multires_noise_discount ** i
            if wn == 1 or hn == 1:
                break
        noise = noise / noise.std()
    timesteps = torch.randint(0, 1000, (latents.shape[0],), generator=gen)
    if t.ip_noise_gamma:
        strength = torch.rand(1, generator=gen) * t.ip_noise_gamma if t.ip_noise_gamma_random_strength \
            else t.ip_noise_gamma
        noisy = sched.add_noise(latents, noise + strength * torch.randn(latents.shape, generator=gen), timesteps)
    else:
        noisy = sched.add_noise(latents, noise, timesteps)
    return noise, noisy, timesteps


@pytest.mark.parametrize("options", [
    dict(noise_offset=0.1, noise_offset_random_strength=True),
    dict(noise_offset=0.1, adaptive_noise_scale=0.05),
    dict(noise_offset=0.02, adaptive_noise_scale=-0.5),  # clamped at 0
    dict(multires_noise_iterations=6, multires_noise_discount=0.3),
    dict(multires_noise_iterations=10, multires_noise_discount=0.8, noise_offset=0.05),
    dict(ip_noise_gamma=0.1),
    dict(ip_noise_gamma=0.1, ip_noise_gamma_random_strength=True),
    dict(noise_offset=0.1, noise_offset_random_strength=True, adaptive_noise_scale=0.1, multires_noise_iterations=6,
         ip_noise_gamma=0.1, ip_noise_gamma_random_strength=True, zero_terminal_snr=True),
])
def test_noise_equals_sd_scripts_on_the_same_draws(options):
    t = _t(**options)
    sched = make_noise_scheduler(False)
    plan = NoisePlan(t, sched, False, seed_key="1:1")
    latents = torch.randn(3, 4, 16, 12, generator=torch.Generator().manual_seed(3))
    got = plan.noisy(latents, torch.Generator().manual_seed(11), where="2:5")
    ref = _sd_scripts_noise(latents, t, plan.scheduler, torch.Generator().manual_seed(11),
                            random.Random("1:1:2:5:multires"))
    for a, b in zip(got, ref):
        assert torch.equal(a, b)


def test_multires_noise_has_unit_std_and_stops_at_one_pixel():
    gen = torch.Generator().manual_seed(0)
    noise = torch.randn(2, 4, 32, 32, generator=gen)
    out = pyramid_noise(noise, 6, 0.3, gen, random.Random(0))
    assert out.shape == noise.shape and math.isclose(out.std().item(), 1.0, rel_tol=1e-5)

    class Counting(random.Random):
        calls = 0

        def random(self):
            self.calls += 1
            return 0.999  # shrink by ~4 per level: 8 px -> 2 -> 1 at level 2
    uniform = Counting(0)
    pyramid_noise(torch.randn(1, 4, 8, 8, generator=gen), 50, 0.3, gen, uniform)
    assert uniform.calls == 3


def test_ip_noise_changes_what_the_unet_sees_not_the_target():
    sched = make_noise_scheduler(False)
    latents = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    plain = NoisePlan(_t(), sched, False).noisy(latents, torch.Generator().manual_seed(5))
    ip = NoisePlan(_t(ip_noise_gamma=0.1), sched, False).noisy(latents, torch.Generator().manual_seed(5))
    assert torch.equal(plain[0], ip[0]) and torch.equal(plain[2], ip[2])
    assert not torch.equal(plain[1], ip[1])


def test_the_model_decides_the_v_prediction_options():
    from loratui.core.errors import LoratuiError

    with pytest.raises(LoratuiError, match="scale_v_pred_loss_like_noise_pred needs a v-prediction model"):
        NoisePlan(_t(scale_v_pred_loss_like_noise_pred=True), make_noise_scheduler(False), False)
    with pytest.raises(LoratuiError, match="v_pred_like_loss = 0.1 is for noise-prediction models"):
        NoisePlan(_t(v_pred_like_loss=0.1), make_noise_scheduler(True), True)


# ---------------------------------------------------------------- a run


def test_a_tiny_cpu_run_with_every_option_set(tiny_sd1_dir, tmp_path):
    from safetensors import safe_open

    config = make_project(tmp_path, tiny_sd1_dir, **{
        "training.max_train_epochs": 1, "training.noise_offset": 0.05, "training.noise_offset_random_strength": True,
        "training.adaptive_noise_scale": 0.05, "training.multires_noise_iterations": 6,
        "training.multires_noise_discount": 0.25, "training.ip_noise_gamma": 0.1,
        "training.ip_noise_gamma_random_strength": True, "training.zero_terminal_snr": True,
        "training.min_snr_gamma": 5.0, "training.v_pred_like_loss": 0.1, "training.debiased_estimation_loss": True})
    code, events = run(config)
    assert code == 0, events
    losses = [e["loss"] for e in of(events, "step")]
    assert losses and all(math.isfinite(x) for x in losses)
    assert any("zero_terminal_snr without v-prediction" in e["message"] for e in of(events, "warning"))
    with safe_open(str(tmp_path / "out" / "tiny.safetensors"), framework="pt") as fh:
        meta = fh.metadata()
    assert {k: meta[k] for k in meta if k in (
        "ss_multires_noise_iterations", "ss_multires_noise_discount", "ss_adaptive_noise_scale",
        "ss_zero_terminal_snr", "ss_ip_noise_gamma", "ss_debiased_estimation", "ss_noise_offset_random_strength",
        "ss_ip_noise_gamma_random_strength", "ss_noise_offset")} == {
        "ss_multires_noise_iterations": "6", "ss_multires_noise_discount": "0.25", "ss_adaptive_noise_scale": "0.05",
        "ss_zero_terminal_snr": "True", "ss_ip_noise_gamma": "0.1", "ss_debiased_estimation": "True",
        "ss_noise_offset_random_strength": "True", "ss_ip_noise_gamma_random_strength": "True",
        "ss_noise_offset": "0.05"}
