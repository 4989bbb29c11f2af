"""Settings' save as (f2) and the other writes of a file ctrl+s cannot edit in place (a user-tester's
findings, session 11): f2 writes the loaded file's text with the form's changes put in as ctrl+s puts
them (comments and key order kept; relative paths rebased to the new folder), and offers a free
name (NAME-copy.toml) all selected; "o" over a file that vanished writes the form into the text the
app loaded; a kohya_ss import writes its sample prompts only when the config is saved."""

from __future__ import annotations

import json

from test_settings_form import DATA, field, form, notes, run, screen_text, status, type_into, until

from loratui.core.config import load_config

HAND = """\
# My hand-written config
# trained on shapes (edited outside)

[network]
network_alpha = 4.0   # half of dim
network_dim = 20       # my rank

[model]
pretrained_model_name_or_path = 'model/base.safetensors'  # single quotes
model_family = "sd1"

[dataset]
train_data_dir = "img"
resolution = [128, 128]
keep_tokens = 1 # trigger

[training]
max_train_epochs = 2
"""


def test_save_as_writes_the_loaded_text_with_the_forms_changes_and_rebased_paths(tmp_path):
    async def scenario(app, pilot, root):
        (root / "sub").mkdir()
        await type_into(pilot, "network_dim", "24")
        await pilot.press("f2")
        await until(pilot, lambda: type(app.screen).__name__ == "PathDialog")
        box = app.screen.query_one("#path-input")
        assert box.value == "proj-copy.toml" and not app.screen.problem  # a free name, not the file's own
        assert tuple(box.selection) == (0, len("proj-copy.toml"))  # all selected: typing replaces it
        await pilot.press(*"sub/hand_copy", "enter")  # .toml added when left out
        copy = root / "sub" / "hand_copy.toml"
        await until(pilot, lambda: app.config_path == copy)
        expected = (HAND.replace("network_dim = 20 ", "network_dim = 24 ")
                    .replace("'model/base.safetensors'", "'../model/base.safetensors'")
                    .replace('train_data_dir = "img"', 'train_data_dir = "../img"')
                    # output_dir's default ("output", beside the config) keeps pointing there: added with its help
                    + '\n[saving]\n# Folder for the LoRA files, samples, state and the run\'s events.\n'
                    'output_dir = "../output"\n')
        assert copy.read_text(encoding="utf-8") == expected  # comments, order, quoting: all the user's
        assert (root / "proj.toml").read_text(encoding="utf-8") == HAND  # the original is untouched
        assert field(app, "train_data_dir").value == "../img" and not form(app).changed_fields()
        # the copy is the file now: ctrl+s edits it in place as any loaded file
        await type_into(pilot, "max_train_epochs", "3")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "max_train_epochs = 3" in copy.read_text())
        assert copy.read_text() == expected.replace("max_train_epochs = 2", "max_train_epochs = 3")

    run(tmp_path, scenario, config=HAND)


def test_save_as_offers_the_next_free_copy_name_and_typing_replaces_it(tmp_path):
    async def scenario(app, pilot, root):
        (root / "proj-copy.toml").write_text("# someone's\n")
        await pilot.press("f2")
        await until(pilot, lambda: type(app.screen).__name__ == "PathDialog")
        assert app.screen.query_one("#path-input").value == "proj-copy-2.toml" and not app.screen.problem
        await pilot.press(*"mine.toml")
        await pilot.pause()
        assert app.screen.query_one("#path-input").value == "mine.toml" and app.screen.path == root / "mine.toml"
        await pilot.press("ctrl+u", *"proj-copy")  # a name that exists is still refused
        await pilot.pause()
        assert "already exists" in app.screen.problem
        await pilot.press("ctrl+u", *"mine", "enter")
        await until(pilot, lambda: app.config_path == root / "mine.toml")
        assert (root / "mine.toml").read_text() == HAND and (root / "proj-copy.toml").read_text() == "# someone's\n"

    run(tmp_path, scenario, config=HAND)


def test_save_as_adds_toml_to_a_name_with_a_dot_and_refuses_another_file_type(tmp_path):
    """The reviewer's repro: f2, lora_v1.5 -> "a config file ends in .toml" (Path.suffix saw ".5")."""
    async def scenario(app, pilot, root):
        await pilot.press("f2")
        await until(pilot, lambda: type(app.screen).__name__ == "PathDialog")
        dialog = app.screen
        for typed, expected in (("Hand.TOML", "Hand.TOML"), ("my.config", "my.config.toml"),
                                ("lora_v1.5", "lora_v1.5.toml")):
            await pilot.press("ctrl+u", *typed)
            await pilot.pause()
            assert dialog.path == root / expected and not dialog.problem, (typed, dialog.problem)
        await pilot.press("ctrl+u", *"kohya.json")
        await pilot.pause()
        assert dialog.problem == "kohya.json: a config file ends in .toml (f3 imports a kohya_ss .json)"
        await pilot.press("ctrl+u", *"lora_v1.5", "enter")
        await until(pilot, lambda: app.config_path == root / "lora_v1.5.toml")
        assert (root / "lora_v1.5.toml").read_text(encoding="utf-8") == HAND

    run(tmp_path, scenario, config=HAND)


