"""`loratui lora convert`: a LyCORIS file (LoHa, LoKr, DoRA, full) rewritten as a plain kohya LoRA loads in
diffusers' load_lora_weights and gives the LyCORIS network's own UNet and text-encoder outputs.

diffusers 0.42 refuses LyCORIS keys and drops dora_scale (test_lycoris.py checks both); this is the way
round it that the README names."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner
from safetensors import safe_open
from safetensors.torch import load_file

from loratui.cli import cli
from loratui.engine.lora_convert import convert_to_lora, save_converted
from loratui.engine.metadata import safetensors_hashes
from loratui.engine.network import inject_lora, save_lora
from test_lycoris import TYPES, _base, _lyco, _model_dir, _randomize
from test_network import _outputs


def _lycoris_file(model_dir, kind, path, *, bias=True):
    base = _base(model_dir)
    network = inject_lora(base, _lyco(kind))
    if bias:
        _randomize(network)
    else:  # as _randomize, leaving algo=full's bias updates at zero
        gen = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for m in network.all_modules():
                for name, p in m.named_parameters():
                    if name != "bias":
                        p.add_(torch.randn(p.shape, generator=gen) * (0.01 if name == "weight" else 0.3))
    expected = _outputs(base)
    save_lora(path, network, {"ss_network_module": "lycoris.kohya", "ss_steps": "40",
                              "ss_network_args": json.dumps({"algo": kind})}, save_precision="float")
    return expected


# DoRA trained with wd_on_output=false: its dora_scale is (1, in); lycoris-lora 4.1.3's loader cannot read it
ON_INPUT = {"dora_in": ["algo=locon", "dora_wd=true", "wd_on_output=false", "conv_dim=2", "conv_alpha=1"],
            "lokr_dora_in": ["algo=lokr", "dora_wd=true", "wd_on_output=false", "factor=4"]}


@pytest.mark.parametrize("family, kind", [
    ("sd1", "loha"), ("sd1", "dora"), ("sd1", "full"), ("sdxl", "lokr_w1ab"), ("sdxl", "loha_dora"),
    ("sd1", "dora_in"), ("sdxl", "lokr_dora_in"),
])
def test_converted_file_loads_in_diffusers_with_the_lycoris_outputs(family, kind, tiny_sd1_dir, tiny_sdxl_dir,
                                                                    tmp_path, monkeypatch):
    from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline

    if kind in ON_INPUT:
        monkeypatch.setitem(TYPES, kind, ON_INPUT[kind])
    model_dir = _model_dir(family, tiny_sd1_dir, tiny_sdxl_dir)
    source = tmp_path / f"{kind}.safetensors"
    expected = _lycoris_file(model_dir, kind, source, bias=False)
    tensors, meta, report = convert_to_lora(source, _base(model_dir), tolerance=1e-6, dtype=torch.float32)
    out = tmp_path / "converted.safetensors"
    save_converted(out, tensors, meta)
    assert {k.split(".", 1)[1] for k in tensors} == {"lora_down.weight", "lora_up.weight", "alpha"}
    assert report.max_error <= 1e-6 and not report.dropped
    if kind.startswith("loha"):  # a rank-4 LoHa update has rank <= 16, DoRA's rescale aside
        assert max(report.ranks) <= (16 if kind == "loha" else 10_000)

    pipeline = StableDiffusionXLPipeline if family == "sdxl" else StableDiffusionPipeline
    pipe = pipeline.from_pretrained(model_dir)
    pipe.load_lora_weights(str(out))
    encoders = [pipe.text_encoder, pipe.text_encoder_2] if family == "sdxl" else [pipe.text_encoder]
    base = _base(model_dir)  # only for the inputs' shapes
    for got, exp in zip(_outputs(base, pipe.unet, encoders), expected):
        torch.testing.assert_close(got, exp, rtol=0, atol=1e-4 * max(1.0, float(exp.abs().max())))

    with safe_open(str(out), "pt") as fh:
        meta = fh.metadata()
    assert meta["ss_network_module"] == "networks.lora" and meta["ss_steps"] == "40"
    assert json.loads(meta["loratui_converted_from"])["network_module"] == "lycoris.kohya"
    plain = {k: v for k, v in meta.items() if not k.startswith("sshs_")}
    assert (meta["sshs_model_hash"], meta["sshs_legacy_hash"]) == safetensors_hashes(load_file(str(out)), plain)


def test_rank_cap_bias_updates_and_wrong_model(tiny_sd1_dir, tiny_sdxl_dir, tmp_path):
    from loratui.core.errors import LoratuiError

    source = tmp_path / "loha.safetensors"
    _lycoris_file(tiny_sd1_dir, "loha", source)
    tensors, _, report = convert_to_lora(source, _base(tiny_sd1_dir), rank=2)
    assert max(report.ranks) == 2 and report.max_error > 1e-3  # the cap costs error, and says so
    assert all(v.dtype == torch.float16 for v in tensors.values())
    with pytest.raises(LoratuiError, match="not in this sdxl model"):
        convert_to_lora(source, _base(tiny_sdxl_dir))

    full = tmp_path / "full.safetensors"
    _lycoris_file(tiny_sd1_dir, "full", full)  # with bias updates, which a LoRA cannot hold
    with pytest.raises(LoratuiError, match="change a bias or a norm.*--drop-unsupported"):
        convert_to_lora(full, _base(tiny_sd1_dir))
    tensors, _, report = convert_to_lora(full, _base(tiny_sd1_dir), drop_unsupported=True)
    assert report.dropped and all("bias update" in d for d in report.dropped) and tensors
    # the same refusal from the file alone, before a base model loads (hunt9: minutes on SDXL)
    from loratui.engine.lora_convert import check_convertible, read_lora

    with pytest.raises(LoratuiError, match=f"{len(report.dropped)} layers change a bias or a norm"):
        check_convertible(full, read_lora(full)[0])
    check_convertible(full, read_lora(full)[0], drop_unsupported=True)
    check_convertible(source, read_lora(source)[0])  # a LoHa has nothing to drop


def test_cli_info_and_convert(tiny_sd1_dir, tmp_path):
    source = tmp_path / "loha.safetensors"
    _lycoris_file(tiny_sd1_dir, "loha", source)
    runner = CliRunner()
    result = runner.invoke(cli, ["lora", "info", str(source)])
    assert result.exit_code == 0, result.output
    assert "LoHa" in result.output and "for diffusers: loratui lora convert" in result.output
    info = json.loads(runner.invoke(cli, ["lora", "info", str(source), "--json"]).output)
    assert info["types"] == {"LoHa": info["layers"]} and not info["diffusers_ready"]

    out = tmp_path / "plain.safetensors"
    result = runner.invoke(cli, ["lora", "convert", str(source), str(out), "--model", str(tiny_sd1_dir), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{"):])
    assert report["layers"] == info["layers"] and report["layers_over_tolerance"] == 0
    assert report["dtype"] == "float32"  # the source's own type
    after = json.loads(runner.invoke(cli, ["lora", "info", str(out), "--json"]).output)
    assert after["diffusers_ready"] and set(after["types"]) <= {"LoRA", "LoCon"}

    # refusals write nothing
    before = out.read_bytes()
    for args, message in [
        ([str(source), str(out), "--model", str(tiny_sd1_dir)], "exists: pass --force"),
        ([str(source), str(source), "--model", str(tiny_sd1_dir)], "is the source file"),
        ([str(source), str(tmp_path / "x.bin"), "--model", str(tiny_sd1_dir)], "must be a .safetensors"),
        ([str(source), str(tmp_path / "y.safetensors"), "--model", str(tmp_path / "nope")], "--model: .* does not exist"),
        ([str(tiny_sd1_dir / "unet" / "diffusion_pytorch_model.safetensors"), str(tmp_path / "z.safetensors"),
          "--model", str(tiny_sd1_dir)], "not a kohya-format LoRA"),
    ]:
        result = runner.invoke(cli, ["lora", "convert", *args])
        assert result.exit_code != 0 and result.exception is not None
        assert __import__("re").search(message, str(result.exception)), (args, result.exception)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loha.safetensors", "plain.safetensors"]


@pytest.mark.parametrize("kind", ["loha", "lokr_w1ab"])
def test_a_file_of_a_few_steps_converts(kind, tiny_sd1_dir, tmp_path):
    """A few steps of training leave an update far smaller than the base layer's output: the check of
    the rebuilt update against lycoris-lora's forward read float32 rounding as a bug (1.5e-4 off)."""
    base = _base(tiny_sd1_dir)
    network = inject_lora(base, _lyco(kind))
    _randomize(network)
    with torch.no_grad():
        for module in network.all_modules():
            for name, p in module.named_parameters():
                if name != "bias":
                    p.mul_(0.05)  # a LoHa update scales by 0.05**4, a LoKr one by 0.05**3
    source = tmp_path / f"{kind}.safetensors"
    save_lora(source, network, {"ss_network_module": "lycoris.kohya", "ss_network_args": json.dumps({"algo": kind})},
              save_precision="float")
    tensors, _meta, report = convert_to_lora(source, _base(tiny_sd1_dir), dtype=torch.float32)
    assert tensors and not report.dropped
