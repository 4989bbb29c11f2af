"""`lora convert --precision` on a file diffusers already loads (user hunt s16/h5 #4: it was copied as it was,
still F16), and a converted layer's error as stored in fp16 above --tolerance with nothing said (h5 #5:
1.04e-03 at a tolerance of 0.001): ranks now leave room for the rounding, and where no rank can (bf16 at
0.001) one warning: line names the layers and what to pass."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from safetensors import safe_open
from safetensors.numpy import save_file

from loratui.cli import cli
from loratui.commands.lora_cmd import _rounding_warning
from loratui.core.errors import LoratuiError
from loratui.engine.lora_convert import LayerResult
from loratui.engine.lora_convert_cast import _update_change, cast_lora
from loratui.engine.lora_convert_fit import fit_layer, stored_over
from loratui.engine.lora_factor import _factor

META = {"ss_network_module": "networks.lora", "ss_network_dim": "4", "ss_output_name": "plain"}


def _plain(path, dtype=np.float16, scale=1.0, alpha=4.0):
    gen = np.random.default_rng(0)
    save_file({"lora_unet_x.lora_down.weight": (gen.standard_normal((4, 16)) * scale).astype(dtype),
               "lora_unet_x.lora_up.weight": (gen.standard_normal((8, 4)) * scale).astype(dtype),
               "lora_unet_x.alpha": np.array(alpha, dtype)}, str(path), metadata=META)
    return path


def _convert(*args):
    return CliRunner().invoke(cli, ["lora", "convert", *map(str, args)])


def test_precision_casts_a_file_that_needs_no_conversion(tmp_path):
    source, out = _plain(tmp_path / "plain.safetensors"), tmp_path / "bf16.safetensors"
    result = _convert(source, out, "--model", tmp_path / "none", "--precision", "bf16")  # no model needed
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].startswith(f"wrote {out}: plain.safetensors cast from float16 to bfloat16 (it already loads")
    assert lines[1].startswith("largest relative change of a layer from the cast: ") and "lora_unet_x" in lines[1]
    with safe_open(str(out), "pt") as fh:
        assert {fh.get_tensor(k).dtype for k in fh.keys()} == {torch.bfloat16}
        meta = fh.metadata()
    assert {k: meta[k] for k in META} == META and "sshs_model_hash" in meta  # kept; hashes over the new tensors
    info = CliRunner().invoke(cli, ["lora", "info", str(out), "--json"])
    assert json.loads(info.output)["dtypes"] == {"BF16": 3}

    exact = _convert(source, tmp_path / "f32.safetensors", "--model", "x", "--precision", "float", "--json")
    data = json.loads(exact.output)
    assert data["cast"] and data["stored_as"] == "F32" and data["max_relative_error"] == 0.0
    assert "the cast is exact" in _convert(source, tmp_path / "f32b.safetensors", "--model", "x", "--precision",
                                           "float").output


def test_the_same_precision_or_none_is_a_byte_copy_that_says_so(tmp_path):
    source = _plain(tmp_path / "plain.safetensors")
    same = _convert(source, tmp_path / "a.safetensors", "--model", "x", "--precision", "fp16")
    assert same.exit_code == 0 and ", stored in float16: copied unchanged to" in same.output
    assert (tmp_path / "a.safetensors").read_bytes() == source.read_bytes()
    plain = _convert(source, tmp_path / "b.safetensors", "--model", "x")
    assert "copied unchanged" in plain.output and "stored in" not in plain.output


def test_a_value_beyond_fp16_is_refused_and_nothing_is_written(tmp_path):
    source, out = _plain(tmp_path / "big.safetensors", np.float32, scale=1e5), tmp_path / "out.safetensors"
    result = _convert(source, out, "--model", "x", "--precision", "fp16")
    assert isinstance(result.exception, LoratuiError) and not out.exists()  # the CLI's handler: exit 2
    message = str(result.exception)
    assert "lora_unet_x.lora_" in message and "beyond float16's range" in message and "--precision bf16" in message


def test_the_cast_change_is_the_layer_updates_relative_error():
    gen = torch.Generator().manual_seed(1)
    before = {"l.lora_up.weight": torch.randn(32, 4, generator=gen),
              "l.lora_down.weight": torch.randn(4, 48, generator=gen),
              "l.alpha": torch.tensor(0.3)}  # 0.3 is not a bf16 number: the scale moves too
    after, report = cast_lora("src", before, torch.bfloat16)
    scale = lambda t: float(t["l.alpha"].double()) / 4  # noqa: E731
    full = lambda t: scale(t) * t["l.lora_up.weight"].double() @ t["l.lora_down.weight"].double()  # noqa: E731
    direct = float((full(after) - full(before)).norm() / full(before).norm())
    assert _update_change(before, after, "l") == pytest.approx(direct, rel=1e-6)
    assert report.layers == 1 and report.worst_layer == "l" and report.max_error == pytest.approx(direct, rel=1e-6)


def _spectrum_matrix(seed=0, rows=64, cols=96):
    """An update whose singular values fall off smoothly, like a trained DoRA/LoKr layer's."""
    gen = torch.Generator().manual_seed(seed)
    u, _ = torch.linalg.qr(torch.randn(rows, rows, generator=gen, dtype=torch.float64))
    v, _ = torch.linalg.qr(torch.randn(cols, rows, generator=gen, dtype=torch.float64))
    s = 0.8 ** torch.arange(rows, dtype=torch.float64)
    return (u * s) @ v.T


