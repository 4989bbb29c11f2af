"""Settings' first visit does no more work than the later ones (it took ~1.3 s, a later one ~0.2 s).

The work Textual did once per app for it is done ahead (screens.settings_preload): its CSS is in the app's
stylesheet before the key, so the visit parses none; the screen itself is not built until it is opened.
The visits neither re-parse the stylesheet nor restyle the whole app (refresh_css), the first and the
second alike. The fields' part styles (value box, cursor, note) are the form's component classes, one
set for the form instead of three per field (config_field.PART_CLASSES), and follow the theme and the
focus as before. No timings here (project rule): bench/settings_first_visit.py times the visits.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from click.testing import CliRunner
from fixtures.pilot_wait import until
from fixtures.tui_dataset import make_dataset
from textual.app import App
from textual.css.stylesheet import Stylesheet

from loratui.cli import cli
from loratui.core.dataset import locate_dataset
from loratui.tui.app import LoratuiApp
from loratui.tui.screens import settings_preload
from loratui.tui.widgets.config_field import ConfigField


def make_app(tmp_path: Path) -> LoratuiApp:
    root = make_dataset(tmp_path / "proj")
    result = CliRunner().invoke(cli, ["config", "new", str(root / "config.toml")])
    assert result.exit_code == 0, result.output
    return LoratuiApp(locate_dataset(root / "img"), config_path=root / "config.toml",
                      settings_file=tmp_path / "tui.toml", keymap_file=tmp_path / "keymap.toml", watch=False)


def count_calls(monkeypatch, calls: list[str]) -> None:
    """Record every stylesheet parse and every app-wide CSS refresh from now on."""
    for owner, name in ((Stylesheet, "parse"), (Stylesheet, "reparse"), (App, "refresh_css")):
        original = getattr(owner, name)

        def counted(*args, _original=original, _name=name, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(owner, name, counted)


def on_settings(app) -> bool:
    return app.current_mode == "settings" and getattr(app.screen, "form", None) is not None and app.screen.is_mounted


def test_settings_css_is_ready_before_the_first_visit_which_parses_and_refreshes_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(settings_preload, "PRELOAD_AFTER_S", 0.05)
    app = make_app(tmp_path)
    calls: list[str] = []

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: any(name == "SettingsScreen.DEFAULT_CSS" for _, name in app.stylesheet.source),
                        "Settings' CSS added ahead")
            await pilot.pause(0.2)
            assert app.settings_screen() is None  # nothing built: the screen, its draft check come on opening
            ready = list(app.stylesheet.source)
            count_calls(monkeypatch, calls)
            await pilot.press("3")
            await until(pilot, lambda: on_settings(app), "Settings shown")
            await pilot.pause()
            assert list(app.stylesheet.source) == ready  # every source was there: the visit added none
            assert calls == [], f"the first visit re-parsed or refreshed the CSS: {calls}"
            await pilot.press("1")
            await pilot.pause()
            calls.clear()  # (going back to Dataset may refresh it: its own count, from the app's start)
            await pilot.press("3")
            await until(pilot, lambda: on_settings(app), "Settings shown again")
            await pilot.pause()
            assert calls == [], f"the second visit re-parsed or refreshed the CSS: {calls}"

    asyncio.run(main())


def test_settings_opened_before_the_head_start_shows_the_same_and_the_head_start_then_adds_nothing(
        tmp_path, monkeypatch):
    monkeypatch.setattr(settings_preload, "PRELOAD_AFTER_S", 0.5)
    app = make_app(tmp_path)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("3")  # before the head start: the visit adds its CSS itself, as it did
            await until(pilot, lambda: on_settings(app), "Settings shown")
            sources = list(app.stylesheet.source)
            assert settings_preload.add_settings_css(app) == 0  # all there already
            await pilot.pause(0.8)  # the timer came and went: Settings was open, nothing to do
            assert list(app.stylesheet.source) == sources
            assert "[model]" in app.screen.form.query_one("#section-model").render().plain

    asyncio.run(main())


def test_a_failed_head_start_leaves_the_stylesheet_as_it_was_and_settings_opens(tmp_path, monkeypatch):
    monkeypatch.setattr(settings_preload, "PRELOAD_AFTER_S", 1e9)
    app = make_app(tmp_path)

    def broken():
        raise RuntimeError("no classes")

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            before = dict(app.stylesheet.source)
            monkeypatch.setattr(settings_preload, "settings_node_classes", broken)
            assert settings_preload.add_settings_css(app) == 0
            assert app.stylesheet.source == before
            await pilot.press("3")
            await until(pilot, lambda: on_settings(app), "Settings shown")

    asyncio.run(main())


def test_field_parts_follow_the_focus_and_the_theme_from_the_forms_styles(tmp_path, monkeypatch):
    monkeypatch.setattr(settings_preload, "PRELOAD_AFTER_S", 1e9)
    app = make_app(tmp_path)

    def value_style(field: ConfigField):
        """The style of the value box as the field draws it (the span after the name)."""
        text = field.render()
        return next(span.style for span in text.spans if span.start >= field.label_width(field.size.width) - 2)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("3")
            await until(pilot, lambda: on_settings(app), "Settings shown")
            form = app.screen.form
            dim, alpha = form.field("network_dim"), form.field("network_alpha")
            assert not ConfigField._get_component_classes()  # the form's, not each field's (~300 nodes)
            dim.focus()
            await pilot.pause()
            assert value_style(dim) == form.get_component_rich_style("config-field--value-focus")
            assert value_style(alpha) == form.get_component_rich_style("config-field--value")
            assert value_style(dim).bgcolor != value_style(alpha).bgcolor  # the focused box stands out
            dark = value_style(alpha)
            app.theme = "textual-light"
            await pilot.pause()
            await pilot.pause()
            assert value_style(alpha) == form.get_component_rich_style("config-field--value") != dark

    asyncio.run(main())
