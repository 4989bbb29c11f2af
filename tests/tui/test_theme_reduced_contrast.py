"""Every shipped theme stays legible where the terminal shows 256 or only the 16 standard colours
(TERM=screen, linux, vt100): Rich reduces each colour to the nearest there (Color.downgrade), and the
default theme's placeholders, the current image's row and the footer keys became grey on grey.
The key pairs of text and background are checked reduced (WCAG contrast >= 3), and so is every cell
the Dataset screen draws in edit mode; the high-contrast theme's tag list without focus (white on
white: Textual's OptionList draws that row in $foreground) too.

Rich picks the nearest of the 16 colours by the VGA palette, but the terminal shows that colour number
in its own palette: xterm's (VTE, Windows Terminal and the Linux console are alike where it matters:
colour 3 is yellow there, not VGA's brown). So the 16-colour checks run with both palettes, and with
xterm's "bold is bright" too (bold colour 3 shows as 11, bright yellow): the light theme's headings were
yellow on white there, the high-contrast theme's current tag yellow on yellow."""

from __future__ import annotations

from typing import NamedTuple

import pytest
from rich._palettes import EIGHT_BIT_PALETTE, STANDARD_PALETTE
from rich.color import Color as RichColor
from rich.color import ColorSystem, ColorType
from rich.style import Style
from textual.color import Color

from fixtures.tui_dataset import make_dataset, run_dataset_app
from loratui.tui.services.table_colours import TERMINALS, VGA, XTERM, Terminal  # noqa: F401
from loratui.tui.services.themes import load_themes, loratui_variable_defaults

THEMES = ("loratui-dark", "loratui-light", "loratui-high-contrast")
SYSTEMS = TERMINALS  # the terminals the table colours are chosen for (tui.services.table_colours)
MINIMUM = 3.0
# (text, background, what): the variables resolved as Textual resolves them for the widgets named
PAIRS = [
    ("foreground", "background", "text"),
    ("foreground", "surface", "text in an input, a table"),
    ("foreground", "panel", "the header's title"),
    ("text-muted", "background", "hints"),
    ("text-muted", "surface", "muted cells"),
    ("text-disabled", "surface", "an input's placeholder"),
    ("text-disabled", "background", "a focused input's placeholder"),
    ("foreground-muted", "panel", "the header's sub-title (— demo)"),
    ("block-cursor-foreground", "block-cursor-background", "the focused cursor row"),
    ("block-cursor-blurred-foreground", "block-cursor-blurred-background", "a cursor row without focus"),
    ("foreground", "block-cursor-blurred-background", "an option list's row without focus"),
    ("footer-key-foreground", "footer-background", "footer keys"),
    ("footer-description-foreground", "footer-background", "footer words"),
    ("error", "background", "an error line"),
    ("accent", "background", "section headings (Settings, Caption, help, previews; bold)"),
    ("accent", "surface", "a heading on a dialog"),
    ("loss-smoothed", "background", "the loss chart's EMA (bold)"),
    ("text-warning", "background", "a warning line (help, dialogs, the dataset summary)"),
    ("text-warning", "surface", "a warning line on a dialog"),
]
BOLD = {"accent", "loss-smoothed"}


def rgb(color: RichColor | None, terminal: Terminal, default: tuple[int, int, int],
        bold: bool = False) -> tuple[int, int, int]:
    """The colour ``terminal`` shows for ``color`` (None: the terminal's default); ``bold``: bold text."""
    if color is None or color.is_default:
        return default
    reduced = color.downgrade(terminal.system)
    if reduced.type in (ColorType.STANDARD, ColorType.EIGHT_BIT) and reduced.number < 16:
        number = reduced.number
        if bold and terminal.bold_is_bright and number < 8:
            number += 8
        return terminal.palette[number]
    if reduced.type == ColorType.EIGHT_BIT:
        return tuple(EIGHT_BIT_PALETTE[reduced.number])
    return tuple(reduced.get_truecolor())


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    def luminance(rgb_):
        def channel(v):
            v /= 255
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
        r, g, b_ = map(channel, rgb_)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b_
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _variables(name: str) -> dict[str, str]:
    theme = load_themes(user_dir=None).get(name)
    assert theme is not None
    return {**loratui_variable_defaults(theme), **theme.to_color_system().generate(), **theme.variables}


def _resolve(variables: dict[str, str], name: str, over: Color) -> Color:
    """A variable as an opaque colour over ``over`` ("auto 87%": the contrasting text, as Textual)."""
    value = variables[name]
    if value.startswith("auto"):
        alpha = float(value.split()[1].rstrip("%")) / 100 if len(value.split()) > 1 else 1.0
        return over + over.get_contrast_text(alpha)
    return over + Color.parse(value)


