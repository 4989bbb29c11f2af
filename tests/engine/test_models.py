"""Base-model loading: diffusers folders, single files (offline, shipped configs), family detection."""

from __future__ import annotations

import shutil

import pytest
import torch

from loratui.core.config import ModelSection
from loratui.core.errors import LoratuiError
from loratui.engine.models import build_random_base_model, detect_family, load_base_model


def _cfg(path, **kw) -> ModelSection:
    return ModelSection(pretrained_model_name_or_path=str(path), **kw)


def test_load_sd1_folder(tiny_sd1_dir):
    base = load_base_model(_cfg(tiny_sd1_dir))
    assert base.family == "sd1" and not base.v_prediction
    assert len(base.text_encoders) == 1 and len(base.tokenizers) == 1
    assert "SD 1.x" in base.source_description
    assert base.noise_scheduler.config.prediction_type == "epsilon"
    assert base.noise_scheduler.config.beta_schedule == "scaled_linear"
    assert not any(p.requires_grad for p in base.unet.parameters())


def test_load_sdxl_folder(tiny_sdxl_dir):
    base = load_base_model(_cfg(tiny_sdxl_dir))
    assert base.family == "sdxl"
    assert len(base.text_encoders) == 2 and len(base.tokenizers) == 2
    assert base.tokenizers[1].pad_token == "!"
    assert "SDXL" in base.source_description


def test_v_parameterization_sets_scheduler(tiny_sd1_dir):
    base = load_base_model(_cfg(tiny_sd1_dir, v_parameterization=True))
    assert base.v_prediction and base.noise_scheduler.config.prediction_type == "v_prediction"


def _same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert set(sa) == set(sb)
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def test_single_file_matches_folder(tiny_sd1_single_file, tiny_sd1_dir):
    config = tiny_sd1_single_file.with_suffix(".config")
    base = load_base_model(_cfg(tiny_sd1_single_file), config_dir=config)
    ref = load_base_model(_cfg(config))
    assert base.family == "sd1"
    assert "detected" in base.source_description and tiny_sd1_single_file.name in base.source_description
    _same_weights(base.unet, ref.unet)
    _same_weights(base.vae, ref.vae)
    _same_weights(base.text_encoders[0], ref.text_encoders[0])


def test_ckpt_loads_with_weights_only(tiny_sd1_single_file, tmp_path, monkeypatch):
    from safetensors.torch import load_file

    ckpt = tmp_path / "tiny.ckpt"
    torch.save({"state_dict": load_file(str(tiny_sd1_single_file))}, ckpt)
    calls = []
    real_load = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get("weights_only"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    base = load_base_model(_cfg(ckpt), config_dir=tiny_sd1_single_file.with_suffix(".config"))
    assert base.family == "sd1"
    assert calls and all(c is True for c in calls)


def test_ckpt_with_pickled_code_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("owned",))

    bad = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {"x": Evil()}}, bad)
    with pytest.raises(LoratuiError, match="weights_only"):
        load_base_model(_cfg(bad))


def test_single_file_uses_shipped_config_offline(tiny_sd1_single_file, monkeypatch):
    from diffusers import StableDiffusionPipeline

    seen = {}

    def fake(path, **kwargs):
        seen.update(kwargs)
        raise RuntimeError("stop here")

    monkeypatch.setattr(StableDiffusionPipeline, "from_single_file", fake)
    with pytest.raises(LoratuiError, match="cannot load .* SD 1.x"):
        load_base_model(_cfg(tiny_sd1_single_file))
    assert seen["local_files_only"] is True
    assert (seen["config"] + "/unet/config.json") and "sd1-" in seen["config"]


@pytest.mark.parametrize("name", ["missing.safetensors", "nowhere"])
def test_missing_model_is_one_line_error(tmp_path, name):
    with pytest.raises(LoratuiError) as err:
        load_base_model(_cfg(tmp_path / name))
    assert "does not exist" in str(err.value) and "\n" not in str(err.value)


def test_empty_path_and_bad_suffix(tmp_path):
    with pytest.raises(LoratuiError, match="empty"):
        load_base_model(_cfg(""))
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"xx")
    with pytest.raises(LoratuiError, match="unsupported model file type"):
        load_base_model(_cfg(bad))


def test_wrong_family_is_refused(tiny_sd1_single_file, tiny_sdxl_dir):
    with pytest.raises(LoratuiError, match="model_family is 'sdxl'.*SD 1.x") as err:
        load_base_model(_cfg(tiny_sd1_single_file, model_family="sdxl"))
    assert "\n" not in str(err.value)
    with pytest.raises(LoratuiError, match="model_family is 'sd1'.*SDXL"):
        load_base_model(_cfg(tiny_sdxl_dir, model_family="sd1"))


def test_not_a_checkpoint(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "lora.safetensors"
    save_file({"lora_unet_x.lora_down.weight": torch.zeros(2, 2)}, str(path))
    with pytest.raises(LoratuiError, match=r"this is a LoRA .*not a base model"):
        load_base_model(_cfg(path))
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"\x00" * 20)
    with pytest.raises(LoratuiError, match="not a valid .safetensors"):
        load_base_model(_cfg(corrupt))


