"""`c` (continue from) on a checkpoint while a run writes the same output is refused at once, as `e` is:
no epochs dialog, no command dialog first. Recorded run, no torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixtures.pilot_wait import until  # noqa: E402
from test_train_refused_and_newest_state import write_state  # noqa: E402
from test_train_screen import make_app, make_project, pick, run_app, said, write_recorded  # noqa: E402

from loratui.core.events import lock_path  # noqa: E402
from loratui.tui.screens.train import TrainScreen  # noqa: E402


def test_continue_from_while_a_run_is_live_is_refused_at_once(tmp_path):
    config = make_project(tmp_path)
    out = write_recorded(tmp_path)
    write_state(out / "tiny-state", 48, 12)  # the final's state, complete
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        async def scenario(pilot, screen: TrainScreen):
            app = screen.app
            await pick(pilot, app, "COMPLETED")
            await until(pilot, lambda: screen.snapshot and screen.snapshot.caught_up, "caught up")
            lock_path(out, "tiny").write_text(f"{live.pid} -\n")  # another run took the output since
            await pilot.press("c")
            await said(pilot, app, lambda n: n == f"cannot continue from tiny.safetensors: tiny is still "
                       f"running (pid {live.pid}): stop it first, or wait until it ends", "refused at once")
            assert app.screen is screen  # no dialog was opened

        run_app(make_app(tmp_path, config), scenario)
    finally:
        live.kill()
        live.wait()
