"""Caption fixes from a user hunt: append merges `_`/case variants, a broken model.onnx is named before
onnxruntime loads it, --sample makes a dry run of N images, --model with --download is refused, and
the package's hand-written ONNX tagger is valid ONNX."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from loratui.captioners.model_search import check_model, find_models
from loratui.captioners.onnx_check import onnx_problem
from loratui.captioners.output import merge, same_tag_key
from loratui.captioners.tiny_models import DEMO_TAGS, TAGS, expected_probs, make_wd14_model, wd14_onnx_bytes
from loratui.captioners.wd14 import WD14Captioner
from loratui.cli import main
from loratui.commands.caption_cmd import caption
from loratui.core.dataset import caption_problems
from loratui.core.errors import LoratuiError


# ---- 1. append: `white background` + `white_background` is one tag ----------------------------------

def test_merge_treats_underscore_and_case_variants_as_the_same_tag():
    existing = ["red circle", "White Background", "no humans", "^_^"]
    new = ["white_background", "no_humans", "NO HUMANS", "^-^", "^_^", "red_theme", "red theme"]
    assert merge(existing, new) == ["red circle", "White Background", "no humans", "^_^", "^-^", "red_theme"]
    assert same_tag_key("^_^") != same_tag_key("^ ^")  # short kaomoji keep their underscore


def test_a_merged_caption_has_no_repeats_the_dataset_scan_would_flag(tmp_path):
    """merge's rule and the scan's (core.dataset's caption check) agree: nothing it adds is flagged."""
    existing = ["red circle", "simple_background", "white background", "no humans", "Long Hair"]
    new = ["no_humans", "simple background", "white_background", "long_hair", "LONG HAIR", "solo"]
    line = ", ".join(merge(existing, new))
    problems = caption_problems(tmp_path / "a.txt", (line + "\n").encode())
    assert not [p for p in problems if p.kind == "duplicate_tags"], [p.message for p in problems]
    assert line == "red circle, simple_background, white background, no humans, Long Hair, solo"


def test_cli_append_keeps_the_existing_spelling(tmp_path, wd14_v3):
    folder = tmp_path / "train" / "5_x"
    folder.mkdir(parents=True)
    Image.new("RGB", (64, 64), (255, 255, 255)).save(folder / "w.png")  # white: white_background fires
    (folder / "w.txt").write_text("mine, white background, Solo\n", encoding="utf-8")
    res = CliRunner().invoke(caption, ["wd14", str(tmp_path / "train"), "--model", str(wd14_v3), "--mode", "append"])
    assert res.exit_code == 0, res.output
    assert (folder / "w.txt").read_text(encoding="utf-8") == "mine, white background, Solo, 1girl, ^_^\n"


# ---- 2. a broken model.onnx -----------------------------------------------------------------------

@pytest.fixture
def broken_models(tmp_path, wd14_v3):
    good = (wd14_v3 / "model.onnx").read_bytes()
    kinds = {"garbage": b"this is not a model, just text\n" * 20, "zero": b"", "truncated": good[: len(good) // 2],
             "html": b"<!DOCTYPE html><html><body>404</body></html>", "random": bytes(range(256)) * 8}
    folders = {}
    for name, data in kinds.items():
        folder = tmp_path / "store" / "wd14" / name
        folder.mkdir(parents=True)
        (folder / "model.onnx").write_bytes(data)
        (folder / "selected_tags.csv").write_bytes((wd14_v3 / "selected_tags.csv").read_bytes())
        folders[name] = folder
    return folders


def test_the_onnx_check_names_garbage_empty_and_truncated_files(broken_models):
    said = {name: onnx_problem(folder / "model.onnx") for name, folder in broken_models.items()}
    assert "empty (0 bytes)" in said["zero"]
    assert "truncated (an interrupted download?)" in said["truncated"]
    for name in ("garbage", "html", "random"):
        assert "not an ONNX model" in said[name], said[name]
    for line in said.values():
        assert line.endswith("download the tagger's model.onnx again") and "\n" not in line


def test_real_onnx_files_pass_the_check(tmp_path, wd14_v3, wd14_v2):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    assert onnx_problem(wd14_v3 / "model.onnx") is None and onnx_problem(wd14_v2 / "model.onnx") is None
    # a model the onnx package wrote, with doc string and metadata (fields the tiny one lacks)
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    model = helper.make_model(graph, producer_name="test", doc_string="d" * 300)
    helper.set_model_props(model, {"author": "me", "tags": "a,b"})
    onnx.save(model, str(tmp_path / "other.onnx"))
    assert onnx_problem(tmp_path / "other.onnx") is None


def test_a_broken_model_fails_the_check_and_is_listed_as_broken(tmp_path, monkeypatch, broken_models):
    monkeypatch.setenv("LORATUI_MODEL_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    for name, folder in broken_models.items():
        with pytest.raises(LoratuiError) as err:
            check_model("wd14", str(folder))
        assert str(err.value).startswith(f"{folder / 'model.onnx'}: ")
    found = find_models("wd14")
    assert {m.name for m in found} == set(broken_models)
    assert all(m.problem and m.broken and "[broken: " in m.label for m in found)


def test_the_cli_names_a_broken_model_before_onnxruntime_does(tmp_path, broken_models, capsys):
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    with pytest.raises(LoratuiError, match="not an ONNX model"):
        WD14Captioner(broken_models["garbage"])
    with pytest.raises(SystemExit) as exit_:
        main(["caption", "wd14", str(tmp_path), "--model", str(broken_models["truncated"])])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "truncated" in err[0] and "INVALID_PROTOBUF" not in err[0]


# ---- 3. --sample: a dry run of the first N images ---------------------------------------------------

def _images(folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        Image.new("RGB", (32, 32), (10 * i, 0, 200)).save(folder / f"{i:02d}.png")


def test_sample_makes_the_dry_run_and_its_progress_n_images(tmp_path, wd14_v3):
    _images(tmp_path / "train" / "1_x", 12)
    res = CliRunner().invoke(caption, ["wd14", str(tmp_path / "train"), "--model", str(wd14_v3), "--dry-run",
                                       "--sample", "3", "--batch-size", "2", "--json-events"])
    assert res.exit_code == 0, res.output
    events = [json.loads(line) for line in res.output.splitlines()]
    started = events[0]
    assert (started["total"], started["to_caption"], started["sample_of"]) == (12, 3, 12)
    assert {e["total"] for e in events if e["event"] == "progress"} == {3}
    assert [e["done"] for e in events if e["event"] == "progress"][-1] == 3
    assert len([e for e in events if e["event"] == "captioned"]) == 3 and events[-1]["captioned"] == 3
    assert not list((tmp_path / "train" / "1_x").glob("*.txt"))
    text = CliRunner().invoke(caption, ["wd14", str(tmp_path / "train"), "--model", str(wd14_v3), "--dry-run",
                                        "--sample", "2"])
    assert "2 image(s) to caption (a sample of 12), 0 skipped (dry run)" in text.output


@pytest.mark.parametrize("args, said", [
    (["--sample", "2"], "--sample 2: only with --dry-run"),
    (["--dry-run", "--sample", "0"], "'--sample': 0 is not in the range x>=1"),
    (["--download", "Someone/tagger"], "both given: give one of them"),
])
def test_refused_option_combinations_are_one_line_and_exit_2(tmp_path, wd14_v3, capsys, args, said):
    _images(tmp_path / "train" / "1_x", 1)
    with pytest.raises(SystemExit) as exit_:
        main(["caption", "wd14", str(tmp_path / "train"), "--model", str(wd14_v3), *args])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and said in err[0], err
    assert not list((tmp_path / "train" / "1_x").glob("*.txt"))


# ---- the hand-written ONNX ------------------------------------------------------------------------

@pytest.mark.parametrize("tags", [TAGS, DEMO_TAGS], ids=["tests", "demo"])
@pytest.mark.parametrize("dynamic", [True, False], ids=["v3", "v2"])
def test_the_hand_written_tagger_is_valid_onnx_and_computes_the_mean_colour_model(tags, dynamic):
    onnx = pytest.importorskip("onnx")
    import onnxruntime as ort

    data = wd14_onnx_bytes(tags, dynamic_batch=dynamic, size=32)
    onnx.checker.check_model(onnx.load_from_string(data), full_check=True)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    batch = 2 if dynamic else 1
    x = np.random.default_rng(0).uniform(0, 255, (batch, 32, 32, 3)).astype(np.float32)
    out = session.run(None, {"input_1:0": x})[0]
    for row, image in zip(out, x):
        assert np.allclose(row, expected_probs(image.mean(axis=(0, 1)) / 255, tags), atol=1e-5)


def test_make_wd14_model_writes_a_folder_the_check_accepts(tmp_path):
    folder = make_wd14_model(tmp_path / "m", tags=DEMO_TAGS)
    assert check_model("wd14", str(folder)).endswith(f"({len(DEMO_TAGS)} tags)")
