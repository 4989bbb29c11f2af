"""ctrl+z of a balance while a training run trains from the folders: the folders are renamed back, and a
warning names the run (its repeats stay as it started; an uncached one stops at a renamed folder's image),
as the balance dialog warns before a balance."""

from __future__ import annotations

from fixtures.live_run_project import folders, notes, project
from fixtures.pilot_wait import until
from fixtures.tui_dataset import run_dataset_app

from loratui.tui.screens.balance_dialog import BalanceDialog


def test_ctrl_z_of_a_balance_warns_of_the_live_run(tmp_path):
    config = project(tmp_path / "p")
    img = tmp_path / "p" / "img"

    async def scenario(app, pilot):
        app.config_path = config
        await pilot.press("i", "b")
        await until(pilot, lambda: isinstance(app.screen, BalanceDialog), "the balance dialog")
        await pilot.press("enter")
        await until(pilot, lambda: folders(img) == ["2_a", "8_b"], "the folders renamed")
        await pilot.press("ctrl+z")
        await until(pilot, lambda: folders(img) == ["1_b", "2_a"], "the folders renamed back")
        await until(pilot, lambda: any("training run mochi" in n and "trains from these folders" in n
                                       for n in notes(app)), "the live-run warning")

    run_dataset_app(tmp_path, tmp_path / "p", scenario)
