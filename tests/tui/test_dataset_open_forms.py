"""The Dataset screen opened the ways a user starts it from a shell: `loratui` (no path) inside a
concept or train folder, and on an empty folder (Pilot, 80x24)."""

from __future__ import annotations

import os
from pathlib import Path

from fixtures.tui_dataset import make_dataset, run_dataset_app


def _run(tmp_path: Path, where: str, scenario) -> None:
    run_dataset_app(tmp_path, where, scenario)


def test_dot_inside_a_concept_folder_loads_captions_and_edits(tmp_path, monkeypatch):
    img = make_dataset(tmp_path / "proj") / "img"
    monkeypatch.chdir(img / "10_alice")

    async def scenario(app, pilot):
        rows = app.store.rows
        assert rows and all(r.caption is not None for r in rows if os.path.exists(r.caption_str))
        assert app.store.location.concept == "10_alice"
        status = str(app.screen.query_one("#status").render())
        assert "loading" not in status and "reading captions" not in status

    _run(tmp_path, ".", scenario)


def test_dot_inside_the_train_folder_loads_captions(tmp_path, monkeypatch):
    img = make_dataset(tmp_path / "proj") / "img"
    monkeypatch.chdir(img)

    async def scenario(app, pilot):
        captioned = [r for r in app.store.rows if os.path.exists(r.caption_str)]
        assert captioned and all(r.caption is not None for r in captioned)

    _run(tmp_path, ".", scenario)


def test_empty_folder_keeps_saying_what_to_do(tmp_path):
    (tmp_path / "empty").mkdir()

    async def scenario(app, pilot):
        await pilot.pause(0.3)
        status = str(app.screen.query_one("#status").render())
        assert "no images in" in status and "dataset init" in status

    _run(tmp_path, str(tmp_path / "empty"), scenario)


def test_empty_folder_hint_survives_a_long_path(tmp_path):
    deep = tmp_path / ("a-rather-long-folder-name-" * 4) / "more-folders-on-a-cloud-pod" / "empty"
    deep.mkdir(parents=True)

    async def scenario(app, pilot):
        await pilot.pause(0.3)
        status = str(app.screen.query_one("#status").render())
        assert "no images in empty/" in status and "dataset init" in status

    _run(tmp_path, str(deep), scenario)
