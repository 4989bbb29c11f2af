"""LossChart: the loss of a run on axes with ticks, drawn in braille dots on the Line API.

One widget, top to bottom: a legend line, the plot (raw loss faint, its EMA bold, epoch boundaries
as ``┊`` columns, y tick labels on the left), the x axis with step ticks and labels, and the
learning rate as a one-line strip of block characters aligned with the plot's columns. Many epochs
are marked every 2, 5, 10, 20, 50... of them (the legend says "┊┼50 epochs"): at most one mark per
``EPOCH_GAP`` columns, so the step ticks between them stay visible. The axis starts at the first
point's first step (a point is a bin of steps drawn at its last: LossSeries).
Where the terminal shows ASCII only (the Linux console has no braille; a locale that is not UTF-8:
``terminal_graphics.ascii_only``) the same chart is drawn one point per cell with ``*`` (EMA),
``.`` (raw) and ``|`` (epochs), ``+-|`` axes and an ASCII ramp for the learning rate.

The data is ``LossSeries.view()`` (core/runs.py): at most a few thousand points whatever the run's
length, so a redraw costs the same at 100,000 steps as at 5,000. ``draw_chart`` is a pure function
(rows of (text, role) segments: testable without an app); the widget turns roles into styles and
redraws at most every ``MIN_INTERVAL`` seconds, however often ``set_series`` is called.
Faint and bold are text attributes, not colours, and the legend names them: no colour-only signal.
The mouse wheel over the chart zooms as + and - do: it runs the screen's ``zoom`` action (the Train
screen's: up shows fewer recent steps, down more).
"""

from __future__ import annotations

import math
import time
from typing import ClassVar, NamedTuple

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.reactive import reactive
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget

from loratui.tui.services.terminal_graphics import ascii_only

# braille dot bits by [row 0-3][column 0-1] of a cell
DOTS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))
BLOCKS = "▁▂▃▄▅▆▇█"
EPOCH_MARK = "┊"  # an epoch boundary in the plot (when there are few), "┼" on the axis (thinned when many)
EPOCH_GAP = 3      # columns per epoch mark on the axis, at least: denser ones are thinned (epoch_columns)
Row = list[tuple[str, str]]  # (text, role) segments; roles: title, axis, raw, ema, epoch, lr, blank


class Glyphs(NamedTuple):
    """The characters a chart is drawn with: braille and box drawing, or ASCII."""

    ema: str          # a legend's sample of the EMA line, and (ASCII) a cell of it
    raw: str          # likewise for the raw loss
    epoch: str        # an epoch boundary in the plot
    axis_epoch: str   # ... and on the x axis
    axis_tick: str    # a step tick on the x axis
    axis_line: str
    corner: str
    y_tick: str       # the y axis beside a tick label
    y_line: str
    lr_edge: str      # between "lr" and its strip
    lr_levels: str    # the lr strip, lowest to highest
    lr_legend: str
    at_most: str
    separator: str    # between the legend's parts
    braille: bool     # dots in the plot (else one character per cell)


UNICODE_GLYPHS = Glyphs("⣿", "⣿", EPOCH_MARK, "┼", "┬", "─", "└", "┤", "│", "▕", BLOCKS, "▆", "≤", " · ", True)
ASCII_GLYPHS = Glyphs("*", ".", "|", "|", "+", "-", "+", "+", "|", "|", "_.:-=+*#", "#", "<=", ", ", False)


