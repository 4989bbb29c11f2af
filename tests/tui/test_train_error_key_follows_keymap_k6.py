"""K6: the Train screen's error line names the key keymap.toml binds to "open the setting" (it said "o"
whatever the keymap), or its palette command where the keymap left it none. Recorded runs, no torch."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixtures.pilot_wait import until  # noqa: E402
from test_train_screen import make_app, make_project, pick, run_app, write_recorded  # noqa: E402

ERROR = {"event": "error", "time": 1796031790.0, "kind": "config", "hint": "fix the config and start again",
         "message": "network.network_dim: must be an integer from 1 to 1024"}
DONE = {"event": "finished", "time": 1796031790.0, "reason": "error", "step": 9, "epoch": 3, "output": None,
        "elapsed_s": 30.0}


@pytest.mark.parametrize(("keymap", "named"), [
    ('[keys]\n"train.open_setting" = "f9"\n', "(f9: open network_dim)"),
    ('[keys]\n"train.open_setting" = "f9"\n"train.stop" = "f9"\n',  # f9 taken from it: no key left
     "('train: open the setting the error points at' (ctrl+p): open network_dim)"),
])
def test_the_error_line_names_the_keymaps_open_setting_key(tmp_path, keymap, named):
    config = make_project(tmp_path)
    write_recorded(tmp_path, lines=12, extra=[ERROR, DONE])
    (tmp_path / "k.toml").write_text(keymap, encoding="utf-8")

    async def scenario(pilot, screen):
        await pick(pilot, screen.app, "ERROR")
        await until(pilot, lambda: screen.snapshot and screen.snapshot.caught_up, "caught up")
        line = str(screen.query_one("#run-error").render())
        assert line.startswith(f"✗ config problem {named}: network.network_dim"), line
        assert "(o: open" not in line

    run_app(make_app(tmp_path, config), scenario)
