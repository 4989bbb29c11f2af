"""sd-scripts' caption options in training (fk1): keep_tokens_separator, secondary_separator, caption_prefix and
caption_suffix change each use of a caption as sd-scripts' process_caption does (train_util.py at 48d368fa), worked
out by hand here: prefix/suffix joined with a space before dropout, the marks splitting fixed/free/trailing tags
only when shuffling or dropping tags, the secondary mark replaced by caption_separator at the end. The batches, the
text-encoder cache and a 1-step CPU run use them."""

from __future__ import annotations

import random
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from fixtures.torch_threads import one_torch_thread  # noqa: F401 - autouse: one torch thread
from loratui.core.config import load_config
from loratui.engine.data import TrainingData, augment_caption
from loratui.engine.data_captions import split_caption
from test_train import make_project, of, run

SD1 = SimpleNamespace(family="sd1")
CAPTION = "trigger, 1girl ||| red hair;;;blue eyes, smile, sky ||| best quality"


def _d(**kw):
    base = dict(caption_dropout_rate=0.0, caption_dropout_every_n_epochs=0, shuffle_caption=False,
                caption_tag_dropout_rate=0.0, keep_tokens=0, caption_separator=",", keep_tokens_separator="",
                secondary_separator="", caption_prefix="", caption_suffix="")
    base.update(kw)
    return SimpleNamespace(**base)


def test_keep_tokens_separator_fixes_the_head_and_the_tail_with_shuffle():
    d = _d(shuffle_caption=True, keep_tokens_separator="|||", keep_tokens=5)  # the mark wins over keep_tokens
    assert split_caption(CAPTION, d) == (["trigger", "1girl"], ["red hair;;;blue eyes", "smile", "sky"],
                                         ["best quality"])
    for seed in range(20):
        free = ["red hair;;;blue eyes", "smile", "sky"]
        random.Random(seed).shuffle(free)  # sd-scripts draws one shuffle of the free tags, nothing else
        assert augment_caption(CAPTION, d, 1, random.Random(seed)) == ", ".join(["trigger", "1girl", *free,
                                                                                  "best quality"])
    # a caption without the mark falls back to keep_tokens; empty tags between marks are left out, and a
    # third mark stays text inside the trailing part
    assert split_caption("a, b, c", _d(keep_tokens_separator="|||", keep_tokens=1)) == (["a"], ["b", "c"], [])
    assert split_caption(" a, , b ||| , c ||| d ||| e", _d(keep_tokens_separator="|||")) == (
        ["a", "b"], ["c"], ["d ||| e"])


def test_keep_tokens_separator_with_tag_dropout_never_drops_the_fixed_tags():
    d = _d(caption_tag_dropout_rate=1.0, keep_tokens_separator="|||")
    assert augment_caption(CAPTION, d, 1, random.Random(0)) == "trigger, 1girl, best quality"
    d = _d(caption_tag_dropout_rate=0.5, keep_tokens_separator="|||")
    rng = random.Random(3)
    draws = [rng.random() for _ in range(3)]  # one draw per free tag, in order (no shuffle)
    kept = [t for t, r in zip(["red hair,blue eyes", "smile", "sky"], draws) if r >= 0.5]
    assert augment_caption(CAPTION, _d(caption_tag_dropout_rate=0.5, keep_tokens_separator="|||",
                                       secondary_separator=";;;"), 1, random.Random(3)) == \
        ", ".join(["trigger", "1girl", *kept, "best quality"])
    # neither shuffle nor tag dropout: used as written, the mark as text (sd-scripts does the same)
    assert augment_caption(CAPTION, _d(keep_tokens_separator="|||"), 1, random.Random(0)) == CAPTION


def test_secondary_separator_joins_tags_that_shuffle_as_one_and_becomes_the_separator():
    d = _d(shuffle_caption=True, secondary_separator=";;;")
    outs = {augment_caption("a;;;b, c, d;;;e;;;f", d, 1, random.Random(seed)) for seed in range(40)}
    assert len(outs) == 6  # three units shuffled
    for out in outs:
        assert sorted(out.split(", ")) == ["a,b", "c", "d,e,f"]
    # replaced without shuffle too, and by a custom caption_separator (the tags split there first)
    assert augment_caption("a;;;b|c", _d(secondary_separator=";;;", caption_separator="|"), 1,
                           random.Random(0)) == "a|b|c"
    assert augment_caption("a;;;b| c", _d(shuffle_caption=True, secondary_separator=";;;", caption_separator="|"), 1,
                           random.Random(0)) in ("a|b, c", "c, a|b")


