"""The Settings panels follow images added or removed on disk while they are shown (hunt s16/h3 item 2).

Settings hands the calculator and the VRAM panel the app store's scan, so the calculator's two-second look
at the disk never ran: 300 images copied into a concept folder left "4200 steps" while `loratui steps`
said 19200. Now both panels follow the disk whoever owns the scan (widgets.followed_scan), and a change
of captions only (a caption run, a tag edit: caption files renamed into the folder) scans nothing again
(services.disk_scan). pytest-asyncio is not installed: each Pilot test runs in asyncio.run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
import time
from pathlib import Path

from test_settings_form import run, until
from test_step_calculator import cli_json, make_images, reset_state, small_project
from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widgets import Static

from loratui.core.config import load_config
from loratui.core.plan import scan_for_config
from loratui.tui.services import disk_scan
from loratui.tui.widgets import followed_scan, step_calculator
from loratui.tui.widgets.step_calculator import StepCalculator
from loratui.tui.widgets.vram_panel import VramPanel

CONFIG = """\
[dataset]
train_data_dir = "img"
resolution = 512

[training]
max_train_epochs = 10
train_batch_size = 1
"""


def fast_polls(monkeypatch, tmp_path: Path) -> list[Path]:
    """Polls every 0.1 s, and a list of the train folders scanned (each full scan, counted)."""
    reset_state(monkeypatch, tmp_path)
    disk_scan.forget()
    monkeypatch.setattr(step_calculator, "POLL_SECONDS", 0.1)
    monkeypatch.setattr(followed_scan, "POLL_SECONDS", 0.1)
    scans: list[Path] = []
    real = disk_scan.scan_or_error

    def counted(cfg):
        scans.append(Path(cfg.dataset.train_data_dir))
        return real(cfg)

    monkeypatch.setattr(disk_scan, "scan_or_error", counted)
    return scans


def copy_captioned(source: Path, folder: Path, count: int) -> None:
    """``count`` captioned images as `cp stage300/* 5_cat/` gives them."""
    for i in range(count):
        shutil.copyfile(source, folder / f"new{i:03d}.png")
        (folder / f"new{i:03d}.txt").write_text(f"new, tag{i}", encoding="utf-8")


def rewrite_caption(path: Path, text: str) -> None:
    """As the app's atomic write does: a temp file in the same folder renamed over it (the folder's mtime moves)."""
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


# ---- services.disk_scan -------------------------------------------------------------------------------


def test_recheck_tells_images_from_captions(tmp_path, monkeypatch):
    scans = fast_polls(monkeypatch, tmp_path)
    cfg = load_config(small_project(tmp_path))
    key, scan = disk_scan.scan_now(cfg)
    assert len(scans) == 1 and disk_scan.scan_now(cfg) == (key, scan) and len(scans) == 1  # cached
    assert disk_scan.recheck(cfg, key) == ("same", key)
    time.sleep(0.01)  # a coarse mtime clock must see the change
    rewrite_caption(tmp_path / "img" / "10_alice" / "000.txt", "alice, frown")
    verdict, kept = disk_scan.recheck(cfg, key)
    assert verdict == "kept" and kept != key and disk_scan.scan_now(cfg) == (kept, scan) and len(scans) == 1
    rewrite_caption(tmp_path / "img" / "10_alice" / "000.txt", "")  # an empty caption: a scan error, a note
    assert disk_scan.recheck(cfg, kept)[0] == "changed"
    rewrite_caption(tmp_path / "img" / "10_alice" / "000.txt", "alice")
    assert disk_scan.recheck(cfg, kept)[0] == "kept"
    make_images(tmp_path / "img" / "3_bob", [(64, 64)] * 5)  # 000-003 rewritten, 004 new
    verdict, changed = disk_scan.recheck(cfg, kept)
    assert verdict == "changed"
    assert disk_scan.scan_now(cfg)[1].subsets != scan.subsets and len(scans) == 2


def test_two_panels_asking_together_scan_once(tmp_path, monkeypatch):
    scans = fast_polls(monkeypatch, tmp_path)
    cfg = load_config(small_project(tmp_path))
    gate = threading.Event()
    counted = disk_scan.scan_or_error

    def slow(cfg):
        gate.wait(5)
        return counted(cfg)

    monkeypatch.setattr(disk_scan, "scan_or_error", slow)
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(disk_scan.scan_now(cfg))) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    gate.set()
    for t in threads:
        t.join(10)
    assert len(answers) == 2 and answers[0][1] is answers[1][1] and len(scans) == 1


# ---- the calculator and the VRAM panel, given a host's scan ---------------------------------------------


class PanelsApp(App):
    def compose(self) -> ComposeResult:
        yield StepCalculator(id="calc")
        yield VramPanel(id="vram")


def test_a_hosts_scan_follows_images_copied_in_and_deleted(tmp_path, monkeypatch):
    scans = fast_polls(monkeypatch, tmp_path)
    path = small_project(tmp_path)
    folder = tmp_path / "img" / "3_bob"

    async def main():
        app = PanelsApp()
        async with app.run_test(size=(80, 24)) as pilot:
            calc, vram = app.query_one(StepCalculator), app.query_one(VramPanel)
            cfg = load_config(path)
            host = scan_for_config(cfg)  # what Settings hands over: the app store's scan
            calc.update_config(cfg, host)
            vram.update_config(cfg, host)
            assert calc.numbers() == cli_json(path)  # the host's scan at once
            await until(pilot, lambda: len(scans) == 1 and calc._disk.key is not None and vram._disk.key is not None)
            await pilot.pause(0.3)
            assert len(scans) == 1  # one scan for both panels, none again while nothing changes
            before = calc.numbers()["total_steps"]
            copy_captioned(folder / "000.png", folder, 30)
            await until(pilot, lambda: calc.numbers().get("total_steps") != before, timeout=5)
            assert calc.numbers() == cli_json(path)
            await until(pilot, lambda: vram._scan is not None and vram._scan.subsets == calc._scan.subsets)
            shown = str(calc.query_one("#calc-numbers", Static).render())
            assert f"Total: {calc.numbers()['total_steps']} steps" in shown and " 3 x 34 = 102" in shown
            for image in folder.glob("new*"):
                image.unlink()
            await until(pilot, lambda: calc.numbers().get("total_steps") == before, timeout=5)
            assert calc.numbers() == cli_json(path)
            # a config edit after a change: the disk's scan (cached), never the host's stale one again
            copy_captioned(folder / "000.png", folder, 10)
            await until(pilot, lambda: calc.numbers().get("samples_per_epoch") == 90 + 3 * 14, timeout=5)
            cfg.training.max_train_epochs = 4
            calc.update_config(cfg, host)
            assert calc.numbers()["samples_per_epoch"] == 132 and calc.numbers()["epochs"] == 4
            vram.update_config(cfg, host)
            assert vram._scan is calc._scan

    asyncio.run(main())


class CalcScreen(Screen):
    def compose(self) -> ComposeResult:
        yield StepCalculator(id="calc")


class ModesApp(App):
    """The calculator on a screen of its own mode, and another mode to switch to (as the app's 1 and 3)."""

    MODES = {"calc": CalcScreen, "other": Screen}

    async def on_mount(self) -> None:
        await self.switch_mode("calc")


def test_a_stale_hosts_scan_is_corrected_and_captions_alone_scan_nothing(tmp_path, monkeypatch):
    scans = fast_polls(monkeypatch, tmp_path)
    path = small_project(tmp_path)
    cfg = load_config(path)
    stale = scan_for_config(cfg)
    make_images(tmp_path / "img" / "4_carol", [(64, 64)] * 5)  # before the panel is given the scan

    async def main():
        app = ModesApp()
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.screen.query(StepCalculator))
            calc = app.screen.query_one(StepCalculator)
            calc.update_config(cfg, stale)
            await until(pilot, lambda: calc.numbers() == cli_json(path), timeout=5)
            assert len(scans) == 1
            for i in range(5):  # a caption run: caption files renamed into the folders, no image changed
                rewrite_caption(tmp_path / "img" / "4_carol" / f"{i:03d}.txt", f"carol, tag{i}")
                await pilot.pause(0.25)
            assert len(scans) == 1 and calc.numbers() == cli_json(path)
            await app.switch_mode("other")  # another screen shown (as Dataset after Settings): not polled
            await pilot.pause(0.1)
            make_images(tmp_path / "img" / "4_carol", [(64, 64)] * 7)
            await pilot.pause(0.5)
            assert len(scans) == 1
            await app.switch_mode("calc")
            await until(pilot, lambda: calc.numbers() == cli_json(path), timeout=5)
            assert len(scans) == 2

    asyncio.run(main())


