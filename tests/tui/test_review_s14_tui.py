"""Review r1 of the s14 commits, in the app: a bulk write that drops old undo entries says so (4); each
private Textual name loratui uses sits behind one function that fails loudly when Textual renames it (6);
one type-ahead mixin (7a); one rescan with keep= (7c); TypedFormPresetPicker is a screen, imported lazily
(9); the app's "nothing to resume" for a run without a record keeps its bracket after the key (11)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

from fixtures.pilot_wait import until
from fixtures.read_only_caption import project  # noqa: F401 - a fixture
from fixtures.tui_dataset import make_dataset, run_dataset_app
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.events import Key
from textual.reactive import Reactive
from textual.screen import Screen
from textual.suggester import SuggestFromList
from textual.widgets import Footer, Input

from loratui.core.captions import AddTags
from loratui.core.captions import journal as edit_journal  # its cap, lowered below
from loratui.tui.screens.config_dialogs import OfferDialog
from loratui.tui.screens.plan_preview import PlanPreviewScreen
from loratui.tui.widgets.textual_compat import (
    SUGGESTION, DropsTypeAhead, input_suggestion, key_clock, show_bindings, watch_input_suggestion,
)
from tests.tui.test_balance_cursor_s14 import cursor_on
from tests.tui.test_caption_hunt_s14 import make_app, resume_line

CAPTIONS = {"1_a/a0.png": "solo", "1_a/a1.png": "solo, smile", "2_b/b0.png": "bee"}


def messages(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


# ---- 4. a write that drops old undo entries says so ----------------------------------------------------

def test_a_bulk_write_that_drops_old_undo_entries_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(edit_journal, "KEEP_ENTRIES", 1)
    root = make_dataset(tmp_path / "proj", CAPTIONS)

    async def scenario(app, pilot):
        screen = app.screen
        for number, tag in enumerate(("x", "y"), 1):
            screen.run_bulk_op(AddTags([tag]), "add a tag", (list(app.store.rows), "all"))
            await until(pilot, lambda: isinstance(app.screen, PlanPreviewScreen), "the preview")
            await pilot.press("enter")
            await until(pilot, lambda n=number: sum("wrote" in m for m in messages(app)) == n, "the write")
            await until(pilot, lambda: not screen.writing, "the write gate")
        dropped = [m for m in messages(app) if "dropped from the undo history" in m]
        assert len(dropped) == 1 and dropped[0].startswith("1 older change(s) were dropped"), messages(app)

    run_dataset_app(tmp_path, root, scenario)


# ---- 6. Textual's private names, one function each ----------------------------------------------------

def test_the_key_clock_is_the_one_textual_stamps_keys_with():
    before = key_clock()
    key = Key("a", "a")
    assert before <= key.time <= key_clock()  # another clock (or a renamed _time.get_time) fails here


def test_the_input_suggestion_reactive_is_still_there_and_watched():
    assert isinstance(Input.__dict__.get(SUGGESTION), Reactive), "Textual renamed Input._suggestion"
    seen: list[str] = []

    class Box(App):
        def compose(self) -> ComposeResult:
            yield Input(suggester=SuggestFromList(["long hair"]), id="box")

        def on_mount(self) -> None:
            box = self.query_one(Input)
            watch_input_suggestion(box, lambda: seen.append(input_suggestion(box)))

    async def main():
        app = Box()
        async with app.run_test() as pilot:
            box = app.query_one(Input)
            box.focus()
            await pilot.press("l", "o")
            await until(pilot, lambda: input_suggestion(box) == "long hair", "the suggestion")
            assert "long hair" in seen  # the watcher fired (a renamed reactive never would)

    asyncio.run(main())


def test_show_bindings_changes_one_screen_only():
    class Keys(Screen):
        BINDINGS = [Binding("x", "noop", "Ex", id="t.x"), Binding("y", "noop", "Why", id="t.y")]

        def compose(self) -> ComposeResult:
            yield Footer()

    def shown(bindings) -> dict:
        return {b.id: b.show for bound in bindings.key_to_bindings.values() for b in bound if b.id}

    one, other = Keys(), Keys()
    show_bindings(one, {"t.x", "t.y"}, {"t.y"})
    assert shown(one._bindings) == {"t.x": False, "t.y": True}
    assert shown(other._bindings) == shown(Keys._merged_bindings) == {"t.x": True, "t.y": True}


# ---- 7a. one type-ahead rule -----------------------------------------------------------------------------

def test_the_offer_dialog_and_the_preview_share_the_type_ahead_mixin():
    assert issubclass(OfferDialog, DropsTypeAhead) and issubclass(PlanPreviewScreen, DropsTypeAhead)

    class Probe(DropsTypeAhead):
        told = 0

        def typed_ahead_dropped(self) -> None:
            self.told += 1

    early = Key("y", "y")
    probe = Probe()
    probe.start_dropping_typed_ahead()
    late = Key("y", "y")
    assert probe.drop_typed_ahead(early) and early._no_default_action and probe.dropped == probe.told == 1
    assert not probe.drop_typed_ahead(late) and probe.dropped == 1


# ---- 7c. one rescan ----------------------------------------------------------------------------------------

def test_rescan_keep_leaves_the_cursor_on_its_image(tmp_path):
    root = make_dataset(tmp_path / "proj", CAPTIONS)
    img = root / "img"

    async def scenario(app, pilot):
        screen = app.screen
        cursor_on(app, "b0.png")
        (img / "1_a" / "a00.png").write_bytes((img / "1_a" / "a0.png").read_bytes())  # a row before it
        old_rows = app.store.rows
        screen.rescan(keep=True)
        await until(pilot, lambda: app.store.rows is not old_rows, "the rescan")
        await pilot.pause()
        assert screen.table.cursor_row.image == img / "2_b" / "b0.png" and len(app.store.rows) == 4

    run_dataset_app(tmp_path, root, scenario)


# ---- 9. the typed-form preset picker is a screen, imported when used --------------------------------------

def test_the_typed_form_picker_lives_with_the_picker_and_loads_lazily():
    from loratui.tui.screens.preset_picker import PresetPicker, TypedFormPresetPicker
    from loratui.tui.widgets import vram_panel

    assert issubclass(TypedFormPresetPicker, PresetPicker)
    assert vram_panel.TypedFormPresetPicker is TypedFormPresetPicker  # the old import still works
    code = ("import sys, loratui.tui.widgets.vram_panel; "
            "print('loratui.tui.screens.preset_picker' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---- 11. "nothing to resume" for a run with no record: the app's key, the bracket after it ---------------

def test_nothing_to_resume_without_a_record_closes_its_bracket_after_the_key(tmp_path, project):  # noqa: F811
    from loratui.core.captions import apply_plan, load_captions, plan_set_tags

    train = project / "img"
    caption = next(c for c in load_captions(train) if c.path.name == "r.txt")
    result = apply_plan(plan_set_tags([(caption, ["x"])]), train, description="caption run: wd14 (overwrite)",
                        force=True)
    (train / ".loratui" / "caption-run.json").write_text(json.dumps({"finished": result.journal.name}))
    app = make_app(tmp_path, project)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            line = await resume_line(app, pilot)
            assert line.endswith("(a run stopped before it wrote anything: ctrl+r starts it again)"), line
            assert "--resume" not in line and "))" not in line

    asyncio.run(main())
