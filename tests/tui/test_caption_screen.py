"""The Caption screen by keys (Pilot, 80x24): real caption runs of the tiny WD14 tagger as child
processes of the CLI, cancel and resume, dry run, model-folder messages; model discovery."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from fixtures.pilot_wait import until
from fixtures.tui_dataset import make_dataset
from fixtures.wd14_tiny import make_wd14_model
from PIL import Image

from loratui.captioners.model_search import check_model, find_models
from loratui.core.dataset import locate_dataset
from loratui.core.errors import LoratuiError
from loratui.tui.app import LoratuiApp
from loratui.tui.screens.caption import CaptionScreen
from loratui.tui.services.caption_runs import caption_runner
from loratui.tui.services.user_settings import load_settings

BIG = 36  # large images (1600x1600): slow enough to cancel a run half-way


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A project, a tiny tagger in a private model store, an empty Hugging Face cache."""
    monkeypatch.setenv("LORATUI_MODEL_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    model = make_wd14_model(tmp_path / "store" / "wd14" / "Tiny__wd-tiny")
    root = make_dataset(tmp_path / "proj")
    return tmp_path, root / "img", model


def add_big_images(img: Path, count: int = BIG) -> list[Path]:
    folder = img / "3_big"
    folder.mkdir()
    Image.new("RGB", (1600, 1600), (20, 40, 230)).save(folder / "big_000.png")
    data = (folder / "big_000.png").read_bytes()
    for i in range(1, count):
        (folder / f"big_{i:03d}.png").write_bytes(data)
    return sorted(folder.glob("*.png"))


def run(tmp_path: Path, scenario, size: tuple[int, int] = (80, 24)) -> LoratuiApp:
    app = LoratuiApp(locate_dataset(tmp_path / "proj"), settings_file=tmp_path / "tui.toml",
                     keymap_file=tmp_path / "k.toml", watch=False)

    async def main():
        async with app.run_test(size=size) as pilot:
            app.add_mode("caption2", CaptionScreen)  # MODES maps "caption" to the placeholder until app.py changes
            await app.switch_mode("caption2")
            await until(pilot, lambda: app.screen.model_ok or app.screen.model_problem, "model check")
            await scenario(app, pilot, app.screen)
            await until(pilot, lambda: not caption_runner(app).busy, "the run to end", 30)

    asyncio.run(main())
    return app


async def start_overwriting(pilot) -> None:
    """ctrl+r with write mode overwrite on images with captions asks first: o overwrites."""
    from loratui.tui.screens.config_dialogs import ChoiceDialog

    await pilot.press("ctrl+r")
    await until(pilot, lambda: isinstance(pilot.app.screen, ChoiceDialog), "the overwrite question")
    assert "have a caption already" in pilot.app.screen.body
    await pilot.press("o")


def text_of(screen, selector: str) -> str:
    return str(screen.query_one(selector).render())


def notes(app) -> str:
    return " | ".join(str(n.message) for n in app._notifications)


async def type_into(pilot, *keys: str) -> None:
    await pilot.press("ctrl+u", *keys)


async def paste_into(pilot, text: str) -> None:
    """Clear the focused field and paste ``text`` (a terminal's bracketed paste: one event)."""
    from textual import events

    await pilot.press("ctrl+u")
    pilot.app.focused.post_message(events.Paste(text))
    await pilot.pause()


def test_run_progress_cancel_resume_and_dataset_refresh(env):
    tmp_path, img, model = env
    big = add_big_images(img)
    seen = {}

    async def scenario(app, pilot, screen):
        runner = caption_runner(app)
        # the found models are listed by a worker: on a busy machine the check fills in a moment later
        await until(pilot, lambda: "Tiny__wd-tiny" in text_of(screen, "#model-check"), "model found")
        assert "13 tags" in text_of(screen, "#model-check")
        await start_overwriting(pilot)
        await until(pilot, lambda: runner.run is not None and runner.run.phase == "running", "started")
        run = runner.run
        assert run.provider == "CPUExecutionProvider" and run.to_caption == BIG + 6
        await until(pilot, lambda: run.last_caption is not None, "first caption")
        seen["first_progress_s"] = run.first_progress_s
        assert "on CPUExecutionProvider" in text_of(screen, "#run-rate")
        await pilot.press("ctrl+g")
        await until(pilot, lambda: not run.active, "cancel")
        assert run.phase == "cancelled", run.summary()
        assert 0 < run.captioned < run.to_caption
        status = text_of(screen, "#run-status")
        assert f"cancelled: {run.captioned} of {BIG + 6} captioned" in status and "'caption: resume'" in status
        images = sorted(img.glob("*/*.png"))
        written = [p for p in images if p.with_suffix(".txt").is_file()
                   and p.with_suffix(".txt").read_text().startswith("1girl, solo")]
        assert len(written) == run.captioned  # whole captions only, nothing half-written
        user_captions = [p for p in images if p.with_suffix(".txt").is_file() and p not in written]
        assert user_captions  # the resume must overwrite these too (a 'skip existing' resume left them)
        # resume from the palette, then leave the screen: the run belongs to the app and goes on
        await pilot.press("ctrl+p", *"resume", "enter")
        # an overwrite resume asks first, as a start does (review r1 #2): o continues the run
        from loratui.tui.screens.config_dialogs import ChoiceDialog

        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog), "the resume's overwrite question")
        assert runner.run is run  # nothing started before the answer
        await pilot.press("o")
        await until(pilot, lambda: runner.run is not run and runner.run.phase == "running", "resumed")
        resumed = runner.run
        assert "--resume" in resumed.command_line and "--mode overwrite" in resumed.command_line
        assert screen.query_one("#opt-mode").value == "overwrite"
        await pilot.press("escape", "1")
        assert app.current_mode == "dataset"
        await until(pilot, lambda: not resumed.active, "resumed run", 30)
        assert resumed.phase == "done", resumed.summary()
        assert resumed.skipped == len(written) and resumed.captioned == BIG + 6 - len(written)
        assert all("1girl" in p.with_suffix(".txt").read_text() for p in big)
        assert all(p.with_suffix(".txt").read_text().startswith("1girl, solo") for p in user_captions)
        assert "done:" in notes(app)
        # the Dataset screen re-listed and re-read: new images, new captions, new tag counts
        dataset = app.screen

        def refreshed() -> bool:
            rows = {r.name: r for r in dataset.store.rows}
            return len(rows) == BIG + 6 and all(r.caption is not None and "1girl" in r.caption_text
                                                for name, r in rows.items() if name.startswith("big_"))

        await until(pilot, refreshed, "dataset refresh")
        assert dataset.store.frequency["^_^"] >= BIG and "1girl" in next(
            r for r in dataset.store.rows if r.name == "a04.png").caption_text
        assert any("big_000.png" in row.name for row in dataset.shown)  # the table shows them
        await pilot.press("escape")

    run(tmp_path, scenario)
    print(f"start key -> first progress event: {seen['first_progress_s']:.3f} s")


