"""The footer at 80 columns drops whole keys that do not fit (never "/ Fi"), and while a text box has
focus it does not list the keys of printable characters ("/ Filter", "+ Add", "- Remove": typing them
there types them; Textual's own filter missed them: its key_to_character knows no "slash")."""

from __future__ import annotations

import asyncio

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Input, Static
from textual.widgets._footer import FooterKey, FooterLabel, KeyGroup

from fixtures.tui_dataset import run_dataset_app, make_dataset
from loratui.tui.widgets import footer_fixes


def _overflow(app) -> list[str]:
    """The footer's items that reach past its right edge (cut mid-word on the terminal)."""
    footer = app.screen.query_one(Footer)
    right = footer.region.right
    return [f"{type(w).__name__}:{getattr(w, 'key', '')}" for w in footer.children
            if w.display and w.region.width and w.region.right > right]


def _keys(app) -> list[str]:
    return [key.key for key in app.screen.query_one(Footer).query(FooterKey)]


class Crowded(Static, can_focus=True):
    BINDINGS = [Binding(k, f"act_{k}", f"Action number {k}") for k in "abcdefghij"]


class Host(App):
    NUMBERS = Binding.Group("Screens", compact=True)
    BINDINGS = [Binding("question_mark", "help", "Help"),
                Binding("1", "noop(1)", "One", group=NUMBERS), Binding("2", "noop(2)", "Two", group=NUMBERS),
                Binding("slash", "noop(3)", "Filter"), Binding("plus", "noop(4)", "Add"),
                Binding("minus", "noop(5)", "Remove"), Binding("escape", "noop(6)", "Back"),
                Binding("ctrl+z", "noop(7)", "Undo")]

    def compose(self) -> ComposeResult:
        yield Crowded("pad")
        yield Input(placeholder="type here")
        yield Footer()

    def action_help(self) -> None:
        pass

    def action_noop(self, number: int) -> None:
        pass


def test_whole_keys_go_from_the_right_and_help_stays():
    footer_fixes.install()

    async def main():
        app = Host()
        async with app.run_test(size=(80, 10)) as pilot:
            app.query_one(Crowded).focus()
            await pilot.pause()
            await pilot.pause()
            keys = _keys(app)
            assert keys[0] == "question_mark" and keys[1:4] == ["a", "b", "c"]
            assert "ctrl+p" not in keys and len(keys) < 17  # some went ...
            assert not _overflow(app), _overflow(app)  # ... whole, none cut at the edge
            order = [k for k in "abcdefghij" if k in keys]
            assert order == list("abcdefghij")[:len(order)]  # a prefix: the rightmost went first
            for width in (50, 30, 12):
                await pilot.resize_terminal(width, 10)
                await pilot.pause()
                await pilot.pause()
                assert not _overflow(app), (width, _overflow(app))
                assert _keys(app)[0] == "question_mark"

    asyncio.run(main())


def test_a_text_box_hides_the_keys_it_types():
    footer_fixes.install()

    async def main():
        app = Host()
        async with app.run_test(size=(400, 10)) as pilot:
            app.query_one(Crowded).focus()
            await pilot.pause()
            await pilot.pause()
            assert {"slash", "plus", "minus", "1", "escape"} <= set(_keys(app))
            app.query_one(Input).focus()
            await pilot.pause()
            await pilot.pause()
            keys = set(_keys(app))
            assert not {"slash", "plus", "minus", "1", "2"} & keys, keys
            assert {"escape", "ctrl+z"} <= keys  # not typed: they still act
            footer = app.query_one(Footer)
            assert not any(isinstance(w, (KeyGroup, FooterLabel)) for w in footer.children)  # "Screens" went too
            await pilot.press("slash", "plus")
            assert app.query_one(Input).value == "/+"

    asyncio.run(main())


def test_key_character_knows_the_names_textual_misses():
    assert [footer_fixes.key_character(k) for k in ("slash", "plus", "minus", "question_mark", "a", "escape",
                                                     "ctrl+a", "f1")] == ["/", "+", "-", "?", "a", None, None, None]


def test_tag_editor_footer_at_80_columns(tmp_path):
    """The tester's case: the tag editor's footer ended "v Paste  esc Back  / Fi"; its add box listed
    "/ Filter  + Add  - Remove"."""
    make_dataset(tmp_path)
    seen = {}

    async def scenario(app, pilot):
        await pilot.press("e")
        await pilot.pause(0.3)
        seen["editor"], seen["editor_overflow"] = _keys(app), _overflow(app)
        await pilot.press("a")
        await pilot.pause(0.3)
        seen["add"], seen["add_overflow"] = _keys(app), _overflow(app)

    run_dataset_app(tmp_path, tmp_path / "img", scenario)
    assert not seen["editor_overflow"] and not seen["add_overflow"]
    assert seen["editor"][0] == "question_mark" and "a" in seen["editor"]
    assert not {"slash", "plus", "minus"} & set(seen["add"]), seen["add"]
    assert "escape" in seen["add"]
