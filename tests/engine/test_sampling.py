"""engine.sampling: sd-scripts prompt files and sample images from the tiny SD1 / SDXL models."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
import torch
from PIL import Image

from fixtures.torch_threads import one_torch_thread  # noqa: F401 - autouse: one torch thread
from loratui.core.config import NetworkSection
from loratui.core.errors import LoratuiError
from loratui.engine.sampling import SamplePrompt, generate_samples, parse_prompt_line, parse_prompts


def test_prompt_file_options(tmp_path):
    path = tmp_path / "prompts.txt"
    path.write_text("\ufeff# a comment\n\n"
                    "masterpiece, 1girl --n lowres, bad hands --w 768 --h 516 --d 7 --s 20 --l 6.5 --ss ddim\n"
                    "a cat --am 1 --W 640\n"
                    "  plain prompt  \n", encoding="utf-8")
    a, b, c = parse_prompts(path, default_size=(1024, 1024))
    assert a == SamplePrompt("masterpiece, 1girl", "lowres, bad hands", 768, 512, 7, 20, 6.5, "ddim")
    assert (b.prompt, b.width, b.height) == ("a cat", 640, 1024)  # unknown --am ignored like sd-scripts
    assert c == SamplePrompt("plain prompt", width=1024, height=1024)
    assert parse_prompt_line("x --ss k_euler_a").sampler == "euler_a"
    assert parse_prompt_line("x --w 30").width == 64


def test_prompt_file_errors(tmp_path):
    with pytest.raises(LoratuiError, match="does not exist"):
        parse_prompts(tmp_path / "missing.txt")
    (tmp_path / "empty.txt").write_text("# only comments\n\n")
    with pytest.raises(LoratuiError, match="has no prompts"):
        parse_prompts(tmp_path / "empty.txt")
    (tmp_path / "bad.txt").write_text("ok\ncat --w wide\n")
    with pytest.raises(LoratuiError, match=r"bad.txt:2: --w needs a value"):
        parse_prompts(tmp_path / "bad.txt")
    with pytest.raises(LoratuiError, match="unknown sampler"):
        parse_prompt_line("x --ss magic")


def _base(folder):
    from loratui.engine.models import load_base_model
    from loratui.engine.network import inject_lora

    cfg = SimpleNamespace(pretrained_model_name_or_path=str(folder), model_family="auto", v_parameterization=False,
                          vae="")
    base = load_base_model(cfg)
    net = NetworkSection()
    net.network_dim, net.network_alpha, net.network_dropout = 4, 2.0, 0.1
    base.network = inject_lora(base, net)
    base.network.train()
    base.unet.train()
    return base


@pytest.mark.parametrize("family", ["sd1", "sdxl"])
def test_generate_samples_writes_pngs(tmp_path, family, tiny_sd1_dir, tiny_sdxl_dir):
    base = _base(tiny_sd1_dir if family == "sd1" else tiny_sdxl_dir)
    prompts = [SamplePrompt("a red circle", width=64, height=64, steps=2, seed=5),
               SamplePrompt("a square", negative="blurry", width=64, height=48, steps=2, scale=1.0,
                            sampler="ddim")]
    torch.manual_seed(123)
    rng_before = torch.get_rng_state()
    paths = generate_samples(base, prompts, tmp_path / "sample", output_name="tiny", step=12, epoch=1,
                             device="cpu", dtype=torch.float32, seed=42)
    # sd-scripts' names: NAME_STEP_II_YYYYmmddHHMMSS, then _SEED only for a prompt that gives one (--d)
    assert re.fullmatch(r"tiny_000012_00_\d{14}_5\.png", paths[0].name), paths[0].name
    assert re.fullmatch(r"tiny_000012_01_\d{14}\.png", paths[1].name), paths[1].name
    sizes = [Image.open(p).size for p in paths]
    assert sizes == [(64, 64), (64, 48)]
    assert torch.equal(torch.get_rng_state(), rng_before)  # training's random stream is untouched
    assert base.unet.training and not base.text_encoders[0].training
    again = generate_samples(base, prompts[:1], tmp_path / "again", output_name="tiny", step=12, epoch=1,
                             device="cpu", dtype=torch.float32, seed=42)
    assert Image.open(again[0]).tobytes() == Image.open(paths[0]).tobytes()  # same seed, same image


def test_lora_dropout_is_off_while_sampling(tmp_path, tiny_sd1_dir, monkeypatch):
    import loratui.engine.sampling as sampling

    base = _base(tiny_sd1_dir)
    seen = []
    real = sampling.make_pipeline
    monkeypatch.setattr(sampling, "make_pipeline", lambda b, s: seen.append(
        [m.training for m in base.network.modules()]) or real(b, s))
    generate_samples(base, [SamplePrompt("x", width=64, height=64, steps=1, seed=1)], tmp_path, output_name="t",
                     step=1, epoch=1, device="cpu", dtype=torch.float32, seed=1, network=base.network)
    assert seen and not any(seen[0])  # every LoRA module in eval mode (dropout off) while rendering
    assert all(m.training for m in base.network.modules())  # and back in training mode afterwards


def test_clip_skip_reaches_the_pipeline_for_sd1(tmp_path, tiny_sd1_dir, monkeypatch):
    import loratui.engine.sampling as sampling

    base = _base(tiny_sd1_dir)
    calls = []
    real = sampling.make_pipeline

    class Spy:
        def __init__(self, pipe):
            self.pipe = pipe

        def set_progress_bar_config(self, **kw):
            self.pipe.set_progress_bar_config(**kw)

        def __call__(self, *args, **kwargs):
            calls.append(kwargs)
            return self.pipe(*args, **kwargs)

    monkeypatch.setattr(sampling, "make_pipeline", lambda b, s: Spy(real(b, s)))
    prompt = [SamplePrompt("x", width=64, height=64, steps=1, seed=1)]
    for clip_skip in (None, 1, 2):
        generate_samples(base, prompt, tmp_path, output_name="t", step=1, epoch=1, device="cpu",
                         dtype=torch.float32, seed=1, clip_skip=clip_skip)
    # every prompt goes as embeddings now (A1111 weights, long prompts: test_sample_prompt_weights.py)
    assert [c.get("prompt") for c in calls] == [None, None, None]
    assert torch.equal(calls[0]["prompt_embeds"], calls[1]["prompt_embeds"])  # clip_skip None = 1
    from loratui.engine.text import encode_text, tokenize

    penultimate = encode_text(base, tokenize(base, ["x"]), 2).hidden_states
    assert torch.equal(calls[2]["prompt_embeds"], penultimate)  # encoded as in training
    assert calls[2]["negative_prompt_embeds"].shape == penultimate.shape
