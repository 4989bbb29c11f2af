"""`./dev.sh demo` (or `python -m loratui.demo`): a whole loratui session on a built-in demo project.

It lays out a small kohya-style project (synthetic images, captions, a tiny random SD1-shaped model,
a toy WD14 tagger for the Caption screen and a config) in a folder, then runs the same commands a user types, printing each one first:
dataset scan, tag cleanup (plan, apply, undo), the steps calculator, the VRAM estimate and a short
training run that writes a kohya-format LoRA. Everything runs offline on a CPU, in a few minutes
(the 26 training steps take most of it: about 5 minutes on a busy 2-core machine).

This module is the headless walkthrough (`loratui demo --headless`); `loratui demo` builds the same
project and opens the app on it (commands/demo_cmd.py).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from loratui.core.errors import LoratuiError

SHAPES = ("circle", "square", "triangle")
COLOURS = {"red": (220, 50, 47), "blue": (38, 139, 210), "green": (133, 153, 0), "orange": (203, 75, 22)}
BACKGROUNDS = {"white background": (250, 250, 245), "black background": (12, 12, 16)}
# (width, height): a mix of aspect ratios so the bucket breakdown has more than one line.
SIZES = ((512, 512), (640, 448), (448, 640), (512, 512), (704, 384), (512, 512), (384, 704), (576, 448))
TRIGGER = "shp_demo"


def _draw(shape: str, colour: tuple[int, int, int], background: tuple[int, int, int], size, rng):
    from PIL import Image, ImageDraw

    width, height = size
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    side = int(min(width, height) * rng.uniform(0.45, 0.7))
    left = rng.randint(0, width - side)
    top = rng.randint(0, height - side)
    box = (left, top, left + side, top + side)
    if shape == "circle":
        draw.ellipse(box, fill=colour)
    elif shape == "square":
        draw.rectangle(box, fill=colour)
    else:
        draw.polygon([(left + side // 2, top), (left, top + side), (left + side, top + side)], fill=colour)
    return image


def _image_specs():
    """(stem, shape, colour, background, size) of every demo image, always the same."""
    for index, size in enumerate(SIZES):
        shape = SHAPES[index % len(SHAPES)]
        colour = list(COLOURS)[index % len(COLOURS)]
        background = list(BACKGROUNDS)[index % 2]
        yield index, f"{index:03d}_{colour}_{shape}", shape, colour, background, size


def write_captions(concept_dir: Path) -> None:
    """The demo's own tag captions, some with things to clean up (the walkthrough starts from these)."""
    for index, stem, shape, colour, background, _ in _image_specs():
        tags = [f"{colour} {shape}", "simple_background", background, "no humans", "general"]
        if index % 3 == 0:
            tags.append("no humans")  # a duplicate for `tags dedupe`
        (concept_dir / f"{stem}.txt").write_text(", ".join(tags) + "\n", encoding="utf-8")


def make_images(concept_dir: Path, seed: int = 0) -> int:
    """Write the demo images and their tag captions; some captions carry things to clean up."""
    rng = random.Random(seed)
    concept_dir.mkdir(parents=True, exist_ok=True)
    for index, stem, shape, colour, background, size in _image_specs():
        image = _draw(shape, COLOURS[colour], BACKGROUNDS[background], size, rng)
        image.save(concept_dir / f"{stem}.png" if index % 2 else concept_dir / f"{stem}.jpg")
    write_captions(concept_dir)
    return len(SIZES)


def concept_dir(root: Path) -> Path:
    return root / "img" / f"3_{TRIGGER} shapes"


MARKER = ".loratui-demo"


