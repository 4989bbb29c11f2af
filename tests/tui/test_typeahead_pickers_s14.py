"""Keys typed right after the key that opens a picker or a box land in it, however fast, as ctrl+g's do
(test_goto_typeahead): Enter on a choice field ("enter lion" changed optimizer_type to Lion through the
field's own letters and the picker got "on"), ctrl+f on a path field ("ctrl+f img" typed "img" into the
field) and "/" on the Dataset screen (its first letters ran the screen's letter keys). And a number or size
field (resolution) is replaced by the first key typed in it, as the README says."""

from __future__ import annotations

import asyncio

from test_dataset_screen import run as run_dataset
from test_goto_typeahead import burst, typed
from test_settings_form import goto, run, until
from textual import events

from loratui.tui.screens.config_dialogs import PickFromList
from loratui.tui.screens.config_picker import FilePicker
from loratui.tui.screens.settings import SettingsScreen
from loratui.tui.widgets import keys_in_order
from loratui.tui.widgets.config_field import ConfigField


def make_busy(screen) -> None:
    """A slow handler ahead of the next keys in the screen's queue: the key gate lets them go after HOLD_S."""

    async def busy() -> None:
        await asyncio.sleep(keys_in_order.HOLD_S + 0.3)

    screen.call_later(busy)


async def settled_box(app, pilot, dialog_type, box_id: str) -> str:
    await until(pilot, lambda: isinstance(app.screen, dialog_type) and app.screen.is_mounted)
    box = app.screen.query_one(box_id)
    for _ in range(10):  # the burst has settled when the box stops changing
        await pilot.pause(0.05)
    return box.value


# ---- 1. Enter on a choice field --------------------------------------------------------------------

def test_enter_and_a_choice_typed_at_once_go_into_the_choices_picker(tmp_path):
    async def scenario(app, pilot, root):
        await goto(pilot, "optimizer_type")
        settings, field = app.screen, app.focused
        before = field.value
        for busy in (False, True):
            if busy:
                make_busy(settings)
            burst(app, ["enter", *typed("lion")])
            assert await settled_box(app, pilot, PickFromList, "#list-filter") == "lion"
            assert field.value == before and not settings.form.unsaved_edits()  # no letter reached the field
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, SettingsScreen))
            assert app.focused is field
        burst(app, ["enter", *typed("lion"), "enter"])  # typed blind: Lion is picked
        await until(pilot, lambda: isinstance(app.screen, SettingsScreen) and field.value == "Lion")
        assert app.focused is field

    run(tmp_path, scenario)


def test_space_on_a_choice_field_opens_the_picker_and_enter_moves_on_from_a_typed_one(tmp_path):
    """The field runs its own keys as it reads them now: space still lists, enter still moves on."""

    async def scenario(app, pilot, root):
        await goto(pilot, "optimizer_type")
        await pilot.press("space")
        await until(pilot, lambda: isinstance(app.screen, PickFromList))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, SettingsScreen))
        await goto(pilot, "network_dim")
        await pilot.press("enter")
        assert isinstance(app.focused, ConfigField) and app.focused.spec.name == "network_alpha"

    run(tmp_path, scenario)


# ---- 2. ctrl+f on a path field ---------------------------------------------------------------------

def test_ctrl_f_and_a_name_typed_while_settings_is_busy_go_into_the_file_picker(tmp_path):
    async def scenario(app, pilot, root):
        await goto(pilot, "train_data_dir")
        settings, field = app.screen, app.focused
        before = field.text
        make_busy(settings)
        burst(app, ["ctrl+f", *typed("img")])
        assert await settled_box(app, pilot, FilePicker, "#picker-filter") == "img"
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, SettingsScreen))
        assert field.text == before and not settings.form.unsaved_edits()

    run(tmp_path, scenario)


def test_keys_that_reach_the_file_picker_itself_go_into_its_box(tmp_path):
    """Keys routed to the dialog before its box had the focus: letters are typed into the box; backspace
    and Enter act as in the box while it has no focus (Enter on a typed folder opens it)."""

    async def scenario(app, pilot, root):
        await goto(pilot, "train_data_dir")
        app.screen.action_pick_file()
        dialog = app.screen  # pushed, not mounted yet
        assert isinstance(dialog, FilePicker) and not dialog.is_mounted
        for key in "./imx":
            dialog.post_message(events.Key(key, key))
        await until(pilot, lambda: dialog.is_mounted and dialog.query_one("#picker-filter").value == "./imx")
        dialog.set_focus(None)
        for key, character in (("backspace", None), ("g", "g"), ("enter", "\r")):
            dialog.post_message(events.Key(key, character))
        await until(pilot, lambda: dialog.folder == root / "img")

    run(tmp_path, scenario)


