"""Sample images during training, from an sd-scripts prompt file.

One prompt per line; blank lines and lines starting with ``#`` are skipped. Options after the
prompt, as in sd-scripts: ``--n`` negative prompt, ``--w``/``--h`` size, ``--d`` seed, ``--s``
steps, ``--l`` CFG scale, ``--ss`` sampler. Images go to ``OUTPUT_DIR/sample/`` named
``{output_name}_{step:06d}_{index:02d}_{seed}.png`` (sd-scripts' pattern, with the seed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import torch

from loratui.core.errors import LoratuiError

_OPTIONS = {  # sd-scripts' option regexes: "--w 512" etc., case-insensitive, value up to the next " --"
    "w": re.compile(r"^w\s+(\d+)$", re.I), "h": re.compile(r"^h\s+(\d+)$", re.I),
    "d": re.compile(r"^d\s+(\d+)$", re.I), "s": re.compile(r"^s\s+(\d+)$", re.I),
    "l": re.compile(r"^l\s+([\d.]+)$", re.I), "n": re.compile(r"^n\s+(.*)$", re.I | re.S),
    "ss": re.compile(r"^ss\s+(\S+)$", re.I),
}


@dataclass
class SamplePrompt:
    prompt: str
    negative: str = ""
    width: int = 512
    height: int = 512
    seed: int | None = None
    steps: int = 30
    scale: float = 7.5
    sampler: str | None = None


def parse_prompt_line(line: str, default_size: tuple[int, int] = (512, 512), where: str = "prompt") -> SamplePrompt:
    """One prompt line the way sd-scripts reads it: split at " --", the first part is the prompt, each
    other part one option; unknown options are ignored (as sd-scripts does) and sizes are rounded
    down to a multiple of 8 (at least 64)."""
    parts = line.strip().split(" --")
    prompt = SamplePrompt(parts[0].strip(), width=default_size[0], height=default_size[1])
    for part in parts[1:]:
        part = part.strip()
        for key, pattern in _OPTIONS.items():
            m = pattern.match(part)
            if not m:
                continue
            value = m.group(1).strip()
            try:
                if key == "n":
                    prompt.negative = value
                elif key == "w":
                    prompt.width = int(value)
                elif key == "h":
                    prompt.height = int(value)
                elif key == "d":
                    prompt.seed = int(value)
                elif key == "s":
                    prompt.steps = max(1, min(1000, int(value)))
                elif key == "l":
                    prompt.scale = float(value)
                elif key == "ss":
                    prompt.sampler = SAMPLER_ALIASES.get(value.lower(), value.lower())
            except ValueError:
                raise LoratuiError(f"{where}: --{key} needs a number, got {value!r}") from None
            break
        else:
            word = part.split(maxsplit=1)[0].lower() if part else ""
            if word in _OPTIONS:
                raise LoratuiError(f"{where}: --{word} needs a value like sd-scripts' (e.g. --w 512, --l 7.5), "
                                   f"got {part!r}")
    if prompt.sampler is not None and prompt.sampler not in SCHEDULER_CLASSES:
        raise LoratuiError(f"{where}: unknown sampler --ss {prompt.sampler}: use one of "
                           f"{', '.join(SCHEDULER_CLASSES)}")
    prompt.width = max(64, prompt.width - prompt.width % 8)
    prompt.height = max(64, prompt.height - prompt.height % 8)
    return prompt


def parse_prompts(path: str | Path, default_size: tuple[int, int] = (512, 512)) -> list[SamplePrompt]:
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError:
        raise LoratuiError(f"sampling.sample_prompts: {path} does not exist") from None
    prompts = [parse_prompt_line(line, default_size, f"{path}:{n}") for n, line in enumerate(lines, 1)
               if line.strip() and not line.lstrip().startswith("#")]
    if not prompts:
        raise LoratuiError(f"sampling.sample_prompts: {path} has no prompts (one per line)")
    return prompts


SCHEDULER_CLASSES = {
    "ddim": "DDIMScheduler", "pndm": "PNDMScheduler", "lms": "LMSDiscreteScheduler",
    "euler": "EulerDiscreteScheduler", "euler_a": "EulerAncestralDiscreteScheduler", "heun": "HeunDiscreteScheduler",
    "dpm_2": "KDPM2DiscreteScheduler", "dpm_2_a": "KDPM2AncestralDiscreteScheduler",
    "dpmsolver": "DPMSolverMultistepScheduler", "dpmsolver++": "DPMSolverMultistepScheduler", "ddpm": "DDPMScheduler",
}


SAMPLER_ALIASES = {"k_lms": "lms", "k_euler": "euler", "k_euler_a": "euler_a", "k_dpm_2": "dpm_2",
                   "k_dpm_2_a": "dpm_2_a"}


def _scheduler(base, sampler: str):
    import diffusers

    name = SCHEDULER_CLASSES.get(sampler)
    if name is None:
        raise LoratuiError(f"unknown sampler {sampler!r}: use one of {', '.join(SCHEDULER_CLASSES)}")
    config = dict(base.noise_scheduler.config)
    # the released SD inference schedulers' settings (the training scheduler keeps diffusers' defaults);
    # from_config only honours overrides given as keyword arguments
    extra = {"steps_offset": 1, "set_alpha_to_one": False}
    if sampler == "dpmsolver++":
        extra["algorithm_type"] = "dpmsolver++"
    return getattr(diffusers, name).from_config(config, **extra)


def make_pipeline(base, sampler: str):
    from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline

    scheduler = _scheduler(base, sampler)
    if base.family == "sdxl":
        return StableDiffusionXLPipeline(vae=base.vae, text_encoder=base.text_encoders[0],
                                         text_encoder_2=base.text_encoders[1], tokenizer=base.tokenizers[0],
                                         tokenizer_2=base.tokenizers[1], unet=base.unet, scheduler=scheduler)
    return StableDiffusionPipeline(vae=base.vae, text_encoder=base.text_encoders[0], tokenizer=base.tokenizers[0],
                                   unet=base.unet, scheduler=scheduler, safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False)


@torch.no_grad()
def generate_samples(base, prompts: list[SamplePrompt], out_dir: str | Path, *, output_name: str, step: int,
                     epoch: int, device, dtype, seed: int, sampler: str = "euler_a", network=None,
                     clip_skip: int | None = None) -> list[Path]:
    """Render every prompt with the LoRA as currently trained; RNG states are left untouched.

    ``network`` (the LoRA, hooked into the models but not their submodule) is put in eval mode
    too, so its dropout is off while sampling."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cpu_state = torch.get_rng_state()
    cuda_state = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    modes = [(m, m.training) for m in [base.unet, *base.text_encoders, *([network] if network is not None else [])]]
    for module, _ in modes:
        module.eval()  # LoRA dropout off while sampling
    paths = []
    try:
        for index, p in enumerate(prompts):
            pipe = make_pipeline(base, p.sampler or sampler)
            pipe.set_progress_bar_config(disable=True)
            prompt_seed = p.seed if p.seed is not None else seed + index
            generator = torch.Generator(device="cpu").manual_seed(prompt_seed)
            with torch.autocast(device_type=torch.device(device).type, dtype=dtype, enabled=dtype != torch.float32):
                if clip_skip and clip_skip > 1 and base.family != "sdxl":
                    # the prompt encoded as in training (diffusers' own clip_skip reaches for a
                    # text_model attribute that transformers 5's CLIPTextModel no longer has)
                    texts = {"prompt_embeds": _embed(base, p.prompt, clip_skip),
                             "negative_prompt_embeds": _embed(base, p.negative or "", clip_skip)}
                else:
                    texts = {"prompt": p.prompt, "negative_prompt": p.negative or None}
                image = pipe(**texts, width=p.width, height=p.height, num_inference_steps=p.steps,
                             guidance_scale=p.scale, generator=generator).images[0]
            path = out / f"{output_name}_{step:06d}_{index:02d}_{prompt_seed}.png"
            image.save(path)
            paths.append(path)
    finally:
        for module, mode in modes:
            module.train(mode)
        torch.set_rng_state(cpu_state)
        if cuda_state is not None:
            torch.cuda.set_rng_state_all(cuda_state)
    return paths


def _embed(base, text: str, clip_skip: int) -> torch.Tensor:
    from loratui.engine.text import encode_text, tokenize

    return encode_text(base, tokenize(base, [text]), clip_skip).hidden_states
