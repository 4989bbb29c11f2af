"""An idle app does not wake 15 times a second (h9): the Caption screen's progress bar is still (not the
indeterminate animation, whose auto_refresh Textual runs even while the bar is hidden) while no caption
run is starting or running."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fixtures.tui_dataset import make_dataset
from textual.widgets._progress_bar import Bar

from loratui.core.dataset import locate_dataset
from loratui.tui.app import LoratuiApp
from loratui.tui.services.caption_runs import CaptionRun
from loratui.tui.widgets.caption_progress import CaptionRunPanel, bar_state


def a_run(**changes) -> CaptionRun:
    run = CaptionRun(captioner="wd14", command=["loratui", "caption", "img"])
    for name, value in changes.items():
        setattr(run, name, value)
    return run


def test_the_bar_is_indeterminate_only_while_a_run_is_on_and_its_count_unknown():
    assert bar_state(a_run())["total"] is None                                   # starting
    assert bar_state(a_run(phase="running"))["total"] is None                    # counting
    assert bar_state(a_run(phase="running", to_caption=8, done=3)) == {"total": 8, "progress": 3}
    assert bar_state(a_run(phase="done", to_caption=8, done=8)) == {"total": 8, "progress": 8}
    assert bar_state(a_run(phase="done")) == {"total": 1, "progress": 1}         # nothing to caption
    assert bar_state(a_run(phase="failed")) == {"total": 1, "progress": 0}       # a failed start: 0%
    assert bar_state(a_run(phase="cancelled", to_caption=8, done=2))["total"] == 8


def test_after_visiting_the_caption_screen_no_animation_runs_while_no_caption_run(tmp_path: Path):
    root = make_dataset(tmp_path / "proj")
    app = LoratuiApp(locate_dataset(root / "img"), settings_file=tmp_path / "tui.toml",
                     keymap_file=tmp_path / "k.toml", watch=False)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("2")
            await pilot.pause()
            panel = app.screen.query_one(CaptionRunPanel)
            bar = panel.query_one(Bar)
            await pilot.press("1")
            await pilot.pause()
            assert bar.percentage is not None and bar.auto_refresh is None  # left hidden: still
            panel.show(a_run())  # a run starts: animated until its count is known
            assert bar.percentage is None and bar.auto_refresh is not None
            panel.show(a_run(phase="running", to_caption=4, done=1))
            assert bar.auto_refresh is None
            panel.show(a_run(phase="running"))
            panel.show(a_run(phase="done", to_caption=4, done=4))  # ended: still again
            assert bar.percentage == 1 and bar.auto_refresh is None
            panel.show(a_run())
            panel.show(None)
            assert bar.percentage is not None and bar.auto_refresh is None

    asyncio.run(main())


# ---- the caption watcher's stop check: the stop event every step, the folders' stats seldom ----------------


def test_the_watch_stop_check_looks_at_the_folders_seldom_and_at_the_stop_event_every_time():
    import threading
    import time

    from loratui.tui.services.watcher import _StopOrChange

    stop, asked, answer = threading.Event(), [], [False]

    def changed() -> bool:
        asked.append(1)
        return answer[0]

    check = _StopOrChange(stop, changed, every=60.0)
    assert not any(check.is_set() for _ in range(200))  # 10 s of 50 ms steps
    assert len(asked) == 1
    answer[0] = True
    assert not check.is_set()  # not looked at again yet: the folders are stat'ed once a period
    stop.set()
    assert check.is_set()  # the app's stop: at once

    stop.clear()
    check = _StopOrChange(stop, changed, every=0.05)
    assert check.is_set()  # a change is seen at the first look after the period
    time.sleep(0.06)
    answer[0] = False
    assert not check.is_set()
