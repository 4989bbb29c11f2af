"""Latency of the app's work that tests used to time, measured in one run (tests check behaviour only).

Each line prints the figure, its target and the ratio figure/target (below 1 meets the target). The sizes
and the statistic are the ones the tests asserted on; the builders are the tests' own (tests/fixtures).

- Step calculator, small project (43 images on disk, 5 changes of epochs/batch): ``update_config`` until
  the numbers are ready (``last_sync_ms``), worst of 5, and until they are on screen (``last_update_ms``),
  median of 5. Target: 100 ms each.
- Step calculator, 10,000 cached images (5 changes of epochs): the same two, median of 5. Target: 100 ms each.
- Image table, 10,000 rows, best of 3: ``set_rows`` (shuffled), target 50 ms; ``sort_by`` name, target
  100 ms; one 80x24 screen of ``render_line``, target 50 ms.
- Tag frequency pane, 20,000 tags: ``set_frequencies``, target 1 s (the filter and the paint are printed).
- Run follower: a snapshot of a finished run with 400 saves, 200 of them deleted (each file stat'ed), mean
  of 5. Target: 250 ms.
- Dataset summary, 20,000 images: caption stats + per-folder caption counts, best of 3. Target: 250 ms.
- Settings form, keystrokes typed into network_dim: one keystroke's work (``last_edit_ms``), worst of all,
  with the calculator and VRAM panels: target 100 ms; with no panels (the form's own work): target 50 ms.
- Loss chart, 100,000-step series: view + draw at 116x30, best of 3. Target: 250 ms.
- Plan preview, 10,000-file plan: construction to first frame (``first_frame_s``). Target: 1 s.

``--quick`` runs each once at small sizes (a check that the bench runs, for CI; its ratios are not the
targets'). Exit status 0 whatever the ratios.

    .venv/bin/python bench/tui_latency.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # as the tests run: nothing fetched
os.environ.setdefault("LORATUI_GPU", "1")     # the GPU defaults in `config new`, as in the tests

from fixtures.big_plan import big_plan  # noqa: E402
from fixtures.caption_rows import twenty_thousand_rows  # noqa: E402
from fixtures.followed_run_files import half_gone_run  # noqa: E402
from fixtures.image_table_rows import TableApp, make_rows  # noqa: E402
from fixtures.loss_series import series  # noqa: E402
from fixtures.settings_app import make_app, open_settings, type_into  # noqa: E402
from fixtures.step_calc import CalcApp, cache_ten_thousand_images, small_project  # noqa: E402
from fixtures.tag_pane import PaneApp, twenty_thousand_tags  # noqa: E402
from textual.app import App  # noqa: E402

from loratui.core.config import load_config  # noqa: E402
from loratui.core.events import events_path  # noqa: E402
from loratui.tui.screens import settings as settings_module  # noqa: E402
from loratui.tui.screens.plan_preview import PlanPreviewScreen  # noqa: E402
from loratui.tui.services.gpu import GPU_STATE  # noqa: E402
from loratui.tui.services.runs import FollowedRun  # noqa: E402
from loratui.tui.widgets.dataset_summary import CaptionStats, caption_counts, captions_now  # noqa: E402
from loratui.tui.widgets.image_table import ImageTable  # noqa: E402
from loratui.tui.widgets.loss_chart import draw_chart  # noqa: E402
from loratui.tui.widgets.step_calculator import SCAN_CACHE, StepCalculator  # noqa: E402
from loratui.tui.widgets.tag_frequency import TagFrequencyPane  # noqa: E402

RESULTS: list[float] = []


def report(name: str, seconds: float, target: float, how: str) -> None:
    RESULTS.append(seconds / target)
    print(f"{name}: {seconds * 1000:.1f} ms ({how}); target {target * 1000:.0f} ms; "
          f"ratio {seconds / target:.2f}", flush=True)


def best_of(repeats: int, func) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]  # the tests' statistic (the middle of 5)


async def step_calculator(tmp: Path) -> None:
    SCAN_CACHE.clear()
    GPU_STATE.reset()
    cfg = load_config(small_project(tmp / "calc"))
    async with CalcApp().run_test(size=(80, 24)) as pilot:
        calc = pilot.app.query_one(StepCalculator)
        calc.update_config(cfg)
        while not calc.numbers():  # the first scan, in a worker
            await pilot.pause(0.02)
        synced, shown = [], []
        for epochs, batch in ((3, 2), (3, 1), (12, 4), (5, 3), (7, 2)):
            cfg.training.max_train_epochs, cfg.training.train_batch_size = epochs, batch
            calc.update_config(cfg)  # cached scan: computed before this call returns
            await pilot.pause()
            synced.append(calc.last_sync_ms / 1000)
            shown.append(calc.last_update_ms / 1000)
    report("step calculator, 43 images: numbers ready", max(synced), 0.100, "worst of 5")
    report("step calculator, 43 images: on screen", median(shown), 0.100, "median of 5")

    SCAN_CACHE.clear()
    cache_ten_thousand_images(cfg)
    async with CalcApp().run_test(size=(80, 24)) as pilot:
        calc = pilot.app.query_one(StepCalculator)
        synced, shown = [], []
        for epochs in (5, 6, 7, 8, 9):
            cfg.training.max_train_epochs = epochs
            calc.update_config(cfg)
            await pilot.pause()
            synced.append(calc.last_sync_ms / 1000)
            shown.append(calc.last_update_ms / 1000)
        assert calc.numbers()["samples_per_epoch"] == 30_000, calc.numbers()
    print(f"  (compute alone, 10,000 images: {calc.last_compute_ms:.1f} ms, the last change)")
    report("step calculator, 10,000 cached images: numbers ready", median(synced), 0.100, "median of 5")
    report("step calculator, 10,000 cached images: on screen", median(shown), 0.100, "median of 5")


async def image_table(rows_count: int, repeats: int) -> None:
    rows = make_rows(rows_count)
    shuffled = sorted(rows, key=lambda r: hash(r.name))
    async with TableApp([]).run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table = pilot.app.query_one(ImageTable)
        table.focus()
        await pilot.pause()
        how = f"best of {repeats}"
        report(f"image table, {rows_count:,} rows: set_rows", best_of(repeats, lambda: table.set_rows(shuffled)),
               0.050, how)
        report(f"image table, {rows_count:,} rows: sort by name",
               best_of(repeats, lambda: table.sort_by("name", reverse=False)), 0.100, how)
        height = table.scrollable_content_region.height
        report(f"image table, {rows_count:,} rows: draw a screen ({height} lines)",
               best_of(repeats, lambda: [table.render_line(y) for y in range(height)]), 0.050, how)


async def tag_frequency() -> None:
    counts, categories = twenty_thousand_tags()
    async with PaneApp().run_test(size=(80, 24)) as pilot:
        pane = pilot.app.query_one(TagFrequencyPane)
        pane.set_frequencies(Counter(), {})
        pane.table.focus()
        await pilot.pause()
        start = time.perf_counter()
        pane.set_frequencies(counts, categories)
        elapsed = time.perf_counter() - start
        await pilot.pause()
        painted = time.perf_counter() - start
        start = time.perf_counter()
        pane.set_filter("tag_123")
        filtered = time.perf_counter() - start
    print(f"  (20,000 tags painted {painted * 1000:.1f} ms after set_frequencies began; "
          f"filter 'tag_123' {filtered * 1000:.1f} ms)")
    report(f"tag frequency pane, {len(counts):,} tags: set_frequencies", elapsed, 1.0, "one call")


def followed_run(tmp: Path, saves: int) -> None:
    out = half_gone_run(tmp / "out", saves)
    run = FollowedRun(out, "x")
    run.feed([line.encode() for line in events_path(out, "x").read_text().splitlines()])
    run.snapshot()
    began = time.perf_counter()
    for _ in range(5):
        snapshot = run.snapshot()
    each = (time.perf_counter() - began) / 5
    assert sum(c.gone for c in snapshot.checkpoints) == saves // 2
    report(f"run follower: snapshot of {saves} saves, {saves // 2} gone", each, 0.250, "mean of 5")


def caption_summary(tmp: Path, repeats: int) -> None:
    scan, rows, frequency = twenty_thousand_rows(tmp / "10_a")

    def count() -> None:
        CaptionStats.from_frequency(frequency, (row.caption for row in rows))
        caption_counts(scan, captions_now(rows))

    report(f"dataset summary, {len(rows):,} images: caption counts", best_of(repeats, count), 0.250,
           f"best of {repeats}")


async def settings_keystrokes(tmp: Path, values: tuple[str, ...], panels: bool) -> None:
    original = settings_module.load_panels
    if not panels:
        settings_module.load_panels = lambda: []
    try:
        app, _root = make_app(tmp)
        async with app.run_test(size=(80, 24)) as pilot:
            await open_settings(app, pilot)
            compose_ms = app.screen.compose_ms
            await type_into(pilot, "network_dim", "")
            times = []
            for value in values:
                await pilot.press("ctrl+u")
                for ch in value:
                    await pilot.press(ch)
                    times.append(app.screen.last_edit_ms / 1000)
            assert app.screen.form.field("network_dim").value == int(values[-1])
    finally:
        settings_module.load_panels = original
    which = "with the calculator and VRAM panels" if panels else "the form alone (no panels)"
    print(f"  (settings screen, {which}: compose {compose_ms:.1f} ms; keystrokes, ms: "
          + ", ".join(f"{t * 1000:.1f}" for t in times) + ")")
    report(f"settings form, {which}: one keystroke's work", max(times), 0.100 if panels else 0.050,
           f"worst of {len(times)}")


def loss_chart(steps: int, repeats: int) -> None:
    for count in (5_000, steps):
        s = series(count)

        def redraw() -> None:
            draw_chart(s.view(), s.epochs, 116, 30)

        best = best_of(repeats, redraw)
        if count == steps:
            report(f"loss chart, {steps:,} steps: view + draw at 116x30", best, 0.250, f"best of {repeats}")
        else:
            print(f"  (loss chart, {count:,} steps: {best * 1000:.1f} ms, for comparison)")


async def plan_preview(files: int) -> None:
    plan = big_plan(files)
    async with App().run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = PlanPreviewScreen(plan, Path("/d"), "Preview")
        pilot.app.push_screen(screen)
        while screen.first_frame_s is None:
            await asyncio.sleep(0.002)
        first_frame = screen.first_frame_s
        await pilot.app.workers.wait_for_complete()
    report(f"plan preview, {files:,}-file plan: first frame", first_frame, 1.0, "one opening")


async def measure(tmp: Path, quick: bool) -> None:
    repeats = 1 if quick else 3
    await step_calculator(tmp)
    await image_table(1_000 if quick else 10_000, repeats)
    await tag_frequency()
    followed_run(tmp, 40 if quick else 400)
    caption_summary(tmp, repeats)
    values = ("32",) if quick else ("32", "64", "128", "16", "321")
    await settings_keystrokes(tmp / "panels", values, panels=True)
    await settings_keystrokes(tmp / "alone", values, panels=False)
    loss_chart(10_000 if quick else 100_000, repeats)
    await plan_preview(500 if quick else 10_000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="each measurement once at small sizes (checks the bench runs; ratios not the targets')")
    args = parser.parse_args()
    if args.quick:
        print("--quick: small sizes, one repeat; these ratios are not the targets'")
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(measure(Path(tmp), args.quick))
    met = sum(ratio < 1 for ratio in RESULTS)
    print(f"{met} of {len(RESULTS)} measurements meet their target (ratio below 1); worst ratio {max(RESULTS):.2f}")


if __name__ == "__main__":
    main()