def test_dry_run_shows_a_sample_next_to_the_current_captions(env):
    tmp_path, img, model = env
    (img / "10_alice" / "a00_bad.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    before = {p: p.read_text() for p in img.glob("*/*.txt")}

    async def scenario(app, pilot, screen):
        await pilot.press("ctrl+o", "tab", "tab")  # model folder -> download -> dry-run sample
        assert screen.focused.id == "dry-sample"
        await type_into(pilot, "3")  # the first 3 images: the bad one fails, 2 samples (--sample 3)
        # ask for CUDA on a machine without an NVIDIA GPU: the provider that really runs, and the warning
        screen.query_one("#opt-providers").focus()
        await pilot.press("enter", "down", "down", "enter")
        assert screen.query_one("#opt-providers").value == "CUDAExecutionProvider,CPUExecutionProvider"
        await pilot.press("ctrl+t")
        runner = caption_runner(app)
        await until(pilot, lambda: runner.run is not None and not runner.run.active, "dry run")
        run = runner.run
        assert run.phase == "done" and run.dry_run and len(run.samples) == 2, run.summary()
        first = run.samples[0]
        assert first.image.endswith("a01.png") and first.current == "alice, 1girl, solo, long hair, smile, outdoors"
        assert first.new.startswith("1girl, solo")
        listing = text_of(screen, "#run-list")
        assert "10_alice/a01.png" in listing and "now:   alice, 1girl" in listing and "would: 1girl, solo" in listing
        assert "1 image(s) failed" in listing and "✗ 10_alice/a00_bad.png: " in listing
        assert "dry run: 2 sample caption(s) of 7 image(s) to caption" in text_of(screen, "#run-status")
        assert "3/3 images" in text_of(screen, "#run-rate")  # the progress is the sample's
        assert "--dry-run --sample 3" in run.command_line and "--providers" in run.command_line
        assert "on CPUExecutionProvider" in text_of(screen, "#run-rate")
        if not Path("/dev/nvidia0").exists():
            assert "no NVIDIA GPU: WD14 runs on the CPU" in text_of(screen, "#run-warning")

    run(tmp_path, scenario)
    assert {p: p.read_text() for p in img.glob("*/*.txt")} == before


def test_model_folder_without_selected_tags_csv_says_what_to_put_where(env):
    tmp_path, img, model = env
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.onnx").write_bytes((model / "model.onnx").read_bytes())

    async def scenario(app, pilot, screen):
        await pilot.press("ctrl+o")
        await paste_into(pilot, str(broken))
        await until(pilot, lambda: screen.model_problem, "check")
        check = text_of(screen, "#model-check")
        assert "no selected_tags.csv" in check and "put the model's selected_tags.csv beside it" in check
        await pilot.press("ctrl+r")
        await until(pilot, lambda: "selected_tags.csv beside it" in notes(app), "notification")
        assert caption_runner(app).run is None  # checked before starting: nothing ran
        await paste_into(pilot, str(tmp_path / "nowhere"))
        await until(pilot, lambda: screen.model_problem and "no such model folder" in screen.model_problem, "missing")
        await type_into(pilot)
        await until(pilot, lambda: screen.model_problem and "no model chosen" in screen.model_problem, "empty")
        # a download only when asked; offline (the suite is) the check says so before anything starts
        await pilot.press("tab", *"Someone/wd-tagger")
        await until(pilot, lambda: screen.model_problem and "offline" in screen.model_problem, "offline")
        assert screen.model_problem.startswith("offline (HF_HUB_OFFLINE is set): cannot download it")
        check = text_of(screen, "#model-check")
        assert "will download" not in check and check.startswith("✗ offline")
        await pilot.press("ctrl+r")
        await until(pilot, lambda: "offline (HF_HUB_OFFLINE is set)" in notes(app), "notification")
        assert caption_runner(app).run is None
        # a repo id downloaded before: offline the run uses that copy
        make_wd14_model(tmp_path / "store" / "wd14" / "Someone__cached")
        await type_into(pilot, *"Someone/cached")
        await until(pilot, lambda: screen.model_ok and "downloaded already" in screen.model_ok, "cached")
        assert "uses " in screen.model_ok and "Someone__cached" in screen.model_ok
        await start_overwriting(pilot)
        runner = caption_runner(app)
        await until(pilot, lambda: runner.run is not None and not runner.run.active, "download run")
        assert "--download Someone/cached" in runner.run.command_line
        assert runner.run.phase == "done", runner.run.summary()
        # the folder found at start checked good and is remembered; a download is not a folder
        assert load_settings(tmp_path / "tui.toml")[0].wd14_model_folder.endswith("Tiny__wd-tiny")

    run(tmp_path, scenario)


def test_bad_values_are_one_line_before_start_and_cli_errors_after(env):
    tmp_path, img, model = env

    async def scenario(app, pilot, screen):
        screen.query_one("#opt-general_threshold").focus()
        await type_into(pilot, *"1.5")
        # checked as typed, in our words: the field is marked and the hint line says why
        wanted = ("General threshold (--general-threshold): must be a number from 0 to 1, got '1.5'; type one, "
                  "or clear it for the default (0.35)")
        assert text_of(screen, "#caption-help").startswith(wanted)
        assert screen.query_one("#opt-general_threshold").has_class("bad")
        assert screen.query_one("#caption-help").has_class("bad")
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert wanted in notes(app) and "not in the range" not in notes(app)
        assert caption_runner(app).run is None
        await type_into(pilot, *"0.5")
        assert not screen.query_one("#caption-help").has_class("bad")
        assert text_of(screen, "#caption-help").startswith("--general-threshold: Write a general tag")
        screen.query_one("#opt-separator").focus()
        await type_into(pilot, "space")  # a blank separator: refused as typed too
        assert text_of(screen, "#caption-help").startswith("Separator (--separator): needs a visible character")
        await type_into(pilot)
        screen.query_one("#opt-tag_replacement").focus()
        await type_into(pilot, *"lonely")  # not 'source,target': refused as typed, by the CLI's own rule
        assert screen.query_one("#opt-tag_replacement").has_class("bad")
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert "Replace tags (--tag-replacement): 'lonely' must be 'source,target'" in notes(app)
        assert caption_runner(app).run is None
        await type_into(pilot)
        # what only the run can find (here: the images gone since the screen opened) is its one line
        for concept in ("10_alice", "5_bob"):
            (img / concept).rename(tmp_path / concept)
        await pilot.press("ctrl+r")
        # the overwrite question counts the Dataset screen's rows (this app does not watch the folder,
        # so they still list the moved images): overwrite, and the run itself finds them gone
        await until(pilot, lambda: app.screen is not screen, "the overwrite question")
        await pilot.press("o")
        runner = caption_runner(app)
        await until(pilot, lambda: runner.run is not None and not runner.run.active, "failed run")
        assert runner.run.phase == "failed" and "no images found" in runner.run.error
        assert "\n" not in runner.run.summary() and "caption run failed" in text_of(screen, "#run-status")
        from textual.widgets import ProgressBar

        bar = screen.query_one("#run-bar", ProgressBar)
        await until(pilot, lambda: bar.total is not None, "the bar settles")
        assert bar.percentage == 0  # a run that failed before any image is not shown as 100% done

    run(tmp_path, scenario)


def test_blip_form_options_and_model_check(env):
    tmp_path, img, model = env
    folder = tmp_path / "blip-half"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "blip", "architectures": [
        "BlipForConditionalGeneration"]}))

    async def scenario(app, pilot, screen):
        await pilot.press("ctrl+b")
        assert screen.captioner == "blip"
        assert screen.query_one("#blip-form").display and not screen.query_one("#wd14-form").display
        form = screen.query_one("#blip-form")
        screen.query_one("#opt-num_beams").focus()
        await type_into(pilot, "3")
        screen.query_one("#opt-prefix").focus()
        await type_into(pilot, *"sks")
        assert form.args() == ["--num-beams", "3", "--prefix", "sks"]
        await pilot.press("ctrl+o")
        await paste_into(pilot, str(folder))
        await until(pilot, lambda: screen.model_problem, "check")
        assert "no weights" in screen.model_problem
        await pilot.press("ctrl+b")
        assert screen.captioner == "wd14" and screen.query_one("#wd14-form").display
        await pilot.press("ctrl+b")  # back to BLIP: the folder typed for it is still there
        assert screen.query_one("#model-folder").value == str(folder)

    run(tmp_path, scenario)