def test_overwriting_a_vanished_file_writes_the_form_into_the_text_it_loaded(tmp_path):
    async def scenario(app, pilot, root):
        path = root / "proj.toml"
        await type_into(pilot, "network_dim", "32")
        path.unlink()
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "changed on disk (cannot be read)" in screen_text(app))
        assert not path.exists()  # nothing before the choice
        await pilot.press("o")
        await pilot.pause()
        assert not path.exists()  # o over a file asks y first: the file's text would be lost
        await pilot.press("y")
        await until(pilot, lambda: path.exists() and not form(app).changed_fields())
        assert path.read_text(encoding="utf-8") == HAND.replace("network_dim = 20 ", "network_dim = 32 ")

    run(tmp_path, scenario, config=HAND)


def kohya_json(root, prompts: str = "a kohya prompt --w 512"):
    src = json.loads((DATA / "kohya_ss_sd15_standard.json").read_text())
    src["sample_prompts"] = prompts
    (root / "k.json").write_text(json.dumps(src))


async def import_k(app, pilot) -> None:
    await pilot.press("f3")
    await pilot.pause()
    await pilot.press(*"k.json", "enter")
    await until(pilot, lambda: "mapped" in screen_text(app))
    await pilot.press("enter")
    await until(pilot, lambda: field(app, "sample_prompts").value == "proj.prompts.txt")


def test_imported_prompts_are_written_only_when_the_config_is_saved(tmp_path):
    async def scenario(app, pilot, root):
        kohya_json(root)
        prompts = root / "proj.prompts.txt"
        await import_k(app, pilot)
        assert not prompts.exists()  # applied to the form only
        assert "its sample prompts go to proj.prompts.txt when you save" in notes(app)
        await until(pilot, lambda: "written when the config is saved" in field(app, "sample_prompts").render().plain)
        assert "sample_prompts" not in status(app)  # not "does not exist": it is on its way
        # discarding the import (f5, d) leaves nothing behind
        await pilot.press("f5")
        await until(pilot, lambda: "unsaved changes" in screen_text(app))
        await pilot.press("d")
        await until(pilot, lambda: not form(app).changed_fields())
        assert not prompts.exists() and app.screen.pending_prompts is None
        # applied again and saved: the prompts file first, then the config naming it
        await import_k(app, pilot)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: prompts.exists() and not form(app).changed_fields())
        assert prompts.read_text() == "a kohya prompt --w 512\n"
        assert load_config(root / "proj.toml").sampling.sample_prompts == "proj.prompts.txt"
        await until(pilot, lambda: "wrote the imported sample prompts to proj.prompts.txt" in notes(app))

    run(tmp_path, scenario)


def test_imported_prompts_never_go_over_other_prompts_and_follow_a_save_as(tmp_path):
    async def scenario(app, pilot, root):
        kohya_json(root)
        mine = root / "proj.prompts.txt"
        await import_k(app, pilot)
        mine.write_text("my own prompt --w 512\n")  # made after the import, before the save
        (root / "sub").mkdir()
        await pilot.press("f2")
        await until(pilot, lambda: type(app.screen).__name__ == "PathDialog")
        await pilot.press(*"sub/other", "enter")
        other = root / "sub" / "other.toml"
        await until(pilot, lambda: app.config_path == other)
        assert (root / "sub" / "other.prompts.txt").read_text() == "a kohya prompt --w 512\n"
        assert load_config(other).sampling.sample_prompts == "other.prompts.txt"
        assert field(app, "sample_prompts").value == "other.prompts.txt" and not form(app).changed_fields()
        assert mine.read_text() == "my own prompt --w 512\n"
        # the same import into proj.toml: its prompts file holds other prompts, so -1 (never over it)
        await pilot.press("ctrl+o")
        await pilot.pause()
        await pilot.press("ctrl+u", *str(root / "proj.toml"), "enter")
        await until(pilot, lambda: app.config_path == root / "proj.toml")
        kohya_json(root)
        await pilot.press("f3")
        await pilot.pause()
        await pilot.press("ctrl+u", *str(root / "k.json"), "enter")
        await until(pilot, lambda: "mapped" in screen_text(app))
        await pilot.press("enter")
        await until(pilot, lambda: field(app, "sample_prompts").value == "proj.prompts-1.txt")
        assert not (root / "proj.prompts-1.txt").exists()
        await pilot.press("ctrl+s")
        await until(pilot, lambda: (root / "proj.prompts-1.txt").exists() and not form(app).changed_fields())
        assert (root / "proj.prompts-1.txt").read_text() == "a kohya prompt --w 512\n"
        assert mine.read_text() == "my own prompt --w 512\n"

    run(tmp_path, scenario)
