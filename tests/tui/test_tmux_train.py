"""The demo as a user runs it over SSH: `loratui demo` in a detached 80x24 tmux session, start
training on the Train screen by keys, close the app (the run goes on), `loratui attach`, and see
the run finish. Skipped only when tmux is missing.

The demo project is built first (the same prepare_project `loratui demo` calls, which then reuses it)
at 64 px instead of 128: two epochs (24 steps instead of 26: other buckets), the epoch save and the
sample as before, ~10 s of CPU training instead of ~2 min (the tiny VAE only halves the size: 64x64
latents at 128 px). The shipped demo config's own training run is test_demo_cmd's headless demo."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from test_tmux import LORATUI, Tmux, _env  # noqa: F401 - the shared tmux driver

pytestmark = [pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
              pytest.mark.slow]


def _small_demo(root: Path) -> None:
    from loratui.commands.demo_cmd import prepare_project
    from loratui.core.config import load_config, save_config

    _, built = prepare_project(root)
    assert built
    cfg = load_config(root / "config.toml")
    assert cfg.dataset.resolution == (128, 128)  # the demo's own: if it changes, look at this test again
    cfg.dataset.resolution = (64, 64)
    cfg.dataset.max_bucket_reso = 128
    save_config(cfg, root / "config.toml")


def test_demo_train_detach_reattach_finish(tmp_path):
    env = _env(tmp_path)
    _small_demo(tmp_path / "loratui-demo")
    app = Tmux(tmp_path, "xterm-256color")
    try:
        app.start(f"{LORATUI} demo --dir {tmp_path / 'loratui-demo'}", env)
        app.wait_for("000_red_circle", timeout=120)   # the demo project is built and the app is open
        deadline = time.monotonic() + 60  # captions read: the count, or the first image's problem, in the status line
        while not any(word in app.screen() for word in ("8 images", "repeats tags")):
            assert time.monotonic() < deadline, app.screen()
            time.sleep(0.2)
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
