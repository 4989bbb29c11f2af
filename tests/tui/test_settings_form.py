"""The Settings screen's form driven by keys (Pilot, 80x24) over a real project and config on disk."""

from __future__ import annotations

import asyncio
import json
import shutil
import struct
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from fixtures.settings_app import goto, make_app, new_config, open_settings, type_into
from fixtures.tui_dataset import make_dataset
from textual.message import Message
from textual.widget import Widget

from loratui.cli import cli
from loratui.core.config import FIELDS, coerce_value, field_spec, import_kohya_file, load_config
from loratui.tui.app import LoratuiApp
from loratui.tui.screens import settings as settings_module
from loratui.tui.screens.settings import SettingsScreen
from loratui.core.config import describe_field
from loratui.tui.widgets.config_field import INVALID

DATA = Path(__file__).resolve().parents[1] / "data"
COMMENTED = """\
# my training notes: keep these!
[model]
pretrained_model_name_or_path = "model/base.safetensors"  # the base I always use

[dataset]
train_data_dir = "img"
resolution = 512   # square

[network]
# rank 16 was too weak last time
network_dim = 16
network_alpha = 8.0

[training]
max_train_epochs = 10
"""


def safetensors(path: Path, keys: list[str]) -> Path:
    """A header-only .safetensors file naming ``keys`` (enough for the family to be read)."""
    header = json.dumps({k: {"dtype": "F16", "shape": [1], "data_offsets": [0, 2]} for k in keys}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0\0")
    return path


def run(tmp_path: Path, scenario, *, config: str | None = "new", size=(80, 24)) -> tuple[LoratuiApp, Path]:
    app, root = make_app(tmp_path, config=config)

    async def main():
        async with app.run_test(size=size) as pilot:
            await open_settings(app, pilot)
            await scenario(app, pilot, root)

    asyncio.run(main())
    return app, root


def screen_text(app) -> str:
    return "\n".join("".join(s.text for s in strip) for strip in app.screen._compositor.render_strips())


async def until(pilot, test, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not test():
        assert time.monotonic() < deadline, "condition never became true"
        await pilot.pause(0.05)


def form(app):
    return app.screen.form


def field(app, key: str):
    return form(app).field(key)


def status(app) -> str:
    return str(app.screen.query_one("#settings-status").render())


def shown(app, key: str) -> str:
    """What the field draws (name, value and the lines under it), as plain text."""
    return field(app, key).render().plain


def core_problem(key: str, raw) -> str:
    with pytest.raises(ValueError) as info:
        coerce_value(field_spec(key), raw)
    return f"{key}: {info.value}"


# ---- typing and checking ---------------------------------------------------------------------------

def test_invalid_values_show_core_message_under_the_field(tmp_path):
    async def scenario(app, pilot, root):
        await type_into(pilot, "network_dim", "sixteen")
        expected = core_problem("network_dim", "sixteen")
        assert expected == "network_dim: must be an integer from 1 to 1024, got 'sixteen'"
        assert field(app, "network_dim").value is INVALID
        assert expected in shown(app, "network_dim")
        assert "1 invalid" in status(app)
        assert form(app).current_config() is None

        await type_into(pilot, "learning_rate", "-1")
        assert field(app, "learning_rate").problem == core_problem("learning_rate", -1)
        assert "learning_rate: must be a number from 0 to 10, got -1" in shown(app, "learning_rate")

        await pilot.press("ctrl+s")  # refused, nothing written, focus goes to the first bad field
        await pilot.pause()
        assert app.focused is field(app, "network_dim")
        await pilot.press("ctrl+u", "3", "2")
        await pilot.press("ctrl+g", *"learning_rate", "enter", "ctrl+u", *"2e-4")
        await pilot.pause()
        assert field(app, "network_dim").value == 32 and field(app, "learning_rate").value == 2e-4
        assert "invalid" not in status(app)

    run(tmp_path, scenario)


def test_cross_field_problems_from_validate_show_under_each_field_they_name(tmp_path):
    async def scenario(app, pilot, root):
        await goto(pilot, "full_fp16")
        await pilot.press("space")
        await pilot.pause()
        problem = 'full_fp16 needs mixed_precision = "fp16"'
        assert problem in field(app, "full_fp16").cross
        assert problem in field(app, "mixed_precision").cross
        # with the empty base model of `config new` (check_paths, from a thread): 2 problems, keys named
        await until(pilot, lambda: "2 problem(s) training refuses: pretrained_model_name_or_path, mixed_precision, "
                                   "full_fp16" in status(app))
        await goto(pilot, "mixed_precision")
        await pilot.press("left")  # bf16 -> fp16
        await pilot.pause()
        assert field(app, "mixed_precision").value == "fp16"
        assert not field(app, "full_fp16").cross
        assert "1 problem(s) training refuses: pretrained_model_name_or_path ·" in status(app)

    run(tmp_path, scenario)


def test_changed_field_is_marked_with_a_star_and_a_word_and_reverts(tmp_path):
    async def scenario(app, pilot, root):
        await type_into(pilot, "network_dim", "32")
        assert "* network_dim" in screen_text(app) and "changed: the file has 16" in shown(app, "network_dim")
        assert "* 1 changed" in status(app)
        await pilot.press("ctrl+z")  # settings.revert_field
        await pilot.pause()
        assert field(app, "network_dim").value == 16 and "changed" not in status(app)
        assert "changed" not in shown(app, "network_dim")

    run(tmp_path, scenario)


def test_help_on_focus_is_config_explain_text(tmp_path):
    runner = CliRunner()
    for (section, key), spec in FIELDS.items():
        head, body = describe_field(spec)
        out = runner.invoke(cli, ["config", "explain", f"{section}.{key}"]).output
        # explain may add more after the field (a LyCORIS network_args key of the same name, e.g. conv_dim)
        assert " ".join(out.split()).startswith(" ".join(f"{head}\n{body}".split())), key

    async def scenario(app, pilot, root):
        await goto(pilot, "caption_dropout_every_n_epochs")
        help_text = " ".join(str(app.screen.query_one("#settings-help").render()).split())
        head, body = describe_field(field_spec("caption_dropout_every_n_epochs"))
        assert " ".join(head.split()) in help_text and body in help_text
        assert "[Dataset]" in screen_text(app)  # the sections line follows the focus

    run(tmp_path, scenario)


def test_choices_step_with_arrows_and_list_with_enter(tmp_path):
    async def scenario(app, pilot, root):
        await goto(pilot, "optimizer_type")
        await pilot.press("right")
        assert field(app, "optimizer_type").value == "Lion"
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press(*"prod", "enter")
        await pilot.pause()
        assert field(app, "optimizer_type").value == "Prodigy"
        assert app.focused is field(app, "optimizer_type")
        # Prodigy with learning_rate 1e-4: core's cross-field check says so
        assert any("Prodigy expects learning_rate" in p for p in field(app, "learning_rate").cross)

    run(tmp_path, scenario)


def test_up_and_down_go_from_field_to_field_and_letters_then_land_in_the_field_below(tmp_path):
    """Down scrolled the form and left the focus on model_family: the file name typed next for the
    field below picked choices by their first letter and saved model_family = "sd2"."""
    async def scenario(app, pilot, root):
        await goto(pilot, "model_family")
        family = field(app, "model_family").value
        await pilot.press("down")
        await pilot.pause()
        below = app.focused
        assert below is not field(app, "model_family") and below.id.startswith("cf-")
        await pilot.press("up")
        await pilot.pause()
        assert app.focused is field(app, "model_family")
        await pilot.press("down", *"sdxl")
        await pilot.pause()
        assert field(app, "model_family").value == family and app.focused is below

    run(tmp_path, scenario)


def test_sections_by_key_and_palette_has_every_action(tmp_path):
    async def scenario(app, pilot, root):
        from loratui.tui.palette import commands_for

        assert app.focused is None  # arriving focuses no field: 1-4 still switch screens
        await pilot.press("tab")
        assert app.focused is field(app, "pretrained_model_name_or_path")
        await pilot.press("ctrl+down")
        await pilot.pause()
        assert app.focused is field(app, "train_data_dir")
        await pilot.press("ctrl+down", "ctrl+down")
        await pilot.pause()
        assert app.focused is field(app, "optimizer_type")
        await pilot.press("ctrl+up")
        await pilot.pause()
        assert app.focused is field(app, "network_dim")
        titles = " | ".join(c.title for c in commands_for(app.screen, app))
        for word in ("config: save", "save as", "reload", "open another", "import kohya_ss JSON",
                     "export sd-scripts TOML", "start training", "go to field", "next section",
                     "pick a file", "revert", "leave the field", "show section Sampling"):
            assert word in titles, word
        await pilot.press(*"vp")  # in a field, letters are its text
        assert app.focused is field(app, "network_dim") and type(app.screen).__name__ == "SettingsScreen"
        await pilot.press("ctrl+z", "escape", "v")  # out of it: v goes to the VRAM panel, its keys in the footer
        await pilot.pause()
        assert type(app.focused).__name__ == "VramPanel"
        assert "vram.presets" in {b.binding.id for b in app.screen.active_bindings.values()}
        await pilot.press("escape", "p")  # p opens the presets from anywhere but a field
        await pilot.pause()
        assert type(app.screen).__name__ == "PresetPicker"
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("escape", "1")  # out of the field, the app's screen keys work again
        await pilot.pause()
        assert app.current_mode == "dataset"
        ids = {b.id for b in SettingsScreen.BINDINGS}
        assert {"settings.save", "settings.save_as", "settings.reload", "settings.import_kohya", "settings.export",
                "settings.train", "settings.next_section"} <= ids

    run(tmp_path, scenario)


# ---- the panels ----------------------------------------------------------------------------------

class StepCalculator(Widget):
    """Stands in for the calculator: same message name, records what it was given."""

    class EpochsChosen(Message):
        def __init__(self, epochs: int) -> None:
            super().__init__()
            self.epochs = epochs

    def __init__(self) -> None:
        super().__init__()
        self.seen: list = []

    def update_config(self, cfg, scan) -> None:
        self.seen.append((cfg, scan))


class VramPanel(Widget):
    class FieldsChanged(Message):
        def __init__(self, changes: dict, origin: str = "") -> None:
            super().__init__()
            self.changes = changes
            self.origin = origin

    def update_config(self, cfg, scan) -> None:
        pass


def test_panels_get_the_current_config_in_the_keystroke_and_talk_back(tmp_path, monkeypatch):
    calc = StepCalculator()
    vram = VramPanel()
    monkeypatch.setattr(settings_module, "load_panels", lambda: [calc, vram])
    posted = []

    async def scenario(app, pilot, root):
        original = app.screen.post_message
        app.screen.post_message = lambda m: (posted.append(m), original(m))[1]
        assert calc.seen and calc.seen[-1][0].network.network_dim == 16  # the loaded config at once
        await goto(pilot, "network_dim")
        before = len(calc.seen)
        await pilot.press("ctrl+u")  # empty: not valid, nothing handed on
        assert len(calc.seen) == before
        await pilot.press("8")
        cfg, scan = calc.seen[-1]
        assert cfg.network.network_dim == 8 and scan is app.store.scan
        changed = [m for m in posted if isinstance(m, SettingsScreen.ConfigChanged)]
        assert changed[-1].cfg.network.network_dim == 8

        calc.post_message(StepCalculator.EpochsChosen(7))
        await pilot.pause()
        assert field(app, "max_train_epochs").value == 7 and field(app, "max_train_epochs").changed
        assert calc.seen[-1][0].training.max_train_epochs == 7
        vram.post_message(VramPanel.FieldsChanged({("training", "gradient_checkpointing"): True,
                                                   ("training", "train_batch_size"): 2}, "sd15-8gb"))
        await pilot.pause()
        assert field(app, "gradient_checkpointing").value is True and field(app, "train_batch_size").value == 2
        assert calc.seen[-1][0].training.train_batch_size == 2

    run(tmp_path, scenario)


# ---- files -----------------------------------------------------------------------------------------

def test_save_keeps_the_files_comments_and_order(tmp_path):
    async def scenario(app, pilot, root):
        await type_into(pilot, "network_dim", "32")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not field(app, "network_dim").changed)
        expected = COMMENTED.replace("network_dim = 16", "network_dim = 32")
        assert (root / "proj.toml").read_text(encoding="utf-8") == expected
        assert "changed" not in status(app)

    run(tmp_path, scenario, config=COMMENTED)


LIST_ARGS = COMMENTED + '\n[optimizer]\noptimizer_args = ["betas=(0.9, 0.99)", "weight_decay=0.1"]  # mine\n'


def test_a_list_element_with_spaces_survives_an_edit_and_an_untouched_list_is_not_changed(tmp_path):
    async def scenario(app, pilot, root):
        args = field(app, "optimizer_args")
        assert args.text == '"betas=(0.9, 0.99)" weight_decay=0.1' and not args.changed
        assert not form(app).changed_fields()
        await goto(pilot, "optimizer_args")
        await pilot.press("backspace", "2")  # the tester's edit: the last character
        await pilot.pause()
        assert args.value == ["betas=(0.9, 0.99)", "weight_decay=0.2"] and args.problem is None
        assert "changed: the file has \"betas=(0.9, 0.99)\" weight_decay=0.1" in shown(app, "optimizer_args")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not args.changed)
        assert (root / "proj.toml").read_text(encoding="utf-8") == LIST_ARGS.replace("0.1\"]", "0.2\"]")
        await pilot.press("home", "delete")  # the opening quote gone: one left unclosed
        await pilot.pause()
        assert args.problem.startswith("optimizer_args: a quote is not closed in ")
        assert args.problem in shown(app, "optimizer_args")

    run(tmp_path, scenario, config=LIST_ARGS)