def test_keys_have_ids_and_palette_commands(env):
    tmp_path, img, model = env

    async def scenario(app, pilot, screen):
        from loratui.tui.palette import commands_for

        ids = {b.id for b in CaptionScreen.BINDINGS}
        assert {"caption.start", "caption.cancel", "caption.dry_run", "caption.model"} <= ids
        assert all(b.description for b in CaptionScreen.BINDINGS)
        titles = [c.title for c in commands_for(screen, app)]
        for title in ("caption: start", "caption: cancel", "caption: dry run", "caption: resume",
                      "caption: find models again"):
            assert title in titles
        await pilot.press("ctrl+g")
        assert "no caption run is running" in notes(app)
        from loratui.tui.screens.help import collect_help

        entries = {e.binding_id: e for g in collect_help(screen) for e in g.entries}
        assert entries["caption.start"].keys and "after the caption being written" in entries["caption.cancel"].tooltip
        await pilot.press("question_mark")
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("escape")
        # a text field keeps digits; escape leaves it so that 1-4 switch screens again
        await pilot.press("ctrl+o", "escape", "1")
        assert app.current_mode == "dataset"

    run(tmp_path, scenario)


def test_find_models_in_store_project_and_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LORATUI_MODEL_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    make_wd14_model(tmp_path / "store" / "wd14" / "SmilingWolf__wd-tiny")
    half = tmp_path / "store" / "wd14" / "Half__tagger"
    half.mkdir(parents=True)
    (half / "model.onnx").write_bytes(b"x")
    make_wd14_model(tmp_path / "proj" / "models" / "wd14_tagger" / "mine")
    repo = tmp_path / "hf" / "models--SmilingWolf--wd-hub"
    make_wd14_model(repo / "snapshots" / "abc123")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    blip = tmp_path / "hf" / "models--Salesforce--blip-tiny" / "snapshots" / "r1"
    blip.mkdir(parents=True)
    (blip / "config.json").write_text(json.dumps({"model_type": "blip"}))
    (blip / "model.safetensors").write_bytes((2).to_bytes(8, "little") + b"{}")  # whole (weight_check)
    (blip / "vocab.txt").write_text("a\n")

    wd14 = find_models("wd14", tmp_path / "proj")
    names = [(m.name, m.source, m.problem is None) for m in wd14]
    assert names == [("models/wd14_tagger/mine", "project", True), ("SmilingWolf/wd-hub", "Hugging Face cache", True),
                     ("SmilingWolf/wd-tiny", "model store", True), ("Half/tagger", "model store", False)]
    assert "no selected_tags.csv; put the model's selected_tags.csv beside it" in wd14[-1].problem
    assert "incomplete" in wd14[-1].label
    blips = find_models("blip", tmp_path / "proj")
    assert [(m.name, m.detail, m.problem) for m in blips] == [("Salesforce/blip-tiny", "BLIP", None)]
    assert "13 tags" in check_model("wd14", str(tmp_path / "store" / "wd14" / "SmilingWolf__wd-tiny"))
    assert "will download" in check_model("wd14", "", "SmilingWolf/wd-x")
    with pytest.raises(LoratuiError, match="has model.onnx but no selected_tags.csv"):
        check_model("wd14", str(half))
    with pytest.raises(LoratuiError, match="no such model folder"):
        check_model("wd14", str(tmp_path / "nope"))
    with pytest.raises(LoratuiError, match="does not exist"):
        check_model("blip", str(tmp_path / "nope"))


