"""BLIP / BLIP-2 / GIT captioner on tiny saved models: loading, kind detection, generation options,
prefix/postfix, batching, RGBA input, devices and precisions."""

from __future__ import annotations

import json
import shutil
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fixtures.blip_tiny import make_blip, make_blip2, make_git  # noqa: E402

from loratui.captioners.base import Captioner  # noqa: E402
from loratui.captioners.blip import (composite_rgb, generation_kwargs, join_caption,  # noqa: E402
                                     load_blip_captioner, resolve_device, resolve_dtype)
from loratui.core.errors import LoratuiError  # noqa: E402

KINDS = ("blip", "blip2", "git")
SKIP = {"blip": 1, "blip2": 4 + 1, "git": 1}  # prompt tokens in front of each output (bos; BLIP-2: queries + bos)


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("blip-models")
    return {"blip": make_blip(root / "blip"), "blip2": make_blip2(root / "blip2"), "git": make_git(root / "git")}


@pytest.fixture(scope="module")
def images() -> list[Image.Image]:
    noise = Image.effect_noise((48, 40), 80).convert("RGB")
    return [Image.new("RGB", (40, 30), (200, 10, 10)), Image.new("RGB", (64, 64), (10, 10, 200)),
            Image.new("RGB", (20, 50), (0, 200, 0)), noise]


def _spy(captioner) -> list[dict]:
    """Record every generate call (kwargs and output) while still running the real model."""
    calls: list[dict] = []
    real = captioner.model.generate

    def generate(**kwargs):
        output = real(**kwargs)
        calls.append({"kwargs": kwargs, "output": output})
        return output

    captioner.model.generate = generate
    return calls


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert "\n" not in message and message
    return message


# --- loading and detection ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_loads_each_kind_auto_detected(models, images, kind):
    captioner = load_blip_captioner(models[kind], batch_size=4, max_length=8)
    assert isinstance(captioner, Captioner)
    assert captioner.name == kind and captioner.batch_size == 4
    assert captioner.provider == "cpu fp32"
    texts = captioner.run([captioner.prepare(im) for im in images])
    assert len(texts) == len(images)
    assert all(isinstance(t, str) and t == t.strip() and t for t in texts)
    assert len(set(texts)) > 1  # the image matters (the fixture's weights are spread for this)
    # the explicit kind (and BLIP-2's hyphenated spelling) loads the same folder
    explicit = load_blip_captioner(str(models[kind]), kind="blip-2" if kind == "blip2" else kind, max_length=8)
    assert explicit.run([explicit.prepare(images[0])]) == texts[:1]


@pytest.mark.parametrize("kind,other", [("blip", "git"), ("git", "blip2"), ("blip2", "blip")])
def test_kind_mismatch_is_one_line(models, kind, other):
    with pytest.raises(LoratuiError) as exc:
        load_blip_captioner(models[kind], kind=other)
    message = _one_line(exc)
    assert str(models[kind]) in message and f"holds a {kind} model" in message and f"not {other}" in message


def test_unknown_kind_argument(models):
    with pytest.raises(LoratuiError, match="expected auto, blip, blip2 or git"):
        load_blip_captioner(models["blip"], kind="llava")


def test_wrong_model_type(models, tmp_path):
    folder = _copy(models["blip"], tmp_path / "bert")
    config = json.loads((folder / "config.json").read_text())
    config["model_type"] = "bert"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(LoratuiError) as exc:
        load_blip_captioner(folder)
    message = _one_line(exc)
    assert "config.json" in message and "'bert'" in message and "BLIP, BLIP-2 or GIT" in message


def test_non_captioning_architecture(models, tmp_path):
    folder = _copy(models["blip"], tmp_path / "vqa")
    config = json.loads((folder / "config.json").read_text())
    config["architectures"] = ["BlipForQuestionAnswering"]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(LoratuiError) as exc:
        load_blip_captioner(folder)
    assert "BlipForQuestionAnswering" in _one_line(exc) and "BlipForConditionalGeneration" in str(exc.value)


@pytest.mark.parametrize("remove,expected", [
    (["config.json"], "no config.json"),
    (["model.safetensors"], "no weights"),
    (["processor_config.json"], "no preprocessor_config.json"),
    (["tokenizer.json", "vocab.txt"], "no tokenizer files"),
])
def test_missing_files_are_one_line(models, tmp_path, remove, expected):
    folder = _copy(models["git"], tmp_path / "git")
    for name in remove:
        (folder / name).unlink()
    with pytest.raises(LoratuiError) as exc:
        load_blip_captioner(folder)
    message = _one_line(exc)
    assert expected in message and str(folder) in message


