"""Reg images in the Dataset screen (Pilot): a kohya_ss project's reg/ folder (or a config's reg_data_dir
elsewhere) lists as rows marked reg/, the filter's `reg` picks them, the summary counts them apart, an
inline edit of a reg caption is saved and undone like a train one (journaled in the reg folder), and a
bulk change touches reg captions only when the filter shows them, the preview saying how many.
pytest-asyncio is not installed: each test runs its session in asyncio.run (run_dataset_app).
"""

from __future__ import annotations

from pathlib import Path

from fixtures.pilot_wait import until
from fixtures.reg_rows import add_reg
from fixtures.reg_rows import dataset_screen as screen
from fixtures.tui_dataset import make_dataset, run_dataset_app

from loratui.core.dataset import DatasetLocation, locate_dataset
from loratui.tui.services.dataset_store import DatasetStore




def table_text(app) -> str:
    table = screen(app).table
    return "\n".join(table.render_line(y).text for y in range(table.size.height))


async def filter_to(pilot, text: str) -> None:
    await pilot.press("slash", *text, "enter")
    await pilot.pause()


def test_reg_rows_are_listed_marked_and_counted_apart(tmp_path):
    project = make_dataset(tmp_path / "proj")
    add_reg(project)

    async def scenario(app, pilot):
        store = app.store
        assert len(store.rows) == 6 and len(store.reg_rows) == 2 and len(store.all_rows) == 8
        assert all(row.reg for row in store.reg_rows) and not any(row.reg for row in store.rows)
        await pilot.press("end")
        await pilot.pause()
        text = table_text(app)
        assert "reg/1_pe" in text  # the mark comes first: still there when 80 columns cut the name
        status = str(screen(app).query_one("#status").render())
        assert "8 images (2 reg)" in status
        await pilot.press("i")
        await pilot.pause()
        summary = " ".join(str(screen(app).query_one("#summary-body").render()).split())
        assert "Reg images: 2 in 1 folder" in summary
        assert "Captions missing: 1 (class tokens used)" in summary  # p2: the class token stands in
        assert "Captions missing: 1" in summary.split("Reg images")[0]  # a04 of the train images, apart
        assert "not in the table" not in summary

    run_dataset_app(tmp_path, project, scenario)


def test_the_filter_reg_and_not_reg(tmp_path):
    project = make_dataset(tmp_path / "proj")
    add_reg(project)

    async def scenario(app, pilot):
        await filter_to(pilot, "reg")
        assert [row.name for row in screen(app).shown] == ["p1.png", "p2.png"]
        await pilot.press("slash", "ctrl+u", *"not reg and tag:solo", "enter")
        await pilot.pause()
        shown = screen(app).shown
        assert shown and not any(row.reg for row in shown)
        await pilot.press("slash", "ctrl+u", *"reg and missing", "enter")
        await pilot.pause()
        assert [row.name for row in screen(app).shown] == ["p2.png"]

    run_dataset_app(tmp_path, project, scenario)


def test_inline_edit_of_a_reg_caption_and_its_undo(tmp_path):
    project = make_dataset(tmp_path / "proj")
    reg = add_reg(project)
    caption = reg / "p1.txt"

    async def scenario(app, pilot):
        await filter_to(pilot, "reg")
        assert screen(app).current.name == "p1.png"
        await pilot.press("a", *"blue eyes", "enter")
        await until(pilot, lambda: "blue eyes" in caption.read_text(), "the reg caption written")
        assert (project / "reg" / ".loratui").is_dir()  # journaled beside its captions
        await pilot.press("escape", "escape")
        await pilot.press("ctrl+z")
        await until(pilot, lambda: caption.read_text() == "person, solo, standing\n", "the undo")
        await until(pilot, lambda: screen(app).current.caption.tags == ["person", "solo", "standing"], "reread")
        await pilot.press("ctrl+y")
        await until(pilot, lambda: "blue eyes" in caption.read_text(), "the redo")

    run_dataset_app(tmp_path, project, scenario)


def train_and_reg_texts(project: Path) -> tuple[dict, dict]:
    train = {p: p.read_text() for p in sorted((project / "img").rglob("*.txt"))}
    reg = {p: p.read_text() for p in sorted((project / "reg").rglob("*.txt"))}
    return train, reg


async def add_tag_with_preview(app, pilot, tag: str) -> str:
    """+ TAG, then the preview: its title returned, the write gone ahead."""
    await pilot.press("plus")
    await until(pilot, lambda: type(app.screen).__name__ == "BulkOpScreen", "the add form")
    await pilot.press(*tag, "enter")
    await until(pilot, lambda: type(app.screen).__name__ == "PlanPreviewScreen", "the preview")
    title = app.screen.plan_title
    await pilot.press("enter")
    await until(pilot, lambda: type(app.screen).__name__ == "DatasetScreen", "back to the table")
    await until(pilot, lambda: not screen(app).writing, "the write's end")
    return title


def test_a_bulk_change_without_reg_in_the_filter_leaves_reg_captions_alone(tmp_path):
    project = make_dataset(tmp_path / "proj")
    add_reg(project)
    _train, reg_before = train_and_reg_texts(project)

    async def scenario(app, pilot):
        title = await add_tag_with_preview(app, pilot, "trigger")  # no filter, no selection
        assert "all 6 train images" in title and "no reg caption touched" in title
        train, reg = train_and_reg_texts(project)
        assert reg == reg_before and not (project / "reg" / "1_person" / "p2.txt").exists()
        assert all("trigger" in text for text in train.values())

        await filter_to(pilot, "tag:solo")  # shows train and reg images: refused, nothing asked
        await pilot.press("plus")
        await pilot.pause()
        assert type(app.screen).__name__ == "DatasetScreen"
        said = [n.message for n in app._notifications][-1]
        assert "train and 1 reg image(s) match the filter" in said and "`not reg`" in said
        assert train_and_reg_texts(project)[1] == reg_before

    run_dataset_app(tmp_path, project, scenario)


