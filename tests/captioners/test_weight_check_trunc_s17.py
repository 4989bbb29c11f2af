"""A half-copied model file is named at check time, in one line (hunt h3, finding 2).

A truncated BLIP-2 weight file used to pass the model check (app and `loratui caption`) and fail only
when transformers loaded it ("Error while deserializing header: incomplete metadata ..."), naming no
file. weight_check reads a few header bytes of each weight file (safetensors, torch .bin, a sharded
model's shards); onnx_check does the same for a WD14 tagger's model.onnx.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fixtures.blip_tiny import make_blip, make_blip2  # noqa: E402

from loratui.captioners import blip_load  # noqa: E402
from loratui.captioners.blip import load_blip_captioner  # noqa: E402
from loratui.captioners.model_search import check_model, find_models  # noqa: E402
from loratui.captioners.onnx_check import onnx_problem  # noqa: E402
from loratui.captioners.tiny_models import make_wd14_model, wd14_onnx_bytes  # noqa: E402
from loratui.captioners.weight_check import (safetensors_problem, torch_bin_problem,  # noqa: E402
                                             weights_problem)
from loratui.core.errors import LoratuiError  # noqa: E402

LFS = b"version https://git-lfs.github.com/spec/v1\noid sha256:0123\nsize 123456\n"


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """blip2 (model.safetensors), sharded (3 safetensors shards + index), bin (pytorch_model.bin, zip)."""
    import torch

    root = tmp_path_factory.mktemp("trunc-models")
    blip2 = make_blip2(root / "blip2")
    from transformers import Blip2ForConditionalGeneration

    sharded = root / "sharded"
    shutil.copytree(blip2, sharded, ignore=shutil.ignore_patterns("model.safetensors"))
    Blip2ForConditionalGeneration.from_pretrained(blip2).save_pretrained(sharded, max_shard_size="100KB")
    blip = make_blip(root / "blip")
    binary = root / "bin"
    shutil.copytree(blip, binary, ignore=shutil.ignore_patterns("model.safetensors"))
    from safetensors.torch import load_file

    torch.save(load_file(blip / "model.safetensors"), binary / "pytorch_model.bin")
    return {"blip2": blip2, "sharded": sharded, "bin": binary}


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _cut(path: Path, size: int) -> None:
    with open(path, "r+b") as fh:
        fh.truncate(size)


def _check_fails(folder: Path) -> str:
    """check_model (the app's and CLI's model check) and the loader give the same one line."""
    with pytest.raises(LoratuiError) as checked:
        check_model("blip", str(folder))
    with pytest.raises(LoratuiError) as loaded:
        load_blip_captioner(folder)
    line = str(checked.value)
    assert line == str(loaded.value) and line and "\n" not in line
    return line


def test_whole_models_pass(models):
    shards = sorted(p.name for p in models["sharded"].glob("model-*.safetensors"))
    assert len(shards) == 3
    for name in ("blip2", "sharded", "bin"):
        assert weights_problem(models[name]) is None
        assert check_model("blip", str(models[name])).endswith("model")
    assert load_blip_captioner(models["sharded"], max_length=4).name == "blip2"
    assert load_blip_captioner(models["bin"], max_length=4).name == "blip"


@pytest.mark.parametrize("where", ["half", "one byte short", "inside the header", "in the length", "empty"])
def test_a_cut_short_model_safetensors_is_named(models, tmp_path, where):
    folder = _copy(models["blip2"], tmp_path / "blip2")
    weights = folder / "model.safetensors"
    size = weights.stat().st_size
    _cut(weights, {"half": size // 2, "one byte short": size - 1, "inside the header": 100, "in the length": 5,
                   "empty": 0}[where])
    line = _check_fails(folder)
    assert line.startswith(f"{weights}: ")
    assert ("empty (0 bytes)" if where == "empty" else "cut short at ") in line
    assert line.endswith("copy or download it again")
    if where in ("half", "one byte short"):
        assert f"of {size:,} bytes (an unfinished copy or download)" in line


def test_a_longer_file_garbage_and_an_lfs_pointer_are_named(models, tmp_path):
    folder = _copy(models["blip2"], tmp_path / "blip2")
    weights = folder / "model.safetensors"
    with open(weights, "ab") as fh:
        fh.write(b"\0" * 10)
    assert "10 bytes longer than its header says (damaged)" in _check_fails(folder)
    weights.write_bytes(b"not a safetensors file at all")
    assert "not a safetensors file" in _check_fails(folder)
    weights.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00" + b"[1, 2, 3]       ")
    assert "its header is not safetensors JSON" in _check_fails(folder)
    weights.write_bytes(LFS)
    assert "a Git LFS pointer" in _check_fails(folder) and "git lfs pull" in safetensors_problem(weights)


def test_a_cut_short_shard_is_named_with_its_number(models, tmp_path):
    folder = _copy(models["sharded"], tmp_path / "trunc_shard")
    shard = folder / "model-00002-of-00003.safetensors"
    _cut(shard, 50_000)
    line = _check_fails(folder)
    assert line.startswith(f"{shard}: shard 2 of 3: cut short at 50,000 of ")
    assert line.endswith("(an unfinished copy or download); copy or download it again")
    shard.unlink()  # a missing one keeps its own line
    assert "weight shard model-00002-of-00003.safetensors is missing (1 of 3 shards); the download is " \
           "incomplete" in _check_fails(folder)


def test_an_index_naming_no_strings_is_unreadable(models, tmp_path):
    folder = _copy(models["sharded"], tmp_path / "bad_index")
    (folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"a": 3}}))
    assert "unreadable weight index" in _check_fails(folder)


def test_a_cut_short_pytorch_model_bin_is_named(models, tmp_path):
    import torch

    folder = _copy(models["bin"], tmp_path / "bin")
    weights = folder / "pytorch_model.bin"
    _cut(weights, weights.stat().st_size - 30)  # the zip's end record goes first
    line = _check_fails(folder)
    assert line.startswith(f"{weights}: cut short at ") and "its zip directory is missing" in line
    weights.write_bytes(b"<html>not found</html>")
    assert "not a PyTorch checkpoint" in _check_fails(folder)
    weights.write_bytes(LFS)
    assert "a Git LFS pointer" in _check_fails(folder)
    # torch's legacy (pickle) format has no cheap check: it passes
    legacy = tmp_path / "legacy.bin"
    torch.save({"w": torch.zeros(3)}, legacy, _use_new_zipfile_serialization=False)
    assert torch_bin_problem(legacy) is None


def test_the_cli_names_the_cut_short_shard_and_exits_2(models, tmp_path):
    folder = _copy(models["sharded"], tmp_path / "trunc_shard")
    _cut(folder / "model-00002-of-00003.safetensors", 50_000)
    img = tmp_path / "data" / "1_x"
    img.mkdir(parents=True)
    Image.new("RGB", (32, 32), (200, 10, 10)).save(img / "a.png")
    command = [sys.executable, "-m", "loratui", "caption", "blip", str(tmp_path / "data"), "--model", str(folder),
               "--dry-run"]
    done = subprocess.run(command, env=dict(os.environ, HF_HUB_OFFLINE="1"), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().startswith(f"error: {folder}/model-00002-of-00003.safetensors: shard 2 of 3: cut "
                                          f"short at 50,000 of ")
    assert len(done.stderr.strip().splitlines()) == 1 and "deserializing" not in done.stderr


def test_in_the_hf_cache_the_repo_id_to_fetch_again_is_named(models, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("LORATUI_MODEL_STORE", str(tmp_path / "store"))
    repo = tmp_path / "hub" / "models--Owner--blip2-tiny"
    snapshot = _copy(models["sharded"], repo / "snapshots" / ("a" * 40))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a" * 40)
    _cut(snapshot / "model-00003-of-00003.safetensors", 1000)
    line = _check_fails(snapshot)
    assert line.endswith("download it again: hf download Owner/blip2-tiny model-00003-of-00003.safetensors "
                         "--force-download")
    found = [m for m in find_models("blip") if m.name == "Owner/blip2-tiny"]
    assert len(found) == 1 and found[0].broken and "[broken: " in found[0].label and "shard 3 of 3" in found[0].label


def test_the_found_list_marks_a_cut_short_model_broken(models, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("LORATUI_MODEL_STORE", str(tmp_path / "store"))
    project = tmp_path / "proj"
    whole = _copy(models["blip2"], project / "models" / "whole")
    cut = _copy(models["blip2"], project / "models" / "cut")
    _cut(cut / "model.safetensors", 1000)
    missing = _copy(models["sharded"], project / "models" / "missing")
    (missing / "model-00001-of-00003.safetensors").unlink()
    found = {m.path: m for m in find_models("blip", project)}
    assert found[whole].problem is None
    assert found[cut].broken and "cut short at 1,000" in found[cut].problem
    assert not found[missing].broken and "is missing (1 of 3 shards)" in found[missing].problem


def test_a_damage_the_check_misses_still_says_what_to_do(models, tmp_path, monkeypatch):
    """The loader's own error for a damaged file gets the advice too (a check that let it through)."""
    folder = _copy(models["blip2"], tmp_path / "blip2")
    _cut(folder / "model.safetensors", 200_000)
    monkeypatch.setattr(blip_load, "weights_problem", lambda folder: None)
    with pytest.raises(LoratuiError) as exc:
        load_blip_captioner(folder)
    assert "cannot load the blip2 weights (" in str(exc.value)
    assert str(exc.value).endswith("a weight file is damaged or cut short: copy or download the weights again")


