"""Settings by mouse and by the user's keys (h5 hunt items 5-7 and the keys its texts name, Pilot 80x24):
a dialog's choices answer a click as their keys do (confirms too) and look as before; a click on a section
name shows that section as ctrl+down does; one click on a true/false value flips it (the label only
focuses), LyCORIS ones too; and the Settings messages name the keys keymap.toml binds."""

from __future__ import annotations

import asyncio

import pytest
from test_settings_drafts import dialog, open_settings, typed_and_left
from test_settings_form import field, form, goto, make_app, run, status, type_into, until
from test_settings_lycoris_fields import LOKR

from loratui.tui.screens.config_dialogs import ChoiceDialog, ImportReportDialog, OfferDialog
from loratui.tui.services import drafts as drafts_service

KEYMAP = ('[keys]\n"settings.save" = "f9"\n"settings.reload" = "ctrl+l"\n"settings.open" = "ctrl+b"\n'
          '"settings.draft" = "f8"\n"settings.dialog_cancel" = "f10"\n"settings.import_apply" = "f7"\n'
          '"vram.fix" = "g"\n')


@pytest.fixture(autouse=True)
def quick_drafts(monkeypatch):
    monkeypatch.setattr(drafts_service, "DEBOUNCE_S", 0.05)


def rows(app) -> list[str]:
    return ["".join(segment.text for segment in strip) for strip in app.screen._compositor.render_strips()]


def where(app, part: str, row: int | None = None) -> tuple[int, int]:
    """The screen cell one in from the start of ``part`` as drawn (on ``row`` when given)."""
    for y, text in enumerate(rows(app)):
        if (row is None or y == row) and part in text:
            return text.index(part) + 1, y
    raise AssertionError(f"{part!r} is not on the screen:\n" + "\n".join(rows(app)))


async def click_text(pilot, part: str, row: int | None = None) -> None:
    await pilot.click(offset=where(pilot.app, part, row))
    await pilot.pause()


def bold_at(app, x: int, y: int) -> bool:
    strip, at = app.screen._compositor.render_strips()[y], 0
    for segment in strip:
        if at <= x < at + len(segment.text):
            return bool(segment.style and segment.style.bold)
        at += len(segment.text)
    return False


# ---- item 5: dialog choices answer clicks -------------------------------------------------------------


def test_the_quit_dialogs_choices_look_as_before_and_a_click_on_cancel_closes_it(tmp_path):
    app, _root = make_app(tmp_path)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("3")  # the app's own Settings: the quit asks about its unsaved changes
            await until(pilot, lambda: type(app.screen).__name__ == "SettingsScreen")
            await type_into(pilot, "network_dim", "32")
            await pilot.press("ctrl+q")
            await until(pilot, lambda: isinstance(app.screen, ChoiceDialog) and app.screen.dialog_title == "quit")
            line = "s  save Settings, then quit   d  discard and quit   esc  cancel"
            x, y = where(app, line)
            assert bold_at(app, x, y) and bold_at(app, x + line.index("esc"), y)  # the look kept: one bold line
            await click_text(pilot, "esc  cancel")
            await until(pilot, lambda: not isinstance(app.screen, ChoiceDialog))
            assert app.is_running and field(app, "network_dim").text == "32"

    asyncio.run(main())


