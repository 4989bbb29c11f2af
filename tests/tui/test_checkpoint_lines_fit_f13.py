"""A week-long run's checkpoint lines wrapped in the 80x24 side panel (user test s12/h10):
"▶ e400 s200,000 0.0806 2img" with "final" alone on the next line. Steps from 100,000 on are short
(s200k), the kind comes before the sample count, and a line too long for the list is cut (…), never
wrapped: one screen line per save."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.app import App

from loratui.core.run_record import Checkpoint
from loratui.tui.widgets.checkpoint_list import CheckpointList, checkpoint_label, step_text


def _save(step: int, epoch: int, kind: str = "epoch", state: bool = True) -> Checkpoint:
    name = "week.safetensors" if kind == "final" else f"week-{epoch:06d}.safetensors"
    return Checkpoint(Path("/out") / name, kind, step, epoch, 0.0806, [Path("/out/a.png"), Path("/out/b.png")],
                      Path(f"/out/week-{epoch:06d}-state") if state else None)


def test_steps_from_100k_are_short():
    assert step_text(99_999) == "99,999"
    assert step_text(200_000) == "200k"
    assert step_text(196_500) == "196.5k"
    assert step_text(100_032) == "100,032"  # not a round number: exact, as the file's name says
    assert checkpoint_label(_save(200_000, 400, "final", state=False)) == "e400 s200k 0.0806 final 2img"
    assert checkpoint_label(_save(13, 1)) == "e1 s13 0.0806 2img +state"


class _SidePanel(App):
    # as #checkpoints in the Train screen's 30-column side panel (train.tcss), at 80x24
    CSS = "CheckpointList { width: 29; height: auto; max-height: 6; border: none; padding: 0; }"

    def compose(self):
        yield CheckpointList()


def test_each_save_is_one_screen_line_in_the_side_panel_and_final_stays_visible():
    async def scenario():
        app = _SidePanel()
        async with app.run_test(size=(80, 24)) as pilot:
            listed = app.query_one(CheckpointList)
            saves = [_save(step, step // 500) for step in range(197_500, 200_000, 500)]  # 5 + the final: all shown
            listed.set_checkpoints([*saves, _save(200_000, 400, "final")])
            await pilot.pause()
            await pilot.pause()
            await pilot.pause(0.1)
            lines = ["".join(segment.text for segment in listed.render_line(y)).rstrip() for y in range(6)]
            # the final (highlighted, newest) is on the last line shown, with its kind, on one line
            assert lines[-1].startswith("▶ e400 s200k 0.0806 final"), lines
            assert all(line.startswith(("  e", "▶ e")) for line in lines), lines  # no continuation lines
            assert "  e399 s199.5k 0.0806 2img +…" in lines  # cut at the list's width, marked
            assert all(len(line) <= listed.scrollable_content_region.width for line in lines)

    asyncio.run(scenario())
