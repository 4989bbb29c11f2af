"""Sample images during training, from an sd-scripts prompt file.

One prompt per line; blank lines and lines starting with ``#`` are skipped. Options after the
prompt, as in sd-scripts: ``--n`` negative prompt, ``--w``/``--h`` size, ``--d`` seed, ``--s``
steps, ``--l`` CFG scale, ``--ss`` sampler. Images go to ``OUTPUT_DIR/sample/`` named
``{output_name}_{step:06d}_{index:02d}_{seed}.png`` (sd-scripts' pattern, with the seed).
"""

from __future__ import annotations

from pathlib import Path

import torch

from loratui.core.config import (  # noqa: F401  (the prompt file is read in core: config check uses it)
    SCHEDULER_CLASSES, SamplePrompt, parse_prompt_line, parse_prompts,
)
from loratui.core.errors import LoratuiError


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