@pytest.mark.parametrize("theme", THEMES)
def test_key_pairs_stay_legible_reduced(theme):
    variables = _variables(theme)
    background = Color.parse(variables["background"])
    reverse = "reverse" in variables.get("block-cursor-blurred-text-style", "")
    failures = []
    for text_name, back_name, what in PAIRS:
        back = _resolve(variables, back_name, background)
        text = _resolve(variables, text_name, back)
        if reverse and back_name == "block-cursor-blurred-background":
            text, back = back, text
        for terminal in SYSTEMS:
            ratio = contrast(rgb(text.rich_color, terminal, (170, 170, 170), bold=text_name in BOLD),
                             rgb(back.rich_color, terminal, (0, 0, 0)))
            if ratio < MINIMUM:
                failures.append(f"{what}: {text_name} {text.hex} on {back_name} {back.hex}, {terminal.name}: "
                                f"{ratio:.2f}")
    assert not failures, "\n".join(failures)


def _low_contrast_cells(app, terminal: Terminal, decoration: str = "") -> list[str]:
    """Cells of text below MINIMUM; ``decoration``: more characters that are no text (grid lines)."""
    found = []
    for y, strip in enumerate(app.screen._compositor.render_strips()):
        for segment in strip:
            style: Style | None = segment.style
            text = segment.text.strip(" ▀▄█▁▂▃▅▆▇▔▏▎▍▌▐" + decoration)
            if style is None or not text:
                continue
            fore = rgb(style.color, terminal, (170, 170, 170), bold=bool(style.bold))
            back = rgb(style.bgcolor, terminal, (0, 0, 0))
            if style.reverse:
                fore, back = back, fore
            ratio = contrast(fore, back)
            if ratio < MINIMUM:
                found.append(f"line {y} {text[:30]!r}: {ratio:.2f}")
    return found


@pytest.mark.parametrize("theme", THEMES)
def test_dataset_screen_in_edit_mode_stays_legible_reduced(tmp_path, theme):
    """The table without focus (its cursor row: the image being edited), the tag list, the filter's
    and the add box's placeholders, the header and the footer, as drawn."""
    make_dataset(tmp_path)
    failures = {}

    async def scenario(app, pilot):
        app.theme = theme
        await pilot.pause()
        for keys, label in ((("e",), "editing"), (("escape", "slash"), "filtering")):
            for key in keys:
                await pilot.press(key)
                await pilot.pause(0.2)
            for terminal in SYSTEMS:
                cells = _low_contrast_cells(app, terminal)
                if cells:
                    failures[f"{label} {terminal.name}"] = cells

    run_dataset_app(tmp_path, tmp_path / "img", scenario)
    assert not failures, failures


def _row_looks(app, dropdown) -> list[tuple]:
    """Each completion row's colours: (text, background) of its first cell of text, after reverse (bold alone
    hardly shows on a Linux console, so the highlighted row must differ in colour)."""
    strips = app.screen._compositor.render_strips()
    region, looks = dropdown.region, []
    for y in range(region.y, region.y + region.height):
        x, look = 0, None
        for segment in strips[y]:
            if look is None and x + len(segment.text) > region.x and segment.text.strip() and segment.style:
                style = segment.style
                fore, back = style.color, style.bgcolor
                look = (back, fore) if style.reverse else (fore, back)
            x += len(segment.text)
        looks.append(look)
    return looks


@pytest.mark.parametrize("theme", THEMES)
def test_the_completion_row_tab_takes_is_marked_in_every_theme(tmp_path, theme):
    """The reviewer's repro (high contrast): the first completion row, the one Tab takes, was white on black
    like every other row; Textual's OptionList drops the theme's "bold reverse". Before and after moving into
    the list, the highlighted row looks unlike every other row, and stays legible reduced."""
    make_dataset(tmp_path)
    found = {}

    async def scenario(app, pilot):
        app.theme = theme
        await pilot.pause()
        for key in ("e", "a", "s"):
            await pilot.press(key)
            await pilot.pause(0.2)
        dropdown = next(w for w in app.screen.query("*") if type(w).__name__ == "TagDropdown")
        found["untouched"] = (dropdown.highlighted, _row_looks(app, dropdown))
        await pilot.press("down")
        await pilot.pause(0.2)
        found["moved"] = (dropdown.highlighted, _row_looks(app, dropdown))
        found["reduced"] = [f"{terminal.name}: {cell}" for terminal in SYSTEMS if terminal.palette is VGA
                            for cell in _low_contrast_cells(app, terminal)]

    run_dataset_app(tmp_path, tmp_path / "img", scenario)
    for state in ("untouched", "moved"):
        highlighted, looks = found[state]
        assert len(looks) >= 3 and highlighted == (0 if state == "untouched" else 1)
        others = [look for i, look in enumerate(looks) if i != highlighted]
        assert looks[highlighted] not in others, (state, looks)
    assert not found["reduced"], found["reduced"]


