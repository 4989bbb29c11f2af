"""Rules of thumb for a training plan, and the cheapest changes that make a config fit a card.

Three things live here, all pure Python and advisory (nothing is ever refused because of them):

* :func:`plan_advice` compares a schedule with common practice for the dataset size: total steps,
  how often each image is trained, samples (repeats x images) per epoch, and the LoRA rank (and
  alpha) for the model family. Every rule names its source in ``RULE_SOURCES``; the thresholds
  below flag a plan only when it is *far* from what the source recommends (about a factor of two
  outside its range), because these are community habits, not laws.
* :func:`warmup_note` says when lr_warmup_steps lasts the whole run (compute_schedule adds it to the
  notes `loratui steps` and the Settings calculator show).
* :func:`vram_fixes` tries one-field changes in order of what they cost (free first, quality last)
  with the estimator (vram.py), and returns the cheapest ones that make the estimate fit a card.

Sources (read by us; the numbers are quoted in the messages):

* kohya-colab: hollowstrawberry/kohya-colab, the SD 1.5 notebook ``Lora_Trainer.ipynb`` ("I
  recommend that your images multiplied by their repeats is between 200 and 400"; "a good starting
  point is around 10 epochs or around 2000 steps"; older versions "10 to 30 epochs ... 1000 to 6000
  total steps"; "a dim between 8-32 is recommended"; its dataset check aborts above 10,000 total
  steps: "you probably made a mistake").
* kohya-colab XL: the same repository's ``Lora_Trainer_XL.ipynb`` ("images multiplied by their
  repeats is around 100, or 1 repeat with more than 100 images"; regular LoRA dim 8 / alpha 4,
  style LoCon dim 16).
* sd-scripts docs: kohya-ss/sd-scripts ``docs/train_network.md`` (network_dim "values between 4
  and 128 are commonly used"; network_alpha "about half the value of network_dim, but it can also be
  the same value").
* db-notes: the "Efficient Dreambooth Training Guide" (rentry.co/db-notes), "100 steps per image,
  can get away with 80 or less for larger datasets"; kohya-colab's defaults (10 repeats x 10 epochs)
  give the same 100 uses per image.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from loratui.core.config import TrainingConfig, latents_cached, sampling_intervals_note, validate
from loratui.core.errors import LoratuiError
from loratui.core.plan.schedule import Schedule
from loratui.core.plan.vram import estimate_vram, largest_bucket_samples, resolve_family

KOHYA_COLAB = "hollowstrawberry/kohya-colab Lora_Trainer.ipynb"
KOHYA_COLAB_XL = "hollowstrawberry/kohya-colab Lora_Trainer_XL.ipynb"
SD_SCRIPTS_DOCS = "kohya-ss/sd-scripts docs/train_network.md"
DB_NOTES = "rentry.co/db-notes (Efficient Dreambooth Training Guide)"

RULE_SOURCES: dict[str, str] = {
    "total_steps": KOHYA_COLAB,
    "uses_per_image": f"{DB_NOTES}; {KOHYA_COLAB} defaults",
    "samples_per_epoch": KOHYA_COLAB,            # the XL notebook for SDXL (see _SAMPLES)
    "rank": f"{KOHYA_COLAB}; {SD_SCRIPTS_DOCS}",  # the XL notebook for SDXL (see _RANK)
    "alpha": SD_SCRIPTS_DOCS,
}

# Far-from-practice thresholds: (advise below, advise above) per family ("sd1" also covers SD 2.x).
_TOTAL_STEPS = (500, 10_000)          # kohya-colab: ~2,000 to start (1,000-6,000); > 10,000 aborts
_USES_PER_IMAGE = {"sd1": (30, 400),  # db-notes / kohya-colab: ~100 uses per image
                   "sdxl": (10, 300)}  # kohya-colab XL defaults: 2 repeats x 10 epochs with ~50 images
_SAMPLES = {"sd1": (100, 800, "200-400", KOHYA_COLAB),
            "sdxl": (50, 200, "about 100 (1 repeat with more than 100 images)", KOHYA_COLAB_XL)}
_RANK = {"sd1": (4, 64, "8-32", KOHYA_COLAB),
         "sdxl": (4, 32, "8 for a regular LoRA, 16 for a style LoCon", KOHYA_COLAB_XL)}


@dataclass(frozen=True)
class Advice:
    """One rule of thumb applied to a plan; ``ok`` False means the plan is far from the habit."""

    rule: str      # a key of RULE_SOURCES
    ok: bool
    message: str   # one line with the plan's number and the common range
    source: str


def _family(cfg: TrainingConfig, family: str | None) -> str:
    try:
        return resolve_family(cfg, family, [])
    except LoratuiError:
        return "sd1"


def plan_advice(cfg: TrainingConfig, schedule: Schedule, family: str | None = None) -> list[Advice]:
    """Every rule applied to ``schedule`` (from compute_schedule on ``cfg``); see the module doc."""
    fam = _family(cfg, family)
    label = "SDXL" if fam == "sdxl" else "SD 1.5"
    out: list[Advice] = []
    total = schedule.total_steps or 0
    low, high = _TOTAL_STEPS
    if total > high:
        msg = (f"total steps {total:,} is far above common practice (about 2,000 to start; kohya-colab "
               f"refuses more than {high:,}: usually a mistake)")
    elif total < low:
        msg = f"total steps {total:,} is far below common practice (about 2,000 to start, 1,000-6,000)"
    else:
        msg = f"total steps {total:,} (common: about 2,000 to start, 1,000-6,000)"
    out.append(Advice("total_steps", low <= total <= high, msg, RULE_SOURCES["total_steps"]))

    images = sum(f.images for f in schedule.folders if not f.is_reg)
    if images and schedule.steps_per_epoch:
        epochs = total / schedule.steps_per_epoch  # fractional when max_train_steps ends mid-epoch
        uses = schedule.samples_per_epoch * epochs / images
        low, high = _USES_PER_IMAGE[fam]
        shown = f"each image is trained about {uses:,.0f} times (repeats x epochs)"
        if uses < low:
            msg = f"{shown}: far below the usual ~100; raise repeats or epochs"
        elif uses > high:
            msg = f"{shown}: far above the usual ~100; lower repeats or epochs (risk of overfitting)"
        else:
            msg = f"{shown} (usual: about 100)"
        out.append(Advice("uses_per_image", low <= uses <= high, msg, RULE_SOURCES["uses_per_image"]))

    samples = schedule.samples_per_epoch
    low, high, usual, source = _SAMPLES[fam]
    max_repeats = max((f.repeats for f in schedule.folders if not f.is_reg and f.images), default=1)
    shown = f"repeats x images = {samples:,} samples per epoch"
    if samples < low:
        ok, msg = False, f"{shown}: far below the {usual} recommended for {label}; raise repeats"
    elif samples > high and max_repeats > 1:  # with 1 repeat there is nothing to lower
        ok, msg = False, f"{shown}: far above the {usual} recommended for {label}; lower repeats"
    else:
        ok, msg = True, f"{shown} (recommended for {label}: {usual})"
    out.append(Advice("samples_per_epoch", ok, msg, source))

    rank, alpha = cfg.network.network_dim, cfg.network.network_alpha
    low, high, usual, source = _RANK[fam]
    if rank < low or rank > high:
        side = "small" if rank < low else "large"
        msg = (f"rank (network_dim) {rank} is {side} for {label}: {usual} is recommended "
               f"(4-128 in use; more rank = a bigger file that also learns more noise)")
        out.append(Advice("rank", False, msg, f"{source}; {SD_SCRIPTS_DOCS}"))
    else:
        out.append(Advice("rank", True, f"rank {rank} (recommended for {label}: {usual})",
                          f"{source}; {SD_SCRIPTS_DOCS}"))
    if alpha > rank:
        msg = (f"network_alpha {alpha:g} is above network_dim {rank}: updates are scaled up by "
               f"{alpha / rank:.2g}x; alpha is usually half of dim, or equal")
        out.append(Advice("alpha", False, msg, RULE_SOURCES["alpha"]))
    else:
        out.append(Advice("alpha", True, f"network_alpha {alpha:g} (usually half of dim, or equal)",
                          RULE_SOURCES["alpha"]))
    return out


def warmup_steps_of(cfg: TrainingConfig, total_steps: int) -> int:
    """lr_warmup_steps in optimizer steps, as `train` counts them (engine/optim.py warmup_steps): a
    number below 1 is a ratio of the total steps, rounded down like sd-scripts' ``int(ratio * total)``."""
    value = cfg.optimizer.lr_warmup_steps or 0
    return int(value * total_steps) if isinstance(value, float) and value < 1 else int(value)