def notes(app) -> str:
    return " | ".join(str(n.message) for n in app._notifications)


def test_config_changed_on_disk_merges_the_forms_changed_keys_into_the_new_file(tmp_path):
    """Finding 8: the form changed resolution, an editor changed network_alpha and added a comment:
    ctrl+s offers a merge that writes resolution into the new text and keeps both outside changes."""
    async def scenario(app, pilot, root):
        path = root / "proj.toml"
        await type_into(pilot, "resolution", "768")
        outside = path.read_text().replace("network_alpha = 8.0", "network_alpha = 4.0  # halved by hand")
        path.write_text(outside)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "changed on disk: merge?" in screen_text(app))
        body = " ".join(app.screen.body.split())
        assert "network_alpha: 8.0 -> 4.0" in body and "resolution: 512 -> 768" in body
        assert path.read_text() == outside  # nothing written before the choice
        await pilot.press("m")
        await until(pilot, lambda: "resolution = 768" in path.read_text())
        assert path.read_text() == outside.replace("resolution = 512", "resolution = 768")  # comments kept
        await until(pilot, lambda: "keeping its change(s) to network_alpha" in notes(app))
        assert field(app, "network_alpha").value == 4.0 and not form(app).changed_fields()

        # the same key on both sides: named, and the user picks
        await type_into(pilot, "network_dim", "32")
        await type_into(pilot, "max_train_epochs", "12")
        path.write_text(path.read_text().replace("network_dim = 16", "network_dim = 64"))
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "changed on both sides" in screen_text(app))
        assert "network_dim: the file now has 64, the form 32" in " ".join(app.screen.body.split())
        await pilot.press("t")  # theirs for network_dim; max_train_epochs (only mine) still written
        await until(pilot, lambda: "max_train_epochs = 12" in path.read_text())
        saved = load_config(path)
        assert saved.network.network_dim == 64 and saved.network.network_alpha == 4.0
        await until(pilot, lambda: field(app, "network_dim").value == 64 and not form(app).changed_fields())

        await type_into(pilot, "network_dim", "48")
        path.write_text(path.read_text().replace("network_dim = 64", "network_dim = 8"))
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "changed on both sides" in screen_text(app))
        await pilot.press("m")  # mine
        await until(pilot, lambda: "network_dim = 48" in path.read_text())

        await type_into(pilot, "network_dim", "24")
        path.write_text(path.read_text().replace("network_dim = 48", "network_dim = 2"))
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "changed on both sides" in screen_text(app))
        await pilot.press("escape")  # cancel: nothing written, the form keeps its change
        await pilot.pause()
        assert "network_dim = 2" in path.read_text() and field(app, "network_dim").value == 24
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "changed on both sides" in screen_text(app))
        await pilot.press("r", "y")  # reload (asks y): the other change shows, the form's is gone
        await until(pilot, lambda: field(app, "network_dim").value == 2)
        assert not form(app).changed_fields()

    run(tmp_path, scenario, config=COMMENTED)


