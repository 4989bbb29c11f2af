"""The Dataset screen finds the tag list of a tagger kept in the project the kohya way
(``wd14_tagger_model/<repo>/selected_tags.csv``, where the demo's toy tagger is), and X opens with
rating ticked: README step 3, "X removes the rating category" (it opened with nothing ticked and
said "No selected_tags.csv is loaded" in the demo project)."""

from __future__ import annotations

from test_dataset_screen import run, until

from loratui.core.dataset import locate_dataset
from loratui.tui.services.dataset_store import DatasetStore

CSV = "tag_id,name,category,count\n1,general,9,100\n2,twintails,0,50\n3,alice_(wonderland),4,10\n"


def tagger(project, folder="wd14_tagger_model/SmilingWolf_wd-v1-4-moat-tagger-v2"):
    path = project / folder / "selected_tags.csv"
    path.parent.mkdir(parents=True)
    path.write_text(CSV)
    return path


def test_x_finds_the_projects_tagger_categories_and_opens_with_rating_ticked(tmp_path, monkeypatch):
    monkeypatch.setenv("LORATUI_MODEL_STORE", str(tmp_path / "store"))  # nothing found outside the project
    csv = tagger(tmp_path / "proj")

    async def scenario(app, pilot, img):
        await until(pilot, lambda: app.store.tagger_csv is not None)
        assert app.store.tagger_csv == csv and app.store.categories
        await pilot.press("X")
        await until(pilot, lambda: type(app.screen).__name__ == "BulkOpScreen")
        form = app.screen
        assert form.categories_available
        assert form.query_one("#bulk-cat-rating").value and not form.query_one("#bulk-cat-character").value
        assert "No selected_tags.csv" not in " ".join(str(s.render()) for s in form.query(".bulk-help"))
        await pilot.press("escape")

    run(tmp_path, scenario)


def test_the_project_file_wins_then_the_newest_tagger_folder_then_the_store(tmp_path, monkeypatch):
    import os

    monkeypatch.setenv("LORATUI_MODEL_STORE", str(tmp_path / "store"))
    project = tmp_path / "proj"
    (project / "img" / "2_x").mkdir(parents=True)
    store = DatasetStore(locate_dataset(project))
    in_store = tagger(tmp_path / "store", "wd14/SmilingWolf__wd-swinv2-tagger-v3")
    assert store.find_tagger_csv() == in_store
    older = tagger(project, "models/wd14_tagger/old")
    newer = tagger(project, "wd14_tagger_model/new")
    os.utime(older, (1, 1))
    assert store.find_tagger_csv() == newer  # the project's own tagger before the store's
    os.utime(newer, (0, 0))
    assert store.find_tagger_csv() == older
    own = project / "selected_tags.csv"
    own.write_text(CSV)
    assert store.find_tagger_csv() == own