def test_missing_merges_and_missing_shard(models, tmp_path):
    folder = _copy(models["blip2"], tmp_path / "blip2")
    (folder / "tokenizer.json").unlink()
    (folder / "merges.txt").unlink()
    with pytest.raises(LoratuiError, match="merges.txt"):
        load_blip_captioner(folder)
    sharded = _copy(models["blip"], tmp_path / "sharded")
    (sharded / "model.safetensors").unlink()
    index = {"metadata": {}, "weight_map": {"a": "model-00001-of-00002.safetensors",
                                            "b": "model-00002-of-00002.safetensors"}}
    (sharded / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(LoratuiError) as exc:
        load_blip_captioner(sharded)
    assert "model-00001-of-00002.safetensors is missing" in _one_line(exc) and "2 of 2" in str(exc.value)


def test_corrupt_weights_and_config(models, tmp_path):
    folder = _copy(models["git"], tmp_path / "git")
    (folder / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(LoratuiError) as exc:
        load_blip_captioner(folder)
    assert "model.safetensors: not a safetensors file" in _one_line(exc)  # found before loading (weight_check)
    (folder / "config.json").write_text("{not json")
    with pytest.raises(LoratuiError) as exc:
        load_blip_captioner(folder)
    assert "config.json: unreadable" in _one_line(exc)


def test_wd14_folder_and_bad_paths(tmp_path):
    wd14 = tmp_path / "wd14"
    wd14.mkdir()
    (wd14 / "model.onnx").write_bytes(b"x")
    with pytest.raises(LoratuiError, match="caption wd14"):
        load_blip_captioner(wd14)
    with pytest.raises(LoratuiError, match="does not exist"):
        load_blip_captioner(tmp_path / "nothing" / "here")
    with pytest.raises(LoratuiError, match="does not exist"):
        load_blip_captioner("./models/blip")  # path-like: never sent to the hub
    (tmp_path / "model.safetensors").write_bytes(b"x")
    with pytest.raises(LoratuiError, match="is a file"):
        load_blip_captioner(tmp_path / "model.safetensors")


# --- hub ids ------------------------------------------------------------------------------------------

def test_hub_id_downloads_through_snapshot_download(models, monkeypatch):
    import huggingface_hub

    calls = []

    def fake_snapshot_download(repo_id, **kwargs):
        calls.append((repo_id, kwargs))
        return str(models["git"])

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    captioner = load_blip_captioner("microsoft/git-base", max_length=4)
    assert captioner.name == "git" and captioner.model_dir == models["git"]
    assert calls[0][0] == "microsoft/git-base"
    patterns = calls[0][1]["allow_patterns"]
    assert "*.safetensors" in patterns and "*.json" in patterns and not any(".bin" in p for p in patterns)


def test_hub_id_falls_back_to_bin_weights(models, tmp_path, monkeypatch):
    import huggingface_hub

    bare = tmp_path / "snapshot"
    bare.mkdir()
    calls = []

    def fake_snapshot_download(repo_id, **kwargs):
        calls.append(kwargs["allow_patterns"])
        return str(bare if len(calls) == 1 else models["blip"])

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    assert load_blip_captioner("Salesforce/blip-old", max_length=4).name == "blip"
    assert "pytorch_model*.bin" in calls[1]


@pytest.mark.parametrize("error,expected", [
    ("LocalEntryNotFoundError", "cannot be downloaded"),
    ("OfflineModeIsEnabled", "cannot be downloaded"),
    ("RepositoryNotFoundError", "no such repository"),
])
def test_hub_errors_are_one_line(monkeypatch, error, expected):
    import huggingface_hub
    from huggingface_hub import errors

    def fake_snapshot_download(repo_id, **kwargs):
        cls = getattr(errors, error)
        exc = cls.__new__(cls)  # HTTP errors want a live response object; the type is what matters
        Exception.__init__(exc, "no network\nsecond line")
        raise exc

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    with pytest.raises(LoratuiError) as exc:
        load_blip_captioner("Salesforce/blip-image-captioning-large")
    message = _one_line(exc)
    assert "Salesforce/blip-image-captioning-large" in message and expected in message
    if expected == "cannot be downloaded":
        assert "local folder" in message and "hf download" in message


def test_real_hub_offline_is_one_line(monkeypatch, tmp_path):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)  # no socket is ever opened
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(LoratuiError) as exc:
        load_blip_captioner("loratui-tests/not-a-cached-blip")
    message = _one_line(exc)
    assert "loratui-tests/not-a-cached-blip" in message and "HF_HUB_OFFLINE" in message


# --- generation options -------------------------------------------------------------------------------

def test_generation_kwargs_mapping():
    assert generation_kwargs() == {"min_new_tokens": 5, "max_new_tokens": 75, "repetition_penalty": 1.0,
                                   "do_sample": False, "num_beams": 1}
    beams = generation_kwargs(num_beams=4, min_length=2, max_length=30, repetition_penalty=1.3)
    assert beams == {"min_new_tokens": 2, "max_new_tokens": 30, "repetition_penalty": 1.3, "do_sample": False,
                     "num_beams": 4}
    nucleus = generation_kwargs(top_p=0.9)
    assert nucleus["do_sample"] is True and nucleus["top_p"] == 0.9 and nucleus["top_k"] == 0
    assert nucleus["num_beams"] == 1
    assert generation_kwargs(min_length=10, max_length=4)["min_new_tokens"] == 4  # max wins


@pytest.mark.parametrize("kwargs,match", [
    ({"num_beams": 0}, "num_beams"),
    ({"max_length": 0}, "max_length"),
    ({"min_length": -1}, "min_length"),
    ({"repetition_penalty": 0}, "repetition_penalty"),
    ({"top_p": 0.0}, "top_p"),
    ({"top_p": 1.5}, "top_p"),
    ({"top_p": 0.9, "num_beams": 3}, "not both"),
])
def test_bad_generation_options(kwargs, match):
    with pytest.raises(LoratuiError, match=match):
        generation_kwargs(**kwargs)


def test_bad_batch_size(models):
    with pytest.raises(LoratuiError, match="batch_size"):
        load_blip_captioner(models["blip"], batch_size=0)


@pytest.mark.parametrize("kind", KINDS)
def test_beam_search_reaches_generate(models, images, kind):
    captioner = load_blip_captioner(models[kind], num_beams=3, max_length=6, min_length=1)
    calls = _spy(captioner)
    texts = captioner.run([captioner.prepare(im) for im in images[:2]])
    assert len(texts) == 2 and all(texts)
    kwargs = calls[0]["kwargs"]
    assert kwargs["num_beams"] == 3 and kwargs["do_sample"] is False
    assert calls[0]["output"].shape[0] == 2  # one returned sequence per image, not per beam


@pytest.mark.parametrize("kind", KINDS)
def test_nucleus_sampling_reaches_generate(models, images, kind):
    import torch

    captioner = load_blip_captioner(models[kind], top_p=0.8, max_length=8)
    calls = _spy(captioner)
    prepared = [captioner.prepare(im) for im in images]
    torch.manual_seed(1)
    first = captioner.run(prepared)
    torch.manual_seed(1)
    assert captioner.run(prepared) == first  # seeded sampling repeats
    kwargs = calls[0]["kwargs"]
    assert kwargs["do_sample"] is True and kwargs["top_p"] == 0.8 and kwargs["top_k"] == 0


@pytest.mark.parametrize("kind", KINDS)
def test_min_and_max_length_count_generated_tokens(models, images, kind):
    exact = load_blip_captioner(models[kind], min_length=6, max_length=6)
    calls = _spy(exact)
    exact.run([exact.prepare(im) for im in images])
    assert calls[0]["kwargs"]["min_new_tokens"] == 6 and calls[0]["kwargs"]["max_new_tokens"] == 6
    assert calls[0]["output"].shape[1] - SKIP[kind] == 6
    short = load_blip_captioner(models[kind], min_length=0, max_length=2)
    calls = _spy(short)
    texts = short.run([short.prepare(im) for im in images])
    assert calls[0]["output"].shape[1] - SKIP[kind] <= 2
    assert all(len(t.split()) <= 2 for t in texts)


@pytest.mark.parametrize("kind", KINDS)
def test_repetition_penalty_changes_text(models, images, kind):
    plain = load_blip_captioner(models[kind], max_length=8)
    penalised = load_blip_captioner(models[kind], max_length=8, repetition_penalty=5.0)
    calls = _spy(penalised)
    prepared = [plain.prepare(im) for im in images]
    assert penalised.run(prepared) != plain.run(prepared)
    assert calls[0]["kwargs"]["repetition_penalty"] == 5.0


@pytest.mark.parametrize("kind", KINDS)
def test_batch_and_single_give_the_same_greedy_text(models, images, kind):
    captioner = load_blip_captioner(models[kind], max_length=8, batch_size=4)
    prepared = [captioner.prepare(im) for im in images]
    assert captioner.run(prepared) == [captioner.run([p])[0] for p in prepared]
    assert captioner.run([]) == []


# --- prefix / postfix, images -------------------------------------------------------------------------

def test_join_caption_rules():
    assert join_caption("a cat") == "a cat"
    assert join_caption("  a cat \n on a couch ", "ohwx") == "ohwx a cat on a couch"
    assert join_caption("a cat", "ohwx, ") == "ohwx, a cat"
    assert join_caption("a cat", "", ", masterpiece") == "a cat, masterpiece"
    assert join_caption("a cat", "", "masterpiece") == "a cat masterpiece"
    assert join_caption("a cat", "photo of", ".") == "photo of a cat."
    assert join_caption("", "ohwx") == "ohwx"


@pytest.mark.parametrize("kind", KINDS)
def test_prefix_and_postfix_applied(models, images, kind):
    plain = load_blip_captioner(models[kind], max_length=6)
    tagged = load_blip_captioner(models[kind], max_length=6, prefix="ohwx, ", postfix=", masterpiece")
    prepared = [plain.prepare(im) for im in images[:2]]
    assert tagged.run(prepared) == [f"ohwx, {t}, masterpiece" for t in plain.run(prepared)]


def test_rgba_is_composited_on_white(models):
    captioner = load_blip_captioner(models["blip"], max_length=4)
    rgba = Image.new("RGBA", (32, 32), (0, 0, 0, 0))  # fully transparent black
    rgba.paste((255, 0, 0, 128), (0, 0, 16, 32))  # half-transparent red on the left
    expected = Image.new("RGB", (32, 32), (255, 255, 255))
    expected.paste((255, 127, 127), (0, 0, 16, 32))
    assert np.array_equal(np.asarray(composite_rgb(rgba)), np.asarray(expected))
    assert np.allclose(captioner.prepare(rgba), captioner.prepare(expected), atol=1e-2)
    white = captioner.prepare(Image.new("RGB", (32, 32), "white"))
    assert np.allclose(captioner.prepare(Image.new("RGBA", (32, 32), (0, 0, 0, 0))), white)
    assert captioner.run([captioner.prepare(rgba)]) == captioner.run([captioner.prepare(expected)])
    assert composite_rgb(Image.new("L", (4, 4), 7)).mode == "RGB"


def test_prepare_is_thread_safe(models, images):
    captioner = load_blip_captioner(models["git"])
    serial = [captioner.prepare(im) for im in images]
    results: dict[int, list] = {}

    def work(worker: int) -> None:
        results[worker] = [captioner.prepare(im) for im in images * 3]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got in results.values():
        assert all(np.array_equal(a, b) for a, b in zip(got, serial * 3))
    assert serial[0].dtype == np.float32 and serial[0].shape == (3, 32, 32)


# --- device and precision -----------------------------------------------------------------------------

def test_cpu_precisions(models, images):
    assert resolve_dtype("auto", "cpu") == "float32"
    assert resolve_dtype("fp32", "cpu") == "float32"
    with pytest.raises(LoratuiError, match="fp16 runs on a GPU only"):
        resolve_dtype("fp16", "cpu")
    with pytest.raises(LoratuiError, match="fp16 runs on a GPU only"):
        load_blip_captioner(models["blip"], device="cpu", dtype="fp16")
    with pytest.raises(LoratuiError, match="expected auto, fp32, fp16 or bf16"):
        resolve_dtype("int8", "cpu")
    bf16 = load_blip_captioner(models["git"], device="cpu", dtype="bf16", max_length=4)
    assert bf16.provider == "cpu bf16"
    assert all(isinstance(t, str) for t in bf16.run([bf16.prepare(images[0])]))


def test_device_resolution(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu" and resolve_device("CPU") == "cpu"
    with pytest.raises(LoratuiError, match="no CUDA GPU"):
        resolve_device("cuda")
    with pytest.raises(LoratuiError, match="expected auto, cpu, cuda"):
        resolve_device("tpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    assert resolve_device("auto") == "cuda:0" and resolve_device("cuda:1") == "cuda:1"
    with pytest.raises(LoratuiError, match="only 2 CUDA"):
        resolve_device("cuda:2")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert resolve_dtype("auto", "cuda:0") == "bfloat16" and resolve_dtype("fp16", "cuda:0") == "float16"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert resolve_dtype("auto", "cuda:0") == "float16"
