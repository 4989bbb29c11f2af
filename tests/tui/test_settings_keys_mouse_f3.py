"""Settings by keys and mouse, the gaps f3 closed (Pilot, 80x24 unless said): ctrl+x drops the network_args
keys the algo does not read from the calculator's text box too (Input's own ctrl+x cut there), yet still
cuts a selection; one click on a choice field's value lists its choices; the section line's second row
(below 71 columns) answers clicks; a help longer than its box says so and scrolls (shift+down/up)."""

from __future__ import annotations

from test_settings_clicks_k1 import rows, show, value_at, where
from test_settings_form import field, form, goto, run, screen_text
from test_settings_lycoris_unread_k8 import LOKR, args, notices
from textual.widgets import Input

from loratui.tui.screens.config_dialogs import PickFromList

DROPPED = ["algo=full", "preset=full"]
KEPT = ["algo=full", "factor=4", "conv_dim=8", "preset=full"]


async def full_algo_in_target_box(pilot) -> Input:
    """algo lokr -> full (conv_dim, factor now unread), then the calculator's target-steps box holds "12"."""
    await goto(pilot, "algo")
    await pilot.press("right")
    await pilot.pause()
    assert args(pilot.app) == KEPT
    await pilot.press("escape", "s", "1", "2")
    await pilot.pause()
    box = pilot.app.focused
    assert isinstance(box, Input) and box.id == "calc-target" and box.value == "12"
    return box


# ---- item 1: ctrl+x from a text box ---------------------------------------------------------------------


def test_ctrl_x_in_the_calculators_box_drops_the_unread_keys_and_leaves_its_text(tmp_path):
    async def scenario(app, pilot, root):
        box = await full_algo_in_target_box(pilot)
        await pilot.press("ctrl+x")
        await pilot.pause()
        assert args(app) == DROPPED and box.value == "12" and app.focused is box
        assert any("network_args: removed conv_dim, factor" in n for n in notices(app))
        await pilot.press("shift+home", "ctrl+x")  # nothing left to drop: the box's own cut, as anywhere
        await pilot.pause()
        assert box.value == "" and args(app) == DROPPED

    run(tmp_path, scenario, config=LOKR)


def test_ctrl_x_on_selected_text_cuts_it_even_with_keys_to_drop(tmp_path):
    async def scenario(app, pilot, root):
        box = await full_algo_in_target_box(pilot)
        await pilot.press("shift+left", "ctrl+x")  # a selection made on purpose: cut, as the box does
        await pilot.pause()
        assert box.value == "1" and args(app) == KEPT
        await pilot.press("ctrl+x")  # nothing selected now: the drop
        await pilot.pause()
        assert box.value == "1" and args(app) == DROPPED

    run(tmp_path, scenario, config=LOKR)


def test_the_keymaps_key_drops_from_the_box_and_ctrl_x_is_the_boxs_again(tmp_path):
    (tmp_path / "k.toml").write_text('[keys]\n"settings.drop_unread_args" = "f8"\n')

    async def scenario(app, pilot, root):
        box = await full_algo_in_target_box(pilot)
        assert any("f8 drops them" in n for n in notices(app)) and "f8 drops them" in screen_text(app)
        await pilot.press("shift+left", "ctrl+x")
        await pilot.pause()
        assert box.value == "1" and args(app) == KEPT
        await pilot.press("f8")
        await pilot.pause()
        assert args(app) == DROPPED and box.value == "1"

    run(tmp_path, scenario, config=LOKR)


# ---- item 2: a click on a choice value ------------------------------------------------------------------


