"""The VRAM panel's p and f while a Settings field is invalid (hunt s14/h3 finding 2, Pilot at 80x24): the
picker compares the presets with the form as typed, a preset that sets the invalid field replaces its text
(network_dim typed 0, then sd15-8gb: network_dim 32 and the form valid again, the panel's numbers current),
one that does not set it is refused in one line naming the field, and so is f."""

from __future__ import annotations

from test_settings_form import field, form, run, type_into, until
from textual.widgets import OptionList, Static

from loratui.core.plan import estimate_vram
from loratui.tui.widgets.config_field import INVALID
from loratui.tui.widgets.vram_panel import TypedFormPresetPicker, VramPanel


def notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


def picker_text(picker, selector: str) -> str:
    return str(picker.query_one(selector, Static).render())


async def open_picker_at(pilot, app, preset_id: str) -> TypedFormPresetPicker:
    await pilot.press("escape")  # leave the field: p is the panel's key again
    await pilot.press("p")
    await until(pilot, lambda: isinstance(app.screen, TypedFormPresetPicker))
    picker = app.screen
    picker.query_one("#picker-list", OptionList).highlighted = [p.id for p in picker.presets].index(preset_id)
    await pilot.pause()
    return picker


def test_a_preset_that_sets_the_invalid_field_replaces_its_text(tmp_path):
    async def scenario(app, pilot, root):
        panel = app.screen.query_one(VramPanel)
        await type_into(pilot, "train_batch_size", "3")  # a valid edit the stale config does not have
        await type_into(pilot, "network_dim", "0")
        assert field(app, "network_dim").value is INVALID
        picker = await open_picker_at(pilot, app, "sd15-8gb")
        diff = " ".join(picker_text(picker, "#picker-diff").split())  # the columns' padding aside
        assert 'network.network_dim "0" (invalid) -> 32' in diff, diff
        assert "training.train_batch_size 3 -> 2" in diff, diff  # old values from the form as typed
        summary = picker_text(picker, "#picker-summary")
        assert "estimated peak VRAM with it: " in summary and "network_dim is invalid" in summary, summary
        assert "nothing to change" not in diff
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, TypedFormPresetPicker))
        await pilot.pause()
        assert field(app, "network_dim").value == 32 and not form(app).invalid_fields()
        cfg = form(app).current_config()
        assert cfg.training.train_batch_size == 2
        assert panel.estimate.total_gib == estimate_vram(cfg, scan=app.store.scan).total_gib  # current, not stale
        assert not app.screen.query_one("#settings-panels").has_class("-stale")

    run(tmp_path, scenario)


def test_a_preset_that_leaves_the_invalid_field_is_refused_and_so_is_f(tmp_path):
    async def scenario(app, pilot, root):
        await type_into(pilot, "seed", "x1")  # no preset sets seed
        assert field(app, "seed").value is INVALID
        picker = await open_picker_at(pilot, app, "sd15-8gb")
        summary = picker_text(picker, "#picker-summary")
        assert "fix seed first: sd15-8gb does not set it; Enter refuses it" in summary, summary
        assert "GiB ->" not in summary  # no stale before -> after estimate
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is picker
        assert "fix seed first: sd15-8gb does not set it: nothing applied" in notes(app)
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, TypedFormPresetPicker))
        assert field(app, "seed").value is INVALID and field(app, "seed").text == "x1"
        app.screen.query_one(VramPanel).focus()
        await pilot.press("f")
        await pilot.pause()
        assert any(n.startswith("fix seed first: the VRAM fixes shown are from before") for n in notes(app))

    run(tmp_path, scenario)
