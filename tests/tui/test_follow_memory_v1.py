"""Following a live run keeps memory flat (h9 soak: RSS grew ~1 MB a minute while a run was followed):
NAME.log is read only where it grew, a snapshot with no new event reuses the checkpoints it listed, the
chart copies the loss series only when it changed, and a Train screen left for another (1-3) is not
redrawn twice a second for nobody: it shows the latest snapshot when it is shown again."""

from __future__ import annotations

import asyncio
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixtures.pilot_wait import until  # noqa: E402
from test_train_screen import make_app, make_project, open_train, write_recorded  # noqa: E402

from loratui.core.events import events_path  # noqa: E402
from loratui.core.loss_series import LossSeries  # noqa: E402
from loratui.tui.screens.run_picker import RunPicker  # noqa: E402
from loratui.tui.services import followed_run  # noqa: E402
from loratui.tui.services.followed_run import FollowedRun, LaunchLog, log_header  # noqa: E402


def test_the_log_tail_read_as_it_grows_is_the_one_read_afresh(tmp_path, monkeypatch):
    monkeypatch.setattr(followed_run, "LOG_TAIL_BYTES", 300)  # lines cut at the window's start, endless lines
    path = tmp_path / "tiny.log"
    path.write_text(log_header(100.0, "loratui train c.toml"))
    followed = LaunchLog(path)
    rng = random.Random(7)
    pieces = ["step {i}/900 loss 1.1\n", "[###] {i}\r[####] {i}\r", "générer {i} é\n", "partial {i}", "\n",
              "x" * 120 + "\n", "\r".join(f"p{j}" for j in range(90)), "\n\n"]
    for i in range(400):
        with path.open("a", encoding="utf-8") as handle:
            handle.write(rng.choice(pieces).format(i=i))
        if i % 3:
            continue
        for count in (5, 200):
            # read afresh, only the window's lines; read as it grew, the lines before it too (up to count)
            mine, fresh = followed.section_of(100.0, count), LaunchLog(path).section_of(100.0, count)
            assert len(mine) <= count and mine[len(mine) - len(fresh):] == fresh, (i, count)
    # what it keeps stays bounded: the last lines asked for and at most one window of a line being written
    for tail in followed.tails.values():
        assert len(tail.lines) <= tail.lines.maxlen and len(tail.partial) <= 300
        assert tail.read_to == path.stat().st_size
    assert set(followed.tails) == {5, 200}


def test_a_log_cut_or_replaced_is_read_anew(tmp_path):
    path = tmp_path / "tiny.log"
    path.write_text(log_header(100.0, "a") + "one\ntwo\n")
    log = LaunchLog(path)
    assert log.section_of(100.0, 5)[1:] == ["one", "two"]
    path.write_text(log_header(100.0, "a") + "three\n")  # cut short (same file)
    assert log.section_of(100.0, 5)[1:] == ["three"]
    path.unlink()
    path.write_text(log_header(100.0, "a") + "four and more\n")  # another file
    assert log.section_of(100.0, 5)[1:] == ["four and more"]


def test_loss_series_version_changes_with_every_change():
    series = LossSeries()
    seen = {series.version}
    for change in (lambda: series.add(1, 1.0), lambda: series.add_many([2, 3], [0.9, 0.8], [1e-4, 1e-4]),
                   lambda: series.add_event({"event": "epoch_end", "step": 3, "epoch": 1}), lambda: series.rewind(2)):
        change()
        assert series.version not in seen
        seen.add(series.version)


def test_a_snapshot_without_new_events_reuses_what_it_listed(tmp_path):
    out = write_recorded(tmp_path)
    run = FollowedRun(out, "tiny")
    run.feed(events_path(out, "tiny").read_bytes().split(b"\n")[:-1])
    first, again = run.snapshot(None), run.snapshot(None)
    assert first.checkpoints and first.sample_prompts is again.sample_prompts  # not copied again
    assert first.checkpoints == again.checkpoints
    saved = next(c for c in first.checkpoints if c.kind != "sample")
    saved.path.unlink()  # deleted by hand: no event says so, the stat each snapshot does
    assert next(c for c in run.snapshot(None).checkpoints if c.path == saved.path).gone
    step = {"event": "step", "time": 1796032999.0, "step": 49, "total_steps": 60, "epoch": 13, "loss": 1.0,
            "avg_loss": 1.0, "lr": 0.001, "images_per_s": 1.0, "eta_s": 1.0, "peak_vram_gib": None}
    version = run.series_version()
    run.feed([json.dumps(step).encode()])
    assert run.snapshot(None).step == 49 and run.series_version() != version


def test_a_hidden_train_screen_is_drawn_when_shown_again_and_not_before(tmp_path):
    config = make_project(tmp_path)
    out = write_recorded(tmp_path, lines=20)  # steps, no `finished`: the rest is appended while away
    rest = events_path(out, "tiny").with_suffix(".rest")
    full = write_recorded(tmp_path / "whole")
    rest.write_text("".join(events_path(full, "tiny").read_text().replace(str(full), str(out))
                            .splitlines(keepends=True)[20:]))

    async def main():
        app = make_app(tmp_path, config)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_train(app, pilot)
            await until(pilot, lambda: isinstance(app.screen, RunPicker), "the run picker")
            await pilot.press("escape")
            screen.follow(out, "tiny")
            snap = await until(pilot, lambda: screen.snapshot and screen.snapshot.caught_up and screen.snapshot,
                               "followed")
            views = []
            view = screen.run.view
            screen.run.view = lambda *a: views.append(a) or view(*a)
            screen.on_run_updated(followed_run.RunUpdated(snap))  # the same again (a live run's each second)
            assert views == []  # nothing new: the series is not copied again
            shown_steps = screen.chart.view["step"][-1]
            await app.switch_mode("dataset")
            await pilot.pause()
            with events_path(out, "tiny").open("a") as handle:
                handle.write(rest.read_text())
            await until(pilot, lambda: screen.snapshot.step == 48 and screen.unshown, "read while away", 30)
            assert views == [] and screen.chart.view["step"][-1] == shown_steps  # not drawn for nobody
            await app.switch_mode("train2")
            await until(pilot, lambda: not screen.unshown, "drawn on return")
            assert screen.chart.view["step"][-1] == 48 and screen.chart.view["start"][0] == 1  # the whole run
            assert screen.chart.scope == "48 steps"
            assert any(c.step == 48 and c.kind == "final" for c in screen.checkpoints.checkpoints)

    asyncio.run(main())
