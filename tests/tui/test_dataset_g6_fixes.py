"""Dataset screen fixes from the s15 hunts: toasts name the keys keymap.toml binds (h5 item 1: the recipe
replay said ctrl+z, the failed-quit toast ctrl+q); an inline edit that a full disk refused is kept and
saved once space is free (h1 item 6: it was gone once the cursor moved); shift+click, ctrl+click and a
double-click on the image table select and edit as their keys do (h5 item 8)."""

from __future__ import annotations

import errno

from fixtures.pilot_wait import until
from fixtures.tui_dataset import make_dataset, run_dataset_app

from loratui.core.captions import journal
from loratui.tui.screens import dataset_write_gate
from loratui.tui.widgets.tag_editor import TagEditor

KEYMAP = '"dataset.undo" = "ctrl+u"\n"app.quit" = "ctrl+x"\n'


def caption(img, rel: str) -> str:
    return (img / rel).with_suffix(".txt").read_text(encoding="utf-8")


def toasts(app) -> list[str]:
    return [notification.message for notification in app._notifications]


# ---- h5 item 1: keys named in toasts ---------------------------------------------------------------


def test_recipe_replay_and_failed_quit_toasts_name_the_remapped_keys(tmp_path):
    root = make_dataset(tmp_path / "proj")
    img = root / "img"
    (root / "recipes").mkdir()
    (root / "recipes" / "nobg.toml").write_text('[[op]]\nop = "remove"\npatterns = ["*background"]\n')

    async def scenario(app, pilot):
        scr = app.screen
        await pilot.press("ctrl+p", *"recipes: replay")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: type(app.screen).__name__ == "PickRecipeScreen", "the recipe list")
        await pilot.press("enter")
        await until(pilot, lambda: type(app.screen).__name__ == "PlanPreviewScreen", "the preview")
        await pilot.press("enter")
        await until(pilot, lambda: "background" not in caption(img, "5_bob/b01.png") and not scr.writing, "written")
        toast = await until(pilot, lambda: next((m for m in toasts(app) if "whole recipe" in m), None), "the toast")
        assert toast.endswith(": ctrl+u undoes the whole recipe"), toast

        scr.quit_when_written = lambda: None  # ctrl+q waited for a write that then failed
        scr.keep_open_after_failure()
        await pilot.pause()
        [line] = [m for m in toasts(app) if m.startswith("not quitting")]
        assert line.endswith("; ctrl+x quits") and "ctrl+q" not in line

    run_dataset_app(tmp_path, root, scenario, keymap=KEYMAP)


# ---- h1 item 6: an inline edit on a full disk ----------------------------------------------------------


def test_an_inline_edit_refused_by_a_full_disk_is_kept_and_saved_once_space_is_free(tmp_path, monkeypatch):
    monkeypatch.setattr(dataset_write_gate, "RETRY_WAITING_S", 0.3)
    root = make_dataset(tmp_path / "proj")
    img = root / "img"
    real_write = journal.atomic_write_text
    full = {"disk": True}

    def write(path, text, *args, **kwargs):  # the undo journal is written first: nothing else is touched
        if full["disk"]:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_write(path, text, *args, **kwargs)

    monkeypatch.setattr(journal, "atomic_write_text", write)

    async def scenario(app, pilot):
        scr = app.screen
        a01 = scr.current
        await pilot.press("e", "a", *"newtag", "enter")
        line = await until(pilot, lambda: next((m for m in toasts(app) if "not saved yet" in m), None), "the toast")
        assert "cannot write the undo journal" in line and "free some space" in line, line
        assert "kept, tried again" in line, line
        assert "newtag" not in caption(img, "10_alice/a01.png")
        await pilot.press("escape", "escape", "down", "up")  # away and back: the edit is still shown
        await pilot.pause(0.8)  # a few retries, all refused, told once
        assert scr.current is a01 and "newtag" in scr.waiting_tags(a01)
        editor = scr.query_one(TagEditor)
        assert "newtag" in editor.tags and "not saved yet" in editor._state
        assert sum("not saved yet" in m for m in toasts(app)) == 1
        full["disk"] = False  # space freed
        await until(pilot, lambda: "newtag" in caption(img, "10_alice/a01.png"), "saved at a retry")
        assert scr.waiting_tags(a01) is None

    run_dataset_app(tmp_path, root, scenario)


# ---- h5 item 8: the mouse on the image table ------------------------------------------------------------


def test_shift_click_extends_ctrl_click_toggles_and_a_double_click_edits(tmp_path):
    root = make_dataset(tmp_path / "proj")

    async def scenario(app, pilot):
        scr = app.screen
        table = scr.table
        def at(index: int) -> tuple[int, int]:  # offsets are from the widget's corner; rows start below the header
            return (6, table.content_region.y - table.region.y + 1 + index - int(table.scroll_offset.y))

        def selected() -> list[str]:
            return sorted(row.name for row in table.selected_rows)

        names = [row.name for row in table._rows]
        await pilot.click("#images", offset=at(1))
        assert table.cursor_row.name == names[1] and selected() == []
        await pilot.click("#images", offset=at(3), shift=True)  # rows 1 to 3
        await pilot.pause()
        assert selected() == sorted(names[1:4]) and table.cursor_row.name == names[3]
        await pilot.click("#images", offset=at(2), control=True)  # row 2 out
        await pilot.pause()
        assert selected() == sorted([names[1], names[3]]) and table.cursor_row.name == names[2]
        await pilot.click("#images", offset=at(5), control=True)  # row 5 in
        await pilot.pause()
        assert selected() == sorted([names[1], names[3], names[5]])
        assert "3 selected" in str(scr.query_one("#status").render())

        await pilot.click("#images", offset=at(0), times=2)
        await until(pilot, lambda: scr.query_one(TagEditor).has_focus_within, "the tag editor focused")
        assert table.cursor_row.name == names[0] and len(selected()) == 3  # a plain click keeps the selection

    run_dataset_app(tmp_path, root, scenario)
