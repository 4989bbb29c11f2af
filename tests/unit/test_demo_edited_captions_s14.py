"""The headless demo keeps its word to a user who edited the demo captions (h5 item 5): it said they
'stay as they are', then ran strip-underscores over them (my_tag became 'my tag'). Now the steps that
write captions are skipped, each named, and the edited captions are never taken for the demo's own."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from loratui import demo


@pytest.fixture
def ran(monkeypatch):
    """The walkthrough's commands, recorded instead of run."""
    commands: list[list[str]] = []

    def record(args, cwd):
        commands.append(list(args))
        return 0

    monkeypatch.setattr(demo, "_run", record)
    return commands


def _project(root: Path) -> Path:
    """A demo project as far as main() looks at it: the marker, a config, the demo's captions."""
    root.mkdir()
    (root / "config.toml").write_text("# the demo's config\n", encoding="utf-8")
    (root / demo.MARKER).write_text("made by loratui.demo\n", encoding="utf-8")
    demo.concept_dir(root).mkdir(parents=True)
    demo.write_captions(demo.concept_dir(root))
    demo.remember_captions(root)
    return root


READING_STEPS = [  # what runs when the user edited the captions, in order: nothing that writes them
    ["dataset", "scan", "img"],
    ["tags", "freq", "img"],
    ["tags", "dedupe", "img", "--dry-run"],
    ["tags", "undo", "img", "--list"],
    ["tags", "freq", "img", "--top", "5"],
    ["config", "check", "config.toml"],
    ["steps", "config.toml"],
    ["vram", "config.toml"],
]
SKIPPED_STEPS = [
    ["tags", "dedupe", "img", "--yes"],
    ["tags", "remove-category", "img", "rating", "--yes"],
    ["tags", "strip-underscores", "img", "--keep", demo.TRIGGER, "--yes"],
    ["tags", "add", "img", "shapes", "--front", "--yes"],
    ["tags", "undo", "img", "--yes"],
    ["tags", "add", "img", demo.TRIGGER, "--front", "--yes"],
]


def test_edited_captions_skip_every_step_that_writes_them(tmp_path, ran, capsys):
    root = _project(tmp_path / "demo")
    edited = demo.concept_dir(root) / "000_red_circle.txt"
    edited.write_text(edited.read_text().rstrip("\n") + ", my_tag\n", encoding="utf-8")
    mine = edited.read_text()
    marker = (root / demo.MARKER).read_text()

    assert demo.main(["--dir", str(root), "--no-train"]) == 0
    out = capsys.readouterr().out
    assert "stay as they are: the tag cleanup steps that write captions" in out
    assert ran == READING_STEPS
    skipped = [line for line in out.splitlines() if line.startswith("(skipped: ")]
    assert skipped == [f"(skipped: loratui {shlex.join(args)}: it would change your edited captions)"
                       for args in SKIPPED_STEPS]
    # not remembered as the demo's own: a rerun must not reset them either
    assert (root / demo.MARKER).read_text() == marker
    assert demo.reset_captions(root) is False and edited.read_text() == mine


def test_the_demos_own_captions_get_the_whole_walkthrough(tmp_path, ran, capsys):
    root = _project(tmp_path / "demo")
    assert demo.main(["--dir", str(root), "--no-train"]) == 0
    assert "skipped" not in capsys.readouterr().out
    assert ran == [args for args, _ in demo.walkthrough_steps(train=False)]
    assert sorted(map(tuple, ran)) == sorted(map(tuple, READING_STEPS + SKIPPED_STEPS))


def test_every_step_says_whether_it_writes_captions():
    marks = {tuple(args): writes for args, writes in demo.walkthrough_steps(train=True)}
    assert [list(args) for args, writes in marks.items() if writes] == SKIPPED_STEPS
    assert marks[("train", "config.toml")] is demo.READS