def _tolerance_just_above_a_cut(delta, rank):
    s = torch.linalg.svdvals(delta)
    return float((s[rank:].square().sum() / s.square().sum()).sqrt()) * 1.0005


def test_fp16_ranks_leave_room_for_the_rounding():
    delta = _spectrum_matrix()
    tolerance = _tolerance_just_above_a_cut(delta, 30)  # about 1e-3: the cut alone lands right under it
    _, _, old_rank, old_error = _factor(delta.float(), None, tolerance)
    fit = fit_layer(delta, None, tolerance, None, torch.float16)
    assert old_rank == 30 and old_error <= tolerance  # the rank the cut alone picks ...
    old = fit_layer(delta, 30, tolerance, None, torch.float16)
    assert old.stored_error > tolerance  # ... is above the tolerance as stored (the hunt's 1.04e-03)
    assert fit.stored_error <= tolerance and fit.rank > 30 and fit.up.dtype == torch.float16
    assert stored_over([_result(fit)], tolerance, None) == ([], [])


def _result(fit, full=64):
    return LayerResult("lora_unet_x", fit.rank, full, fit.error, fit.stored_error)


def test_where_no_rank_can_bf16_keeps_its_cut_and_one_warning_says_what_to_do():
    delta = _spectrum_matrix()
    tolerance = _tolerance_just_above_a_cut(delta, 30)
    fit = fit_layer(delta, None, tolerance, None, torch.bfloat16)
    assert fit.rank == 30 and fit.stored_error > tolerance and fit.rounding >= tolerance  # no rank search in vain
    capped, rounded = stored_over([_result(fit)], tolerance, None)
    assert not capped and len(rounded) == 1
    line = _rounding_warning(rounded, tolerance, "bfloat16")
    assert line.startswith(f"warning: 1 layers are above the tolerance {tolerance:g} as stored in bfloat16")
    assert "--precision float" in line and "\n" not in line
    suggested = float(line.rsplit("--tolerance ", 1)[1].split()[0])
    assert suggested > fit.stored_error  # and at it, convert picks ranks that meet it in bf16
    assert fit_layer(delta, None, suggested, None, torch.bfloat16).stored_error <= suggested
    assert "--precision float" not in _rounding_warning(rounded, tolerance, "float32")


def test_a_rank_cap_is_named_as_the_cap_not_the_rounding():
    delta = _spectrum_matrix()
    fit = fit_layer(delta, 10, 1e-3, None, torch.float16)
    assert fit.rank == 10 and fit.error > 1e-3
    capped, rounded = stored_over([_result(fit)], 1e-3, 10)
    assert len(capped) == 1 and not rounded


def test_help_says_what_a_file_that_needs_no_conversion_gets():
    text = " ".join(CliRunner().invoke(cli, ["lora", "convert", "--help"]).output.split())
    assert "left alone" not in text and "nothing written)" not in text
    assert "OUTPUT is a copy of it" in text and "its tensors cast to it" in text
    assert "warning: line" in text  # the exit code 0 and --tolerance texts name it