@pytest.mark.parametrize("theme", THEMES)
def test_the_completion_list_stays_legible_in_xterms_16_colours(tmp_path, theme):
    """The completion list as the test above opens it, read with xterm's palette (and bold bright)."""
    make_dataset(tmp_path)
    found = []

    async def scenario(app, pilot):
        app.theme = theme
        await pilot.pause()
        for key in ("e", "a", "s", "down"):  # down: a row with "· 1 imgs" highlighted
            await pilot.press(key)
            await pilot.pause(0.2)
        found.extend(f"{terminal.name}: {cell}" for terminal in SYSTEMS if terminal.palette is XTERM
                     for cell in _low_contrast_cells(app, terminal))

    run_dataset_app(tmp_path, tmp_path / "img", scenario)
    assert not found, found


@pytest.mark.parametrize("theme", THEMES)
def test_the_loss_chart_stays_legible_reduced(tmp_path, theme):
    """The h3 hunt: on the light theme in xterm's 16 colours the raw loss was light grey on white (1.26)
    and the EMA yellow on white (1.7). The chart as the app draws it (its theme variables applied)."""
    from textual.screen import Screen

    from loratui.core.runs import LossSeries
    from loratui.tui.widgets.loss_chart import LossChart

    make_dataset(tmp_path)
    series = LossSeries()
    series.add_many(list(range(1, 201)), [0.2 + 0.1 * ((i * 7919) % 13) / 13 for i in range(1, 201)], [1e-4] * 200)
    failures = {}

    class ChartScreen(Screen):
        def compose(self):
            yield LossChart()

    async def scenario(app, pilot):
        app.theme = theme
        await app.push_screen(ChartScreen())
        app.screen.query_one(LossChart).set_series(series.view(), [(100, 1)], scope="200 steps")
        await pilot.pause(0.7)
        for terminal in SYSTEMS:
            cells = _low_contrast_cells(app, terminal, decoration="┊")  # epoch grid lines, faint on purpose
            if cells:
                failures[terminal.name] = cells

    run_dataset_app(tmp_path, tmp_path / "img", scenario)
    assert not failures, failures


# ---- the image table's cursor and selected rows (the h4 hunt: bright white on light grey in 16 colours,
# 1.9:1 in 256, the dim columns invisible; `$secondary 30%` drawn at full strength in truecolor) ----------

TEXT_MINIMUM = 4.5
ALL_THEMES = THEMES + tuple(name for name, theme in __import__("textual.theme", fromlist=["BUILTIN_THEMES"])
                            .BUILTIN_THEMES.items() if not theme.ansi)


def _theme_variables(name: str) -> dict[str, str]:
    from textual.theme import BUILTIN_THEMES

    theme = load_themes(user_dir=None).get(name) or BUILTIN_THEMES[name]
    return {**loratui_variable_defaults(theme), **theme.to_color_system().generate(), **theme.variables}


def _worst(text: Color, back: Color, style: str = "") -> tuple[float, str]:
    bold, reverse = "bold" in style.split(), "reverse" in style.split()
    worst = (99.0, "")
    for terminal in SYSTEMS:
        fore, ground = rgb(text.rich_color, terminal, (170, 170, 170), bold=bold), rgb(back.rich_color, terminal, (0, 0, 0))
        if reverse:
            fore, ground = ground, fore
        worst = min(worst, (contrast(fore, ground), terminal.name))
    return worst


