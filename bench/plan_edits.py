"""Benchmark: planning each bulk tag operation over 10,000 captions (target: under 0.5 s each).

    python bench/plan_edits.py [--captions N]

Writes N synthetic WD14-style captions (about 25 tags each) to a temp folder, loads them once
(reading is reported separately: it is I/O, done once per session), then times plan_edits for each
operation and prints the time and its ratio to the 0.5 s target (ratio < 1 meets it).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from loratui.core.captions import load_captions  # noqa: E402
from loratui.core.captions import parse_where  # noqa: E402
from loratui.core.captions import (  # noqa: E402
    AddTags, Dedupe, EditContext, MoveToFront, RemoveCategory, RemoveTags, ReplaceTag, SortTags, StripUnderscores,
    plan_edits, tag_frequency,
)

TARGET_S = 0.5


def make_dataset(root: Path, n: int) -> None:
    rng = random.Random(0)
    vocab = [f"tag_{i:04d}" for i in range(3000)] + ["white_background", "simple_background", "long_hair"]
    folder = root / "10_concept"
    folder.mkdir(parents=True)
    for i in range(n):
        tags = ["general" if i % 3 else "sensitive"] + rng.sample(vocab, 25)
        (folder / f"{i:05d}.png").write_bytes(b"")
        (folder / f"{i:05d}.txt").write_text(", ".join(tags) + "\n", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--captions", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_dataset(root, args.captions)
        t0 = time.perf_counter()
        captions = load_captions(root)
        load_s = time.perf_counter() - t0
        print(f"{len(captions)} captions loaded in {load_s:.3f} s (once per session; not part of planning)")
        ctx = EditContext(tag_frequency(captions), {"tag_0001": 4})
        cases = {
            "add trigger at front": [AddTags(["trigger"], 0)],
            "remove exact": [RemoveTags(["tag_0001"])],
            "remove glob": [RemoveTags(["*background"])],
            "remove regex": [RemoveTags(["/tag_00[0-4]\\d/"])],
            "replace (merge)": [ReplaceTag("long_hair", "tag_0002")],
            "dedupe": [Dedupe()],
            "sort alpha": [SortTags("alpha")],
            "sort frequency": [SortTags("frequency")],
            "sort category": [SortTags("category")],
            "move to front": [MoveToFront(["tag_1*"])],
            "strip underscores": [StripUnderscores()],
            "remove rating category": [RemoveCategory(["rating"])],
            "recipe (4 ops) + where": [RemoveCategory(["rating"]), RemoveTags(["*background"]),
                                       StripUnderscores(), AddTags(["trigger"], 0)],
        }
        t0 = time.perf_counter()
        freq = tag_frequency(captions)
        print(f"{'frequency table':<28} {time.perf_counter() - t0:7.3f} s  ({len(freq)} tags)")
        worst = 0.0
        for name, ops in cases.items():
            where = parse_where("not tag:tag_0003") if "where" in name else None
            t0 = time.perf_counter()
            plan = plan_edits(captions, ops, where=where, ctx=ctx)
            elapsed = time.perf_counter() - t0
            worst = max(worst, elapsed)
            print(f"{name:<28} {elapsed:7.3f} s  ratio {elapsed / TARGET_S:5.2f}  ({plan.changed} files change)")
        print(f"worst planning time {worst:.3f} s = {worst / TARGET_S:.2f} of the {TARGET_S} s target "
              f"({'meets' if worst < TARGET_S else 'MISSES'} it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
