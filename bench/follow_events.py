"""Following a long run from its start: a 100 MB events file (about 470,000 step events, with
epoch ends, checkpoints and samples between them) read the way the TUI's run service reads it
(core.events.EventFollower 4 MiB at a time, core.runs.feed_lines into a RunRecord and a LossSeries).
Target: under 2 s. Also the loss series' memory for 100,000 steps (it must stay flat).
Prints the times, the ratio time/target (below 1 meets the target) and the memory.

    .venv/bin/python bench/follow_events.py [--mb 100]
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

from loratui.core.events import EventFollower, make_event
from loratui.core.runs import LossSeries
from loratui.tui.services.runs import CHUNK_BYTES, FollowedRun

TARGET_S = 2.0


def write_events(path: Path, megabytes: int) -> int:
    """A realistic events file of about ``megabytes`` MB; returns the number of step events."""
    limit, steps_per_epoch, step = megabytes * 1_000_000, 1000, 0
    with open(path, "w", encoding="utf-8") as out:
        out.write(json.dumps(make_event("run_started", config="/p/config.toml", output_dir=str(path.parent),
                                        output_name="bench", model={"family": "sdxl"}, dataset={},
                                        schedule={"total_steps": 10**6, "epochs": 1000}, pid=1)) + "\n")
        while out.tell() < limit:
            step += 1
            epoch = (step - 1) // steps_per_epoch + 1
            loss = 0.05 + 0.1 / (1 + step / 5000) + (step * 7919 % 1000) / 20000
            out.write(json.dumps(make_event("step", step=step, total_steps=10**6, epoch=epoch, loss=round(loss, 6),
                                            avg_loss=round(loss, 6), lr=1e-4, images_per_s=12.345,
                                            eta_s=12345.6, peak_vram_gib=11.234)) + "\n")
            if step % steps_per_epoch == 0:
                out.write(json.dumps(make_event("epoch_end", epoch=epoch, step=step, avg_loss=0.1)) + "\n")
                path_ = f"{path.parent}/bench-{epoch:06d}.safetensors"
                out.write(json.dumps(make_event("checkpoint_saved", path=path_, kind="epoch", step=step,
                                                epoch=epoch)) + "\n")
                out.write(json.dumps(make_event("sample_saved", paths=[f"{path.parent}/sample/{step}.png"],
                                                step=step, epoch=epoch)) + "\n")
    return step


def follow_from_start(folder: Path) -> tuple[float, FollowedRun]:
    run = FollowedRun(folder, "bench")
    follower = EventFollower(run.key)
    started = time.perf_counter()
    while True:
        run.feed(follower.poll_lines(CHUNK_BYTES))
        if follower.at_end:
            break
    return time.perf_counter() - started, run


def series_memory(steps: int = 100_000) -> tuple[int, int]:
    """Bytes the series holds after ``steps`` steps, and after 10x as many (flat means equal-ish)."""
    sizes = []
    for count in (steps, steps * 10):
        tracemalloc.start()
        series = LossSeries()
        for step in range(1, count + 1):
            series.add(step, 0.1, 1e-4)
        sizes.append(tracemalloc.get_traced_memory()[0])
        tracemalloc.stop()
        del series
    return sizes[0], sizes[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        steps = write_events(folder / "bench.events.jsonl", args.mb)
        size = (folder / "bench.events.jsonl").stat().st_size
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        times = []
        for _ in range(3):
            elapsed, run = follow_from_start(folder)
            times.append(elapsed)
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        snap = run.snapshot()
        assert snap.step == steps and len(snap.checkpoints) == steps // 1000, (snap.step, steps)
        best, worst = min(times), max(times)
        print(f"follow from the start: {size / 1e6:.0f} MB, {steps:,} steps, {len(snap.checkpoints)} checkpoints: "
              f"best {best:.2f} s, worst {worst:.2f} s of 3; target {TARGET_S:.0f} s, ratio worst/target "
              f"{worst / TARGET_S:.2f}; series {len(run.series)} points (width {run.series.width}); "
              f"peak RSS grew {(rss_after - rss_before) / 1024:.0f} MiB while following")
    small, large = series_memory()
    print(f"loss series memory: {small / 1024:.0f} KiB for 100,000 steps, {large / 1024:.0f} KiB for 1,000,000 "
          f"(flat: ratio {large / small:.2f})")


if __name__ == "__main__":
    main()
