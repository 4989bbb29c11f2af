"""What `train` would refuse, found from headers before any model loads (core/config/preflight.py,
model_check.py, prompts.py) and the dataset scan's named oddities (issue 11)."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import pytest

from fixtures.bad_inputs import (
    LORA_KEYS, REFINER_KEYS, SD1_KEYS, SD2_KEYS, SDXL_KEYS, make_project, write_png, write_safetensors,
    write_torch_zip,
)
from loratui.core.config import check_paths, detect_model_family, load_config, output_dir_problem, resume_state_problem
from loratui.core.config.prompts import parse_prompts
from loratui.core.dataset import scan_dataset
from loratui.core.errors import LoratuiError

ROOT = os.geteuid() == 0 if hasattr(os, "geteuid") else False


@pytest.mark.parametrize("keys, family", [(SD1_KEYS, "sd1"), (SD2_KEYS, "sd2"), (SDXL_KEYS, "sdxl")])
def test_the_family_comes_from_the_safetensors_header(tmp_path, keys, family):
    assert detect_model_family(write_safetensors(tmp_path / "m.safetensors", keys)) == family


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("make, message", [
    (lambda p: _bytes(p, os.urandom(3000)), "not a .safetensors file"),
    (lambda p: write_safetensors(p, SD1_KEYS, tensor_bytes=4096, cut=1000), "truncated"),
    (lambda p: _bytes(p, b""), "too short for a header"),
    (lambda p: write_safetensors(p, LORA_KEYS), "is a LoRA"),
    (lambda p: write_safetensors(p, REFINER_KEYS), "SDXL refiner"),
    (lambda p: write_safetensors(p, ["foo.bar"]), "not a Stable Diffusion checkpoint"),
])
def test_a_bad_safetensors_base_model_is_one_line_naming_it(tmp_path, make, message):
    path = make(tmp_path / "m.safetensors")
    with pytest.raises(LoratuiError, match=message) as exc:
        detect_model_family(path)
    assert str(path) in str(exc.value) and "\n" not in str(exc.value)


def test_checkpoint_files_are_read_without_torch(tmp_path):
    assert detect_model_family(write_torch_zip(tmp_path / "a.ckpt")) == "sd1"
    with pytest.raises(LoratuiError, match="truncated or damaged"):
        detect_model_family(write_torch_zip(tmp_path / "b.ckpt", cut=40))
    (tmp_path / "c.ckpt").write_bytes(b"hello world, not a pickle")
    with pytest.raises(LoratuiError, match="not a torch checkpoint"):
        detect_model_family(tmp_path / "c.ckpt")


def test_other_model_paths(tmp_path):
    (tmp_path / "m.txt").write_text("x")
    with pytest.raises(LoratuiError, match="unsupported model file type '.txt'"):
        detect_model_family(tmp_path / "m.txt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(LoratuiError, match="not a diffusers model folder"):
        detect_model_family(tmp_path / "empty")
    folder = tmp_path / "diffusers"
    (folder / "unet").mkdir(parents=True)
    (folder / "unet" / "config.json").write_text('{"cross_attention_dim": 768}')
    with pytest.raises(LoratuiError, match="unet: no weights file"):
        detect_model_family(folder)


def test_config_check_names_a_family_mismatch(tmp_path):
    config = make_project(tmp_path, model_keys=SDXL_KEYS, extra='[model]\nmodel_family = "sd1"')
    problems = check_paths(load_config(config))
    assert problems == [f"model.model_family is 'sd1' but {tmp_path / 'model.safetensors'} is an SDXL model; "
                        "set model_family = \"auto\" or \"sdxl\""]


def test_output_dir_problems(tmp_path):
    (tmp_path / "file").write_text("x")
    assert "is a file, not a folder" in output_dir_problem(tmp_path / "file")
    assert "cannot be created: " in output_dir_problem(tmp_path / "file" / "sub")
    assert output_dir_problem(tmp_path / "new" / "deeper") is None
    assert not (tmp_path / "new").exists()  # checking creates nothing
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


@pytest.mark.skipif(ROOT, reason="root writes into read-only folders")
def test_a_read_only_output_dir(tmp_path):
    (tmp_path / "ro").mkdir()
    os.chmod(tmp_path / "ro", 0o555)
    try:
        assert "is not writable (permission denied)" in output_dir_problem(tmp_path / "ro")
        assert "cannot be created" in output_dir_problem(tmp_path / "ro" / "sub")
    finally:
        os.chmod(tmp_path / "ro", 0o755)


@pytest.mark.parametrize("text, message", [
    (b"a cat --w abc\n", r"p.txt:1: --w needs a value"),
    (b"ok\na cat --w 100000\n", r"p.txt:2: --w 100000 is too large"),
    (b"", "has no prompts"),
    (b"# only a comment\n", "has no prompts"),
    (b"a cat\n\xff\xfe dog\n", r"p.txt, line 2: not UTF-8"),
    (b"a cat --ss magic\n", "unknown sampler"),
    (b"a cat --d 99999999999999999999999\n", "too large for a seed"),
])
def test_sample_prompt_files(tmp_path, text, message):
    (tmp_path / "p.txt").write_bytes(text)
    with pytest.raises(LoratuiError, match=message):
        parse_prompts(tmp_path / "p.txt")


def _state(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "state.json").write_text('{"format": 1, "step": 3, "epoch": 1, "batches_done": 3, "losses": []}')
    write_safetensors(folder / "lora.safetensors", LORA_KEYS)
    write_torch_zip(folder / "optimizer.pt")
    write_torch_zip(folder / "rng.pt")
    return folder


def test_resume_states(tmp_path):
    good = _state(tmp_path / "a-state")
    assert resume_state_problem(good) is None
    bad = _state(tmp_path / "b-state")
    data = (bad / "optimizer.pt").read_bytes()
    (bad / "optimizer.pt").write_bytes(data[: len(data) // 2])
    assert "optimizer.pt is truncated or damaged" in resume_state_problem(bad)
    json_cut = _state(tmp_path / "c-state")
    (json_cut / "state.json").write_text('{"format": 1, "st')
    assert "state.json is truncated or damaged (not JSON)" in resume_state_problem(json_cut)
    lora_cut = _state(tmp_path / "f-state")
    data = (lora_cut / "lora.safetensors").read_bytes()
    (lora_cut / "lora.safetensors").write_bytes(data[: len(data) // 2])
    problem = resume_state_problem(lora_cut)
    assert "lora.safetensors is truncated or damaged" in problem and "download" not in problem
    assert problem.endswith("use an earlier state or start again")
    # a kill between the two renames: FOLDER is gone, FOLDER.tmp is complete -> the engine uses it
    _state(tmp_path / "d-state.tmp")
    assert resume_state_problem(tmp_path / "d-state") is None
    assert "does not exist" in resume_state_problem(tmp_path / "e-state")


@pytest.mark.parametrize("fields, message", [
    ('"step": 3, "epoch": 1, "batches_done": 3, "losses": "x"', "losses is not a list of numbers"),
    ('"step": -5, "epoch": 1, "batches_done": 3, "losses": []', "step is missing, not a number or negative (-5)"),
    ('"step": 3, "epoch": 0, "batches_done": 3, "losses": []', "epoch is missing, not a number or negative (0)"),
    ('"step": 3, "epoch": 1, "batches_done": true, "losses": []', "batches_done is missing"),
    ('"step": 1, "epoch": 1, "batches_done": 1, "losses": [1.0, 0.9]', "2 losses for step 1"),
])
def test_a_state_json_with_impossible_values_is_one_line(tmp_path, fields, message):
    """A damaged state.json printed a Python traceback (losses = "x") or trained from step -5."""
    state = _state(tmp_path / "s-state")
    (state / "state.json").write_text('{"format": 1, ' + fields + "}")
    assert message in resume_state_problem(state)


def _fake_png(path: Path, width: int, height: int) -> Path:
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))
    return path


def test_the_scan_names_odd_things(tmp_path):
    from PIL import Image

    img = tmp_path / "img"
    write_png(img / "10_cat" / "ok.png")
    frames = [Image.new("RGB", (64, 64), c) for c in ((255, 0, 0), (0, 255, 0))]
    frames[0].save(img / "10_cat" / "anim.gif", save_all=True, append_images=frames[1:])
    frames[0].save(img / "10_cat" / "apng.png", save_all=True, append_images=frames[1:])
    (img / "10_cat" / "x.txt").mkdir()
    write_png(img / "10_cat" / "x.png")
    write_png(img / "10_cat" / "dot.png", size=(1, 1))
    _fake_png(img / "10_cat" / "bomb.png", 20000, 20000)
    write_png(img / "10_" / "a.png")
    (img / "5_dog").write_text("not a folder")
    write_png(img / "99999999999999999999_x" / "a.png")
    scan = scan_dataset(img)
    kinds = {(p.kind, p.path.name): p for p in scan.problems}
    assert "GIF images are not trained" in kinds["unsupported_image", "anim.gif"].message
    assert "animated GIF" in kinds["unsupported_image", "anim.gif"].message
    assert "only its first frame" in kinds["animated_image", "apng.png"].message
    assert "is a folder, not a caption file" in kinds["folder_named_like_file", "x.txt"].message
    assert "only 1x1 pixels" in kinds["tiny_image", "dot.png"].message
    assert "decompression-bomb" in kinds["unreadable_image", "bomb.png"].message
    assert "empty class token" in kinds["empty_class_token", "10_"].message
    assert "is a file where a concept folder is expected" in kinds["not_a_folder", "5_dog"].message
    too_many = kinds["too_many_repeats", "99999999999999999999_x"]
    assert too_many.severity == "error"
    assert {s.name for s in scan.subsets} == {"10_cat", "10_"}
    assert "bomb.png" not in {i.path.name for s in scan.subsets for i in s.images}


def test_config_check_finds_unreadable_folders_and_absurd_repeats(tmp_path):
    config = make_project(tmp_path)
    write_png(tmp_path / "img" / "99999999999999999999_x" / "a.png")
    problems = check_paths(load_config(config))
    assert any("99999999999999999999 repeats is far too many" in p for p in problems)
    if not ROOT:
        os.chmod(tmp_path / "img" / "10_cat", 0)
        try:
            problems = check_paths(load_config(config))
        finally:
            os.chmod(tmp_path / "img" / "10_cat", 0o755)
        assert any("cannot read this folder (permission denied)" in p for p in problems)


def test_deeply_nested_files_are_one_line(tmp_path):
    from loratui.core.config import ConfigError, import_kohya_file, loads_config

    (tmp_path / "deep.json").write_text('{"a":' * 100000 + "1" + "}" * 100000)
    with pytest.raises(LoratuiError, match="deep.json: nested too deeply"):
        import_kohya_file(tmp_path / "deep.json")
    with pytest.raises(ConfigError, match="nested too deeply"):
        loads_config("[model]\nvae = " + "[" * 5000 + "]" * 5000, "deep.toml")


def test_a_pipe_or_a_broken_link_named_like_an_image_is_left_out_not_waited_on(tmp_path):
    """A FIFO named fifo.png made `dataset scan` wait forever on open()."""
    import os

    img = tmp_path / "img"
    write_png(img / "2_good" / "a.png")
    os.mkfifo(img / "2_good" / "fifo.png")
    (img / "2_good" / "dead.png").symlink_to(tmp_path / "nowhere.png")
    scan = scan_dataset(img)
    left = sorted(p.path.name for p in scan.problems if p.kind == "not_a_file")
    assert left == ["dead.png", "fifo.png"]
    assert [i.path.name for i in scan.subsets[0].images] == ["a.png"]


def test_the_caption_of_an_unreadable_image_is_not_called_an_orphan(tmp_path):
    img = tmp_path / "img"
    write_png(img / "2_good" / "a.png")
    (img / "2_good" / "b.png").write_bytes(b"")  # zero bytes: unreadable
    (img / "2_good" / "b.txt").write_text("b, tags\n")
    kinds = {(p.kind, p.path.name) for p in scan_dataset(img).problems}
    assert ("unreadable_image", "b.png") in kinds and ("orphan_caption", "b.txt") not in kinds
