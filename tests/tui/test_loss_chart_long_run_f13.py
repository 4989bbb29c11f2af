"""The loss chart of a week-long run (user test s12/h10): 400 epochs made every axis column an epoch
mark (└┼┼┼┼…) so the step ticks under 50k / 100k did not show, and the axis began at "64" (the first
point is the end of the first 64-step bin) though the run starts at step 1."""

from __future__ import annotations

from loratui.core.runs import LossSeries
from loratui.tui.widgets.loss_chart import EPOCH_GAP, draw_chart, epoch_columns


def week(steps: int = 200_000, epochs: int = 400) -> LossSeries:
    series = LossSeries()
    numbers = list(range(1, steps + 1))
    series.add_many(numbers, [0.1 + 0.05 * ((i * 7919) % 13) / 13 for i in numbers], [1e-4] * steps)
    per_epoch = steps // epochs
    series.epochs.extend((e * per_epoch, e) for e in range(1, epochs + 1))
    return series


def lines_of(rows) -> list[str]:
    return ["".join(text for text, _ in row) for row in rows]


def test_a_bins_first_step_is_in_the_view():
    series = week()
    view = series.view()
    assert view["step"][0] > 1  # binned: the first point is its bin's last step
    assert view["start"][0] == 1
    assert view["start"][1:] == [int(step) + 1 for step in view["step"][:-1]]
    assert len(view["start"]) == len(view["step"])
    zoom = series.view(100)
    assert zoom["start"] == zoom["step"] == list(range(199_901, 200_001))
    series.rewind(1)  # a restart from the first step forgets where it began
    series.add(1, 0.2)
    assert series.view()["start"] == [1]


def test_400_epochs_are_thinned_so_the_step_ticks_show_and_the_axis_starts_at_1():
    series = week()
    for width in (49, 89):  # the 80x24 and 120x40 Train screens' chart
        lines = lines_of(draw_chart(series.view(), series.epochs, width, 14, scope="200,000 steps"))
        axis, labels = lines[-3], lines[-2]
        cols = len(axis) - axis.index("└") - 1
        assert 0 < axis.count("┼") <= cols // EPOCH_GAP, axis
        assert axis.count("┬") >= 2  # at least the ends, and the ticks between the epoch marks
        assert labels.split()[0] == "1" and labels.split()[-1] == "200k"
        assert " epochs" in lines[0]  # the legend says every how many epochs a mark is
    narrow = lines_of(draw_chart(series.view(), series.epochs, 49, 14))
    assert "┊┼50 epochs" in narrow[0]


def test_few_epochs_are_each_marked_as_before():
    series = week(steps=1000, epochs=10)
    lines = lines_of(draw_chart(series.view(), series.epochs, 60, 16))
    assert lines[-3].count("┼") == 9 and "┊┼epoch" in lines[0]  # the 10th ends at the last step
    assert lines[-2].split()[0] == "1"


def test_epoch_columns_picks_1_2_5_steps():
    epochs = [(e * 10, e) for e in range(1, 101)]
    x_of = lambda step: int(step) // 5  # noqa: E731  a dot per 5 steps: one plot column per epoch
    columns, every = epoch_columns(epochs, 0, 1000, 100, x_of)
    assert every == 5 and len(columns) <= 100 // EPOCH_GAP and columns == {e * 10 // 5 // 2 for e in range(5, 100, 5)}
    assert epoch_columns(epochs, 0, 1000, 400, x_of)[1] == 1
    assert epoch_columns([], 0, 1000, 40, x_of) == (set(), 1)
