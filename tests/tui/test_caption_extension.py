"""The app reads the captions the config names (caption_extension ".caption", kohya's default), not
always .txt: a kohya user's captions were shown as missing and edits went to .txt files that
training never reads."""

from __future__ import annotations

import asyncio

from fixtures.bad_inputs import make_project
from textual.widgets import Input

from loratui.core.dataset import locate_dataset, missing_caption_problem
from loratui.tui.app import LoratuiApp
from loratui.tui.services.dataset_store import config_caption_extension
from tests.tui.test_dataset_screen import _loaded, until


def test_config_caption_extension_is_read_tolerantly(tmp_path):
    good = tmp_path / "a.toml"
    good.write_text('[dataset]\ncaption_extension = ".caption"\n')
    assert config_caption_extension(good) == ".caption"
    bad = tmp_path / "b.toml"
    bad.write_text('[dataset]\ncaption_extension = "caption"\n')  # not an extension: Settings names it
    assert config_caption_extension(bad) == ".txt"
    broken = tmp_path / "c.toml"
    broken.write_text("[dataset\n")
    assert config_caption_extension(broken) == ".txt"
    assert config_caption_extension(None) == ".txt"
    assert config_caption_extension(tmp_path / "missing.toml") == ".txt"


def test_a_caption_with_the_other_extension_is_named(tmp_path):
    image = tmp_path / "10_a" / "x.png"
    image.parent.mkdir()
    image.write_bytes(b"")
    (tmp_path / "10_a" / "x.caption").write_text("a, b\n")
    problem = missing_caption_problem(image, "a")
    assert "x.caption is beside it" in problem.message and 'caption_extension = ".caption"' in problem.message
    assert problem.severity == "warning"


def test_the_app_reads_edits_and_captions_with_the_configs_extension(tmp_path):
    root = tmp_path / "proj"
    config = make_project(root, extra='[dataset]\ncaption_extension = ".caption"')
    concept = root / "img" / "10_cat"
    for txt in concept.glob("*.txt"):
        txt.rename(txt.with_suffix(".caption"))
    app = LoratuiApp(locate_dataset(root / "img"), config_path=config, settings_file=tmp_path / "tui.toml",
                     keymap_file=tmp_path / "k.toml", themes_dir=tmp_path / "themes", watch=False)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await _loaded(app, pilot)
            rows = app.store.rows
            assert [r.caption.tags for r in rows] == [["cat", "tag0"], ["cat", "tag1"]]
            assert not any(p.kind == "missing_caption" for ps in app.store.problems_by_image.values() for p in ps)
            app.store.set_tags(rows[0], ["cat", "tag0", "new"], "edit")  # written through the journal
            assert (concept / "0.caption").read_text() == "cat, tag0, new\n"
            assert not (concept / "0.txt").exists()
            await pilot.press("2")
            await until(pilot, lambda: type(app.screen).__name__ == "CaptionScreen")
            assert app.screen.query_one("#opt-caption_extension", Input).value == ".caption"
            # Settings saves caption_extension = ".txt": the Dataset screen reads the .txt captions
            (concept / "0.txt").write_text("dog\n")
            await pilot.press("3")
            await until(pilot, lambda: type(app.screen).__name__ == "SettingsScreen")
            app.screen.follow_caption_extension(".txt")
            await until(pilot, lambda: app.store.rows and app.store.rows[0].caption is not None
                        and app.store.rows[0].caption.tags == ["dog"])
            await pilot.press("2")
            await pilot.pause()
            assert app.screen.query_one("#opt-caption_extension", Input).value == ".txt"

    asyncio.run(main())
