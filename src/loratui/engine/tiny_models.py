"""Tiny SD1- and SDXL-shaped pipelines: for the tests, the benchmarks and `./dev.sh demo`.

Everything is random (seeded) and small: a few MB on disk, built in about a second. The tokenizer is a
real CLIP BPE tokenizer with a handful of merges (byte-level, so every caption tokenizes).
"""

from __future__ import annotations

from pathlib import Path

import torch

from loratui.engine.clip_vocab import clip_vocab, write_clip_tokenizer
from loratui.engine.unet_names import to_original_name, unet_prefix_map

TINY_MERGES = [("t", "h"), ("th", "e</w>"), ("a", "n"), ("i", "n"), ("o", "n</w>"), ("e", "r"),
               ("a", "t</w>"), ("r", "e"), ("g", "ir"), ("i", "r"), ("l</w>", "x"), ("c", "at</w>"),
               ("d", "o"), ("do", "g</w>"), ("s", "t"), ("p", "h"), ("o", "to</w>"), ("t", "o</w>")]
TINY_VOCAB_SIZE = len(clip_vocab(TINY_MERGES))
BOS_ID = TINY_VOCAB_SIZE - 2
EOS_ID = TINY_VOCAB_SIZE - 1


def _text_config(hidden: int = 32, projection: int = 32, act: str = "quick_gelu"):
    from transformers import CLIPTextConfig

    return CLIPTextConfig(
        vocab_size=TINY_VOCAB_SIZE, hidden_size=hidden, intermediate_size=hidden * 2,
        num_attention_heads=4, num_hidden_layers=3, max_position_embeddings=77,
        projection_dim=projection, hidden_act=act, bos_token_id=BOS_ID, eos_token_id=EOS_ID,
        pad_token_id=EOS_ID,
    )


def _tiny_vae():
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        block_out_channels=(32, 64), layers_per_block=1, norm_num_groups=32, sample_size=64,
    )


def _scheduler(prediction_type: str = "epsilon"):
    from diffusers import DDPMScheduler

    return DDPMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                         num_train_timesteps=1000, clip_sample=False, prediction_type=prediction_type,
                         steps_offset=1)


def build_tiny_sd1_pipeline(folder: Path):
    """Return an in-memory tiny SD1-shaped StableDiffusionPipeline (tokenizer written to ``folder``)."""
    from diffusers import StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, layers_per_block=1,
        block_out_channels=(32, 64), down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=32,
        attention_head_dim=8, norm_num_groups=32,
    )
    vae = _tiny_vae()
    text_encoder = CLIPTextModel(_text_config())
    tok_dir = write_clip_tokenizer(Path(folder) / "_tok", TINY_MERGES)
    tokenizer = CLIPTokenizer.from_pretrained(tok_dir)
    return StableDiffusionPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, scheduler=_scheduler(),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )


def make_tiny_sd1(folder: Path) -> Path:
    """Write a tiny SD1-shaped diffusers folder and return it."""
    folder = Path(folder)
    pipe = build_tiny_sd1_pipeline(folder)
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder


def make_tiny_sdxl(folder: Path) -> Path:
    """Write a tiny SDXL-shaped diffusers folder (two text encoders, text_time embedding)."""
    from diffusers import StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    folder = Path(folder)
    torch.manual_seed(1)
    unet = UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, layers_per_block=1,
        block_out_channels=(32, 64), down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=64,
        transformer_layers_per_block=(1, 2), attention_head_dim=(2, 4), use_linear_projection=True,
        addition_embed_type="text_time", addition_time_embed_dim=8,
        projection_class_embeddings_input_dim=32 + 6 * 8, norm_num_groups=32,
    )
    vae = _tiny_vae()
    text_encoder = CLIPTextModel(_text_config(act="quick_gelu"))
    text_encoder_2 = CLIPTextModelWithProjection(_text_config(act="gelu"))
    tok1 = CLIPTokenizer.from_pretrained(write_clip_tokenizer(folder / "_tok1", TINY_MERGES))
    tok2 = CLIPTokenizer.from_pretrained(write_clip_tokenizer(folder / "_tok2", TINY_MERGES, pad_token="!"))
    pipe = StableDiffusionXLPipeline(
        vae=vae, text_encoder=text_encoder, text_encoder_2=text_encoder_2, tokenizer=tok1,
        tokenizer_2=tok2, unet=unet, scheduler=_scheduler(), force_zeros_for_empty_prompt=True,
    )
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder


# ---- diffusers -> original (ldm) checkpoint layout, for the single-file test ----------------------

_VAE_RESNET = {"conv_shortcut": "nin_shortcut"}
_VAE_ATTN = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}


def _vae_to_original(sd: dict[str, torch.Tensor], n_blocks: int) -> dict[str, torch.Tensor]:
    out = {}
    for key, value in sd.items():
        k = key
        k = k.replace("mid_block.resnets.0", "mid.block_1").replace("mid_block.resnets.1", "mid.block_2")
        if "mid_block.attentions.0." in k:
            k = k.replace("mid_block.attentions.0.", "mid.attn_1.")
            for a, b in _VAE_ATTN.items():
                k = k.replace(f"attn_1.{a}.", f"attn_1.{b}.")
            if value.ndim == 2:
                value = value[:, :, None, None]  # original stores attention projections as 1x1 convs
        if k.startswith("encoder.down_blocks."):
            i = k.split(".")[2]
            k = k.replace(f"encoder.down_blocks.{i}.resnets.", f"encoder.down.{i}.block.")
            k = k.replace(f"encoder.down_blocks.{i}.downsamplers.0.", f"encoder.down.{i}.downsample.")
        if k.startswith("decoder.up_blocks."):
            i = int(k.split(".")[2])
            j = n_blocks - 1 - i
            k = k.replace(f"decoder.up_blocks.{i}.resnets.", f"decoder.up.{j}.block.")
            k = k.replace(f"decoder.up_blocks.{i}.upsamplers.0.", f"decoder.up.{j}.upsample.")
        k = k.replace("conv_norm_out", "norm_out")
        for a, b in _VAE_RESNET.items():
            k = k.replace(f".{a}.", f".{b}.")
        out["first_stage_model." + k] = value
    return out


def make_tiny_sd1_single_file(path: Path, *, config_dir: Path | None = None) -> Path:
    """Write the tiny SD1 model as one original-layout .safetensors (or .ckpt) checkpoint.

    The matching diffusers folder (needed as the loader's ``config``) is written to ``config_dir``
    (default: ``<path>.config``), with the same weights.
    """
    from safetensors.torch import save

    path = Path(path)
    config_dir = Path(config_dir) if config_dir else path.with_suffix(".config")
    make_tiny_sd1(config_dir)
    pipe = build_tiny_sd1_pipeline(config_dir)  # same seed -> same weights as the folder
    prefix_map = unet_prefix_map(pipe.unet.config)
    sd: dict[str, torch.Tensor] = {}
    for key, value in pipe.unet.state_dict().items():
        sd["model.diffusion_model." + to_original_name(key, prefix_map)] = value
    sd.update(_vae_to_original(pipe.vae.state_dict(), len(pipe.vae.config.block_out_channels)))
    for key, value in pipe.text_encoder.state_dict().items():
        if key.startswith("text_model."):
            key = key[len("text_model."):]
        sd["cond_stage_model.transformer.text_model." + key] = value
    sd = {k: v.contiguous().clone() for k, v in sd.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".ckpt":
        torch.save({"state_dict": sd}, path)
    else:
        path.write_bytes(save(sd))  # not save_file, which makes the file 0600
    return path
