"""Bulk tag operations on the Dataset screen, as a user-tester met them with keep_tokens = 1:
`+` front keeps a trigger word that is already first where it is (as `tags add --front --keep 1`),
`F` does too, dedupe's preview says repeats were removed (not "only the order changes"), a regex
replace that yields the separator makes several tags, and escape in the preview goes back to the
form as typed (each form remembers its fields for the session; ctrl+l clears them)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from fixtures.cli_run import run_main
from fixtures.pilot_wait import until
from fixtures.tui_dataset import make_dataset
from textual.keys import _character_to_key
from textual.widgets import Input

from loratui.core.captions import AddTags, MoveToFront, ReplaceTag, load_captions, parse_caption, plan_edits
from loratui.core.dataset import locate_dataset
from loratui.tui.app import LoratuiApp
from loratui.tui.screens.plan_preview import DiffView, TagChangesView, order_changed, unchanged_tags_note

CAPTIONS = {
    "10_mychar/m01.png": "mychar, 1girl, solo, smile",
    "10_mychar/m02.png": "1girl, mychar, solo",
    "10_mychar/m03.png": "looking_at_viewer, solo, mychar, hat, hat",
    "10_mychar/m04.png": "mychar, red hair, (red hair, blue eyes:1.2), (smile:1.2)",
    "10_mychar/m05.png": "mychar, 1girl, 1girl, open mouth",
}
WEIGHTS = r"[(\[](.+):-?[0-9.]+[)\]]"  # the app's own weighted-tags hint (core.dataset STRIP_WEIGHTS)


def project(tmp_path: Path) -> Path:
    """The captions above in proj/img, with proj/mychar.toml (keep_tokens = 1)."""
    from loratui.core.config import TrainingConfig, save_config

    root = make_dataset(tmp_path / "proj", CAPTIONS)
    cfg = TrainingConfig()
    cfg.dataset.train_data_dir = "img"
    cfg.dataset.keep_tokens = 1
    save_config(cfg, root / "mychar.toml")
    return root


def run_on(tmp_path: Path, root: Path, scenario) -> None:
    app = LoratuiApp(locate_dataset(root), config_path=root / "mychar.toml",
                     settings_file=tmp_path / "cfg" / "tui.toml",
                     keymap_file=tmp_path / "cfg" / "keymap.toml", themes_dir=tmp_path / "themes", watch=False)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.store.captions_loaded and app.store.scan is not None, "captions and scan")
            await pilot.pause()
            await scenario(app, pilot)

    asyncio.run(main())


def caption(root: Path, name: str) -> str:
    return (root / "img" / "10_mychar" / name).with_suffix(".txt").read_text(encoding="utf-8").strip()


def message(app) -> str:
    return str(app.screen.query_one("#bulk-message").render())


def screen_text(app) -> str:
    return "\n".join("".join(segment.text for segment in strip) for strip in app.screen._compositor.render_strips())


async def type_text(pilot, text: str) -> None:
    await pilot.press(*[_character_to_key(ch) for ch in text])


async def shown(pilot, app, name: str) -> None:
    await until(pilot, lambda: type(app.screen).__name__ == name, name)
    await pilot.pause()


def changed(screen) -> set[str]:
    return {edit.path.name for edit in screen.plan.edits}


def test_add_front_keeps_the_trigger_word_first_as_the_cli_does(tmp_path, capsys):
    root = project(tmp_path)

    async def scenario(app, pilot):
        await pilot.press("plus")
        await shown(pilot, app, "BulkOpScreen")
        await type_text(pilot, "mychar")
        await pilot.press("tab", "left")  # position: end -> front
        await pilot.pause()
        form = app.screen
        assert form.query_one("#bulk-keep", Input).value == "1"
        assert "tags stay (the config's keep_tokens = 1)" in screen_text(app)
        assert form.build_op() == AddTags(["mychar"], 0, True, keep=1)  # what `--front --keep 1` builds
        assert message(app).startswith("ready: add mychar after the first tag, which stays in place")
        await pilot.press("enter")
        await shown(pilot, app, "PlanPreviewScreen")
        assert changed(app.screen) == {"m03.txt"}  # mychar first (m01) or right after the first (m02): left alone
        assert "1 of 5 caption(s) change; 1 only reordered." in screen_text(app)
        await pilot.press("enter")
        await until(pilot, lambda: caption(root, "m03.png").startswith("looking_at_viewer, mychar"), "written")

    run_on(tmp_path, root, scenario)
    assert caption(root, "m01.png") == CAPTIONS["10_mychar/m01.png"]
    assert caption(root, "m02.png") == CAPTIONS["10_mychar/m02.png"]
    assert caption(root, "m03.png") == "looking_at_viewer, mychar, solo, hat, hat"
    # the CLI on the same captions now changes nothing either
    code, out, _ = run_main(["tags", "add", root, "mychar", "--front", "--keep", "1", "--dry-run", "--json"], capsys)
    assert code == 0 and json.loads(out)["changed"] == 0


def test_move_front_with_keep_tokens_leaves_a_first_trigger_word_first(tmp_path):
    root = project(tmp_path)

    async def scenario(app, pilot):
        await pilot.press("F")
        await shown(pilot, app, "BulkOpScreen")
        await type_text(pilot, "mychar")
        await pilot.pause()
        assert app.screen.build_op() == MoveToFront(["mychar"], "auto", 1)
        assert message(app) == ("ready: move mychar to the front, after the first tag, which stays in place even "
                                "if it matches")
        await pilot.press("enter")
        await shown(pilot, app, "PlanPreviewScreen")
        assert changed(app.screen) == {"m03.txt"}  # every caption that starts with mychar stays as it is
        await pilot.press("enter")
        await until(pilot, lambda: caption(root, "m03.png").startswith("looking_at_viewer, mychar"), "written")

    run_on(tmp_path, root, scenario)
    assert caption(root, "m01.png") == CAPTIONS["10_mychar/m01.png"]


def test_dedupe_preview_says_repeats_were_removed_not_reordered(tmp_path):
    root = project(tmp_path)

    async def scenario(app, pilot):
        await pilot.press("D")
        await shown(pilot, app, "BulkOpScreen")
        await pilot.press("enter")
        await shown(pilot, app, "PlanPreviewScreen")
        await until(pilot, lambda: app.screen.counts_ready, "counts")
        await pilot.pause()
        text = screen_text(app)
        assert "2 of 5 caption(s) change; 2 repeated tag(s) removed." in text
        assert "only the order changes" not in text and "only reordered" not in text
        tags = app.screen.query_one(TagChangesView)
        assert tags.unchanged_note == "no tag gained or lost: 2 repeated tag(s) removed (order unchanged)"
        diff = app.screen.query_one(DiffView)
        lines = [diff.line_text(i) for i in range(4)]
        assert "-hat (repeat)" in lines[1] and "~" not in lines[1]

    run_on(tmp_path, root, scenario)


def test_regex_replace_splits_a_result_that_holds_the_separator(tmp_path):
    root = project(tmp_path)

    async def scenario(app, pilot):
        await pilot.press("R")
        await shown(pilot, app, "BulkOpScreen")
        await type_text(pilot, WEIGHTS)
        await pilot.press("tab")
        await type_text(pilot, "\\1")
        await pilot.press("tab", "right", "right")  # match: exact -> glob -> regex
        await pilot.pause()
        assert app.screen.query_one("#bulk-mode").value == "regex"
        await pilot.press("enter")
        await shown(pilot, app, "PlanPreviewScreen")
        gained, lost = app.screen.plan.tag_changes()
        assert set(gained) == {"blue eyes", "smile"}  # red hair: already there, merged (no "red hair, blue eyes")
        assert set(lost) == {"(red hair, blue eyes:1.2)", "(smile:1.2)"}
        edit = app.screen.plan.edits[0]
        assert edit.new == ["mychar", "red hair", "blue eyes", "smile"]
        await pilot.press("enter")
        await until(pilot, lambda: "blue eyes" in caption(root, "m04.png"), "written")

    run_on(tmp_path, root, scenario)
    assert caption(root, "m04.png") == "mychar, red hair, blue eyes, smile"
    m04 = next(c for c in load_captions(root / "img") if c.path.name == "m04.txt")
    assert m04.tags == ["mychar", "red hair", "blue eyes", "smile"]  # reads back as the preview said


def test_escape_in_the_preview_goes_back_to_the_form_as_typed(tmp_path):
    root = project(tmp_path)

    async def scenario(app, pilot):
        await pilot.press("R")
        await shown(pilot, app, "BulkOpScreen")
        await type_text(pilot, WEIGHTS)
        await pilot.press("tab")
        await type_text(pilot, "\\1")
        await pilot.press("tab", "right", "right", "tab", "space")  # regex, any case
        await pilot.press("enter")
        await shown(pilot, app, "PlanPreviewScreen")
        assert "esc Back" in screen_text(app).replace("\xa0", " ")
        await pilot.press("escape")  # back to the form, nothing written
        await shown(pilot, app, "BulkOpScreen")
        form = app.screen
        assert form.query_one("#bulk-old", Input).value == WEIGHTS
        assert form.query_one("#bulk-new", Input).value == "\\1"
        assert form.query_one("#bulk-mode").value == "regex" and form.query_one("#bulk-any-case").value
        assert caption(root, "m04.png") == CAPTIONS["10_mychar/m04.png"]
        await pilot.press("escape")  # the form's escape still closes it
        await shown(pilot, app, "DatasetScreen")
        await pilot.press("R")  # opened again: as it was left
        await shown(pilot, app, "BulkOpScreen")
        assert app.screen.query_one("#bulk-old", Input).value == WEIGHTS
        assert "Clear" in screen_text(app)
        await pilot.press("ctrl+l")  # clear: the defaults again, and forgotten
        await pilot.pause()
        form = app.screen
        assert form.query_one("#bulk-old", Input).value == "" and form.query_one("#bulk-mode").value == "exact"
        assert not form.query_one("#bulk-any-case").value
        await pilot.press("escape")
        await shown(pilot, app, "DatasetScreen")
        await pilot.press("R")
        await shown(pilot, app, "BulkOpScreen")
        assert app.screen.query_one("#bulk-old", Input).value == ""

    run_on(tmp_path, root, scenario)


def test_back_keeps_the_add_forms_keep_and_position(tmp_path):
    root = project(tmp_path)

    async def scenario(app, pilot):
        await pilot.press("plus")
        await shown(pilot, app, "BulkOpScreen")
        await type_text(pilot, "mychar")
        await pilot.press("tab", "left", "tab", "backspace", "2")  # front, after the first 2
        await pilot.pause()
        built = app.screen.build_op()
        assert built == AddTags(["mychar"], 0, True, keep=2)
        await pilot.press("enter")
        await shown(pilot, app, "PlanPreviewScreen")
        await pilot.press("escape")
        await shown(pilot, app, "BulkOpScreen")
        assert app.screen.build_op() == built
        assert not app.screen.query_one("#bulk-keep", Input).disabled  # front: its After first box is on

    run_on(tmp_path, root, scenario)


def test_escape_on_a_preview_with_nothing_to_change_goes_back_too(tmp_path):
    root = project(tmp_path)

    async def scenario(app, pilot):
        await pilot.press("minus")
        await shown(pilot, app, "BulkOpScreen")
        await type_text(pilot, "no such tag")
        await pilot.press("enter")
        await shown(pilot, app, "PlanPreviewScreen")
        text = screen_text(app).replace("\xa0", " ")
        assert "Nothing would change" in text and "esc Back" in text and "Close" in text
        await pilot.press("escape")
        await shown(pilot, app, "BulkOpScreen")
        assert app.screen.query_one("#bulk-patterns", Input).value == "no such tag"
        await pilot.press("enter")
        await shown(pilot, app, "PlanPreviewScreen")
        await pilot.press("q")  # close: back on the table
        await shown(pilot, app, "DatasetScreen")

    run_on(tmp_path, root, scenario)


def test_the_preview_note_says_what_changed_when_no_tag_is_gained_or_lost(tmp_path: Path):
    assert unchanged_tags_note(18, 0) == "no tag gained or lost: 18 repeated tag(s) removed (order unchanged)"
    assert unchanged_tags_note(0, 5) == "no tag gained or lost (only the order changes)"
    assert unchanged_tags_note(2, 3) == "no tag gained or lost: 2 repeated tag(s) removed, 3 caption(s) reordered"

    def edit(old: str, new: list[str]):
        return plan_edits([parse_caption(old.encode(), tmp_path / "x.txt")], [_Set(new)]).edits[0]

    assert not order_changed(edit("a, b, a", ["a", "b"]))     # a dedupe
    assert order_changed(edit("a, b, a", ["b", "a"]))         # a dedupe and a sort
    assert order_changed(edit("a, b", ["b", "a"]))            # only reordered
    assert not order_changed(edit("a, b", ["a", "x", "b"]))   # an add


class _Set(ReplaceTag):
    """A stand-in op: every caption gets ``tags``."""

    def __init__(self, tags: list[str]) -> None:
        super().__init__("", "")
        self.tags = tags

    def compile(self, ctx):
        return lambda _tags: list(self.tags)
