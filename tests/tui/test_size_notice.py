"""Below 80x24 a line says the terminal is too small (the screens cut keys and values there); at 80x24
and up nothing of it is on screen or in the DOM."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from fixtures.tui_dataset import make_dataset
from loratui.core.dataset import locate_dataset
from loratui.tui.app import LoratuiApp
from loratui.tui.widgets.size_notice import SizeNotice, too_small_message


def _app(tmp_path: Path) -> LoratuiApp:
    root = make_dataset(tmp_path / "proj")
    return LoratuiApp(locate_dataset(root), settings_file=tmp_path / "cfg" / "tui.toml",
                      keymap_file=tmp_path / "cfg" / "keymap.toml", themes_dir=tmp_path / "themes", watch=False)


async def _until(pilot, condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition never came true"
        await pilot.pause(0.05)


def _top_row(app) -> str:
    first = app.screen._compositor.render_strips()[0]
    return "".join(segment.text for segment in first)


def _notice(app):
    found = app.screen.query_children(SizeNotice)
    return found.first() if found else None


def test_message_fits_the_width_and_is_empty_at_80x24_and_up():
    assert too_small_message(80, 24) == too_small_message(200, 60) == ""
    assert too_small_message(100, 20) == ("! terminal is 100x20: loratui is made for 80x24 or more; some keys and "
                                          "values are cut")
    for width, height in ((79, 24), (60, 20), (40, 30), (30, 8), (12, 5)):
        message = too_small_message(width, height)
        assert f"{width}x{height}" in message
        assert len(message) <= width or message == f"! {width}x{height} < 80x24"
    assert too_small_message(60, 20) == "! terminal 60x20 is below 80x24: keys and values are cut"
    assert too_small_message(79, 24) == "! terminal is 79x24: loratui is made for 80x24; some keys and values are cut"


def test_small_terminal_shows_the_notice_and_resizing_back_hides_it(tmp_path):
    app = _app(tmp_path)

    async def scenario():
        async with app.run_test(size=(60, 20)) as pilot:
            await _until(pilot, lambda: _notice(app) is not None and _notice(app).display)
            await pilot.pause()
            assert _top_row(app).startswith("! terminal 60x20 is below 80x24: keys and values are cut")

            await pilot.resize_terminal(30, 8)
            await _until(pilot, lambda: "30x8" in _top_row(app))
            assert _top_row(app).startswith("! 30x8 < 80x24: text cut")

            await pilot.press("3")  # another screen, built small: it gets its own notice
            await _until(pilot, lambda: type(app.screen).__name__ == "SettingsScreen" and _notice(app) is not None)
            await pilot.pause()
            assert "30x8" in _top_row(app)

            await pilot.resize_terminal(80, 24)
            await _until(pilot, lambda: not _notice(app).display)
            await pilot.pause()
            assert "terminal" not in _top_row(app) and "loratui" in _top_row(app)  # the header again
            await pilot.press("1")
            await _until(pilot, lambda: type(app.screen).__name__ == "DatasetScreen")
            await _until(pilot, lambda: not _notice(app).display)

    asyncio.run(scenario())


def test_nothing_is_added_at_80x24_and_up(tmp_path):
    app = _app(tmp_path)

    async def scenario():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await pilot.pause()
            assert _notice(app) is None
            await pilot.resize_terminal(120, 40)
            await pilot.press("2")
            await pilot.pause()
            await pilot.pause()
            assert _notice(app) is None

    asyncio.run(scenario())


def test_a_dialog_over_a_small_screen_keeps_working(tmp_path):
    """Modal screens get no notice of their own (the screen below keeps its): help opens and closes."""
    from loratui.tui.screens.help import HelpScreen

    app = _app(tmp_path)

    async def scenario():
        async with app.run_test(size=(60, 20)) as pilot:
            await _until(pilot, lambda: _notice(app) is not None)
            await pilot.press("question_mark")
            await _until(pilot, lambda: isinstance(app.screen, HelpScreen))
            assert not app.screen.query(SizeNotice)
            await pilot.resize_terminal(50, 16)
            await pilot.pause()
            await pilot.press("escape")
            await _until(pilot, lambda: not isinstance(app.screen, HelpScreen))
            await _until(pilot, lambda: "50x16" in _top_row(app))

    asyncio.run(scenario())
