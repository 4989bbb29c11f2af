"""`lora convert` of a LyCORIS file with alpha 0 on some layers: lycoris-lora (as sd-scripts) reads 0 as
alpha = rank, so the converted layer is the one at alpha = rank; ComfyUI, A1111 and diffusers would apply 0.
The default (--alpha-zero keep) refuses before the model loads; --alpha-zero dim converts and records it."""

from __future__ import annotations

import json

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from fixtures.cli_run import run_main
from loratui.core.config import read_lora_info
from loratui.engine.lora_convert import convert_to_lora
from test_lora_convert import _lycoris_file
from test_lycoris import _base


def _with_alpha(source, path, layer: str, value: float | None):
    """``source`` with ``layer``'s alpha set to ``value`` (its rank when None)."""
    tensors = load_file(str(source))
    with safe_open(str(source), "pt") as fh:
        meta = fh.metadata()
    rank = read_lora_info(source).ranks[layer]
    alpha = tensors[f"{layer}.alpha"]
    tensors[f"{layer}.alpha"] = torch.full_like(alpha, float(rank if value is None else value))
    save_file(tensors, str(path), metadata=meta)
    return path


def test_alpha_zero_converts_only_when_asked_and_as_alpha_rank(tiny_sd1_dir, tmp_path, capsys):
    source = tmp_path / "loha.safetensors"
    _lycoris_file(tiny_sd1_dir, "loha", source, bias=False)
    layer = sorted(read_lora_info(source).ranks)[0]
    zero = _with_alpha(source, tmp_path / "zero.safetensors", layer, 0.0)
    at_rank = _with_alpha(source, tmp_path / "rank.safetensors", layer, None)
    assert read_lora_info(zero).zero_alpha == [layer]

    out = tmp_path / "out.safetensors"
    code, _, err = run_main(["lora", "convert", zero, out, "--model", tiny_sd1_dir], capsys)
    assert code == 2 and "1 layer(s) have alpha 0" in err and "pass --alpha-zero dim" in err and not out.exists()

    code, stdout, err = run_main(["lora", "convert", zero, out, "--model", tiny_sd1_dir, "--alpha-zero", "dim",
                                  "--json"], capsys)
    assert code == 0, err
    report = json.loads(stdout[stdout.index("{"):])
    assert report["alpha_zero"] == "dim" and report["alpha_zero_layers"] == 1
    with safe_open(str(out), "pt") as fh:
        record = json.loads(fh.metadata()["loratui_converted_from"])
    assert record["alpha_zero"] == "dim" and record["alpha_zero_layers"] == 1
    assert read_lora_info(out).zero_alpha == []

    # the layer converted from alpha 0 is the one converted from alpha = rank: sd-scripts' reading
    base = _base(tiny_sd1_dir)
    ours, _, ours_report = convert_to_lora(zero, base, tolerance=1e-6, dtype=torch.float32)
    theirs, _, their_report = convert_to_lora(at_rank, base, tolerance=1e-6, dtype=torch.float32)
    assert ours_report.alpha_zero == 1 and their_report.alpha_zero == 0
    assert set(ours) == set(theirs)
    for key in ours:
        torch.testing.assert_close(ours[key], theirs[key])
