"""Steps/epochs calculator with sd-scripts' exact arithmetic (our own code; rules read from
kohya-ss/sd-scripts `library/train_util.py` and `train_network.py`).

The training engine builds every epoch from :func:`epoch_samples` / :func:`epoch_batches` /
:func:`shard_batches`, and `loratui steps` counts with :func:`compute_schedule` from the same
registration and bucket rules, so the two agree by construction (a test checks it). Those functions
and the registration live in samples.py; this module counts the schedule from them.

Rules mirrored:

* Samples (DreamBoothDataset): each `N_name` folder contributes N x (its images) samples per epoch.
  Folders with N < 1 or no images are skipped (the dataset scan already leaves them out or empty, and
  names each: :attr:`Schedule.left_out_folders`). There is no upper limit: `100000_x` counts, as
  sd-scripts trains it (a note names it with the run's total); only a run over 10 million steps (or
  with that many in one epoch) is refused as a typo (repeats.py).
* Regularisation padding (DreamBoothDataset's reg loop): let T = train samples. A first pass walks the
  reg images in order and registers each with its folder's repeats until the running count reaches
  T (so with more reg samples than T the remaining reg images are never used, and the last one
  registered may overshoot T by up to repeats - 1). If a whole pass stays below T, further passes add
  one repeat to one image at a time, in order, until the count equals T. No train samples (T = 0)
  means no reg images at all. sd-scripts' log line "num reg images" is the *unpadded* count
  (repeats x reg images over all reg folders); the samples used are the padded count.
* Buckets and batches (BaseDataset.make_buckets): train and reg images share buckets; every
  registered image goes to one bucket (see buckets.py) with its repeats; each bucket is split into
  ceil(count / train_batch_size) batches, so a partial batch per bucket is the rule.
* Steps (train_network.py): steps_per_epoch = ceil(batches / num_processes / gradient_accumulation).
  With several processes accelerate shards the batch list: each process sees ceil(batches / processes)
  batches (what sd-scripts prints as "num batches per epoch") and steps once per accumulation window
  or at the end of its shard; ceil(ceil(b / p) / g) equals ceil(b / (p * g)), so both views agree.
* Totals: max_train_epochs takes precedence: total = epochs x steps_per_epoch. With only
  max_train_steps: epochs = ceil(steps / steps_per_epoch) and training stops at that step, inside the
  last epoch. With neither, sd-scripts silently uses 1600 steps; we refuse and name both keys.
* The kohya_ss GUI shows ceil(train_samples / batch / accumulation x epochs x reg_factor), with
  reg_factor 2 whenever a reg folder is set, and passes it as max_train_steps; whether sd-scripts
  then trains that number or whole epochs depends on whether the GUI version also passes
  max_train_epochs (newer ones do, and epochs win; with only its `epoch` field, the GUI's number
  governs). It ignores per-bucket partial batches, per-epoch rounding, reg padding overshoot, empty
  reg folders and processes; :attr:`Schedule.kohya_gui_steps` reports its number.

Order: sd-scripts lists folders in file-system order (Path.iterdir) and images sorted; the scan uses
sorted folder names. Order only decides *which* reg images are used or padded, never the counts,
except that bucket counts can differ when a reg folder is only partly used.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from dataclasses import dataclass, field

from loratui.core.plan.buckets import (
    Size,
    bucket_family,
    bucket_key,
    buckets_for_dataset,
    crops_at_full_size,
    reso_steps_notes,
)
from loratui.core.errors import LoratuiError
from loratui.core.fsutil import dollar_hint
from loratui.core.plan.left_out import (  # noqa: F401 - scan_error_note, scan_command: re-exported
    all_left_out, left_out_folders, no_training_images_reason, scan_command, scan_error_note,
)
from loratui.core.plan.samples import (  # noqa: F401 - Sample, _pad_reg, epoch_*, shard_batches: re-exported
    Registered, Sample, _pad_reg, assign_all, ceil_div, epoch_batches, epoch_samples, register_images, shard_batches,
)


@dataclass(frozen=True)
class FolderLine:
    """One folder's contribution per epoch, for the breakdown."""

    name: str
    path: str
    is_reg: bool
    repeats: int
    images: int
    samples: int  # repeats x images
    used_images: int  # reg: images registered by the padding loop (train: all)
    used_samples: int  # reg: samples after padding (train: = samples)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class RegPadding:
    train_samples: int
    available_samples: int  # sd-scripts' "num reg images": repeats x images over all reg folders
    used_samples: int
    used_images: int
    unused_images: int
    extra_repeats: int  # repeats added by the padding passes

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Schedule:
    """Everything `loratui steps` shows; built by :func:`compute_schedule` or :func:`plan_epoch`."""

    samples_per_epoch: int  # train samples (repeats x images), without reg
    reg_samples_per_epoch: int  # reg samples used after padding
    batches_per_epoch: int  # over all processes
    batches_per_process: int
    steps_per_epoch: int
    train_batch_size: int
    gradient_accumulation_steps: int
    num_processes: int
    buckets: dict[str, int]  # "WxH" -> samples (with repeats)
    bucket_images: dict[str, int]  # "WxH" -> distinct images
    bucket_batches: dict[str, int]
    folders: list[FolderLine]
    reg: RegPadding | None
    notes: list[str] = field(default_factory=list)
    epochs: int | None = None
    total_steps: int | None = None
    mode: str | None = None  # "epochs" (max_train_epochs set) or "steps" (only max_train_steps)
    last_epoch_steps: int | None = None  # steps-only: steps run in the (partial) last epoch
    kohya_gui_steps: int | None = None
    kohya_gui_formula: str | None = None
    mean_img_ar_error: float = 0.0  # mean |bucket ratio - image ratio| per image (sd-scripts' bucket_info)
    left_out_folders: list[str] = field(default_factory=list)  # the scan's line for each folder not counted

    @property
    def total_samples_per_epoch(self) -> int:
        return self.samples_per_epoch + self.reg_samples_per_epoch

    def with_epochs(self, epochs: int, total_steps: int | None = None) -> Schedule:
        """This schedule trained for `epochs` epochs (max_train_epochs semantics), or stopped at
        ``total_steps`` inside them; a folder with very many repeats gets a note with that total."""
        from loratui.core.plan.repeats import many_repeats_lines

        out = dataclasses.replace(self, notes=list(self.notes), left_out_folders=list(self.left_out_folders),
                                  epochs=epochs, mode="epochs",
                                  total_steps=epochs * self.steps_per_epoch if total_steps is None else total_steps,
                                  last_epoch_steps=self.steps_per_epoch)
        out.notes.extend(many_repeats_lines(out))
        return out

    def to_dict(self) -> dict:
        return {
            "samples_per_epoch": self.samples_per_epoch,
            "reg_samples_per_epoch": self.reg_samples_per_epoch,
            "total_samples_per_epoch": self.total_samples_per_epoch,
            "batches_per_epoch": self.batches_per_epoch,
            "batches_per_process": self.batches_per_process,
            "steps_per_epoch": self.steps_per_epoch,
            "total_steps": self.total_steps,
            "epochs": self.epochs,
            "mode": self.mode,
            "last_epoch_steps": self.last_epoch_steps,
            "train_batch_size": self.train_batch_size,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
            "num_processes": self.num_processes,
            "buckets": dict(self.buckets),
            "bucket_images": dict(self.bucket_images),
            "bucket_batches": dict(self.bucket_batches),
            "folders": [f.to_dict() for f in self.folders],
            "reg": self.reg.to_dict() if self.reg else None,
            "kohya_gui_steps": self.kohya_gui_steps,
            "kohya_gui_formula": self.kohya_gui_formula,
            "notes": list(self.notes),
            "left_out_folders": list(self.left_out_folders),
        }


