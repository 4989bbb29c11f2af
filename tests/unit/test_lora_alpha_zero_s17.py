"""alpha = 0 in a LoRA file made elsewhere: sd-scripts' networks/lora.py (``alpha = self.lora_dim if alpha is None
or alpha == 0``) and lycoris-lora read it as alpha = rank (scale 1); ComfyUI, A1111/Forge and diffusers (PEFT's
lora_alpha / r) apply 0. `lora info` says so in one line; `lora convert --alpha-zero dim` writes alpha = rank,
which every loader reads alike, and records it in the metadata; the default (keep) leaves a copied file as it is
and refuses a conversion, which cannot keep both readings."""

from __future__ import annotations

import json

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file

from fixtures.cli_run import run_main
from loratui.core.config import describe_lora, read_lora_info

UNET = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q"
UNET2 = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_k"
TE = "lora_te_text_model_encoder_layers_0_self_attn_q_proj"


def _layer(name, rank, alpha, dtype=np.float16):
    rng = np.random.default_rng(len(name))
    out = {f"{name}.lora_down.weight": rng.standard_normal((rank, 32)).astype(dtype),
           f"{name}.lora_up.weight": rng.standard_normal((32, rank)).astype(dtype)}
    if alpha is not None:
        out[f"{name}.alpha"] = np.asarray(alpha, dtype=dtype)
    return out


def _file(path, *, alphas=(0.0, 0.0, 4.0), metadata=None, dtype=np.float16):
    tensors = _layer(UNET, 8, alphas[0], dtype) | _layer(UNET2, 8, alphas[1], dtype) | _layer(TE, 4, alphas[2], dtype)
    save_file(tensors, str(path), metadata=metadata if metadata is not None else
              {"ss_network_alpha": "0", "ss_network_dim": "8", "ss_output_name": "elsewhere"})
    return path


def _tensors(path):
    with safe_open(str(path), "np") as fh:
        return {k: fh.get_tensor(k) for k in fh.keys()}, fh.metadata()


def test_info_says_in_one_line_how_many_layers_and_what_each_loader_does(tmp_path, capsys):
    path = _file(tmp_path / "zero.safetensors")
    info = read_lora_info(path)
    assert info.zero_alpha == sorted([UNET, UNET2])
    [line] = [w for w in info.warnings() if "alpha 0" in w]
    assert line.startswith(f"2 of 3 layers have alpha 0 (e.g. {UNET2}), which loaders read two ways: ")
    assert "sd-scripts and LyCORIS read it as alpha = rank (scale 1)" in line
    assert "ComfyUI, A1111/Forge and diffusers apply alpha / rank = 0 (the layer does nothing)" in line
    assert "`loratui lora convert zero.safetensors OUT --model BASE --alpha-zero dim`" in line
    alpha = next(text for text in describe_lora(info) if text.split()[:1] == ["alpha"])
    assert "sd-scripts reads alpha 0 as rank" in alpha
    code, out, _ = run_main(["lora", "info", path], capsys)
    assert code == 0 and sum("alpha 0 (e.g." in text for text in out.splitlines()) == 1
    code, out, _ = run_main(["lora", "info", path, "--json"], capsys)
    assert code == 0 and json.loads(out)["alpha_zero"] == 2


def test_info_of_a_file_whose_every_layer_has_alpha_0(tmp_path):
    info = read_lora_info(_file(tmp_path / "all.safetensors", alphas=(0.0, 0.0, 0.0)))
    assert any(w.startswith("all 3 layers have alpha 0") for w in info.warnings())
    assert read_lora_info(_file(tmp_path / "none.safetensors", alphas=(8.0, 8.0, 4.0),
                                metadata={})).zero_alpha == []


def test_keep_copies_a_plain_file_unchanged_and_says_so(tmp_path, capsys):
    source, out = _file(tmp_path / "zero.safetensors"), tmp_path / "out.safetensors"
    code, stdout, _ = run_main(["lora", "convert", source, out, "--model", tmp_path / "none"], capsys)
    assert code == 0 and out.read_bytes() == source.read_bytes()
    assert "copied unchanged" in stdout and "its 2 layer(s) with alpha 0 keep it" in stdout
    assert "--alpha-zero dim writes alpha = rank" in stdout
    out2 = tmp_path / "out2.safetensors"
    code, stdout, _ = run_main(["lora", "convert", source, out2, "--model", "x", "--json"], capsys)
    data = json.loads(stdout)
    assert code == 0 and data["copied"] is True and data["alpha_zero"] == "keep" and data["alpha_zero_layers"] == 2


