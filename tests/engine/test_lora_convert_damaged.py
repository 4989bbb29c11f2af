"""`loratui lora convert` on odd and damaged files (hunt2 findings 4 and 6): a missing alpha is alpha = rank,
as every loader reads it (no more "internal error: TypeError"); a lora_down without its lora_up, factors of
two ranks and NaN/inf weights are refused with exit 2 and nothing written (a NaN layer was "all zero")."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from fixtures.cli_run import run_main
from loratui.core.errors import LoratuiError
from loratui.engine.lora_convert import convert_to_lora
from test_lora_convert import _lycoris_file
from test_lycoris import _base


def _rank(tensors, name):
    if f"{name}.lora_down.weight" in tensors:
        return tensors[f"{name}.lora_down.weight"].shape[0]
    return tensors[f"{name}.hada_w1_b"].shape[0]


@pytest.fixture(scope="module")
def sources(tiny_sd1_dir, tmp_path_factory):
    """A LoCon and a LoHa file of the tiny SD1 model (alpha 2 of rank 4: scale 0.5)."""
    folder = tmp_path_factory.mktemp("sources")
    out = {}
    for kind in ("locon", "loha"):
        _lycoris_file(tiny_sd1_dir, kind, folder / f"{kind}.safetensors", bias=False)
        out[kind] = load_file(str(folder / f"{kind}.safetensors"))
    return out


def _variant(tmp_path, name, tensors):
    path = tmp_path / f"{name}.safetensors"
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path))
    return path


@pytest.mark.parametrize("kind", ["locon", "loha"])
def test_a_missing_alpha_is_read_as_rank(kind, sources, tiny_sd1_dir, tmp_path):
    """sd-scripts' networks/lora.py ("support old LoRA without alpha"), ComfyUI (scale 1.0) and lycoris-lora
    (alpha = lora_dim) all read a missing alpha as alpha = rank: the same update as alpha = rank written out."""
    tensors = sources[kind]
    names = sorted({k.split(".", 1)[0] for k in tensors})
    at_rank = {k: (torch.tensor(float(_rank(tensors, k.split(".")[0]))) if k.endswith(".alpha") else v)
               for k, v in tensors.items()}
    no_alpha = {k: v for k, v in tensors.items() if not k.endswith(".alpha")}
    some_alpha = {k: v for k, v in at_rank.items() if k != f"{names[0]}.alpha"}  # one layer without
    base = _base(tiny_sd1_dir)
    expected, _, _ = convert_to_lora(_variant(tmp_path, "at_rank", at_rank), base, tolerance=1e-6,
                                     dtype=torch.float32)
    for label, variant, missing in [("none", no_alpha, len(names)), ("some", some_alpha, 1)]:
        got, _, report = convert_to_lora(_variant(tmp_path, label, variant), base, tolerance=1e-6,
                                         dtype=torch.float32)
        assert report.no_alpha == missing
        assert got.keys() == expected.keys()
        for key in expected:
            torch.testing.assert_close(got[key], expected[key], rtol=0, atol=1e-6)


def test_cli_says_once_that_alphas_were_missing(sources, tiny_sd1_dir, tmp_path, capsys):
    no_alpha = {k: v for k, v in sources["locon"].items() if not k.endswith(".alpha")}
    layers = len({k.split(".", 1)[0] for k in no_alpha})
    source = _variant(tmp_path, "noalpha", no_alpha)
    code, out, err = run_main(["lora", "convert", source, tmp_path / "a.safetensors", "--model", tiny_sd1_dir],
                              capsys)
    assert code == 0, err
    assert out.count("have no alpha") == 1
    assert f"{layers} layers have no alpha: read as alpha = rank, as the loaders do" in out
    code, out, err = run_main(["lora", "convert", source, tmp_path / "b.safetensors", "--model", tiny_sd1_dir,
                               "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["alpha_missing"] == layers


def _damaged(sources, how):
    tensors = dict(sources["locon"])
    name = sorted(k.split(".", 1)[0] for k in tensors if k.endswith("lora_up.weight"))[0]
    up, down = f"{name}.lora_up.weight", f"{name}.lora_down.weight"
    if how == "noup":
        del tensors[up]
    elif how == "nodown":
        del tensors[down]
    elif how == "mismatch":
        tensors[down] = tensors[down][:2].clone()  # rank 2 against an up of rank 4
    elif how == "nan":
        tensors[up] = torch.full_like(tensors[up], float("nan"))
    elif how == "inf":
        tensors[down] = tensors[down].clone()
        tensors[down][0, 0] = float("inf")
    return tensors, name


@pytest.mark.parametrize("how, message", [
    ("noup", "has lora_down but no lora_up"), ("nodown", "has lora_up but no lora_down"),
    ("mismatch", "has lora_down of rank 2 and lora_up of rank 4"), ("nan", "have NaN/inf weights"),
    ("inf", "have NaN/inf weights"),
])
def test_a_damaged_file_is_refused_with_exit_2_and_nothing_written(how, message, sources, tiny_sd1_dir, tmp_path,
                                                                   capsys):
    tensors, name = _damaged(sources, how)
    source = _variant(tmp_path, how, tensors)
    with pytest.raises(LoratuiError, match="damaged") as refused:
        convert_to_lora(source, _base(tiny_sd1_dir))
    assert name in str(refused.value) and message in str(refused.value)

    before = sorted(p.name for p in tmp_path.iterdir())
    out = tmp_path / "out.safetensors"
    code, stdout, err = run_main(["lora", "convert", source, out, "--model", tiny_sd1_dir], capsys)
    assert code == 2 and "internal error" not in err
    error = err.strip().splitlines()[-1]
    assert error.startswith("error: ") and name in error and message in error and "damaged" in error
    assert "all zero" not in stdout
    code, stdout, err = run_main(["lora", "convert", source, out, "--model", tiny_sd1_dir, "--json"], capsys)
    assert code == 2 and json.loads(stdout)["exit_code"] == 2 and name in json.loads(stdout)["error"]
    assert sorted(p.name for p in tmp_path.iterdir()) == before
