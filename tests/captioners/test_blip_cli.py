"""`loratui caption blip DIR --model TINY` end to end on a small kohya folder (img/10_cat/*.png)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fixtures.blip_tiny import make_blip, make_blip2, make_git  # noqa: E402

from loratui.commands.caption_cmd import EXIT_SOME_FAILED  # a broken image in the fixture: exit 3
from loratui.captioners.blip import load_blip_captioner  # noqa: E402
from loratui.cli import cli, main  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
COLOURS = [(200, 10, 10), (10, 10, 200), (0, 200, 0), (240, 240, 20), (90, 20, 160)]
FAST = ["--max-length", "8", "--min-length", "2", "--workers", "2", "--batch-size", "2"]


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("blip-cli-models")
    return {"blip": make_blip(root / "blip"), "blip2": make_blip2(root / "blip2"), "git": make_git(root / "git")}


@pytest.fixture
def dataset(tmp_path) -> Path:
    """A kohya train folder: five RGB PNGs, one RGBA PNG and one corrupt file in img/10_cat."""
    concept = tmp_path / "img" / "10_cat"
    concept.mkdir(parents=True)
    for i, colour in enumerate(COLOURS):
        Image.new("RGB", (40 + 8 * i, 32), colour).save(concept / f"{i:02d}.png")
    rgba = Image.new("RGBA", (36, 36), (0, 0, 0, 0))
    rgba.paste((255, 0, 0, 200), (0, 0, 18, 36))
    rgba.save(concept / "05_alpha.png")
    (concept / "06_broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    return tmp_path / "img"


def _expected(model: Path, folder: Path, **options) -> dict[str, str]:
    """What the captioner itself says for each good image (greedy: deterministic)."""
    from loratui.captioners.images import load_image

    captioner = load_blip_captioner(model, max_length=8, min_length=2, **options)
    names = [f"{i:02d}.png" for i in range(len(COLOURS))] + ["05_alpha.png"]
    texts = captioner.run([captioner.prepare(load_image(folder / "10_cat" / n)) for n in names])
    return dict(zip(names, texts))


def _events(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def _invoke(*args: str):
    return CliRunner().invoke(cli, ["caption", "blip", *args], catch_exceptions=False)


@pytest.mark.parametrize("kind", ["blip", "blip2", "git"])
def test_overwrite_writes_a_caption_per_image(models, dataset, kind):
    concept = dataset / "10_cat"
    (concept / "00.txt").write_text("old caption\n", encoding="utf-8")
    result = _invoke(str(dataset), "--model", str(models[kind]), "--json-events", *FAST)
    assert result.exit_code == EXIT_SOME_FAILED, result.output
    events = _events(result.stdout)  # stdout is JSON lines only
    started = events[0]
    assert started["event"] == "started" and started["captioner"] == kind and started["provider"] == "cpu fp32"
    assert started["total"] == 7 and started["batch_size"] == 2
    expected = _expected(models[kind], dataset)
    for name, text in expected.items():
        assert (concept / name).with_suffix(".txt").read_text(encoding="utf-8") == text + "\n"
    assert not (concept / "06_broken.txt").exists()
    finished = events[-1]
    assert finished["event"] == "finished" and finished["captioned"] == 6 and finished["skipped"] == 0
    assert [f["image"] for f in finished["failed"]] == [str(concept / "06_broken.png")]
    captioned = {Path(e["image"]).name: e["caption"] for e in events if e["event"] == "captioned"}
    assert captioned == expected


def test_prefix_postfix_extension_and_options(models, dataset):
    result = _invoke(str(dataset), "--model", str(models["git"]), "--prefix", "ohwx, ", "--postfix", ", best",
                     "--caption-extension", ".caption", "--num-beams", "2", "--repetition-penalty", "1.3", *FAST)
    assert result.exit_code == EXIT_SOME_FAILED, result.output
    expected = _expected(models["git"], dataset, num_beams=2, repetition_penalty=1.3, prefix="ohwx, ",
                         postfix=", best")
    for name, text in expected.items():
        assert text.startswith("ohwx, ") and text.endswith(", best")
        assert (dataset / "10_cat" / name).with_suffix(".caption").read_text(encoding="utf-8") == text + "\n"
    assert not list((dataset / "10_cat").glob("*.txt"))
    assert "6 captioned, 0 skipped, 1 failed" in result.output  # plain summary (not a TTY)


def test_skip_mode_resumes(models, dataset):
    concept = dataset / "10_cat"
    (concept / "01.txt").write_text("my own words\n", encoding="utf-8")
    result = _invoke(str(dataset), "--model", str(models["blip"]), "--mode", "skip", "--json-events", *FAST)
    assert result.exit_code == EXIT_SOME_FAILED, result.output
    events = _events(result.stdout)
    assert events[0]["skipped"] == 1 and events[-1]["skipped"] == 1 and events[-1]["captioned"] == 5
    assert (concept / "01.txt").read_text(encoding="utf-8") == "my own words\n"
    expected = _expected(models["blip"], dataset)
    assert (concept / "00.txt").read_text(encoding="utf-8") == expected["00.png"] + "\n"


def test_append_mode_merges_once(models, dataset):
    concept = dataset / "10_cat"
    (concept / "00.txt").write_text("1girl, solo\n", encoding="utf-8")
    args = [str(dataset), "--model", str(models["blip"]), "--mode", "append", *FAST]
    assert _invoke(*args).exit_code == EXIT_SOME_FAILED
    text = _expected(models["blip"], dataset)["00.png"]
    assert (concept / "00.txt").read_text(encoding="utf-8") == f"1girl, solo, {text}\n"
    assert _invoke(*args).exit_code == EXIT_SOME_FAILED  # a second append adds nothing new
    assert (concept / "00.txt").read_text(encoding="utf-8") == f"1girl, solo, {text}\n"


def test_dry_run_writes_nothing(models, dataset):
    result = _invoke(str(dataset), "--model", str(models["git"]), "--dry-run", *FAST)
    assert result.exit_code == EXIT_SOME_FAILED, result.output
    assert not list((dataset / "10_cat").glob("*.txt"))
    expected = _expected(models["git"], dataset)
    assert f"would write {dataset / '10_cat' / '00.txt'}: {expected['00.png']}" in result.output


@pytest.mark.parametrize("args,message", [
    (["--model", "{missing}"], "does not exist"),
    (["--model", "{git}", "--top-p", "0.9", "--num-beams", "3"], "not both"),
    (["--model", "{git}", "--device", "cpu", "--precision", "fp16"], "fp16 runs on a GPU only"),
    (["--model", "{git}", "--prefix", "trig\n"], "--prefix 'trig\\n': holds a line break"),
    (["--model", "{git}", "--postfix", "a\r\nb"], "--postfix"),
    (["--model", "{git}", "--min-length", "50", "--max-length", "10"], "--min-length 50 is more than --max-length"),
    (["--model", "{git}", "--caption-extension", ".jpg"], "is an image extension"),
])
def test_bad_options_are_one_error_line(models, dataset, capsys, args, message):
    args = [a.format(missing=dataset / "no-model", git=models["git"]) for a in args]
    with pytest.raises(SystemExit) as exit_info:
        main(["caption", "blip", str(dataset), *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]


def test_real_subprocess(models, dataset):
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    command = [sys.executable, "-m", "loratui", "caption", "blip", str(dataset), "--model", str(models["blip2"]),
               "--json-events", *FAST]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == EXIT_SOME_FAILED, done.stderr
    events = _events(done.stdout)
    assert events[0]["captioner"] == "blip2" and events[-1]["event"] == "finished"
    assert events[-1]["captioned"] == 6 and len(events[-1]["failed"]) == 1
    expected = _expected(models["blip2"], dataset)
    for name, text in expected.items():
        assert (dataset / "10_cat" / name).with_suffix(".txt").read_text(encoding="utf-8") == text + "\n"
    # a bad model is one line on stderr and exit 2, no traceback
    bad = subprocess.run(command[:5] + [str(dataset), "--model", str(dataset / "nothing")], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.strip().startswith("error: ") and "Traceback" not in bad.stderr
