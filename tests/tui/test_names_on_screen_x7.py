"""Names on the app's screens: ctrl+z names the captions it left out because their image is gone (as
`tags undo` does), and the plan preview shows CJK and joined emoji as they are, control characters as ?."""

from __future__ import annotations

import asyncio

from fixtures.pilot_wait import until
from fixtures.tui_dataset import make_dataset
from textual.app import App

from loratui.core.captions import AddTags, EditContext, apply_plan, load_captions, plan_edits
from loratui.core.dataset import locate_dataset
from loratui.tui.app import LoratuiApp
from loratui.tui.screens.plan_preview import DiffView, PlanPreviewScreen, TagChangesView

FAMILY = "👩\u200d👩\u200d👧"


def test_ctrl_z_names_the_captions_it_left_out_because_their_image_is_gone(tmp_path):
    root = make_dataset(tmp_path / "proj")
    img = root / "img"
    apply_plan(plan_edits(load_captions(img), [AddTags(["x7tag"])]), img)  # one journaled change
    for rel in ("5_bob/b01", "10_alice/a02"):  # deleted after it, image and caption
        (img / f"{rel}.png").unlink()
        (img / f"{rel}.txt").unlink()
    app = LoratuiApp(locate_dataset(root), settings_file=tmp_path / "cfg" / "tui.toml",
                     keymap_file=tmp_path / "cfg" / "keymap.toml", themes_dir=tmp_path / "themes", watch=False)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.store.captions_loaded and app.store.scan is not None, timeout=10)
            await pilot.press("ctrl+z")
            await until(pilot, lambda: "x7tag" not in (img / "5_bob" / "b02.txt").read_text(encoding="utf-8"))
            await until(pilot, lambda: any("undid" in str(n.message) for n in app._notifications))
            (note,) = [n for n in app._notifications if "undid" in str(n.message)]
            assert ("Left out 2 caption(s) whose image is gone (deleted since), not undone: "
                    in str(note.message)), note.message
            assert "10_alice/a02.txt" in note.message and "5_bob/b01.txt" in note.message
            assert note.severity == "warning" and not note.markup
            assert not (img / "5_bob" / "b01.txt").exists() and not (img / "10_alice" / "a02.txt").exists()

    asyncio.run(main())


class Host(App):
    def __init__(self, screen) -> None:
        super().__init__()
        self.preview = screen

    def on_mount(self) -> None:
        self.push_screen(self.preview)


def test_the_plan_preview_shows_joined_emoji_and_cjk_as_they_are(tmp_path):
    root = tmp_path / "data"
    concept = root / "1_キャラ"
    concept.mkdir(parents=True)
    for stem, text in ((f"{FAMILY} fam", f"{FAMILY} family, solo"), ("new\nline", "tab\there, solo")):
        (concept / f"{stem}.png").write_bytes(b"")
        (concept / f"{stem}.txt").write_text(text + "\n", encoding="utf-8")
    plan = plan_edits(load_captions(root), [AddTags(["猫"], 0, True)], ctx=EditContext())
    app = Host(PlanPreviewScreen(plan, root, "Preview"))

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            diff = app.screen.query_one(DiffView)
            lines = [diff.line_text(i) for i in range(4)]
            assert f"1_キャラ/{FAMILY} fam.txt" in lines and "1_キャラ/new?line.txt" in lines, lines
            assert "  +猫" in lines
            await pilot.press("t")  # the text view: whole caption lines
            await pilot.pause()
            lines = [diff.line_text(i) for i in range(6)]
            assert any(line.startswith(f"  + 猫, {FAMILY} family") for line in lines), lines
            assert any(line.startswith("  + 猫, tab?here") for line in lines), lines
            assert not any("\\u" in line or "\t" in line for line in lines), lines
            tags = app.screen.query_one(TagChangesView)
            assert tags.gained == [("猫", 2)]

    asyncio.run(main())
