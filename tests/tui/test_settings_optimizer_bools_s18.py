"""Settings' optimizer_args field refuses ``amsgrad=false`` with core's line (what `config check` says), and
takes ``amsgrad=False`` (Pilot, 80x24, a real project on disk)."""

from __future__ import annotations

from test_settings_form import core_problem, field, form, run, shown, status, type_into

from loratui.tui.widgets.config_field import INVALID


def test_the_optimizer_args_field_refuses_a_lowercase_false_with_cores_line(tmp_path):
    async def scenario(app, pilot, root):
        await type_into(pilot, "optimizer_args", "weight_decay=0.01 amsgrad=false")
        args = field(app, "optimizer_args")
        expected = core_problem("optimizer_args", "weight_decay=0.01 amsgrad=false")
        assert expected == ("optimizer_args: amsgrad=false: write amsgrad=False (values are Python literals, as "
                            "sd-scripts reads them; 'false' would be the text 'false', which counts as on)")
        assert args.value is INVALID and args.problem == expected
        assert "amsgrad=false: write amsgrad=False" in " ".join(shown(app, "optimizer_args").split())
        assert "1 invalid" in status(app) and form(app).current_config() is None
        await type_into(pilot, "optimizer_args", "weight_decay=0.01 amsgrad=False")
        assert args.value == ["weight_decay=0.01", "amsgrad=False"] and args.problem is None
        assert "invalid" not in status(app)

    run(tmp_path, scenario)