@pytest.mark.slow
def test_blip_dry_run_with_a_model_found_in_the_hugging_face_cache(env):
    from fixtures.blip_tiny import make_blip

    tmp_path, img, model = env
    snapshot = tmp_path / "hf" / "models--Tiny--blip" / "snapshots" / "r1"
    make_blip(snapshot)

    async def scenario(app, pilot, screen):
        await pilot.press("ctrl+b")
        await until(pilot, lambda: screen.model_ok and "BLIP model" in screen.model_ok, "found and checked")
        assert screen.query_one("#model-folder").value == str(snapshot)
        await pilot.press("ctrl+o", "tab", "tab")
        await type_into(pilot, "1")
        await pilot.press("ctrl+t")
        runner = caption_runner(app)
        await until(pilot, lambda: runner.run is not None and not runner.run.active, "BLIP dry run", 90)
        run = runner.run
        assert run.phase == "done" and run.captioner == "blip" and len(run.samples) == 1, run.summary()
        assert run.provider.startswith("cpu") and run.samples[0].new
        assert "would: " in text_of(screen, "#run-list")

    run(tmp_path, scenario)


def test_up_and_down_move_between_the_fields(env):
    """As on Settings: Down/Up go from field to field; on a choice field they no longer open its
    list (Enter or Space does), so the letters typed next cannot change its value."""
    tmp_path = env[0]

    async def scenario(app, pilot, screen):
        assert screen.focused.id == "captioner"
        await pilot.press("down")
        assert screen.focused.id == "found-models" and not screen.query_one("#captioner").expanded
        await pilot.press("down", "down")
        assert screen.focused.id == "model-download"
        await pilot.press(*"ab", "down")  # typed text stays in its box
        assert screen.query_one("#model-download").value == "ab" and screen.focused.id == "dry-sample"
        await pilot.press("up", "up", "up", "up")
        assert screen.focused.id == "captioner"
        await pilot.press("up")  # the first field: stays
        assert screen.focused.id == "captioner"
        await pilot.press("enter")  # the choices, by Enter
        assert screen.query_one("#captioner").expanded
        await pilot.press("escape")
        screen.query_one("#model-download").value = ""

    run(tmp_path, scenario)


