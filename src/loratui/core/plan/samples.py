"""The samples of one epoch as sd-scripts builds them: the images it registers (train first, reg padded to
the train samples), each image's bucket, the epoch's samples grouped by bucket, its batches (shuffled like
sd-scripts' shuffle_buckets) and each process's shard. The training engine builds every epoch from these
and schedule.py counts with the same functions; its docstring lists the rules mirrored.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from loratui.core.errors import LoratuiError
from loratui.core.plan.buckets import BucketAssignment, BucketManager, Size, buckets_for_dataset


@dataclass(frozen=True)
class Sample:
    """One use of one image in an epoch (an image with 10 repeats gives 10 Samples)."""

    image: Any  # dataset_scan.ImageEntry
    is_reg: bool
    subset: Any  # dataset_scan.Subset
    assignment: BucketAssignment | None = None  # bucket, resized size and crop for this image


@dataclass(frozen=True)
class Registered:
    """An image sd-scripts registers for training, with the repeats it ends up with."""

    subset: Any
    image: Any
    repeats: int

    @property
    def is_reg(self) -> bool:
        return bool(self.subset.is_reg)


def register_images(scan) -> list[Registered]:
    """Every image sd-scripts would register, train images first, with effective repeats."""
    train = [Registered(s, img, s.repeats) for s in scan.subsets if not s.is_reg and s.repeats >= 1
             for img in s.images]
    reg = [Registered(s, img, s.repeats) for s in scan.subsets if s.is_reg and s.repeats >= 1
           for img in s.images]
    return train + _pad_reg(reg, sum(r.repeats for r in train))


def _pad_reg(reg: list[Registered], target: int) -> list[Registered]:
    """sd-scripts' reg loop, in closed form (a test checks it against the literal loop)."""
    if not reg or target <= 0:
        return []
    used, count = [], 0
    for entry in reg:  # first pass: whole folders' repeats, stop as soon as the target is reached
        used.append(entry)
        count += entry.repeats
        if count >= target:
            return used
    extra = target - count  # later passes: +1 per image in order until the count equals the target
    rounds, rest = divmod(extra, len(used))
    return [Registered(e.subset, e.image, e.repeats + rounds + (1 if i < rest else 0))
            for i, e in enumerate(used)]


def assign_all(manager: BucketManager, registered) -> list:
    """Each registered image's bucket. Images that get none (too thin for bucket_no_upscale) are
    named, all in one error: the first file, its size and how many more there are."""
    out, refused = [], []
    for entry in registered:
        try:
            out.append(manager.assign(entry.image.width, entry.image.height))
        except LoratuiError as exc:
            refused.append((entry, exc))
    if refused:
        entry, exc = refused[0]
        more = f" (and {len(refused) - 1} more image(s) like it)" if len(refused) > 1 else ""
        raise LoratuiError(f"{entry.image.path}{more}: {exc}")
    return out


def epoch_samples(scan, dataset_cfg, manager: BucketManager | None = None) -> dict[Size, list[Sample]]:
    """The exact multiset of samples in ONE epoch, grouped by bucket (buckets sorted by (w, h)).

    Within a bucket, samples follow sd-scripts' registration order, each image's repeats together;
    :func:`epoch_batches` cuts them into batches (and shuffles) the way sd-scripts does.
    """
    manager = manager or buckets_for_dataset(dataset_cfg)
    buckets: dict[Size, list[Sample]] = {}
    registered = register_images(scan)
    assignments = assign_all(manager, registered)
    for entry, assignment in zip(registered, assignments):
        sample = Sample(entry.image, entry.is_reg, entry.subset, assignment)
        buckets.setdefault(assignment.bucket, []).extend([sample] * entry.repeats)
    return dict(sorted(buckets.items()))


def epoch_batches(groups: dict[Size, list[Sample]], batch_size: int,
                  rng: random.Random | None = None) -> list[tuple[Size, list[Sample]]]:
    """One epoch's batches: each bucket cut into runs of `batch_size` (its last batch partial).

    With `rng`, like sd-scripts' shuffle_buckets (seeded with seed + epoch there): the list of
    (bucket, batch index) pairs is shuffled first, then each bucket's samples, and batch i of a bucket
    takes its samples [i * batch_size, (i + 1) * batch_size). Without `rng` the order is as built.
    """
    if batch_size < 1:
        raise LoratuiError(f"train_batch_size must be at least 1, not {batch_size}")
    contents = {bucket: list(samples) for bucket, samples in groups.items() if samples}
    index = [(bucket, i) for bucket, samples in contents.items()
             for i in range(ceil_div(len(samples), batch_size))]
    if rng is not None:
        rng.shuffle(index)
        for samples in contents.values():
            rng.shuffle(samples)
    return [(bucket, contents[bucket][i * batch_size:(i + 1) * batch_size]) for bucket, i in index]


def shard_batches(batches: list, num_processes: int, rank: int) -> list:
    """The batches process `rank` trains on, as accelerate's even_batches sharding hands them out:
    round-robin (batch rank, rank + n, ...), every process getting ceil(len / n) batches, the short
    last round filled from the start of the list."""
    if not 0 <= rank < num_processes:
        raise LoratuiError(f"rank {rank} is outside 0..{num_processes - 1}")
    if not batches:
        return []
    per_process = ceil_div(len(batches), num_processes)
    return [batches[(rank + k * num_processes) % len(batches)] for k in range(per_process)]


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)