def captions_fingerprint(root: Path) -> str:
    """One hash of the demo concept's caption files (names and bytes)."""
    digest = hashlib.sha256()
    for path in sorted(concept_dir(root).glob("*.txt")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def remember_captions(root: Path) -> None:
    """Note in the marker file that the captions as they are now were written by the demo itself."""
    marker = root / MARKER
    known = marker.read_text(encoding="utf-8").splitlines() if marker.is_file() else ["made by loratui.demo"]
    line = f"captions {captions_fingerprint(root)}"
    if line not in known:
        known.append(line)
    marker.write_text("\n".join(known) + "\n", encoding="utf-8")


def captions_are_the_demos(root: Path) -> bool:
    """True when the captions are as the demo built them or as its walkthrough left them: nothing the
    user wrote is in them."""
    marker = root / MARKER
    known = marker.read_text(encoding="utf-8").splitlines() if marker.is_file() else []
    return f"captions {captions_fingerprint(root)}" in known


def reset_captions(root: Path) -> bool:
    """Put the demo's captions and undo history back as built, so that a rerun of the walkthrough
    does and prints what the first run did (its tag cleanup would otherwise run on cleaned captions).
    Only when the captions are the demo's own: edited by the user, they stay (returns False)."""
    if not captions_are_the_demos(root):
        return False
    write_captions(concept_dir(root))
    shutil.rmtree(root / "img" / ".loratui", ignore_errors=True)
    return True


def write_prompts(path: Path) -> None:
    path.write_text(
        "# sd-scripts prompt options: --n negative, --w/--h size, --d seed, --s steps, --l CFG scale\n"
        f"{TRIGGER}, red circle, white background --n blurry --w 64 --h 64 --d 1 --s 8 --l 7\n",
        encoding="utf-8",
    )


def add_demo_tagger(root: Path) -> Path:
    """The demo's toy WD14 tagger in the project (wd14_tagger_model/demo-tagger): the Caption screen
    finds and chooses it, so captioning works offline. Its tags come from the image's average colour
    (white/black background, red/blue/green theme); the screen says it is a toy. Kept when there."""
    from loratui.captioners.model_search import DEMO_TAGGER_DIR, project_demo_tagger
    from loratui.captioners.tiny_models import make_demo_tagger

    return project_demo_tagger(root) or make_demo_tagger(root / DEMO_TAGGER_DIR)


def build_project(root: Path) -> Path:
    """Lay the demo project out under ``root`` and return its config path."""
    from loratui.core.config import TrainingConfig
    from loratui.core.config import save_config
    from loratui.engine.quiet import quiet_libraries
    from loratui.engine.tiny_models import make_tiny_sd1

    quiet_libraries()
    (root / "img").mkdir(parents=True, exist_ok=True)
    for name in ("reg", "model"):
        (root / name).mkdir(exist_ok=True)
    make_images(concept_dir(root))
    model_dir = make_tiny_sd1(root / "base-model" / "tiny-sd1")
    add_demo_tagger(root)
    write_prompts(root / "prompts.txt")

    cfg = TrainingConfig()
    cfg.model.pretrained_model_name_or_path = os.path.relpath(model_dir, root)
    cfg.model.model_family = "sd1"
    cfg.dataset.train_data_dir = "img"
    cfg.dataset.resolution = (128, 128)
    cfg.dataset.min_bucket_reso = 64
    cfg.dataset.max_bucket_reso = 256
    cfg.dataset.bucket_reso_steps = 64
    cfg.dataset.shuffle_caption = True
    cfg.dataset.keep_tokens = 1
    cfg.dataset.max_data_loader_n_workers = 0
    cfg.network.network_dim = 8
    cfg.network.network_alpha = 4.0
    cfg.optimizer.optimizer_type = "AdamW"
    cfg.optimizer.learning_rate = 1e-3
    cfg.optimizer.lr_scheduler = "cosine"
    cfg.optimizer.lr_warmup_steps = 0.1
    cfg.training.train_batch_size = 2
    cfg.training.max_train_epochs = 2
    cfg.training.mixed_precision = "no"
    cfg.saving.output_dir = "model"
    cfg.saving.output_name = "shapes_demo"
    cfg.saving.save_every_n_epochs = 1
    cfg.saving.save_precision = "fp16"
    cfg.sampling.sample_prompts = "prompts.txt"
    cfg.sampling.sample_every_n_epochs = 2
    config_path = root / "config.toml"
    save_config(cfg, config_path)
    return config_path


def _run(args: list[str], cwd: Path) -> int:
    """Print a command the way a user would type it, then run it with this interpreter."""
    print(f"\n$ loratui {shlex.join(args)}", flush=True)
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    return subprocess.run([sys.executable, "-m", "loratui", *args], cwd=cwd, env=env).returncode


WRITES, READS = True, False  # whether a walkthrough step writes caption files (or their undo history)


def walkthrough_steps(train: bool) -> list[tuple[list[str], bool]]:
    """The demo's commands (`loratui` args), each marked WRITES or READS: a step that writes captions is skipped
    when the user edited them. Marked by hand, not guessed from its options: a new step must say which it is."""
    steps: list[tuple[list[str], bool]] = [
        (["dataset", "scan", "img"], READS),
        (["tags", "freq", "img"], READS),
        (["tags", "dedupe", "img", "--dry-run"], READS),
        (["tags", "dedupe", "img", "--yes"], WRITES),
        (["tags", "remove-category", "img", "rating", "--yes"], WRITES),
        (["tags", "strip-underscores", "img", "--keep", TRIGGER, "--yes"], WRITES),  # a trigger with _ stays
        (["tags", "add", "img", "shapes", "--front", "--yes"], WRITES),
        (["tags", "undo", "img", "--yes"], WRITES),
        (["tags", "add", "img", TRIGGER, "--front", "--yes"], WRITES),
        (["tags", "undo", "img", "--list"], READS),
        (["tags", "freq", "img", "--top", "5"], READS),
        (["config", "check", "config.toml"], READS),
        (["steps", "config.toml"], READS),
        (["vram", "config.toml"], READS),
    ]
    if train:
        steps.append((["train", "config.toml"], READS))  # writes the model/ folder, never a caption
    return steps


def walkthrough(root: Path, *, train: bool, edit_captions: bool = True) -> int:
    """Run the demo's commands in ``root``; ``edit_captions`` False skips those that write captions (the
    user edited them: they stay as they are), saying so in place of each."""
    failures = 0
    for args, writes in walkthrough_steps(train):
        if writes and not edit_captions:
            print(f"\n(skipped: loratui {shlex.join(args)}: it would change your edited captions)", flush=True)
            continue
        code = _run(args, root)
        if code != 0:
            failures += 1
            print(f"(exit code {code})")
    if train:
        _show_run(root / "model")
    return failures


def _show_run(output: Path) -> None:
    """What the training run left behind, and its event stream (what the TUI will chart)."""
    from loratui.core.events import read_events

    print(f"\n$ ls {output.name}/")
    for path in sorted(output.iterdir()):
        print(f"  {path.name}{'/' if path.is_dir() else ''}")
    events = read_events(output / "shapes_demo.events.jsonl")
    starts = [i for i, e in enumerate(events) if e["event"] == "run_started"]
    events = events[starts[-1]:] if starts else events  # this run's events only (an earlier run may precede it)
    steps = [e for e in events if e["event"] == "step"]
    if steps:
        print(f"\n{len(events)} events of this run in model/shapes_demo.events.jsonl; loss (average of the last "
              f"50 steps) "
              f"{steps[0]['avg_loss']:.4f} at step {steps[0]['step']} -> {steps[-1]['avg_loss']:.4f} "
              f"at step {steps[-1]['step']}")
        print("last event: " + json.dumps(events[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="loratui-demo", description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="loratui-demo", help="where to create the demo project (default: ./loratui-demo)")
    parser.add_argument("--fresh", action="store_true", help="delete an existing demo project first")
    parser.add_argument("--no-train", action="store_true", help="skip the training run")
    args = parser.parse_args(argv)

    root = Path(args.dir).resolve()
    if root.exists() and args.fresh:
        if not (root / MARKER).exists():
            print(f"error: {root} was not made by the demo: refusing to delete it", file=sys.stderr)
            return 2
        shutil.rmtree(root)
    started = time.perf_counter()
    edit_captions = True  # False: the user edited the captions, and the walkthrough leaves them be
    if root.exists() and not root.is_dir():
        print(f"error: {root} is a file: pass --dir with a folder for the demo project", file=sys.stderr)
        return 2
    if (root / "config.toml").exists() and not (root / MARKER).exists():
        print(f"error: {root} holds a config.toml but was not made by the demo: pass --dir to choose another "
              "folder", file=sys.stderr)
        return 2
    if not (root / "config.toml").exists():
        if root.exists() and any(root.iterdir()):
            print(f"error: {root} exists and is not a demo project: pass --dir to choose another folder",
                  file=sys.stderr)
            return 2
        print(f"Building the demo project in {root} (synthetic images, tiny random SD1 model) ...", flush=True)
        try:
            build_project(root)
        except LoratuiError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        (root / MARKER).write_text("made by loratui.demo\n", encoding="utf-8")
        remember_captions(root)
    elif reset_captions(root):
        print(f"Reusing the demo project in {root}, its captions reset to the demo's own (--fresh starts over)",
              flush=True)
    else:
        edit_captions = False
        print(f"Reusing the demo project in {root}; its captions were edited since the demo wrote them and stay "
              "as they are: the tag cleanup steps that write captions (dedupe, remove-category, "
              "strip-underscores, add, undo) are skipped (--fresh starts over)", flush=True)

    failures = walkthrough(root, train=not args.no_train, edit_captions=edit_captions)
    if edit_captions:  # captions the user edited are never taken for the demo's own (a rerun would reset them)
        remember_captions(root)
    elapsed = time.perf_counter() - started
    print(f"\nDemo finished in {elapsed:.0f} s. Project: {root}")
    print("  config:   config.toml   (edit it by hand; `loratui config explain KEY` documents every key)")
    print("  captions: img/*/        (one .txt beside each image)")
    print("  output:   model/        (shapes_demo.safetensors, intermediate saves, samples, events.jsonl)")
    if failures:
        print(f"{failures} demo step(s) failed: see above", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
