"""The runs picker on a crashed run started from a shell (user test s12/h5, f5 #6): it has no NAME.log, so
the detail says so and shows the end of its events, rather than "its log ends:" over the events."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from types import SimpleNamespace

from textual.app import App

from loratui.core import runs
from loratui.core.events import events_path, lock_path, make_event
from loratui.tui.screens.run_picker import RunPicker, list_for_picker


def _screen_text(app) -> str:
    return "\n".join("".join(segment.text for segment in strip) for strip in app.screen._compositor.render_strips())


def test_a_crashed_shell_run_says_it_has_no_log_and_shows_its_events(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    events = [make_event("run_started", config="/p/config.toml", output_dir=str(out), output_name="x", model={},
                         dataset={}, schedule={"total_steps": 6, "epochs": 1}, resumed_from=None, pid=1),
              make_event("step", step=1, total_steps=6, epoch=1, loss=0.5, avg_loss=0.5, lr=1e-3, images_per_s=2.0,
                         eta_s=1.0),
              make_event("checkpoint_saved", path=str(out / "x-step00000001.safetensors"), kind="step", step=1,
                         epoch=1)]
    events_path(out, "x").write_text("".join(json.dumps(e) + "\n" for e in events))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])  # killed with -9: its lock's pid is gone
    dead.wait()
    lock_path(out, "x").write_text(f"{dead.pid} -\n")
    folders, entries, problem = list_for_picker(SimpleNamespace(list_runs=runs.list_runs), None, out)
    assert problem is None and [e.summary.status for e in entries] == ["crashed"]
    assert entries[0].log_file is False and "step 1: saved x-step00000001.safetensors" in entries[0].log

    class Host(App):
        async def on_mount(self) -> None:
            await self.push_screen(RunPicker(entries, folders, None))

    async def main():
        app = Host()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            app.screen.query_one("#run-options").highlighted = 0
            for _ in range(20):  # the detail follows the highlight a message later
                await pilot.pause(0.05)
                text = _screen_text(app)
                if "gone without finishing" in text:
                    break
            assert "no x.log (started from a shell): its events end:" in text and "its log ends" not in text
            assert "step 1: saved x-step00000001.safetensors" in text

    asyncio.run(main())
