"""Benchmark: scan a 10,000-image kohya dataset; the target is under 2 s.

    .venv/bin/python bench/scan_dataset.py [--images 10000] [--dir /tmp/loratui-bench-scan] [--repeat 3]

Builds the dataset once (PNG/JPEG/WebP/BMP of varied sizes, 9 of 10 captioned, 10 concept folders)
and reuses it on later runs. Prints the best wall time of a few scans (warm page cache, like a
second scan in the TUI) and the ratio to the 2 s target, then the same scan with a thread pool and a
Pillow `Image.open` size probe for comparison.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from loratui.core.dataset import scan_dataset  # noqa: E402

TARGET_S = 2.0
FORMATS = [("png", "PNG", {}), ("jpg", "JPEG", {"quality": 80}), ("webp", "WEBP", {}), ("JPG", "JPEG", {}),
           ("bmp", "BMP", {})]


def build(root: Path, count: int) -> None:
    marker = root / f".built-{count}"
    if marker.exists():
        return
    print(f"building {count} images under {root} (once)...", flush=True)
    rng = random.Random(0)
    folders = [root / f"{rng.randint(1, 20)}_concept{i}" for i in range(10)]
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        folder = folders[index % len(folders)]
        ext, fmt, kw = FORMATS[index % len(FORMATS)] if index % 50 == 0 else FORMATS[index % 3]
        size = (rng.randint(16, 160), rng.randint(16, 160))
        Image.new("RGB", size, (index % 256, 80, 160)).save(folder / f"img{index:05d}.{ext}", fmt, **kw)
        if index % 10:
            (folder / f"img{index:05d}.txt").write_text(f"{folder.name[folder.name.index('_') + 1:]}, tag{index % 97}, tag{index % 13}")
    marker.write_text("ok")


def best_of(repeat: int, func) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    return best, result


def pillow_probe(paths: list[Path]) -> None:
    for path in paths:
        with Image.open(path) as image:
            image.size  # noqa: B018


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/loratui-bench-scan"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    root = args.dir / f"n{args.images}"
    root.mkdir(parents=True, exist_ok=True)
    build(root, args.images)

    elapsed, scan = best_of(args.repeat, lambda: scan_dataset(root))
    images = scan.num_train_images
    print(f"scan_dataset: {images} images in {len(scan.subsets)} folders, {len(scan.problems)} problems")
    print(f"measured {elapsed:.3f} s (best of {args.repeat}); target {TARGET_S:.1f} s; "
          f"ratio {elapsed / TARGET_S:.2f} of target ({'PASS' if elapsed < TARGET_S else 'FAIL'})")
    pooled, _ = best_of(args.repeat, lambda: scan_dataset(root, workers=4))
    print(f"with a 4-thread pool (workers=4): {pooled:.3f} s ({pooled / TARGET_S:.2f} of target)")
    paths = [image.path for subset in scan.subsets for image in subset.images]
    pillow, _ = best_of(1, lambda: pillow_probe(paths))
    print(f"for comparison, Pillow Image.open size probe alone: {pillow:.3f} s")


if __name__ == "__main__":
    main()
