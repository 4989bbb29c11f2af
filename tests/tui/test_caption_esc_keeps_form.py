"""Esc off a text field of the Caption form keeps Up/Down moving between its fields (the hint line
says so): it used to focus the run panel, where Up/Down did nothing."""
from __future__ import annotations

from test_caption_screen import env, run  # noqa: F401  (the fixture and the app runner)

from textual.widgets import Input


def test_escape_then_up_down_go_on_from_the_field_left(env):  # noqa: F811
    tmp_path, img, model = env

    async def scenario(app, pilot, screen):
        form = screen.query_one("#caption-form")
        fields = [w for w in screen.focus_chain if form in w.ancestors]
        model_field = screen.query_one("#model-folder", Input)
        index = fields.index(model_field)
        await pilot.press("ctrl+o", "escape")
        assert not isinstance(app.focused, Input)  # digits switch screens again
        await pilot.press("down")
        assert app.focused is fields[min(index + 1, len(fields) - 1)]
        await pilot.press("ctrl+o", "escape", "up")
        assert app.focused is fields[max(index - 1, 0)]
        await pilot.press("ctrl+o", "escape", "1")
        assert app.current_mode == "dataset"

    run(tmp_path, scenario)


def test_the_form_left_by_escape_says_what_the_keys_do(env):  # noqa: F811
    tmp_path, img, model = env

    async def scenario(app, pilot, screen):
        await pilot.press("ctrl+o", "escape")
        await pilot.pause()
        assert "Up/Down go on from the field you left" in screen.hint(app.focused)

    run(tmp_path, scenario)