def _folder_lines(scan, registered: list[Registered]) -> list[FolderLine]:
    used: dict[int, list[Registered]] = {}
    for entry in registered:
        used.setdefault(id(entry.subset), []).append(entry)
    lines = []
    for s in scan.subsets:
        if s.repeats < 1:
            continue
        mine = used.get(id(s), [])
        lines.append(FolderLine(s.name, str(s.path), bool(s.is_reg), s.repeats, len(s.images),
                                s.repeats * len(s.images), len(mine), sum(e.repeats for e in mine)))
    return lines


def plan_epoch(cfg, scan, num_processes: int = 1) -> Schedule:
    """The per-epoch part of the schedule (no epochs/total yet: that needs the training keys)."""
    t, d = cfg.training, cfg.dataset
    if num_processes < 1:
        raise LoratuiError(f"--num-processes must be at least 1, not {num_processes}")
    batch, accum = t.train_batch_size, t.gradient_accumulation_steps
    if batch < 1 or accum < 1:
        raise LoratuiError("train_batch_size and gradient_accumulation_steps in [training] must be at least 1")
    manager = buckets_for_dataset(d)
    notes = list(manager.notes)
    if d.enable_bucket:
        notes.extend(reso_steps_notes(d.bucket_reso_steps, bucket_family(cfg)))

    registered = register_images(scan)
    counts: dict[Size, int] = {}
    images: dict[Size, int] = {}
    upscaled = wrong_size = 0
    ar_errors: list[float] = []
    for entry, a in zip(registered, assign_all(manager, registered)):
        ar_errors.append(abs(a.ar_error))
        counts[a.bucket] = counts.get(a.bucket, 0) + entry.repeats
        images[a.bucket] = images.get(a.bucket, 0) + 1
        upscaled += a.upscaled
        wrong_size += a.image_size != tuple(d.resolution)
    order = sorted(counts)
    bucket_batches = {b: ceil_div(counts[b], batch) for b in order}
    batches = sum(bucket_batches.values())
    train_samples = sum(e.repeats for e in registered if not e.is_reg)
    reg_samples = sum(e.repeats for e in registered if e.is_reg)
    if train_samples == 0:
        if all_left_out(scan):
            raise LoratuiError(all_left_out(scan))
        from loratui.core.dataset import train_dir_hint

        hint = train_dir_hint(scan.train_data_dir)  # a project or concept folder given: say what to set
        reason = None if hint else no_training_images_reason(scan)  # else the scan's reason, e.g. `0_x`
        if reason:
            raise LoratuiError(reason)
        raise LoratuiError(f"no training images found under {scan.train_data_dir}: it needs `N_name` "
                           f"folders with images (N = repeats){hint or '; see `loratui dataset`'}")

    folders = _folder_lines(scan, registered)
    reg = None
    reg_lines = [f for f in folders if f.is_reg]
    if reg_lines:
        available = sum(f.samples for f in reg_lines)
        used_images = sum(f.used_images for f in reg_lines)
        reg = RegPadding(train_samples, available, reg_samples, used_images,
                         sum(f.images for f in reg_lines) - used_images,
                         reg_samples - sum(f.repeats * f.used_images for f in reg_lines))
        if available == 0:
            notes.append("the reg folders hold no images: training runs without regularisation")
        elif reg.unused_images:
            notes.append(f"{reg.unused_images} reg image(s) are never used: {available} reg samples "
                         f"available, {train_samples} needed (sd-scripts' rule)")
        elif reg.extra_repeats:
            notes.append(f"reg images are repeated {reg.extra_repeats} extra time(s) to match the "
                         f"{train_samples} train samples (sd-scripts' rule)")
    odd_case = [p for p in getattr(scan, "problems", []) if p.kind == "extension_case"]
    if odd_case:
        notes.append(f"{len(odd_case)} image(s) have a mixed-case extension (e.g. {odd_case[0].path.name}): counted "
                     "here, as loratui trains them, but sd-scripts on Linux skips them (`loratui dataset scan`)")
    if upscaled and d.enable_bucket and not d.bucket_no_upscale:
        notes.append(f"{upscaled} image(s) are upscaled to fill their bucket (bucket_no_upscale avoids it)")
    if not d.enable_bucket and wrong_size:
        notes.append(_no_bucket_note(d, wrong_size))

    return Schedule(
        samples_per_epoch=train_samples, reg_samples_per_epoch=reg_samples, batches_per_epoch=batches,
        batches_per_process=ceil_div(batches, num_processes),
        steps_per_epoch=ceil_div(batches, num_processes * accum),
        train_batch_size=batch, gradient_accumulation_steps=accum, num_processes=num_processes,
        buckets={bucket_key(b): counts[b] for b in order},
        mean_img_ar_error=sum(ar_errors) / len(ar_errors) if ar_errors else 0.0,
        bucket_images={bucket_key(b): images[b] for b in order},
        bucket_batches={bucket_key(b): bucket_batches[b] for b in order},
        folders=folders, reg=reg, notes=notes, left_out_folders=left_out_folders(scan))


