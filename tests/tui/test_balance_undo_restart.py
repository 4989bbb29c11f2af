"""ctrl+z renames a balance back after a restart, and after `loratui dataset balance` (hunt9: the undo
lived in memory only, so after a restart ctrl+z undid the tag edit before the balance instead)."""

from __future__ import annotations

from click.testing import CliRunner

from loratui.cli import cli
from tests.tui.test_dataset_screen import run, until


def test_ctrl_z_renames_back_a_balance_made_before_the_app_opened(tmp_path):
    from fixtures.tui_dataset import make_dataset

    root = make_dataset(tmp_path / "proj")
    img = root / "img"
    before = sorted(p.name for p in img.iterdir() if not p.name.startswith("."))
    result = CliRunner().invoke(cli, ["dataset", "balance", str(img), "--yes"], catch_exceptions=False)
    assert result.exit_code == 0 and "ctrl+z on the app's Dataset screen" in result.output
    renamed = sorted(p.name for p in img.iterdir() if not p.name.startswith("."))
    assert renamed != before

    async def scenario(app, pilot, img):
        await pilot.press("ctrl+z")
        await until(pilot, lambda: sorted(p.name for p in img.iterdir() if not p.name.startswith(".")) == before)
        assert not (img / ".loratui" / "balance.json").exists()

    import tests.tui.test_dataset_screen as harness

    original = harness.make_dataset
    harness.make_dataset = lambda path: root  # the app opens the project balanced above
    try:
        run(tmp_path, scenario)
    finally:
        harness.make_dataset = original
