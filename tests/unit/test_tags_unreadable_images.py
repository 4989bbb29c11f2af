"""B34: `loratui tags add TAG` made a caption file for an image sd-scripts cannot load (a 0-byte or
corrupt .png), hiding the problem. Such images are skipped with one note naming them and their count;
only the images that would get a new caption are probed, by their headers."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from PIL import Image

from loratui.cli import cli


def dataset(tmp_path: Path) -> Path:
    folder = tmp_path / "10_a"
    folder.mkdir(parents=True)
    Image.new("RGB", (16, 16)).save(folder / "good.png")
    (folder / "zero.png").write_bytes(b"")
    (folder / "corrupt.png").write_bytes(b"this is not a png at all")
    (folder / "pair.png").write_bytes(b"")  # shares pair.txt with a readable pair.jpg
    Image.new("RGB", (16, 16)).save(folder / "pair.jpg")
    (folder / "captioned.png").write_bytes(b"")  # its caption exists: edited like any other
    (folder / "captioned.txt").write_text("solo\n")
    return tmp_path


def tags(*args: str):
    return CliRunner().invoke(cli, ["tags", *args], catch_exceptions=False)


def test_add_skips_unreadable_images_with_one_note(tmp_path):
    root = dataset(tmp_path)
    result = tags("add", str(root), "trig", "--yes")
    assert result.exit_code == 0, result.output
    folder = root / "10_a"
    assert (folder / "good.txt").read_text() == "trig\n"
    assert (folder / "pair.txt").read_text() == "trig\n"
    assert (folder / "captioned.txt").read_text() == "solo, trig\n"
    assert not (folder / "zero.txt").exists() and not (folder / "corrupt.txt").exists()
    notes = [line for line in result.output.splitlines() if "unreadable image" in line]
    assert len(notes) == 1
    assert "skipped 2 unreadable image(s)" in notes[0]
    assert "10_a/corrupt.png" in notes[0] and "10_a/zero.png" in notes[0] and "pair.png" not in notes[0]
    assert "loratui dataset scan" in notes[0]


def test_the_note_is_in_the_json_too_and_a_dry_run_says_it(tmp_path):
    root = dataset(tmp_path)
    data = json.loads(tags("add", str(root), "trig", "--dry-run", "--json").output)
    assert any("skipped 2 unreadable image(s)" in note for note in data["notes"])
    assert not any(edit["path"].endswith(("zero.txt", "corrupt.txt")) for edit in data["files"])


def test_only_images_without_a_caption_are_probed(tmp_path, monkeypatch):
    """A captioned dataset (the usual case, thousands of images) probes nothing; `tags remove` never."""
    import loratui.core.dataset as dataset_api

    folder = tmp_path / "10_a"
    folder.mkdir()
    Image.new("RGB", (4, 4)).save(folder / "x0.png")
    png = (folder / "x0.png").read_bytes()
    for i in range(300):
        (folder / f"x{i}.png").write_bytes(png)
        (folder / f"x{i}.txt").write_text("solo\n")
    probed = []
    real = dataset_api.unreadable_reason
    monkeypatch.setattr(dataset_api, "unreadable_reason", lambda path: probed.append(path) or real(path))
    assert tags("add", str(tmp_path), "trig", "--dry-run").exit_code == 0
    assert probed == []
    for i in range(3):
        (folder / f"x{i}.txt").unlink()
    assert tags("remove", str(tmp_path), "solo", "--dry-run").exit_code == 0
    assert probed == []
    assert tags("add", str(tmp_path), "trig", "--dry-run").exit_code == 0
    assert sorted(p.name for p in probed) == ["x0.png", "x1.png", "x2.png"]


def test_probing_thousands_of_new_captions_reads_headers_only(tmp_path, monkeypatch):
    """6,000 images without captions (a fresh dataset's `tags add trigger`): header reads, no decode."""
    import PIL.Image

    folder = tmp_path / "10_a"
    folder.mkdir()
    Image.new("RGB", (4, 4)).save(folder / "x0.png")
    png = (folder / "x0.png").read_bytes()
    for i in range(1, 6000):
        (folder / f"x{i}.png").write_bytes(png)

    def no_decode(*a, **kw):
        raise AssertionError("an image was opened with Pillow")

    monkeypatch.setattr(PIL.Image, "open", no_decode)
    result = tags("add", str(tmp_path), "trig", "--dry-run")
    assert result.exit_code == 0 and "6000 of 6000 caption(s) change (6000 new caption file(s))" in result.output
