"""``feed_lines`` (core/run_record.py) never raises on a torn step line.

The fast path parsed the last line of a stretch of step lines with json.loads: a caller that hands
over lines without EventFollower (which gives complete lines only), e.g. a file read while the run
was writing or cut short by a full disk, got a JSONDecodeError. Now a torn line is skipped, as the
json path skips it.
"""

from __future__ import annotations

from loratui.core.events import EventWriter
from loratui.core.runs import LossSeries, RunRecord, feed_lines


def step_lines(tmp_path, count: int) -> list[bytes]:
    writer = EventWriter(tmp_path / "x.events.jsonl")
    for step in range(1, count + 1):
        writer.emit("step", step=step, total_steps=100, epoch=1, loss=1 / step, avg_loss=1 / step, lr=1e-4,
                    images_per_s=2.0, eta_s=1.0, peak_vram_gib=None)
    writer.close()
    return (tmp_path / "x.events.jsonl").read_bytes().split(b"\n")[:-1]


def test_a_torn_last_step_line_is_skipped(tmp_path):
    lines = step_lines(tmp_path, 6)
    torn = lines[-1][: lines[-1].index(b'"images_per_s"')]  # step, loss and lr are there: the regex matches
    record, series = RunRecord(tmp_path, "x"), LossSeries(capacity=64, tail=10)
    others = feed_lines(record, series, [*lines[:-1], torn])
    assert others == []
    assert record.step == 5 and series.last_step == 5  # the torn step 6 is skipped, like the json path
    assert record.events == 5
    again, again_series = RunRecord(tmp_path, "x"), LossSeries(capacity=64, tail=10)
    feed_lines(again, again_series, lines)  # complete lines still take the fast path
    assert again.step == 6 and again_series.last_step == 6


def test_a_lone_torn_step_line_gives_nothing(tmp_path):
    line = step_lines(tmp_path, 1)[0]
    record, series = RunRecord(tmp_path, "x"), LossSeries(capacity=64, tail=10)
    assert feed_lines(record, series, [line[:-3]]) == []
    assert record.events == 0 and series.last_step in (None, 0)
