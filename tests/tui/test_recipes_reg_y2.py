"""recipes: save keeps the reg operations of the session (h5 item 2): a reg caption change is saved with its
scope kept to `reg`, the train ones beside it to `not reg`, so a replay on one kind (the app's filter `reg`,
`loratui tags apply DIR RECIPE --where reg`) runs each operation on its own kind, journaled in that kind's
folder and undone there; an undone reg change is left out, and a reg scope a recipe cannot name is named."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner
from fixtures.pilot_wait import until
from fixtures.reg_rows import add_reg, app_with_config
from fixtures.reg_rows import dataset_screen as screen
from fixtures.tui_dataset import make_dataset, run_dataset_app

from loratui.cli import cli
from loratui.core.captions import journal_dir, load_recipe
from loratui.tui.screens.dataset_recipes import kept_to_kind, where_kind


def run(*args):
    return CliRunner().invoke(cli, list(map(str, args)), catch_exceptions=False)


def text(path: Path) -> str | None:
    return path.read_text(encoding="utf-8").strip() if path.exists() else None


def said(app) -> str:
    return " | ".join(str(n.message) for n in app._notifications)


async def apply_bulk(pilot, app, key: str, typed: str) -> None:
    """A bulk form (+ or -) typed and its preview accepted; returns once the write has ended."""
    scr = screen(app)
    await pilot.press(key, *typed, "enter")
    await until(pilot, lambda: type(app.screen).__name__ == "PlanPreviewScreen", "preview")
    await pilot.press("enter")
    await until(pilot, lambda: app.screen is scr and not scr.writing, "the write")
    await pilot.pause()


async def filter_to(pilot, typed: str) -> None:
    await pilot.press("slash", "ctrl+u", *typed, "enter")
    await pilot.pause()


def test_where_kind_and_kept_to_kind():
    assert where_kind("reg") == "reg" and where_kind("reg and tag:a or REG and file:b") == "reg"
    assert where_kind("not reg") == "train" and where_kind("-reg and tag:x") == "train"
    assert where_kind("tag:a") is None and where_kind("reg or tag:a") is None and where_kind(None) is None
    assert where_kind("not not reg") == "reg" and where_kind("tag:reg") is None
    assert kept_to_kind("", True) == "reg" and kept_to_kind(None, False) == "not reg"
    assert kept_to_kind("reg and tag:a", True) == "reg and tag:a"  # already kept: not said twice
    assert kept_to_kind("tag:a or tag:b", True) == "reg and tag:a or reg and tag:b"
    assert kept_to_kind("tag:a", False) == "not reg and tag:a"


def test_reg_operations_are_saved_and_tags_apply_where_reg_replays_them(tmp_path):
    project = make_dataset(tmp_path / "proj")
    reg = add_reg(project)  # reg/1_person: p1 captioned, p2 not
    pristine = tmp_path / "copy"
    shutil.copytree(project, pristine)

    async def scenario(app, pilot):
        scr = screen(app)
        # (a) only the reg row p2 selected: `+ regtag` is saved, by its file name, kept to reg
        await pilot.press("end", "space")
        assert [row.name for row in scr.table.selected_rows] == ["p2.png"]
        await apply_bulk(pilot, app, "plus", "regtag")
        assert text(reg / "p2.txt") == "regtag"
        ops, left_out = scr.recipe_ops()
        assert left_out == [] and [(op.op, op.where) for op in ops] == [
            ("add", "reg and folder:1_person and file:p2.txt")]
        # (b) filter `reg`, `- solo`; then the train images, `+ trainonly`: each kept to its kind
        await pilot.press("ctrl+d")
        await filter_to(pilot, "reg")
        await apply_bulk(pilot, app, "minus", "solo")
        assert text(reg / "p1.txt") == "person, standing"
        await filter_to(pilot, "")
        await until(pilot, lambda: len(scr.shown) == 8, "the filter cleared")
        await apply_bulk(pilot, app, "plus", "trainonly")
        ops, left_out = scr.recipe_ops()
        assert left_out == [] and [(op.op, op.where) for op in ops] == [
            ("add", "reg and folder:1_person and file:p2.txt"), ("remove", "reg"), ("add", "not reg")]

        scr.action_save_recipe()
        await until(pilot, lambda: type(app.screen).__name__ == "SaveRecipeScreen", "the save dialog")
        await pilot.pause()
        await pilot.press(*"mixed", "enter")
        await until(pilot, lambda: (project / "recipes" / "mixed.toml").exists(), "the recipe saved")
        await until(pilot, lambda: "saved 3 operation(s)" in said(app), "the save message")
        assert "with `--where reg`, the 2 on reg images" in said(app) and "left out" not in said(app)

    run_dataset_app(tmp_path, project, scenario)

    recipe = project / "recipes" / "mixed.toml"
    assert [op.where for op in load_recipe(recipe).ops] == ["reg and folder:1_person and file:p2.txt", "reg",
                                                            "not reg"]
    # no --where: the train images; the reg operations pick none of them
    assert run("tags", "apply", pristine, recipe, "--yes").exit_code == 0
    assert text(pristine / "img" / "10_alice" / "a01.txt").endswith("trainonly")
    copy_reg = pristine / "reg" / "1_person"
    assert text(copy_reg / "p1.txt") == "person, solo, standing" and text(copy_reg / "p2.txt") is None
    # --where reg: the reg captions, as the session left them; journaled in the reg folder
    result = run("tags", "apply", pristine, recipe, "--where", "reg", "--yes")
    assert result.exit_code == 0, result.output
    assert text(copy_reg / "p1.txt") == "person, standing" and text(copy_reg / "p2.txt") == "regtag"
    assert list(journal_dir(pristine / "reg").glob("*.json"))
    assert run("tags", "undo", pristine, "--yes").exit_code == 0  # the newest change: the reg one
    assert text(copy_reg / "p1.txt") == "person, solo, standing" and text(copy_reg / "p2.txt") is None
    assert text(pristine / "img" / "10_alice" / "a01.txt").endswith("trainonly")


def test_the_app_replays_a_mixed_recipe_on_the_reg_rows_and_ctrl_z_takes_it_back(tmp_path):
    project = make_dataset(tmp_path / "proj")
    reg = add_reg(project)
    (project / "recipes").mkdir()
    (project / "recipes" / "mixed.toml").write_text(
        '[[op]]\nop = "remove"\npatterns = ["solo"]\nwhere = "reg"\n\n'
        '[[op]]\nop = "add"\ntags = ["trainonly"]\nwhere = "not reg"\n', encoding="utf-8")
    train_before = text(project / "img" / "10_alice" / "a01.txt")

    async def scenario(app, pilot):
        scr = screen(app)
        await filter_to(pilot, "reg")
        scr.action_replay_recipe()
        await until(pilot, lambda: type(app.screen).__name__ == "PickRecipeScreen", "the recipe list")
        await pilot.press("enter")
        await until(pilot, lambda: type(app.screen).__name__ == "PlanPreviewScreen", "preview")
        title = app.screen.plan_title
        assert "1 reg caption(s) touched" in title, title
        assert "mixed.toml: 1 train operation(s) skipped: they run on the train images" in said(app)
        await pilot.press("enter")
        await until(pilot, lambda: text(reg / "p1.txt") == "person, standing" and not scr.writing, "the replay")
        assert text(project / "img" / "10_alice" / "a01.txt") == train_before
        assert list(journal_dir(project / "reg").glob("*.json"))  # the reg folder's own journal
        assert [(op.op, op.where) for op in scr.recipe_ops()[0]] == [("remove", "reg")]  # the add changed nothing
        await pilot.press("escape")
        await pilot.press("ctrl+z")
        await until(pilot, lambda: text(reg / "p1.txt") == "person, solo, standing" and not scr.writing, "undone")
        assert scr.recipe_ops() == ([], [])

    run_dataset_app(tmp_path, project, scenario)


def test_an_undone_reg_change_is_left_out_also_after_a_train_change_ends_its_redo(tmp_path):
    project = make_dataset(tmp_path / "proj")
    reg = add_reg(project)

    async def scenario(app, pilot):
        scr = screen(app)
        await filter_to(pilot, "reg")
        await apply_bulk(pilot, app, "plus", "regtag")
        assert [op.where for op in scr.recipe_ops()[0]] == ["reg"]
        await pilot.press("ctrl+z")
        await until(pilot, lambda: "regtag" not in text(reg / "p1.txt") and not scr.writing, "undone")
        assert scr.recipe_ops() == ([], [])
        await filter_to(pilot, "")
        await until(pilot, lambda: len(scr.shown) == 8, "the filter cleared")
        await apply_bulk(pilot, app, "plus", "trainonly")  # ends the reg redo: the entry is gone from both stacks
        ops, left_out = scr.recipe_ops()
        assert left_out == [] and [(op.op, op.where) for op in ops] == [("add", None)]  # train alone: no `not reg`

    run_dataset_app(tmp_path, project, scenario)


def test_reg_images_a_recipe_cannot_find_are_named_as_left_out(tmp_path):
    """A reg_data_dir away from the project: a recipe's `reg` (told from the folders) would not find its
    images on replay, so the operation is named, not saved as a scope that picks nothing."""
    import asyncio

    project = make_dataset(tmp_path / "proj")
    add_reg(tmp_path / "elsewhere", folder="regimages")
    config = project / "config.toml"
    config.write_text('[dataset]\ntrain_data_dir = "img"\nreg_data_dir = "../elsewhere/regimages"\n')
    app = app_with_config(project, config, tmp_path)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.store.captions_loaded and app.store.scan is not None, "captions and scan")
            await pilot.pause()
            scr = screen(app)
            assert len(app.store.reg_rows) == 2
            await filter_to(pilot, "reg")
            await apply_bulk(pilot, app, "plus", "regtag")
            ops, left_out = scr.recipe_ops()
            assert ops == [] and left_out == ["add regtag at the end (reg images, filtered: 2 of 8)"]
            scr.action_save_recipe()
            await pilot.pause()
            assert "nothing saved; left out 1" in said(app) and "reg images away from the project" in said(app)

    asyncio.run(main())
