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
from loratui.tui.services.themes import load_themes, loratui_variable_defaults

THEMES = ("loratui-dark", "loratui-light", "loratui-high-contrast")
VGA = tuple(tuple(STANDARD_PALETTE[n]) for n in range(16))
XTERM = ((0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205),
         (229, 229, 229), (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255),
         (255, 0, 255), (0, 255, 255), (255, 255, 255))


class Terminal(NamedTuple):
    """How a terminal shows a colour: its colour system, its first 16 colours, and whether bold text in
    one of the first 8 shows in the bright one (xterm's default boldColors, the Linux console)."""

    name: str
    system: ColorSystem
    palette: tuple = VGA
    bold_is_bright: bool = False


SYSTEMS = (
    Terminal("truecolor", ColorSystem.TRUECOLOR),
    Terminal("256 colours", ColorSystem.EIGHT_BIT),
    Terminal("256 colours, xterm", ColorSystem.EIGHT_BIT, XTERM),
    Terminal("16 colours, VGA", ColorSystem.STANDARD),
    Terminal("16 colours, xterm", ColorSystem.STANDARD, XTERM),
    Terminal("16 colours, xterm, bold bright", ColorSystem.STANDARD, XTERM, True),
)
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