def warmup_note(cfg: TrainingConfig, total_steps: int) -> str | None:
    """A note (`loratui steps`, the Settings calculator) when the warmup lasts the whole run: the
    learning rate then climbs until the last step and never reaches learning_rate; None otherwise.
    With the constant scheduler warmup does nothing (config check names that instead)."""
    value = cfg.optimizer.lr_warmup_steps
    if not value or cfg.optimizer.lr_scheduler == "constant" or total_steps < 1:
        return None
    warmup = warmup_steps_of(cfg, total_steps)
    if warmup < total_steps:
        return None
    shown = f"{value:g} x {total_steps} = {warmup} steps" if isinstance(value, float) and value < 1 else str(warmup)
    peak = (total_steps - 1) / warmup  # the multiplier of the last step: step / warmup while warming up
    return (f"lr_warmup_steps {shown} is not shorter than the run's {total_steps} steps: the learning rate is "
            f"still warming up when training ends and reaches only {peak:.0%} of learning_rate; lower "
            f"lr_warmup_steps (5-10% of the steps is common, e.g. 0.05 as a ratio)")


def sampling_note(cfg: TrainingConfig) -> str | None:
    """A note (`loratui steps`, the Settings calculator) when both sample_every_n_epochs and
    sample_every_n_steps are set: sd-scripts then samples at epochs only ("overwrites n_steps"), and so
    does `train` (engine/run_events.py); None otherwise."""
    return sampling_intervals_note(cfg)