# ---- the Settings screen, as the user met it ------------------------------------------------------------


def test_settings_follows_images_copied_while_it_is_shown(tmp_path, monkeypatch):
    """The repro: Settings shows the app store's scan; images copied into a concept folder show within
    about two seconds (polled at 0.1 s here) and equal `loratui steps`; the store's scan is not rescanned."""
    fast_polls(monkeypatch, tmp_path)

    async def scenario(app, pilot, root):
        app.store.scan = app.store.read_scan()  # what the Dataset screen had scanned
        stale = app.store.scan
        screen = app.screen
        screen.update_panels(screen.form.current_config())
        calc, vram = screen.query_one(StepCalculator), screen.query_one(VramPanel)
        config = root / "proj.toml"
        await until(pilot, lambda: calc.numbers() == cli_json(config))
        assert calc.numbers()["total_steps"] == 10 * (10 * 4 + 5 * 2)
        copy_captioned(root / "img" / "5_bob" / "b01.png", root / "img" / "5_bob", 30)
        await until(pilot, lambda: calc.numbers().get("total_steps") == 10 * (10 * 4 + 5 * 32), timeout=5)
        assert calc.numbers() == cli_json(config)
        assert "Total: 2000 steps" in str(calc.query_one("#calc-numbers", Static).render())
        await until(pilot, lambda: vram._scan is not None and vram._scan.subsets == calc._scan.subsets)
        assert app.store.scan is stale  # the panels scanned the config's folders themselves
        for image in (root / "img" / "5_bob").glob("new*"):
            image.unlink()
        await until(pilot, lambda: calc.numbers().get("total_steps") == 500, timeout=5)

    run(tmp_path, scenario, config=CONFIG)
