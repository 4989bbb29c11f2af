"""SVG snapshots of the app's screens at 80x24 and 120x40 (what pytest-textual-snapshot does, by hand).

Each test drives ``LoratuiApp`` on the fixed dataset of ``tests/fixtures/tui_dataset.py`` with keys,
waits until nothing is left to load (captions, the scan, the preview thumbnail, any worker), exports
the screen with ``app.export_screenshot()`` and compares it with the stored file
``tests/tui/snapshots/<scenario>_<W>x<H>.svg``.

Updating the stored snapshots (after a deliberate change to what a screen shows)::

    LORATUI_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/tui/test_snapshots.py

then look at the changed SVGs (open them in a browser) before committing them. On a mismatch the
test writes what it got beside the stored file as ``<scenario>_<W>x<H>.new.svg`` (delete it, or
rerun with the variable set once the change is right), names both files and prints the screen as
text in the failure message.

What keeps the snapshots stable:

- the dataset is made in a folder named ``demo`` and opened by its relative path from inside
  tmp_path (as ``loratui demo`` would be), so the header says "loratui — demo" whatever tmp_path is;
  any remaining tmp path in the SVG is replaced by ``TMP`` all the same;
- settings, keymap, themes and XDG folders point into tmp_path; TERM and NO_COLOR are fixed;
- Input/TextArea cursors do not blink (``cursor_blink = False`` on each, set by the test only: the
  cursor is then always drawn on the focused one); animations are off; notifications are not shown
  (``run_test``'s default);
- the export happens only after every worker finished, the image preview is not loading and two
  exports a frame apart agree.

The stored files depend on Textual's version (8.2.8 here) and on Pillow's PNG encoder (file sizes in
the table); a change of either can mean regenerating them.
"""

from __future__ import annotations

import asyncio
import difflib
import os
import re
import time
from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import Input, TextArea

from fixtures.recorded_run import write_recorded_run
from fixtures.tui_dataset import make_dataset
from loratui.core.dataset import locate_dataset
from loratui.tui.app import LoratuiApp

SNAPSHOT_DIR = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("LORATUI_UPDATE_SNAPSHOTS", "").strip().lower() not in ("", "0", "false", "no")
SIZES = {"80x24": (80, 24), "120x40": (120, 40)}
KEY_NAMES = {" ": "space", ",": "comma", "/": "slash", ":": "colon", "*": "asterisk", "-": "minus",
             "?": "question_mark", ".": "full_stop", "_": "underscore"}
LOAD_TIMEOUT = 20.0


# ---- driving the app ---------------------------------------------------------------------------

async def type_text(pilot, text: str) -> None:
    await pilot.press(*[KEY_NAMES.get(ch, ch) for ch in text])


def nothing_pending(app: App) -> bool:
    """True when no worker runs (run followers live as long as the app: their run must be read
    through) and no image preview is still loading."""
    from loratui.tui.widgets.image_preview import ImagePreview

    if any(not worker.is_finished for worker in app.workers if worker.group != "runs"):
        return False
    service = getattr(app, "run_service", None)
    if service is not None and any(not run.caught_up for run in service.followed.values()):
        return False
    for screen in app.screen_stack:
        if any(preview.is_loading for preview in screen.query(ImagePreview)):
            return False
    return True


def app_state(app: App) -> str:
    """What the app was doing, for a timeout message: workers, notifications, the status line."""
    workers = [f"{w.name} ({w.state.name})" for w in app.workers]
    notes = [n.message for n in app._notifications]
    try:
        status = str(app.screen.query_one("#status").render())
    except Exception:  # noqa: BLE001 - best effort
        status = "?"
    return f"; workers: {workers}; notifications: {notes}; status line: {status!r}"


async def settle(app: App, pilot) -> None:
    """Wait until workers are done and the preview is drawn, then let a few frames go by."""
    deadline = time.monotonic() + LOAD_TIMEOUT
    while True:
        await pilot.pause()
        if nothing_pending(app):
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"the app did not settle within {LOAD_TIMEOUT:.0f} s{app_state(app)}")
        await pilot.pause(0.02)
    if getattr(app, "run_service", None) is not None:
        await pilot.pause(0.6)  # the loss chart draws at most twice a second
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()
    await pilot.pause()


async def wait_loaded(app: LoratuiApp, pilot) -> None:
    """Captions read and the scan in: the Dataset screen's steady state."""
    deadline = time.monotonic() + LOAD_TIMEOUT
    while not (app.store.captions_loaded and app.store.scan is not None):
        if time.monotonic() > deadline:
            raise AssertionError(f"captions/scan not loaded within {LOAD_TIMEOUT:.0f} s{app_state(app)}")
        await pilot.pause(0.05)
    await settle(app, pilot)


