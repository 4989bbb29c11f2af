"""The tag editor after the s18 user hunt (h5: a taggui / kohya_ss user cleaning captions by keys, 80x24).

- A1: Esc left a half-typed tag in the add box with a toast saying "a then Enter adds it"; PgDn then wrote
  it into the caption anyway, under that toast. Now only the add key then Enter enters it; PgDn with the
  box focused still enters what is being typed (as before); the toast goes when it stops being true.
- A3: with no image shown (a filter matching nothing), ``a qqq Enter`` listed qqq under "no image" and
  dropped it silently. Now the add key says why, in one line, and nothing is listed.
- (b)4: ctrl+home / shift+home moves the highlighted tag to the front: one write, one undo entry. The
  config's keep_tokens shows as a rule under the last kept tag; a move across it says so.
- (b)1: the status line gives the caption's CLIP tokens against the limit ("16/75 tokens"), core's count.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from fixtures.tui_dataset import CAPTIONS, make_dataset, run_dataset_app

from loratui.core.captions import history
from loratui.core.dataset import MAX_CLIP_TOKENS, estimate_clip_tokens, locate_dataset
from loratui.tui.app import LoratuiApp
from loratui.tui.widgets.tag_editor import TagEditor
from loratui.tui.widgets.tag_editor_limits import CaptionLimits, kept_change_line, kept_count
from tests.tui.test_dataset_screen import _loaded, until
from tests.tui.test_tag_editor import EditorApp, last_change

A01 = CAPTIONS["10_alice/a01.png"]  # alice, 1girl, solo, long hair, smile, outdoors


def notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


def status(editor: TagEditor) -> str:
    return str(editor.query_one("#tag-editor-status").render())


def project(tmp_path: Path, **training: int) -> tuple[Path, Path]:
    """The fixture dataset with a config beside it: keep_tokens 1, and ``training`` keys."""
    from loratui.core.config import TrainingConfig, save_config

    root = make_dataset(tmp_path / "proj")
    cfg = TrainingConfig()
    cfg.dataset.train_data_dir = "img"
    cfg.dataset.keep_tokens = 1
    for key, value in training.items():
        setattr(cfg.training, key, value)
    save_config(cfg, root / "run.toml")
    return root, root / "run.toml"


def run_on(tmp_path: Path, root: Path, config: Path | None, scenario) -> None:
    app = LoratuiApp(locate_dataset(root), config_path=config, settings_file=tmp_path / "cfg" / "tui.toml",
                     keymap_file=tmp_path / "cfg" / "keymap.toml", themes_dir=tmp_path / "themes", watch=False)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await _loaded(app, pilot)
            await scenario(app, pilot, root / "img")

    asyncio.run(main())


def caption(img: Path, rel: str) -> str:
    return (img / rel).with_suffix(".txt").read_text(encoding="utf-8")


# ---- A1: text left in the add box by Esc ----------------------------------------------------------------


def test_pgdn_after_esc_leaves_the_add_box_text_unwritten_and_the_toast_goes_with_it(tmp_path):
    root, config = project(tmp_path)

    async def scenario(app, pilot, img):
        before = {rel: caption(img, rel) for rel in ("10_alice/a01.png", "10_alice/a02.png")}
        editor = app.screen.query_one(TagEditor)
        await pilot.press("e", "a", *"xyzq", "escape")
        await until(pilot, lambda: any("'xyzq' kept in the add box: a then Enter adds it" in n for n in notes(app)))
        await pilot.press("pagedown")
        await until(pilot, lambda: app.screen.current.name == "a02.png")
        await pilot.pause(0.3)
        assert {rel: caption(img, rel) for rel in before} == before  # nothing written, on either image
        assert editor.query_one("#tag-editor-add").value == "xyzq"  # kept, as the toast said
        assert not any("kept in the add box" in n for n in notes(app))  # replaced by the next image's toast
        assert any("'xyzq' is still in the add box: a then Enter adds it to this image" in n for n in notes(app))
        await pilot.press("pageup")  # and back: still nothing written
        await pilot.pause(0.3)
        assert {rel: caption(img, rel) for rel in before} == before
        await pilot.press("a", "ctrl+u")  # cleared: no toast says it is there any more
        await until(pilot, lambda: not any("in the add box" in n for n in notes(app)))
        assert {rel: caption(img, rel) for rel in before} == before

    run_on(tmp_path, root, config, scenario)


def test_the_esc_toast_goes_once_its_text_is_entered():
    async def check(app, pilot, editor: TagEditor) -> None:
        await pilot.press("a", *"blush", "escape")
        await until(pilot, lambda: any("'blush' kept in the add box" in n for n in notes(app)))
        await pilot.press("pagedown")  # not entered: the box has no focus
        await pilot.pause()
        assert app.messages[-1] == ("navigate", 1) and not last_change(app)
        await pilot.press("a", "enter")  # the add key then Enter: as the toast said
        await pilot.pause()
        assert last_change(app)[1] == "add blush"
        await until(pilot, lambda: not any("in the add box" in n for n in notes(app)))

    _run_editor(check)


def test_pgdn_while_typing_in_the_add_box_still_enters_the_tag():
    """The existing behaviour, kept (test_tag_editor and test_user_guards rely on it; the PgUp/PgDn
    tooltips say so): the box has the focus, the tag is being typed."""
    async def check(app, pilot, editor: TagEditor) -> None:
        await pilot.press("a", *"blush", "pagedown")
        await pilot.pause()
        assert app.messages[-2][2] == "add blush" and app.messages[-1] == ("navigate", 1)
        tooltip = next(b.tooltip for b in TagEditor.BINDINGS if b.id == "tags.next_image")
        assert "add box" in tooltip

    _run_editor(check)


# ---- A3: no image shown --------------------------------------------------------------------------------


def test_add_with_no_image_shown_is_refused_in_one_line_and_lists_nothing(tmp_path):
    async def scenario(app, pilot, img):
        scr = app.screen
        editor = scr.query_one(TagEditor)
        await pilot.press("slash", *"zzzz", "enter")
        await until(pilot, lambda: not scr.shown)
        await pilot.press("a", *"qqq", "enter")
        await until(pilot, lambda: any("no image shown: clear the filter first (esc on the table)" in n
                                       for n in notes(app)))
        assert editor.tags == [] and editor.title == "no image"
        assert app.focused is scr.table  # the refusal keeps the focus where it was
        await pilot.press("e", "a", *"qqq", "enter")  # from inside the editor: the same line, nothing listed
        await pilot.pause()
        assert editor.tags == [] and editor.query_one("#tag-editor-add").value == ""
        assert "tokens" not in status(editor)  # no count for no caption
        await pilot.press("escape", "escape")  # back to the table; the filter cleared
        await until(pilot, lambda: len(scr.shown) == 6)
        assert all("qqq" not in p.read_text() for p in img.rglob("*.txt"))

    run_on(tmp_path, make_dataset(tmp_path / "proj"), None, scenario)


def test_enter_in_the_add_box_with_no_image_keeps_the_text():
    async def check(app, pilot, editor: TagEditor) -> None:
        await pilot.press("a", *"qqq", "escape")
        editor.load([], title="no image", refuse_edits="no image shown: clear the filter first")
        await pilot.pause()
        editor.screen.set_focus(editor.query_one("#tag-editor-add"))
        await pilot.press("enter")
        await pilot.pause()
        assert editor.tags == [] and not last_change(app)
        assert editor.query_one("#tag-editor-add").value == "qqq"  # never lost
        assert "no image shown: clear the filter first" in notes(app)

    _run_editor(check)


# ---- (b)4: move to front, keep_tokens -------------------------------------------------------------------


def test_ctrl_home_moves_the_tag_to_the_front_in_one_write_and_says_it_left_keep_tokens(tmp_path):
    root, config = project(tmp_path)

    async def scenario(app, pilot, img):
        editor = app.screen.query_one(TagEditor)
        await pilot.press("e")
        await pilot.pause()
        assert editor.limits.keep_tokens == 1
        rows = [str(editor.query_one("#tag-editor-list").get_option_at_index(i).prompt) for i in range(2)]
        assert rows[0].endswith("alice  ┘ keep_tokens 1") and "keep" not in rows[1]  # where keep_tokens ends
        journal = len(history(img))
        await pilot.press("down", "down", "down", "ctrl+home")  # long hair, 6 places up at once
        await until(pilot, lambda: caption(img, "10_alice/a01.png").startswith("long hair, alice, 1girl, solo,"))
        await until(pilot, lambda: len(history(img)) == journal + 1)
        assert history(img)[0][1] == "move long hair to the front"  # one entry, however far it went
        assert "long hair is now inside keep_tokens = 1: alice moved out of the kept part" in notes(app)
        assert editor.cursor_index == 0
        await pilot.press("ctrl+home")  # already first: nothing
        await pilot.press("down", "shift+home")  # the other key: alice back in front
        await until(pilot, lambda: caption(img, "10_alice/a01.png").startswith("alice, long hair, 1girl"))
        await until(pilot, lambda: "alice is now inside keep_tokens = 1: long hair moved out of the kept part"
                    in notes(app))
        app.clear_notifications()
        await pilot.press("down", "down", "down", "ctrl+up")  # solo above 1girl: both outside the kept part
        await until(pilot, lambda: caption(img, "10_alice/a01.png").startswith("alice, long hair, solo, 1girl"))
        await pilot.press("ctrl+up", "ctrl+up")  # solo above alice: crosses it
        await until(pilot, lambda: caption(img, "10_alice/a01.png").startswith("solo, alice"))
        assert "solo is now inside keep_tokens = 1: alice moved out of the kept part" in notes(app)
        assert sum("keep_tokens" in n for n in notes(app)) == 1  # the moves below the line said nothing

    run_on(tmp_path, root, config, scenario)


def test_move_to_front_is_one_edit_and_rebindable(tmp_path):
    root = make_dataset(tmp_path / "proj")

    async def scenario(app, pilot):
        editor = app.screen.query_one(TagEditor)
        assert editor.limits.keep_tokens == 0  # no config: no rule, no keep_tokens line
        await pilot.press("e", "end", "f9")
        img = root / "img"
        await until(pilot, lambda: caption(img, "10_alice/a01.png").startswith("outdoors, alice, 1girl"))
        assert not any("keep_tokens" in n for n in notes(app))
        assert not any("keep" in str(o.prompt) for o in editor.query_one("#tag-editor-list").options)

    run_dataset_app(tmp_path, root, scenario, keymap='"tags.move_front" = "f9"\n')


def test_front_key_is_off_on_the_first_tag_and_while_typing():
    async def check(app, pilot, editor: TagEditor) -> None:
        assert editor.check_action("front", ()) is None  # the first tag: nothing to do
        await pilot.press("down", "down")
        assert editor.check_action("front", ()) is True
        await pilot.press("ctrl+home")
        assert last_change(app) == (["long hair", "1girl", "solo", "smile"], "move long hair to the front")
        await pilot.press("down", "a")
        assert editor.check_action("front", ()) is False  # in the add box: its own key

    _run_editor(check)


def test_kept_count_counts_comma_pieces_as_sd_scripts_does():
    assert kept_count(["alice", "1girl", "solo"], 0) == 0
    assert kept_count(["alice", "1girl", "solo"], 2) == 2
    assert kept_count(["(red hair, blue eyes:1.2)", "alice", "solo"], 2) == 1  # two pieces
    assert kept_count(["(red hair, blue eyes:1.2)", "alice", "solo"], 1) == 1  # starts inside
    assert kept_count(["alice"], 5) == 1
    assert kept_change_line(["a", "b", "c"], ["a", "c", "b"], 1) is None  # below the line
    assert kept_change_line(["a", "b", "c"], ["b", "a", "c"], 1) == (
        "b is now inside keep_tokens = 1: a moved out of the kept part")
    assert kept_change_line(["a", "b", "c"], ["b", "c"], 1) == (
        "b is now inside keep_tokens = 1 (kept in place when shuffled)")
    assert kept_change_line(["a", "b"], ["x", "b"], 1) is None  # a rename in place says itself


# ---- (b)1: CLIP tokens against the limit ---------------------------------------------------------------


def test_status_line_counts_clip_tokens_against_the_configs_limit(tmp_path):
    root, config = project(tmp_path, max_token_length=150)

    async def scenario(app, pilot, img):
        editor = app.screen.query_one(TagEditor)
        await pilot.press("e")
        await pilot.pause()
        expected = estimate_clip_tokens(A01)
        assert f"{expected}/150 tokens" in status(editor)
        await pilot.press("a", *"green eyes", "enter")  # the count follows the edit
        await until(pilot, lambda: f"{estimate_clip_tokens(A01 + ', green eyes')}/150 tokens" in status(editor))

    run_on(tmp_path, root, config, scenario)


def test_without_a_config_the_count_uses_the_long_caption_checks_limit(tmp_path):
    """The same limit as the "about N CLIP tokens" warning: the store's, else core's default."""
    root = make_dataset(tmp_path / "proj")

    async def scenario(app, pilot, img):
        editor = app.screen.query_one(TagEditor)
        limit = app.store.token_limit() or MAX_CLIP_TOKENS
        await pilot.press("e")
        await pilot.pause()
        assert f"{estimate_clip_tokens(A01)}/{limit} tokens" in status(editor)

    run_on(tmp_path, root, None, scenario)


def test_over_the_limit_says_over_and_free_text_counts_as_typed():
    async def check(app, pilot, editor: TagEditor) -> None:
        long = [f"blue sky {i}" for i in range(30)]
        editor.limits = CaptionLimits(max_tokens=75)
        editor.load(long, title="long.png")
        await pilot.pause()
        assert f"{estimate_clip_tokens(', '.join(long))}/75 tokens: over" in status(editor)
        editor.load(["a photo of a man with glasses standing in a park"], title="b02.png", free_text=True)
        await pilot.pause()
        assert "11/75 tokens" in status(editor)
        await pilot.press("end", *" at noon")
        await pilot.pause()
        assert "13/75 tokens" in status(editor)

    _run_editor(check)


# ---- helpers ---------------------------------------------------------------------------------------------


def _run_editor(test, size=(80, 24)) -> None:
    async def main() -> None:
        app = EditorApp()
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await test(app, pilot, app.query_one(TagEditor))

    asyncio.run(main())
