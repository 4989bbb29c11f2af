"""Caption screen findings of the s10 user hunt (Pilot, real child runs of the tiny WD14 tagger):
the overwrite question counts the run's own caption files on disk (extension, All subfolders), the
free-text options are checked with the CLI's rules as they are typed, and the focused field stays in
view at 80x24 and 120x40."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fixtures.pilot_wait import until
from fixtures.tui_dataset import make_dataset
from fixtures.wd14_tiny import make_wd14_model
from PIL import Image

from loratui.core.dataset import locate_dataset
from loratui.tui.app import LoratuiApp
from loratui.tui.screens.caption import CaptionScreen
from loratui.tui.screens.config_dialogs import ChoiceDialog
from loratui.tui.services.caption_runs import caption_runner


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A tiny tagger in a private model store (found and filled in), an empty Hugging Face cache."""
    monkeypatch.setenv("LORATUI_MODEL_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    return make_wd14_model(tmp_path / "store" / "wd14" / "Tiny__wd-tiny")


def hand_captioned_project(root: Path) -> Path:
    """The hunt's repro: img/3_x/c1..c3.png, each with its own hand-written .caption, no .txt."""
    folder = root / "img" / "3_x"
    folder.mkdir(parents=True)
    for i in (1, 2, 3):
        Image.new("RGB", (64, 64), (i * 60, 30, 90)).save(folder / f"c{i}.png")
        (folder / f"c{i}.caption").write_text(f"hand written {i}\n", encoding="utf-8")
    return root


def run_app(tmp_path: Path, project: Path, scenario, size=(80, 24)) -> LoratuiApp:
    app = LoratuiApp(locate_dataset(project), settings_file=tmp_path / "tui.toml", keymap_file=tmp_path / "k.toml",
                     watch=False)

    async def main():
        async with app.run_test(size=size) as pilot:
            app.add_mode("caption2", CaptionScreen)
            await app.switch_mode("caption2")
            await until(pilot, lambda: app.screen.model_ok, "model check")
            await scenario(app, pilot, app.screen)
            await until(pilot, lambda: not caption_runner(app).busy, "the run to end", 30)

    asyncio.run(main())
    return app


async def set_field(pilot, widget_id: str, text: str) -> None:
    pilot.app.screen.query_one(f"#{widget_id}").focus()
    await pilot.press("ctrl+u", *text) if text else await pilot.press("ctrl+u")


def help_text(screen) -> str:
    return str(screen.query_one("#caption-help").render())


def notes(app) -> str:
    return " | ".join(str(n.message) for n in app._notifications)


# ---- 1. the overwrite question follows the run's extension, subfolders and folder ------------------

def test_hand_written_caption_files_are_asked_about_before_an_overwrite(tmp_path, store):
    project = hand_captioned_project(tmp_path / "cap")
    captions = sorted((project / "img" / "3_x").glob("*.caption"))
    before = {p: p.read_bytes() for p in captions}

    async def scenario(app, pilot, screen):
        await set_field(pilot, "opt-caption_extension", ".caption")
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog), "the overwrite question")
        assert "3 of 3 images have a caption already (.caption files)" in app.screen.body
        await pilot.press("escape")  # cancel: nothing runs, nothing is written
        await pilot.pause(0.3)
        assert caption_runner(app).run is None
        # an extension no image has a caption in: nothing to replace, so it runs without asking
        await set_field(pilot, "opt-caption_extension", ".tags")
        await pilot.press("ctrl+r")
        runner = caption_runner(app)
        await until(pilot, lambda: runner.run is not None, "the run starts at once")
        assert not isinstance(app.screen, ChoiceDialog)
        await until(pilot, lambda: not runner.run.active, "the run ends", 30)
        assert runner.run.phase == "done" and runner.run.captioned == 3, runner.run.summary()

    run_app(tmp_path, project, scenario)
    assert {p: p.read_bytes() for p in captions} == before
    assert len(list((project / "img" / "3_x").glob("*.tags"))) == 3


