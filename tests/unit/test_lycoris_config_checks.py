"""LyCORIS config checks: quoted network_args values read one way everywhere, a
U-Net-only preset with network_train_text_encoder_only named, a resume that builds the same network
accepted, the export's conv_dim merged only where it applies, `config explain LyCORIS_preset`, `lora info`
of a Tucker LoKr file, and the one line a crashed run ends with."""

from __future__ import annotations

import json
import struct

import pytest
from click.testing import CliRunner

from loratui.cli import cli
from loratui.core.config import (NetworkSection, network_identity, network_kind, network_problems,
                                 read_lora_info, sdscripts_network_kwargs, split_network_args)
from loratui.engine.resume_check import other_changes, resume_conflicts
from test_sdscripts_export import _cfg, build_sdscripts, project  # noqa: F401 (fixture)


def _net(*args, **kw) -> NetworkSection:
    return NetworkSection(network_module="lycoris.kohya", network_args=list(args), **kw)


def test_quoted_values_are_read_without_their_quotes_everywhere(project):  # noqa: F811
    net = _net('algo="loha"', "conv_dim='4'", 'preset = "attn-mlp"')
    assert network_problems(net) == []
    assert split_network_args(net.network_args)[0] == {"algo": "loha", "conv_dim": "4", "preset": "attn-mlp"}
    assert sdscripts_network_kwargs(net) == {"algo": "loha", "conv_dim": "4", "preset": "attn-mlp", "dropout": None}
    assert network_kind(net) == "LyCORIS LoHa"
    cfg = _cfg(project, network={"network_module": "lycoris.kohya", "conv_dim": 0,
                                 "network_args": list(net.network_args)})
    assert build_sdscripts(cfg).train_args["network_args"] == ["algo=loha", "conv_dim=4", "preset=attn-mlp"]
    # a quote that does not close is the user's value, and config check says what is wrong with it
    assert "must be an integer" in network_problems(_net('conv_dim="4'))[0]


@pytest.mark.parametrize("preset", ["unet-only", "unet-convblock-only", "unet-transformer-only"])
def test_a_unet_only_preset_with_text_encoder_only_is_named(preset):
    problems = network_problems(_net("algo=loha", f"preset={preset}", network_train_text_encoder_only=True))
    assert len(problems) == 1 and f"preset={preset} trains no text-encoder layer" in problems[0]
    assert "network_train_text_encoder_only" in problems[0] and "nothing would be trained" in problems[0]
    assert network_problems(_net("algo=loha", f"preset={preset}", network_train_unet_only=True)) == []
    assert network_problems(_net("algo=loha", "preset=attn-mlp", network_train_text_encoder_only=True)) == []


def test_network_identity_ignores_order_spacing_defaults_and_dropouts():
    a = network_identity(["algo=loha", "conv_dim=4", "use_tucker=True"])
    b = network_identity(["conv_dim = 4.0", 'algo="loha"', "use_cp=true", "preset=full", "rank_dropout=0.2",
                          "factor=-1", "use_scalar=false"])
    assert a[0] == b[0] == {"algo": "loha", "conv_dim": "4", "use_tucker": "true"}
    assert b[1] == {"rank_dropout": "0.2"}
    assert network_identity(["algo=lora"])[0] == network_identity([])[0] == {}
    assert network_identity(["algo=lokr", "decompose_both=false"])[0]["decompose_both"] == "on"  # any value is on


def _saved(args, **network):
    return {"network": {"network_module": "lycoris.kohya", "network_args": args, **network}}


@pytest.mark.parametrize("now", [
    ["preset=attn-mlp", "algo=loha"],  # reordered
    ["algo = loha", "preset=attn-mlp"],  # spaced
    ['algo="loha"', "preset=attn-mlp"],  # quoted
    ["algo=loha", "preset=attn-mlp", "rank_dropout=0.2", "module_dropout=0.1"],  # dropouts: like network_dropout
])
def test_resume_accepts_args_that_build_the_same_network(now):
    saved, current = _saved(["algo=loha", "preset=attn-mlp"]), _saved(now)
    errors, _ = resume_conflicts(saved, current, state="s", lora="l")
    assert errors == []
    change = other_changes(saved, current)
    if "rank_dropout=0.2" in now:
        assert "network.network_args rank_dropout unset -> \"0.2\"" in change
        assert "network.network_args module_dropout" in change
    else:
        assert change is None


def test_resume_still_refuses_another_network_naming_the_raw_values():
    errors, _ = resume_conflicts(_saved(["algo=loha", "preset=attn-mlp"]), _saved(["algo=lokr", "preset=attn-mlp"]),
                                 state="s", lora="l")
    assert len(errors) == 1 and "network.network_args was ['algo=loha', 'preset=attn-mlp']" in errors[0]
    errors, _ = resume_conflicts(_saved(["algo=loha"]), _saved(["algo=loha", "conv_dim=2"]), state="s", lora="l")
    assert len(errors) == 1