def test_missing_paths_are_marked_like_config_check_and_save_says_so(tmp_path):
    """Finding 7: the paths `loratui config check` rejects are marked under their fields; ctrl+s still
    saves (a config for another machine) but says how many problems training will refuse."""
    from loratui.core.config import config_file_problems

    async def scenario(app, pilot, root):
        await type_into(pilot, "train_data_dir", "/data/img")
        await type_into(pilot, "pretrained_model_name_or_path", "runwayml/stable-diffusion-v1-5")
        await until(pilot, lambda: "train_data_dir: folder /data/img does not exist" in field(app, "train_data_dir").cross)
        assert any("runwayml/stable-diffusion-v1-5 is not a folder or file" in p
                   for p in field(app, "pretrained_model_name_or_path").cross)
        assert "2 problem(s) training refuses: pretrained_model_name_or_path, train_data_dir" in status(app)
        assert "does not exist" in shown(app, "train_data_dir")
        assert field(app, "train_data_dir").has_class("-crossed")
        await pilot.press("ctrl+s")
        path = root / "proj.toml"
        await until(pilot, lambda: "saved proj.toml, with 2 problem(s) training will refuse" in notes(app))
        _, problems = config_file_problems(path)
        assert len(problems) == 2 and 'train_data_dir = "/data/img"' in path.read_text()
        assert "train_data_dir: folder /data/img does not exist" in notes(app) or \
            "pretrained_model_name_or_path" in notes(app)
        # fixed: the mark goes
        await type_into(pilot, "train_data_dir", "img")
        await until(pilot, lambda: not field(app, "train_data_dir").cross)
        assert "1 problem(s) training refuses: pretrained_model_name_or_path ·" in status(app)

    run(tmp_path, scenario)