def test_a_bulk_change_with_reg_in_the_filter_says_so_and_undoes_in_one_step(tmp_path):
    project = make_dataset(tmp_path / "proj")
    add_reg(project)
    train_before, reg_before = train_and_reg_texts(project)

    async def scenario(app, pilot):
        await filter_to(pilot, "reg")
        title = await add_tag_with_preview(app, pilot, "photo")
        assert "2 reg caption(s) touched" in title
        train, reg = train_and_reg_texts(project)
        assert train == train_before
        assert all("photo" in text for text in reg.values()) and len(reg) == 2  # p2's caption made
        await pilot.press("ctrl+z")
        await until(pilot, lambda: train_and_reg_texts(project)[1] == reg_before, "the undo")
        assert train_and_reg_texts(project)[0] == train_before

    run_dataset_app(tmp_path, project, scenario)


def test_ctrl_z_takes_back_the_newest_change_train_or_reg(tmp_path):
    project = make_dataset(tmp_path / "proj")
    add_reg(project)
    train_before, reg_before = train_and_reg_texts(project)

    async def scenario(app, pilot):
        await filter_to(pilot, "reg")
        await add_tag_with_preview(app, pilot, "photo")
        await pilot.press("slash", "ctrl+u", *"not reg", "enter")
        await pilot.pause()
        await add_tag_with_preview(app, pilot, "trigger")
        await pilot.press("ctrl+z")  # the train change came last
        await until(pilot, lambda: train_and_reg_texts(project)[0] == train_before, "the train undo")
        await until(pilot, lambda: not screen(app).writing, "the undo's end")
        assert train_and_reg_texts(project)[1] != reg_before
        await pilot.press("ctrl+z")
        await until(pilot, lambda: train_and_reg_texts(project)[1] == reg_before, "the reg undo")

    run_dataset_app(tmp_path, project, scenario)


def test_a_configs_reg_data_dir_elsewhere_is_listed(tmp_path):
    project = make_dataset(tmp_path / "proj")
    add_reg(tmp_path / "elsewhere", folder="regimages")
    config = project / "config.toml"
    config.write_text('[dataset]\ntrain_data_dir = "img"\nreg_data_dir = "../elsewhere/regimages"\n')
    store = DatasetStore(locate_dataset(project))
    store.config_path = config
    store.adopt_rows(store.list_rows())
    assert [row.name for row in store.reg_rows] == ["p1.png", "p2.png"]
    assert store.reg_root.resolve() == (tmp_path / "elsewhere" / "regimages").resolve()
    store.adopt_captions(store.read_captions().captions)
    assert store.reg_rows[0].caption.tags == ["person", "solo", "standing"]
    assert "person" not in store.frequency  # the tag counts stay the train images'
    assert [r.name for r in store.filter("reg").rows] == ["p1.png", "p2.png"]


def test_a_reg_folder_opened_on_its_own_lists_as_before(tmp_path):
    project = make_dataset(tmp_path / "proj")
    add_reg(project)
    location = locate_dataset(project / "reg")
    assert isinstance(location, DatasetLocation) and location.is_reg
    store = DatasetStore(location)
    store.adopt_rows(store.list_rows())
    assert len(store.rows) == 2 and store.reg_rows == [] and store.reg_root is None


def test_a_reg_folder_without_images_is_still_scanned(tmp_path):
    project = make_dataset(tmp_path / "proj")
    (project / "reg" / "1_person").mkdir(parents=True)
    (project / "reg" / "1_person" / "notes.md").write_text("x")  # a concept folder, no image in it
    store = DatasetStore(DatasetLocation(project / "img", project / "reg", project, None, "project"))
    store.adopt_rows(store.list_rows())
    assert store.reg_rows == [] and store.reg_root == project / "reg"
    scan = store.read_scan()
    assert scan.reg_data_dir == project / "reg"  # its problems (an empty concept folder) are still named


def test_a_config_with_no_reg_data_dir_lists_no_reg_rows_beside_a_reg_folder(tmp_path):
    # r1 item 2: reg_data_dir = "" is "none" (what trains); the project's reg/ is only a guess without a config
    project = make_dataset(tmp_path / "proj")
    add_reg(project)
    config = project / "config.toml"
    config.write_text('[dataset]\ntrain_data_dir = "img"\nreg_data_dir = ""\n')
    store = DatasetStore(locate_dataset(project))
    store.config_path = config
    store.adopt_rows(store.list_rows())
    assert store.reg_rows == [] and store.reg_root is None and len(store.all_rows) == 6
    config.write_text('[dataset]\ntrain_data_dir = "img"\nreg_data_dir = "reg"\n')
    store.adopt_rows(store.list_rows())
    assert [row.name for row in store.reg_rows] == ["p1.png", "p2.png"]
    store.config_path = None  # a folder opened on its own: the project's reg/ as before
    store.adopt_rows(store.list_rows())
    assert store.reg_root == project / "reg" and len(store.reg_rows) == 2
