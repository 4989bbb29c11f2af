"""The LyCORIS arguments of network_args as Settings fields of their own (Pilot, 80x24): the fields the algo
reads are shown, an edit writes its key into the list in place, an untouched or changed-back config is saved
byte-for-byte as it was, a bad value names the field, ctrl+g finds them by key name, and drafts keep them."""

from __future__ import annotations

import os

from test_settings_form import field, form, goto, run, screen_text, status, until

from loratui.core.config import load_config
from loratui.tui.widgets.config_field import INVALID

LOKR = """\
[model]
pretrained_model_name_or_path = "model/base.safetensors"

[dataset]
train_data_dir = "img"

[network]
network_dim = 8
network_module = "lycoris.kohya"
# my LyCORIS args: the spacing, the quotes and my own key stay
network_args = [ "algo=lokr", 'factor = 4', "my_note=keep", "use_cp=true" ]  # kept as written
"""


def shown_names(app) -> set[str]:
    return {name for name, f in form(app).lycoris.fields.items() if f.display}


def args(app) -> list[str]:
    return field(app, "network_args").value


def test_switching_algo_shows_the_fields_it_reads_and_hides_the_others_without_losing_them(tmp_path):
    async def scenario(app, pilot, root):
        assert {"algo", "preset", "conv_dim", "factor", "decompose_both", "full_matrix"} <= shown_names(app)
        assert not field(app, "network.conv_dim").display  # [network]'s own: networks.lora reads it, not this
        await goto(pilot, "algo")
        await pilot.press("left")  # lokr -> loha
        await pilot.pause()
        assert field(app, "network_args.algo").value == "loha"
        assert args(app) == ["algo=loha", "factor = 4", "my_note=keep", "use_cp=true"]
        names = shown_names(app)
        assert "factor" not in names and "decompose_both" not in names  # LoKr's own
        assert {"conv_dim", "use_tucker", "dora_wd", "bypass_mode"} <= names
        assert "factor = 4" in args(app)  # hidden, not lost: still in the list (core names it)
        assert any(p.startswith("network_args: factor does nothing with algo=loha") for p in form(app).problems)
        await pilot.press("right", "right")  # loha -> lokr -> full
        await pilot.pause()
        names = shown_names(app)
        assert "conv_dim" not in names and "use_tucker" not in names
        assert {"rank_dropout", "module_dropout", "train_norm", "preset"} <= names
        assert "hidden" in form(app).lycoris.heading.render().plain
        await goto(pilot, "network_module")  # networks.lora: none of them
        await pilot.press("left")
        await pilot.pause()
        assert shown_names(app) == set() and not form(app).lycoris.heading.display
        assert field(app, "network.conv_dim").display  # [network]'s own conv_dim is networks.lora's

    run(tmp_path, scenario, config=LOKR)


def test_editing_conv_dim_writes_network_args_in_place_and_the_panels_follow(tmp_path):
    config = LOKR.replace('"my_note=keep", ', "")  # the VRAM estimate refuses an unknown key

    async def scenario(app, pilot, root):
        from loratui.tui.widgets.vram_panel import VramPanel

        vram = app.screen.query_one(VramPanel)
        before = vram.estimate.total_gib
        await goto(pilot, "conv_dim")
        assert app.focused.id == "cf-network_args-conv_dim"  # lycoris.kohya: the list's, not [network]'s
        await pilot.press("ctrl+u", "6", "4")
        await pilot.pause()
        assert args(app) == ["algo=lokr", "factor = 4", "use_cp=true", "conv_dim=64"]
        assert vram.estimate.total_gib > before and vram._cfg.network.network_args[-1] == "conv_dim=64"
        await goto(pilot, "use_tucker")  # use_cp is its alias: written in place, its spelling kept
        await pilot.press("space")
        await pilot.pause()
        assert args(app) == ["algo=lokr", "factor = 4", "use_cp=false", "conv_dim=64"]
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not field(app, "network_args").changed)
        text = (root / "proj.toml").read_text(encoding="utf-8")
        assert text.splitlines()[:-1] == config.splitlines()[:-1]  # only the list's line is new
        assert load_config(root / "proj.toml").network.network_args == args(app)

    run(tmp_path, scenario, config=config)


def test_a_config_changed_and_changed_back_is_saved_byte_for_byte(tmp_path):
    async def scenario(app, pilot, root):
        path = root / "proj.toml"
        stat = os.stat(path)
        assert not form(app).unsaved
        await goto(pilot, "factor")
        await pilot.press("ctrl+u", "8")
        await pilot.pause()
        assert "factor=8" in args(app) and "* factor" in screen_text(app)
        await pilot.press("ctrl+u", "4")
        await goto(pilot, "train_norm")
        await pilot.press("space", "space")
        await goto(pilot, "algo")
        await pilot.press("left", "right")
        await goto(pilot, "conv_dim")
        await pilot.press("ctrl+u", "4", "backspace")  # typed and cleared: left out again
        await pilot.pause()
        assert args(app) == ["algo=lokr", "factor = 4", "my_note=keep", "use_cp=true"]
        assert not form(app).unsaved and "changed" not in status(app)
        await pilot.press("ctrl+s")
        await pilot.pause(0.3)
        assert path.read_text(encoding="utf-8") == LOKR and os.stat(path).st_mtime_ns == stat.st_mtime_ns

    run(tmp_path, scenario, config=LOKR)