def test_the_count_follows_the_extension_and_all_subfolders(tmp_path, store):
    project = make_dataset(tmp_path / "proj")  # 6 images in 10_alice and 5_bob, 5 with a .txt
    img = project / "img"
    (img / "extra").mkdir()  # not a concept folder: only All subfolders captions it
    Image.new("RGB", (64, 64), (9, 9, 9)).save(img / "extra" / "e1.png")
    hand = {img / "extra" / "e1.caption": b"hand e1\n", img / "10_alice" / "a01.caption": b"hand a01\n"}
    for path, data in hand.items():
        path.write_bytes(data)

    async def scenario(app, pilot, screen):
        await set_field(pilot, "opt-caption_extension", ".caption")
        screen.query_one("#opt-recursive").value = True
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog), "the overwrite question")
        # the .txt captions do not count: 2 images have a .caption, of the 7 the run looks at
        assert "2 of 7 images have a caption already (.caption files, all subfolders)" in app.screen.body
        await pilot.press("s")  # skip those: the hand-written ones stay
        runner = caption_runner(app)
        await until(pilot, lambda: runner.run is not None and not runner.run.active, "the run", 30)
        assert runner.run.phase == "done" and runner.run.captioned == 5 and runner.run.skipped == 2

    run_app(tmp_path, project, scenario)
    assert {path: path.read_bytes() for path in hand} == hand
    assert len(list(img.glob("**/*.caption"))) == 7


# ---- 2. free-text options: the CLI's rules, as typed and before a run -------------------------------

def test_tag_replacement_and_other_free_text_rules_are_checked_as_typed(tmp_path, store):
    project = make_dataset(tmp_path / "proj")

    async def scenario(app, pilot, screen):
        box = screen.query_one("#opt-tag_replacement")
        for bad, item in (("onlyone", "'onlyone'"), ("a,b;c", "'c'"), ("a,b,c", "'a,b,c'")):
            await set_field(pilot, "opt-tag_replacement", bad)
            assert box.has_class("bad"), bad
            assert help_text(screen).startswith(f"Replace tags (--tag-replacement): {item} must be 'source,target'")
        await pilot.press("ctrl+r")  # refused before anything starts, with the same line
        await pilot.pause(0.3)
        assert "Replace tags (--tag-replacement): 'a,b,c' must be 'source,target'" in notes(app)
        assert caption_runner(app).run is None and screen.focused is box
        await set_field(pilot, "opt-tag_replacement", "a,b;c\\,d,e")  # escaped commas are fine
        assert not box.has_class("bad") and not screen.query_one("#caption-help").has_class("bad")
        await set_field(pilot, "opt-tag_replacement", "")
        # BLIP: --device as written, and --min-length above --max-length
        await pilot.press("ctrl+b")
        await set_field(pilot, "opt-device", "gpu")
        assert screen.query_one("#opt-device").has_class("bad")
        assert help_text(screen).startswith("Device (--device): 'gpu': expected auto, cpu, cuda or cuda:N")
        await set_field(pilot, "opt-device", "cuda:1")
        assert not screen.query_one("#opt-device").has_class("bad")
        await set_field(pilot, "opt-min_length", "80")  # the default max is 75
        assert screen.query_one("#opt-min_length").has_class("bad")
        assert "--min-length 80 is more than --max-length 75" in help_text(screen)
        await set_field(pilot, "opt-max_length", "90")
        assert not screen.query_one("#opt-min_length").has_class("bad")

    run_app(tmp_path, project, scenario)


# ---- 3. the focused field stays in view --------------------------------------------------------------

def _in_view(screen) -> bool:
    form = screen.query_one("#caption-form")
    field = screen.focused.region
    return field.height > 0 and form.scrollable_content_region.contains_region(field)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_down_through_the_form_keeps_the_focused_field_on_screen(tmp_path, store, size):
    project = make_dataset(tmp_path / "proj")

    async def scenario(app, pilot, screen):
        await pilot.press("ctrl+o")
        seen, heights = [], set()
        for _ in range(22):
            await pilot.press("down")
            await pilot.pause()
            seen.append(screen.focused.id)
            heights.add(screen.query_one("#caption-form").size.height)
            assert _in_view(screen), (screen.focused.id, screen.focused.region)
            assert screen.focused.id.removeprefix("opt-").replace("_", "-") in help_text(screen) \
                or not screen.focused.id.startswith("opt-")
        assert "opt-tag_replacement" in seen and seen[-1] == "opt-force"
        assert len(heights) == 1  # a longer or shorter hint no longer resizes the form under the field

    run_app(tmp_path, project, scenario, size=size)