def test_a_keymap_that_puts_pick_file_or_goto_on_a_letter_still_types_it_in_a_field(tmp_path):
    """The letter is typed in a field; the action's other key still acts there (the guard asks about the
    key being read, not about every key of the action)."""

    async def scenario(app, pilot, root):
        app.set_keymap({"settings.pick_file": "ctrl+f,j", "settings.goto": "ctrl+g,k"})
        await goto(pilot, "output_name")
        box = app.focused
        await pilot.press("end", "j", "k")
        assert isinstance(app.screen, SettingsScreen) and box.text.endswith("jk")
        await goto(pilot, "train_data_dir")  # ctrl+g from a focused field
        await pilot.press("ctrl+f")
        await until(pilot, lambda: isinstance(app.screen, FilePicker))

    run(tmp_path, scenario)


# ---- 3. "/" on the Dataset screen ------------------------------------------------------------------

def test_slash_and_a_filter_typed_while_the_dataset_screen_is_busy_all_go_into_the_filter(tmp_path):
    async def scenario(app, pilot, img):
        scr = app.screen
        side = scr.query_one("#side").current
        make_busy(scr)
        burst(app, ["slash", *typed("tag:solo")])  # t: tag list, a: add a tag, s: sort ... if they missed
        box = scr.query_one("#filter")
        await until(pilot, lambda: box.value == "tag:solo")
        for _ in range(10):
            await pilot.pause(0.05)
        assert box.value == "tag:solo" and app.focused is box
        assert scr.query_one("#side").current == side
        await pilot.press("enter")
        assert [r.name for r in scr.shown] == ["a01.png", "a02.png", "b01.png"]

    run_dataset(tmp_path, scenario)


def test_slash_is_typed_in_a_text_box_and_finds_in_the_tag_list(tmp_path):
    """The priority "/" stands aside where it was not the screen's: in the tag editor's add box and the
    filter box it is a character; over the tag list it is the list's own find."""

    async def scenario(app, pilot, img):
        scr = app.screen
        await pilot.press("a")
        add = scr.query_one("#tag-editor-add")
        await until(pilot, lambda: app.focused is add)
        await pilot.press(*"a/b")
        assert add.value == "a/b" and app.focused is add
        await pilot.press("escape", "escape")
        await until(pilot, lambda: app.focused is scr.table)
        await pilot.press("slash", *"5_*/b")
        assert scr.query_one("#filter").value == "5_*/b"
        await pilot.press("escape", "t")
        await until(pilot, lambda: app.focused is scr.query_one("#freq-table"))
        await pilot.press("slash")
        assert app.focused is scr.query_one("#freq-filter")

    run_dataset(tmp_path, scenario)


# ---- 4. number and size fields ---------------------------------------------------------------------

def test_the_first_key_typed_replaces_resolution(tmp_path):
    async def scenario(app, pilot, root):
        await goto(pilot, "resolution")
        field = app.focused
        assert field.text == "512" and field.replace_next
        await pilot.press(*"768,1024")
        assert field.text == "768,1024" and field.value == (768, 1024)

    run(tmp_path, scenario)


def test_every_field_holding_a_number_or_a_size_is_replaced_by_the_first_key(tmp_path):
    """Each typed field entered from another: its first key replaces the value exactly when that value is a
    number or a size (a path or a name is edited where it ends)."""

    def numeric(value) -> bool:
        values = value if isinstance(value, tuple) else (value,)
        return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)

    async def scenario(app, pilot, root):
        fields = [f for f in app.screen.form.fields.values() if f.typed and f.text]
        assert any(f.spec.kind == "resolution" for f in fields)
        wrong = []
        for field in fields:
            field.focus()
            await pilot.pause()
            assert app.focused is field
            if field.replace_next != numeric(field.value):
                wrong.append(f"{field.spec.name} ({field.spec.kind}): replace_next={field.replace_next}")
            app.screen.set_focus(None)
            await pilot.pause()
        assert not wrong, wrong

    run(tmp_path, scenario)
