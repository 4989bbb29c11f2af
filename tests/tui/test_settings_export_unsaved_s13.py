"""Settings' f4 exports the form's values: with unsaved changes it says so (in the folder prompt and in the
"written" dialog), since a later `config export-sdscripts` of the file, or a quit without saving, would disagree."""

from __future__ import annotations

from test_settings_form import run, safetensors, screen_text, type_into, until


def test_an_export_with_unsaved_changes_says_how_many(tmp_path):
    async def scenario(app, pilot, root):
        safetensors(root / "model" / "base.safetensors", ["cond_stage_model.transformer.x"])
        await type_into(pilot, "pretrained_model_name_or_path", "model/base.safetensors")
        await pilot.press("f4")
        await pilot.pause()
        assert "unsaved change(s)" in screen_text(app)
        await pilot.press("enter")
        await until(pilot, lambda: getattr(app.screen, "dialog_title", "") in ("sd-scripts export written",
                                                                               "export problems"))
        if app.screen.dialog_title == "export problems":
            await pilot.press("f")
            await until(pilot, lambda: getattr(app.screen, "dialog_title", "") == "sd-scripts export written")
        assert "note: the export includes 1 unsaved change(s)" in app.screen.body
        assert "ctrl+s saves them" in app.screen.body

    run(tmp_path, scenario)
