"""A converted file meets --tolerance as stored (user hunt s16/h5 #5: an fp16 convert of a LoKr came out at
1.04e-03 for a tolerance of 0.001 and said nothing): ranks leave room for fp16's rounding, and bf16, whose
rounding alone is above 0.001, gets one warning: line with what to pass (exit 0: the file is written)."""

from __future__ import annotations

import json

import torch
from click.testing import CliRunner

import loratui.engine.lora_convert_fit as fit_module
from loratui.cli import cli
from loratui.engine.lora_convert import convert_to_lora
from loratui.engine.network import inject_lora, save_lora
from test_lycoris import _base, _lyco, _randomize


def _dora_file(model_dir, path):
    """DoRA's update is full rank, its spectrum falls off smoothly: some layers' cut lands just under 0.001."""
    network = inject_lora(_base(model_dir), _lyco("dora"))
    _randomize(network)
    save_lora(path, network, {"ss_network_module": "lycoris.kohya"}, save_precision="fp16")
    return path


def test_fp16_layers_meet_the_tolerance_as_stored(tiny_sd1_dir, tmp_path, monkeypatch):
    source = _dora_file(tiny_sd1_dir, tmp_path / "dora.safetensors")
    base = _base(tiny_sd1_dir)
    _, _, report = convert_to_lora(source, base, tolerance=1e-3, dtype=torch.float16)
    assert report.max_stored_error <= 1e-3, [(layer.name, layer.stored_error) for layer in report.layers
                                             if layer.stored_error > 1e-3]
    monkeypatch.setattr(fit_module, "RETRIES", 0)  # the rank cut alone, as before the fix
    _, _, before = convert_to_lora(source, base, tolerance=1e-3, dtype=torch.float16)
    # the random file has a layer the rank cut alone leaves over the tolerance in most draws (not all: the
    # final CI drew one at 9.6e-4); the stored file above meets it either way
    assert sum(report.ranks) - sum(before.ranks) <= len(report.layers)  # room costs a rank here and there


def test_bf16_over_the_tolerance_is_one_warning_line_with_what_to_pass(tiny_sd1_dir, tmp_path):
    source = _dora_file(tiny_sd1_dir, tmp_path / "dora.safetensors")
    out = tmp_path / "bf16.safetensors"
    result = CliRunner().invoke(cli, ["lora", "convert", str(source), str(out), "--model", str(tiny_sd1_dir),
                                      "--precision", "bf16"])
    assert result.exit_code == 0 and out.exists(), result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "as stored in bfloat16" in warnings[0], result.output
    assert "--precision float stores them within it" in warnings[0] and "--tolerance " in warnings[0]
    result = CliRunner().invoke(cli, ["lora", "convert", str(source), str(tmp_path / "f.safetensors"), "--model",
                                      str(tiny_sd1_dir), "--precision", "float", "--json"])
    data = json.loads(result.output[result.output.index("{"):])
    assert data["layers_over_tolerance"] == 0 and data["max_relative_error"] <= 1e-3
