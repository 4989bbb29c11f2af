"""The image table's cursor and selected rows: colours legible wherever the terminal shows them.

A theme gives the table its cursor (Textual's block-cursor variables) and the selection used to be
``$secondary 30%``: in 16 colours that was bright white on light grey, in 256 about 1.9:1, and the
dim columns vanished. Rich reduces a colour to the nearest one the terminal has (``Color.downgrade``),
and the terminal shows that colour number in its own palette (VGA's or xterm's; xterm may draw bold
text in the first 8 colours bright). So the table takes its own variables, and a theme that does not
set them (Textual's built-ins, a user's older file) gets the first candidate that reads well in every
one of those terminals: text 4.5:1 or more, the dim and problem columns 3:1 or more, a selected row
unlike an unselected one and unlike the cursor row where the colours allow it.

The variables (any of them may be pinned in a theme's ``[variables]``; the rest are chosen around it):
``table-cursor-foreground/-background/-text-style`` (the focused table's cursor row),
``table-cursor-blurred-foreground/-background/-text-style`` (the cursor row without focus),
``table-selected-foreground/-background`` (a selected row) and ``table-selected-muted/-problem`` (its
dim and problem cells).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import NamedTuple

from rich._palettes import EIGHT_BIT_PALETTE, STANDARD_PALETTE
from rich.color import Color as RichColor
from rich.color import ColorSystem, ColorType
from textual.color import Color, ColorParseError

TEXT_MINIMUM = 4.5  # WCAG AA for text
DIM_MINIMUM = 3.0  # the dim and problem columns (as tests/tui/test_theme_reduced_contrast.py asks elsewhere)

VGA = tuple(tuple(STANDARD_PALETTE[n]) for n in range(16))
XTERM = ((0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205),
         (229, 229, 229), (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255),
         (255, 0, 255), (0, 255, 255), (255, 255, 255))


class Terminal(NamedTuple):
    """How a terminal shows a colour: its colour system, its first 16 colours, bold as bright."""

    name: str
    system: ColorSystem
    palette: tuple = VGA
    bold_is_bright: bool = False


TERMINALS = (
    Terminal("truecolor", ColorSystem.TRUECOLOR),
    Terminal("256 colours", ColorSystem.EIGHT_BIT),
    Terminal("256 colours, xterm", ColorSystem.EIGHT_BIT, XTERM),
    Terminal("16 colours, VGA", ColorSystem.STANDARD),
    Terminal("16 colours, xterm", ColorSystem.STANDARD, XTERM),
    Terminal("16 colours, xterm, bold bright", ColorSystem.STANDARD, XTERM, True),
)


def shown(color: Color, terminal: Terminal, bold: bool = False) -> tuple[int, int, int]:
    """The RGB ``terminal`` shows for ``color`` (an opaque colour; ``bold``: as text in bold)."""
    reduced = _reduced(color.hex6, terminal.system)
    if reduced.type in (ColorType.STANDARD, ColorType.EIGHT_BIT) and reduced.number is not None \
            and reduced.number < 16:
        number = reduced.number + (8 if bold and terminal.bold_is_bright and reduced.number < 8 else 0)
        return terminal.palette[number]
    if reduced.type == ColorType.EIGHT_BIT:
        return tuple(EIGHT_BIT_PALETTE[reduced.number])
    return tuple(reduced.get_truecolor())


@lru_cache(maxsize=4096)
def _reduced(hex6: str, system: ColorSystem) -> RichColor:
    return RichColor.parse(hex6).downgrade(system)


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """WCAG contrast ratio of two RGB colours (1 to 21)."""
    def luminance(rgb: tuple[int, int, int]) -> float:
        def channel(value: int) -> float:
            v = value / 255
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
        r, g, b_ = map(channel, rgb)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b_
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def worst_contrast(fore: Color, back: Color, style: str = "") -> float:
    """The lowest contrast of ``fore`` text on ``back`` over TERMINALS (``style``: "bold", "reverse"...)."""
    words = style.split()
    bold, reverse = "bold" in words, "reverse" in words
    ratios = []
    for terminal in TERMINALS:
        text, ground = shown(fore, terminal, bold), shown(back, terminal)
        if reverse:  # the terminal brightens the foreground colour, then swaps
            text, ground = ground, text
        ratios.append(contrast(text, ground))
    return min(ratios)


def looks_distinct(a: Color, b: Color) -> bool:
    """Whether two backgrounds look unlike each other in every terminal: another of its colours, and
    one far enough (not #23252e against #24283b)."""
    for terminal in TERMINALS:
        one, other = shown(a, terminal), shown(b, terminal)
        if sum(abs(x - y) for x, y in zip(one, other)) < 48:
            return False
    return True


# ---- choosing the table's colours ---------------------------------------------------------------

CURSOR = ("table-cursor-foreground", "table-cursor-background", "table-cursor-text-style")
BLURRED = ("table-cursor-blurred-foreground", "table-cursor-blurred-background", "table-cursor-blurred-text-style")
SELECTED = ("table-selected-foreground", "table-selected-background", "table-selected-text-style")
SELECTED_DIM = ("table-selected-muted", "table-selected-problem")
TABLE_VARIABLES = (*CURSOR, *BLURRED, *SELECTED, *SELECTED_DIM)

_WHITE, _BLACK = Color(255, 255, 255), Color(0, 0, 0)
_SHIFTS = (0.0, 0.08, 0.16, 0.24, 0.32, 0.4, 0.5, 0.6)
# Backgrounds that keep white text readable in 256 and both 16-colour palettes (magenta, blue, and a
# dark grey-blue): a theme's own colour is moved towards them when its shades do not read well.
_ANCHORS = (Color.parse("#7838a0"), Color.parse("#303090"), Color.parse("#1c2033"))


def table_colour_defaults(variables: dict[str, str], pinned: dict[str, str], ansi: bool = False) -> dict[str, str]:
    """The table variables ``pinned`` (a theme's ``[variables]``) leaves out, chosen for ``variables``
    (the theme's resolved Textual variables). Remembered: a theme is measured once (~0.1 s)."""
    return dict(_defaults(tuple(sorted(variables.items())), tuple(sorted(pinned.items())), ansi))


@lru_cache(maxsize=64)
def _defaults(variable_items: tuple, pinned_items: tuple, ansi: bool) -> tuple:
    variables, pinned = dict(variable_items), dict(pinned_items)
    if ansi:  # the terminal's own colours: nothing to measure; its colours in their plainest pairs
        chosen = {
            CURSOR[0]: variables.get("block-cursor-foreground", "ansi_default"),
            CURSOR[1]: variables.get("block-cursor-background", "ansi_magenta"),
            CURSOR[2]: variables.get("block-cursor-text-style", "bold"),
            BLURRED[0]: "ansi_default", BLURRED[1]: "ansi_default", BLURRED[2]: "reverse",
            SELECTED[0]: "ansi_bright_white", SELECTED[1]: "ansi_blue", SELECTED[2]: "bold",
            SELECTED_DIM[0]: "ansi_bright_white", SELECTED_DIM[1]: "ansi_bright_white",
        }
        return tuple((name, value) for name, value in chosen.items() if name not in pinned)
    background = _parse(variables.get("background"), _BLACK)
    surface = _resolve(variables.get("surface"), background, background)
    found: dict[str, str] = {}
    cursor = _choose_cursor(variables, pinned, surface, CURSOR, "block-cursor", found)
    blurred = _choose_cursor(variables, pinned, surface, BLURRED, "block-cursor-blurred", found)
    _choose_selected(variables, pinned, surface, (cursor, blurred), found)
    return tuple((name, value) for name, value in found.items() if name not in pinned)


def _parse(value: str | None, fallback: Color) -> Color:
    try:
        return Color.parse(value) if value else fallback
    except ColorParseError:
        return fallback


def _resolve(value: str | None, over: Color, fallback: Color) -> Color:
    """``value`` as an opaque colour over ``over`` ("auto 87%": the contrasting text, as Textual)."""
    if value and value.startswith("auto"):
        parts = value.split()
        alpha = float(parts[1].rstrip("%")) / 100 if len(parts) > 1 else 1.0
        return over + over.get_contrast_text(alpha)
    if value and value.startswith("ansi_"):
        return fallback
    return over + _parse(value, fallback)


def _shifted(base: Color) -> Iterator[Color]:
    """``base``, then darker and lighter steps of it (the nearest looks first)."""
    yield base
    for shift in _SHIFTS[1:]:
        yield base.darken(shift)
        yield base.lighten(shift)


def _towards_anchors(base: Color) -> Iterator[Color]:
    for amount in (0.25, 0.5, 0.75, 1.0):
        for anchor in _ANCHORS:
            yield base.blend(anchor, amount)


def _first(candidates, test: Callable[..., bool]):
    return next((candidate for candidate in candidates if test(*candidate)), None)


def _choose_cursor(variables, pinned, surface, names, source, found) -> Color:
    """A cursor row's (foreground, background, style): the theme's own when they read well enough."""
    fore_name, back_name, style_name = names
    style = pinned.get(style_name) or variables.get(f"{source}-text-style", "bold")
    back_value = pinned.get(back_name) or variables.get(f"{source}-background")
    base = _resolve(back_value, surface, surface)
    backs = [base] if back_name in pinned else [*_shifted(base), *_towards_anchors(base)]
    fore_value = pinned.get(fore_name) or variables.get(f"{source}-foreground")
    styles = [style] if style_name in pinned else [style, " ".join(w for w in style.split() if w != "bold") or "none"]

    def fores(back: Color) -> list[Color]:
        own = _resolve(fore_value, back, _WHITE)
        return [own] if fore_name in pinned else [own, _WHITE, _BLACK]

    def candidates(distinct: bool):
        for chosen_style in styles:
            for back in backs:
                for fore in fores(back):
                    if distinct and not looks_distinct(_seen_back(fore, back, chosen_style), surface):
                        continue
                    yield fore, back, chosen_style

    def reads(fore, back, chosen_style) -> bool:
        return worst_contrast(fore, back, chosen_style) >= TEXT_MINIMUM

    pick = _first(candidates(True), reads) or _first(candidates(False), reads)
    if pick is None:  # nothing reads well enough: the clearest of them
        pick = max(candidates(False), key=lambda c: worst_contrast(*c))
    fore, back, chosen_style = pick
    found.update({fore_name: fore.hex6, back_name: back.hex6, style_name: chosen_style})
    return _seen_back(fore, back, chosen_style)


def _seen_back(fore: Color, back: Color, style: str) -> Color:
    """The colour a cursor row shows behind its text ("reverse" swaps them)."""
    return fore if "reverse" in style.split() else back


def _choose_selected(variables, pinned, surface, cursors, found) -> None:
    """A selected row: its text 4.5:1 (bold where that reads), its dim and problem cells 3:1, its
    background unlike the table's and, where the colours allow, unlike the cursor rows'."""
    fore_name, back_name, style_name = SELECTED
    muted_name, problem_name = SELECTED_DIM
    if back_name in pinned:
        backs = [_resolve(pinned[back_name], surface, surface)]
    else:
        secondary = _parse(variables.get("secondary"), _parse(variables.get("primary"), _WHITE))
        backs = []
        for alpha in (0.3, 0.45, 0.6, 0.8, 1.0):
            for back in _shifted(surface + secondary.with_alpha(alpha)):
                if back not in backs:
                    backs.append(back)
        backs += _towards_anchors(surface + secondary.with_alpha(0.6))
    styles = [pinned[style_name]] if style_name in pinned else ["bold", "none"]

    def fores(back: Color) -> list[Color]:
        if fore_name in pinned:
            return [_resolve(pinned[fore_name], back, _WHITE)]
        return [_resolve(variables.get("foreground"), back, _WHITE), _WHITE, _BLACK]

    def dim(name: str, own: str | None, fore: Color, back: Color, style: str) -> Color | None:
        """The dim (or problem) colour on ``back``: the theme's if legible, else the row's text."""
        if name in pinned:
            return _resolve(pinned[name], back, fore)
        for colour in (_resolve(own, back, fore), fore):
            if worst_contrast(colour, back, style if name == problem_name else "") >= DIM_MINIMUM:
                return colour
        return None

    def candidates(distinct_surface: bool, distinct_cursor: bool):
        for style in styles:
            for back in backs:
                if distinct_surface and not looks_distinct(back, surface):
                    continue
                if distinct_cursor and not all(looks_distinct(back, cursor) for cursor in cursors):
                    continue
                for fore in fores(back):
                    yield fore, back, style

    def reads(fore, back, style) -> bool:
        return (worst_contrast(fore, back, style) >= TEXT_MINIMUM
                and dim(muted_name, variables.get("text-muted"), fore, back, style) is not None
                and dim(problem_name, variables.get("error"), fore, back, style) is not None)

    pick = (_first(candidates(True, True), reads) or _first(candidates(True, False), reads)
            or _first(candidates(False, False), reads))
    if pick is None:
        pick = max(candidates(False, False), key=lambda c: worst_contrast(*c))
    fore, back, style = pick
    muted = dim(muted_name, variables.get("text-muted"), fore, back, style) or fore
    problem = dim(problem_name, variables.get("error"), fore, back, style) or fore
    found.update({fore_name: fore.hex6, back_name: back.hex6, style_name: style, muted_name: muted.hex6,
                  problem_name: problem.hex6})
