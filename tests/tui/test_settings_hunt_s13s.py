"""The h12 Settings hunt (Pilot, 80x24, a real project on disk): a draft offer ignores keys typed before it
opened, f3 asks before replacing edits, imported prompts survive in the draft, choice fields take a typed
prefix, the focused field stays in view, pastes, the status line's counts, ctrl+g's words, and the small ones."""

from __future__ import annotations

import json
import shutil

import pytest
from test_settings_drafts import open_settings, typed_and_left
from test_settings_form import DATA, field, form, goto, run, status, type_into, until
from textual import events

from loratui.core.config import import_kohya_file, load_config
from loratui.core.drafts import draft_path
from loratui.tui.screens.config_dialogs import ChoiceDialog, OfferDialog, goto_field_dialog
from loratui.tui.services import drafts as drafts_service
from loratui.tui.widgets.config_field import INVALID


@pytest.fixture(autouse=True)
def quick_drafts(monkeypatch):
    monkeypatch.setattr(drafts_service, "DEBOUNCE_S", 0.05)


def test_keys_typed_before_the_draft_offer_opened_are_not_its_answer(tmp_path):
    root = typed_and_left(tmp_path, {"seed": "4712"})

    async def scenario(app, pilot):
        await until(pilot, lambda: isinstance(app.screen, OfferDialog))
        await pilot.press("escape")  # put off; f6 offers it again, after these keys were read
        await pilot.pause()
        early = [events.Key("d", "d"), events.Key("i", "i")]  # read before the dialog opened (`3 ctrl+g dim`)
        app.screen.action_draft()
        await until(pilot, lambda: isinstance(app.screen, OfferDialog))
        for key in early:
            app.screen.post_message(key)
        await pilot.pause(0.1)
        assert isinstance(app.screen, OfferDialog) and app.screen.dropped == 2
        assert "2 key(s) typed before this appeared were ignored" in str(app.screen.query_one(".choice-keys").render())
        await pilot.press("r")  # restore stays one key
        await until(pilot, lambda: app.screen.form.field("seed").text == "4712")

    open_settings(tmp_path, root, scenario)


def test_delete_in_the_draft_offer_asks_y_and_another_key_goes_back(tmp_path):
    root = typed_and_left(tmp_path, {"seed": "4712"})

    async def scenario(app, pilot):
        await until(pilot, lambda: isinstance(app.screen, OfferDialog))
        await pilot.press("d", "i")  # typed blind just after it opened: d asks, i goes back
        assert isinstance(app.screen, OfferDialog) and app.screen.asking is None
        await pilot.press("d")
        assert "y  yes, delete the draft (cannot be undone)" in str(app.screen.query_one(".choice-keys").render())
        await pilot.press("y")
        await until(pilot, lambda: not draft_path(root / "proj.toml").exists())
        assert app.screen.form.field("seed").text != "4712"

    open_settings(tmp_path, root, scenario)


def test_f3_with_unsaved_edits_asks_first_and_esc_keeps_them(tmp_path):
    async def scenario(app, pilot, root):
        shutil.copy(DATA / "kohya_ss_sd15_standard.json", root / "k1.json")
        cfg, report = import_kohya_file(root / "k1.json", config_dir=root)
        await type_into(pilot, "caption_dropout_rate", "0.1")
        app.screen.show_import(root / "k1.json", cfg, report)
        await pilot.pause()
        await pilot.press("enter")  # apply, in the report
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog) and app.screen.dialog_title == "unsaved changes")
        assert "importing k1.json discards 1 changed field(s)" in app.screen.body
        await pilot.press("escape")
        await pilot.pause()
        assert field(app, "caption_dropout_rate").value == 0.1
        app.screen.show_import(root / "k1.json", cfg, report)
        await pilot.pause()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog))
        await pilot.press("d")
        await until(pilot, lambda: field(app, "network_dim").value == cfg.network.network_dim)

    run(tmp_path, scenario)


def test_imported_prompts_ride_in_the_draft_and_are_written_after_a_restore(tmp_path):
    async def imported(app, pilot, root):
        shutil.copy(DATA / "kohya_ss_sd15_standard.json", root / "k1.json")
        cfg, report = import_kohya_file(root / "k1.json", config_dir=root)
        app.screen.show_import(root / "k1.json", cfg, report)
        await pilot.pause()
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.pending_prompts is not None)
        await until(pilot, lambda: draft_path(root / "proj.toml").exists()
                    and "imported sample_prompts" in draft_path(root / "proj.toml").read_text())
        imported.text = report.prompts_text

    _, root = run(tmp_path, imported)
    data = json.loads(draft_path(root / "proj.toml").read_text())
    assert data["fields"]["imported sample_prompts"]["typed"] == imported.text

    async def restored(app, pilot):
        await until(pilot, lambda: isinstance(app.screen, OfferDialog))
        assert "sample prompts imported from a kohya_ss JSON, for proj.prompts.txt" in app.screen.body
        await pilot.press("r")
        await until(pilot, lambda: app.screen.pending_prompts is not None)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: (root / "proj.prompts.txt").exists())
        assert (root / "proj.prompts.txt").read_text() == imported.text
        assert load_config(root / "proj.toml").sampling.sample_prompts == "proj.prompts.txt"

    open_settings(tmp_path, root, restored)


