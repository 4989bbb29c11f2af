"""ctrl+z reads the balance record when it is pressed: `loratui dataset balance` run in another shell
while the app is open is renamed back (the record was read once per session, at the first ctrl+z), and
so are chain and swap balances (refused before: their old names are the plan's own new ones)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from click.testing import CliRunner
from fixtures.tui_dataset import make_dataset

from loratui.cli import cli
from loratui.core.dataset import locate_dataset
from loratui.tui.app import LoratuiApp
from tests.tui.test_dataset_screen import _loaded, until


def layout(img: Path) -> dict[str, list[str]]:
    return {p.name: sorted(f.name for f in p.iterdir()) for p in sorted(img.iterdir()) if not p.name.startswith(".")}


def run_on(tmp_path: Path, root: Path, scenario) -> None:
    app = LoratuiApp(locate_dataset(root), settings_file=tmp_path / "cfg" / "tui.toml",
                     keymap_file=tmp_path / "cfg" / "keymap.toml", themes_dir=tmp_path / "themes", watch=False)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await _loaded(app, pilot)
            await scenario(app, pilot, root / "img")

    asyncio.run(main())


def balance_outside(img: Path, *extra: str) -> None:
    result = CliRunner().invoke(cli, ["dataset", "balance", str(img), "--yes", *extra], catch_exceptions=False)
    assert result.exit_code == 0, result.output


def names_of(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


def test_a_balance_run_in_another_shell_while_the_app_is_open_is_undone(tmp_path):
    root = make_dataset(tmp_path / "proj")

    async def scenario(app, pilot, img):
        before = layout(img)
        await pilot.press("ctrl+z")  # read the record once already (nothing to undo yet)
        await until(pilot, lambda: any("nothing to undo" in m for m in names_of(app)))
        balance_outside(img)
        assert layout(img) != before
        await pilot.press("ctrl+z")
        await until(pilot, lambda: layout(img) == before)
        assert not (img / ".loratui" / "balance.json").exists()
        assert any("undid balance repeats" in m for m in names_of(app))

    run_on(tmp_path, root, scenario)


def test_a_chain_balance_is_renamed_back(tmp_path):
    captions = {f"2_a/a{i}.png": "a" for i in range(4)} | {f"4_a/b{i}.png": "b" for i in range(2)}
    root = make_dataset(tmp_path / "proj", captions)

    async def scenario(app, pilot, img):
        before = layout(img)
        balance_outside(img, "--target", "16")  # 4_a -> 8_a, then 2_a -> 4_a
        assert sorted(layout(img)) == ["4_a", "8_a"]
        await pilot.press("ctrl+z")
        await until(pilot, lambda: layout(img) == before)

    run_on(tmp_path, root, scenario)


def test_a_swap_balance_is_renamed_back_and_no_folder_stays_hidden(tmp_path):
    captions = {f"2_a/a{i}.png": "a" for i in range(2)} | {f"4_a/b{i}.png": "b" for i in range(4)}
    root = make_dataset(tmp_path / "proj", captions)

    async def scenario(app, pilot, img):
        before = layout(img)
        balance_outside(img, "--target", "8")  # 2_a <-> 4_a
        assert layout(img)["2_a"] == before["4_a"]
        await pilot.press("ctrl+z")
        await until(pilot, lambda: layout(img) == before)
        assert not [p for p in img.iterdir() if p.name.startswith(".loratui-balance-")]
        await pilot.pause(0.2)
        assert len(app.store.rows) == 6  # listed again under the old names

    run_on(tmp_path, root, scenario)
