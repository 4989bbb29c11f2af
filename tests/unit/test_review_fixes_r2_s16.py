"""Fixes from the second review of session 16: a cast of an fp8-stored LoRA (torch.isfinite has no fp8
kernel: it was an internal error), a cast recording what was done in the file's metadata, and a resume
hint whose path starts with '-' (a shell would read it as an option)."""

from __future__ import annotations

import json

import torch
from click.testing import CliRunner
from safetensors import safe_open
from safetensors.torch import save_file

from loratui.cli import cli
from loratui.core.run_states import resume_command

META = {"ss_network_module": "networks.lora", "ss_network_dim": "4", "ss_output_name": "fp8"}


def _fp8_lora(path):
    gen = torch.Generator().manual_seed(0)
    tensors = {"lora_unet_x.lora_down.weight": torch.randn(4, 16, generator=gen).to(torch.float8_e4m3fn),
               "lora_unet_x.lora_up.weight": torch.randn(8, 4, generator=gen).to(torch.float8_e4m3fn),
               "lora_unet_x.alpha": torch.tensor(4.0, dtype=torch.float16)}
    save_file(tensors, str(path), metadata=META)
    return path


def test_an_fp8_lora_casts_to_bf16_and_records_the_cast(tmp_path):
    source, out = _fp8_lora(tmp_path / "fp8.safetensors"), tmp_path / "bf16.safetensors"
    result = CliRunner().invoke(cli, ["lora", "convert", str(source), str(out), "--model", "x", "--precision", "bf16"])
    assert result.exit_code == 0, result.output
    assert "internal error" not in result.output
    with safe_open(str(out), "pt") as fh:
        assert {fh.get_tensor(k).dtype for k in fh.keys()} == {torch.bfloat16}
        record = json.loads(fh.metadata()["loratui_converted_from"])
    assert record["cast_to"] == "bf16" or "bf" in record["cast_to"]
    assert "float8_e4m3fn" in record["cast_from"]


def test_a_resume_hint_path_starting_with_a_dash_is_not_an_option(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    command = resume_command(tmp_path / "-out" / "x-state", tmp_path / "-c.toml")
    assert command == "loratui train ./-c.toml --resume ./-out/x-state"
    assert resume_command(tmp_path / "o ut" / "x-state") == "loratui train CONFIG --resume 'o ut/x-state'"