def test_a_choice_field_takes_the_typed_prefix(tmp_path):
    async def scenario(app, pilot, root):
        await goto(pilot, "optimizer_type")
        await pilot.press(*"AdamW8bit")
        assert field(app, "optimizer_type").value == "AdamW8bit"
        await goto(pilot, "lr_scheduler")
        await pilot.press(*"constant")
        assert field(app, "lr_scheduler").value == "constant"
        await pilot.press(*"cosine")
        assert field(app, "lr_scheduler").value == "cosine"

    run(tmp_path, scenario)


def test_the_focused_field_stays_in_view_when_notes_above_it_appear(tmp_path):
    async def scenario(app, pilot, root):
        await type_into(pilot, "network_args", "algo=loha conv_dim=4")
        await pilot.pause(0.2)
        args, box = field(app, "network_args"), form(app)
        assert box.region.contains_region(args.region.intersection(box.region)) and args.region.height
        assert box.region.y <= args.region.y < box.region.bottom

    run(tmp_path, scenario)


def test_a_multi_line_paste_keeps_every_line_in_a_list_and_is_refused_in_a_one_line_field(tmp_path):
    async def scenario(app, pilot, root):
        await type_into(pilot, "optimizer_args", "")
        args = field(app, "optimizer_args")
        args.post_message(events.Paste("weight_decay=0.1\nbetas=0.9,0.99\n"))
        await pilot.pause()
        assert args.value == ["weight_decay=0.1", "betas=0.9,0.99"]
        await goto(pilot, "learning_rate")
        rate = field(app, "learning_rate")
        before = rate.text
        rate.post_message(events.Paste("5e-5\n1e-4"))
        await pilot.pause()
        assert rate.text == before
        assert any("a paste of 2 lines does not fit this one-line field" in n.message for n in app._notifications)

    run(tmp_path, scenario)


def test_the_status_line_keeps_the_counts_before_an_outside_change(tmp_path):
    async def scenario(app, pilot, root):
        await type_into(pilot, "seed", "4712")
        path = root / "proj.toml"
        path.write_text(path.read_text().replace("network_dim = ", "network_dim = 1", 1))
        app.screen.poll_config_file()
        await pilot.pause()
        text = status(app)
        assert text.index("* 1 changed") < text.index("changed on disk: ctrl+s merges, f5 reloads (loses yours)")

    run(tmp_path, scenario)


def test_go_to_field_reads_words_and_other_names():
    dialog = goto_field_dialog()
    first = {query: dialog.matches(query)[0][0] for query in ("batch size", "learning rate", "rank", "alpha",
                                                              "epochs", "steps", "lr", "seed", "epoch")}
    assert first == {"batch size": "training.train_batch_size", "learning rate": "optimizer.learning_rate",
                     "rank": "network.network_dim", "alpha": "network.network_alpha",
                     "epochs": "training.max_train_epochs", "steps": "training.max_train_steps",
                     "lr": "optimizer.learning_rate", "seed": "training.seed", "epoch": "training.max_train_epochs"}


def test_typing_replaces_a_number_entered_and_enter_on_a_true_false_field_moves_on(tmp_path):
    async def scenario(app, pilot, root):
        await goto(pilot, "learning_rate")
        await pilot.press(*"5e-5")
        assert field(app, "learning_rate").value == 5e-5
        await pilot.press("home", "delete", "4")  # after the first key it edits as usual
        assert field(app, "learning_rate").value == 4e-5
        await goto(pilot, "v_parameterization")
        await pilot.press("enter")
        assert field(app, "v_parameterization").value is False and app.focused is not field(app, "v_parameterization")
        assert field(app, "learning_rate").BINDING_GROUP_TITLE == "Field learning_rate"

    run(tmp_path, scenario)


def test_an_invalid_field_marks_the_panels_stale_and_vae_picks_beside_the_model(tmp_path):
    async def scenario(app, pilot, root):
        await type_into(pilot, "network_dim", "sixteen")
        assert field(app, "network_dim").value is INVALID
        column = app.screen.query_one("#settings-panels")
        assert column.has_class("-stale")
        assert "network_dim" in str(app.screen.query_one("#settings-panels-stale").render())
        await pilot.press("ctrl+u", *"16")
        assert not column.has_class("-stale")
        (root / "models").mkdir()
        cfg = form(app).current_config()
        cfg.model.pretrained_model_name_or_path = "models/base.safetensors"
        assert app.screen.empty_path_start(cfg, "vae") == root / "models"

    run(tmp_path, scenario)
