"""Every sampler loratui accepts builds the scheduler sd-scripts builds for it (library/train_util.py
get_my_scheduler), through the same pipeline: `dpmsolver` was sampled with dpmsolver++ before."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import pytest
import torch

from loratui.core.config import SCHEDULER_CLASSES
from loratui.core.errors import LoratuiError
from loratui.engine.sampling import SamplePrompt, generate_samples, make_pipeline, parse_prompt_line

# sd-scripts' get_my_scheduler (library/train_util.py), each branch: sampler name -> class. Its k_ names build
# the same class as the plain name ("lms" or "k_lms" -> LMSDiscreteScheduler, ...), dpmsingle its own; any
# other name falls back to DDIMScheduler, which loratui refuses instead (core/config/prompts.py)
SD_SCRIPTS_CLASSES = {
    "ddim": "DDIMScheduler", "ddpm": "DDPMScheduler", "pndm": "PNDMScheduler", "lms": "LMSDiscreteScheduler",
    "k_lms": "LMSDiscreteScheduler", "euler": "EulerDiscreteScheduler", "k_euler": "EulerDiscreteScheduler",
    "euler_a": "EulerAncestralDiscreteScheduler", "k_euler_a": "EulerAncestralDiscreteScheduler",
    "dpmsolver": "DPMSolverMultistepScheduler", "dpmsolver++": "DPMSolverMultistepScheduler",
    "dpmsingle": "DPMSolverSinglestepScheduler", "heun": "HeunDiscreteScheduler",
    "dpm_2": "KDPM2DiscreteScheduler", "k_dpm_2": "KDPM2DiscreteScheduler",
    "dpm_2_a": "KDPM2AncestralDiscreteScheduler", "k_dpm_2_a": "KDPM2AncestralDiscreteScheduler",
}


def sd_scripts_scheduler(sampler: str, v_parameterization: bool):
    """get_my_scheduler as sd-scripts writes it (plus the final_sigmas_type this diffusers needs for dpmsolver)."""
    import diffusers

    args = {}
    if sampler in ("dpmsolver", "dpmsolver++"):
        args["algorithm_type"] = sampler
    if sampler == "dpmsolver":
        args["final_sigmas_type"] = "sigma_min"  # diffusers >= 0.27 refuses the default "zero" here
    if v_parameterization:
        args["prediction_type"] = "v_prediction"
    scheduler = getattr(diffusers, SD_SCRIPTS_CLASSES[sampler])(
        num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", **args)
    if hasattr(scheduler.config, "clip_sample") and scheduler.config.clip_sample is False:
        scheduler.config.clip_sample = True  # sd-scripts sets the attribute: what step() reads
    return scheduler


def _effective(config) -> dict:
    """A scheduler config as its step() reads it (attribute access, which sd-scripts' setattr changes)."""
    return {key: getattr(config, key) for key in config if not key.startswith("_")}


def _fake_base(family: str, v_prediction: bool = False):
    return SimpleNamespace(family=family, v_prediction=v_prediction)


def _available(sampler: str) -> bool:
    import diffusers

    try:
        getattr(diffusers, SCHEDULER_CLASSES[sampler])()
    except ImportError:  # lms needs scipy
        return False
    return True


def test_every_sampler_name_is_one_sd_scripts_knows():
    assert set(SCHEDULER_CLASSES) == set(SD_SCRIPTS_CLASSES)  # each of its names, none of ours beside them
    assert all(SCHEDULER_CLASSES[name] == SD_SCRIPTS_CLASSES[name] for name in SCHEDULER_CLASSES)


@pytest.mark.parametrize("sampler", sorted(SCHEDULER_CLASSES))
@pytest.mark.parametrize("v_prediction", [False, True])
def test_sdxl_samplers_are_built_as_sd_scripts_builds_them(sampler, v_prediction):
    """SDXL: sd-scripts' own pipeline keeps the scheduler as get_my_scheduler built it."""
    from loratui.engine.sampling import _scheduler

    if not _available(sampler):
        with pytest.raises(LoratuiError, match="needs the scipy package"):
            _scheduler(_fake_base("sdxl", v_prediction), sampler)
        return
    ours = _scheduler(_fake_base("sdxl", v_prediction), sampler)
    theirs = sd_scripts_scheduler(sampler, v_prediction)
    assert type(ours) is type(theirs)
    assert _effective(ours.config) == _effective(theirs.config)


@pytest.mark.parametrize("sampler", sorted(SCHEDULER_CLASSES))
def test_sd1_samplers_are_built_as_sd_scripts_builds_them(sampler, tiny_sd1_dir):
    """SD1/SD2: sd-scripts' lpw pipeline is diffusers' StableDiffusionPipeline, whose __init__ sets
    steps_offset 1 and clip_sample off: the scheduler the pipeline samples with is compared."""
    from diffusers import StableDiffusionPipeline

    if not _available(sampler):
        pytest.skip("needs scipy")
    base = _sd1(tiny_sd1_dir)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ours = make_pipeline(base, sampler).scheduler
    said = " ".join(str(w.message) for w in caught)
    assert "steps_offset" not in said and "clip_sample" not in said  # ours needs no rewriting, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = StableDiffusionPipeline(vae=base.vae, text_encoder=base.text_encoders[0],
                                         tokenizer=base.tokenizers[0], unet=base.unet,
                                         scheduler=sd_scripts_scheduler(sampler, False), safety_checker=None,
                                         feature_extractor=None, requires_safety_checker=False).scheduler
    assert type(ours) is type(theirs)
    assert _effective(ours.config) == _effective(theirs.config)


_BASES: dict = {}


def _sd1(folder):
    from loratui.engine.models import load_base_model

    if folder not in _BASES:
        _BASES[folder] = load_base_model(SimpleNamespace(pretrained_model_name_or_path=str(folder),
                                                         model_family="auto", v_parameterization=False, vae=""))
    return _BASES[folder]


def test_dpmsolver_is_not_dpmsolver_plus_plus_from_the_config_or_ss(tiny_sd1_dir, tmp_path, monkeypatch):
    import loratui.engine.sampling as sampling

    assert make_pipeline(_sd1(tiny_sd1_dir), "dpmsolver").scheduler.config.algorithm_type == "dpmsolver"
    assert make_pipeline(_sd1(tiny_sd1_dir), "dpmsolver++").scheduler.config.algorithm_type == "dpmsolver++"
    seen = []
    real = sampling.make_pipeline
    monkeypatch.setattr(sampling, "make_pipeline", lambda b, s: seen.append(s) or real(b, s))
    prompts = [SamplePrompt("x", width=64, height=64, steps=2, seed=1),
               parse_prompt_line("x --w 64 --h 64 --s 2 --d 1 --ss dpmsolver")]
    paths = generate_samples(_sd1(tiny_sd1_dir), prompts, tmp_path, output_name="t", step=1, epoch=1,
                             device="cpu", dtype=torch.float32, seed=1, sampler="dpmsolver++")
    assert seen == ["dpmsolver++", "dpmsolver"] and len(paths) == 2
