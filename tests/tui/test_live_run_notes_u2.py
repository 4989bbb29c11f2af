"""h14 items 2 and 3: a balance, a caption edit or a config save while a training run from the project is
live says so. The balance (dialog and `dataset balance`) names the run and its pid, that the new repeats
apply from the next run and that a run without cached latents stops at a renamed folder's image, and still
renames when asked; a caption or config write says once per live run (not at every edit) that the run read
them at start; `loratui tags` says it on stderr."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from click.testing import CliRunner
from fixtures.live_run_project import NOTE, folders, notes, project
from fixtures.pilot_wait import until
from fixtures.tui_dataset import run_dataset_app
from textual.widgets import Static

from loratui.cli import cli
from loratui.tui.screens.balance_dialog import BalanceDialog
from loratui.core.project import live_run, live_run_on


# ---- which run is live ----------------------------------------------------------------------------

def test_a_live_lock_is_the_projects_run_and_a_stale_one_is_not(tmp_path):
    config = project(tmp_path / "p")
    run = live_run(config)
    assert (run.name, run.pid, run.caches_latents) == ("mochi", os.getpid(), False)
    assert run.trains_from(tmp_path / "p" / "img") and run.trains_from(tmp_path / "p" / "img" / "2_a")
    assert live_run_on(config, tmp_path / "elsewhere") is None
    assert live_run(None) is None

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = project(tmp_path / "q", pid=int(gone.stdout))
    assert live_run(stale) is None
    assert live_run(project(tmp_path / "r", live=False)) is None


def test_the_warning_says_what_happens_to_a_cached_and_an_uncached_run(tmp_path):
    uncached = live_run(project(tmp_path / "p")).balance_warning()
    assert uncached.startswith(f"training run mochi (pid {os.getpid()}) trains from these folders: the new repeats "
                               "apply from the next run")
    assert "(cache_latents = false) stops when it reaches an image of a renamed folder" in uncached
    assert uncached.endswith("as this one will (its config: cache_latents = false)")
    cached = live_run(project(tmp_path / "q", cached=True)).balance_warning()
    assert cached.endswith("this one caches them, so it goes on with the old repeats")


# ---- the CLI ------------------------------------------------------------------------------------------

def test_balance_yes_warns_on_stderr_and_renames(tmp_path):
    project(tmp_path / "p")
    img = tmp_path / "p" / "img"
    result = CliRunner().invoke(cli, ["dataset", "balance", str(img), "--yes"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith(f"warning: training run mochi (pid {os.getpid()}) trains from these folders")
    assert "renamed 1 folder(s)" in result.stdout and folders(img) == ["2_a", "8_b"]


def test_balance_asks_naming_the_run_and_undo_warns_too(tmp_path, monkeypatch):
    from loratui.commands import dataset_cmd

    monkeypatch.setattr(dataset_cmd, "_interactive", lambda: True)
    project(tmp_path / "p")
    img = tmp_path / "p" / "img"
    result = CliRunner().invoke(cli, ["dataset", "balance", str(img)], input="n\n", catch_exceptions=False)
    assert f"Rename 1 folder(s) while training run mochi (pid {os.getpid()}) trains from them?" in result.stdout
    assert "warning: training run mochi" in result.stderr and folders(img) == ["1_b", "2_a"]
    assert CliRunner().invoke(cli, ["dataset", "balance", str(img), "--yes"]).exit_code == 0
    back = CliRunner().invoke(cli, ["dataset", "balance", str(img), "--undo"], input="y\n", catch_exceptions=False)
    assert "Rename 1 folder(s) back while training run mochi" in back.stdout
    assert "warning: training run mochi" in back.stderr and folders(img) == ["1_b", "2_a"]


def test_balance_without_a_live_run_says_nothing_of_one(tmp_path):
    project(tmp_path / "p", live=False)
    result = CliRunner().invoke(cli, ["dataset", "balance", str(tmp_path / "p" / "img"), "--yes"])
    assert result.exit_code == 0 and "training run" not in result.output


def test_tags_writing_notes_the_live_run_on_stderr(tmp_path):
    project(tmp_path / "p")
    result = CliRunner().invoke(cli, ["tags", "add", str(tmp_path / "p" / "img"), "fixed", "--yes"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [f"note: training run mochi (pid {os.getpid()}) {NOTE}"]
    project(tmp_path / "q", live=False)
    quiet = CliRunner().invoke(cli, ["tags", "add", str(tmp_path / "q" / "img"), "fixed", "--yes"])
    assert quiet.exit_code == 0 and quiet.stderr == ""


# ---- the app ------------------------------------------------------------------------------------------

def test_the_balance_dialog_warns_and_enter_still_renames(tmp_path):
    config = project(tmp_path / "p")
    img = tmp_path / "p" / "img"

    async def scenario(app, pilot):
        app.config_path = config
        await pilot.press("i", "b")
        await until(pilot, lambda: isinstance(app.screen, BalanceDialog), "the balance dialog")
        dialog = app.screen
        live = dialog.query_one("#balance-live", Static)
        assert live.display and live.render().plain.startswith(
            f"! training run mochi (pid {os.getpid()}) trains from these folders")
        assert "Enter rename 1 folder anyway" in dialog.query_one("#balance-keys", Static).render().plain
        await pilot.press("enter")
        await until(pilot, lambda: folders(img) == ["2_a", "8_b"], "the folders renamed")

    run_dataset_app(tmp_path, tmp_path / "p", scenario)


def test_no_live_run_no_warning_line(tmp_path):
    config = project(tmp_path / "p", live=False)

    async def scenario(app, pilot):
        app.config_path = config
        await pilot.press("i", "b")
        await until(pilot, lambda: isinstance(app.screen, BalanceDialog), "the balance dialog")
        assert not app.screen.query_one("#balance-live", Static).display
        assert "anyway" not in app.screen.query_one("#balance-keys", Static).render().plain

    run_dataset_app(tmp_path, tmp_path / "p", scenario)


def test_caption_edits_note_the_live_run_once(tmp_path):
    config = project(tmp_path / "p")
    img = tmp_path / "p" / "img"

    async def scenario(app, pilot):
        app.config_path = config
        await pilot.press("a", *"one", "enter")
        await until(pilot, lambda: any(NOTE in n for n in notes(app)), "the note")
        await pilot.press("a", *"two", "enter")
        await until(pilot, lambda: any("two" in p.read_text() for p in img.rglob("*.txt")), "the second edit saved")
        await pilot.pause(0.3)
        assert sum(NOTE in n for n in notes(app)) == 1

    run_dataset_app(tmp_path, tmp_path / "p", scenario)


def test_a_config_save_notes_the_live_run(tmp_path):
    from loratui.core.dataset import locate_dataset
    from loratui.tui.app import LoratuiApp

    config = project(tmp_path / "p")
    app = LoratuiApp(locate_dataset(tmp_path / "p"), config_path=config, settings_file=tmp_path / "tui.toml",
                     keymap_file=tmp_path / "k.toml", watch=False)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await app.switch_mode("settings")
            await pilot.pause()
            await pilot.press("ctrl+g", *"network_dim", "enter")
            await pilot.pause()
            await pilot.press("ctrl+u", *"32")
            await pilot.pause()
            await pilot.press("ctrl+s")
            await until(pilot, lambda: "network_dim = 32" in config.read_text(), "the save")
            await until(pilot, lambda: any(NOTE in n for n in notes(app)), "the note")

    asyncio.run(main())
