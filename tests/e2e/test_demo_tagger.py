"""The demo project's toy WD14 tagger: built with the project (offline, without the onnx package),
loaded by the captioner, and appending its tags to the demo's captions adds no `_` variant of a tag
already there (the Dataset screen flagged `'white background' = 'white_background'`)."""

from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner

from loratui import demo
from loratui.captioners.model_search import DEMO_TAGGER_DIR, is_demo_tagger
from loratui.captioners.output import plan
from loratui.captioners.runner import run_captioning
from loratui.captioners.wd14 import WD14Captioner
from loratui.commands.caption_cmd import caption
from loratui.commands.demo_cmd import prepare_project
from loratui.core.dataset import caption_problems


@pytest.fixture(scope="module")
def demo_project(tmp_path_factory):
    root, built = prepare_project(tmp_path_factory.mktemp("demo") / "loratui-demo")
    assert built
    return root


def test_the_demo_tagger_loads_and_captions_an_image(demo_project):
    tagger = demo_project / DEMO_TAGGER_DIR
    assert is_demo_tagger(tagger)
    captioner = WD14Captioner(tagger, providers=["CPUExecutionProvider"])
    image = demo.concept_dir(demo_project) / "000_red_circle.jpg"
    jobs, _ = plan([image])
    result = run_captioning(captioner, jobs, dry_run=True, workers=1)
    assert result.captioned == 1 and not result.failed
    assert result.captions[str(image)] == "no_humans, simple_background, white_background, red_theme"


def test_appending_the_demo_tags_adds_no_spelling_variants(demo_project, tmp_path):
    project = tmp_path / "copy"
    shutil.copytree(demo_project, project)
    res = CliRunner().invoke(caption, ["wd14", str(project), "--model", str(project / DEMO_TAGGER_DIR),
                                       "--mode", "append"])
    assert res.exit_code == 0, res.output
    first = (demo.concept_dir(project) / "000_red_circle.txt").read_text(encoding="utf-8")
    assert first == "red circle, simple_background, white background, no humans, general, no humans, red_theme\n"
    for path in sorted(demo.concept_dir(project).glob("*.txt")):
        repeats = [p for p in caption_problems(path) if p.kind == "duplicate_tags"]
        # the demo's own captions repeat "no humans" on purpose (for `tags dedupe`); nothing else repeats
        assert all("'no humans' x2" in p.message and "=" not in p.message for p in repeats), repeats


def test_an_older_demo_project_gets_the_tagger_when_reused(demo_project, tmp_path):
    project = tmp_path / "old"
    shutil.copytree(demo_project, project)
    shutil.rmtree(project / DEMO_TAGGER_DIR.parts[0])
    root, built = prepare_project(project)
    assert not built and is_demo_tagger(root / DEMO_TAGGER_DIR)
