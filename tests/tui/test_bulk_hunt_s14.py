"""Hunt s14 (keyboard caption cleaning on the Dataset screen), driven by keys:

- Replace: Enter in Old moves to New (it applied a removal), New empty removes only when ticked, and
  the preview drops keys typed before it opened (its `y` applied a bulk write typed for the form);
- the bulk forms' tag boxes: Tab and Enter take the suggestion shown (footer: tab Complete);
- the number boxes ("Keep first", "After first"): the first key replaces the value;
- the tag list keeps a selected tag when the Find text changes.

Keys typed in one burst are queued at once (``burst``), as a terminal delivers fast typing.
"""

from __future__ import annotations

import asyncio

from fixtures.pilot_wait import until
from fixtures.tui_dataset import make_dataset, run_dataset_app
from textual import events
from textual.app import App
from textual.widgets import Input

from loratui.core.captions import AddTags, RemoveTags, ReplaceTag, SortTags
from loratui.tui.screens.bulk_op import BulkOpScreen
from loratui.tui.screens.plan_preview import PlanPreviewScreen
from test_tag_frequency import run as run_pane

UNSET = object()


class Host(App):
    def __init__(self, screen: BulkOpScreen) -> None:
        super().__init__()
        self.form = screen
        self.result = UNSET

    def on_mount(self) -> None:
        self.push_screen(self.form, self._done)

    def _done(self, value) -> None:
        self.result = value


def run_form(screen: BulkOpScreen, scenario) -> None:
    async def main():
        app = Host(screen)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await scenario(app, pilot)

    asyncio.run(main())


def burst(app: App, keys: list[str]) -> None:
    """Queue every key at once (pilot.press waits for the app between keys)."""
    for key in keys:
        event = events.Key(key, key if len(key) == 1 else None)
        event.set_sender(app)
        app._driver.send_message(event)


async def settle(pilot) -> None:
    for _ in range(10):
        await pilot.pause(0.05)


def message(app) -> str:
    return str(app.screen.query_one("#bulk-message").render())


def screen_text(app) -> str:
    return "\n".join("".join(segment.text for segment in strip) for strip in app.screen._compositor.render_strips())


def box(app, id: str) -> Input:
    return app.screen.query_one(f"#{id}", Input)


# ---- 1. Replace: Enter in Old, New empty, type-ahead into the preview ------------------------------------

def test_enter_in_old_moves_to_new_and_the_new_name_lands_there():
    async def scenario(app, pilot):
        burst(app, [*"1boy", "enter", *"boy"])
        await settle(pilot)
        assert app.result is UNSET and isinstance(app.screen, BulkOpScreen)
        assert box(app, "bulk-old").value == "1boy" and box(app, "bulk-new").value == "boy"
        assert app.focused.id == "bulk-new"
        burst(app, ["enter"])
        await settle(pilot)
        assert app.result == ReplaceTag("1boy", "boy")

    run_form(BulkOpScreen("replace", "all 200 images"), scenario)


def test_new_left_empty_removes_only_when_ticked():
    async def scenario(app, pilot):
        burst(app, [*"1boy", "enter", "enter", "enter"])
        await settle(pilot)
        assert app.result is UNSET  # no removal without asking for it
        assert message(app) == "Type the new name for 1boy (to remove it, tick 'remove Old instead')."
        assert "remove Old instead (New left empty)" in screen_text(app)
        assert app.screen.query_one("#bulk-dialog").region.bottom <= 23  # still fits 80x24
        app.screen.query_one("#bulk-remove").focus()
        await pilot.press("space")
        await pilot.pause()
        assert box(app, "bulk-new").disabled
        assert message(app) == "ready: replace 1boy -> (nothing): removes 1boy"
        await pilot.press("enter")
        await pilot.pause()
        assert app.result == ReplaceTag("1boy", "")
        again = BulkOpScreen("replace", "all 200 images")
        await app.push_screen(again)
        await pilot.pause()
        # the form remembers what it held, but a removal is chosen afresh each time
        assert box(app, "bulk-old").value == "1boy" and not again.query_one("#bulk-remove").value
        assert not box(app, "bulk-new").disabled

    run_form(BulkOpScreen("replace", "all 200 images"), scenario)


def test_keys_typed_before_the_preview_opened_do_not_apply_it(tmp_path):
    root = make_dataset(tmp_path / "proj")
    b01 = root / "img" / "5_bob" / "b01.txt"
    before = b01.read_text(encoding="utf-8")

    async def scenario(app, pilot):
        # the hunt's keys, typed at once: R 1boy Enter boy Enter, and a y (or n) typed ahead of the preview
        burst(app, ["R", *"1boy", "enter", *"boy", "enter", "y", "n", "enter"])
        await until(pilot, lambda: isinstance(app.screen, PlanPreviewScreen), "the preview")
        await settle(pilot)
        preview = app.screen
        assert isinstance(preview, PlanPreviewScreen) and preview.dropped == 3
        assert b01.read_text(encoding="utf-8") == before  # nothing written by keys typed for the form
        assert [edit.new for edit in preview.plan.edits] == [["bob", "boy", "solo", "glasses", "simple background"]]
        await pilot.press("y")  # pressed while it shows: applies
        await until(pilot, lambda: "boy, solo" in b01.read_text(encoding="utf-8"), "written")

    run_dataset_app(tmp_path, root, scenario)
    assert b01.read_text(encoding="utf-8").startswith("bob, boy, solo")


