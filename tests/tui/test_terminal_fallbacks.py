"""Terminals that show less: NO_COLOR (Textual's Monochrome filter read a None style and crashed the
Train screen), the Linux console and non-UTF-8 locales (ASCII only: no braille chart, no ✓ or ▏ on
Caption, ``>`` for the Runs picker's cursor), and a LORATUI_GRAPHICS value that is not a mode."""

from __future__ import annotations

import asyncio

import pytest
from textual.app import App, ComposeResult
from textual.color import Color
from textual.filter import Monochrome

from fixtures.pilot_wait import until
from fixtures.tui_dataset import make_dataset
from loratui.core.runs import LossSeries
from loratui.tui.screens.run_picker import RunOptions, RunPicker
from loratui.tui.services import terminal_graphics as tg
from loratui.tui.widgets.loss_chart import LossChart, draw_chart

LOCALE = ("LANG", "LC_ALL", "LC_CTYPE", "TERM")


def _series() -> LossSeries:
    series = LossSeries()
    series.add_many(list(range(1, 201)), [0.3 / (1 + i / 40) for i in range(1, 201)], [1e-4] * 200)
    series.epochs.extend([(100, 1), (200, 2)])
    return series


class ChartHost(App):
    def compose(self) -> ComposeResult:
        yield LossChart()


def _draw_chart(size=(60, 16)) -> tuple[App, list]:
    """The chart drawn in a small app: (the app, its strips)."""
    app = ChartHost()
    strips = []

    async def main():
        async with app.run_test(size=size) as pilot:
            chart = app.query_one(LossChart)
            series = _series()
            chart.set_series(series.view(), series.epochs, scope="200 steps")
            await pilot.pause()
            await pilot.pause()
            strips.extend(chart.render_line(y) for y in range(size[1] + 2))  # past the end: blank lines

    asyncio.run(main())
    return app, strips


def test_no_color_chart_gives_every_segment_a_style(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")  # read (and removed) by App.__init__: the Monochrome filter is on
    app, strips = _draw_chart()
    assert any(isinstance(f, Monochrome) for f in app.get_line_filters())
    segments = [segment for strip in strips for segment in strip]
    assert segments and all(segment.style is not None for segment in segments)
    Monochrome().apply(segments, Color(0, 0, 0))  # what crashed: a segment with no style


@pytest.mark.parametrize("env, expected", [
    ({"TERM": "linux", "LANG": "en_US.UTF-8"}, True),
    ({"TERM": "xterm-256color", "LANG": "en_US.UTF-8"}, False),
    ({"TERM": "xterm", "LANG": "C", "LC_CTYPE": "C.UTF-8"}, True),  # LANG=C as Python's coercion leaves it
    ({"TERM": "xterm", "LC_ALL": "C", "LANG": "en_US.UTF-8"}, True),
    ({"TERM": "xterm", "LANG": "de_DE.ISO-8859-1"}, True),
    ({"TERM": "xterm", "LANG": "C.utf8"}, False),
    ({"TERM": "xterm", "LC_CTYPE": "C.UTF-8"}, False),  # nothing set (coerced): assume UTF-8
    ({"TERM": "xterm"}, False),
    ({"TERM": "xterm", "LC_ALL": "en_US.UTF-8", "LANG": "C"}, False),
])
def test_ascii_only_for_the_linux_console_and_non_utf8_locales(env, expected):
    assert tg.ascii_only(env) is expected


def test_ascii_chart_has_no_braille_or_box_drawing():
    series = _series()
    rows = draw_chart(series.view(), series.epochs, 60, 16, scope="200 steps", ascii=True)
    lines = ["".join(text for text, _ in row) for row in rows]
    assert all(line.isascii() for line in lines), [line for line in lines if not line.isascii()]
    assert lines[0].startswith("*EMA bold .raw faint |epoch")
    plot = "".join(lines[1:-3])
    assert "*" in plot and "|" in plot  # the EMA, the epoch boundary
    assert lines[-3].lstrip().startswith("+") and "-" in lines[-3]
    assert lines[-1].strip().startswith("lr |")


def test_chart_widget_draws_ascii_on_the_linux_console(monkeypatch):
    for name in LOCALE:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "linux")
    _app, strips = _draw_chart()
    text = "\n".join(strip.text for strip in strips)
    assert text.strip() and text.isascii()
    assert "*EMA bold" in text


