"""`loratui demo`: the demo project (synthetic images with a few caption problems, a tiny random SD1
model, a toy WD14 tagger, a config) opened in the app; `--headless` runs the scripted walkthrough and trains instead."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import click

from loratui.commands.help_text import exit_codes
from loratui.core.errors import LoratuiError


def check_demo_folder(root: Path) -> None:
    """--dir must be a folder or a path one can be made at: a file there, or a file where one of
    its parent folders should be (``alice.toml/demo``), is one line naming it, before anything is built."""
    for path in (root, *root.parents):
        if path.is_dir():
            if path != root and not os.access(path, os.W_OK | os.X_OK):
                raise LoratuiError(f"--dir {root}: cannot create it: {path} is not writable: give --dir a folder "
                                   "you can write to, e.g. --dir ./loratui-demo")
            return
        if os.path.lexists(path):
            which = "" if path == root else f" {path}"
            raise LoratuiError(f"--dir {root}:{which} is a file, not a folder: give --dir a folder (a new or empty "
                               "one, or an earlier demo project), e.g. --dir ./loratui-demo")


def prepare_project(root: Path, *, fresh: bool = False) -> tuple[Path, bool]:
    """Build the demo project in ``root`` (or reuse the one there); returns (root, built)."""
    from loratui.demo import MARKER, add_demo_tagger, build_project, remember_captions

    if root.exists() and fresh:
        if not (root / MARKER).exists():
            raise LoratuiError(f"{root} was not made by the demo: refusing to delete it")
        shutil.rmtree(root)
    if root.exists() and not root.is_dir():
        raise LoratuiError(f"{root} is a file: give a folder for the demo project")
    if (root / "config.toml").exists():
        if not (root / MARKER).exists():
            raise LoratuiError(f"{root} holds a config.toml but was not made by the demo: give another folder")
        add_demo_tagger(root)  # a demo project built before the demo had a tagger gets one
        return root, False
    if root.exists() and any(root.iterdir()):
        raise LoratuiError(f"{root} exists and is not a demo project: pass --dir to choose another folder")
    build_project(root)
    (root / MARKER).write_text("made by loratui.demo\n", encoding="utf-8")
    remember_captions(root)
    return root, True


def demo_lora(root: Path) -> Path | None:
    """The LoRA the demo's last training run wrote (from its events), if it is there."""
    from loratui.core.events import read_events

    for event in reversed(read_events(root / "model" / "shapes_demo.events.jsonl")):
        if event["event"] == "finished":
            output = event.get("output")
            return Path(output) if output and Path(output).is_file() else None
    return None


@click.command()
@exit_codes((0, "done"), (1, "a step of the headless walkthrough failed (shown above it)"),
            (2, "bad input: a folder that is not a demo project, --dir a file, no terminal for the app"),
            (130, "interrupted"))
@click.option("--dir", "folder", default="loratui-demo", show_default=True, type=click.Path(path_type=Path),
              help="Where to create (or find) the demo project.")
@click.option("--fresh", is_flag=True, help="Delete the demo project there first and build it anew.")
@click.option("--headless", is_flag=True,
              help="No app: run the commands a user would type (scan, tag cleanup, steps, VRAM, a short "
                   "training run) and print the path of the LoRA it wrote.")
@click.option("--no-train", is_flag=True, help="With --headless: skip the training run.")
def demo(folder: Path, fresh: bool, headless: bool, no_train: bool) -> None:
    """Try loratui on a built-in demo project, offline, on a CPU.

    Builds ./loratui-demo (eight synthetic shape images whose captions have a few problems to clean
    up, a tiny random SD1-shaped model, a toy WD14 tagger and a config.toml) and opens the app on it:
    clean the captions, tag the images on the Caption screen (2, then ctrl+r; the toy tagger guesses
    tags from each image's average colour, it is not a real tagger), look at the steps calculator,
    start training on the Train screen (4, then s) and watch the loss fall: 26 steps, a few minutes
    on a CPU.
    `--headless` does the same work as commands and prints the LoRA's path.
    """
    root = folder.resolve()
    check_demo_folder(root)
    if headless:
        from loratui.demo import main

        code = main(["--dir", str(root), *(["--fresh"] if fresh else []), *(["--no-train"] if no_train else [])])
        if code == 0 and not no_train:
            lora = demo_lora(root)
            if lora is None:
                raise LoratuiError(f"the demo's training run wrote no LoRA: see {root / 'model'}")
            click.echo(f"LoRA: {lora}")
        sys.exit(code)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise LoratuiError("the app needs a terminal (stdin and stdout): `loratui demo --headless` runs the demo "
                           "without one")
    from loratui.tui.launch import refuse_dumb_terminal, run_app

    refuse_dumb_terminal("run `loratui demo --headless`")  # before the project is built, not after
    root, built = prepare_project(root, fresh=fresh)
    click.echo(f"{'Built' if built else 'Reusing'} the demo project in {root} (--fresh starts over)", err=True)

    run_app(root)
