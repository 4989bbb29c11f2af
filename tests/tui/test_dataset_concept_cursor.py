"""`loratui proj/img/5_bob style` lists the whole dataset with the cursor on that concept's first row
(README: "one concept folder (the whole dataset, cursor in that concept)"); Pilot, 80x24."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from fixtures.tui_dataset import run_dataset_app


CONCEPT = "5_bob style"


def _dataset(root: Path) -> Path:
    """img/10_alice with 40 images (the concept below starts off screen), img/5_bob style with 3."""
    img = root / "img"
    for folder, count in (("10_alice", 40), (CONCEPT, 3)):
        (img / folder).mkdir(parents=True)
        for i in range(count):
            Image.new("RGB", (8, 8)).save(img / folder / f"{folder[:4]}_{i:02d}.png")
            (img / folder / f"{folder[:4]}_{i:02d}.txt").write_text("tag\n")
    return img


def _run(tmp_path: Path, where: str, scenario) -> None:
    run_dataset_app(tmp_path, where, scenario)


async def _cursor_in_concept(app, pilot) -> None:
    table = app.screen.table
    assert len(table.rows) == 43  # the whole dataset, not only the concept
    row = table.cursor_row
    assert row.folder == CONCEPT and row.name == "5_bo_00.png"
    top, height = table._visible_range()
    assert top <= table.cursor_index < top + height  # on screen, not only in the model
    from loratui.tui.widgets.tag_editor import TagEditor

    assert f"{CONCEPT}/5_bo_00.png" in str(app.screen.query_one(TagEditor).query_one("#tag-editor-status").render())


def test_a_concept_folder_puts_the_cursor_in_that_concept(tmp_path):
    img = _dataset(tmp_path / "proj")
    _run(tmp_path, str(img / CONCEPT), _cursor_in_concept)


def test_loratui_inside_the_concept_folder_too(tmp_path, monkeypatch):
    img = _dataset(tmp_path / "proj")
    monkeypatch.chdir(img / CONCEPT)
    _run(tmp_path, ".", _cursor_in_concept)


def test_the_train_folder_starts_on_the_first_row(tmp_path):
    img = _dataset(tmp_path / "proj")

    async def scenario(app, pilot):
        assert app.screen.table.cursor_index == 0 and app.screen.table.cursor_row.folder == "10_alice"

    _run(tmp_path, str(img), scenario)