def test_graphics_variable_that_is_not_a_mode_is_named_once():
    assert tg.forced_value_problem({"LORATUI_GRAPHICS": "kitty"}) is None
    assert tg.forced_value_problem({"LORATUI_GRAPHICS": " Auto "}) is None
    assert tg.forced_value_problem({}) is None
    line = tg.forced_value_problem({"LORATUI_GRAPHICS": "bogus"})
    assert line is not None and "\n" not in line
    assert "'bogus'" in line and all(mode in line for mode in ("kitty", "sixel", "halfblock", "auto"))
    assert tg.detect({"LORATUI_GRAPHICS": "bogus", "TERM": "xterm-kitty"}, tty=True).protocol == "kitty"


def test_launch_passes_the_graphics_warning_to_the_app(tmp_path, monkeypatch):
    from loratui.tui import launch
    from loratui.tui.app import LoratuiApp

    root = make_dataset(tmp_path / "proj")
    seen = {}

    class Tty:
        def isatty(self):
            return True

    monkeypatch.setenv("LORATUI_GRAPHICS", "bogus")
    monkeypatch.setattr(launch.sys, "stdin", Tty())
    monkeypatch.setattr(launch.sys, "stdout", Tty())
    monkeypatch.setattr(launch, "run_reporting_crash", lambda app: seen.setdefault("notes", app.startup_notes))
    monkeypatch.setattr(LoratuiApp, "__init__", lambda self, *a, **k: setattr(self, "exit_signal", None))
    launch.run_app(root)
    assert any("LORATUI_GRAPHICS='bogus'" in note for note in seen["notes"])


def test_caption_screen_on_the_linux_console_has_no_check_mark_or_half_bars(tmp_path, monkeypatch):
    from loratui.core.dataset import locate_dataset
    from loratui.tui.app import LoratuiApp

    monkeypatch.setenv("TERM", "linux")
    root = make_dataset(tmp_path / "proj")
    app = LoratuiApp(locate_dataset(root), settings_file=tmp_path / "tui.toml", keymap_file=tmp_path / "k.toml",
                     themes_dir=tmp_path / "themes", watch=False)
    seen = {}

    async def main():
        async with app.run_test(size=(120, 30)) as pilot:
            await until(pilot, lambda: app.store.captions_loaded and app.store.scan is not None, "scan", timeout=20)
            await pilot.press("2")
            screen = await until(pilot, lambda: app.screen if app.screen.has_class("-ascii") else None, "caption")
            screen.model_ok, screen.model_problem = "model.onnx found", None
            screen._show_check()
            await pilot.pause()
            seen["check"] = str(screen.query_one("#model-check").render())
            panel = screen.query_one("#run-panel")
            seen["border"] = (panel.styles.border_top[0], panel.styles.border_left[0])
            seen["wide"] = screen.has_class("wide")

    asyncio.run(main())
    assert seen["check"] == "model.onnx found"  # no ✓ (the Linux console font lacks it)
    assert seen["wide"] and seen["border"][1] == "ascii"


def test_runs_picker_marks_the_highlighted_row(monkeypatch):
    for ascii_terminal, glyph in ((False, "▶"), (True, ">")):
        monkeypatch.setenv("TERM", "linux" if ascii_terminal else "xterm-256color")
        monkeypatch.setenv("LANG", "en_US.UTF-8")

        class Host(App):
            async def on_mount(self) -> None:
                await self.push_screen(RunPicker([], [], "config.toml"))

        lines = []

        async def main():
            app = Host()
            async with app.run_test(size=(80, 24)) as pilot:
                await pilot.pause()
                options = app.screen.query_one(RunOptions)
                lines.extend(options.render_line(y).text for y in range(2))

        asyncio.run(main())
        assert lines[0].startswith(f"{glyph} + start a new run"), lines
        assert not lines[1].strip().startswith(glyph)
