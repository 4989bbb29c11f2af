"""The Settings file messages said "ctrl+s again", "f5", "ctrl+o", "f2" even when keymap.toml moved those
keys (f12 #7): they name the bound keys now (the app's key_does)."""

from __future__ import annotations

from fixtures.pilot_wait import until
from test_settings_form import run, type_into

KEYMAP = ('[keys]\n"settings.save" = "ctrl+w"\n"settings.reload" = "f6"\n"settings.open" = "ctrl+n"\n'
          '"settings.save_as" = "f7"\n')


def _toasts(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


def test_an_invalid_field_at_merge_time_names_the_bound_save_key(tmp_path):
    (tmp_path / "k.toml").write_text(KEYMAP)

    async def scenario(app, pilot, root):
        await type_into(pilot, "network_dim", "abc")
        app.screen.offer_merge(root / "proj.toml", None, None, (), "")
        said = await until(pilot, lambda: next((t for t in _toasts(app) if "is not valid" in t), None), "the toast")
        assert "then ctrl+w again; nothing was written" in said and "ctrl+s" not in said

    run(tmp_path, scenario)


def test_a_broken_config_names_the_bound_reload_and_open_keys(tmp_path):
    (tmp_path / "k.toml").write_text(KEYMAP)

    async def scenario(app, pilot, root):
        app.screen.broken = "proj.toml: line 1: not TOML"
        assert app.screen.refuse_while_broken("save")
        said = await until(pilot, lambda: next((t for t in _toasts(app) if "cannot save" in t), None), "the toast")
        assert "(Settings reloads it then; f6 now), or ctrl+n opens another config" in said
        app.screen.broken = None

    run(tmp_path, scenario)
