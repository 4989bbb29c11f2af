"""The sample prompts picker lists the files sd-scripts reads as prompts (load_prompts, by suffix): .txt
lines, a .toml and a .json, not only .txt; other files stay out of the list."""

from __future__ import annotations

from test_settings_form import field, goto, run


def test_the_prompts_picker_lists_txt_toml_and_json_files(tmp_path):
    async def scenario(app, pilot, root):
        (root / "prompts.txt").write_text("a cat --w 512\n")
        (root / "prompts.toml").write_text('[[prompt.subset]]\nprompt = "a cat"\n')
        (root / "prompts.json").write_text('["a cat"]\n')
        (root / "notes.md").write_text("not prompts")
        await goto(pilot, "sample_prompts")
        await pilot.press("ctrl+f")
        await pilot.pause()
        labels = [label for _, label in app.screen.entries]
        assert {"prompts.txt", "prompts.toml", "prompts.json"} <= set(labels) and "notes.md" not in labels
        assert "(.txt, .toml or .json)" in app.screen.dialog_title
        await pilot.press(*"prompts.toml", "enter")
        await pilot.pause()
        assert field(app, "sample_prompts").value == "prompts.toml"

    run(tmp_path, scenario)
