"""The bad-input corpus (issue 11): small generated fixtures driven through the real CLI entry.

Each case builds a project in a temp folder, runs `loratui ARGS` (``loratui.cli.main``, in process:
the entry point a user's shell reaches, with its last-resort handler) from that folder, and checks
the exit code, that no traceback is shown, that the first line of stderr (or of stdout for the
check commands, which list problems there) names the file or field, and that nothing outside the
expected paths changed (every file hashed before and after). Train cases fail in the preflight:
no model is ever loaded, so the whole corpus runs in seconds.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

from fixtures.bad_inputs import (
    LORA_KEYS, REFINER_KEYS, SD1_KEYS, SDXL_KEYS, make_project, tree_digest, write_png, write_safetensors,
    write_torch_zip,
)
from loratui.cli import main

ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@dataclass
class Case:
    id: str
    setup: Callable[[Path], list[str]]  # builds the fixture under the folder, returns the argv
    code: int
    first_line: str  # a regex the first line must match (re.search)
    stream: str = "err"  # "out" for commands that list problems on stdout (config check, dataset scan)
    changes: set[str] = field(default_factory=set)  # relative paths allowed to appear/change
    needs_non_root: bool = False
    patch: Callable | None = None  # (monkeypatch) -> None, e.g. a full disk


# ---------------------------------------------------------------- builders


def project(extra: str = "", **kw) -> Callable[[Path], Path]:
    return lambda root: make_project(root, extra=extra, **kw)


def with_model(make_model: Callable[[Path], object], model: str, extra: str = ""):
    def build(root: Path) -> Path:
        config = make_project(root, model=model, model_keys=None, extra=extra)
        make_model(root / model)
        return config
    return build


def raw(data: bytes):
    def make(path: Path):
        path.write_bytes(data)
    return make


def cut_safetensors(path: Path):
    write_safetensors(path, SD1_KEYS, tensor_bytes=4096, cut=2000)


def empty_dir(path: Path):
    path.mkdir()


def diffusers_without_weights(path: Path):
    (path / "unet").mkdir(parents=True)
    (path / "unet" / "config.json").write_text('{"cross_attention_dim": 768}')
    (path / "model_index.json").write_text('{"_class_name": "StableDiffusionPipeline"}')


def prompts(data: bytes):
    def build(root: Path) -> Path:
        config = make_project(root, extra='[sampling]\nsample_prompts = "p.txt"')
        (root / "p.txt").write_bytes(data)
        return config
    return build


def fake_png(path: Path, width: int, height: int):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))


def state(root: Path, name: str = "out/c-state", damage: str | None = None) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "state.json").write_text('{"format": 1, "step": 3, "epoch": 1, "batches_done": 3, "losses": []}')
    write_safetensors(folder / "lora.safetensors", LORA_KEYS)
    write_torch_zip(folder / "optimizer.pt")
    write_torch_zip(folder / "rng.pt")
    if damage == "state.json":
        (folder / "state.json").write_text('{"format": 1, "st')
    elif damage == "optimizer.pt":
        data = (folder / "optimizer.pt").read_bytes()
        (folder / "optimizer.pt").write_bytes(data[: len(data) // 2])
    elif damage == "rng.pt":
        (folder / "rng.pt").unlink()
    elif damage == "lora":
        write_safetensors(folder / "lora.safetensors", LORA_KEYS, tensor_bytes=4096, cut=100)
    return folder


def resume_in_config(damage: str):
    def build(root: Path) -> Path:
        config = make_project(root, extra='[saving]\nresume = "out/c-state"')
        state(root, damage=damage)
        return config
    return build


def repeats_folder(name: str):
    def build(root: Path) -> Path:
        config = make_project(root)
        write_png(root / "img" / name / "a.png")
        return config
    return build


def images_only(*files: tuple[str, bytes | None]):
    """A project whose only images are the given (name, bytes) files (None: a valid PNG)."""
    def build(root: Path) -> Path:
        config = make_project(root, images=0)
        folder = root / "img" / "10_cat"
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in files:
            if data is None:
                write_png(folder / name)
            else:
                (folder / name).write_bytes(data)
        return config
    return build


def png_bytes() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 20, 30)).save(buffer, "PNG")
    return buffer.getvalue()


# ---------------------------------------------------------------- command shapes


def check(build) -> Callable[[Path], list[str]]:
    return lambda root: (build(root), ["config", "check", "c.toml"])[1]


def train(build, *more: str) -> Callable[[Path], list[str]]:
    return lambda root: (build(root), ["train", "c.toml", *more])[1]


def steps(build) -> Callable[[Path], list[str]]:
    return lambda root: (build(root), ["steps", "c.toml"])[1]


def vram(build) -> Callable[[Path], list[str]]:
    return lambda root: (build(root), ["vram", "c.toml"])[1]


def scan(build_folder: Callable[[Path], None]) -> Callable[[Path], list[str]]:
    def setup(root: Path) -> list[str]:
        write_png(root / "img" / "10_cat" / "ok.png")
        (root / "img" / "10_cat" / "ok.txt").write_text("cat")
        build_folder(root / "img")
        return ["dataset", "scan", "img"]
    return setup


def kohya(data: bytes, *more: str) -> Callable[[Path], list[str]]:
    def setup(root: Path) -> list[str]:
        (root / "k.json").write_bytes(data)
        return ["config", "import-kohya", "k.json", *more]
    return setup


# The model cases: (id, how the model is made, its file name, config check's words)
MODELS = [
    ("random-bytes", raw(os.urandom(4000)), "model.safetensors", r"not a \.safetensors file"),
    ("zero-bytes", raw(b""), "model.safetensors", r"too short for a header"),
    ("truncated", cut_safetensors, "model.safetensors", r"truncated: its header describes"),
    ("text-file", raw(b"hello"), "model.txt", r"unsupported model file type '\.txt'"),
    ("empty-folder", empty_dir, "model", r"not a diffusers model folder"),
    ("no-weights-folder", diffusers_without_weights, "model", r"unet: no weights file"),
    ("lora", lambda p: write_safetensors(p, LORA_KEYS), "model.safetensors", r"is a LoRA"),
    ("refiner", lambda p: write_safetensors(p, REFINER_KEYS), "model.safetensors", r"SDXL refiner"),
    ("not-sd", lambda p: write_safetensors(p, ["a.b"]), "model.safetensors", r"not a Stable Diffusion checkpoint"),
    ("ckpt-garbage", raw(b"not a pickle at all"), "model.ckpt", r"not a torch checkpoint"),
    ("ckpt-truncated", lambda p: write_torch_zip(p, cut=30), "model.ckpt", r"truncated or damaged"),
]

CASES: list[Case] = []
for name, make_model, file_name, words in MODELS:
    build = with_model(make_model, file_name)
    CASES.append(Case(f"check-model-{name}", check(build), 1, r"c\.toml: pretrained_model_name_or_path: .*" + words,
                      stream="out"))
    CASES.append(Case(f"train-model-{name}", train(build), 2, r"^error: c\.toml: pretrained_model_name_or_path: .*" + words))

FAMILY = [
    ("sdxl-as-sd1", SDXL_KEYS, "sd1", r"model\.model_family is 'sd1' but .*model\.safetensors is an SDXL model"),
    ("sd1-as-sdxl", SD1_KEYS, "sdxl", r"model\.model_family is 'sdxl' but .*model\.safetensors is an SD 1\.x model"),
]
for name, keys, family, words in FAMILY:
    build = project(f'[model]\nmodel_family = "{family}"', model_keys=keys)
    CASES.append(Case(f"check-family-{name}", check(build), 1, r"c\.toml: " + words, stream="out"))
    CASES.append(Case(f"train-family-{name}", train(build), 2, r"^error: c\.toml: " + words))


def output_into_file(root: Path) -> Path:
    config = make_project(root, extra='[saving]\noutput_dir = "afile"')
    (root / "afile").write_text("x")
    return config


def output_under_file(root: Path) -> Path:
    config = make_project(root, extra='[saving]\noutput_dir = "afile/sub"')
    (root / "afile").write_text("x")
    return config


def output_read_only(root: Path) -> Path:
    config = make_project(root, extra='[saving]\noutput_dir = "ro/out"')
    (root / "ro").mkdir()
    os.chmod(root / "ro", 0o555)
    return config


OUTPUT = [("is-a-file", output_into_file, r"output_dir: .*afile is a file, not a folder", False),
          ("under-a-file", output_under_file, r"output_dir: .*afile/sub cannot be created: .*afile is a file", False),
          ("read-only", output_read_only, r"output_dir: .*ro/out cannot be created: .*ro is not writable", True)]
for name, build, words, non_root in OUTPUT:
    CASES.append(Case(f"check-output-{name}", check(build), 1, r"c\.toml: " + words, stream="out",
                      needs_non_root=non_root))
    CASES.append(Case(f"train-output-{name}", train(build), 2, r"^error: c\.toml: " + words, needs_non_root=non_root))

PROMPTS = [
    ("w-abc", b"a cat --w abc\n", r"p\.txt:1: --w needs a value"),
    ("w-huge", b"a cat\na dog --w 100000\n", r"p\.txt:2: --w 100000 is too large"),
    ("h-huge", b"a cat --h 99999\n", r"p\.txt:1: --h 99999 is too large"),
    ("empty", b"", r"sampling\.sample_prompts: .*p\.txt has no prompts"),
    ("comments-only", b"# nothing\n\n", r"sampling\.sample_prompts: .*p\.txt has no prompts"),
    ("not-utf8", b"a cat\n\xff\xfe\x00 dog\n", r"sampling\.sample_prompts: .*p\.txt, line 2: not UTF-8"),
    ("bad-sampler", b"a cat --ss magic\n", r"p\.txt:1: unknown sampler --ss magic"),
    ("l-abc", b"a cat --l high\n", r"p\.txt:1: --l needs a value"),
]
for name, data, words in PROMPTS:
    CASES.append(Case(f"check-prompts-{name}", check(prompts(data)), 1, r"c\.toml: .*" + words, stream="out"))
    CASES.append(Case(f"train-prompts-{name}", train(prompts(data)), 2, r"^error: .*" + words))


def prompts_folder(root: Path) -> Path:
    config = make_project(root, extra='[sampling]\nsample_prompts = "p.txt"')
    (root / "p.txt").mkdir()
    return config


CASES.append(Case("check-prompts-folder", check(prompts_folder), 1, r"sample_prompts: .*p\.txt is a folder",
                  stream="out"))

REPEATS = [("overflow", "99999999999999999999_x", r"99999999999999999999 repeats is far too many")]
for name, folder, words in REPEATS:
    CASES.append(Case(f"check-repeats-{name}", check(repeats_folder(folder)), 1, r"c\.toml: train_data_dir: .*" + words,
                      stream="out"))
    CASES.append(Case(f"train-repeats-{name}", train(repeats_folder(folder)), 2, r"^error: c\.toml: train_data_dir: .*" + words))
    CASES.append(Case(f"steps-repeats-{name}", steps(repeats_folder(folder)), 0, r"", stream="out"))
# 100000_x trains, as sd-scripts trains it (a warning); a run of over 10 million steps is refused by all three
CASES.append(Case("check-repeats-many", check(repeats_folder("100000_x")), 0, r"^ok$", stream="out"))
CASES.append(Case("steps-repeats-many", steps(repeats_folder("100000_x")), 0, r"", stream="out"))
ABSURD = r"one epoch is 20,000,020 steps \(over 10,000,000.*'20000000_x' has 20,000,000 repeats"
CASES.append(Case("check-repeats-absurd", check(repeats_folder("20000000_x")), 1, r"^c\.toml: " + ABSURD, stream="out"))
CASES.append(Case("train-repeats-absurd", train(repeats_folder("20000000_x")), 2, r"^error: c\.toml: " + ABSURD))
CASES.append(Case("steps-repeats-absurd", steps(repeats_folder("20000000_x")), 2, r"^error: c\.toml: " + ABSURD))

RESUME = [("state-json", "state.json", r"state\.json is truncated or damaged \(not JSON\)"),
          ("optimizer", "optimizer.pt", r"optimizer\.pt is truncated or damaged"),
          ("rng-missing", "rng.pt", r"rng\.pt is missing"),
          ("lora-cut", "lora", r"lora\.safetensors is truncated or damaged")]
for name, damage, words in RESUME:
    CASES.append(Case(f"check-resume-{name}", check(resume_in_config(damage)), 1, r"c\.toml: saving\.resume: .*" + words,
                      stream="out"))
    CASES.append(Case(f"train-resume-flag-{name}",
                      lambda root, damage=damage: (make_project(root), state(root, damage=damage),
                                                   ["train", "c.toml", "--resume", "out/c-state"])[2],
                      2, r"^error: --resume: .*" + words))
CASES.append(Case("train-resume-not-a-state",
                  lambda root: (make_project(root), (root / "out" / "x").mkdir(), ["train", "c.toml", "--resume", "out/x"])[2],
                  2, r"^error: --resume: .*out/x is not a loratui state folder"))

# every image left out: the run refuses, naming the first and why
LEFT_OUT = [("zero-byte", [("a.png", b"")], r"a\.png: empty file"),
            ("truncated", [("a.png", png_bytes()[:40])], r"a\.png: "),
            ("noise", [("a.jpg", b"\xff\xd8\xff" + bytes(64))], r"a\.jpg: "),
            ("gif-only", [("a.gif", None)], r"a\.gif: GIF images are not trained")]
for name, files, words in LEFT_OUT:
    CASES.append(Case(f"train-left-out-{name}", train(images_only(*files)), 2,
                      r"^error: no usable training images under .*: all 1 are left out \(first: 10_cat/" + words))

# dataset scan: each odd thing named as what it is (stdout lists the problems)


def scan_line(kind: str, words: str) -> str:
    return rf"(?s)^train: img.*{kind}.*{words}"


def gif(folder: Path):
    from PIL import Image

    frames = [Image.new("RGB", (64, 64), c) for c in ((255, 0, 0), (0, 255, 0))]
    frames[0].save(folder / "10_cat" / "anim.gif", save_all=True, append_images=frames[1:])


def apng(folder: Path):
    from PIL import Image

    frames = [Image.new("RGB", (64, 64), c) for c in ((255, 0, 0), (0, 255, 0))]
    frames[0].save(folder / "10_cat" / "anim.png", save_all=True, append_images=frames[1:])


SCANS = [
    ("animated-gif", gif, 0, scan_line("unsupported_image", r"10_cat/anim\.gif: GIF images are not trained.*animated GIF")),
    ("apng", apng, 0, scan_line("animated_image", r"10_cat/anim\.png is animated")),
    ("folder-named-txt", lambda f: (f / "10_cat" / "ok2.txt").mkdir(), 0,
     scan_line("folder_named_like_file", r"10_cat/ok2\.txt is a folder, not a caption file")),
    ("folder-named-png", lambda f: (f / "10_cat" / "x.png").mkdir(), 0,
     scan_line("folder_named_like_file", r"10_cat/x\.png is a folder, not an image")),
    ("empty-class-token", lambda f: write_png(f / "10_" / "a.png"), 0,
     scan_line("empty_class_token", r"'10_' has an empty class token")),
    ("one-pixel", lambda f: write_png(f / "10_cat" / "dot.png", size=(1, 1)), 0,
     scan_line("tiny_image", r"10_cat/dot\.png is only 1x1 pixels")),
    ("file-for-concept", lambda f: (f / "5_dog").write_text("x"), 0,
     scan_line("not_a_folder", r"'5_dog' is a file where a concept folder is expected")),
    ("bomb", lambda f: fake_png(f / "10_cat" / "bomb.png", 30000, 30000), 1,
     scan_line("unreadable_image", r"10_cat/bomb\.png: 30000x30000 is 900 megapixels, over Pillow's decompression-bomb")),
    ("overflow-repeats", lambda f: write_png(f / "99999999999999999999_x" / "a.png"), 1,
     scan_line("too_many_repeats", r"asks for 99999999999999999999 repeats")),
    ("zero-byte-image", lambda f: (f / "10_cat" / "z.png").write_bytes(b""), 1,
     scan_line("unreadable_image", r"10_cat/z\.png: empty file")),
    ("not-utf8-caption", lambda f: (write_png(f / "10_cat" / "b.png"), (f / "10_cat" / "b.txt").write_bytes(b"\xff\xfe")),
     1, scan_line("caption_not_utf8", r"10_cat/b\.txt is not UTF-8")),
]
for name, build_folder, code, words in SCANS:
    CASES.append(Case(f"scan-{name}", scan(build_folder), code, words, stream="out"))
CASES.append(Case("scan-not-a-folder", lambda root: ((root / "img").write_text("x"), ["dataset", "scan", "img"])[1], 2,
                  r"^error: .*img"))
CASES.append(Case("scan-missing", lambda root: ["dataset", "scan", "nothere"], 2, r"^error: .*nothere"))

# kohya_ss JSON
DEEP_OBJECT = b'{"a":' * 100000 + b"1" + b"}" * 100000
KOHYA = [
    ("deep-object", DEEP_OBJECT, r"^error: k\.json: nested too deeply"),
    ("deep-array", b"[" * 100000 + b"]" * 100000, r"^error: k\.json: nested too deeply"),
    ("not-json", b"{ not json", r"^error: k\.json, line 1: not valid JSON"),
    ("not-utf8", b'{"a": "\xff"}', r"^error: k\.json: cannot read"),
    ("array", b"[1, 2]", r"^error: k\.json: .*JSON object"),
]
for name, data, words in KOHYA:
    CASES.append(Case(f"kohya-{name}", kohya(data), 2, words))
CASES.append(Case("kohya-output-name-escapes",  # cleaned to a plain name and said so (exit 0), never written outside
                  kohya(b'{"LoRA_type": "Standard", "network_dim": 8, "output_name": "../../x", "train_data_dir": "img", '
                        b'"output_dir": "out"}', "-o", "n.toml"),
                  0, r"(?s)output_name -> saving\.output_name  \(cleaned from '\.\./\.\./x'\)", stream="out",
                  changes={"n.toml"}))

# config files themselves
CONFIGS = [
    ("deep-toml", b"[model]\nvae = " + b"[" * 5000 + b"]" * 5000 + b"\n", r"c\.toml: arrays or tables nested too deeply"),
    ("not-utf8", b"[model]\nvae = \"\xff\"\n", r"c\.toml, line 2: not UTF-8"),
    ("bad-syntax", b"[model\n", r"c\.toml, line 1: not valid TOML"),
    ("unknown-key", b"[model]\nvea = 1\n", r"c\.toml, line 2: vea: unknown key in \[model\] \(did you mean 'vae'\?\)"),
    ("bad-type", b"[network]\nnetwork_dim = \"sixteen\"\n", r"c\.toml, line 2: network_dim"),
]
for name, data, words in CONFIGS:
    CASES.append(Case(f"check-config-{name}", lambda root, data=data: ((root / "c.toml").write_bytes(data),
                                                                          ["config", "check", "c.toml"])[1],
                      1, words, stream="out"))
    CASES.append(Case(f"steps-config-{name}", lambda root, data=data: ((root / "c.toml").write_bytes(data),
                                                                          ["steps", "c.toml"])[1], 2, r"^error: " + words))
CASES.append(Case("check-config-folder", lambda root: ((root / "c.toml").mkdir(), ["config", "check", "c.toml"])[1],
                  2, r"^error: Invalid value for 'PATH': File 'c\.toml' is a directory\. \(`loratui config check --help`"))

# vram with model_family auto
for name, make_model, file_name, words in MODELS[:3] + MODELS[6:7]:
    CASES.append(Case(f"vram-auto-{name}", vram(with_model(make_model, file_name)), 2,
                      r"^error: c\.toml: cannot tell the model family .*" + words))


# unreadable concept folders (permissions: a non-root user only)
def unreadable_concept(root: Path) -> Path:
    config = make_project(root)
    os.chmod(root / "img" / "10_cat", 0)
    return config


CASES.append(Case("check-unreadable-concept", check(unreadable_concept), 1,
                  r"c\.toml: train_data_dir: .*10_cat: cannot read this folder \(permission denied\)", stream="out",
                  needs_non_root=True))
CASES.append(Case("train-unreadable-concept", train(unreadable_concept), 2,
                  r"^error: train_data_dir: .*10_cat: cannot read this folder", needs_non_root=True))


# ---------------------------------------------------------------- a full disk (simulated: os.replace raises)


def disk_full(monkeypatch):
    """No space left: every rename into place fails, and a file copy writes half its bytes first."""
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    def half_copy(src, dst, *args, **kwargs):
        data = Path(src).read_bytes()
        Path(dst).write_bytes(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    monkeypatch.setattr(os, "rename", full)
    monkeypatch.setattr(shutil, "copyfile", half_copy)


def new_config(root: Path) -> list[str]:
    return ["config", "new", "n.toml"]


def tags_add(root: Path) -> list[str]:
    make_project(root)
    return ["tags", "add", "img", "new tag", "--yes"]


def dataset_init(root: Path) -> list[str]:
    for i in range(3):
        write_png(root / "pics" / f"{i}.png")
    return ["dataset", "init", "proj", "--images", "pics", "--concept", "cat", "--repeats", "5"]


def export(root: Path) -> list[str]:
    make_project(root)
    return ["config", "export-sdscripts", "c.toml", "--family", "sd1"]


def kohya_out(root: Path) -> list[str]:
    (root / "k.json").write_text('{"LoRA_type": "Standard", "network_dim": 8, "train_data_dir": "img", '
                                 '"output_dir": "out", "epoch": 2}')
    return ["config", "import-kohya", "k.json", "-o", "n.toml"]


DISK_FULL = [("config-new", new_config, set()),
             # the journal's folders, empty but for the lock file one write at a time holds
             ("tags-add", tags_add, {"img/.loratui", "img/.loratui/undo", "img/.loratui/undo/write.lock"}),
             ("dataset-init", dataset_init, set()), ("export-sdscripts", export, set()),
             ("import-kohya", kohya_out, set())]
for name, setup, folders in DISK_FULL:
    CASES.append(Case(f"disk-full-{name}", setup, 2, r"^error: .*(no space left on |No space left on device)",
                      patch=disk_full, changes=folders))


# ---------------------------------------------------------------- the runner


@pytest.fixture
def crash_logs(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("LORATUI_DEBUG", raising=False)
    return tmp_path / "cache"


def test_the_corpus_has_at_least_80_cases():
    assert len(CASES) >= 80
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path, monkeypatch, capsys, crash_logs):
    if case.needs_non_root and ROOT:
        pytest.skip("runs as root, which reads and writes whatever the permission bits say")
    root = tmp_path / "project"
    root.mkdir()
    monkeypatch.chdir(root)
    argv = case.setup(root)
    before = tree_digest(root)
    if case.patch:
        case.patch(monkeypatch)
    code = 0
    try:
        main(argv)
    except SystemExit as exc:
        code = exc.code or 0
    finally:
        monkeypatch.undo()  # the patch (a full disk) must not leak into the checks below
        monkeypatch.chdir(root)
        _restore_modes(root)
    out, err = capsys.readouterr()
    text = (out if case.stream == "out" else err).strip()
    shown = f"exit {code}\nstdout:\n{out}\nstderr:\n{err}"
    assert "Traceback" not in out + err, shown
    assert "internal error" not in err, shown
    assert not crash_logs.exists(), shown
    assert code == case.code, shown
    if case.first_line:
        first = text if case.first_line.startswith("(?s)") else (text.splitlines() or [""])[0]
        assert re.search(case.first_line, first), shown
    after = tree_digest(root)
    changed = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    assert changed <= case.changes, f"changed: {sorted(changed)}\n{shown}"


def _restore_modes(root: Path) -> None:
    for dirpath, dirnames, _files in os.walk(root):
        for name in dirnames:
            path = os.path.join(dirpath, name)
            if not os.access(path, os.R_OK | os.W_OK | os.X_OK):
                os.chmod(path, 0o755)


# ---------------------------------------------------------------- a real full disk, where a tmpfs can be mounted


@pytest.fixture
def tiny_disk(tmp_path):
    import subprocess

    mount = tmp_path / "disk"
    mount.mkdir()
    if not ROOT or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
                                  capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tiny tmpfs here (needs root with mount rights): the simulated cases cover it")
    cwd = os.getcwd()
    try:
        yield mount
    finally:
        os.chdir(cwd)
        if subprocess.run(["umount", str(mount)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_dataset_init_on_a_real_full_disk_writes_nothing(tiny_disk, tmp_path, monkeypatch, capsys, crash_logs):
    pics = tmp_path / "pics"
    pics.mkdir()
    for i in range(4):  # 4 x 100 KB of incompressible bytes do not fit in 256 KB
        (pics / f"{i}.png").write_bytes(png_bytes()[:33] + os.urandom(100_000))
    monkeypatch.chdir(tiny_disk)
    before = tree_digest(tiny_disk)
    with pytest.raises(SystemExit) as exc:
        main(["dataset", "init", "proj", "--images", str(pics), "--concept", "cat", "--repeats", "5"])
    out, err = capsys.readouterr()
    assert exc.value.code == 2 and "Traceback" not in err and not crash_logs.exists(), err
    assert re.search(r"^error: .*no space left on", err, re.I), err
    assert tree_digest(tiny_disk) == before  # whole or nothing: no partial project, no temp file


def test_a_real_subprocess_shows_one_line(tmp_path):
    """The same entry as a user's shell: `python -m loratui` in its own process."""
    import subprocess
    import sys

    root = tmp_path / "p"
    build = with_model(raw(b"\x00" * 50), "model.safetensors")
    build(root)
    proc = subprocess.run([sys.executable, "-m", "loratui", "train", "c.toml"], cwd=root, capture_output=True,
                          text=True, env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: c.toml: pretrained_model_name_or_path: ") and len(proc.stderr.splitlines()) == 1