def test_a_check_box_mark_says_its_state_without_colour():
    from textual.app import App

    from loratui.tui.widgets.caption_form import FormCheckbox

    class Boxes(App):
        def compose(self):
            yield FormCheckbox("", False, id="off")
            yield FormCheckbox("", True, id="on")

    async def main():
        app = Boxes()
        async with app.run_test(size=(20, 4)) as pilot:
            await pilot.pause()
            assert [str(app.query_one(f"#{i}").render()).strip() for i in ("off", "on")] == ["▐ ▌", "▐X▌"]
            app.query_one("#off").focus()
            await pilot.press("space")
            assert str(app.query_one("#off").render()).strip() == "▐X▌"

    asyncio.run(main())


def test_the_model_folder_is_remembered_per_captioner_across_restarts(env):
    """A folder that checked good is kept in the user settings (tui.toml) and filled in at the next
    start, while it exists; each captioner keeps its own."""
    tmp_path, img, model = env
    mine = tmp_path / "models" / "wd14"          # ~/models/wd14/ with one tagger below it
    make_wd14_model(mine / "my-tagger")
    blip = tmp_path / "models" / "blip"
    blip.mkdir()

    async def choose(app, pilot, screen):
        await until(pilot, lambda: screen.query_one("#model-folder").value, "the found model filled in")
        await pilot.press("ctrl+o")
        await paste_into(pilot, str(mine))
        await until(pilot, lambda: screen.model_ok and "my-tagger" in screen.model_ok, "checked")
        await pilot.press("escape")

    run(tmp_path, choose)
    settings = load_settings(tmp_path / "tui.toml")[0]
    assert settings.wd14_model_folder == str(mine) and settings.blip_model_folder == ""
    text = (tmp_path / "tui.toml").read_text()
    (tmp_path / "tui.toml").write_text(text.replace('blip_model_folder = ""', f'blip_model_folder = "{blip}"'))

    async def restarted(app, pilot, screen):
        assert screen.query_one("#model-folder").value == str(mine)  # not the model store's tagger
        await until(pilot, lambda: screen.model_ok and "my-tagger" in screen.model_ok, "checked")
        await pilot.press("ctrl+b")
        assert screen.query_one("#model-folder").value == str(blip)
        await pilot.press("ctrl+b")
        assert screen.query_one("#model-folder").value == str(mine)

    app = run(tmp_path, restarted)
    assert not app._notifications or "tui.toml" not in notes(app)  # the empty default loads without a problem

    import shutil

    shutil.rmtree(mine)

    async def gone(app, pilot, screen):
        await until(pilot, lambda: screen.query_one("#model-folder").value, "the found model filled in")
        assert screen.query_one("#model-folder").value == str(model)  # the missing folder is not filled in

    run(tmp_path, gone)


