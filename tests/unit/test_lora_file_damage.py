"""`loratui lora info` on broken files (hunt2 finding 5): layers without an alpha tensor (loaders read alpha =
rank, whatever ss_network_alpha says), a lora_down without its lora_up, factors of two ranks. All from the
header's shapes, no tensor read, no torch."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import save_file

from fixtures.cli_run import run_main
from loratui.core.config import describe_lora, read_lora_info


def _write(path, tensors, metadata=None):
    save_file({k: np.zeros(shape, dtype=np.float16) for k, shape in tensors.items()}, str(path), metadata=metadata)
    return path


def _lora(names, rank=8, alpha=True, down=None, up=None):
    out = {}
    for name in names:
        out[f"{name}.lora_down.weight"] = down or (rank, 32)
        out[f"{name}.lora_up.weight"] = up or (64, rank)
        if alpha:
            out[f"{name}.alpha"] = ()
    return out


def test_no_alpha_tensor_is_read_as_rank_and_the_strength_change_is_said(tmp_path):
    path = _write(tmp_path / "noalpha.safetensors", _lora(["lora_unet_a", "lora_unet_b"], alpha=False),
                  {"ss_network_dim": "8", "ss_network_alpha": "4.0"})
    info = read_lora_info(path)
    assert info.no_alpha == ["lora_unet_a", "lora_unet_b"] and not info.damaged
    assert info.alpha == 8.0  # what loaders apply, not the metadata's 4.0
    data = info.to_dict()
    assert data["alpha"] == 8.0 and data["alpha_missing"] == 2 and data["diffusers_ready"]
    text = "\n".join(describe_lora(info))
    assert "4.0 (metadata only: loaders read the layers without an alpha tensor as alpha = rank)" in text
    warning = next(line for line in text.splitlines() if line.startswith("warning:"))
    assert "no layer has an alpha tensor" in warning and "alpha = rank (8)" in warning
    assert "2x the trained strength" in warning and "weight 0.5" in warning


def test_some_alphas_missing_and_all_present(tmp_path):
    tensors = _lora(["lora_unet_a", "lora_unet_b"]) | _lora(["lora_te_c"], alpha=False)
    info = read_lora_info(_write(tmp_path / "some.safetensors", tensors))
    assert info.no_alpha == ["lora_te_c"] and info.alpha is None
    assert "1 of 3 layers have no alpha tensor (e.g. lora_te_c)" in info.warnings()[0]

    whole_path = tmp_path / "whole.safetensors"  # alpha tensors of 4.0, as the metadata says (loaders read the tensors)
    save_file({k: np.full(shape, 4.0 if k.endswith(".alpha") else 0.0, dtype=np.float16)
               for k, shape in _lora(["lora_unet_a"]).items()}, str(whole_path), metadata={"ss_network_alpha": "4.0"})
    whole = read_lora_info(whole_path)
    assert whole.no_alpha == [] and whole.alpha == 4.0 and whole.warnings() == []
    assert not any(line.startswith("warning:") for line in describe_lora(whole))


@pytest.mark.parametrize("tensors, layer, problem", [
    ({"lora_unet_a.lora_down.weight": (8, 32), "lora_unet_a.alpha": ()}, "lora_unet_a",
     "has lora_down but no lora_up"),
    ({"lora_unet_a.lora_up.weight": (64, 8), "lora_unet_a.alpha": ()}, "lora_unet_a", "has lora_up but no lora_down"),
    (_lora(["lora_te_a"], down=(4, 32), up=(64, 8)), "lora_te_a", "has lora_down of rank 4 and lora_up of rank 8"),
    ({"lora_unet_a.lora_down.weight": (4, 16, 3, 3), "lora_unet_a.lora_up.weight": (32, 2, 1, 1)}, "lora_unet_a",
     "has lora_down of rank 4 and lora_up of rank 2"),
    ({"lora_unet_a.hada_w1_a": (32, 4), "lora_unet_a.hada_w1_b": (4, 32), "lora_unet_a.hada_w2_a": (32, 4)},
     "lora_unet_a", "but no hada_w2_b"),
    ({"lora_unet_a.hada_w1_a": (32, 4), "lora_unet_a.hada_w1_b": (2, 32), "lora_unet_a.hada_w2_a": (32, 4),
      "lora_unet_a.hada_w2_b": (4, 32)}, "lora_unet_a", "hada_w1_b of rank 2 and hada_w1_a of rank 4"),
    ({"lora_unet_a.lokr_w1": (4, 4)}, "lora_unet_a", "but no lokr_w2_a, lokr_w2_b"),
    ({"lora_unet_a.alpha": ()}, "lora_unet_a", "has only alpha, no weights"),
])
def test_damaged_layers_are_named_and_not_said_to_load(tmp_path, tensors, layer, problem):
    path = _write(tmp_path / "bad.safetensors", _lora(["lora_unet_ok"]) | tensors)
    info = read_lora_info(path)
    assert list(info.damaged) == [layer] and problem in info.damaged[layer]
    assert info.loads_in.startswith("nowhere cleanly") and "ComfyUI" not in info.loads_in
    assert not info.diffusers_ready
    assert layer in info.damage_message() and "damaged or incomplete" in info.damage_message()
    lines = describe_lora(info)
    assert any(line.startswith("warning: the file is damaged") and problem in line for line in lines)
    assert info.to_dict()["damaged"] == {layer: info.damaged[layer]}


def test_sound_layouts_are_not_flagged(tmp_path):
    path = _write(tmp_path / "ok.safetensors", {
        # Tucker LoCon and LoHa: the factors' layout differs from the plain one
        "lora_unet_a.lora_down.weight": (4, 16, 1, 1), "lora_unet_a.lora_mid.weight": (4, 4, 3, 3),
        "lora_unet_a.lora_up.weight": (32, 4, 1, 1), "lora_unet_a.alpha": (),
        "lora_unet_b.hada_w1_a": (4, 32), "lora_unet_b.hada_w1_b": (4, 16), "lora_unet_b.hada_t1": (4, 4, 3, 3),
        "lora_unet_b.hada_w2_a": (4, 32), "lora_unet_b.hada_w2_b": (4, 16), "lora_unet_b.hada_t2": (4, 4, 3, 3),
        "lora_unet_b.alpha": (),
        # a LoKr of two whole factors has no rank: scale 1 with or without an alpha
        "lora_te_c.lokr_w1": (4, 4), "lora_te_c.lokr_w2": (8, 8),
        # a LoKr with a decomposed w1: its rank is w1_b's, as ComfyUI and lycoris-lora read it
        "lora_te_d.lokr_w1_a": (4, 2), "lora_te_d.lokr_w1_b": (2, 4), "lora_te_d.lokr_w2": (8, 8),
        "lora_unet_e.diff": (16, 16),
    })
    info = read_lora_info(path)
    assert info.damaged == {} and info.no_alpha == ["lora_te_d"] and info.ranks["lora_te_d"] == 2


def test_hunt_files_through_the_cli(tmp_path, capsys):
    noalpha = _write(tmp_path / "noalpha.safetensors", _lora(["lora_unet_a"], alpha=False),
                     {"ss_network_alpha": "4.0"})
    code, out, _ = run_main(["lora", "info", noalpha, "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["alpha"] == 8.0 and data["alpha_missing"] == 1 and data["warnings"]

    noup = _write(tmp_path / "noup.safetensors", _lora(["lora_unet_a"]) | {"lora_te_b.lora_down.weight": (8, 32)})
    code, out, _ = run_main(["lora", "info", noup], capsys)
    assert code == 0 and "warning: the file is damaged or incomplete" in out and "lora_te_b" in out
    assert "loads in           ComfyUI" not in out

    (tmp_path / "text.safetensors").write_text("not a LoRA\n")
    code, out, err = run_main(["lora", "info", tmp_path / "text.safetensors", "--json"], capsys)
    assert code == 2 and "error:" in err
    assert json.loads(out) == {"error": err.strip().removeprefix("error: "), "exit_code": 2}
