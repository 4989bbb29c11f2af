"""Hunt h4 (s17), findings 2, 6 and 7: dialogs at small sizes keep their key line (docked at the box's
bottom) and scroll the rest; the balance dialog has its own footer (the Dataset screen's "⏎ Next problem"
showed behind it); the "terminal too small" line follows the terminal while a dialog is open."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.pilot_wait import until
from fixtures.tui_dataset import make_dataset, run_dataset_app

from loratui.tui.screens.balance_dialog import BalanceDialog
from loratui.tui.screens.choice_dialogs import ChoiceDialog
from loratui.tui.screens.run_dialogs import StartDialog

# 16 concept folders, most renamed by the balance: the plan alone is taller than a 24-row terminal
CONCEPTS = {f"{i + 1}_concept{i}/x{j}.png": "a, b" for i in range(16) for j in range(1 + i % 3)}


class _LiveRun:
    """A live run on these folders: the dialog adds its warning (4 lines at 80 columns) above the keys."""

    def balance_warning(self) -> str:
        return ("a training run (demo) is live on these folders: the new repeats apply from its next run; "
                "a run without cached latents stops at the first image of a renamed folder. " * 2).strip()


def screen_lines(app) -> list[str]:
    return ["".join(segment.text for segment in strip) for strip in app.screen._compositor.render_strips()]


def shown(app, text: str) -> bool:
    """``text`` on screen, allowing for a wrap: its words in order over the joined rows."""
    joined = " ".join(" ".join(line.replace("│", " ").split()) for line in screen_lines(app))
    return " ".join(text.split()) in joined


@pytest.mark.parametrize("size", [(80, 24), (100, 18), (60, 20), (40, 15)])
def test_the_balance_dialogs_keys_stay_and_its_plan_scrolls(tmp_path, monkeypatch, size):
    monkeypatch.setattr(BalanceDialog, "_find_live_run", lambda self: _LiveRun())
    root = make_dataset(tmp_path / "proj", CONCEPTS)

    async def scenario(app, pilot):
        await pilot.press("i", "b")
        await until(pilot, lambda: isinstance(app.screen, BalanceDialog), "the balance dialog")
        await pilot.pause(0.3)
        count = len(app.screen.plan)
        assert count > 10
        assert shown(app, f"Enter rename {count} folders anyway"), screen_lines(app)
        assert shown(app, "Esc cancel") and shown(app, "renames them back")
        assert shown(app, "esc Cancel") and not shown(app, "Next problem")  # its own footer
        assert not shown(app, "stops at the first image of a renamed folder.")  # the warning is below: scroll
        for _ in range(12):
            await pilot.press("pagedown")
        await pilot.pause(0.2)
        assert shown(app, "stops at the first image of a renamed folder."), screen_lines(app)
        assert shown(app, f"Enter rename {count} folders anyway")
        for _ in range(60):
            await pilot.press("up")
        await pilot.pause(0.2)
        assert shown(app, "Target samples per concept")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, BalanceDialog), "closed")

    run_dataset_app(tmp_path, root, scenario, size=size)


class _Command:
    display = "loratui train /data/projects/alice/alice_lora.toml"
    argv = ("--resume",)  # no steps plan to count
    name = "alice"
    config = None


LONG_BODY = "\n".join(f"line {i}: learning_rate changed on disk and in the form" for i in range(30))


@pytest.mark.parametrize("size", [(80, 24), (60, 20), (40, 15)])
def test_choice_and_start_dialogs_keep_their_keys_at_small_sizes(tmp_path, size):
    make_dataset(tmp_path)

    async def scenario(app, pilot):
        dialogs = [
            (ChoiceDialog("changed on disk", LONG_BODY, [("m", "keep mine"), ("t", "keep theirs"), ("r", "reload")]),
             "r reload", "line 29:"),
            (ChoiceDialog("quit", "Settings holds 3 unsaved change(s); quitting now drops them. Training runs go "
                          "on either way.", [("s", "save and quit"), ("q", "quit without saving")]),
             "q quit without saving", None),
            (StartDialog("start training", lambda processes: _Command(),
                         warnings=["a warning long enough to wrap at small sizes, and then once more"]),
             "enter: start · esc: cancel", None),
        ]
        for dialog, keys, last in dialogs:
            await app.push_screen(dialog)
            await pilot.pause(0.4)
            assert shown(app, keys), (type(dialog).__name__, screen_lines(app))
            if last is not None:
                assert not shown(app, last)
                body = dialog.query_one(".choice-body")
                body.scroll_end(animate=False)
                await pilot.pause(0.2)
                assert shown(app, last) and shown(app, keys), screen_lines(app)
            app.pop_screen()
            await pilot.pause(0.1)

    run_dataset_app(tmp_path, tmp_path / "img", scenario, size=size)


def _top_row(app) -> str:
    return screen_lines(app)[0]


def _notice_below(app) -> str:
    """The message of the size notice shown on the screen under the dialog ("" when hidden or none)."""
    from loratui.tui.widgets.size_notice import SizeNotice

    notices = app.screen_stack[-2].query_children(SizeNotice)
    return notices.first().message if notices and notices.first().display else ""


def test_the_size_notice_follows_the_terminal_while_a_dialog_is_open(tmp_path):
    from loratui.tui.screens.help import HelpScreen

    make_dataset(tmp_path)

    async def scenario(app, pilot):
        await until(pilot, lambda: "60x20" in _top_row(app), "the notice at 60x20")
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
        await pilot.resize_terminal(120, 40)
        await until(pilot, lambda: "terminal" not in _top_row(app), "the notice gone with help open")
        await pilot.resize_terminal(100, 18)  # help covers the top row here: the notice is the screen's below
        await until(pilot, lambda: "100x18" in _notice_below(app), "the notice back with help open")
        await pilot.resize_terminal(90, 30)
        await until(pilot, lambda: _notice_below(app) == "" and "terminal" not in _top_row(app), "gone again")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen), "help closed")
        await pilot.pause(0.2)
        assert "terminal" not in _top_row(app)

    run_dataset_app(tmp_path, tmp_path / "img", scenario, size=(60, 20))
