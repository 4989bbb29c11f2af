"""The loss chart: axes and ticks, log scale, zoom, epoch marks, the lr strip, 2 Hz redraws, and a
100,000-step series drawn from a few thousand points (LossSeries keeps them; the redraw's time is
bench/tui_latency.py's)."""

from __future__ import annotations

import asyncio
import time
import tracemalloc

from fixtures.loss_series import series
from textual.app import App, ComposeResult

from loratui.core.runs import LossSeries
from loratui.tui.widgets.loss_chart import LossChart, draw_chart, linear_ticks, log_ticks, step_text, value_text


def text(rows) -> list[str]:
    return ["".join(t for t, _ in row) for row in rows]


def test_axes_ticks_labels_and_lr_strip():
    s = series(1000)
    lines = text(draw_chart(s.view(), s.epochs, 60, 16, scope="1,000 steps"))
    assert len(lines) == 16 and all(len(line) == 60 for line in lines)
    assert lines[0].startswith("⣿EMA bold ⣿raw faint") and "1,000 steps" in lines[0]
    plot = lines[1:-3]
    labelled = [line for line in plot if "┤" in line]
    assert len(labelled) >= 3  # y ticks with their values
    values = [float(line.split("┤")[0]) for line in labelled]
    assert values == sorted(values, reverse=True)  # larger values higher up
    assert lines[-3].lstrip().startswith("└") and "┬" in lines[-3]
    assert lines[-2].split()[0] == "1" and lines[-2].split()[-1] == "1000"  # both ends labelled
    assert "┊" in "".join(plot) and "┼" in lines[-3]  # 10 epochs: marked in the plot and on the axis
    assert lines[-1].strip().startswith("lr ▕") and lines[-1].rstrip()[-1] in "▁▂"  # the lr decays to ~0
    assert "█" in lines[-1]


def test_roles_raw_faint_ema_bold():
    s = series(500)
    roles = {role for row in draw_chart(s.view(), [], 60, 14) for _, role in row}
    assert {"raw", "ema", "axis", "lr", "title"} <= roles


def test_log_scale_ticks_are_powers_of_ten():
    s = LossSeries()
    s.add_many(list(range(1, 401)), [10 ** (-3 * i / 400) for i in range(1, 401)], [1e-4] * 400)  # 1 .. 0.001
    lin = text(draw_chart(s.view(), [], 60, 16))
    log = text(draw_chart(s.view(), [], 60, 16, log=True))
    log_labels = [line.split("┤")[0].strip() for line in log if "┤" in line]
    assert {"0.01", "0.1"} <= set(log_labels) and "log" in log[0]
    lin_labels = [line.split("┤")[0].strip() for line in lin if "┤" in line]
    assert "0.01" not in lin_labels and "log" not in lin[0]
    assert log_ticks(0.001, 1.0, 4) == [0.001, 0.01, 0.1, 1]
    assert log_ticks(0.05, 0.3, 4)[0] >= 0.05  # inside one decade: 1-2-5 ticks inside the range


def test_zoom_shows_the_last_steps():
    s = series(5000)
    whole = text(draw_chart(s.view(), s.epochs, 60, 14))
    zoomed = text(draw_chart(s.view(100), s.epochs, 60, 14))
    assert int(whole[-2].split()[0]) <= 2  # binned two steps a point: a bin is drawn at its last step
    assert zoomed[-2].split()[0] == "4901" and zoomed[-2].split()[-1] == "5000"


def test_empty_flat_and_nonpositive_series():
    assert "no steps yet" in "".join(text(draw_chart({}, [], 40, 10)))
    flat = text(draw_chart({"step": [1, 2], "loss": [0.5, 0.5], "ema": [0.5, 0.5], "lr": [1e-3, 1e-3]}, [], 40, 10))
    assert any("┤" in line for line in flat)
    negative = {"step": [1, 2], "loss": [-1.0, 0.0], "ema": [-1.0, -0.5], "lr": [0.0, 0.0]}
    assert "no positive loss" in "".join(text(draw_chart(negative, [], 60, 10, log=True)))
    tiny = text(draw_chart(series(50).view(), [], 12, 3))
    assert len(tiny) == 3 and all(len(line) == 12 for line in tiny)


def test_number_formats():
    assert linear_ticks(0.11, 0.34, 4) == [0.15, 0.2, 0.25, 0.3]
    assert [value_text(v, 0.05) for v in (0.15, 0.2)] == ["0.15", "0.20"]
    assert value_text(1e-4) == "1e-4" and value_text(0.001) == "0.001"
    assert [step_text(s) for s in (950, 12_000, 99_500, 1_250_000)] == ["950", "12k", "99.5k", "1.25M"]


def test_100k_steps_draw_from_a_few_thousand_points_in_flat_memory():
    """How long the redraw takes is bench/tui_latency.py's (target 250 ms at 100k steps)."""
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    s = series(100_000)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    kept = sum(stat.size_diff for stat in after.compare_to(before, "filename") if stat.size_diff > 0)
    view = s.view()
    lines = text(draw_chart(view, s.epochs, 116, 30))
    print(f"\n100k steps: {len(view['step'])} points drawn; series memory retained ~{kept / 1024:.0f} KiB")
    assert len(view["step"]) <= s.capacity
    assert len(lines) == 30 and all(len(line) == 116 for line in lines) and "100k" in lines[-2]


class ChartApp(App):
    def compose(self) -> ComposeResult:
        yield LossChart()


def test_widget_redraws_at_most_twice_a_second_and_toggles_log():
    s = series(100_000)

    async def main():
        app = ChartApp()
        async with app.run_test(size=(80, 24)) as pilot:
            chart = app.query_one(LossChart)
            await pilot.pause()
            first = chart.draws
            started = time.monotonic()
            while time.monotonic() - started < 1.2:  # 60 updates a second for 1.2 s
                chart.set_series(s.view(), s.epochs, scope="100,000 steps")
                await pilot.pause(1 / 60)
            await pilot.pause(0.6)
            draws = chart.draws - first
            assert 1 <= draws <= 4, draws  # at most ~2 Hz, and the last data drawn
            assert "100k" in chart.text().splitlines()[-2]
            print(f"\nwidget redraw at 100k steps (80x24): {chart.last_draw_ms:.1f} ms; {draws} draws for 72 updates")
            chart.log_scale = True
            await pilot.pause()
            assert "log" in chart.text().splitlines()[0]
            assert chart.render_line(0).cell_length == 80

    asyncio.run(main())


def test_log_scale_over_a_narrow_range_never_repeats_a_label():
    """At 120x40 the log scale of a loss between 1.175 and 1.195 labelled its ticks 1.19, 1.19, 1.18, 1.18."""
    s = LossSeries()
    s.add_many(list(range(1, 201)), [1.175 + 0.02 * (i % 17) / 16 for i in range(1, 201)], [1e-4] * 200)
    log = text(draw_chart(s.view(), [], 110, 30, log=True))
    labels = [line.split("┤")[0].strip() for line in log if "┤" in line]
    assert len(labels) >= 3 and len(set(labels)) == len(labels), labels
