"""Keys named on the Dataset screen follow the user's keymap.toml, and messages point to the app's own
keys rather than shell commands (user hunt; Pilot, 80x24)."""

from __future__ import annotations

from pathlib import Path

from fixtures.pilot_wait import until
from fixtures.tui_dataset import make_dataset, run_dataset_app

from loratui.core.errors import LoratuiError


def run(tmp_path: Path, keymap: str, scenario) -> Path:
    img = make_dataset(tmp_path / "proj") / "img"

    async def with_img(app, pilot):
        await scenario(app, pilot, img)

    run_dataset_app(tmp_path, img, with_img, keymap=keymap)
    return img


def messages(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


def placeholder(app) -> str:
    return app.screen.query_one("#tag-editor-add").placeholder


def test_the_add_box_names_the_key_that_opens_it(tmp_path):
    async def scenario(app, pilot, img):
        assert placeholder(app) == "add a tag (x)"  # from the table: dataset.add_tag
        await pilot.press("e")  # into the editor: its own add key
        await pilot.pause()
        assert placeholder(app) == "add a tag (i)"
        await pilot.press("escape")
        await pilot.pause()
        assert placeholder(app) == "add a tag (x)"
        await pilot.press("x")  # the remapped key opens the box, which says where Enter puts the tag
        await pilot.pause()
        assert app.screen.focused.id == "tag-editor-add" and "enter" in placeholder(app)

    run(tmp_path, '"dataset.add_tag" = "x"\n"tags.add" = "i"\n', scenario)


def test_the_add_box_when_its_key_went_to_edit(tmp_path):
    """The hunt's keymap: "a" runs Edit on the table, so "(a)" alone would be wrong there."""
    async def scenario(app, pilot, img):
        assert placeholder(app) == "add a tag (a, then a)"
        await pilot.press("a")  # edit: into the editor's list
        await pilot.pause()
        assert placeholder(app) == "add a tag (a)"

    run(tmp_path, '"dataset.edit" = "a"\n', scenario)


def test_the_default_keys_read_as_before(tmp_path):
    async def scenario(app, pilot, img):
        assert placeholder(app) == "add a tag (a)"
        await pilot.press("e", "a", *"grin", "enter")
        await until(pilot, lambda: "grin" in (img / "10_alice/a01.txt").read_text(), "the tag written")
        await pilot.press("escape", "escape")
        await pilot.press("ctrl+z")
        await until(pilot, lambda: any("ctrl+y redoes it" in m for m in messages(app)), "the undo message")
        await pilot.press("ctrl+y")
        await until(pilot, lambda: any("ctrl+z undoes it again" in m for m in messages(app)), "the redo message")

    run(tmp_path, "", scenario)


def test_undo_and_redo_messages_name_the_remapped_keys(tmp_path):
    async def scenario(app, pilot, img):
        await pilot.press("f10")  # nothing to redo yet: core says `tags undo`; the app names its keys
        await until(pilot, lambda: any("nothing to redo" in m for m in messages(app)), "nothing to redo")
        said = next(m for m in messages(app) if "nothing to redo" in m)
        assert "f10 re-applies what f9 undid" in said and "`tags" not in said
        await pilot.press("e", "a", *"grin", "enter")
        await until(pilot, lambda: "grin" in (img / "10_alice/a01.txt").read_text(), "the tag written")
        await pilot.press("escape", "escape")
        await pilot.press("f9")
        await until(pilot, lambda: any("f10 redoes it" in m for m in messages(app)), "the undo message")
        await pilot.press("f9")  # every change undone: core would point to `tags redo`
        await until(pilot, lambda: any("nothing left to undo" in m for m in messages(app)), "nothing left")
        said = next(m for m in messages(app) if "nothing left to undo" in m)
        assert "f10 redoes the last undone one" in said and "`tags" not in said
        await pilot.press("f10")
        await until(pilot, lambda: any("f9 undoes it again" in m for m in messages(app)), "the redo message")
        assert not any("ctrl+z" in m or "ctrl+y" in m for m in messages(app))

    run(tmp_path, '"dataset.undo" = "f9"\n"dataset.redo" = "f10"\n', scenario)


def test_a_read_only_caption_names_no_cli_flag_in_the_app(tmp_path):
    async def scenario(app, pilot, img):
        (img / "10_alice/a01.txt").chmod(0o444)
        await pilot.press("e", "a", *"grin", "enter")
        await until(pilot, lambda: any("not saved" in m for m in messages(app)), "the refusal")
        said = next(m for m in messages(app) if "not saved" in m)
        assert "read-only" in said and "chmod u+w" in said and "then try again" in said and "--force" not in said

    img = run(tmp_path, "", scenario)
    (img / "10_alice/a01.txt").chmod(0o644)
    assert "grin" not in (img / "10_alice/a01.txt").read_text()


def test_the_cli_keeps_its_own_words(tmp_path):
    """The app adapts the shared core messages at its own layer: the CLI still prints them as they were."""
    from loratui.core.captions import redo_last

    path = tmp_path / "a.txt"
    path.write_text("x\n")
    path.chmod(0o444)
    from loratui.core.captions.files import check_rewritable

    try:
        check_rewritable(path)
    except LoratuiError as exc:
        assert "pass --force" in str(exc)
    else:
        raise AssertionError("a read-only file passed")
    finally:
        path.chmod(0o644)
    try:
        redo_last(tmp_path)
    except LoratuiError as exc:
        assert "`tags undo`" in str(exc)


def test_conflict_words_and_palette_hints_follow_the_keymap(tmp_path):
    async def scenario(app, pilot, img):
        assert "m keep mine · T take theirs" in app.screen.conflict_text()
        hints = {c.title: c.help for c in app.screen.palette_commands()}
        assert hints["tags: keep my edit (conflict)"] == "m"
        assert hints["tags: undo the last change"] == "ctrl+z"
        assert hints["tags: add a tag (selected / filtered / all)"] == "+"
        assert hints["dataset: next problem image"] == "f6"

    run(tmp_path, '"dataset.keep_mine" = "m"\n"dataset.next_problem" = "f6"\n', scenario)
