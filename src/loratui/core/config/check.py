"""Every problem of a config file in one list: what `config check` prints.

A config whose values do not all parse still has paths worth checking: the values that did parse
are checked as `train` would, so fixing a typo does not reveal a missing base model only then.
Problems that involve a refused key are left out (its field holds the default, not the user's value).
``export_problems`` is the same check for `config export-sdscripts`: what sd-scripts would refuse too.

Two kinds of problem are listed: what `train` refuses (validate, the paths, the packages) and what only
sd-scripts refuses (sdscripts_export.sdscripts_refusals, and here sdscripts_image_refusals: images sd-scripts
stops on with buckets off; loratui trains it, the export stops on it). Both
make `config check` exit 1, each line saying which it is; `train` checks only the first kind (and
Settings' "problems training will refuse" after a save asks for it alone: ``sdscripts=False``).
"""

from __future__ import annotations

import os
import re

from loratui.core.config.base_model import v_prediction_note
from loratui.core.config.caption_options import caption_option_notes
from loratui.core.config.fields import ConfigError
from loratui.core.config.load import (
    cache_latents_note, check_paths, latents_cached, load_config, resolve_path, validate, with_resolved_paths,
)
from loratui.core.config.packages import missing_packages
from loratui.core.config.schema import TrainingConfig
from loratui.core.config.sdscripts_export import sdscripts_refusals


def _involves(problem: str, keys: set[str]) -> bool:
    """Whether ``problem`` names one of ``keys`` (as a word, not inside a path: /data/resolution/x)."""
    words = set(re.findall(r"(?<![/\\\w])[A-Za-z_][A-Za-z0-9_]*(?![/\\\w])", problem))
    return bool(words & keys)


def config_file_problems(path: str | os.PathLike, *,
                         sdscripts: bool = True) -> tuple[TrainingConfig | None, list[str]]:
    """(the config, or None when some value did not parse; every problem, one line each, naming the
    file first). Problems of the values come first, then those of the fields together, the paths and
    the packages, then (unless ``sdscripts`` is False: what `train` refuses only) what only sd-scripts
    refuses."""
    source = str(path)
    export_only = _sdscripts_only if sdscripts else (lambda cfg: [])
    try:
        cfg = load_config(path)
    except ConfigError as exc:
        partial, refused = getattr(exc, "partial", None), getattr(exc, "refused", set())
        if partial is None:  # not TOML, not readable: nothing else can be checked
            return None, list(exc.problems)
        more = [p for p in validate(partial) + optimizer_problems(partial) + check_paths(partial)
                + missing_packages(partial) + export_only(partial) if not _involves(p, refused)]
        return None, list(exc.problems) + [f"{source}: {p}" for p in more]
    problems = validate(cfg) + optimizer_problems(cfg) + check_paths(cfg) + missing_packages(cfg) + export_only(cfg)
    return cfg, [f"{source}: {p}" for p in problems]


def export_problems(cfg: TrainingConfig) -> list[str]:
    """What `config check` finds in a loaded config that matters to an sd-scripts export: the fields
    together and the paths. A Hugging Face repo id as the base model is fine there (sd-scripts downloads
    it), and loratui's optional packages are not sd-scripts' (it has its own environment); what only
    sd-scripts refuses (bucket_reso_steps 32 for SD1/SD2) is added."""
    return validate(cfg) + optimizer_problems(cfg) + check_paths(cfg, hub_ids_ok=True) + _sdscripts_only(cfg)


def _sdscripts_only(cfg: TrainingConfig) -> list[str]:
    return sdscripts_refusals(cfg) + sdscripts_image_refusals(cfg)


def sdscripts_image_refusals(cfg: TrainingConfig) -> list[str]:
    """The images sd-scripts stops on that loratui trains, one line per kind: with enable_bucket = false and
    latents not cached its __getitem__ crops and never resizes, so an image larger than the resolution stops it
    ("image too large, but cropping and bucketing are disabled") unless random_crop, and a smaller one always
    ("image size is small"; loratui refuses that one too with random_crop, in core.plan). Read from the images'
    headers; nothing when the folders cannot be scanned (check_paths names them)."""
    d = cfg.dataset
    if d.enable_bucket or latents_cached(d) or d.random_crop or not d.train_data_dir:
        return []
    from loratui.core.dataset import scan_dataset
    from loratui.core.errors import LoratuiError

    try:
        scan = scan_dataset(resolve_path(cfg, d.train_data_dir),
                            resolve_path(cfg, d.reg_data_dir) if d.reg_data_dir else None, d.caption_extension)
    except (LoratuiError, OSError):
        return []
    w, h = d.resolution
    larger, smaller = [], []
    for image in _registered_images(scan):
        if image.width > w or image.height > h:
            larger.append(image)
        elif image.width < w or image.height < h:
            smaller.append(image)
    problems = []
    for images, what, sd_says, fixes in (
            (larger, "larger", "image too large, but cropping and bucketing are disabled",
             "set cache_latents = true (both then resize), random_crop = true (both then crop at full size) or "
             "enable_bucket = true"),
            (smaller, "smaller", "image size is small", "set cache_latents = true (both then resize) or "
             "enable_bucket = true, or upscale it")):
        if images:
            first = images[0]
            more = f" (and {len(images) - 1} more image(s) like it)" if len(images) > 1 else ""
            off = "enable_bucket = false, cache_latents = false" + (" and random_crop = false" if what == "larger" else "")
            problems.append(f"{first.path}{more}: {first.width}x{first.height} is {what} than the resolution {w}x{h}: "
                            f"sd-scripts stops on it (\"{sd_says}\") with {off}; `loratui train` resizes it to "
                            f"cover the resolution and centre-crops, `config export-sdscripts` stops on it: {fixes} "
                            "in [dataset]")
    return problems


