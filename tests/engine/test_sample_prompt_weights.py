"""Sample prompts encoded as sd-scripts' sample pipelines encode them (engine/text.py encode_sample_prompt):
A1111 weights and prompts longer than 75 tokens, on the tiny SD1 / SDXL models (CPU).

sd-scripts: SD1/SD2 sample with library/lpw_stable_diffusion.py (225 tokens, whole 77-token windows,
weights rescaled to the unweighted mean); SDXL with sdxl_lpw_stable_diffusion.py, which tokenizes with
the training's max_token_length and multiplies the weights in without rescaling."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from PIL import Image

from fixtures.torch_threads import one_torch_thread  # noqa: F401 - autouse: one torch thread
from loratui.engine.sampling import SamplePrompt, generate_samples
from loratui.engine.text import encode_sample_prompt, encode_text, parse_prompt_attention, tokenize

FILLER = ", ".join(f"tag{i}" for i in range(16))  # 79 tokens with the tiny tokenizer's few merges


@pytest.fixture(scope="module")
def sd1(tiny_sd1_dir):
    return _load(tiny_sd1_dir)


@pytest.fixture(scope="module")
def sdxl(tiny_sdxl_dir):
    return _load(tiny_sdxl_dir)


def _load(folder):
    from loratui.engine.models import load_base_model

    return load_base_model(SimpleNamespace(pretrained_model_name_or_path=str(folder), model_family="auto",
                                           v_parameterization=False, vae=""))


def _tokens(base, text: str) -> int:
    return len(base.tokenizers[0](text).input_ids) - 2


def test_a1111_weights_are_read_as_lpw_reads_them():
    assert parse_prompt_attention("normal text") == [("normal text", 1.0)]
    assert parse_prompt_attention("an (important) word") == [("an ", 1.0), ("important", 1.1), (" word", 1.0)]
    assert parse_prompt_attention("(unbalanced") == [("unbalanced", 1.1)]
    assert parse_prompt_attention(r"\(literal\]") == [("(literal]", 1.0)]
    assert parse_prompt_attention("(unnecessary)(parens)") == [("unnecessaryparens", 1.1)]
    assert parse_prompt_attention("a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).") == [
        ("a ", 1.0), ("house", 1.5730000000000004), (" ", 1.1), ("on", 1.0), (" a ", 1.1), ("hill", 0.55),
        (", sun, ", 1.1), ("sky", 1.4641000000000006), (".", 1.1)]
    assert parse_prompt_attention("(cat:1.5), [dog]") == [("cat", 1.5), (", ", 1.0), ("dog", 1 / 1.1)]
    assert parse_prompt_attention("") == [("", 1.0)]


def test_sd1_long_prompts_differ_after_token_77(sd1):
    a, b = f"{FILLER}, red circle", f"{FILLER}, blue square, night"
    assert _tokens(sd1, FILLER) > 77
    with torch.no_grad():
        cond_a, _ = encode_sample_prompt(sd1, a)
        cond_b, uncond = encode_sample_prompt(sd1, b)
    assert cond_a.hidden_states.shape == (1, 2 * 77, 32)  # two whole windows, as lpw joins them
    assert uncond.hidden_states.shape == cond_b.hidden_states.shape  # the negative gets the same windows
    # each window is encoded on its own: the first is the same, the second holds the difference
    assert torch.equal(cond_a.hidden_states[:, :77], cond_b.hidden_states[:, :77])
    assert not torch.allclose(cond_a.hidden_states[:, 77:], cond_b.hidden_states[:, 77:])
    with torch.no_grad():  # up to 3 windows (225 tokens), then cut
        three, _ = encode_sample_prompt(sd1, ", ".join([FILLER] * 5))
    assert three.hidden_states.shape == (1, 3 * 77, 32)


def test_sd1_long_prompts_give_different_images(sd1, tmp_path):
    prompts = [SamplePrompt(text, width=64, height=64, steps=2, seed=1)
               for text in (f"{FILLER}, red circle", f"{FILLER}, blue square, night")]
    for clip_skip in (1, 2):
        paths = generate_samples(sd1, prompts, tmp_path / str(clip_skip), output_name="t", step=0, epoch=1,
                                 device="cpu", dtype=torch.float32, seed=1, clip_skip=clip_skip)
        first, second = (Image.open(p).tobytes() for p in paths)
        assert first != second


def test_sd1_weights_change_the_embedding_and_keep_its_mean(sd1):
    with torch.no_grad():
        plain, _ = encode_sample_prompt(sd1, "cat")
        weighted, _ = encode_sample_prompt(sd1, "(cat:1.5)")
        negative_weighted = encode_sample_prompt(sd1, "cat", "[cat]")[1]
    assert not torch.allclose(plain.hidden_states, weighted.hidden_states)
    assert torch.allclose(weighted.hidden_states.mean(), plain.hidden_states.mean(), atol=1e-6)  # lpw's rescale
    ratio = weighted.hidden_states[0, 1] / plain.hidden_states[0, 1]  # the "cat" token, times 1.5 then rescaled
    assert torch.allclose(ratio, ratio[0].expand_as(ratio), rtol=1e-4)
    assert not torch.allclose(negative_weighted.hidden_states, plain.hidden_states)  # --n is weighted too


def test_sd1_plain_short_prompts_are_encoded_exactly_as_before(sd1):
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline(vae=sd1.vae, text_encoder=sd1.text_encoders[0], tokenizer=sd1.tokenizers[0],
                                   unet=sd1.unet, scheduler=sd1.noise_scheduler, safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False)
    prompt, negative = "a red circle, shp, 1girl", "lowres, bad anatomy"
    with torch.no_grad():
        cond, uncond = encode_sample_prompt(sd1, prompt, negative)
        before, before_negative = pipe.encode_prompt(prompt, "cpu", 1, True, negative_prompt=negative)
        empty = encode_sample_prompt(sd1, prompt)[1]
        before_empty = pipe.encode_prompt(prompt, "cpu", 1, True)[1]
        skip2 = encode_sample_prompt(sd1, prompt, negative, clip_skip=2)
        before_skip2 = [encode_text(sd1, tokenize(sd1, [text]), 2).hidden_states for text in (prompt, negative)]
    assert torch.equal(cond.hidden_states, before) and torch.equal(uncond.hidden_states, before_negative)
    assert torch.equal(empty.hidden_states, before_empty)
    assert torch.equal(skip2[0].hidden_states, before_skip2[0]) and torch.equal(skip2[1].hidden_states,
                                                                                before_skip2[1])


def test_sdxl_plain_short_prompts_are_encoded_exactly_as_before(sdxl):
    from diffusers import StableDiffusionXLPipeline

    pipe = StableDiffusionXLPipeline(vae=sdxl.vae, text_encoder=sdxl.text_encoders[0],
                                     text_encoder_2=sdxl.text_encoders[1], tokenizer=sdxl.tokenizers[0],
                                     tokenizer_2=sdxl.tokenizers[1], unet=sdxl.unet, scheduler=sdxl.noise_scheduler)
    prompt, negative = "a red circle, shp", "lowres"
    with torch.no_grad():
        cond, uncond = encode_sample_prompt(sdxl, prompt, negative)
        embeds, neg_embeds, pooled, neg_pooled = pipe.encode_prompt(prompt, device="cpu", negative_prompt=negative)
    assert torch.equal(cond.hidden_states, embeds) and torch.equal(cond.pooled, pooled)
    assert torch.equal(uncond.hidden_states, neg_embeds) and torch.equal(uncond.pooled, neg_pooled)
    with torch.no_grad():  # no negative prompt: sd-scripts encodes "" (diffusers' pipeline used zeros)
        empty = encode_sample_prompt(sdxl, prompt)[1]
        encoded_empty = pipe.encode_prompt("", device="cpu", do_classifier_free_guidance=False)
    assert torch.equal(empty.hidden_states, encoded_empty[0]) and torch.equal(empty.pooled, encoded_empty[2])


def test_sdxl_prompts_take_the_training_token_limit_and_plain_weights(sdxl):
    a, b = f"{FILLER}, red circle", f"{FILLER}, blue square, night"
    with torch.no_grad():
        short_a, _ = encode_sample_prompt(sdxl, a)
        short_b, _ = encode_sample_prompt(sdxl, b)
        long_a, _ = encode_sample_prompt(sdxl, a, max_token_length=150)
        long_b, long_neg = encode_sample_prompt(sdxl, b, max_token_length=150)
    # max_token_length 75 (the default): cut at 75 tokens, as sd-scripts' SDXL sample pipeline does
    assert short_a.hidden_states.shape == (1, 77, 64) and torch.equal(short_a.hidden_states, short_b.hidden_states)
    # 150: stitched like training's captions, (1, 152, 32 + 32); pooled from the first window (the same)
    assert long_a.hidden_states.shape == long_neg.hidden_states.shape == (1, 152, 64)
    assert not torch.allclose(long_a.hidden_states, long_b.hidden_states)
    assert torch.equal(long_a.pooled, long_b.pooled)
    training = encode_text(sdxl, tokenize(sdxl, [a], 150))
    assert torch.equal(long_a.hidden_states, training.hidden_states) and torch.equal(long_a.pooled, training.pooled)
    with torch.no_grad():
        plain, _ = encode_sample_prompt(sdxl, "cat")
        weighted, _ = encode_sample_prompt(sdxl, "(cat:1.5)")
    # both encoders' states of the "cat" token times 1.5, the rest untouched (no rescale in this pipeline)
    assert torch.allclose(weighted.hidden_states[0, 1], plain.hidden_states[0, 1] * 1.5)
    assert torch.equal(weighted.hidden_states[0, 2:], plain.hidden_states[0, 2:])
    assert torch.equal(weighted.pooled, plain.pooled)


def test_sdxl_weighted_and_long_prompts_render(sdxl, tmp_path):
    prompts = [SamplePrompt(f"{FILLER}, (red circle:1.3)", negative="[blurry]", width=64, height=64, steps=2,
                            seed=1)]
    paths = generate_samples(sdxl, prompts, tmp_path, output_name="t", step=0, epoch=1, device="cpu",
                             dtype=torch.float32, seed=1, max_token_length=225)
    assert Image.open(paths[0]).size == (64, 64)