def test_a_start_leaves_the_text_field_and_the_hint_says_esc(env):
    tmp_path = env[0]

    async def scenario(app, pilot, screen):
        await pilot.press("ctrl+o")
        assert "Esc leaves the field, so that 1-4 switch screens" in text_of(screen, "#caption-help")
        await pilot.press("ctrl+o", "tab", "tab")
        await type_into(pilot, "1")
        await pilot.press("ctrl+o", "ctrl+t")
        runner = caption_runner(app)
        await until(pilot, lambda: runner.run is not None and not runner.run.active, "dry run")
        assert screen.focused.id == "run-results"
        await pilot.press("1")  # a screen switch, not a "1" typed into the model folder
        assert app.current_mode == "dataset"
        assert not screen.query_one("#model-folder").value.endswith("1")

    run(tmp_path, scenario)


def test_every_hint_fits_the_hint_line_at_80_columns(env, monkeypatch):
    from rich.text import Text
    from textual.widgets import Checkbox, Input, Select

    tmp_path = env[0]
    monkeypatch.setenv("HOME", str(tmp_path))  # the model store path is shown as ~/store

    async def scenario(app, pilot, screen):
        help_line = screen.query_one("#caption-help")
        width = help_line.content_region.width
        assert width == 78 and help_line.size.height == 3  # a fixed height: the form does not resize under a field
        fields = [w for w in screen.query_one("#caption-form").query("*") if isinstance(w, (Input, Select, Checkbox))]
        assert len(fields) > 30
        for widget in fields:
            hint = screen.hint(widget)
            lines = Text(hint).wrap(app.console, width)
            assert 0 < len(lines) <= 3, (widget.id, hint)
            assert ("Esc leaves the field" in hint) == isinstance(widget, Input), widget.id
        await pilot.press("ctrl+o")
        assert help_line.size.height == 3  # the model folder's hint: all three lines shown

    run(tmp_path, scenario)