def test_dim_writes_alpha_rank_and_records_it(tmp_path, capsys):
    source, out = _file(tmp_path / "zero.safetensors"), tmp_path / "out.safetensors"
    code, stdout, _ = run_main(["lora", "convert", source, out, "--model", tmp_path / "none", "--alpha-zero", "dim"],
                               capsys)
    assert code == 0, stdout
    assert stdout.startswith(f"wrote {out}: zero.safetensors with alpha = rank on its 2 layer(s) with alpha 0")
    before, _ = _tensors(source)
    after, meta = _tensors(out)
    assert set(after) == set(before)
    for key in before:
        if key in (f"{UNET}.alpha", f"{UNET2}.alpha"):
            assert float(after[key]) == 8.0 and after[key].dtype == np.float16
        else:  # every other tensor as it was, bit for bit
            assert after[key].dtype == before[key].dtype and np.array_equal(after[key], before[key])
    assert json.loads(meta["loratui_converted_from"]) == {"alpha_zero": "dim", "alpha_zero_layers": 2}
    assert meta["ss_output_name"] == "elsewhere"
    assert meta["ss_network_alpha"] == "0"  # the layers hold 8 and 4: no one alpha to write there
    info = read_lora_info(out)
    assert info.zero_alpha == [] and not any("alpha 0" in w for w in info.warnings())
    assert info.applied_alphas() == {UNET: 8.0, UNET2: 8.0, TE: 4.0}
    assert "converted from" in "\n".join(describe_lora(info))


def test_dim_sets_a_zero_ss_network_alpha_to_the_one_alpha_the_layers_now_hold(tmp_path, capsys):
    source = _file(tmp_path / "zero.safetensors", alphas=(0.0, 0.0, 0.0))
    source_8 = tmp_path / "z8.safetensors"
    tensors, _ = _tensors(source)
    tensors[f"{TE}.lora_down.weight"] = np.ones((8, 32), np.float16)  # every layer rank 8
    tensors[f"{TE}.lora_up.weight"] = np.ones((32, 8), np.float16)
    save_file(tensors, str(source_8), metadata={"ss_network_alpha": "0"})
    out = tmp_path / "out.safetensors"
    code, stdout, _ = run_main(["lora", "convert", source_8, out, "--model", "x", "--alpha-zero", "dim", "--json"],
                               capsys)
    data = json.loads(stdout)
    assert code == 0 and data["alpha_zero"] == "dim" and data["alpha_zero_layers"] == 3 and data["cast"] is False
    _, meta = _tensors(out)
    assert meta["ss_network_alpha"] == "8"
    assert read_lora_info(out).warnings() == []


def test_dim_with_precision_also_casts(tmp_path, capsys):
    source, out = _file(tmp_path / "zero.safetensors"), tmp_path / "out.safetensors"
    code, stdout, _ = run_main(["lora", "convert", source, out, "--model", "x", "--alpha-zero", "dim",
                                "--precision", "float"], capsys)
    assert code == 0 and ", cast to float32" in stdout
    after, meta = _tensors(out)
    assert all(t.dtype == np.float32 for t in after.values()) and float(after[f"{UNET}.alpha"]) == 8.0
    record = json.loads(meta["loratui_converted_from"])
    assert record["alpha_zero"] == "dim" and record["cast_to"] == "float32" and record["cast_from"] == ["float16"]


def test_dim_on_a_file_without_alpha_0_changes_nothing(tmp_path, capsys):
    source, out = _file(tmp_path / "ok.safetensors", alphas=(8.0, 8.0, 4.0)), tmp_path / "out.safetensors"
    code, stdout, _ = run_main(["lora", "convert", source, out, "--model", "x", "--alpha-zero", "dim"], capsys)
    assert code == 0 and "copied unchanged" in stdout and "alpha 0" not in stdout
    assert out.read_bytes() == source.read_bytes()


def test_a_conversion_refuses_keep_before_the_model_loads(tmp_path, capsys):
    source, out = _file(tmp_path / "zero.safetensors"), tmp_path / "out.safetensors"
    for extra in (["--force"], ["--rank", "2"]):  # they convert (re-factor) the file: alpha 1 on every layer
        code, _, err = run_main(["lora", "convert", source, out, "--model", tmp_path / "none", *extra], capsys)
        assert code == 2 and len(err.strip().splitlines()) == 1
        assert err.startswith(f"error: {source}: 2 layer(s) have alpha 0 (e.g. {UNET2}), which loaders read two ways")
        assert "pass --alpha-zero dim" in err and "nothing was written" in err
        assert not out.exists()
    code, _, err = run_main(["lora", "convert", source, out, "--model", tmp_path / "none", "--force",
                             "--alpha-zero", "dim"], capsys)
    assert code == 2 and "--model" in err and "does not exist" in err  # on to the model: dim converts


def test_help_names_the_option(capsys):
    code, out, _ = run_main(["lora", "convert", "--help"], capsys)
    assert code == 0 and "--alpha-zero [keep|dim]" in out
