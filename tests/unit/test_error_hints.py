"""Core caption messages carry their shell-only ways out as Hint parts: str(exc) is what the CLI printed
before, byte for byte; ``exc.worded(undo=, redo=)`` is the app's wording with its keys, naming no shell
command (`loratui tags undo`, `tags redo`, --force, --skip-changed)."""

from __future__ import annotations

import errno
import os
import pickle
from pathlib import Path

import pytest

import loratui.core.captions.journal as journal
from loratui.core.captions import (
    AddTags, ChangeWriter, EditContext, apply_plan, plan_edits, read_caption, redo_last, undo_last,
)
from loratui.core.errors import ConflictError, Hint, LoratuiError, PartialWriteError
from loratui.core.termline import shell_arg

KEYS = {"undo": "ctrl+z", "redo": "ctrl+y"}
SHELL_WORDS = ("tags undo", "tags redo", "--force", "--skip-changed", "`loratui")


def _app_clean(exc: LoratuiError) -> str:
    said = exc.worded(**KEYS)
    assert not [w for w in SHELL_WORDS if w in said], said
    return said


def test_a_hint_is_said_in_shell_words_by_str_and_in_app_words_by_worded():
    exc = LoratuiError("x: 3 written, ", Hint("`loratui tags undo`", "{undo}"), " puts them back {not a key}")
    assert str(exc) == "x: 3 written, `loratui tags undo` puts them back {not a key}"
    assert exc.worded(**KEYS) == "x: 3 written, ctrl+z puts them back {not a key}"
    assert exc.args == (str(exc),)
    again = pickle.loads(pickle.dumps(exc))  # crosses a process boundary whole
    assert str(again) == str(exc) and again.worded(**KEYS) == exc.worded(**KEYS)


def test_a_plain_message_is_kept_as_exception_keeps_it():
    assert LoratuiError("a {b}").args == ("a {b}",) and LoratuiError("a {b}").worded(**KEYS) == "a {b}"
    assert LoratuiError().args == () and str(LoratuiError()) == ""
    assert PartialWriteError("x").exit_code == 1 and isinstance(ConflictError("x"), LoratuiError)


def _dataset(tmp_path: Path) -> Path:
    folder = tmp_path / "10_a"
    folder.mkdir(parents=True)
    for name in ("a", "b", "c"):
        (folder / f"{name}.txt").write_text("x, y\n", encoding="utf-8")
    return tmp_path


def _add(root: Path, tag: str = "t"):
    captions = [read_caption(p) for p in sorted(root.rglob("*.txt"))]
    plan = plan_edits(captions, [AddTags([tag])], ctx=EditContext(), description=f"add {tag}")
    return apply_plan(plan, root, description=f"add {tag}")


def test_nothing_to_redo(tmp_path):
    root = _dataset(tmp_path)
    with pytest.raises(LoratuiError) as caught:
        redo_last(root)
    assert str(caught.value) == (f"{root}: nothing to redo (redo re-applies what `tags undo` undid, until the next "
                                 "change)")
    assert _app_clean(caught.value) == f"{root}: nothing to redo (ctrl+y re-applies what ctrl+z undid, until the " \
                                       "next change)"


def test_nothing_left_to_undo(tmp_path):
    root = _dataset(tmp_path)
    _add(root)
    undo_last(root)
    with pytest.raises(LoratuiError) as caught:
        undo_last(root)
    assert str(caught.value) == (f"{root}: nothing left to undo: every recorded change has been undone (`tags redo` "
                                 "re-applies the last undone one)")
    assert _app_clean(caught.value).endswith("has been undone (ctrl+y redoes the last undone one)")


def test_an_undo_past_an_edit(tmp_path):
    root = _dataset(tmp_path)
    _add(root)
    (root / "10_a" / "a.txt").write_text("edited\n", encoding="utf-8")
    with pytest.raises(ConflictError) as caught:
        undo_last(root)
    assert str(caught.value) == (f"{root / '10_a' / 'a.txt'}: edited after the change: nothing undone; "
                                 "--skip-changed restores the other 2 files, --force overwrites the edited ones too")
    assert _app_clean(caught.value) == f"{root / '10_a' / 'a.txt'}: edited after the change: nothing undone"


def test_a_journal_walked_by_another_instance(tmp_path):
    with pytest.raises(LoratuiError) as caught:
        journal.load_entry(tmp_path / "000008.json")
    assert str(caught.value) == ("000008.json: that change was just undone or redone by another loratui (or `loratui "
                                 "tags undo`); nothing done here: press it again for the next one")
    assert _app_clean(caught.value) == ("000008.json: that change was just undone or redone by another loratui; "
                                        "nothing done here: press it again for the next one")


def test_a_full_disk_part_way(tmp_path, monkeypatch):
    root = _dataset(tmp_path)
    real, calls = journal.atomic_write_bytes, []

    def fill_up(path, data, **kw):
        calls.append(path)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data, **kw)

    monkeypatch.setattr(journal, "atomic_write_bytes", fill_up)
    with pytest.raises(PartialWriteError) as caught:
        _add(root)
    head = f"{calls[1]}: cannot write (No space left on device); 1 of 3 file(s) were written before it"
    assert str(caught.value) == f"{head} (`loratui tags undo {shell_arg(root)}` puts them back)"
    assert _app_clean(caught.value) == head  # the app adds its own "ctrl+z undoes the 1 written"


def test_a_caption_run_whose_journal_cannot_be_written(tmp_path, monkeypatch):
    root = _dataset(tmp_path)
    target = root / "10_a" / "a.txt"
    writer = ChangeWriter(root, "caption run")
    assert writer.write(target, b"one\n")
    real_open = os.open
    monkeypatch.setattr(os, "open", lambda path, *a, **kw: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full"))
                        if Path(path) == writer.entry else real_open(path, *a, **kw))
    with pytest.raises(LoratuiError) as caught:
        writer.write(root / "10_a" / "b.txt", b"two\n")
    monkeypatch.undo()
    writer.close()
    head = f"{writer.entry}: cannot write the undo journal (full); stopped before writing more captions (1 written, "
    free = "): free some space on the disk mounted at "  # a full disk says so (h1 hunt)
    assert str(caught.value).startswith(head + "`loratui tags undo` puts them back" + free)
    assert _app_clean(caught.value).startswith(head + "ctrl+z puts them back" + free)


def test_plain_parts_join_into_one_message():
    """A part left empty (no hint to give) still makes one message, not a tuple."""
    from loratui.core.errors import LoratuiError

    exc = LoratuiError("img: nothing left to undo", "")
    assert str(exc) == "img: nothing left to undo" and exc.worded(undo="ctrl+z", redo="ctrl+y") == str(exc)


def test_nothing_left_to_undo_is_one_line(tmp_path):
    from loratui.core.captions import undo_last
    from loratui.core.errors import LoratuiError

    (tmp_path / ".loratui" / "undo").mkdir(parents=True)
    try:
        undo_last(tmp_path)
    except LoratuiError as exc:
        assert str(exc).startswith(f"{tmp_path}: nothing") and "('" not in str(exc)
    else:
        raise AssertionError("undo with an empty journal must refuse")
