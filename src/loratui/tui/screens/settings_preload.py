"""Settings' first visit as quick as the later ones: what it did once per app is done ahead, while the user
reads the first screen.

The first `3` took ~1.3 s at 80x24 on the demo project (a later one ~0.2 s). Most of it was not loratui's
work but Textual's and Python's, done once per app: importing the screen's modules (the step calculator
and core's plan: ~0.2 s), and the screen's CSS. Every widget class that is new to the app adds its
DEFAULT_CSS to the app's stylesheet, and the next style lookup parses every source again; Settings brings
ten (its .tcss, its own CSS, the form's, the fields', the panels', Select's), one after another, each
followed by a full parse, and a new CSS file also re-parses and restyles the whole app.

``preload_settings_later(app)`` (called once from the app's mount) waits ``PRELOAD_AFTER_S`` (the first
screen has drawn: its rows count more), imports the modules in a thread, then adds the same CSS sources
to the stylesheet on the UI thread and parses it once (~20-40 ms). Textual finds every source already
there on the first visit and parses nothing. Nothing is built and nothing is shown: the screen, its
workers and its draft check start only when the user opens it, as before. A failure changes nothing
(the first visit does the work then, as it did).
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

PRELOAD_AFTER_S = 1.0


def import_settings_modules() -> None:
    """Import what opening Settings imports (run in a thread)."""
    from loratui.tui.screens.settings import panel_classes

    panel_classes()  # imported here too when the screen composes; in the same order, so no lock waits on another


def settings_node_classes() -> list[type]:
    """The classes whose DEFAULT_CSS Settings' widgets bring, in the order its compose mounts them. For the
    widgets that compose parts of their own (loratui's, and Textual's Select and Footer), every DOMNode
    class their module defines comes too, after them: Select's SelectCurrent and SelectOverlay, a panel's
    inner widgets."""
    from textual.containers import Horizontal, VerticalScroll
    from textual.dom import DOMNode
    from textual.widgets import Footer, Header, Input, Label, Select, Static

    from loratui.tui.screens.settings import panel_classes
    from loratui.tui.widgets.config_field import ConfigField
    from loratui.tui.widgets.config_form import ConfigForm
    from loratui.tui.widgets.lycoris_fields import LycorisField
    from loratui.tui.widgets.section_line import SectionLine

    # Header's parts are left out: every screen has a Header, so the first screen brought what it mounts, and
    # its HeaderClock (no clock shown) is never mounted: a head start adding it would add what no visit does
    composites = [SectionLine, ConfigForm, ConfigField, LycorisField, *panel_classes(), Select, Footer]
    classes: list[type] = []
    for cls in [Header, SectionLine, Horizontal, Static, ConfigForm, ConfigField, LycorisField, VerticalScroll,
                *panel_classes(), Input, Label, Select, Footer]:
        parts = [value for value in vars(sys.modules[cls.__module__]).values()
                 if isinstance(value, type) and issubclass(value, DOMNode) and value.__module__ == cls.__module__
                 ] if cls in composites else []
        classes.extend(c for c in [cls, *parts] if c not in classes)
    return classes


def add_settings_css(app) -> int:
    """Add to the app's stylesheet the CSS sources Settings' first visit would add (its DEFAULT_CSS, its
    CSS_PATH file, its widgets' DEFAULT_CSS), and parse them once. Returns how many were new (0: nothing to
    do; the screen was opened already, or this ran before)."""
    from loratui.tui.screens.settings import SettingsScreen

    stylesheet = app.stylesheet
    before = dict(stylesheet.source)
    try:
        # the screen's own DEFAULT_CSS and its CSS_PATH file, as Textual adds them when it registers the
        # screen and loads its CSS (the path resolved as Textual's _make_path_object_relative does)
        add_default_css(stylesheet, SettingsScreen)
        paths = [SettingsScreen.CSS_PATH] if isinstance(SettingsScreen.CSS_PATH, (str, Path)) else SettingsScreen.CSS_PATH
        for css_path in paths or []:
            path = (Path(inspect.getfile(SettingsScreen)).parent / css_path).resolve()
            if not stylesheet.has_source(str(path), ""):
                stylesheet.read(path)
        for cls in settings_node_classes():
            add_default_css(stylesheet, cls)
        added = len(stylesheet.source) - len(before)
        if added:
            # the new rules name Settings' own widgets, ids and classes: no node shown now matches them,
            # so nothing on screen is restyled (the first visit styles its widgets as they mount)
            stylesheet.parse()
        return added
    except Exception:  # noqa: BLE001 - only a head start: the first visit adds them itself, as before
        stylesheet.source = before
        return 0


def add_default_css(stylesheet, cls: type) -> None:
    """``cls``'s DEFAULT_CSS (and its CSS bases'), keyed as Textual keys it when a widget of ``cls``
    registers (Widget._post_register): an instance's ``_get_default_css`` reads only the class, so a bare
    one (no __init__) does."""
    for read_from, css, tie_breaker, scope in cls.__new__(cls)._get_default_css():
        stylesheet.add_source(css, read_from=read_from, is_default_css=True, tie_breaker=tie_breaker, scope=scope)


def preload_settings_later(app) -> None:
    """After ``PRELOAD_AFTER_S``: Settings' modules imported in a thread, then its CSS parsed on the UI thread;
    skipped when Settings was opened meanwhile."""

    def start() -> None:
        if app.settings_screen() is not None or not app.is_running:
            return
        from loratui.tui.services.work import run_in_thread

        run_in_thread(app, import_settings_modules, done=lambda _: add_settings_css(app),
                      what="preparing the Settings screen", group="settings-preload", failed=lambda exc: None)

    app.set_timer(PRELOAD_AFTER_S, start)
