"""Tokenization windows (75/150/225), clip_skip and SDXL conditioning."""

from __future__ import annotations

import pytest
import torch

from loratui.core.config import ModelSection
from loratui.core.errors import LoratuiError
from loratui.engine.models import load_base_model
from loratui.engine.text import encode_text, tokenize

LONG = "the cat " * 70  # 140 tokens with the tiny vocab: spills into a second window


@pytest.fixture(scope="module")
def sd1(tiny_sd1_dir):
    return load_base_model(ModelSection(pretrained_model_name_or_path=str(tiny_sd1_dir)))


@pytest.fixture(scope="module")
def sdxl(tiny_sdxl_dir):
    return load_base_model(ModelSection(pretrained_model_name_or_path=str(tiny_sdxl_dir)))


@pytest.mark.parametrize("length,windows", [(75, 1), (150, 2), (225, 3)])
def test_sd1_shapes(sd1, length, windows):
    ids = tokenize(sd1, [LONG, "dog"], length)
    assert len(ids) == 1 and ids[0].shape == (2, windows, 77)
    cond = encode_text(sd1, ids, clip_skip=1)
    assert cond.hidden_states.shape == (2, length + 2, 32) and cond.pooled is None


@pytest.mark.parametrize("length", [75, 150, 225])
def test_sdxl_shapes_and_pooled(sdxl, length):
    ids = tokenize(sdxl, [LONG, "dog"], length)
    assert len(ids) == 2 and all(i.shape == (2, length // 75, 77) for i in ids)
    cond = encode_text(sdxl, ids, clip_skip=1)
    assert cond.hidden_states.shape == (2, length + 2, 64)  # 32 (encoder 1) + 32 (encoder 2)
    assert cond.pooled is not None and cond.pooled.shape == (2, 32)


def test_windows_start_with_bos_and_end_with_eos_or_pad(sd1, sdxl):
    tok = sd1.tokenizers[0]
    bos, eos = tok.bos_token_id, tok.eos_token_id
    ids = tokenize(sd1, [LONG], 225)[0][0]
    assert (ids[:, 0] == bos).all() and (ids[:, -1] == eos).all()  # SD1 pads with <eos>
    pad2 = sdxl.tokenizers[1].pad_token_id
    ids2 = tokenize(sdxl, [LONG], 225)[1][0]
    assert pad2 == 0
    assert ids2[0, -1] == eos                 # full window cut in the text ends with <eos>
    assert ids2[1].tolist().count(eos) == 1   # the text ends inside the second window
    assert ids2[2, 1] == eos and ids2[2, 2] == pad2  # empty window: <bos> <eos> <pad>...
    # the first 75 tokens are the same as with the plain 75-token tokenization
    assert torch.equal(tokenize(sdxl, [LONG], 75)[1][0, 0, :76], ids2[0, :76])


def test_clip_skip_uses_an_earlier_layer(sd1):
    ids = tokenize(sd1, ["a cat", "the dog"], 75)
    last = encode_text(sd1, ids, clip_skip=1).hidden_states
    skip2 = encode_text(sd1, ids, clip_skip=2).hidden_states
    assert last.shape == skip2.shape and not torch.allclose(last, skip2)
    te = sd1.text_encoders[0]
    with torch.no_grad():
        out = te(ids[0][:, 0], output_hidden_states=True)
        ref = te.final_layer_norm(out.hidden_states[-2])
        assert torch.allclose(skip2, ref)
        assert torch.allclose(last, out.last_hidden_state)


def test_long_caption_first_window_matches_short_encoding(sd1):
    """The stitched states of window 1 equal a plain 75-token encoding of the same text."""
    short = encode_text(sd1, tokenize(sd1, [LONG], 75), 1).hidden_states
    long = encode_text(sd1, tokenize(sd1, [LONG], 150), 1).hidden_states
    assert torch.allclose(long[:, :76], short[:, :76], atol=1e-6)


def test_sdxl_uses_penultimate_layers(sdxl):
    ids = tokenize(sdxl, ["a cat"], 75)
    cond = encode_text(sdxl, ids, clip_skip=2)
    te1, te2 = sdxl.text_encoders
    with torch.no_grad():
        h1 = te1(ids[0][:, 0], output_hidden_states=True).hidden_states[-2]
        out2 = te2(ids[1][:, 0], output_hidden_states=True)
    assert torch.allclose(cond.hidden_states, torch.cat([h1, out2.hidden_states[-2]], dim=-1))
    assert torch.allclose(cond.pooled, out2.text_embeds)


def test_bad_settings(sd1):
    with pytest.raises(LoratuiError, match="max_token_length"):
        tokenize(sd1, ["x"], 100)
    with pytest.raises(LoratuiError, match="clip_skip"):
        encode_text(sd1, tokenize(sd1, ["x"], 75), 0)