def _registered_images(scan) -> list:
    """The images sd-scripts registers: every train image, and reg images in order until their samples reach
    the train samples (its reg loop's first pass; later passes only add repeats). core.plan's register_images
    is the full rule; core.config may not import core.plan."""
    train = [(s, i) for s in scan.subsets if not s.is_reg and s.repeats >= 1 for i in s.images]
    target = sum(s.repeats for s, _ in train)
    images = [i for _, i in train]
    count = 0
    for subset in (s for s in scan.subsets if s.is_reg and s.repeats >= 1):
        for image in subset.images:
            if count >= target:
                return images
            images.append(image)
            count += subset.repeats
    return images


def optimizer_problems(cfg: TrainingConfig) -> list[str]:
    """What `train` refuses in optimizer_args though the optimizer would take it (engine/optim.py
    check_optimizer says the same line): Adafactor's relative_step / warmup_init = True."""
    problem = cfg.optimizer.optimizer_args_problem()
    return [problem] if problem else []


def sampling_intervals_note(cfg: TrainingConfig) -> str | None:
    """The note when both sample_every_n_epochs and sample_every_n_steps are set: sd-scripts then samples at
    epochs only ("overwrites n_steps"), and so does `train` (engine/run_events.py). `config check` and
    `loratui steps` (core/plan's sampling_note) say it in these words; None otherwise."""
    sampling = getattr(cfg, "sampling", None)
    if not (sampling and sampling.sample_every_n_epochs and sampling.sample_every_n_steps):
        return None
    return (f"sample_every_n_steps ({sampling.sample_every_n_steps}) is ignored: sample_every_n_epochs "
            f"({sampling.sample_every_n_epochs}) is set and takes precedence, as in sd-scripts; unset one of them")


def no_prompts_note(cfg: TrainingConfig) -> str | None:
    """The note when samples are asked for (sample_every_n_steps / _epochs, sample_at_first) but sample_prompts is
    empty: sd-scripts and `train` then make no samples at all; None otherwise. (The keys are described, not named:
    a note naming sample_every_n_steps is the one that says it is ignored.)"""
    s = cfg.sampling
    asked = [what for what, on in ((f"every {s.sample_every_n_steps} steps", s.sample_every_n_steps),
                                   (f"every {s.sample_every_n_epochs} epochs", s.sample_every_n_epochs),
                                   ("before training", s.sample_at_first)) if on]
    if not asked or s.sample_prompts:
        return None
    return f"samples are asked for ({', '.join(asked)}) but no samples will be made: set sample_prompts in [sampling]"


def config_notes(cfg: TrainingConfig) -> list[str]:
    """What `config check` says after "ok" (notes, not problems: `train` trains it, but not as the config
    alone suggests): a diffusers folder whose scheduler_config.json makes the run v-prediction; both
    sampling intervals set (sample_every_n_steps is then ignored); clip_skip on an SDXL model (the family
    as everything else reads it: model_family, or the model's weights for auto)."""
    model = with_resolved_paths(cfg).model
    note = v_prediction_note(model.pretrained_model_name_or_path, model.v_parameterization)
    notes = [note] if note else []
    cache = cache_latents_note(cfg)
    if cache:
        notes.append(cache)
    notes += [note for note in (sampling_intervals_note(cfg), no_prompts_note(cfg)) if note]
    notes += caption_option_notes(cfg.dataset)
    clip_skip = cfg.training.clip_skip
    if clip_skip and clip_skip > 1 and _family_or_none(cfg) == "sdxl":  # the run start warns with the same words
        notes.append(f"training.clip_skip = {clip_skip} is ignored for SDXL (sd-scripts ignores it too; the "
                     "metadata records it)")
    return notes


def _family_or_none(cfg: TrainingConfig) -> str | None:
    """model_family, or for auto the family read from the weights; None when only a name guess is left."""
    from loratui.core.config.families import config_model_family
    from loratui.core.errors import LoratuiError

    try:
        read = config_model_family(cfg)
    except LoratuiError:
        return None
    return None if read.guessed else read.family
