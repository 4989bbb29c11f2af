"""Bulk tag-operation forms, the plan preview and the recipe dialogs, driven by keys through Pilot."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fixtures.big_plan import big_plan
from textual.app import App
from textual.widgets import Static

from loratui.core.captions import (
    AddTags, Dedupe, EditContext, MoveToFront, RemoveCategory, RemoveTags, ReplaceTag, SortTags, StripUnderscores,
    load_captions, load_recipe, plan_edits, save_recipe, Recipe,
)
from loratui.core.errors import LoratuiError
from loratui.tui.screens.bulk_op import BulkOpScreen, split_items
from loratui.tui.screens.plan_preview import DiffView, PlanPreviewScreen, TagChangesView
from loratui.tui.screens.recipe_dialogs import PickRecipeScreen, SaveRecipeScreen, recipe_path

UNSET = object()


class Host(App):
    """Pushes one screen and keeps what it dismissed with."""

    def __init__(self, make_screen) -> None:
        super().__init__()
        self.make_screen = make_screen
        self.result = UNSET

    def on_mount(self) -> None:
        self.push_screen(self.make_screen(), self._done)

    def _done(self, value) -> None:
        self.result = value


def run(make_screen, scenario):
    """Run ``scenario(app, pilot)`` with ``make_screen()`` pushed at 80x24."""

    async def main():
        app = Host(make_screen)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await scenario(app, pilot)

    asyncio.run(main())


def screen_text(app: App) -> str:
    return "\n".join("".join(segment.text for segment in strip) for strip in app.screen._compositor.render_strips())


def message(app: App) -> str:
    return str(app.screen.query_one("#bulk-message", Static).render())


async def type_text(pilot, text: str) -> None:
    await pilot.press(*[{" ": "space", ",": "comma", "/": "slash"}.get(ch, ch) for ch in text])


def core_error(func) -> str:
    with pytest.raises(LoratuiError) as info:
        func()
    return str(info.value)


# ---- forms -----------------------------------------------------------------------------------

def test_add_form_builds_the_cli_op_and_fits_80x24():
    async def scenario(app, pilot):
        assert "Applies to selected: 12 images" in screen_text(app)
        dialog = app.screen.query_one("#bulk-dialog")
        assert dialog.region.bottom <= 23 and dialog.region.right <= 80
        await type_text(pilot, "alice, smile")
        await pilot.pause()
        assert message(app).startswith("ready: add alice, smile at the end")
        await pilot.press("enter")
        await pilot.pause()
        # `loratui tags add DIR alice smile`
        assert app.result == AddTags(["alice", "smile"], -1, False)

    run(lambda: BulkOpScreen("add", "selected: 12 images", categories_available=False), scenario)


def test_add_front_with_keep_and_index():
    async def scenario(app, pilot):
        await type_text(pilot, "alice")
        await pilot.press("tab", "left")  # position: end -> front
        await pilot.pause()
        assert app.screen.build_op() == AddTags(["alice"], 0, True)  # `tags add --front alice`
        await pilot.press("tab", "backspace", "1")  # the index box is disabled: tab lands on keep
        await pilot.pause()
        assert app.screen.build_op() == AddTags(["alice"], 0, True, keep=1)  # `--front --keep 1`
        await pilot.press("shift+tab", "right", "right", "tab")  # front -> index; tab to the index box
        await pilot.pause()
        await type_text(pilot, "-2")
        await pilot.pause()
        # `tags add --position -2 alice`: an index does not move existing tags (as the CLI)
        assert app.screen.build_op() == AddTags(["alice"], -2, False)
        await pilot.press("tab", "space")  # move-existing toggle (keep box disabled again)
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert app.result == AddTags(["alice"], -2, True)

    run(lambda: BulkOpScreen("add", "all 5 images"), scenario)


def test_invalid_regex_shows_core_message_and_enter_waits():
    expected = core_error(lambda: RemoveTags(["/[bad/"]).compile(None))

    async def scenario(app, pilot):
        await type_text(pilot, "/[bad/")
        await pilot.pause()
        assert message(app) == f"error: {expected}"
        assert "error: bad regular expression '[bad'" in screen_text(app)  # shown, not only stored
        await pilot.press("enter")
        await pilot.pause()
        assert app.result is UNSET and isinstance(app.screen, BulkOpScreen)
        await pilot.press("backspace", "right_square_bracket", "slash", "comma", "space")
        await type_text(pilot, "*bg*")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert app.result == RemoveTags(["/[bad]/", "*bg*"], "auto")

    run(lambda: BulkOpScreen("remove", "filtered: 340 of 2,000"), scenario)


def test_escape_cancels():
    async def scenario(app, pilot):
        await type_text(pilot, "x")
        await pilot.press("escape")
        await pilot.pause()
        assert app.result is None

    run(lambda: BulkOpScreen("replace", "all 2,000"), scenario)


def test_replace_sort_move_strip_dedupe_build_core_ops():
    async def replace(app, pilot):
        await type_text(pilot, "solo")
        await pilot.press("tab")
        await type_text(pilot, "1girl")
        await pilot.press("tab", "right", "right")  # exact -> glob -> regex
        await pilot.pause()
        assert app.screen.build_op() == ReplaceTag("solo", "1girl", "regex")
        await pilot.press("enter")
        await pilot.pause()
        assert app.result == ReplaceTag("solo", "1girl", "regex")

    run(lambda: BulkOpScreen("replace", "all 2"), replace)

    async def sort(app, pilot):
        await pilot.press("right", "tab", "backspace", "1", "enter")  # frequency, keep 1
        await pilot.pause()
        assert app.result == SortTags("frequency", 1)

    run(lambda: BulkOpScreen("sort", "all 2"), sort)

    async def sort_category(app, pilot):
        await pilot.press("left")  # alpha -> category
        await pilot.pause()
        assert "selected_tags.csv" in message(app)
        await pilot.press("enter")
        await pilot.pause()
        assert app.result is UNSET

    run(lambda: BulkOpScreen("sort", "all 2", categories_available=False), sort_category)

    async def move(app, pilot):
        await type_text(pilot, "alice, /x{1,3}/")
        await pilot.press("enter")
        await pilot.pause()
        assert app.result == MoveToFront(["alice", "/x{1,3}/"], "auto")

    run(lambda: BulkOpScreen("move_front", "all 2"), move)

    async def strip(app, pilot):
        await type_text(pilot, "alice_lora")
        await pilot.press("enter")
        await pilot.pause()
        assert app.result == StripUnderscores(keep_tags=["alice_lora"])

    run(lambda: BulkOpScreen("strip_underscores", "all 2"), strip)

    async def dedupe(app, pilot):
        assert message(app) == "ready: remove duplicate tags"
        await pilot.press("enter")
        await pilot.pause()
        assert app.result == Dedupe()

    run(lambda: BulkOpScreen("dedupe", "all 2"), dedupe)


def test_remove_category_needs_categories_unless_rating():
    async def without_csv(app, pilot):
        assert app.screen.build_op() == RemoveCategory(["rating"])  # ticked on opening (README: X removes it)
        await pilot.press("space", "enter")  # rating (first) unticked: nothing ticked
        await pilot.pause()
        assert app.result is UNSET
        await pilot.press("space")  # rating again
        await pilot.pause()
        assert app.screen.build_op() == RemoveCategory(["rating"])
        await pilot.press("tab", "space")  # character
        await pilot.pause()
        assert "selected_tags.csv" in message(app)
        await pilot.press("enter")
        await pilot.pause()
        assert app.result is UNSET
        await pilot.press("space")
        await pilot.press("enter")
        await pilot.pause()
        assert app.result == RemoveCategory(["rating"])

    run(lambda: BulkOpScreen("remove_category", "all 2", categories_available=False), without_csv)

    async def with_csv(app, pilot):
        await pilot.press("tab", "space", "enter")  # rating is ticked already; character too
        await pilot.pause()
        assert app.result == RemoveCategory(["rating", "character"])

    run(lambda: BulkOpScreen("remove_category", "all 2", categories_available=True), with_csv)


def test_known_tags_complete_the_last_item():
    vocab = ["long hair", "long sleeves", "smile"]

    async def scenario(app, pilot):
        await type_text(pilot, "smile, long s")
        await pilot.pause()
        await pilot.pause()
        await pilot.press("right")  # accept the suggestion
        await pilot.press("enter")
        await pilot.pause()
        assert app.result == AddTags(["smile", "long sleeves"], -1, False)

    run(lambda: BulkOpScreen("add", "all", known_tags=lambda prefix: [t for t in vocab if t.startswith(prefix)]),
        scenario)


def test_bindings_have_ids_and_descriptions():
    for cls in (BulkOpScreen, PlanPreviewScreen, SaveRecipeScreen, PickRecipeScreen):
        for binding in cls.BINDINGS:
            assert binding.id and binding.description, (cls.__name__, binding)
    assert {b.id for b in BulkOpScreen.BINDINGS} == {"bulk.apply", "bulk.cancel", "bulk.clear", "bulk.next_field",
                                                     "bulk.previous_field"}


def test_split_items_keeps_regexes_and_brackets():
    assert split_items("a, /x{1,3}/ , (b, c:1.2),, *bg*") == ["a", "/x{1,3}/", "(b, c:1.2)", "*bg*"]
    assert split_items("smile :(, b") == ["smile :(", "b"]  # unbalanced: plain commas
    assert split_items(" ") == []


# ---- plan preview ----------------------------------------------------------------------------

def _dataset(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    concept = root / "1_alice"
    concept.mkdir(parents=True)
    captions = {"a": "alice, smile, solo", "b": "smile, long hair", "c": "alice", "d": None}
    for stem, text in captions.items():
        (concept / f"{stem}.png").write_bytes(b"")
        if text is not None:
            (concept / f"{stem}.txt").write_text(text + "\n", encoding="utf-8")
    return root


def test_preview_of_a_real_plan_shows_counts_and_diff(tmp_path):
    root = _dataset(tmp_path)
    captions = load_captions(root)
    plan = plan_edits(captions, [AddTags(["alice"], 0, True), RemoveTags(["smile"])], ctx=EditContext())

    async def scenario(app, pilot):
        text = screen_text(app)
        assert "3 of 4 caption(s) change (1 new caption file(s))" in text
        assert "+ alice" in text and "- smile" in text  # gained / lost columns
        tags = app.screen.query_one(TagChangesView)
        assert tags.gained == [("alice", 2)] and tags.lost == [("smile", 2)]
        diff = app.screen.query_one(DiffView)
        lines = [diff.line_text(i) for i in range(6)]
        assert lines == [
            "1_alice/a.txt", "  -smile",  # a: alice already first
            "1_alice/b.txt", "  +alice  -smile",
            "1_alice/d.txt  (new caption file)", "  +alice",
        ]
        assert "1_alice/b.txt" in text and "+alice  -smile" in text
        await pilot.press("t")  # text view
        await pilot.pause()
        lines = [diff.line_text(i) for i in range(3, 6)]
        assert lines == ["1_alice/b.txt", "  - smile, long hair", "  + alice, long hair"]
        assert "- smile, long hair" in screen_text(app)
        assert diff.has_focus
        await pilot.press("tab")
        await pilot.pause()
        assert tags.has_focus
        await pilot.press("n")
        await pilot.pause()
        assert app.result is False

    run(lambda: PlanPreviewScreen(plan, root, "Preview: add alice"), scenario)

    async def apply(app, pilot):
        await pilot.press("y")
        await pilot.pause()
        assert app.result is True

    run(lambda: PlanPreviewScreen(plan, root, "Preview"), apply)


def test_empty_plan_only_offers_close(tmp_path):
    root = _dataset(tmp_path)
    plan = plan_edits(load_captions(root), [Dedupe()])
    assert not plan.edits

    async def scenario(app, pilot):
        assert "Nothing would change" in screen_text(app)
        actions = {b.binding.action for b in app.screen.active_bindings.values()}
        assert "close" in actions and "apply" not in actions
        await pilot.press("y")  # not bound on an empty plan
        await pilot.pause()
        assert app.result is UNSET
        await pilot.press("enter")
        await pilot.pause()
        assert app.result is False

    run(lambda: PlanPreviewScreen(plan, root, "Preview"), scenario)


def test_a_10000_file_plan_opens_and_scrolls_to_its_end():
    """The first frame's time is bench/tui_latency.py's (target 1 s)."""
    plan = big_plan()
    assert len(plan.edits) == 10_000

    async def scenario(app, pilot):
        screen = PlanPreviewScreen(plan, Path("/d"), "Preview")
        app.push_screen(screen, app._done)
        while screen.first_frame_s is None:
            await asyncio.sleep(0.002)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.counts_ready
        assert "10,000 of 10,000 caption(s) change" in screen_text(app)
        diff = screen.query_one(DiffView)
        await pilot.press("pagedown")
        await pilot.pause()
        assert diff.scroll_offset.y > 0
        await pilot.press("end")
        await pilot.pause()
        assert "1_c/09999.txt" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert app.result is False

    run(lambda: _Blank(), scenario)


class _Blank(BulkOpScreen):
    """A throwaway screen under the timed one (the Host needs something to push first)."""

    def __init__(self) -> None:
        super().__init__("dedupe", "all")


# ---- recipes ---------------------------------------------------------------------------------

def test_save_recipe_by_name_writes_through_core(tmp_path):
    folder = tmp_path / "data" / ".loratui" / "recipes"
    ops = [RemoveCategory(["rating"]), AddTags(["alice"], 0, True)]

    async def scenario(app, pilot):
        await type_text(pilot, "bad:name")
        await pilot.pause()
        assert "has ':'" in str(app.screen.query_one("#recipe-message", Static).render())
        await pilot.press("enter")
        await pilot.pause()
        assert app.result is UNSET
        await pilot.press(*["backspace"] * 5)
        await type_text(pilot, "-clean")
        await pilot.press("tab")
        await type_text(pilot, "my cleanup")
        await pilot.press("enter")
        await pilot.pause()
        assert app.result == folder / "bad-clean.toml"

    run(lambda: SaveRecipeScreen(folder, ops=ops, where="tag:solo"), scenario)
    recipe = load_recipe(folder / "bad-clean.toml")
    assert recipe.description == "my cleanup"
    assert [op.to_dict() for op in recipe.ops] == [{**op.to_dict(), "where": "tag:solo"} for op in ops]


def test_recipe_path_rules(tmp_path):
    assert recipe_path("x", tmp_path) == tmp_path / "x.toml"
    assert recipe_path("sub/x.TOML", tmp_path) == tmp_path / "sub" / "x.TOML"
    assert recipe_path(str(tmp_path / "abs"), Path("/elsewhere")) == tmp_path / "abs.toml"
    for bad in ("", "  ", "a?b", "x.", "..", "a\tb"):
        with pytest.raises(LoratuiError):
            recipe_path(bad, tmp_path)


def test_pick_recipe_previews_and_refuses_a_broken_one(tmp_path):
    folder = tmp_path / "recipes"
    folder.mkdir()
    save_recipe(Recipe([RemoveTags(["*background"]), Dedupe()], None, "drop backgrounds"), folder / "a_clean.toml")
    (folder / "b_broken.toml").write_text('[[op]]\nop = "explode"\n', encoding="utf-8")
    other = tmp_path / "elsewhere.toml"
    save_recipe(Recipe([SortTags("alpha", 1)]), other)
    broken_error = core_error(lambda: load_recipe(folder / "b_broken.toml"))

    async def scenario(app, pilot):
        text = screen_text(app)
        assert "a_clean.toml" in text and "b_broken.toml" in text
        assert "drop backgrounds" in text and "1. remove *background" in text and "2. remove duplicate" in text
        await pilot.press("down")
        await pilot.pause()
        assert str(app.screen.query_one("#recipe-message", Static).render()) == f"error: {broken_error}"
        assert "Traceback" not in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        assert app.result is UNSET
        await pilot.press("tab")
        await type_text(pilot, str(other))
        await pilot.pause()

        assert "1. sort by alpha (first 1 kept)" in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        assert app.result == other

    run(lambda: PickRecipeScreen([folder, tmp_path / "missing"]), scenario)

    async def first(app, pilot):
        await pilot.press("enter")
        await pilot.pause()
        assert app.result == folder / "a_clean.toml"

    run(lambda: PickRecipeScreen([folder]), first)


def test_keep_first_defaults_to_the_config_keep_tokens_and_says_so():
    """hunt8 finding 5: a trigger word kept by keep_tokens is not moved by a sort or an add at the front."""
    async def sort(app, pilot):
        assert app.screen.query_one("#bulk-keep").value == "2"
        assert "the config's keep_tokens = 2" in screen_text(app)
        assert app.screen.build_op() == SortTags("alpha", 2)

    run(lambda: BulkOpScreen("sort", "all 2", keep_tokens=2), sort)

    async def add_front(app, pilot):
        await type_text(pilot, "x")
        await pilot.press("tab", "left")  # position: end -> front
        await pilot.pause()
        assert app.screen.build_op() == AddTags(["x"], 0, True, keep=1)  # after the one kept token, left there

    run(lambda: BulkOpScreen("add", "all 2", keep_tokens=1), add_front)


def test_any_case_and_keep_first_in_the_forms():
    async def remove(app, pilot):
        await type_text(pilot, "*background")
        await pilot.press("tab", "tab", "space")  # mode, then the any-case toggle
        await pilot.pause()
        assert "(any case)" in message(app)
        await pilot.press("enter")
        await pilot.pause()
        assert app.result == RemoveTags(["*background"], "auto", True)

    run(lambda: BulkOpScreen("remove", "all 2"), remove)

    async def replace(app, pilot):
        await type_text(pilot, "long hair")
        await pilot.press("tab")
        await type_text(pilot, "long_hair")
        await pilot.press("tab", "tab", "space", "enter")
        await pilot.pause()
        assert app.result == ReplaceTag("long hair", "long_hair", "exact", True)

    run(lambda: BulkOpScreen("replace", "all 2"), replace)

    async def move(app, pilot):  # After first starts at the config's keep_tokens
        dialog = app.screen.query_one("#bulk-dialog")
        assert dialog.region.bottom <= 23
        await type_text(pilot, "solo")
        await pilot.press("tab", "tab", "space", "enter")
        await pilot.pause()
        assert app.result == MoveToFront(["solo"], "auto", 1, True)

    run(lambda: BulkOpScreen("move_front", "all 2", keep_tokens=1), move)

    async def dedupe(app, pilot):
        await pilot.press("space")  # exact case only
        await pilot.pause()
        assert "exact case only" in message(app)
        await pilot.press("enter")
        await pilot.pause()
        assert app.result == Dedupe(ignore_case=False)

    run(lambda: BulkOpScreen("dedupe", "all 2"), dedupe)