def stop_blinking(app: App) -> None:
    """Cursors drawn steadily (visible on the focused input): no frame depends on the clock."""
    for screen in app.screen_stack:
        for widget in screen.query("Input, TextArea"):
            if isinstance(widget, (Input, TextArea)):
                widget.cursor_blink = False


def screen_text(app: App) -> str:
    return "\n".join("".join(segment.text for segment in strip) for strip in app.screen._compositor.render_strips())


# ---- scenarios: keys pressed after the Dataset screen has loaded ----------------------------------

async def _nothing(pilot) -> None:
    pass


async def _tags_pane(pilot) -> None:
    await pilot.press("t")


async def _summary_pane(pilot) -> None:
    await pilot.press("i")


async def _filter(pilot) -> None:
    await pilot.press("slash")
    await type_text(pilot, "tag:solo")
    await pilot.press("enter")


async def _tag_editor(pilot) -> None:
    await pilot.press("e")


async def _help(pilot) -> None:
    await pilot.press("question_mark")


async def _bulk_form(pilot) -> None:
    await pilot.press("minus")
    await pilot.pause()
    await type_text(pilot, "*background")


async def _bulk_preview(pilot) -> None:
    await _bulk_form(pilot)
    await pilot.pause()
    await pilot.press("enter")


async def _caption(pilot) -> None:
    await pilot.press("2")


async def _settings(pilot) -> None:
    await pilot.press("3")


async def _train(pilot) -> None:
    await pilot.press("4")


async def _train_recorded(pilot) -> None:
    await pilot.press("4")  # the runs of the config's output folder: "+ start" then the recorded one
    await pilot.pause(0.3)
    await pilot.press("down", "enter")


SCENARIOS = {
    "dataset": _nothing,
    "dataset_tags": _tags_pane,
    "dataset_summary": _summary_pane,
    "dataset_filter": _filter,
    "tag_editor": _tag_editor,
    "help": _help,
    "bulk_remove_form": _bulk_form,
    "bulk_remove_preview": _bulk_preview,
    "caption": _caption,
    "settings": _settings,
    "train": _train,
    "train_recorded": _train_recorded,
}

# what must be on screen (a cheap check that the scenario reached the screen it names)
EXPECTED_SCREEN = {
    "dataset": "DatasetScreen",
    "dataset_tags": "DatasetScreen",
    "dataset_summary": "DatasetScreen",
    "dataset_filter": "DatasetScreen",
    "tag_editor": "DatasetScreen",
    "help": "HelpScreen",
    "bulk_remove_form": "BulkOpScreen",
    "bulk_remove_preview": "PlanPreviewScreen",
    "caption": "CaptionScreen",
    "settings": "SettingsScreen",
    "train": "TrainScreen",
    "train_recorded": "TrainScreen",
}


