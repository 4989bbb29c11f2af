"""Sample images during training, from an sd-scripts prompt file (.txt lines, .toml or .json: core/config/
prompts.py reads it, as sd-scripts' load_prompts does).

Images go to ``OUTPUT_DIR/sample/`` under sd-scripts' names (sample_image_inference):
``{output_name}_{step:06d}_{index:02d}_{YYYYmmddHHMMSS}[_{seed}].png``, an epoch's samples (and
sample_at_first's, epoch 0) ``{output_name}_e{epoch:06d}_...``; the seed only where the prompt gives one
(``--d``). A prompt without one is rendered with the training seed plus its index (sd-scripts draws a
random one), so that the samples of two checkpoints compare. core/run_files.py reads these names back.

As in sd-scripts' sample pipelines, prompts take A1111 weights (``(word)``, ``[word]``, ``(word:1.3)``) and
more than 75 tokens (engine/text.py encode_sample_prompt), and each sampler is built as its
get_my_scheduler builds it (``_scheduler``).
"""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import torch

from loratui.core.config import (  # noqa: F401  (the prompt file is read in core: config check uses it)
    SCHEDULER_CLASSES, SamplePrompt, parse_prompt_line, parse_prompts,
)
from loratui.core.errors import LoratuiError
from loratui.core.fsutil import atomic_write_bytes
from loratui.engine.text import encode_sample_prompt


# sd-scripts' get_my_scheduler (library/train_util.py): every sampler is built from SD's training betas
# with the class's own defaults (not the training scheduler's config), v-prediction when the model is
SD_SCRIPTS_BETAS = {"num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012,
                    "beta_schedule": "scaled_linear"}


def scheduler_arguments(base, sampler: str) -> dict:
    """The keyword arguments sd-scripts builds the sampler's scheduler with, plus what this diffusers
    needs to build the same one."""
    if sampler not in SCHEDULER_CLASSES:
        raise LoratuiError(f"unknown sampler {sampler!r}: use one of {', '.join(SCHEDULER_CLASSES)}")
    kwargs = dict(SD_SCRIPTS_BETAS)
    if sampler in ("dpmsolver", "dpmsolver++"):
        kwargs["algorithm_type"] = sampler  # sd-scripts: algorithm_type=sample_sampler
        if sampler == "dpmsolver":
            # diffusers >= 0.27 refuses its default final_sigmas_type "zero" for dpmsolver (sd-scripts'
            # own call then fails); "sigma_min" is the last step diffusers took before that option
            kwargs["final_sigmas_type"] = "sigma_min"
    if getattr(base, "v_prediction", False):
        kwargs["prediction_type"] = "v_prediction"
    return kwargs


def _scheduler(base, sampler: str):
    import diffusers

    kwargs = scheduler_arguments(base, sampler)
    try:
        scheduler = getattr(diffusers, SCHEDULER_CLASSES[sampler])(**kwargs)
    except ImportError:  # diffusers' stand-in for a class whose package is missing (lms needs scipy)
        raise LoratuiError(f"sampler {sampler!r} needs the scipy package, which is not installed: install it "
                           "(pip install scipy) or choose another sampler (sampling.sample_sampler, --ss)") from None
    clip_sample = getattr(scheduler.config, "clip_sample", None)
    if getattr(base, "family", None) == "sdxl":
        if clip_sample is False:  # sd-scripts turns it on where a scheduler has it off (Heun)
            scheduler.register_to_config(clip_sample=True)
    else:
        # sd-scripts' SD1/SD2 sample pipeline is diffusers' StableDiffusionPipeline, whose __init__ sets
        # steps_offset 1 and clip_sample off (with a deprecation warning each time): set here, no warning
        updates = {"steps_offset": 1} if scheduler.config.get("steps_offset", 1) != 1 else {}
        if clip_sample is not None:
            updates["clip_sample"] = False
        if updates:
            scheduler.register_to_config(**updates)
    return scheduler


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


def prompt_seed(prompt: SamplePrompt, index: int, seed: int) -> int:
    """The seed a prompt renders with: its --d, else the training seed plus its index."""
    return prompt.seed if prompt.seed is not None else seed + index


def sample_path(out: Path, output_name: str, number: str, index: int, prompt: SamplePrompt, now: float) -> Path:
    """sd-scripts' name for a sample (``number``: ``000012`` for a step, ``e000003`` for an epoch), in a
    second no sample of that name holds yet: a second sampling of the same step (a "sample now" at a
    scheduled step) keeps the first, as sd-scripts' does when a second has passed."""
    seed = "" if prompt.seed is None else f"_{prompt.seed}"
    while True:
        stamp = time.strftime("%Y%m%d%H%M%S", time.localtime(now))
        path = out / f"{output_name}_{number}_{index:02d}_{stamp}{seed}.png"
        if not path.exists():
            return path
        now += 1


def write_png(path: Path, image) -> None:
    """The image as a PNG at ``path``, atomically (a temp file beside it, fsynced, renamed: core.fsutil), as
    LoRAs are written: a kill mid-write leaves a hidden ``.NAME.XXXXXXXX.tmp`` that the next start removes
    (engine/state.py ``leftovers``), never a 0-byte image under a sample's name (the h4 hunt)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"  # the IEND chunk (empty, its CRC) that ends every PNG


PNG_TAIL = 4096  # where the IEND chunk is looked for: the file's end (bytes a tool appended after it are allowed)


def damaged_png(path: str | Path) -> str | None:
    """Why a sample image is damaged, cheaply (its first bytes and its last 4 KiB): "0 bytes" or "cut short"
    (no IEND chunk at its end: a write killed part-way, by a loratui before samples were written atomically);
    None for a whole PNG, or a file that cannot be read (left to what reads it)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(PNG_SIGNATURE))
            if not head:
                return "0 bytes"
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - PNG_TAIL))
            tail = handle.read()
    except OSError:
        return None
    return None if head == PNG_SIGNATURE and PNG_END in tail else "cut short"