def _help_key_shown(app) -> bool:
    """The footer's help key is drawn whole, left of the command palette's key."""
    from textual.widgets._footer import FooterKey

    keys = list(app.screen.query(FooterKey))
    palette = next(k for k in keys if k.has_class("-command-palette"))
    help_key = next(k for k in keys if k.description == "Help")
    return 0 < help_key.region.width and help_key.region.right <= palette.region.x


def test_the_help_key_shows_in_the_footer_at_80_columns(env):
    tmp_path = env[0]

    async def scenario(app, pilot, screen):
        await pilot.pause()
        assert _help_key_shown(app)
        await pilot.press("ctrl+o")  # a text field takes "?": the footer shows f1
        await pilot.pause()
        assert _help_key_shown(app)
        from loratui.tui.screens.help import collect_help

        entries = {e.binding_id for g in collect_help(screen) for e in g.entries}
        assert "caption.model" in entries  # ctrl+o left the footer, not the help

    run(tmp_path, scenario)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_no_model_found_says_where_to_put_one(tmp_path, monkeypatch, size):
    monkeypatch.setenv("HOME", str(tmp_path))  # the store at its usual place: shown as ~/.cache/...
    for name in ("LORATUI_MODEL_STORE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    make_dataset(tmp_path / "proj")

    async def scenario(app, pilot, screen):
        select = screen.query_one("#found-models")
        await until(pilot, lambda: "none found" in str(select.prompt), "the search")
        label = select.query_one("SelectCurrent #label")
        assert label.size.width >= len(str(select.prompt)), (select.prompt, label.size)
        await until(pilot, lambda: screen.model_problem and "no model chosen" in screen.model_problem, "check")
        from rich.text import Text

        check = screen.query_one("#model-check")
        assert "~/.cache/loratui/models/wd14/NAME/" in screen.model_problem
        await pilot.pause()
        needed = Text(text_of(screen, "#model-check")).wrap(app.console, check.content_region.width)
        assert len(needed) <= check.size.height  # the whole message is shown

    run(tmp_path, scenario, size)


def test_a_model_of_the_other_captioner_says_ctrl_b(env):
    tmp_path, img, model = env
    blip = tmp_path / "blip-model"
    blip.mkdir()
    (blip / "config.json").write_text(json.dumps({"model_type": "blip"}))

    async def scenario(app, pilot, screen):
        await pilot.press("ctrl+b", "ctrl+o")
        await paste_into(pilot, str(model))
        await until(pilot, lambda: screen.model_problem, "check")
        assert screen.model_problem == ("this is a WD14 tagger, not a BLIP / BLIP-2 / GIT model: ctrl+b switches "
                                        "to WD14")
        assert "ctrl+b switches to WD14" in text_of(screen, "#model-check")
        await pilot.press("ctrl+b")
        await paste_into(pilot, str(blip))
        await until(pilot, lambda: screen.model_problem and "ctrl+b" in screen.model_problem, "check")
        assert screen.model_problem.endswith("ctrl+b switches to BLIP")

    run(tmp_path, scenario)


def test_the_finished_run_says_how_to_undo_it_in_the_app():
    from loratui.tui.services.caption_runs import CaptionRun
    from loratui.tui.widgets.caption_progress import results_text

    run_ = CaptionRun("wd14", ["python", "-m", "loratui", "caption", "wd14", "img", "--model", "m", "--json-events"],
                      phase="done", finished={"journal": "x", "captioned": 3})
    lines = results_text(run_, Path("img")).plain.splitlines()
    undo = next(line for line in lines if line.startswith("undo"))
    assert undo == "undo: 1 (Dataset) then ctrl+z, or in a shell: loratui tags undo img"
    assert len(undo) <= 78