def test_a_click_on_a_choice_answers_its_key_and_a_confirm_asks_y_first(tmp_path):
    async def scenario(app, pilot, root):
        answers = []
        await app.push_screen(ChoiceDialog("pick", "Which?", [("s", "save it"), ("d", "drop it")]), answers.append)
        await pilot.pause()
        await click_text(pilot, "drop it")
        await until(pilot, lambda: answers == ["d"])

        offer = OfferDialog("offer", "A draft.", [("r", "restore"), ("d", "delete the draft")],
                            confirm={"d": "delete the draft"})
        await app.push_screen(offer, answers.append)
        await pilot.pause()
        await click_text(pilot, "d  delete the draft")  # as the key d: asks first
        assert app.screen is offer and "y  yes, delete the draft (cannot be undone)" in "\n".join(rows(app))
        await click_text(pilot, "any other key  back")
        assert app.screen is offer and "r  restore" in "\n".join(rows(app))
        await click_text(pilot, "d  delete the draft")
        await click_text(pilot, "y  yes")
        await until(pilot, lambda: answers == ["d", "d"])

        await app.push_screen(ChoiceDialog("pick", "Which?", [("s", "save it")]), answers.append)
        await pilot.pause()
        await click_text(pilot, "Which?")  # the question is no answer
        assert isinstance(app.screen, ChoiceDialog)
        await click_text(pilot, "esc  cancel")
        await until(pilot, lambda: answers == ["d", "d", None])

    run(tmp_path, scenario)


def test_the_import_report_is_answered_by_a_click_and_names_the_keymaps_keys(tmp_path):
    async def scenario(app, pilot, root):
        answers = []
        await app.push_screen(ImportReportDialog(root / "kohya.json", ["mapped a"], "mapped 1 keys"), answers.append)
        await pilot.pause()
        assert "enter  apply to the form (then ctrl+s saves)   esc  cancel" in "\n".join(rows(app))
        await click_text(pilot, "esc  cancel")
        await pilot.press("f10")  # nothing more: the dialog answered once
        await app.push_screen(ImportReportDialog(root / "kohya.json", ["mapped a"], "mapped 1 keys"), answers.append)
        await pilot.pause()
        await click_text(pilot, "apply to the form")
        await until(pilot, lambda: answers == [False, True])

    run(tmp_path, scenario)

    (tmp_path / "again").mkdir()
    (tmp_path / "again" / "k.toml").write_text(KEYMAP)

    async def remapped(app, pilot, root):
        await app.push_screen(ImportReportDialog(root / "kohya.json", ["mapped a"], "mapped 1 keys"))
        await pilot.pause()
        assert "f7  apply to the form (then f9 saves)   f10  cancel" in "\n".join(rows(app))

    run(tmp_path / "again", remapped)


# ---- item 6: a click on a section name ------------------------------------------------------------------


def test_a_click_on_a_section_name_shows_that_section_as_ctrl_down_does(tmp_path):
    async def scenario(app, pilot, root):
        line = app.screen.query_one("#settings-sections")
        await click_text(pilot, "Network", row=line.region.y)
        assert app.focused is field(app, "network_dim")
        assert "[Network]" in rows(app)[line.region.y]
        await click_text(pilot, "Optimizer", row=line.region.y)
        assert app.focused is field(app, "optimizer_type")
        await click_text(pilot, "Model", row=line.region.y)
        assert app.focused is field(app, "pretrained_model_name_or_path")
        await pilot.press("ctrl+down")  # the keys go on from the section clicked
        await pilot.pause()
        assert app.focused is field(app, "train_data_dir")

    run(tmp_path, scenario)


# ---- item 7: one click flips a true/false value ----------------------------------------------------------


def value_at(one) -> tuple[int, int]:
    """A cell inside the field's value box (after its label), relative to the field."""
    return one.gutter.left + one.label_width(max(one.size.width, 20)) + 2, 0


async def show(pilot, one) -> None:
    form(pilot.app).scroll_to_widget(one, animate=False)
    await pilot.pause()


def test_one_click_on_a_true_false_value_flips_it_and_the_label_only_focuses(tmp_path):
    async def scenario(app, pilot, root):
        flag = field(app, "v_parameterization")
        await show(pilot, flag)
        assert flag.value is False and app.focused is not flag
        await pilot.click(flag, offset=value_at(flag))  # unfocused: one click flips it (as Caption's switches)
        await pilot.pause()
        assert flag.value is True and app.focused is flag and "[x] true" in flag.render().plain
        await pilot.click(flag, offset=(3, 0))  # the label: focus only
        await pilot.pause()
        assert flag.value is True
        await pilot.click(flag, offset=value_at(flag))
        await pilot.pause()
        assert flag.value is False and "changed" not in status(app)
        dim = field(app, "network_dim")  # a typed field: a click focuses, nothing else
        await show(pilot, dim)
        await pilot.click(dim, offset=value_at(dim))
        await pilot.pause()
        assert app.focused is dim and dim.text == "16"

    run(tmp_path, scenario)


