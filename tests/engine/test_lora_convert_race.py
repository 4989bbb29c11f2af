"""`loratui lora convert` without --force never replaces a file that appears while it converts (SDXL takes
minutes): the output is published with core/fsutil.atomic_create_bytes (a hard link, which fails on an
existing name), and the refusal is exit 2 naming the file and --force, with no temp file left. A LoRA with
A1111's bundled embeddings (bundle_emb.*) converts too: diffusers refuses a file that has them, so they are
left out and the report says so."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

import loratui.engine.lora_convert as lora_convert
from fixtures.cli_run import run_main
from test_lora_convert import _lycoris_file


@pytest.fixture(scope="module")
def locon(tiny_sd1_dir, tmp_path_factory):
    path = tmp_path_factory.mktemp("race") / "locon.safetensors"
    _lycoris_file(tiny_sd1_dir, "locon", path, bias=False)
    return path


def _temp_files(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_a_file_that_appears_while_converting_is_kept(locon, tiny_sd1_dir, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out.safetensors"
    mine = b"the user's own file, written while the conversion ran\n"
    real = lora_convert.convert_to_lora

    def convert_then_someone_writes(*args, **kwargs):  # the `cp` of the report, mid-conversion
        result = real(*args, **kwargs)
        out.write_bytes(mine)
        return result

    monkeypatch.setattr(lora_convert, "convert_to_lora", convert_then_someone_writes)
    # a LoCon loads in diffusers as it is: --rank makes the conversion a resize, which is written
    code, stdout, err = run_main(["lora", "convert", locon, out, "--model", tiny_sd1_dir, "--rank", "64"], capsys)
    assert code == 2 and "wrote" not in stdout
    errors = [line for line in err.splitlines() if line.startswith("error:")]  # progress lines aside
    assert len(errors) == 1 and f"{out} appeared while converting" in errors[0] and "--force" in errors[0]
    assert out.read_bytes() == mine and _temp_files(tmp_path) == []

    # --force replaces it, as asked
    code, stdout, err = run_main(["lora", "convert", locon, out, "--model", tiny_sd1_dir, "--force"], capsys)
    assert code == 0 and f"wrote {out}" in stdout and out.read_bytes() != mine
    assert _temp_files(tmp_path) == []


def test_a_free_name_is_written_with_the_umask_mode(locon, tiny_sd1_dir, tmp_path, capsys):
    import os

    out = tmp_path / "free.safetensors"
    code, stdout, _ = run_main(["lora", "convert", locon, out, "--model", tiny_sd1_dir, "--rank", "64", "--json"],
                               capsys)
    assert code == 0 and json.loads(stdout)["output"] == str(out)
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask and out.stat().st_nlink == 1
    assert _temp_files(tmp_path) == []


def test_bundled_embeddings_are_left_out_and_said(locon, tiny_sd1_dir, tmp_path, capsys):
    tensors = load_file(str(locon))
    with safe_open(str(locon), "pt") as fh:
        metadata = fh.metadata()
    tensors["bundle_emb.alice.string_to_param.*"] = torch.randn(2, 768)
    source = tmp_path / "bundled.safetensors"
    save_file(tensors, str(source), metadata=metadata)

    code, stdout, err = run_main(["lora", "info", source], capsys)
    assert code == 0 and "alice (2 vectors, SD 1.x text encoder)" in stdout
    assert "diffusers: loratui lora convert bundled.safetensors OUT --model BASE (it leaves the bundled" in stdout

    out = tmp_path / "plain.safetensors"
    code, stdout, err = run_main(["lora", "convert", source, out, "--model", tiny_sd1_dir], capsys)
    assert code == 0, err
    assert "left out 1 bundled embedding(s) (alice): diffusers refuses a file that has them" in stdout
    written = load_file(str(out))
    assert not any(k.startswith("bundle_emb") for k in written)
    with safe_open(str(out), "pt") as fh:
        assert json.loads(fh.metadata()["loratui_converted_from"])["embeddings_left_out"] == ["alice"]
    code, stdout, _ = run_main(["lora", "info", out, "--json"], capsys)
    assert json.loads(stdout)["diffusers_ready"] is True


def test_a_dangling_link_as_output_is_refused_before_the_model_loads(locon, tmp_path, capsys):
    out = tmp_path / "link.safetensors"
    out.symlink_to(tmp_path / "nowhere.safetensors")
    code, stdout, err = run_main(["lora", "convert", locon, out, "--model", tmp_path / "no-model", "--rank", "64"],
                                 capsys)
    assert code == 2 and f"{out} exists: pass --force" in err and out.is_symlink()