def fix_env(monkeypatch, folder: Path) -> None:
    """Fix the environment that could change what the app draws; cwd = ``folder``."""
    monkeypatch.setenv("TERM", "xterm-256color")
    for name in ("NO_COLOR", "LORATUI_GRAPHICS", "TEXTUAL_THEME", "TEXTUAL_ANIMATIONS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder / "cache"))
    for name in ("HF_HOME", "HF_HUB_CACHE", "LORATUI_MODEL_STORE"):  # the Caption screen lists found models
        monkeypatch.setenv(name, str(folder / "cache" / name.lower()))
    monkeypatch.chdir(folder)


@pytest.fixture
def quiet_env(tmp_path, monkeypatch):
    fix_env(monkeypatch, tmp_path)
    return tmp_path


def make_app(tmp_path: Path, scenario: str = "") -> LoratuiApp:
    if not (tmp_path / "demo").exists():
        make_dataset(tmp_path / "demo")
    config = None
    if scenario == "train_recorded":  # a config whose output folder holds a finished run
        from loratui.core.config import TrainingConfig, save_config

        write_recorded_run(tmp_path / "demo", relative_to=tmp_path)
        cfg = TrainingConfig()
        cfg.dataset.train_data_dir, cfg.saving.output_dir, cfg.saving.output_name = "img", "model", "tiny"
        config = Path("demo") / "demo.toml"
        save_config(cfg, config)
    app = LoratuiApp(locate_dataset(Path("demo")), config_path=config, settings_file=tmp_path / "tui.toml",
                     keymap_file=tmp_path / "keymap.toml", themes_dir=tmp_path / "themes", watch=False)
    app.animation_level = "none"
    return app


def scrub(svg: str, tmp_path: Path) -> str:
    for path in {str(tmp_path.resolve()), str(tmp_path)}:
        svg = svg.replace(path, "TMP")
    return svg


async def _export(app: App, pilot, tmp_path: Path) -> str:
    stop_blinking(app)
    await settle(app, pilot)
    return scrub(app.export_screenshot(), tmp_path)


async def capture(tmp_path: Path, scenario: str, size: tuple[int, int], *, recheck_after: float = 0.0
                  ) -> tuple[str, str, str]:
    """(svg, screen text, svg exported again ``recheck_after`` seconds later) for one scenario."""
    app = make_app(tmp_path, scenario)
    async with app.run_test(size=size) as pilot:
        await wait_loaded(app, pilot)
        await SCENARIOS[scenario](pilot)
        await settle(app, pilot)
        found = type(app.screen).__name__
        assert found == EXPECTED_SCREEN[scenario], f"{scenario}: expected {EXPECTED_SCREEN[scenario]}, got {found}"
        svg = await _export(app, pilot, tmp_path)
        text = screen_text(app)
        if recheck_after:
            await pilot.pause(recheck_after)
        again = await _export(app, pilot, tmp_path)
    return svg, text, again


# ---- comparing ---------------------------------------------------------------------------------

_TEXT_RE = re.compile(r"<text [^>]*>(.*?)</text>")


def svg_lines(svg: str) -> list[str]:
    """The text of an exported SVG, one entry per text run (for a readable diff)."""
    import html

    return [html.unescape(m).replace("\xa0", " ") for m in _TEXT_RE.findall(svg)]


def assert_snapshot(svg: str, text: str, name: str) -> None:
    stored = SNAPSHOT_DIR / f"{name}.svg"
    new = SNAPSHOT_DIR / f"{name}.new.svg"
    if UPDATE:
        SNAPSHOT_DIR.mkdir(parents=True, exist_ok=True)
        if not stored.exists() or stored.read_text(encoding="utf-8") != svg:
            stored.write_text(svg, encoding="utf-8")
        new.unlink(missing_ok=True)
        return
    if stored.exists() and stored.read_text(encoding="utf-8") == svg:
        new.unlink(missing_ok=True)
        return
    SNAPSHOT_DIR.mkdir(parents=True, exist_ok=True)
    new.write_text(svg, encoding="utf-8")
    if not stored.exists():
        pytest.fail(f"no stored snapshot {stored}; wrote what the screen shows to {new}.\n"
                    f"Check it, then create the stored files with LORATUI_UPDATE_SNAPSHOTS=1.\n\n{text}")
    diff = "\n".join(difflib.unified_diff(svg_lines(stored.read_text(encoding="utf-8")), svg_lines(svg),
                                          "stored text", "new text", n=1, lineterm=""))
    pytest.fail(f"snapshot {stored} differs from the screen; the new SVG is in {new} (open both in a "
                f"browser).\nIf the change is intended: LORATUI_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest "
                f"tests/tui/test_snapshots.py\n\n"
                f"Text runs that differ:\n{diff or '(none: only colours or styles changed)'}\n\n"
                f"Screen now:\n{text}")


# ---- tests -------------------------------------------------------------------------------------

@pytest.mark.parametrize("size", list(SIZES), ids=list(SIZES))
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_snapshot(scenario, size, quiet_env):
    svg, text, again = asyncio.run(capture(quiet_env, scenario, SIZES[size]))
    assert again == svg, f"{scenario} {size}: two exports a frame apart differ (something still changes)"
    assert str(quiet_env) not in text, f"{scenario} {size}: the screen shows the tmp path:\n{text}"
    assert_snapshot(svg, text, f"{scenario}_{size}")


@pytest.mark.parametrize("scenario", ["dataset", "tag_editor", "bulk_remove_form"])
def test_exports_do_not_change_over_time(scenario, quiet_env):
    """Self-check: exports 0.6 s apart (longer than a cursor blink, 0.5 s) are the same."""
    svg, _text, later = asyncio.run(capture(quiet_env, scenario, SIZES["80x24"], recheck_after=0.6))
    assert later == svg, f"{scenario}: the screen changed between two exports 0.6 s apart"


@pytest.mark.slow
def test_two_runs_in_different_folders_agree(tmp_path, monkeypatch):
    """Self-check: the same scenario in two tmp folders (two app runs) exports the same SVG."""
    svgs = []
    for name in ("first-run", "second-run-with-a-longer-folder-name"):
        folder = tmp_path / name
        folder.mkdir()
        fix_env(monkeypatch, folder)
        svg, _text, _again = asyncio.run(capture(folder, "bulk_remove_preview", SIZES["80x24"]))
        svgs.append(svg)
    assert svgs[0] == svgs[1]
