"""Settings shown again (h9: the slowest screen to show): the screen is current and drawn before the file
checks run, those run in a thread, and the problem lines of the last check stay until the new ones land."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

from fixtures.tui_dataset import make_dataset

from loratui.core.dataset import locate_dataset
from loratui.tui.app import LoratuiApp
from loratui.tui.screens import config_actions
from loratui.tui.screens.settings import SettingsScreen

CONFIG = """\
[model]
pretrained_model_name_or_path = "no-such-model.safetensors"

[training]
max_train_epochs = 2
"""


async def until(pilot, test, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not test():
        assert time.monotonic() < deadline, f"never: {what}"
        await pilot.pause(0.05)


def test_the_screen_shows_before_the_file_checks_and_keeps_the_last_lines_until_new_ones(tmp_path: Path, monkeypatch):
    root = make_dataset(tmp_path / "proj")
    (root / "proj.toml").write_text(CONFIG, encoding="utf-8")
    app = LoratuiApp(locate_dataset(root), config_path=root / "proj.toml", settings_file=tmp_path / "tui.toml",
                     keymap_file=tmp_path / "k.toml", watch=False)
    real = config_actions.file_problems
    gate, checks = threading.Event(), []

    def held_check(cfg):  # the resume's check: held until the test lets it answer
        checks.append(threading.current_thread() is threading.main_thread())
        gate.wait(10)
        return [*real(cfg), "sample_prompts: a problem found by the new check"]

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("3")
            screen = app.settings_screen()
            await until(pilot, lambda: any("no-such-model" in p for p in screen.form.file_problems), "first check")
            before = list(screen.form.file_problems)
            await pilot.press("1")
            await pilot.pause()
            monkeypatch.setattr(config_actions, "file_problems", held_check)
            await pilot.press("3")
            await until(pilot, lambda: checks, "the check of the resume")
            assert isinstance(app.screen, SettingsScreen) and checks == [False]  # in a thread, the screen shown
            await pilot.pause(0.2)
            assert screen.form.file_problems == before  # the last lines stand meanwhile
            gate.set()
            await until(pilot, lambda: screen.form.file_problems != before, "the new lines")
            assert "a problem found by the new check" in " ".join(screen.form.file_problems)

    asyncio.run(main())


def test_a_resume_left_at_once_does_no_follow_up_work(tmp_path: Path, monkeypatch):
    root = make_dataset(tmp_path / "proj")
    (root / "proj.toml").write_text(CONFIG, encoding="utf-8")
    app = LoratuiApp(locate_dataset(root), config_path=root / "proj.toml", settings_file=tmp_path / "tui.toml",
                     keymap_file=tmp_path / "k.toml", watch=False)
    follow_ups = []

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("3")
            await pilot.pause()
            screen = app.settings_screen()
            monkeypatch.setattr(screen, "update_panels", lambda cfg: follow_ups.append(cfg))
            await app.switch_mode("dataset")
            await pilot.pause()
            screen.on_screen_resume()  # the resume's follow-up comes after the next refresh: Settings is gone by then
            await pilot.pause()
            assert follow_ups == []
            await pilot.press("3")
            await until(pilot, lambda: follow_ups, "the follow-up of a resume that stays")

    asyncio.run(main())