def test_export_merges_conv_dim_only_for_the_module_it_applies_to(project):  # noqa: F811
    cfg = _cfg(project, network={"network_module": "lycoris.kohya", "conv_dim": 4, "conv_alpha": 1,
                                 "network_args": ["algo=loha", "preset=attn-mlp"]})
    export = build_sdscripts(cfg)
    assert export.train_args["network_args"] == ["algo=loha", "preset=attn-mlp"]
    assert any("conv_dim = 4 left out" in note for note in export.notes)
    plain = build_sdscripts(_cfg(project, network={"conv_dim": 8, "conv_alpha": 4}))
    assert plain.train_args["network_args"] == ["conv_dim=8", "conv_alpha=4"]


def test_explain_lycoris_preset_says_where_the_import_puts_it():
    out = CliRunner().invoke(cli, ["config", "explain", "LyCORIS_preset"]).output
    assert "-> network.network_args" in out and "not imported" not in out
    assert "preset=..." in out
    out = CliRunner().invoke(cli, ["config", "explain", "constrain"]).output
    assert "not imported" in out and "Diag-OFT" in out


def _header_only_file(path, shapes: dict[str, list[int]]) -> None:
    """A .safetensors with these tensors (zeros, float32): lora info reads the header only."""
    header, offset = {}, 0
    for key, shape in shapes.items():
        size = 4
        for dim in shape:
            size *= dim
        header[key] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * offset)


def test_lora_info_of_a_tucker_lokr_file_does_not_claim_lycoris_loads_it(tmp_path):
    conv, lin = "lora_unet_down_blocks_0_resnets_0_conv1", "lora_unet_down_blocks_0_attentions_0_proj_in"
    path = tmp_path / "lokr.safetensors"
    _header_only_file(path, {f"{conv}.lokr_w1": [4, 4], f"{conv}.lokr_w2_a": [4, 8], f"{conv}.lokr_w2_b": [4, 8],
                             f"{conv}.lokr_t2": [4, 4, 3, 3], f"{conv}.alpha": [],
                             f"{lin}.lokr_w1": [4, 4], f"{lin}.lokr_w2": [8, 8], f"{lin}.alpha": []})
    info = read_lora_info(path)
    assert info.tucker_lokr == [conv] and not info.damaged
    assert info.loads_in.startswith("ComfyUI, A1111/Forge; sd-scripts (lycoris.kohya) and loratui only as "
                                    "network_weights with use_tucker=true")
    assert "cannot read its lokr_t2" in info.loads_in and "loratui lora convert" in info.loads_in
    plain = tmp_path / "plain.safetensors"
    _header_only_file(plain, {f"{lin}.lokr_w1": [4, 4], f"{lin}.lokr_w2": [8, 8], f"{lin}.alpha": []})
    assert read_lora_info(plain).loads_in.startswith("ComfyUI, A1111/Forge, sd-scripts (lycoris.kohya), LyCORIS;")


def test_lora_info_of_a_dora_on_input_file_names_the_args_lycoris_needs(tmp_path):
    lin = "lora_unet_down_blocks_0_attentions_0_proj_in"
    path = tmp_path / "dora_in.safetensors"
    _header_only_file(path, {f"{lin}.lora_down.weight": [4, 32], f"{lin}.lora_up.weight": [64, 4],
                             f"{lin}.alpha": [], f"{lin}.dora_scale": [1, 32]})
    info = read_lora_info(path)
    assert info.dora_on_input == [lin] and not info.damaged
    assert "network_weights with wd_on_output=false" in info.loads_in and "loratui lora convert" in info.loads_in
    _header_only_file(path, {f"{lin}.lora_down.weight": [4, 32], f"{lin}.lora_up.weight": [64, 4],
                             f"{lin}.alpha": [], f"{lin}.dora_scale": [64, 1]})
    assert read_lora_info(path).loads_in.startswith("ComfyUI, A1111/Forge, sd-scripts (lycoris.kohya), LyCORIS;")


def test_a_crashed_run_ends_with_one_line_and_a_crash_log(tmp_path, monkeypatch, capsys):
    from loratui.engine.run_checks import crash_line

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("LORATUI_DEBUG", raising=False)
    try:
        {}['"loha"']
    except KeyError as exc:
        line = crash_line(exc)
    assert line.startswith("internal error: KeyError: '\"loha\"' (details in ") and "\n" not in line
    logs = list((tmp_path / "loratui").glob("train-crash-*.log"))
    assert len(logs) == 1 and "Traceback" in logs[0].read_text() and capsys.readouterr().err == ""