def test_prefix_and_suffix_are_joined_with_a_space_before_dropout():
    d = _d(caption_prefix="masterpiece,", caption_suffix=", high quality")
    assert augment_caption("alice, smile", d, 1, random.Random(0)) == "masterpiece, alice, smile , high quality"
    assert augment_caption("alice", _d(caption_prefix="pre"), 1, random.Random(0)) == "pre alice"  # no separator
    # caption dropout drops them with the caption; every-n-epochs counts epochs from 1
    assert augment_caption("alice", _d(caption_prefix="p,", caption_dropout_rate=1.0), 1, random.Random(0)) == ""
    assert augment_caption("alice", _d(caption_suffix=", s", caption_dropout_every_n_epochs=2), 2,
                           random.Random(0)) == ""
    # the prefix's tags count for keep_tokens, and shuffled the suffix's blank tag stays (sd-scripts keeps "" there)
    d = _d(caption_prefix="trigger,", keep_tokens=1, shuffle_caption=True, caption_tag_dropout_rate=1.0)
    assert augment_caption("a, b", d, 1, random.Random(0)) == "trigger"
    # the dropout draw comes first: the same seed drops the same way with a prefix as without
    d = _d(caption_prefix="p,", caption_dropout_rate=0.5)
    assert [augment_caption("a", d, 1, random.Random(s)) == "" for s in range(10)] == \
        [random.Random(s).random() < 0.5 for s in range(10)]


def _captions_of(data, epoch: int = 1) -> dict[str, set[str]]:
    seen: dict[str, set[str]] = {}
    for batch in data.epoch(epoch):
        for path, caption in zip(batch.paths, batch.captions):
            seen.setdefault(Path(path).parent.name, set()).add(caption)
    return seen


def test_batches_carry_the_options_for_train_and_reg_images(tmp_path):
    config = make_project(tmp_path / "p", Path("unused"), reg=True, **{
        "dataset.cache_latents": False, "dataset.caption_prefix": "mychar,", "dataset.caption_suffix": ";;;x",
        "dataset.secondary_separator": ";;;"})
    data = TrainingData(load_config(config), SD1)
    captions = _captions_of(data)
    # write_images' captions: "shp, circle, colour 0" (train), "shape, circle, colour 0" (reg)
    assert "mychar, shp, circle, colour 0 ,x" in captions["2_shp"]
    assert "mychar, shape, circle, colour 0 ,x" in captions["1_shape"]
    assert data.tag_frequency()["2_shp"]["shp"] == 4  # ss_tag_frequency counts the files, as sd-scripts does


@pytest.fixture(scope="module")
def tiny_base(tiny_sd1_dir):
    from loratui.engine.models import load_base_model

    cfg = SimpleNamespace(pretrained_model_name_or_path=str(tiny_sd1_dir), model_family="auto",
                          v_parameterization=False, vae="")
    return load_base_model(cfg)


def test_the_text_encoder_cache_encodes_the_changed_caption(tmp_path, tiny_base):
    from loratui.engine.text import encode_text, tokenize

    config = make_project(tmp_path / "p", Path("unused"), **{
        "dataset.cache_latents": True, "training.cache_text_encoder_outputs": True,
        "network.network_train_unet_only": True, "dataset.caption_prefix": "mychar,",
        "dataset.caption_suffix": ";;;x", "dataset.secondary_separator": ";;;"})
    data = TrainingData(load_config(config), tiny_base)
    assert data.cache_text
    data.prepare()
    # keyed by the text trained on: the caption files' text alone is not in it
    assert len(data.text_cache) == 4 and all(t.startswith("mychar, shp, ") and t.endswith(" ,x")
                                             for t in data.text_cache)
    batch = next(iter(data.epoch(1)))
    assert all(c in data.text_cache for c in batch.captions)
    with torch.no_grad():
        ref = encode_text(tiny_base, tokenize(tiny_base, batch.captions, 75), 1)
    torch.testing.assert_close(batch.text.hidden_states, ref.hidden_states)


@pytest.mark.slow
def test_a_one_step_run_trains_with_the_options(tiny_sd1_dir, tmp_path):
    config = make_project(tmp_path, tiny_sd1_dir, reg=True, **{
        "dataset.shuffle_caption": True, "dataset.caption_tag_dropout_rate": 0.2,
        "dataset.keep_tokens_separator": "|||", "dataset.secondary_separator": ";;;",
        "dataset.caption_prefix": "mychar |||", "dataset.caption_suffix": ", a;;;b"})
    code, events = run(config, max_steps=1)
    assert code == 0, events
    assert [e["step"] for e in of(events, "step")] == [1]
    assert (tmp_path / "out" / "tiny.safetensors").is_file()
