"""Settings after a resize: every field keeps its one-line height (hunt9: blank rows appeared between
fields after 70 -> 200 -> 70 columns, until the next key)."""

from __future__ import annotations

from loratui.tui.widgets.config_field import ConfigField
from tests.tui.test_settings_form import run


def test_fields_keep_their_height_after_a_resize(tmp_path):
    async def scenario(app, pilot, root):
        fields = list(app.screen.query(ConfigField))
        before = {f.spec.name: f.size.height for f in fields}
        assert before["v_parameterization"] == 1
        for size in ((200, 60), (70, 22), (200, 60), (70, 22)):
            await pilot.resize_terminal(*size)
            await pilot.pause()
            await pilot.pause()
        after = {f.spec.name: f.size.height for f in fields}
        assert after == {name: height for name, height in before.items()}

    run(tmp_path, scenario, size=(70, 22))
