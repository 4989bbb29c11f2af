"""A screen whose focused widget is never out of sight: the base of Settings, Caption and Dataset.

Two things kept typing from going into a field nobody could see (hunt h4):

- After a resize (a tmux pane going from 200x60 to 80x24) the focused field stayed where it was in its
  scrolled form, now below the form's end: keys still edited it. ``on_resize`` (and coming back to the
  screen, which may have been resized meanwhile) scrolls the focused widget back into view once the new
  layout is in.
- Below the width a screen's two columns need side by side (``FOCUS_COLUMNS``: a main column with a
  ``min-width`` beside a side column of fixed ``width``), the side column was cut off at the right edge,
  and keys that focus a box in it (Settings' v and s, Dataset's a, e, t, i) put the focus where nothing
  showed. There the column holding the focus gets the whole width and the other is hidden
  (``-narrow-main`` / ``-narrow-side`` on the screen) until the focus goes back: the box a key focuses
  is always the one on screen.
"""

from __future__ import annotations

from typing import ClassVar

from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input

from loratui.tui.widgets.size_notice import MIN_HEIGHT, MIN_WIDTH

MIN_SIZE = (MIN_WIDTH, MIN_HEIGHT)  # the size every screen is laid out for (the size notice's)


def shows(screen: Screen, widget: Widget) -> bool:
    """Whether ``widget`` is on screen, enough to read what is typed in it: a box of up to 3 lines (an
    Input with its border) whole, a bigger one (a list, a panel) by at least 3 lines, and 4 columns."""
    from textual.errors import NoWidget

    try:
        geometry = screen.find_widget(widget)
    except NoWidget:
        return False
    region, seen = geometry.region, geometry.visible_region
    if not seen.area:
        return False
    return seen.height >= min(region.height, 3) and seen.width >= min(region.width, 4)


class FocusInView(Screen):
    """The focused widget stays on screen after a resize; a narrow screen shows the focused column."""

    # (main column, side column) as selectors; None: one column, nothing to hide
    FOCUS_COLUMNS: ClassVar[tuple[str, str] | None] = None

    DEFAULT_CSS = """
    FocusInView.-narrow-main .-focus-column-side { display: none; }
    FocusInView.-narrow-side .-focus-column-main { display: none; }
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._shown_focus: Widget | None = None  # the last focused widget that showed: the focus goes back there
        self._value_at_focus: tuple[Input, str] | None = None

    def on_mount(self) -> None:
        columns = self.focus_columns()
        if columns is not None:
            columns[0].add_class("-focus-column-main")
            columns[1].add_class("-focus-column-side")
            self.show_focused_column()

    def on_resize(self) -> None:
        self.show_focused_column()
        self.call_after_refresh(self.focused_into_view)

    def on_screen_resume(self) -> None:
        self.show_focused_column()
        self.call_after_refresh(self.focused_into_view)

    def set_focus(self, widget: Widget | None, scroll_visible: bool = True, from_app_focus: bool = False) -> None:
        # what a text box held when it took the focus, read here (not in the focus message, which may come
        # after the keys): keys typed into it before ``check_focus_shown`` finds it cannot show (a busy app,
        # a fast typist) are taken back out
        if isinstance(widget, Input) and widget is not self.focused:
            self._value_at_focus = (widget, widget.value)
        super().set_focus(widget, scroll_visible, from_app_focus)

    def on_descendant_focus(self) -> None:
        self.show_focused_column()
        # once the column shown is laid out: Textual scrolled to the widget when it took the focus, in
        # the layout from before
        self.call_after_refresh(self.focused_into_view)

    def on_descendant_blur(self) -> None:
        self.call_later(self.show_focused_column)  # the focus may be moving on: read it once it has

    # ---- columns ----------------------------------------------------------------------------------

    def focus_columns(self) -> tuple[Widget, Widget] | None:
        if self.FOCUS_COLUMNS is None:
            return None
        try:
            return self.query_one(self.FOCUS_COLUMNS[0]), self.query_one(self.FOCUS_COLUMNS[1])
        except NoMatches:
            return None

    def columns_width(self) -> int | None:
        """The columns the two need side by side (the main one's min-width, the side one's width, as
        the stylesheet sets them now), or None when they do not say."""
        columns = self.focus_columns()
        if columns is None:
            return None
        main, side = columns
        least, width = main.styles.base.min_width, side.styles.base.width
        if least is None or width is None or least.cells is None or width.cells is None:
            return None
        return least.cells + width.cells

    def in_side_column(self) -> bool:
        columns = self.focus_columns()
        focused = self.focused
        return columns is not None and focused is not None and (focused is columns[1] or columns[1] in focused.ancestors)

    def show_focused_column(self) -> None:
        """Both columns where they fit; else the one holding the focus (the main one with none), at
        the whole width."""
        if not self.is_attached:
            return
        columns = self.focus_columns()
        needed = self.columns_width()
        narrow = columns is not None and needed is not None and self.size.width < needed
        side_only = narrow and self.in_side_column()
        self.set_class(narrow and not side_only, "-narrow-main")
        self.set_class(side_only, "-narrow-side")
        if columns is not None:
            side = columns[1]
            if side_only:
                side.styles.width = "1fr"
            elif side.styles.inline.has_rule("width"):
                side.styles.width = None  # the stylesheet's width again

    # ---- scrolling --------------------------------------------------------------------------------

    def focused_into_view(self) -> None:
        """Scroll the focused widget into view in every container around it (nothing moves when it shows);
        below 80x24, where even that cannot show it, give the focus back (``check_focus_shown``)."""
        focused = self.focused
        if focused is not None and focused.is_attached and focused.display:
            keep = getattr(focused.parent, "keep_focused_in_view", None)  # Settings' form: its own way
            if keep is not None:
                keep()
            else:
                focused.scroll_visible(animate=False, immediate=True)
            self.call_after_refresh(self.check_focus_shown, focused)

    def check_focus_shown(self, widget: Widget) -> None:
        """A widget that took the focus and still does not show after the scroll, in a terminal below
        80x24 (Dataset's tag editor under its preview at 42x15): one line says so, and the focus goes
        back to the last widget that showed, so what is typed next does not go where nobody sees it.
        At 80x24 and up every screen's layout shows its boxes; nothing is refused there."""
        if widget is not self.focused or not self.is_attached:
            return
        if shows(self, widget):
            self._shown_focus = widget
            return
        width, height = self.app.size
        if (width >= MIN_SIZE[0] and height >= MIN_SIZE[1]) or not self.is_current:
            return
        back = self._shown_focus
        if back is not None and (back is widget or not back.is_attached or not shows(self, back)):
            back = None
        if back is None:  # none known: the first widget on screen that can take the focus
            back = next((w for w in self.focus_chain if w is not widget and shows(self, w)), None)
        held = self._value_at_focus
        if isinstance(widget, Input) and held is not None and held[0] is widget and widget.value != held[1]:
            widget.value = held[1]
        self.set_focus(back)
        name = (widget.id or type(widget).__name__).replace("-", " ").replace("_", " ")
        self.notify(f"the {name} box does not fit in {width}x{height}: make the terminal larger ({MIN_SIZE[0]}x"
                    f"{MIN_SIZE[1]} shows every box); nothing typed goes into it", severity="warning")