# ---- WD14: model.onnx ---------------------------------------------------------------------------------

def test_every_cut_of_a_tagger_onnx_is_caught(tmp_path):
    """The top-level walk (onnx_check) flags each proper prefix of the tiny tagger: inside a field
    (a length past the end), before the graph (no graph), or right after it (no opset_import)."""
    data = wd14_onnx_bytes()
    path = tmp_path / "model.onnx"
    path.write_bytes(data)
    assert onnx_problem(path) is None
    for size in range(len(data)):
        path.write_bytes(data[:size])
        problem = onnx_problem(path)
        assert problem is not None and problem.endswith("download the tagger's model.onnx again"), size


def test_a_cut_tagger_names_the_repo_in_the_store_and_the_hf_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LORATUI_MODEL_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    stored = make_wd14_model(tmp_path / "store" / "wd14" / "SmilingWolf__wd-tiny")
    onnx = stored / "model.onnx"
    onnx.write_bytes(onnx.read_bytes()[:200])
    with pytest.raises(LoratuiError) as exc:
        check_model("wd14", str(stored))
    assert str(exc.value).startswith(f"{onnx}: truncated (an interrupted download?)")
    assert str(exc.value).endswith("download the tagger's model.onnx again (delete it, then download "
                                   "SmilingWolf/wd-tiny)")
    cached = make_wd14_model(tmp_path / "hub" / "models--SmilingWolf--wd-tiny" / "snapshots" / ("b" * 40))
    (cached / "model.onnx").write_bytes(LFS)
    line = onnx_problem(cached / "model.onnx")
    assert "a Git LFS pointer" in line
    assert line.endswith("hf download SmilingWolf/wd-tiny model.onnx --force-download")