def test_detect_family_from_keys():
    assert detect_family(["cond_stage_model.transformer.text_model.embeddings.token_embedding.weight",
                          "model.diffusion_model.input_blocks.0.0.weight"]) == "sd1"
    assert detect_family(["cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight",
                          "model.diffusion_model.input_blocks.0.0.weight"]) == "sd2"
    assert detect_family(["conditioner.embedders.0.transformer.text_model.final_layer_norm.weight",
                          "conditioner.embedders.1.model.ln_final.weight",
                          "model.diffusion_model.label_emb.0.0.weight"]) == "sdxl"
    with pytest.raises(LoratuiError, match="no text encoder"):
        detect_family(["model.diffusion_model.input_blocks.0.0.weight"])


def test_separate_vae_file_in_original_layout(tiny_sd1_dir, tmp_path):
    from safetensors.torch import save_file

    from fixtures.tiny_models import _vae_to_original

    ref = load_base_model(_cfg(tiny_sd1_dir))
    torch.manual_seed(5)
    other = {k: torch.randn_like(v) for k, v in ref.vae.state_dict().items()}
    original = {k.removeprefix("first_stage_model."): v.contiguous()
                for k, v in _vae_to_original(other, 2).items()}
    path = tmp_path / "vae.safetensors"
    save_file(original, str(path))
    base = load_base_model(_cfg(tiny_sd1_dir, vae=str(path)))
    for k, v in base.vae.state_dict().items():
        assert torch.equal(v, other[k]), k
    assert "VAE from" in base.source_description


def test_separate_vae_folder_and_missing(tiny_sd1_dir, tmp_path):
    base = load_base_model(_cfg(tiny_sd1_dir, vae=str(tiny_sd1_dir)))  # folder with a vae/ subfolder
    assert base.vae is not None
    with pytest.raises(LoratuiError, match="model.vae: .* does not exist"):
        load_base_model(_cfg(tiny_sd1_dir, vae=str(tmp_path / "nope.safetensors")))


def test_shipped_configs_build_the_real_architectures():
    """Parameter counts of the published SD1.5 / SD2 / SDXL parts (built on the meta device: no memory)."""
    expected = {
        "sd15": (859_520_964, 83_653_863, [123_060_480]),
        "sd2": (865_910_724, 83_653_863, [340_387_840]),
        "sdxl": (2_567_463_684, 83_653_863, [123_060_480, 694_659_840]),
    }
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    for arch, (unet, vae, tes) in expected.items():
        base = build_random_base_model(arch, device="meta")
        assert (count(base.unet), count(base.vae), [count(t) for t in base.text_encoders]) == (unet, vae, tes)
    with pytest.raises(LoratuiError, match="unknown architecture"):
        build_random_base_model("sd3", device="meta")


def test_shipped_tokenizer_is_clips():
    base = build_random_base_model("sdxl", device="meta")
    tok1, tok2 = base.tokenizers
    assert len(tok1) == 49408
    assert tok1("a photo of a cat").input_ids == [49406, 320, 1125, 539, 320, 2368, 49407]
    ids2 = tok2("a photo of a cat", padding="max_length", max_length=10).input_ids
    assert ids2 == [49406, 320, 1125, 539, 320, 2368, 49407, 0, 0, 0]
    ids1 = tok1("a photo of a cat", padding="max_length", max_length=10).input_ids
    assert ids1[-1] == 49407


def test_config_folder_is_cached_and_complete(tmp_path, monkeypatch):
    from loratui.engine.model_configs import config_folder

    monkeypatch.setenv("LORATUI_CACHE_DIR", str(tmp_path))
    for variant in ("sd1", "sd2", "sd2-v", "sdxl"):
        folder = config_folder(variant)
        assert (folder / "model_index.json").is_file() and (folder / "unet" / "config.json").is_file()
        assert config_folder(variant) == folder
    shutil.rmtree(tmp_path)


def test_text_encoder_with_missing_tensors_is_refused(tiny_sd1_dir, tmp_path):
    from safetensors.torch import load_file, save_file

    folder = tmp_path / "model"
    shutil.copytree(tiny_sd1_dir, folder)
    weights = next((folder / "text_encoder").glob("*.safetensors"))
    tensors = load_file(str(weights))
    save_file({k: v for k, v in tensors.items() if "layers.1." not in k}, str(weights), metadata={"format": "pt"})
    with pytest.raises(LoratuiError, match=r"text_encoder: \d+ tensor\(s\) missing from the weights"):
        load_base_model(_cfg(folder))


def test_single_file_with_missing_tensors_is_refused(tiny_sd1_single_file, tmp_path):
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(tiny_sd1_single_file))
    broken = tmp_path / tiny_sd1_single_file.name
    save_file({k: v for k, v in tensors.items() if "encoder.layers.1." not in k}, str(broken))
    with pytest.raises(LoratuiError, match=r"tensor\(s\) of the text encoder 1 are missing from the checkpoint"):
        load_base_model(_cfg(broken), config_dir=tiny_sd1_single_file.with_suffix(".config"))