def test_target_steps_box_has_a_key_and_is_in_help(tmp_path):
    """Finding 15: s (no field focused) goes to the calculator's Target steps box; esc leaves it."""
    async def scenario(app, pilot, root):
        await pilot.press("s")
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "calc-target"
        assert "Target steps" in str(app.screen.query_one("#settings-help").render())
        await pilot.press(*"200", "enter")
        await until(pilot, lambda: field(app, "max_train_epochs").changed)
        await pilot.press("escape")
        await pilot.pause()
        assert app.focused is None
        await pilot.press("question_mark")
        await pilot.pause()
        await pilot.press("pagedown")  # below the file keys at 80x24
        await until(pilot, lambda: "Target steps - With no field focused" in screen_text(app))
        await pilot.press("escape")
        await goto(pilot, "v_parameterization")  # a true/false field: s is not its letter, nor a jump
        await pilot.press("s")
        await pilot.pause()
        assert app.focused is field(app, "v_parameterization")

    run(tmp_path, scenario)


def test_file_picker_takes_a_typed_path_with_tab_completion(tmp_path):
    """Finding 14: a path typed or pasted in the picker's box is followed; tab completes a name."""
    async def scenario(app, pilot, root):
        far = tmp_path / "elsewhere" / "kohya_configs"
        far.mkdir(parents=True)
        shutil.copy(DATA / "kohya_ss_sd15_standard.json", far / "mine.json")
        await pilot.press("f3")
        await pilot.pause()
        await pilot.press(*str(tmp_path / "elsewhere" / "koh"))
        await pilot.pause()
        assert "kohya_configs/" in [str(o.prompt) for o in app.screen.query_one("OptionList").options]
        await pilot.press("tab")
        await pilot.pause()
        assert app.screen.query_one("Input").value == str(far) + "/"
        await pilot.press("tab")  # the one .json in it
        await pilot.pause()
        assert app.screen.query_one("Input").value == str(far / "mine.json")
        await pilot.press("enter")
        await until(pilot, lambda: "mapped" in screen_text(app))
        await pilot.press("escape")
        await pilot.pause()
        # a relative path from the picker's folder, and a path that does not exist
        await pilot.press("f3")
        await pilot.pause()
        await pilot.press(*"./nowhere/x.json", "enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "FilePicker"
        assert "no such folder" in str(app.screen.query_one("#picker-note").render())

    run(tmp_path, scenario)


def test_kohya_import_keeps_an_existing_prompts_file(tmp_path):
    """Finding 11: proj.prompts.txt holds the user's prompts: the import writes proj.prompts-1.txt and
    names it (never blanks sample_prompts, never overwrites); the same import again reuses that file."""
    async def scenario(app, pilot, root):
        mine = root / "proj.prompts.txt"
        mine.write_text("my own prompt --w 512\n")
        src = json.loads((DATA / "kohya_ss_sd15_standard.json").read_text())
        src["sample_prompts"] = "a kohya prompt --w 512"
        (root / "k.json").write_text(json.dumps(src))
        for _ in range(2):
            await pilot.press("f3")
            await pilot.pause()
            await pilot.press(*"k.json", "enter")
            await until(pilot, lambda: "mapped" in screen_text(app))
            await pilot.press("enter")
            await until(pilot, lambda: field(app, "sample_prompts").value == "proj.prompts-1.txt")
            await pilot.press("ctrl+s")  # the prompts file is written with the config (never before a save)
            await until(pilot, lambda: (root / "proj.prompts-1.txt").exists())
        assert mine.read_text() == "my own prompt --w 512\n"
        assert (root / "proj.prompts-1.txt").read_text() == "a kohya prompt --w 512\n"
        assert not (root / "proj.prompts-2.txt").exists()

    run(tmp_path, scenario)


def test_import_kohya_json_shows_what_was_dropped_and_why(tmp_path):
    async def scenario(app, pilot, root):
        before = (root / "proj.toml").read_text()
        shutil.copy(DATA / "kohya_ss_sd15_standard.json", root / "kohya_ss_sd15_standard.json")
        cfg, report = import_kohya_file(root / "kohya_ss_sd15_standard.json")
        await pilot.press("f3")
        await pilot.pause()
        await pilot.press(*"sd15_st", "enter")
        await until(pilot, lambda: "mapped" in screen_text(app))
        text = " ".join(screen_text(app).split())
        assert f"mapped {len(report.mapped)} keys, dropped {len(report.ignored)}" in text
        kohya_key, why = report.ignored[0]
        report_text = str(app.screen.query_one("#import-report").render())
        assert f"{kohya_key}: {why}" in report_text
        await pilot.press("enter")
        await pilot.pause()
        assert field(app, "network_dim").value == cfg.network.network_dim
        assert field(app, "learning_rate").value == cfg.optimizer.learning_rate
        assert form(app).changed_fields()  # not saved yet: marked
        assert (root / "proj.toml").read_text() == before  # nothing saved by the import

    run(tmp_path, scenario)


def test_export_writes_the_sdscripts_files_and_says_so(tmp_path):
    async def scenario(app, pilot, root):
        safetensors(root / "model" / "base.safetensors", ["cond_stage_model.transformer.x"])
        await type_into(pilot, "pretrained_model_name_or_path", "model/base.safetensors")
        await pilot.press("f4")
        await pilot.pause()
        assert app.screen.path == root / "proj_sdscripts"  # the export dialog's proposal
        await pilot.press("enter")
        out = root / "proj_sdscripts"
        await until(pilot, lambda: getattr(app.screen, "dialog_title", "") == "sd-scripts export written")
        assert (out / "config.toml").is_file() and (out / "dataset.toml").is_file()
        text = app.screen.body
        assert f"wrote {(out / 'config.toml').resolve()}" in text and "train_network.py" in text
        await pilot.press("enter")
        await pilot.press("f4")
        await pilot.pause()
        await pilot.press("enter")
        await until(pilot, lambda: "earlier export" in screen_text(app))
        await pilot.press("escape")

    run(tmp_path, scenario)


def test_no_config_offers_the_config_new_defaults_and_creates_it(tmp_path):
    async def scenario(app, pilot, root):
        assert "no config yet: ctrl+s creates proj.toml" in status(app)
        assert field(app, "train_data_dir").value == "img" and field(app, "output_dir").value == "model"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen.path == root / "proj.toml" and not app.screen.problem  # the proposed name
        await pilot.press("enter")
        await until(pilot, lambda: (root / "proj.toml").exists() and app.config_path == root / "proj.toml")
        other = make_dataset(tmp_path / "other" / "proj")
        cli_made = new_config(other / "proj.toml")  # `loratui config new` in the same kind of project
        assert (root / "proj.toml").read_text() == cli_made.read_text()

    run(tmp_path, scenario, config=None)


def test_save_as_rebases_relative_paths_and_never_overwrites(tmp_path):
    async def scenario(app, pilot, root):
        (root / "configs").mkdir()
        await type_into(pilot, "network_dim", "24")
        await pilot.press("f2")
        await pilot.pause()
        await pilot.press("ctrl+u", *str(root / "proj.toml"))
        await pilot.pause()
        assert "already exists" in app.screen.problem
        await pilot.press("ctrl+u", *"configs/other.toml", "enter")
        other = root / "configs" / "other.toml"
        await until(pilot, lambda: app.config_path == other)
        saved = load_config(other)
        assert saved.dataset.train_data_dir == "../img" and saved.network.network_dim == 24
        assert field(app, "train_data_dir").value == "../img" and not form(app).changed_fields()

    run(tmp_path, scenario)


def test_model_picker_starts_in_model_folder_and_family_is_read_from_the_file(tmp_path):
    async def scenario(app, pilot, root):
        safetensors(root / "model" / "xl.safetensors", ["conditioner.embedders.1.model.x"])
        (root / "model" / "notes.txt").write_text("not a model")
        await goto(pilot, "pretrained_model_name_or_path")
        await pilot.press("ctrl+f")
        await pilot.pause()
        labels = [label for _, label in app.screen.entries]
        assert app.screen.folder == root / "model" and "xl.safetensors" in labels and "notes.txt" not in labels
        await pilot.press(*"xl", "enter")
        await pilot.pause()
        assert field(app, "pretrained_model_name_or_path").value == "model/xl.safetensors"
        await until(pilot, lambda: "SDXL" in field(app, "pretrained_model_name_or_path").info)
        assert "family: SDXL (read from the model's weights)" in shown(app, "pretrained_model_name_or_path")
        assert "family SDXL" in status(app)

    run(tmp_path, scenario)


def test_start_training_saves_after_asking_then_switches_to_train(tmp_path):
    async def scenario(app, pilot, root):
        await pilot.press("ctrl+r")  # settings.train
        await pilot.pause()
        assert app.current_mode == "settings2"  # no base model: refused with core's line
        safetensors(root / "model" / "base.safetensors", ["cond_stage_model.transformer.x"])
        await type_into(pilot, "pretrained_model_name_or_path", "model/base.safetensors")
        await pilot.press("ctrl+r")  # settings.train
        await pilot.pause()
        assert "save the form to proj.toml first" in screen_text(app)
        await pilot.press("s")
        await until(pilot, lambda: app.current_mode == "train")
        assert app.config_path == root / "proj.toml"
        assert load_config(root / "proj.toml").model.pretrained_model_name_or_path == "model/base.safetensors"

    run(tmp_path, scenario)


def test_reload_asks_before_discarding_changes(tmp_path):
    async def scenario(app, pilot, root):
        await type_into(pilot, "network_dim", "48")
        await pilot.press("f5")
        await pilot.pause()
        assert "discards 1 changed field(s)" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert field(app, "network_dim").value == 48
        await pilot.press("f5")
        await pilot.pause()
        await pilot.press("d")
        await until(pilot, lambda: field(app, "network_dim").value == 16)

    run(tmp_path, scenario)


def test_each_keystroke_times_its_work(tmp_path):
    """The screen times its build and each edit's work (bench/tui_latency.py reports them)."""
    async def scenario(app, pilot, root):
        assert app.screen.compose_ms > 0
        await type_into(pilot, "network_dim", "3")
        for ch in "21":
            app.screen.last_edit_ms = 0.0
            await pilot.press(ch)
            assert app.screen.last_edit_ms > 0
        assert field(app, "network_dim").value == 321

    run(tmp_path, scenario)


def test_a_broken_config_is_named_and_nothing_is_saved_from_the_defaults(tmp_path):
    async def scenario(app, pilot, root):
        assert "cannot be read" in status(app) and "network_dim" in status(app)
        assert not form(app).display  # the defaults are not the file's values: not shown as them
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)  # no save-as dialog over the defaults
        assert (root / "proj.toml").read_text() == "[network]\nnetwork_dim = 'sixteen'\n"

    run(tmp_path, scenario, config="[network]\nnetwork_dim = 'sixteen'\n")