def _no_bucket_note(d, wrong_size: int) -> str:
    """How images other than the resolution train with enable_bucket off, and whether sd-scripts agrees
    (train_util's __getitem__: without cached latents it crops, never resizes; buckets.py)."""
    w, h = d.resolution
    if crops_at_full_size(d):  # a smaller image is refused by the bucket assignment: these are larger
        return (f"{wrong_size} image(s) are larger than {w}x{h}: with enable_bucket off, random_crop on and latents "
                f"not cached, each step trains a random {w}x{h} patch of them at full scale (no resize), as "
                "sd-scripts does")
    if d.cache_latents or d.cache_latents_to_disk:
        return (f"{wrong_size} image(s) are not {w}x{h}: with enable_bucket off they are resized to cover it and "
                "centre-cropped before their latents are cached, as sd-scripts does")
    return (f"{wrong_size} image(s) are not {w}x{h}: with enable_bucket off loratui resizes them to cover it and "
            f"centre-crops; sd-scripts without cached latents stops on them (it needs {w}x{h}, or larger with "
            "random_crop = true, which crops at full scale): set cache_latents = true to train them the same way "
            "in both")


def kohya_gui_steps(plan: Schedule, epochs: int, reg_folder_set: bool) -> tuple[int, str]:
    """The number kohya_ss's GUI shows for max_train_epochs = epochs, and its formula."""
    factor = 2 if reg_folder_set else 1
    value = math.ceil(float(plan.samples_per_epoch) / plan.train_batch_size / plan.gradient_accumulation_steps
                      * epochs * factor)
    formula = (f"{plan.samples_per_epoch} / {plan.train_batch_size} / {plan.gradient_accumulation_steps}"
               f" x {epochs} x {factor}")
    return int(value), formula


