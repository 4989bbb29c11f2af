"""The tag list (t) and the summary's tag count follow the reg scope of the bulk ops (Pilot, h6 item 4):
with the filter showing reg rows only they count the reg captions' tags and remove / rename changes
the reg captions; a filter that shows both kinds is counted whole and a change refused (s18: the tag list
counts the scope of every bulk key, the selection, else the filter, else the train images). A recipe replayed compiles `reg` from the rows listed as reg
(r1 item 6). pytest-asyncio is not installed: each test runs its session in asyncio.run."""

from __future__ import annotations

from pathlib import Path

from fixtures.pilot_wait import until
from fixtures.reg_rows import add_reg as add_person_reg
from fixtures.reg_rows import app_with_config
from fixtures.reg_rows import dataset_screen as screen
from fixtures.tui_dataset import make_dataset, run_dataset_app


def add_reg(root: Path, folder: str = "reg") -> Path:
    """reg/1_person with both images captioned (p2: "person, plain")."""
    return add_person_reg(root, folder, p2_caption="person, plain\n")


def tag_pane(app):
    from loratui.tui.widgets.tag_frequency import TagFrequencyPane

    return screen(app).query_one(TagFrequencyPane)


def texts(folder: Path) -> dict[Path, str]:
    return {p: p.read_text() for p in sorted(folder.rglob("*.txt"))}


async def filter_to(pilot, text: str) -> None:
    await pilot.press("slash", "ctrl+u", *text, "enter")
    await pilot.pause()


async def open_tag_list(app, pilot) -> None:
    """t opens the tag list (its table takes the keys); t again would close it: a filter typed since
    leaves it open, so its table is given the keys back."""
    if screen(app).query_one("#side").current != "tags-pane":
        await pilot.press("t")
    else:
        screen(app).query_one("#freq-table").focus()
    await pilot.pause()


def summary_text(app) -> str:
    return " ".join(str(screen(app).query_one("#summary-body").render()).split())


def test_the_tag_list_counts_and_changes_reg_captions_when_the_filter_shows_reg(tmp_path):
    project = make_dataset(tmp_path / "proj")
    reg = add_reg(project)
    train_before = texts(project / "img")

    async def scenario(app, pilot):
        await pilot.press("t")
        await pilot.pause()
        pane = tag_pane(app)
        assert "person" not in pane.shown_tags and "alice" in pane.shown_tags
        assert "of all 6 train images" in str(pane.query_one("#freq-summary").render())

        await pilot.press("escape")
        await filter_to(pilot, "reg")
        await open_tag_list(app, pilot)
        assert sorted(pane.shown_tags) == ["person", "plain", "solo", "standing"]
        said = str(pane.query_one("#freq-summary").render())
        assert "4 tags of 2 filtered reg images, 5 uses" in said
        assert pane.shown_tags[0] == "person"  # the most used first
        pane.table.move_cursor_to_key("person")  # the filter typed a key at a time moved it (a count each key)
        await pilot.pause()
        await pilot.press("d")
        await until(pilot, lambda: type(app.screen).__name__ == "PlanPreviewScreen", "the preview")
        title = app.screen.plan_title
        assert "filtered: 2 of 8" in title and "2 reg caption(s) touched" in title
        await pilot.press("enter")
        await until(pilot, lambda: type(app.screen).__name__ == "DatasetScreen", "back to the table")
        await until(pilot, lambda: not screen(app).writing, "the write's end")
        assert texts(reg) == {reg / "p1.txt": "solo, standing\n", reg / "p2.txt": "plain\n"}
        assert texts(project / "img") == train_before
        await until(pilot, lambda: "person" not in pane.shown_tags, "the reg counts again")

        await pilot.press("i")
        await pilot.pause()
        assert "Tags (reg): 3 distinct, 3 uses" in summary_text(app)

    run_dataset_app(tmp_path, project, scenario)


def test_a_filter_of_both_kinds_is_counted_whole_and_a_change_refused(tmp_path):
    project = make_dataset(tmp_path / "proj")
    reg = add_reg(project)
    reg_before, train_before = texts(reg), texts(project / "img")

    async def scenario(app, pilot):
        await pilot.press("i")
        await pilot.pause()
        assert "Tags (train):" in summary_text(app)

        await filter_to(pilot, "tag:solo")  # train and reg rows: the counts are of both
        await open_tag_list(app, pilot)
        pane = tag_pane(app)
        assert "person" in pane.shown_tags and "bob" in pane.shown_tags and "short hair" in pane.shown_tags
        assert "(train and reg)" in str(pane.query_one("#freq-summary").render())

        await pilot.press("escape")
        await filter_to(pilot, "not reg and tag:solo")  # the train images the filter shows
        await open_tag_list(app, pilot)
        assert "person" not in pane.shown_tags and "glasses" in pane.shown_tags and "smile" in pane.shown_tags
        assert "of 3 filtered train images" in str(pane.query_one("#freq-summary").render())

        await pilot.press("escape")
        await filter_to(pilot, "reg or tag:alice")  # names reg, shows both: counted both, changes refused
        await open_tag_list(app, pilot)
        assert "person" in pane.shown_tags and "alice" in pane.shown_tags
        assert "images (train and reg)" in str(pane.query_one("#freq-summary").render())
        await pilot.press("d")
        await pilot.pause()
        assert type(app.screen).__name__ == "DatasetScreen"
        said = [n.message for n in app._notifications][-1]
        assert "reg image(s) match the filter" in said and "`not reg`" in said
        assert texts(reg) == reg_before and texts(project / "img") == train_before

    run_dataset_app(tmp_path, project, scenario)


def test_a_dataset_without_reg_images_keeps_the_plain_tag_count(tmp_path):
    project = make_dataset(tmp_path / "proj")

    async def scenario(app, pilot):
        await pilot.press("i")
        await pilot.pause()
        assert "Tags: " in summary_text(app) and "Tags (" not in summary_text(app)
        await pilot.press("t")
        await pilot.pause()
        assert "images)" not in str(tag_pane(app).query_one("#freq-summary").render())

    run_dataset_app(tmp_path, project, scenario)


def test_a_recipe_replayed_reads_reg_as_the_rows_listed_as_reg(tmp_path):
    """The config's reg_data_dir is a folder that core's folder test cannot tell is reg (not named reg/,
    no config beside it names it): `reg` in the recipe's where still picks its images, as the filter does."""

    import asyncio

    project = make_dataset(tmp_path / "proj")
    other = add_reg(tmp_path, "elsewhere").parent
    (project / "cfgs").mkdir()
    config = project / "cfgs" / "config.toml"
    config.write_text('[dataset]\ntrain_data_dir = "../img"\nreg_data_dir = "../../elsewhere"\n')
    recipe = project / "cleanup.toml"
    recipe.write_text('where = "reg"\n\n[[op]]\nop = "remove"\npatterns = ["plain"]\nmode = "exact"\n')
    app = app_with_config(project, config, tmp_path)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.store.captions_loaded and app.store.scan is not None, "captions and scan")
            await pilot.pause()
            assert len(app.store.reg_rows) == 2
            await filter_to(pilot, "reg")
            screen(app)._replay(recipe)
            await until(pilot, lambda: type(app.screen).__name__ == "PlanPreviewScreen", "the preview")
            assert "1 reg caption(s) touched" in app.screen.plan_title
            await pilot.press("enter")
            await until(pilot, lambda: type(app.screen).__name__ == "DatasetScreen", "back to the table")
            await until(pilot, lambda: not screen(app).writing, "the write's end")
            assert (other / "1_person" / "p2.txt").read_text() == "person\n"

    asyncio.run(main())