# ---- the rules kept here until core has them ------------------------------------------------------

def test_typed_text_goes_through_core():
    from loratui.tui.widgets.config_field import check_text

    assert check_text(field_spec("lr_warmup_steps"), "0.05") == (0.05, None)
    assert check_text(field_spec("lr_warmup_steps"), "100") == (100, None)
    assert check_text(field_spec("resolution"), "512,768") == ((512, 768), None)
    assert check_text(field_spec("max_train_epochs"), "  ") == (None, None)  # optional: unset
    assert check_text(field_spec("optimizer_args"), "weight_decay=0.01 betas=0.9,0.99") == (
        ["weight_decay=0.01", "betas=0.9,0.99"], None)
    assert check_text(field_spec("network_alpha"), "")[1] == core_problem("network_alpha", "")
    assert check_text(field_spec("output_name"), "a/b")[1] == core_problem("output_name", "a/b")


def test_rebase_paths_and_family_line(tmp_path):
    from loratui.core.config import TrainingConfig
    from loratui.tui.screens.config_actions import family_line, rebase_paths

    cfg = TrainingConfig()
    cfg.config_dir = tmp_path
    cfg.dataset.train_data_dir = "img"
    cfg.saving.output_dir = "/abs/out"
    cfg.model.pretrained_model_name_or_path = "stabilityai/sdxl-base"  # a repo id stays as it is
    moved = rebase_paths(cfg, tmp_path / "configs")
    assert moved.dataset.train_data_dir == "../img" and moved.saving.output_dir == "/abs/out"
    assert moved.model.pretrained_model_name_or_path == "stabilityai/sdxl-base"
    assert cfg.dataset.train_data_dir == "img"  # the original is untouched
    assert family_line(cfg)[0] == "SDXL?" and "guessed from the name" in family_line(cfg)[1]
    cfg.model.pretrained_model_name_or_path = str(safetensors(tmp_path / "m.safetensors",
                                                              ["cond_stage_model.model.x"]))
    assert family_line(cfg) == ("SD2", "family: SD2 (read from the model's weights)")
    cfg.model.model_family = "sdxl"
    assert "the file looks like SD2" in family_line(cfg)[1]


def test_coming_back_after_an_outside_edit_reloads_a_form_without_changes(tmp_path):
    async def scenario(app, pilot, root):
        path = root / "proj.toml"
        await app.switch_mode("dataset")
        path.write_text(path.read_text().replace("network_dim = 16", "network_dim = 20"))
        await app.switch_mode("settings2")
        await until(pilot, lambda: field(app, "network_dim").value == 20)
        assert not form(app).changed_fields()

    run(tmp_path, scenario, config=COMMENTED)
