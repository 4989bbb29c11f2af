"""A new project's config created from Settings when the app was opened with a relative folder
(`cd /tmp/x && loratui bob`, README steps 1 and 4): ctrl+s proposes bob/bob.toml and Enter writes it
there (it proposed bob/bob.toml read against bob/, "bob/bob is not a folder")."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fixtures.tui_dataset import make_dataset
from test_settings_form import until

from loratui.core.config import load_config
from loratui.core.dataset import locate_dataset
from loratui.tui.app import LoratuiApp
from loratui.tui.screens.settings import SettingsScreen


def test_ctrl_s_creates_the_proposed_config_when_the_project_was_given_relative_to_the_cwd(tmp_path, monkeypatch):
    make_dataset(tmp_path / "bob")
    monkeypatch.chdir(tmp_path)  # the working directory holds the project: `loratui bob`
    app = LoratuiApp(locate_dataset(Path("bob")), config_path=None, settings_file=tmp_path / "tui.toml",
                     keymap_file=tmp_path / "k.toml", watch=False)
    target = tmp_path / "bob" / "bob.toml"

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            app.add_mode("settings2", SettingsScreen)
            await app.switch_mode("settings2")
            await pilot.pause()
            await pilot.press("ctrl+s")
            await until(pilot, lambda: type(app.screen).__name__ == "PathDialog")
            dialog = app.screen
            assert not dialog.problem, dialog.problem
            assert dialog.path.absolute() == target
            await pilot.press("enter")
            await until(pilot, lambda: target.exists() and app.config_path is not None)
            assert Path(app.config_path).absolute() == target
            assert not (tmp_path / "bob" / "bob").exists()

    asyncio.run(main())
    assert load_config(target).dataset.train_data_dir == "img"