def test_one_click_flips_a_lycoris_true_false_argument_into_network_args(tmp_path):
    async def scenario(app, pilot, root):
        await goto(pilot, "decompose_both")
        both = app.focused
        await show(pilot, both)
        await pilot.click(both, offset=(both.gutter.left + 3, 0))  # its label
        await pilot.pause()
        assert both.value == "false" and not any("decompose_both" in item for item in field(app, "network_args").value)
        await pilot.click(both, offset=value_at(both))
        await pilot.pause()
        assert both.value == "true" and "decompose_both=true" in field(app, "network_args").value
        await pilot.click(both, offset=value_at(both))
        await pilot.pause()
        assert both.value == "false" and "decompose_both=true" not in field(app, "network_args").value

    run(tmp_path, scenario, config=LOKR)


# ---- item 4: the keys the Settings texts name --------------------------------------------------------------


def test_the_settings_messages_name_the_keymaps_keys(tmp_path):
    (tmp_path / "k.toml").write_text(KEYMAP)

    async def scenario(app, pilot, root):
        screen = app.screen
        assert screen.draft_safe_words() == "f9 saves the config (f2 elsewhere)"
        await type_into(pilot, "network_dim", "32")
        assert screen.unsaved_export_line().endswith("not in proj.toml yet: f9 saves them")
        from loratui.tui.widgets.vram_panel import VramPanel

        assert screen.query_one(VramPanel)._fix_keys_line() == "g applies fix 1 - p picks a preset for the card"
        screen.broken, screen.broken_lines, screen.broken_foreign = "proj.toml: bad", ["proj.toml: bad"], None
        screen.show_broken()
        said = str(screen.query_one("#settings-broken").render())
        assert "(ctrl+l at once). ctrl+b opens another config." in said and "f5" not in said
        screen.broken_foreign = "an sd-scripts config"
        screen.show_broken()
        assert str(screen.query_one("#settings-broken").render()).endswith("ctrl+b opens a loratui config.")
        screen.broken = screen.broken_foreign = None
        screen.broken_lines = []
        screen.show_broken()
        (root / "proj.toml").unlink()
        assert screen.poll_config_file()
        assert "proj.toml is gone from disk: f9 writes it again" in status(app)

    run(tmp_path, scenario)


def test_the_draft_offer_names_the_keymaps_keys_and_restores_on_a_click(tmp_path):
    (tmp_path / "k.toml").write_text(KEYMAP)
    root = typed_and_left(tmp_path, {"network_dim": "32"})

    async def scenario(app, pilot):
        body = await dialog(pilot, "unsaved draft")
        assert "f10 decides later (f8 asks again; the draft is kept meanwhile)." in body
        assert "r  restore them (f9 saves)   d  delete the draft   f10  cancel" in "\n".join(rows(app))
        await click_text(pilot, "r  restore them")
        await until(pilot, lambda: app.screen.form.field("network_dim").text == "32")
        assert any("restored 1 field(s) from the draft: f9 saves them" in str(n.message) for n in app._notifications)

    open_settings(tmp_path, root, scenario)


def test_a_draft_put_off_names_the_keymaps_draft_key(tmp_path):
    (tmp_path / "k.toml").write_text(KEYMAP)
    root = typed_and_left(tmp_path, {"network_dim": "32"})

    async def scenario(app, pilot):
        await dialog(pilot, "unsaved draft")
        await click_text(pilot, "f10  cancel")  # a click puts it off as the cancel key does
        await until(pilot, lambda: "unsaved draft: f8" in status(app))
        assert any("f8 offers it again" in str(n.message) for n in app._notifications)

    open_settings(tmp_path, root, scenario)