def _gui_difference_reasons(plan: Schedule, reg_folder_set: bool) -> list[str]:
    reasons = []
    if any(n % plan.train_batch_size for n in plan.buckets.values()):
        reasons.append("each bucket's last batch is partial")
    per_epoch = plan.batches_per_epoch / plan.num_processes / plan.gradient_accumulation_steps
    if per_epoch != int(per_epoch):
        reasons.append("steps are rounded up every epoch")
    if reg_folder_set and plan.reg_samples_per_epoch != plan.samples_per_epoch:
        reasons.append("the GUI doubles the steps for reg images instead of counting the "
                       f"{plan.reg_samples_per_epoch} reg samples actually used")
    if plan.num_processes > 1:
        reasons.append(f"the GUI ignores the {plan.num_processes} processes")
    return reasons


def compute_schedule(cfg, scan, num_processes: int = 1) -> Schedule:
    """The full schedule for a config and its scanned dataset (raises LoratuiError when unset)."""
    plan = plan_epoch(cfg, scan, num_processes)
    t = cfg.training
    if t.max_train_epochs is None and t.max_train_steps is None:
        raise LoratuiError("neither max_train_epochs nor max_train_steps is set in [training]: set one "
                           "(sd-scripts would silently train 1600 steps); `loratui steps CONFIG "
                           "--target-steps N` suggests an epoch count")
    if t.max_train_epochs is not None:
        if t.max_train_epochs < 1:
            raise LoratuiError(f"max_train_epochs must be at least 1, not {t.max_train_epochs}")
        out = plan.with_epochs(t.max_train_epochs)
        if t.max_train_steps is not None and t.max_train_steps != out.total_steps:
            out.notes.append(f"max_train_steps ({t.max_train_steps}) is ignored: max_train_epochs takes "
                             f"precedence")
    else:
        if t.max_train_steps < 1:
            raise LoratuiError(f"max_train_steps must be at least 1, not {t.max_train_steps}")
        out = plan.with_epochs(ceil_div(t.max_train_steps, plan.steps_per_epoch), t.max_train_steps)
        out.mode = "steps"
        out.total_steps = t.max_train_steps
        out.last_epoch_steps = t.max_train_steps - (out.epochs - 1) * plan.steps_per_epoch
        if out.last_epoch_steps != plan.steps_per_epoch:
            out.notes.append(f"max_train_steps {t.max_train_steps} ends inside epoch {out.epochs} "
                             f"(after {out.last_epoch_steps} of its {plan.steps_per_epoch} steps)")
    from loratui.core.plan.repeats import too_long_problem

    too_long = too_long_problem(out)  # `steps`, `config check` and `train` refuse it alike
    if too_long:
        raise LoratuiError(too_long)
    from loratui.core.plan.advice import sampling_note, warmup_note  # here: advice builds on this module

    out.notes.extend(note for note in (warmup_note(cfg, out.total_steps), sampling_note(cfg)) if note)
    if out.mode == "epochs":
        reg_set = bool(cfg.dataset.reg_data_dir)
        out.kohya_gui_steps, out.kohya_gui_formula = kohya_gui_steps(plan, out.epochs, reg_set)
        if out.kohya_gui_steps != out.total_steps:
            why = "; ".join(_gui_difference_reasons(plan, reg_set)) or "its formula differs"
            # said plainly: a kohya_ss run (GUI epoch N, max_train_steps 0) trained the GUI's count, not whole epochs
            out.notes.append(f"the kohya_ss GUI would show {out.kohya_gui_steps} steps "
                             f"({out.kohya_gui_formula}): with its epoch = {out.epochs} and max_train_steps 0, kohya_ss "
                             f"runs sd-scripts for exactly {out.kohya_gui_steps} steps, while this config trains "
                             f"{out.total_steps} (whole epochs: {why}); to train as kohya_ss did, set max_train_steps = "
                             f"{out.kohya_gui_steps} and remove max_train_epochs")
    return out


