"""Regenerate the README screenshots (docs/screenshots/*.svg) from the app running headless.

    python tools/screenshots.py [--out DIR]

It lays out the demo project's dataset (``loratui.demo.make_images``: the synthetic shapes with
their tag captions, the same files ``python -m loratui.demo`` starts from; no model is built and
nothing is trained) in a temporary folder named ``loratui-demo``, opens it the way
``loratui loratui-demo`` would, drives the app with keys at 120x40 through Textual's ``run_test``
and writes:

    dataset.svg          the Dataset screen: image table, preview, tag editor
    dataset-tags.svg     the tag list pane (t)
    dataset-summary.svg  the summary pane (i)
    bulk-preview.svg     remove tags `*background` (-), then its plan preview (enter)
    help.svg             the help screen (?)
    caption.svg          the Caption screen (2)
    settings.svg         the Settings screen (3)
    train.svg            the Train screen (4) on a recorded run

Each shot checks that the app shows the screen it is named for before it is written (a wrong key
sequence fails with a line that names the shot, rather than putting the wrong screen in the README).

The output is deterministic for a given Textual and Pillow: the project is opened by its relative
name (so the header reads "loratui — loratui-demo"), any temporary path left in an SVG is replaced
by "loratui-demo", cursors do not blink, notifications are not shown, and each screen is exported
only once every worker has finished and the preview is drawn. The demo's captions are never changed
(the plan preview and its form are closed with escape).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "docs" / "screenshots"
SIZE = (120, 40)
PROJECT = "loratui-demo"
LOAD_TIMEOUT = 30.0
KEY_NAMES = {" ": "space", ",": "comma", "/": "slash", ":": "colon", "*": "asterisk", "-": "minus",
             "?": "question_mark", ".": "full_stop", "_": "underscore"}

# (file, title, keys pressed before the export from the state the previous shot left, the screen class
# the export must show). BASE presses escape until only the mode's own screen is left: an escape in the
# plan preview goes back to its form, so a fixed number of escapes left "2" typed into the form.
BASE = "<base>"
SHOTS: list[tuple[str, str, list[str], str]] = [
    ("dataset.svg", "loratui: Dataset screen", [], "DatasetScreen"),
    ("dataset-tags.svg", "loratui: Dataset screen, tag list (t)", ["t"], "DatasetScreen"),
    ("dataset-summary.svg", "loratui: Dataset screen, summary (i)", ["i"], "DatasetScreen"),
    ("help.svg", "loratui: help (?)", ["i", "question_mark"], "HelpScreen"),
    ("bulk-preview.svg", "loratui: remove tags, plan preview", [BASE, "minus", *"*background", "enter"],
     "PlanPreviewScreen"),
    ("caption.svg", "loratui: Caption screen (2)", [BASE, "2"], "CaptionScreen"),
    ("settings.svg", "loratui: Settings screen (3)", [BASE, "3"], "SettingsScreen"),
    ("train.svg", "loratui: Train screen (4), a recorded run", [BASE, "4", "down", "enter"], "TrainScreen"),
]
BASE_ESCAPES = 6  # more open screens than this on one mode means a key went somewhere unexpected
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from fixtures.recorded_run import write_recorded_run  # noqa: E402 - the same run the snapshots use


def build_demo_dataset(root: Path) -> Path:
    """The demo project under ``root``, as `loratui demo` builds it (images, captions, the tiny random
    model, config.toml); nothing is trained."""
    from loratui import demo

    demo.build_project(root)
    write_recorded_run(root, relative_to=root.parent)  # a finished run for the Train screen (cwd: root.parent)
    return root


def _state(app) -> str:
    """What the app was doing, for a timeout message: workers, notifications, the status line."""
    workers = [f"{w.name} ({w.state.name})" for w in app.workers]
    notes = [n.message for n in app._notifications]
    try:
        status = str(app.screen.query_one("#status").render())
    except Exception:  # noqa: BLE001 - best effort
        status = "?"
    return f"; workers: {workers}; notifications: {notes}; status line: {status!r}"


async def _settle(app, pilot) -> None:
    """Wait until no worker runs and no image preview is loading, then let frames go by."""
    from textual.widgets import Input, TextArea

    from loratui.tui.widgets.image_preview import ImagePreview

    deadline = time.monotonic() + LOAD_TIMEOUT
    while True:
        await pilot.pause()
        # run followers (group "runs") live as long as the app: the recorded run is read once caught up
        busy = any(not worker.is_finished for worker in app.workers if worker.group != "runs") or any(
            preview.is_loading for screen in app.screen_stack for preview in screen.query(ImagePreview)) or any(
            not run.caught_up for run in getattr(getattr(app, "run_service", None), "followed", {}).values())
        if not busy:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"the app did not settle within {LOAD_TIMEOUT:.0f} s{_state(app)}")
        await pilot.pause(0.05)
    await pilot.pause(0.6)  # the loss chart draws at most twice a second
    for screen in app.screen_stack:
        for widget in screen.query("Input, TextArea"):
            if isinstance(widget, (Input, TextArea)):
                widget.cursor_blink = False  # a steady cursor: the export does not depend on the clock
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()
    await pilot.pause()


def shown_screen_problem(app, name: str, expected: str) -> str | None:
    """Why the app does not show the screen shot ``name`` is of (``expected``: its class, or a base
    class), else None: a shot of the wrong screen must never reach the README."""
    screen = app.screen
    if any(cls.__name__ == expected for cls in type(screen).__mro__):
        return None
    stack = " > ".join(type(s).__name__ for s in app.screen_stack)
    return (f"{name}: expected the {expected} but the app shows {type(screen).__name__} (mode "
            f"{app.current_mode!r}, screens {stack}): fix the keys of this shot in SHOTS (tools/screenshots.py)")


async def _to_base(app, pilot, name: str) -> None:
    """Escape until the current mode shows only its own screen (every form and preview closed unsaved)."""
    for _ in range(BASE_ESCAPES):
        if len(app.screen_stack) <= 1:
            return
        await pilot.press("escape")
        await _settle(app, pilot)
    if len(app.screen_stack) > 1:
        raise RuntimeError(f"{name}: {BASE_ESCAPES} escapes left {type(app.screen).__name__} open{_state(app)}")


async def _capture(workdir: Path, out: Path) -> list[Path]:
    from loratui.core.dataset import locate_dataset
    from loratui.tui.app import LoratuiApp

    app = LoratuiApp(locate_dataset(Path(PROJECT)), config_path=Path(PROJECT) / "config.toml",
                     settings_file=workdir / "tui.toml",
                     keymap_file=workdir / "keymap.toml", themes_dir=workdir / "themes", watch=False)
    app.animation_level = "none"
    written: list[Path] = []
    temp_paths = {str(workdir.resolve() / PROJECT), str(workdir / PROJECT), str(workdir.resolve()), str(workdir)}
    async with app.run_test(size=SIZE) as pilot:
        deadline = time.monotonic() + LOAD_TIMEOUT
        while not (app.store.captions_loaded and app.store.scan is not None):
            if time.monotonic() > deadline:
                raise RuntimeError(f"captions and scan not loaded within {LOAD_TIMEOUT:.0f} s{_state(app)}")
            await pilot.pause(0.05)
        await _settle(app, pilot)
        for name, title, keys, expected in SHOTS:
            for key in keys:
                if key == BASE:
                    await _to_base(app, pilot, name)
                else:
                    await pilot.press(KEY_NAMES.get(key, key))
            await _settle(app, pilot)
            problem = shown_screen_problem(app, name, expected)
            if problem is not None:
                raise RuntimeError(problem)
            svg = app.export_screenshot(title=title)
            for path in sorted(temp_paths, key=len, reverse=True):
                svg = svg.replace(path, PROJECT)
            target = out / name
            target.write_text(svg, encoding="utf-8")
            written.append(target)
        await _to_base(app, pilot, "the end")  # close whatever the last shot opened; nothing is written
    return written


def generate(out: Path) -> list[Path]:
    """Write the screenshots into ``out``; returns the files written."""
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    saved_cwd = os.getcwd()
    saved_env = {key: os.environ.get(key) for key in ("TERM", "NO_COLOR", "LORATUI_GRAPHICS", "TEXTUAL_THEME",
                                                      "TEXTUAL_ANIMATIONS", "XDG_CONFIG_HOME", "XDG_CACHE_HOME",
                                                      "HF_HOME", "HF_HUB_CACHE", "LORATUI_MODEL_STORE")}
    with tempfile.TemporaryDirectory(prefix="loratui-shots-") as tmp:
        workdir = Path(tmp)
        build_demo_dataset(workdir / PROJECT)
        os.environ["TERM"] = "xterm-256color"
        for key in ("NO_COLOR", "LORATUI_GRAPHICS", "TEXTUAL_THEME", "TEXTUAL_ANIMATIONS"):
            os.environ.pop(key, None)
        os.environ["XDG_CONFIG_HOME"] = str(workdir / "config")  # no user theme, keymap or settings
        os.environ["XDG_CACHE_HOME"] = str(workdir / "cache")
        for key in ("HF_HOME", "HF_HUB_CACHE", "LORATUI_MODEL_STORE"):  # found models: none, same every run
            os.environ[key] = str(workdir / "cache" / key.lower())
        os.chdir(workdir)
        try:
            return asyncio.run(_capture(workdir, out))
        finally:
            os.chdir(saved_cwd)
            for key, value in saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"folder for the SVG files (default: {DEFAULT_OUT.relative_to(ROOT)})")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    written = generate(args.out)
    for path in written:
        print(path)
    print(f"{len(written)} screenshots in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