def nice_step(span: float, count: int) -> float:
    """A 1-2-5 step that cuts ``span`` into about ``count`` parts."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / max(1, count)
    power = 10 ** math.floor(math.log10(raw))
    return min((factor * power for factor in (1, 2, 2.5, 5, 10)), key=lambda step: abs(math.log(step / raw)))


def linear_ticks(low: float, high: float, count: int) -> list[float]:
    step = nice_step(high - low, count)
    first = math.ceil(low / step - 1e-9) * step
    ticks, value = [], first
    while value <= high + step * 1e-9 and len(ticks) < 50:
        ticks.append(round(value, 12))
        value += step
    return ticks


def log_ticks(low: float, high: float, count: int) -> list[float]:
    """Powers of ten (and 2x, 5x when the range is short); linear ticks inside one decade."""
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    for factors in ((1,), (1, 2, 5), (1, 2, 3, 4, 5, 6, 7, 8, 9)):
        ticks = [f * 10 ** p for p in range(first, last + 1) for f in factors if low <= f * 10 ** p <= high]
        if len(ticks) >= 2:
            return ticks if len(ticks) <= count + 1 else ticks[:: math.ceil(len(ticks) / (count + 1))]
    return linear_ticks(low, high, count)


def value_text(value: float, step: float | None = None) -> str:
    """A tick label: as few digits as the tick step needs, at most 6 characters."""
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1e5 or magnitude < 1e-3:
        return f"{value:.0e}".replace("e-0", "e-").replace("e+0", "e")
    if step is not None and step > 0:
        decimals = next((d for d in range(7) if abs(round(step, d) - step) < step * 1e-6), 6)
        return f"{value:.{decimals}f}"  # as many decimals as the step has: 1.175 with a 0.025 step
    return f"{value:.3g}"


def step_text(step: float) -> str:
    step = int(round(step))
    if abs(step) >= 1_000_000:
        return f"{step / 1e6:.3g}M"
    if abs(step) >= 10_000:
        return f"{step / 1e3:.3g}k"
    return str(step)


def _span(column: list, lo: int, hi: int) -> None:
    if column[0] is None:
        column[0], column[1] = lo, hi
    else:
        column[0], column[1] = min(column[0], lo), max(column[1], hi)


def _dot(dots: bytearray, cols: int, x: int, y: int) -> None:
    dots[(y // 4) * cols + x // 2] |= DOTS[y % 4][x % 2]


def _trace(columns: list[list], dots: bytearray, cols: int) -> None:
    """Set the dots of each dot column's [lo, hi] span, and a line from the middle of each span to
    the next one's (so a few points on a wide plot, or a steep step, still read as one line)."""
    prev_x, prev_mid = None, 0.0
    for x, column in enumerate(columns):
        if column[0] is None:
            continue
        lo, hi = column
        for y in range(lo, hi + 1):
            _dot(dots, cols, x, y)
        mid = (lo + hi) / 2
        if prev_x is not None:
            run = x - prev_x
            for gx in range(prev_x, x):
                ya = prev_mid + (mid - prev_mid) * (gx - prev_x) / run
                yb = prev_mid + (mid - prev_mid) * (gx + 1 - prev_x) / run
                top, bottom = sorted((round(ya), round((ya + yb) / 2)))
                for y in range(top, bottom + 1):
                    _dot(dots, cols, gx, y)
                top, bottom = sorted((round((ya + yb) / 2), round(yb)))
                for y in range(top, bottom + 1):
                    _dot(dots, cols, gx + 1, y)
        prev_x, prev_mid = x, mid


