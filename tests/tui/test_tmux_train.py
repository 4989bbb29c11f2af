"""The demo as a user runs it over SSH: `loratui demo` in a detached 80x24 tmux session, start
training on the Train screen by keys, close the app (the run goes on), `loratui attach`, and see
the run finish. Skipped only when tmux is missing. About a minute of CPU training."""

from __future__ import annotations

import shutil
import time

import pytest

from test_tmux import LORATUI, Tmux, _env  # noqa: F401 - the shared tmux driver

pytestmark = [pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
              pytest.mark.slow]


def test_demo_train_detach_reattach_finish(tmp_path):
    env = _env(tmp_path)
    app = Tmux(tmp_path, "xterm-256color")
    try:
        app.start(f"{LORATUI} demo --dir {tmp_path / 'loratui-demo'}", env)
        app.wait_for("000_red_circle", timeout=120)   # the demo project is built and the app is open
        app.wait_for("8 images", timeout=60)
        app.keys("4")
        app.wait_for("no runs yet")
        app.keys("s")
        app.wait_for("$ loratui train")
        app.keys("Enter")
        app.wait_for("● LIVE", timeout=120)
        app.keys("C-q")                                  # close the app: the run is its own session
        deadline = time.monotonic() + 10
        while "LIVE" in app.screen() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        app.kill()
    model = tmp_path / "loratui-demo" / "model"
    assert (model / "shapes_demo.events.jsonl").exists()
    again = Tmux(tmp_path / "loratui-demo", "xterm-256color")
    try:
        again.start(f"{LORATUI} attach {model}", env)
        again.wait_for("shapes_demo ·", timeout=60)    # the Train screen follows the run from its start
        again.wait_for("✓ COMPLETED shapes_demo", timeout=300)
        assert (model / "shapes_demo.safetensors").exists()
        again.keys("C-q")
    finally:
        again.kill()