def test_one_click_on_a_choice_value_lists_its_choices_and_the_label_only_focuses(tmp_path):
    async def scenario(app, pilot, root):
        scheduler = field(app, "lr_scheduler")
        await show(pilot, scheduler)
        await pilot.click(scheduler, offset=(scheduler.gutter.left + 3, 0))  # the label: focus only
        await pilot.pause()
        assert app.focused is scheduler and not isinstance(app.screen, PickFromList)
        await pilot.click(scheduler, offset=value_at(scheduler))
        await pilot.pause()
        assert isinstance(app.screen, PickFromList) and app.screen.dialog_title == "lr_scheduler"
        await pilot.press(*"cosine", "enter")
        await pilot.pause()
        assert scheduler.value == "cosine" and app.focused is scheduler
        await goto(pilot, "algo")  # a LyCORIS choice too
        algo = app.focused
        await show(pilot, algo)
        await pilot.click(algo, offset=value_at(algo))
        await pilot.pause()
        assert isinstance(app.screen, PickFromList) and app.screen.dialog_title == "algo"
        await pilot.press("escape")
        await pilot.pause()
        assert algo.value == "lokr" and app.focused is algo

    run(tmp_path, scenario, config=LOKR)


# ---- item 3: the section line's second row -------------------------------------------------------------


def test_below_71_columns_the_section_names_wrap_whole_and_the_second_row_answers_clicks(tmp_path):
    async def scenario(app, pilot, root):
        line = app.screen.query_one("#settings-sections")
        assert line.region.height == 2
        first, second = rows(app)[line.region.y], rows(app)[line.region.y + 1]
        assert "Model" in first and "Sampling" in second and "Sampling" not in first
        await pilot.click(offset=where(app, "Sampling", line.region.y + 1))
        await pilot.pause()
        assert app.focused is form(app).first_field("sampling")
        assert "[Sampling]" in rows(app)[line.region.y + 1]
        await pilot.click(offset=where(app, "Dataset", line.region.y))  # the first row still does
        await pilot.pause()
        assert app.focused is form(app).first_field("dataset")

    run(tmp_path, scenario, size=(64, 24))


def test_at_80_columns_the_section_line_is_one_row_as_before(tmp_path):
    async def scenario(app, pilot, root):
        line = app.screen.query_one("#settings-sections")
        assert line.region.height == 1
        assert rows(app)[line.region.y].startswith(" [Model]  Dataset   Network   Optimizer   Training   Saving   "
                                                   "Sampling ")

    run(tmp_path, scenario)


# ---- item 4: a long help scrolls -------------------------------------------------------------------------


def help_rows(app) -> str:
    box = app.screen.query_one("#settings-help-box")
    return "\n".join(rows(app)[box.region.y: box.region.bottom])


def test_a_help_longer_than_its_box_says_so_and_shift_down_shows_the_rest(tmp_path):
    async def scenario(app, pilot, root):
        await goto(pilot, "optimizer_type")
        shown = " ".join(help_rows(app).split())
        assert "(3 more lines: shift+↓ scrolls)" in shown, shown  # 9 lines and the hint's row, in 6
        end = "write these args out"  # the end of optimizer_type's help: cut at first
        body = app.screen.query_one("#settings-help").render()
        assert end in str(body).split("\n")[-1] and end not in help_rows(app)
        await pilot.press("shift+down")
        await pilot.pause()
        assert end in help_rows(app) or end in " ".join(help_rows(app).split())
        for _ in range(3):  # at its end: back to the top
            await pilot.press("shift+down")
        await pilot.pause()
        assert "optimizer_type" in help_rows(app)
        await pilot.press("down")  # another field: its help from the top, no hint when it fits
        await pilot.pause()
        assert "more lines" not in help_rows(app)

    run(tmp_path, scenario)


def test_the_help_hint_names_the_keymaps_key(tmp_path):
    (tmp_path / "k.toml").write_text('[keys]\n"settings.help_down" = "f8"\n')

    async def scenario(app, pilot, root):
        await goto(pilot, "bypass_mode")
        assert "more lines: f8 scrolls)" in " ".join(help_rows(app).split())
        await pilot.press("f8")
        await pilot.pause()
        assert app.screen.query_one("#settings-help-box").scroll_y > 0

    run(tmp_path, scenario, config=LOKR)
