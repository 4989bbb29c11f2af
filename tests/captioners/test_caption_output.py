"""Write modes at the level of one caption file (captioners/output.py)."""

from __future__ import annotations

import pytest

from loratui.captioners.output import Job, write_result
from loratui.core.errors import LoratuiError


def _job(tmp_path):
    return Job(tmp_path / "a.png", tmp_path / "a.txt")


def test_append_free_text_with_prefix_is_added_once(tmp_path):
    job = _job(tmp_path)
    job.caption.write_text("1girl, solo\n", encoding="utf-8")
    sentence = "ohwx, a cat sitting on a chair"  # a BLIP caption with --prefix "ohwx, "
    for _ in range(3):
        write_result(job, sentence, "append", ", ")
    assert job.caption.read_text(encoding="utf-8") == "1girl, solo, ohwx, a cat sitting on a chair\n"


def test_append_keeps_what_is_there_and_its_newlines(tmp_path):
    job = _job(tmp_path)
    job.caption.write_bytes(b"ohwx, Solo\r\nsecond line\r\n")
    line = write_result(job, ["solo", "smile", "ohwx"], "append", ", ")
    assert line == "ohwx, Solo, smile"
    assert job.caption.read_bytes() == b"ohwx, Solo, smile\r\nsecond line\r\n"


def test_append_dry_run_and_overwrite(tmp_path):
    job = _job(tmp_path)
    job.caption.write_text("old\n", encoding="utf-8")
    assert write_result(job, ["new"], "append", ", ", dry_run=True) == "old, new"
    assert job.caption.read_text(encoding="utf-8") == "old\n"
    assert write_result(job, "a sentence, with a comma", "overwrite", ", ") == "a sentence, with a comma"
    assert job.caption.read_text(encoding="utf-8") == "a sentence, with a comma\n"


def test_append_creates_a_missing_caption(tmp_path):
    job = _job(tmp_path)
    write_result(job, ["a", "b"], "append", ", ")
    assert job.caption.read_text(encoding="utf-8") == "a, b\n"


def test_append_to_an_empty_caption_file_ends_with_a_newline(tmp_path):
    job = _job(tmp_path)
    job.caption.write_bytes(b"")
    write_result(job, ["a", "b"], "append", ", ")
    assert job.caption.read_bytes() == b"a, b\n"


def test_images_sharing_a_caption_file_caption_it_once(tmp_path):
    from loratui.captioners.output import plan

    for name in ("a.jpg", "a.png", "b.png"):
        (tmp_path / name).write_bytes(b"x")
    todo, skipped = plan([tmp_path / "a.jpg", tmp_path / "a.png", tmp_path / "b.png"], ".txt", "overwrite")
    assert [j.image.name for j in todo] == ["a.jpg", "b.png"]
    assert [j.image.name for j in skipped] == ["a.png"] and "shares a.txt with a.jpg" in skipped[0].note


@pytest.mark.parametrize("separator", ["", " ", "\t", "  "])
def test_a_blank_separator_is_refused_and_nothing_written(tmp_path, separator):
    job = _job(tmp_path)
    job.caption.write_text("a photo\n", encoding="utf-8")
    for mode in ("append", "overwrite"):
        with pytest.raises(LoratuiError, match="a tag separator needs a visible character"):
            write_result(job, ["a", "b"], mode, separator)
    assert job.caption.read_text(encoding="utf-8") == "a photo\n"


def test_read_only_caption_is_refused_unless_forced(tmp_path):
    job = _job(tmp_path)
    job.caption.write_text("mine\n", encoding="utf-8")
    job.caption.chmod(0o444)
    with pytest.raises(LoratuiError, match="a.txt: read-only caption file.*chmod u\\+w.*--force"):
        write_result(job, ["a"], "overwrite", ", ")
    assert job.caption.read_text() == "mine\n"
    write_result(job, ["a"], "overwrite", ", ", force=True)
    assert job.caption.read_text() == "a\n" and job.caption.stat().st_mode & 0o777 == 0o444