# ---- 5. tag completion: Tab and Enter take the suggestion shown ------------------------------------------

VOCAB = ["blue_eyes", "blue_sky", "solo", "solo_focus", "hat", "hat_ornament"]


def known(prefix: str) -> list[str]:
    return [tag for tag in VOCAB if tag.startswith(prefix)]


async def suggested(pilot, field: Input, suggestion: str) -> None:
    await until(pilot, lambda: field._suggestion == suggestion, f"the suggestion {suggestion}")
    await pilot.pause()


def test_tab_takes_the_suggestion_and_the_footer_names_it():
    async def scenario(app, pilot):
        await pilot.press(*"blue_e")
        tags = box(app, "bulk-tags")
        await suggested(pilot, tags, "blue_eyes")
        assert "Complete" in screen_text(app).splitlines()[-1]  # the footer names tab while one is shown
        await pilot.press("tab")
        await pilot.pause()
        assert tags.value == "blue_eyes" and app.focused is tags
        assert "Complete" not in screen_text(app).splitlines()[-1]
        await pilot.press("tab")  # nothing suggested: Tab moves on, as before
        await pilot.pause()
        assert app.focused.id == "bulk-position"
        await pilot.press("enter")
        await pilot.pause()
        assert app.result == AddTags(["blue_eyes"], -1, False)

    run_form(BulkOpScreen("add", "all 200 images", known_tags=known), scenario)


def test_enter_takes_the_suggestion_shown_then_applies():
    async def scenario(app, pilot):
        await pilot.press(*"sol")
        patterns = box(app, "bulk-patterns")
        await suggested(pilot, patterns, "solo")
        await pilot.press("enter")
        await pilot.pause()
        assert app.result is UNSET and patterns.value == "solo"
        await pilot.press("enter")
        await pilot.pause()
        assert app.result == RemoveTags(["solo"], "auto")

    run_form(BulkOpScreen("remove", "all 200 images", known_tags=known), scenario)


def test_a_whole_tag_typed_is_not_grown_into_a_longer_one():
    async def scenario(app, pilot):
        await pilot.press(*"ha")
        patterns = box(app, "bulk-patterns")
        await suggested(pilot, patterns, "hat")
        await pilot.press("t")  # "hat" is a tag: hat_ornament is not offered, Enter uses what is shown
        await settle(pilot)
        assert patterns._suggestion == ""
        await pilot.press("enter")
        await pilot.pause()
        assert app.result == RemoveTags(["hat"], "auto")

    run_form(BulkOpScreen("remove", "all 200 images", known_tags=known), scenario)


# ---- 6. number boxes and the tag list's selection --------------------------------------------------------

def test_the_first_key_in_a_number_box_replaces_its_value():
    async def sort(app, pilot):
        await pilot.press("tab", "3")
        await pilot.pause()
        assert box(app, "bulk-keep").value == "3"  # not "03"
        await pilot.press("enter")
        await pilot.pause()
        assert app.result == SortTags("alpha", 3)

    run_form(BulkOpScreen("sort", "all 2"), sort)

    async def add_front(app, pilot):
        await pilot.press("x", "tab", "left", "tab", "2")  # front: After first is the next box
        await pilot.pause()
        assert box(app, "bulk-keep").value == "2"  # not "12"
        assert app.screen.build_op() == AddTags(["x"], 0, True, keep=2)

    run_form(BulkOpScreen("add", "all 2", keep_tokens=1), add_front)


def test_a_selected_tag_stays_selected_when_the_find_text_changes():
    async def scenario(app, pilot, pane):
        pane.table.move_cursor_to_key("general")
        await pilot.press("space")
        pane.set_filter("so")
        await pilot.pause()
        assert pane.shown_tags == ["solo"]
        pane.table.move_cursor_to_key("solo")
        await pilot.press("space")
        await pilot.pause()
        assert pane.selected_tags == ["solo", "general"]
        summary = str(pane.query_one("#freq-summary").render())
        assert "2 selected (1 hidden by the find)" in summary
        pane.set_filter("")
        await pilot.pause()
        assert sorted(pane.selected_tags) == ["general", "solo"] and pane.table.selected_count == 2
        pane.table.clear_selection()
        await pilot.pause()
        assert pane.selected_tags == []

    run_pane(scenario)


# ---- 3. the preview says what an add left out: the tag under another spelling ---------------------------

def test_the_add_preview_names_captions_that_have_the_tag_under_another_spelling(tmp_path):
    from loratui.core.captions import load_captions, plan_edits

    img = make_dataset(tmp_path / "proj") / "img"
    plan = plan_edits(load_captions(img), [AddTags(["long hair"])])
    assert "a03.txt" not in {edit.path.name for edit in plan.edits}  # it has long_hair

    class PreviewHost(App):
        def on_mount(self) -> None:
            self.push_screen(PlanPreviewScreen(plan, img, "Add tags"))

    async def main():
        app = PreviewHost()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            note = str(app.screen.query_one("#plan-note").render())
            assert note == "'long hair': not added to 1 caption(s) that have it already as 'long_hair' (the same tag)"
            assert "not added to 1 caption(s)" in screen_text(app)

    asyncio.run(main())