# ---- VRAM fixes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class VramFix:
    """Changes that bring the estimate to ``estimate_gib``; ``fits`` on the card asked about."""

    changes: dict[tuple[str, str], object]   # (section, key) -> new value
    old: dict[tuple[str, str], object]       # (section, key) -> value before
    labels: tuple[str, ...]                  # one phrase per change, with what it costs
    estimate_gib: float
    fits: bool

    def describe(self) -> str:
        return "; ".join(self.labels)

    def fields_text(self) -> str:
        return ", ".join(f"{s}.{k} {_show(self.old[(s, k)])} -> {_show(v)}" for (s, k), v in self.changes.items())


@dataclass(frozen=True)
class _Candidate:
    label: str
    changes: dict[tuple[str, str], object] = field(default_factory=dict)


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple) and len(value) == 2:
        return str(value[0]) if value[0] == value[1] else f"{value[0]},{value[1]}"
    return str(value)


_LOWER_RES = {1024: 768, 896: 768, 768: 512, 640: 512}
_EIGHT_BIT = {"AdamW": "AdamW8bit", "Lion": "Lion8bit"}


def _candidates(cfg: TrainingConfig) -> list[_Candidate]:
    """One-step changes, cheapest first: free ones, then speed, then what the LoRA learns."""
    d, n, t, o = cfg.dataset, cfg.network, cfg.training, cfg.optimizer
    found: list[_Candidate] = []
    if not (t.sdpa or t.xformers):
        found.append(_Candidate("sdpa attention on (free: same result, faster)", {("training", "sdpa"): True}))
    if not latents_cached(d):  # cache_latents_to_disk alone caches them already
        found.append(_Candidate("cache latents (VAE leaves the GPU; no per-step image augmentation)",
                                {("dataset", "cache_latents"): True}))
    if n.network_train_unet_only and not t.cache_text_encoder_outputs:
        found.append(_Candidate("cache text-encoder outputs (text encoders leave the GPU)",
                                {("training", "cache_text_encoder_outputs"): True}))
    if o.optimizer_type in _EIGHT_BIT:
        found.append(_Candidate(f"8-bit optimizer {_EIGHT_BIT[o.optimizer_type]} (needs bitsandbytes)",
                                {("optimizer", "optimizer_type"): _EIGHT_BIT[o.optimizer_type]}))
    if t.mixed_precision == "no":
        found.append(_Candidate("bf16 mixed precision (fp16 on cards older than Ampere)",
                                {("training", "mixed_precision"): "bf16"}))
    if not t.gradient_checkpointing:
        found.append(_Candidate("gradient checkpointing on (about 20-30% slower)",
                                {("training", "gradient_checkpointing"): True}))
    if t.train_batch_size > 1:
        batch = t.train_batch_size // 2
        accum = t.gradient_accumulation_steps * t.train_batch_size // batch
        found.append(_Candidate(f"batch {batch} x accumulation {accum} (same effective batch, slower)",
                                {("training", "train_batch_size"): batch,
                                 ("training", "gradient_accumulation_steps"): accum}))
    if t.mixed_precision == "bf16" and not (t.full_bf16 or t.full_fp16):
        found.append(_Candidate("full bf16 LoRA weights (slightly less precise)", {("training", "full_bf16"): True}))
    if not n.network_train_unet_only and not n.network_train_text_encoder_only:
        found.append(_Candidate("train the UNet only (the text encoder is not trained)",
                                {("network", "network_train_unet_only"): True}))
    if n.network_dim > 4:
        rank = max(4, n.network_dim // 2)
        found.append(_Candidate(f"rank {rank} (the LoRA holds less detail)",
                                {("network", "network_dim"): rank,
                                 ("network", "network_alpha"): n.network_alpha * rank / n.network_dim}))
    w, h = d.resolution
    if w == h and w in _LOWER_RES:
        lower = _LOWER_RES[w]
        found.append(_Candidate(f"resolution {lower} (less detail)", {("dataset", "resolution"): (lower, lower)}))
    return found


def _apply(cfg: TrainingConfig, changes: dict[tuple[str, str], object]) -> TrainingConfig:
    out = copy.deepcopy(cfg)
    for (section, key), value in changes.items():
        setattr(getattr(out, section), key, value)
    return out


def vram_fixes(cfg: TrainingConfig, card_gb: float, *, family: str | None = None,
               limit: int = 3, scan=None) -> list[VramFix]:
    """The cheapest changes that make ``cfg`` fit a ``card_gb`` card, each checked with the estimator.

    Up to ``limit`` single changes that fit, cheapest first. When no single change is enough, one
    combination: the cheapest change still open is added, one at a time (so batch, rank and
    resolution can step down more than once), until the estimate fits; then the costlier changes
    that the later ones made unneeded are dropped (the cheap ones are kept). A change that would make the config invalid
    (core.config.validate) is never proposed. Empty when ``cfg`` fits already; one fix with ``fits``
    False when even every change together does not fit.
    """
    def estimate(changed: TrainingConfig):
        """With the dataset's ``scan``, as the panel's headline: no batch past the largest bucket
        (of the changed config: a new resolution makes new buckets)."""
        largest = largest_bucket_samples(changed, scan) if scan is not None else None
        return estimate_vram(changed, family=family, largest_bucket=largest)

    if estimate(cfg).fits(card_gb):
        return []
    before = set(validate(cfg))

    def valid(changed: TrainingConfig) -> bool:
        return not set(validate(changed)) - before

    def make(steps: list[tuple[frozenset, str, dict]]) -> VramFix:
        changes: dict[tuple[str, str], object] = {}
        labels: dict[frozenset, str] = {}
        for keys, label, values in steps:  # a later step on the same fields replaces the earlier one
            changes.update(values)
            labels.pop(keys, None)
            labels[keys] = label
        est = estimate(_apply(cfg, changes))
        old = {k: getattr(getattr(cfg, k[0]), k[1]) for k in changes}
        return VramFix(changes, old, tuple(labels.values()), round(est.total_gib, 2), est.fits(card_gb))

    def step(c: _Candidate) -> tuple[frozenset, str, dict]:
        return frozenset(c.changes), c.label, dict(c.changes)

    singles = []
    for candidate in _candidates(cfg):
        if valid(_apply(cfg, candidate.changes)):
            fix = make([step(candidate)])
            if fix.fits:
                singles.append(fix)
    if singles:
        return singles[:limit]

    steps: list[tuple[frozenset, str, dict]] = []
    current = cfg
    while True:
        nxt = next((c for c in _candidates(current) if valid(_apply(current, c.changes))), None)
        if nxt is None:
            return [make(steps)] if steps else []
        steps.append(step(nxt))
        current = _apply(current, nxt.changes)
        if make(steps).fits:
            break
    groups = list(dict.fromkeys(keys for keys, _, _ in steps))
    for group in reversed(groups[:-1]):  # costliest first; the last one is needed by construction
        rest = [s for s in steps if s[0] != group]
        fix = make(rest)
        if fix.fits and valid(_apply(cfg, fix.changes)):
            steps = rest
    return [make(steps)]
