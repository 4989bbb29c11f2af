"""Every shipped theme stays legible where the terminal shows 256 or only the 16 standard colours
(TERM=screen, linux, vt100): Rich reduces each colour to the nearest there (Color.downgrade), and the
default theme's placeholders, the current image's row and the footer keys became grey on grey.
The key pairs of text and background are checked reduced (WCAG contrast >= 3), and so is every cell
the Dataset screen draws in edit mode; the high-contrast theme's tag list without focus (white on
white: Textual's OptionList draws that row in $foreground) too."""

from __future__ import annotations

import pytest
from rich._palettes import EIGHT_BIT_PALETTE, STANDARD_PALETTE
from rich.color import Color as RichColor
from rich.color import ColorSystem, ColorType
from rich.style import Style
from textual.color import Color

from fixtures.tui_dataset import make_dataset, run_dataset_app
from loratui.tui.services.themes import load_themes

THEMES = ("loratui-dark", "loratui-light", "loratui-high-contrast")
SYSTEMS = (ColorSystem.TRUECOLOR, ColorSystem.EIGHT_BIT, ColorSystem.STANDARD)
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
]


def rgb(color: RichColor | None, system: ColorSystem, default: tuple[int, int, int]) -> tuple[int, int, int]:
    """The colour a terminal of ``system`` shows for ``color`` (None: the terminal's default)."""
    if color is None or color.is_default:
        return default
    reduced = color.downgrade(system)
    if reduced.type == ColorType.STANDARD:
        return tuple(STANDARD_PALETTE[reduced.number])
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
    return theme.to_color_system().generate()


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
        for system in SYSTEMS:
            ratio = contrast(rgb(text.rich_color, system, (170, 170, 170)), rgb(back.rich_color, system, (0, 0, 0)))
            if ratio < MINIMUM:
                failures.append(f"{what}: {text_name} {text.hex} on {back_name} {back.hex}, {system.name}: {ratio:.2f}")
    assert not failures, "\n".join(failures)


def _low_contrast_cells(app, system: ColorSystem) -> list[str]:
    found = []
    for y, strip in enumerate(app.screen._compositor.render_strips()):
        for segment in strip:
            style: Style | None = segment.style
            text = segment.text.strip(" ▀▄█▁▂▃▅▆▇▔▏▎▍▌▐")
            if style is None or not text:
                continue
            fore, back = rgb(style.color, system, (170, 170, 170)), rgb(style.bgcolor, system, (0, 0, 0))
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
            for system in SYSTEMS:
                cells = _low_contrast_cells(app, system)
                if cells:
                    failures[f"{label} {system.name}"] = cells

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
        found["reduced"] = [cell for system in SYSTEMS for cell in _low_contrast_cells(app, system)]

    run_dataset_app(tmp_path, tmp_path / "img", scenario)
    for state in ("untouched", "moved"):
        highlighted, looks = found[state]
        assert len(looks) >= 3 and highlighted == (0 if state == "untouched" else 1)
        others = [look for i, look in enumerate(looks) if i != highlighted]
        assert looks[highlighted] not in others, (state, looks)
    assert not found["reduced"], found["reduced"]
