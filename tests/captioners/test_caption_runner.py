"""Runner and write modes: overwrite, append (merge), skip + resume after an interrupt, bad images."""

from __future__ import annotations

from PIL import Image

from loratui.captioners.output import find_images, merge, plan
from loratui.captioners.runner import run_captioning
from loratui.captioners.wd14 import WD14Captioner


def make_dataset(root, n=6, bad=True):
    sub = root / "3_cat"
    sub.mkdir(parents=True)
    for i in range(n):
        colour = [(255, 0, 0), (0, 0, 255), (255, 255, 255)][i % 3]
        Image.new("RGB", (64 + i, 48), colour).save(sub / f"img{i:02d}.png")
    if bad:
        (sub / "broken.jpg").write_bytes(b"")
    (root / "other").mkdir()
    Image.new("RGB", (8, 8)).save(root / "other" / "ignored.png")
    return sub


def test_find_images_flat_and_kohya_folders(tmp_path):
    sub = make_dataset(tmp_path)
    names = [p.name for p in find_images(tmp_path)]
    assert "ignored.png" not in names and len(names) == 7
    assert "ignored.png" in [p.name for p in find_images(tmp_path, recursive=True)]
    assert len(find_images(sub)) == 7


def test_overwrite_append_and_bad_image(tmp_path, wd14_v3):
    sub = make_dataset(tmp_path)
    cap = WD14Captioner(wd14_v3, batch_size=4)
    (sub / "img00.txt").write_text("my trigger, red_theme\nsecond line kept\n")
    jobs, skipped = plan(find_images(tmp_path), ".txt", "append")
    result = run_captioning(cap, jobs, mode="append", workers=2)
    assert result.captioned == 6 and skipped == []
    assert result.failed == [(str(sub / "broken.jpg"), "zero-byte file")]
    assert (sub / "img00.txt").read_text() == "my trigger, red_theme, 1girl, solo, ^_^\nsecond line kept\n"
    assert (sub / "img01.txt").read_text() == "1girl, solo, blue_theme, ^_^, hatsune_miku_(vocaloid)\n"
    jobs, _ = plan(find_images(tmp_path), ".txt", "overwrite")
    run_captioning(cap, jobs, mode="overwrite", workers=1)
    assert (sub / "img00.txt").read_text() == "1girl, solo, red_theme, ^_^\n"
    assert result.tag_counts["1girl"] == 6


def test_dry_run_writes_nothing(tmp_path, wd14_v2):
    sub = make_dataset(tmp_path, n=3, bad=False)
    jobs, _ = plan(find_images(tmp_path), ".caption", "overwrite")
    result = run_captioning(WD14Captioner(wd14_v2), jobs, dry_run=True)
    assert result.captioned == 3 and not list(sub.glob("*.caption"))
    assert result.captions[str(sub / "img02.png")] == "1girl, solo, ^_^, white_background"


class Interrupting:
    """Wraps a captioner and raises KeyboardInterrupt (Ctrl-C) on its n-th batch."""

    def __init__(self, inner, at):
        self.inner, self.at, self.calls = inner, at, 0
        self.name, self.batch_size, self.provider = inner.name, inner.batch_size, inner.provider

    def prepare(self, image):
        return self.inner.prepare(image)

    def run(self, batch):
        self.calls += 1
        if self.calls == self.at:
            raise KeyboardInterrupt
        return self.inner.run(batch)


def test_interrupt_then_skip_mode_resumes(tmp_path, wd14_v3):
    sub = make_dataset(tmp_path, n=9, bad=False)
    cap = WD14Captioner(wd14_v3, batch_size=2)
    jobs, _ = plan(find_images(tmp_path), ".txt", "skip")
    first = run_captioning(Interrupting(cap, at=3), jobs, mode="overwrite", workers=2)
    assert first.interrupted and first.captioned == 4
    assert not list(sub.glob(".*tmp"))  # no half-written caption or temp file left behind
    for txt in sub.glob("*.txt"):
        assert txt.read_text().endswith("\n")
    jobs, skipped = plan(find_images(tmp_path), ".txt", "skip")
    assert len(skipped) == 4 and len(jobs) == 5
    second = run_captioning(cap, jobs, mode="skip")
    assert second.captioned == 5 and len(list(sub.glob("*.txt"))) == 9


def test_merge_is_case_insensitive_and_keeps_order():
    assert merge(["A", "b"], ["a", "c", "C", "d"]) == ["A", "b", "c", "d"]