@dataclass(frozen=True)
class TargetEpochs:
    """The epoch count whose exact step total comes closest to a wanted number of steps."""

    target_steps: int
    steps_per_epoch: int
    epochs: int
    total_steps: int
    max_epochs: int | None = None   # the config's own limit on max_train_epochs, when the answer hit it

    @property
    def difference(self) -> int:
        return self.total_steps - self.target_steps

    @property
    def capped(self) -> bool:
        """True when the closest epoch count was above the limit, so ``epochs`` is the limit."""
        return self.max_epochs is not None

    def to_dict(self) -> dict:
        data = {"target_steps": self.target_steps, "steps_per_epoch": self.steps_per_epoch,
                "epochs": self.epochs, "total_steps": self.total_steps, "difference": self.difference}
        if self.capped:
            data["capped_at_max_epochs"] = self.max_epochs
        return data


def max_epochs_limit() -> int:
    """The most max_train_epochs may be: the config field's own limit (config check refuses more)."""
    from loratui.core.config import field_spec

    return int(field_spec("max_train_epochs", "training").max)


def epochs_for_target_steps(target_steps: int, steps_per_epoch: int, max_epochs: int | None = None) -> TargetEpochs:
    """Closest epochs (at least 1) to `target_steps`; on a tie the larger count (reaches the target).

    Never above ``max_epochs`` (default: the config field's own limit, which `loratui steps`, the
    app's calculator and config check share): a closer count above it gives the limit, ``capped``."""
    if max_epochs is None:
        max_epochs = max_epochs_limit()
    if target_steps < 1:
        raise LoratuiError(f"--target-steps must be at least 1, not {target_steps}")
    if steps_per_epoch < 1:
        raise LoratuiError("an epoch has no steps: the dataset has no training images")
    low = max(1, target_steps // steps_per_epoch)
    high = ceil_div(target_steps, steps_per_epoch)
    best = min((high, low), key=lambda e: abs(e * steps_per_epoch - target_steps))
    if best > max_epochs:
        return TargetEpochs(target_steps, steps_per_epoch, max_epochs, max_epochs * steps_per_epoch, max_epochs)
    return TargetEpochs(target_steps, steps_per_epoch, best, best * steps_per_epoch)


def scan_for_config(cfg):
    """Scan the config's train/reg folders (paths relative to the config's folder)."""
    from loratui.core.config import resolve_path
    from loratui.core.dataset import scan_dataset

    d = cfg.dataset
    if not d.train_data_dir:
        raise LoratuiError("train_data_dir is empty: set the training images folder in [dataset]")
    train = resolve_path(cfg, d.train_data_dir, key="train_data_dir")
    reg = resolve_path(cfg, d.reg_data_dir, key="reg_data_dir") if d.reg_data_dir else None
    for key, written, path in (("train_data_dir", d.train_data_dir, train), ("reg_data_dir", d.reg_data_dir, reg)):
        problem = folder_key_problem(key, written, path)
        if problem:  # the key and what it says, as `config check` words it (the caller names the config)
            raise LoratuiError(problem)
    return scan_dataset(train, reg, d.caption_extension)


def folder_key_problem(key: str, written: str, path: str | None) -> str | None:
    """``key: folder PATH does not exist`` (or is a file), as core.config's check_paths says it, with a hint when
    the value holds a $VARIABLE: loratui expands a leading ~ but not environment variables."""
    if path is None or os.path.isdir(path):
        return None
    if os.path.exists(path):
        return f"{key}: {path} is a file, not a folder: give the folder that holds the `N_name` concept folders"
    return f"{key}: folder {path} does not exist" + dollar_hint(written)
