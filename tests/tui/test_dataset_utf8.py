"""The Dataset screen's "save non-UTF-8 captions as UTF-8" (the palette): a question that lists them,
one journal entry (ctrl+z puts the old bytes back), the problem marks checked again."""

from __future__ import annotations

import asyncio

from fixtures.tui_dataset import make_dataset

from loratui.core.dataset import locate_dataset
from loratui.tui.app import LoratuiApp
from tests.tui.test_dataset_screen import _loaded, until


def test_palette_saves_non_utf8_captions_and_ctrl_z_restores_them(tmp_path):
    root = make_dataset(tmp_path / "proj")
    captions = sorted((root / "img").glob("*/*.txt"))
    latin, bom = captions[0], captions[1]
    old_latin = "café, solo\n".encode("cp1252")
    old_bom = b"\xef\xbb\xbfsmile, solo\r\n"
    latin.write_bytes(old_latin)
    bom.write_bytes(old_bom)
    app = LoratuiApp(locate_dataset(root), settings_file=tmp_path / "cfg" / "tui.toml",
                     keymap_file=tmp_path / "cfg" / "keymap.toml", themes_dir=tmp_path / "themes", watch=False)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await _loaded(app, pilot)
            screen = app.screen
            assert {p.kind for ps in app.store.problems_by_image.values() for p in ps} >= {"caption_not_utf8",
                                                                                          "caption_bom"}
            screen.action_to_utf8()
            await until(pilot, lambda: type(app.screen).__name__ == "ChoiceDialog")
            body = str(app.screen.body)
            assert "2 caption(s) are not plain UTF-8" in body and "cp1252" in body and "utf-8 with BOM" in body
            await pilot.press("w")
            await until(pilot, lambda: latin.read_bytes() == "café, solo\n".encode())
            assert bom.read_bytes() == b"smile, solo\r\n"
            kinds = lambda: {p.kind for ps in app.store.problems_by_image.values() for p in ps}  # noqa: E731
            await until(pilot, lambda: not kinds() & {"caption_not_utf8", "caption_bom"})
            screen.action_to_utf8()  # nothing left: a toast, no question
            await pilot.pause()
            assert type(app.screen).__name__ != "ChoiceDialog"
            await pilot.press("ctrl+z")
            await until(pilot, lambda: latin.read_bytes() == old_latin and bom.read_bytes() == old_bom)

    asyncio.run(main())


def test_a_caption_with_nul_characters_is_named_not_converted(tmp_path):
    root = make_dataset(tmp_path / "proj")
    captions = sorted((root / "img").glob("*/*.txt"))
    nul, latin = captions[0], captions[1]
    nul.write_bytes(b"caf\xe9\x00, x\n")
    latin.write_bytes("café, solo\n".encode("cp1252"))
    app = LoratuiApp(locate_dataset(root), settings_file=tmp_path / "cfg" / "tui.toml",
                     keymap_file=tmp_path / "cfg" / "keymap.toml", themes_dir=tmp_path / "themes", watch=False)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await _loaded(app, pilot)
            screen = app.screen
            screen.action_to_utf8()
            await until(pilot, lambda: type(app.screen).__name__ == "ChoiceDialog")
            body = str(app.screen.body)
            assert "1 caption(s) are not plain UTF-8" in body and "left as they are (1)" in body and nul.name in body
            await pilot.press("w")
            await until(pilot, lambda: latin.read_bytes() == "café, solo\n".encode())
            assert nul.read_bytes() == b"caf\xe9\x00, x\n"
            await pilot.pause()
            screen.action_to_utf8()  # only the NUL file is left: a toast that names it, no question
            await pilot.pause()
            assert type(app.screen).__name__ != "ChoiceDialog"
            assert any("cannot be saved as UTF-8" in n.message and nul.name in n.message
                       for n in app._notifications)

    asyncio.run(main())