def moved_samples_words(samples: list[Path], folder: Path, sample_folder: str = "sample") -> str:
    """What the resume's "moved aside" line says of the sample images it moved into ``folder`` (as
    engine/run_folder.py ``move_samples_aside`` moves them: FOLDER/sample/X): "N sample image(s) (sample/X
    and N more) -> FOLDER/sample/", the damaged ones (``damaged_png``) named apart, as damaged images rather
    than samples: kept (a user's file is never deleted unasked), and said."""
    where = f"{folder.name}/{sample_folder}/"
    whole, damaged = [], []
    for path in samples:
        moved = folder / sample_folder / path.name
        why = damaged_png(moved if moved.exists() else path)
        (damaged if why else whole).append((path, why))
    parts = []
    if whole:
        more = f" and {len(whole) - 1} more" if len(whole) > 1 else ""
        parts.append(f"{len(whole)} sample image(s) ({sample_folder}/{whole[0][0].name}{more}) -> {where}")
    if damaged:
        shown = ", ".join(f"{sample_folder}/{path.name}: {why}" for path, why in damaged[:3])
        more = f" and {len(damaged) - 3} more" if len(damaged) > 3 else ""
        parts.append(f"{len(damaged)} damaged image(s), not samples: a sample write killed part-way by an "
                     f"older loratui left them ({shown}{more}; delete them) -> {where}")
    return ", ".join(parts)


# what a prompt that cannot render raises: its sampler's package missing, a sampler diffusers refuses
RENDER_ERRORS = (LoratuiError, ImportError, ValueError)


class _SamplingStopped(Exception):
    """Raised from the pipeline's step callback when a stop was asked: the prompt is left unrendered."""


def _stop_at_step(stop):
    """The pipeline's callback_on_step_end: after each denoising step, a stop asked ends the prompt (no VAE
    decode, no image). Python runs a signal's handler only between torch calls, so this is where a stop is seen."""
    def callback(pipe, step, timestep, callback_kwargs):
        if stop():
            raise _SamplingStopped
        return callback_kwargs
    return callback


@torch.no_grad()
def generate_samples(base, prompts: list[SamplePrompt], out_dir: str | Path, *, output_name: str, step: int,
                     epoch: int, device, dtype, seed: int, sampler: str = "euler_a", network=None,
                     clip_skip: int | None = None, max_token_length: int = 75, by_epoch: bool = False,
                     problems: dict[int, str] | None = None, stop=None) -> list[Path]:
    """Render every prompt with the LoRA as currently trained; RNG states are left untouched.
    ``max_token_length`` (training's) is SDXL's prompt limit, as in sd-scripts; SD1/SD2 take 225 tokens.
    ``by_epoch``: named by ``epoch`` (an epoch's samples), else by ``step``. ``problems``: a prompt that
    cannot render (RENDER_ERRORS) is said there (its index: why) and the others still render (else it raises).

    ``network`` (the LoRA, hooked into the models but not their submodule) is put in eval mode
    too, so its dropout is off while sampling.

    ``stop``: called before each prompt and after each denoising step; once it is true the sampling ends there
    (the prompt under way left unrendered, no later one begun) and the images rendered so far are returned."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    number = f"e{epoch:06d}" if by_epoch else f"{step:06d}"
    cpu_state = torch.get_rng_state()
    cuda_state = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    modes = [(m, m.training) for m in [base.unet, *base.text_encoders, *([network] if network is not None else [])]]
    for module, _ in modes:
        module.eval()  # LoRA dropout off while sampling
    paths = []
    try:
        for index, p in enumerate(prompts):
            if stop is not None and stop():
                break
            try:
                pipe = make_pipeline(base, p.sampler or sampler)
            except RENDER_ERRORS as exc:
                if problems is None:
                    raise
                problems[index] = str(exc)
                continue
            pipe.set_progress_bar_config(disable=True)
            generator = torch.Generator(device="cpu").manual_seed(prompt_seed(p, index, seed))
            with torch.autocast(device_type=torch.device(device).type, dtype=dtype, enabled=dtype != torch.float32):
                # encoded as sd-scripts' sample pipelines do: A1111 weights, long prompts (engine/text.py)
                cond, uncond = encode_sample_prompt(base, p.prompt, p.negative or "", clip_skip or 1, max_token_length)
                texts = {"prompt_embeds": cond.hidden_states, "negative_prompt_embeds": uncond.hidden_states}
                if base.family == "sdxl":
                    texts.update(pooled_prompt_embeds=cond.pooled, negative_pooled_prompt_embeds=uncond.pooled)
                steps = {} if stop is None else {"callback_on_step_end": _stop_at_step(stop)}
                try:
                    image = pipe(**texts, width=p.width, height=p.height, num_inference_steps=p.steps,
                                 guidance_scale=p.scale, generator=generator, **steps).images[0]
                except _SamplingStopped:
                    break
            path = sample_path(out, output_name, number, index, p, time.time())
            write_png(path, image)
            paths.append(path)
    finally:
        for module, mode in modes:
            module.train(mode)
        torch.set_rng_state(cpu_state)
        if cuda_state is not None:
            torch.cuda.set_rng_state_all(cuda_state)
    return paths
