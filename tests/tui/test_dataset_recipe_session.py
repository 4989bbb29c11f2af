"""recipes: save on the Dataset screen keeps the operations of this session that are still in effect:
one the undo history has forgotten (over 50 later changes) is kept, one undone here is left out until
redone. The undo-over-an-edit dialog says what happened once."""

from __future__ import annotations

from fixtures.pilot_wait import until
from fixtures.tui_dataset import make_dataset, run_dataset_app

from loratui.core.captions import RemoveTags, apply_plan, load_captions, plan_set_tags
from loratui.tui.screens.config_dialogs import ChoiceDialog


def caption(img, rel: str) -> str:
    return (img / rel).with_suffix(".txt").read_text(encoding="utf-8")


def other_changes(img, count: int) -> None:
    """``count`` journal entries made elsewhere, on a caption the app does not show (not a concept folder)."""
    folder = img / "notes"
    folder.mkdir(exist_ok=True)
    (folder / "n.png").write_bytes(b"x")
    for i in range(count):
        [note] = load_captions(folder)
        apply_plan(plan_set_tags([(note, [f"note{i}"])]), img)


def test_recipe_keeps_forgotten_operations_and_leaves_out_undone_ones(tmp_path):
    root = make_dataset(tmp_path / "proj")
    img = root / "img"

    async def scenario(app, pilot):
        scr = app.screen
        await pilot.press("minus", *"*background", "enter")
        await until(pilot, lambda: type(app.screen).__name__ == "PlanPreviewScreen", "preview")
        await pilot.press("enter")
        await until(pilot, lambda: "background" not in caption(img, "5_bob/b01.png"), "remove written")
        other_changes(img, 51)  # the history keeps 50: the removal's entry is pruned, not undone
        assert [op.describe() for op in scr.recipe_ops()[0]] == [RemoveTags(["*background"]).describe()]

        await pilot.press("plus", *"bee", "enter")
        await until(pilot, lambda: type(app.screen).__name__ == "PlanPreviewScreen", "preview")
        await pilot.press("enter")
        await until(pilot, lambda: "bee" in caption(img, "5_bob/b01.png"), "add written")
        (img / "10_alice/a02.txt").write_text("mine, edited by hand\n", encoding="utf-8")
        await pilot.press("ctrl+z")
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog), "conflict dialog", timeout=10)
        body = app.screen.body
        assert body.count("edited after the change") == 1, body  # said once, not twice
        assert "a02.txt: edited after the change, so nothing was undone yet." in body
        await pilot.press("s")
        await until(pilot, lambda: "bee" not in caption(img, "5_bob/b01.png") and not scr.writing, "undone")
        assert [op.op for op in scr.recipe_ops()[0]] == ["remove"]  # the add was undone here

        await pilot.press("ctrl+y")
        await until(pilot, lambda: "bee" in caption(img, "5_bob/b01.png") and not scr.writing, "redone")
        assert [op.op for op in scr.recipe_ops()[0]] == ["remove", "add"]

    run_dataset_app(tmp_path, root, scenario)


def test_saving_into_a_recipe_with_a_top_level_where_says_it_moves(tmp_path):
    import asyncio

    from textual.app import App
    from textual.widgets import Static

    from loratui.core.captions import AddTags, load_recipe
    from loratui.tui.screens.recipe_dialogs import SaveRecipeScreen

    (tmp_path / "top.toml").write_text('where = "folder:*boy*"\n[[op]]\nop = "add"\ntags = ["boytag"]\n')
    (tmp_path / "bad.toml").write_text('where = "tag:a"\n[[op]]\nop = "dedupe"\n[[op]]\nop = "remove"\npatterns = ["a"]\n')
    screen = SaveRecipeScreen(tmp_path, ops=[AddTags(["alltag"])])

    class Host(App):
        def on_mount(self) -> None:
            self.push_screen(screen)

    async def main():
        async with Host().run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await pilot.press(*"bad")
            await pilot.pause()
            shown = " ".join(str(screen.query_one("#recipe-message", Static).render()).split())
            assert shown.startswith("error:") and "its top-level where 'tag:a'" in shown  # refused before saving
            await pilot.press("backspace", "backspace", "backspace", *"top")
            await pilot.pause()
            shown = str(screen.query_one("#recipe-message", Static).render())
            assert "its top-level where 'folder:*boy*' now sits on each" in " ".join(shown.split())
            await pilot.press("enter")
            await until(pilot, lambda: screen.saved is not None, "saved")

    asyncio.run(main())
    assert screen.note.startswith("its top-level where 'folder:*boy*' now sits on each of its 1 earlier")
    assert [op.where for op in load_recipe(tmp_path / "top.toml").ops] == ["folder:*boy*", None]