def test_a_bad_value_is_one_line_naming_the_field_and_blocks_the_config(tmp_path):
    async def scenario(app, pilot, root):
        await goto(pilot, "conv_dim")
        await pilot.press("ctrl+u", *"eight")
        await pilot.pause()
        conv = field(app, "network_args.conv_dim")
        assert conv.value is INVALID and conv.problem == "network_args: conv_dim=eight must be an integer"
        assert conv.problem in conv.render().plain
        assert args(app) == ["algo=lokr", "factor = 4", "my_note=keep", "use_cp=true"]  # nothing half-written
        assert form(app).current_config() is None and "1 invalid" in status(app)
        await goto(pilot, "rank_dropout")
        await pilot.press("ctrl+u", "2")
        await pilot.pause()
        assert field(app, "network_args.rank_dropout").problem == "network_args: rank_dropout=2 must be from 0 to 1"
        await goto(pilot, "algo")
        await pilot.press("right")  # lokr -> full: conv_dim is not read, but its bad text stays in sight
        await pilot.pause()
        assert conv.display
        await pilot.press("ctrl+s")  # refused: the first bad field gets the focus
        await pilot.pause()
        assert app.focused is conv
        await pilot.press("ctrl+u")
        await pilot.pause()
        assert conv.value is None and "conv_dim" not in " ".join(args(app))  # fixed by leaving it out
        assert form(app).invalid_fields() == [field(app, "network_args.rank_dropout")]

    run(tmp_path, scenario, config=LOKR)


def test_an_algo_loratui_does_not_train_shows_its_field_with_the_problem(tmp_path):
    async def scenario(app, pilot, root):
        algo = field(app, "network_args.algo")
        assert algo.display and algo.value == "ia3"
        assert any(p.startswith("network_args: algo=ia3 is not one loratui trains") for p in algo.cross)
        await goto(pilot, "algo")
        await pilot.press("right")
        await pilot.pause()
        assert args(app)[0] == "algo=loha" and not algo.cross

    run(tmp_path, scenario, config=LOKR.replace("algo=lokr", "algo=ia3"))


def test_ctrl_g_finds_a_lycoris_field_by_key_name_and_names_a_hidden_one(tmp_path):
    async def scenario(app, pilot, root):
        await pilot.press("ctrl+g", *"decompose")
        await pilot.pause()
        listed = app.screen.query_one("OptionList").get_option_at_index(0)
        assert listed.id == "network_args.decompose_both" and "LyCORIS" in str(listed.prompt)
        await pilot.press("enter")
        await pilot.pause()
        assert app.focused is field(app, "network_args.decompose_both")
        await goto(pilot, "algo")
        await pilot.press("left")  # loha: no factor
        await pilot.press("ctrl+g", *"factor", "enter")
        await pilot.pause()
        assert app.focused is field(app, "network_args.algo")
        assert any("network_args factor is not read by algo=loha" in n.message for n in app._notifications)
        await pilot.press("ctrl+g", *"conv_alpha", "enter")
        await pilot.pause()
        assert app.focused is field(app, "network_args.conv_alpha")

    run(tmp_path, scenario, config=LOKR)


def test_with_networks_lora_ctrl_g_conv_dim_is_networks_own(tmp_path):
    async def scenario(app, pilot, root):
        await goto(pilot, "conv_dim")
        assert app.focused is field(app, "network.conv_dim")
        await pilot.press("ctrl+g", *"use_tucker", "enter")  # hidden: network_module shows it
        await pilot.pause()
        assert app.focused is field(app, "network_module")

    run(tmp_path, scenario)


def test_the_draft_keeps_a_lycoris_edit_and_text_not_valid_yet(tmp_path):
    async def scenario(app, pilot, root):
        await goto(pilot, "factor")
        await pilot.press("ctrl+u", "2")
        await goto(pilot, "conv_dim")
        await pilot.press("ctrl+u", *"4x")
        await pilot.pause()
        drafted = form(app).draft_fields()
        # factor cleared and retyped stays in its place; conv_dim holds its last valid value, 4
        assert drafted["network.network_args"].typed == "algo=lokr factor=2 my_note=keep use_cp=true conv_dim=4"
        assert drafted["network_args.conv_dim"].typed == "4x" and drafted["network_args.conv_dim"].file == ""
        assert form(app).unsaved_edits() == 2
        form(app).load(form(app).base, has_file=True)  # the file again, then the draft put back
        await pilot.pause()
        assert args(app) == ["algo=lokr", "factor = 4", "my_note=keep", "use_cp=true"]
        unknown = form(app).restore_typed({name: d.typed for name, d in drafted.items()})
        assert unknown == []
        assert args(app) == ["algo=lokr", "factor=2", "my_note=keep", "use_cp=true", "conv_dim=4"]
        assert field(app, "network_args.conv_dim").text == "4x" and field(app, "network_args.conv_dim").problem
        assert field(app, "network_args.factor").value == "2"

    run(tmp_path, scenario, config=LOKR)