@pytest.mark.parametrize("theme", ALL_THEMES)
def test_table_cursor_and_selected_rows_read_well_in_every_theme(theme):
    """Text on the cursor rows (with and without focus) and on a selected row 4.5:1 or more, the selected
    row's dim and problem cells 3:1, in truecolor, 256 and 16 colours (both palettes, bold bright); a
    selected row looks unlike an unselected one there too."""
    variables = _theme_variables(theme)
    background = Color.parse(variables["background"])
    surface = _resolve(variables, "surface", background)
    failures = []
    for prefix in ("table-cursor", "table-cursor-blurred", "table-selected"):
        back = _resolve(variables, f"{prefix}-background", surface)
        text = _resolve(variables, f"{prefix}-foreground", back)
        style = variables[f"{prefix}-text-style"]
        ratio, where = _worst(text, back, style)
        if ratio < TEXT_MINIMUM:
            failures.append(f"{prefix}: {text.hex} on {back.hex} ({style}), {where}: {ratio:.2f}")
    selected = _resolve(variables, "table-selected-background", surface)
    selected_text = _resolve(variables, "table-selected-foreground", selected)
    for name, style in (("table-selected-muted", ""), ("table-selected-problem", variables["table-selected-text-style"])):
        ratio, where = _worst(_resolve(variables, name, selected), selected, style)
        if ratio < MINIMUM:
            failures.append(f"{name} on {selected.hex}, {where}: {ratio:.2f}")
    plain = _resolve(variables, "foreground", surface)
    for terminal in SYSTEMS:
        look = lambda fore, back: (rgb(fore.rich_color, terminal, (170, 170, 170)), rgb(back.rich_color, terminal, (0, 0, 0)))  # noqa: E731
        if look(selected_text, selected) == look(plain, surface):
            failures.append(f"a selected row looks like any other in {terminal.name}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("theme", THEMES)
def test_the_drawn_selected_and_cursor_rows_stay_legible(tmp_path, theme):
    """The Dataset table as drawn: a selected row (space, then down) and the cursor row, with and without
    focus. Every cell of text on them 3:1 or more, the row's own text (its colour) 4.5:1."""
    make_dataset(tmp_path)
    failures = {}

    def rows_cells(app):
        table = app.screen.table
        region = table.content_region
        strips = app.screen._compositor.render_strips()
        found = []
        for y in range(region.y + 1, region.y + region.height):
            x, line = 0, []
            for segment in strips[y]:
                if region.x <= x < region.right and segment.style is not None:
                    line.append(segment)
                x += len(segment.text)
            gutter = "".join(s.text for s in line)[:3]
            if "▶" in gutter or "●" in gutter:
                found.append((gutter, line))
        return found

    async def scenario(app, pilot):
        app.theme = theme
        await pilot.pause()
        await pilot.press("space", "down")
        await pilot.pause(0.2)
        for label, keys in (("focused", ()), ("blurred", ("e",))):
            for key in keys:
                await pilot.press(key)
                await pilot.pause(0.2)
            rows = rows_cells(app)
            assert {"▶" in g for g, _ in rows} == {True, False}, rows  # the cursor row and the selected row
            for terminal in SYSTEMS:
                for gutter, line in rows:
                    row_colour = line[0].style.color  # the gutter's: the row's own text colour
                    for segment in line:
                        text = segment.text.strip(" ▏▎▍▌▐")
                        if not text:
                            continue
                        style = segment.style
                        fore = rgb(style.color, terminal, (170, 170, 170), bold=bool(style.bold))
                        back = rgb(style.bgcolor, terminal, (0, 0, 0))
                        if style.reverse:
                            fore, back = back, fore
                        need = TEXT_MINIMUM if style.color == row_colour else MINIMUM
                        ratio = contrast(fore, back)
                        if ratio < need:
                            failures.setdefault(f"{label} {terminal.name}", []).append(
                                f"{gutter!r} {text[:20]!r}: {ratio:.2f} < {need}")

    run_dataset_app(tmp_path, tmp_path / "img", scenario)
    assert not failures, failures


def test_a_selected_rows_translucent_background_is_blended_not_drawn_solid():
    """ImageTable's own CSS asks for `$secondary 30%` (in an app without loratui's variables): Textual's
    partial component style dropped the 30%, so the row was the full secondary colour."""
    import asyncio

    from textual.app import App

    from loratui.tui.widgets.image_table import ImageTable
    from loratui.tui.widgets.table_text import Column

    class Bare(App):
        def compose(self):
            yield ImageTable([Column("name", "Name", None, str)], row_key=str, rows=["a", "b", "c"])

    app = Bare()

    async def main():
        async with app.run_test(size=(40, 8)) as pilot:
            table = app.query_one(ImageTable)
            table.select_keys(["b"])
            await pilot.pause()
            style = table._part_style("image-table--selected")
            variables = app.theme_variables
            surface = Color.parse(variables["background"]) + Color.parse(variables["surface"])
            expected = surface + Color.parse(variables["secondary"]).with_alpha(0.3)
            assert Color.from_rich_color(style.bgcolor).hex == expected.hex
            assert Color.from_rich_color(style.bgcolor).hex != Color.parse(variables["secondary"]).hex

    asyncio.run(main())
