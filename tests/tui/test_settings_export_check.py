"""Settings' f4 export runs the checks `loratui config export-sdscripts` runs: a config sd-scripts would
refuse (here a resolution above max_bucket_reso) is named first, and is written only on "export anyway"."""

from __future__ import annotations

from test_settings_form import run, safetensors, type_into, until


def test_an_export_sdscripts_would_refuse_is_named_and_written_only_on_request(tmp_path):
    async def scenario(app, pilot, root):
        safetensors(root / "model" / "base.safetensors", ["cond_stage_model.transformer.x"])
        await type_into(pilot, "pretrained_model_name_or_path", "model/base.safetensors")
        await type_into(pilot, "max_bucket_reso", "256")
        await pilot.press("f4")
        await pilot.pause()
        await pilot.press("enter")
        out = root / "proj_sdscripts"
        await until(pilot, lambda: getattr(app.screen, "dialog_title", "") == "export problems")
        assert "max_bucket_reso" in app.screen.body and "config check` refuses" in app.screen.body
        await pilot.press("escape")
        await pilot.pause()
        assert not out.exists()  # cancelled: nothing written
        await pilot.press("f4")
        await pilot.pause()
        await pilot.press("enter")
        await until(pilot, lambda: getattr(app.screen, "dialog_title", "") == "export problems")
        await pilot.press("f")
        await until(pilot, lambda: getattr(app.screen, "dialog_title", "") == "sd-scripts export written")
        assert (out / "config.toml").is_file()

    run(tmp_path, scenario)