def epoch_columns(epochs: list[tuple[int, int]], first: float, last: float, cols: int, x_of) -> tuple[set[int], int]:
    """The plot columns of the epoch ends to mark, and every how many epochs they are: each epoch, or
    every 2, 5, 10, 20, 50... when more would mark more than one column in ``EPOCH_GAP`` (400 epochs on
    40 columns made the axis ``┼┼┼┼`` and hid the step ticks between them)."""
    inside = [(step, epoch) for step, epoch in epochs if first < step < last]
    limit, most = max(1, cols // EPOCH_GAP), max((epoch for _, epoch in inside), default=1)
    every, power = 1, 1
    while True:
        for every in (power, 2 * power, 5 * power):
            columns = {x_of(step) // 2 for step, epoch in inside if epoch % every == 0}
            if len(columns) <= limit or every > most:
                return columns, every
        power *= 10


def _legend(width: int, log: bool, scope: str, top_lr: float | None, glyphs: Glyphs = UNICODE_GLYPHS,
            epoch_every: int = 1) -> str:
    """The legend, its parts dropped from the least needed while it is too wide."""
    epoch = glyphs.epoch + (glyphs.axis_epoch if glyphs.axis_epoch != glyphs.epoch else "")
    epoch += "epoch" if epoch_every == 1 else f"{epoch_every} epochs"  # a mark per 50 epochs: "┊┼50 epochs"
    parts = [f"{glyphs.ema}EMA bold", f"{glyphs.raw}raw faint", epoch,
             f"{glyphs.lr_legend}lr{glyphs.at_most}{value_text(top_lr)}" if top_lr else "", "log" if log else "",
             scope]
    for drop in (None, 3, 2, 0):
        if drop is not None:
            parts[drop] = ""
        text = " ".join(p for p in parts[:3] if p) + "".join(f"{glyphs.separator}{p}" for p in parts[3:] if p)
        if len(text) <= width:
            break
    return text[:width].ljust(width)


def draw_chart(view: dict[str, list[float]], epochs: list[tuple[int, int]], width: int, height: int, *,
               log: bool = False, scope: str = "", ascii: bool = False) -> list[Row]:
    """The chart as ``height`` rows of (text, role) segments, each row ``width`` cells wide
    (``ascii``: in ASCII characters only, see the module docstring)."""
    glyphs = ASCII_GLYPHS if ascii else UNICODE_GLYPHS
    steps, losses, emas, lrs = view.get("step", []), view.get("loss", []), view.get("ema", []), view.get("lr", [])
    lows, highs, starts = view.get("low", losses), view.get("high", losses), view.get("start", steps)
    points = [(s, v, e, r, lo, hi, b) for s, v, e, r, lo, hi, b in zip(steps, losses, emas, lrs, lows, highs, starts)
              if math.isfinite(v) and (not log or v > 0)]
    known_lrs = [p[3] for p in points if math.isfinite(p[3])]
    top_lr = max(known_lrs) if known_lrs else None
    rows: list[Row] = [[(_legend(width, log, scope, top_lr, glyphs), "title")]]
    if height < 2:
        return rows[:height]
    if not points:
        text = "no steps yet" if not steps else "no positive loss to draw on a log scale"
        return rows + [[(text[:width].center(width) if i == (height - 1) // 2 else " " * width, "axis")]
                       for i in range(1, height)]
    plot_rows = max(1, height - 4)
    values = [v for p in points for v in (p[4], p[5]) if math.isfinite(v) and (not log or v > 0)]
    values += [p[2] for p in points if math.isfinite(p[2]) and (not log or p[2] > 0)]
    low, high = min(values), max(values)
    if high - low < 1e-12:
        pad = abs(high) * 0.05 or 1.0
        low, high = (low / 1.1, high * 1.1) if log else (low - pad, high + pad)
    tick_count = max(2, min(8, plot_rows // 3))
    if log:
        ticks = log_ticks(low, high, tick_count)
        tick_step = None
        scale = lambda v: math.log10(v)  # noqa: E731
    else:
        ticks = linear_ticks(low, high, tick_count)
        tick_step = ticks[1] - ticks[0] if len(ticks) > 1 else None
        scale = lambda v: v  # noqa: E731
    labels = [value_text(t, tick_step) for t in ticks]
    if len(set(labels)) < len(labels) and len(ticks) > 1:  # log ticks inside a short range: 1.19, 1.19, 1.18
        closest = min(b - a for a, b in zip(ticks, ticks[1:]))
        labels = [value_text(t, closest) for t in ticks]
    label_width = max([len(t) for t in labels] + [2]) + 1
    cols = max(1, width - label_width - 1)
    x_dots, y_dots = cols * 2, plot_rows * 4
    top, bottom = scale(high), scale(low)
    y_span = top - bottom or 1.0
    first, last = min(points[0][6], points[0][0]), points[-1][0]  # the first bin's first step: 1, not 64
    x_span = last - first

    def x_of(step: float) -> int:
        return 0 if x_span <= 0 else min(x_dots - 1, max(0, round((step - first) / x_span * (x_dots - 1))))

    def y_of(value: float) -> int:
        return min(y_dots - 1, max(0, round((top - scale(value)) / y_span * (y_dots - 1))))

    raw_cols: list[list] = [[None, None] for _ in range(x_dots)]
    ema_cols: list[list] = [[None, None] for _ in range(x_dots)]
    lr_sum, lr_n = [0.0] * cols, [0] * cols
    for step, value, ema, lr, low_value, high_value, _start in points:
        x = x_of(step)  # raw: the band of the losses binned into this point (one loss when not binned)
        if not log or low_value > 0:
            _span(raw_cols[x], y_of(high_value), y_of(low_value))
        else:
            _span(raw_cols[x], y_of(high_value), y_of(value))
        if math.isfinite(ema) and (not log or ema > 0):
            y = y_of(ema)
            ema_cols[x][0:2] = [y, y]  # the latest EMA of the dot column
        if math.isfinite(lr):
            lr_sum[x // 2] += lr
            lr_n[x // 2] += 1
    raw_dots, ema_dots = bytearray(cols * plot_rows), bytearray(cols * plot_rows)
    _trace(raw_cols, raw_dots, cols)
    _trace(ema_cols, ema_dots, cols)
    epoch_cols, epoch_every = epoch_columns(epochs, first, last, cols, x_of)
    # many epochs: on the axis only (and thinned ones too: a ┊ every 20 epochs in the plot reads as noise)
    marks = epoch_cols if epoch_every == 1 and len(epoch_cols) <= cols // 6 else set()
    if epoch_every > 1:
        rows[0] = [(_legend(width, log, scope, top_lr, glyphs, epoch_every), "title")]
    tick_rows = {}
    for tick, label in zip(ticks, labels):
        row = y_of(tick) // 4
        tick_rows.setdefault(row, label)
    for r in range(plot_rows):
        label = tick_rows.get(r)
        row: Row = [((label or "").rjust(label_width - 1) + " " + (glyphs.y_tick if label else glyphs.y_line), "axis")]
        base = r * cols
        for c in range(cols):
            raw, ema = raw_dots[base + c], ema_dots[base + c]
            if ema:
                cell = (chr(0x2800 | raw | ema) if glyphs.braille else glyphs.ema, "ema")
            elif raw:
                cell = (chr(0x2800 | raw) if glyphs.braille else glyphs.raw, "raw")
            elif c in marks:
                cell = (glyphs.epoch, "epoch")
            else:
                cell = (" ", "blank")
            if row[-1][1] == cell[1]:
                row[-1] = (row[-1][0] + cell[0], cell[1])
            else:
                row.append(cell)
        rows.append(row)
    rows.extend(_x_axis(first, last, cols, label_width, x_of, epoch_cols, glyphs))
    rows.append(_lr_strip(lr_sum, lr_n, label_width, glyphs))
    while len(rows) < height:
        rows.append([(" " * width, "blank")])
    return rows[:height]


def _x_axis(first: int, last: int, cols: int, label_width: int, x_of, epoch_cols: set[int],
            glyphs: Glyphs = UNICODE_GLYPHS) -> list[Row]:
    """The axis line with a ``┬`` per step tick and ``┼`` per epoch boundary, and the step labels."""
    offset = label_width + 1  # where the plot's first column is
    axis = [glyphs.axis_epoch if c in epoch_cols else glyphs.axis_line for c in range(cols)]
    labels = [" "] * (offset + cols)
    ticks = [int(t) for t in linear_ticks(first, last, max(1, cols // 10)) if float(t).is_integer()]
    ends = [first, last] if last > first else [first]
    ticks = ends + [t for t in ticks if t not in ends]  # the ends first: they are always labelled
    placed: list[tuple[int, int]] = []  # (start, end) of the labels written
    for tick in ticks:
        c = x_of(tick) // 2
        axis[c] = glyphs.axis_epoch if c in epoch_cols else glyphs.axis_tick
        text = step_text(tick)
        start = min(max(offset + c - len(text) // 2, 0), offset + cols - len(text))
        end = start + len(text)
        if any(start <= e and s <= end for s, e in placed):
            continue  # too close to a label already there: the tick stays unlabelled
        labels[start:end] = text
        placed.append((start, end))
    return [[(" " * (offset - 1) + glyphs.corner + "".join(axis), "axis")], [("".join(labels), "axis")]]


def _lr_strip(lr_sum: list[float], lr_n: list[int], label_width: int, glyphs: Glyphs = UNICODE_GLYPHS) -> Row:
    means = [s / n if n else None for s, n in zip(lr_sum, lr_n)]
    known = [m for m in means if m is not None]
    if known:  # a column between two points (a short run on a wide chart) holds the lr until the next
        last_index = max(i for i, m in enumerate(means) if m is not None)
        held = None
        for i in range(last_index):
            held = means[i] = means[i] if means[i] is not None else held
    top = max(known) if known else 0.0
    if top <= 0:
        blocks = "".join(" " for _ in means)
    else:
        levels = glyphs.lr_levels
        blocks = "".join(" " if m is None else levels[min(len(levels) - 1, max(0, round(m / top * (len(levels) - 1))))]
                         for m in means)
    label = "lr"[:label_width - 1].rjust(label_width - 1)
    return [(label + " " + glyphs.lr_edge, "axis"), (blocks, "lr")]


class LossChart(Widget):
    """The loss chart; ``set_series(view, epochs)`` with a ``LossSeries.view()`` dict."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "loss-chart--title", "loss-chart--axis", "loss-chart--raw", "loss-chart--ema", "loss-chart--epoch",
        "loss-chart--lr",
    }
    DEFAULT_CSS = """
    LossChart {
        height: 1fr;
        min-height: 8;
        & > .loss-chart--title { color: $text-muted; }
        & > .loss-chart--axis { color: $text-muted; }
        & > .loss-chart--raw { color: $text-muted; text-style: dim; }
        & > .loss-chart--ema { color: $accent; text-style: bold; }
        & > .loss-chart--epoch { color: $text-muted; text-style: dim; }
        & > .loss-chart--lr { color: $secondary; }
    }
    """
    MIN_INTERVAL = 0.5  # seconds between two redraws: at most 2 Hz
    WHEEL_GAP_S = 0.2  # one zoom step per wheel turn: a notch (or a trackpad) sends several events at once
    log_scale: reactive[bool] = reactive(False)

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.view: dict[str, list[float]] = {}
        self.epochs: list[tuple[int, int]] = []
        self.scope = ""
        self.rows: list[Row] = []
        self.draws = 0
        self.last_draw_ms = 0.0
        self._strips: list[Strip] = []
        self._last_draw = 0.0
        self._timer: Timer | None = None
        self.ascii = ascii_only()  # the Linux console, a non-UTF-8 locale: no braille
        self._last_wheel = 0.0
        self._wheel_stuck = 0  # the wheel direction that last changed nothing (the closest view, the whole run)

    def set_series(self, view: dict[str, list[float]], epochs: list[tuple[int, int]], *, scope: str = "") -> None:
        """New data; drawn now, or when ``MIN_INTERVAL`` has passed since the last draw."""
        if scope != self.scope:
            self._wheel_stuck = 0  # another view (or more steps): the wheel may zoom that way again
        self.view, self.epochs, self.scope = view, epochs, scope
        if self._timer is not None:
            return
        wait = self._last_draw + self.MIN_INTERVAL - time.monotonic()
        if wait <= 0 or not self.is_mounted:
            self.redraw()
        else:
            self._timer = self.set_timer(wait, self.redraw)

    async def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()  # the chart's wheel zooms; nothing around it scrolls
        event.prevent_default()
        await self._wheel_zoom(1)

    async def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        event.prevent_default()
        await self._wheel_zoom(-1)

    async def _wheel_zoom(self, direction: int) -> None:
        """Zoom as + (1) or - (-1) does. A turn that changed nothing (its warning said why) is not repeated
        until the view changes: a trackpad's stream of events makes one toast, not twenty."""
        now = time.monotonic()
        if direction == self._wheel_stuck or now - self._last_wheel < self.WHEEL_GAP_S:
            return
        self._last_wheel = now
        before = self.scope
        await self.run_action(f"screen.zoom({direction})")
        if self.scope == before:
            self._wheel_stuck = direction

    def watch_log_scale(self) -> None:
        self.redraw()

    def on_resize(self, event: events.Resize) -> None:
        self.redraw()

    def redraw(self) -> None:
        """Draw now (a new size, log scale, or the throttled data)."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        width, height = self.size
        if not width or not height:
            return
        started = time.perf_counter()
        self.rows = draw_chart(self.view, self.epochs, width, height, log=self.log_scale, scope=self.scope,
                               ascii=self.ascii)
        # every segment gets a real Style, blanks and padding too: Textual's NO_COLOR filter (Monochrome)
        # reads each segment's style and crashed on None
        base = self.rich_style
        styles = {role: self.get_component_rich_style(f"loss-chart--{role}") for role in
                  ("title", "axis", "raw", "ema", "epoch", "lr")}
        self._strips = [Strip([Segment(text, styles.get(role, base)) for text, role in row]).adjust_cell_length(width, base)
                        for row in self.rows]
        self._last_draw = time.monotonic()
        self.last_draw_ms = (time.perf_counter() - started) * 1000
        self.draws += 1
        self.refresh()

    def text(self) -> str:
        """What the chart shows, as plain text (tests, screen readers of the log)."""
        return "\n".join("".join(text for text, _ in row) for row in self.rows)

    def render_line(self, y: int) -> Strip:
        if y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.size.width, self.rich_style)
