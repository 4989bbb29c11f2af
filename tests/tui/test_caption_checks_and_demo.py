"""The Caption screen (Pilot, 80x24): a broken model.onnx is named as broken and never remembered, the
dry-run sample is checked as typed (0 refused, empty: all), and the demo project's toy tagger is
chosen, labelled as a toy, and not remembered as the user's tagger."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fixtures.pilot_wait import until
from fixtures.tui_dataset import make_dataset
from fixtures.wd14_tiny import make_wd14_model

from loratui.core.dataset import locate_dataset
from loratui.tui.app import LoratuiApp
from loratui.tui.screens.caption import CaptionScreen
from loratui.tui.services.caption_runs import caption_runner
from loratui.tui.services.user_settings import load_settings


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("LORATUI_MODEL_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    return tmp_path


def run(tmp_path: Path, project: Path, scenario) -> LoratuiApp:
    app = LoratuiApp(locate_dataset(project), settings_file=tmp_path / "tui.toml", keymap_file=tmp_path / "k.toml",
                     watch=False)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            app.add_mode("caption2", CaptionScreen)
            await app.switch_mode("caption2")
            await until(pilot, lambda: app.screen.model_ok or app.screen.model_problem, "model check")
            await scenario(app, pilot, app.screen)
            await until(pilot, lambda: not caption_runner(app).busy, "the run to end", 30)

    asyncio.run(main())
    return app


def text_of(screen, selector: str) -> str:
    return str(screen.query_one(selector).render())


def notes(app) -> str:
    return " | ".join(str(n.message) for n in app._notifications)


async def paste_into(pilot, text: str) -> None:
    from textual import events

    await pilot.press("ctrl+u")
    pilot.app.focused.post_message(events.Paste(text))
    await pilot.pause()


@pytest.mark.parametrize("content", ["garbage", "zero", "truncated"])
def test_a_broken_model_onnx_is_named_and_never_remembered(env, content):
    good = make_wd14_model(env / "good")
    broken = env / "store" / "wd14" / "broken"
    broken.mkdir(parents=True)
    data = (good / "model.onnx").read_bytes()
    (broken / "model.onnx").write_bytes({"garbage": b"not a model\n" * 40, "zero": b"",
                                         "truncated": data[: len(data) - 100]}[content])
    (broken / "selected_tags.csv").write_bytes((good / "selected_tags.csv").read_bytes())
    project = make_dataset(env / "proj")

    async def scenario(app, pilot, screen):
        # the only model found is broken: nothing is filled in, the list says why
        await until(pilot, lambda: screen.found.get("wd14") is not None, "models found")
        [found] = screen.found["wd14"]
        assert found.broken and "[broken: " in found.label
        await pilot.press("ctrl+o")
        await paste_into(pilot, str(broken))
        await until(pilot, lambda: screen.model_problem, "check")
        check = text_of(screen, "#model-check")
        assert check.startswith("✗ ") and "model.onnx" in check and "download the tagger's model.onnx again" in check
        await pilot.press("ctrl+r")
        await until(pilot, lambda: "model.onnx again" in notes(app), "the notice")
        assert caption_runner(app).run is None  # refused before anything started

    run(env, project, scenario)
    assert load_settings(env / "tui.toml")[0].wd14_model_folder == ""


def test_the_dry_run_sample_is_checked_as_typed(env):
    make_wd14_model(env / "store" / "wd14" / "Tiny__wd-tiny")
    project = make_dataset(env / "proj")

    async def scenario(app, pilot, screen):
        sample = screen.query_one("#dry-sample")
        sample.focus()
        await pilot.press("ctrl+u", "0")
        wanted = "Dry-run sample: 0 would caption nothing: type how many images to show (1 or more), or clear it for all"
        assert text_of(screen, "#caption-help").startswith(wanted) and sample.has_class("bad")
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert wanted in notes(app) and caption_runner(app).run is None
        await pilot.press("ctrl+u")  # empty: every image, no --sample
        assert not sample.has_class("bad") and "empty for all" in text_of(screen, "#caption-help")
        await pilot.press("ctrl+t")
        runner = caption_runner(app)
        await until(pilot, lambda: runner.run is not None and not runner.run.active, "dry run")
        assert runner.run.phase == "done", runner.run.summary()
        assert "--sample" not in runner.run.command and len(runner.run.samples) == 6 == runner.run.to_caption

    run(env, project, scenario)


def test_the_demo_project_chooses_its_toy_tagger_and_does_not_remember_it(env):
    from loratui import demo

    project = env / "demo"
    demo.make_images(demo.concept_dir(project))
    tagger = demo.add_demo_tagger(project)
    remembered = make_wd14_model(env / "real-tagger")  # the user's own tagger, remembered from before
    (env / "tui.toml").write_text(f'wd14_model_folder = "{remembered}"\n', encoding="utf-8")

    async def scenario(app, pilot, screen):
        assert screen.query_one("#model-folder").value == str(tagger)
        await until(pilot, lambda: screen.model_ok, "check")
        assert "demo tagger: toy weights, tags guessed from the average colour" in text_of(screen, "#model-check")
        await pilot.press("ctrl+t")
        runner = caption_runner(app)
        await until(pilot, lambda: runner.run is not None and not runner.run.active, "dry run")
        assert runner.run.phase == "done", runner.run.summary()
        first = runner.run.samples[0]
        assert first.image.endswith("000_red_circle.jpg")
        assert first.new == "no_humans, simple_background, white_background, red_theme"

    run(env, project, scenario)
    assert load_settings(env / "tui.toml")[0].wd14_model_folder == str(remembered)  # kept, not the toy
