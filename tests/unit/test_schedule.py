"""Worked cases for the steps calculator, each computed by hand from sd-scripts' rules."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loratui.core.config import TrainingConfig
from loratui.core.dataset import DatasetScan, ImageEntry, Subset
from loratui.core.errors import LoratuiError
from loratui.core.plan.schedule import (
    Registered,
    _pad_reg,
    compute_schedule,
    epoch_batches,
    epoch_samples,
    epochs_for_target_steps,
    plan_epoch,
    register_images,
    shard_batches,
)


def folder(name: str, sizes: list[tuple[int, int]], is_reg: bool = False) -> Subset:
    repeats, _, tokens = name.partition("_")
    root = Path("/reg" if is_reg else "/train") / name
    images = [ImageEntry(root / f"{i:03d}.png", w, h, None) for i, (w, h) in enumerate(sizes)]
    return Subset(root, name, int(repeats), tokens, is_reg, images)


def scan(*subsets: Subset) -> DatasetScan:
    reg = Path("/reg") if any(s.is_reg for s in subsets) else None
    return DatasetScan(Path("/train"), reg, ".txt", list(subsets), [])


def config(batch=1, accum=1, epochs=None, steps=None, reg=False, **dataset) -> TrainingConfig:
    cfg = TrainingConfig()
    cfg.dataset.train_data_dir = "/train"
    cfg.dataset.reg_data_dir = "/reg" if reg else ""
    for key, value in dataset.items():
        setattr(cfg.dataset, key, value)
    cfg.training.train_batch_size = batch
    cfg.training.gradient_accumulation_steps = accum
    cfg.training.max_train_epochs = epochs
    cfg.training.max_train_steps = steps
    return cfg


SQUARE = (512, 512)
SIZES = [SQUARE, (1024, 768), (600, 900), (1920, 1080)]


def issue_case(**kw):
    # 10_a with 20 images + 5_b with 10 = 250 train samples; one reg folder of 300 images (1 repeat)
    data = scan(folder("10_a", [SQUARE] * 20), folder("5_b", [SQUARE] * 10),
                folder("1_person", [SQUARE] * 300, is_reg=True))
    return data, config(batch=4, accum=2, epochs=10, reg=True, **kw)


def test_issue_case_630_steps_where_the_gui_shows_625():
    data, cfg = issue_case()
    s = compute_schedule(cfg, data)
    # reg padding: first pass registers 250 of the 300 reg images (1 repeat each) -> 250 reg samples
    assert (s.samples_per_epoch, s.reg_samples_per_epoch) == (250, 250)
    # one bucket 512x512 with 500 samples -> ceil(500 / 4) = 125 batches; ceil(125 / 1 / 2) = 63
    assert s.buckets == {"512x512": 500} and s.batches_per_epoch == 125 and s.steps_per_epoch == 63
    assert (s.epochs, s.total_steps, s.mode) == (10, 630, "epochs")
    # GUI: ceil(250 / 4 / 2 x 10 x 2) = 625
    assert s.kohya_gui_steps == 625
    assert any("625" in n and "630" in n for n in s.notes)
    assert s.reg.unused_images == 50 and s.reg.available_samples == 300
    assert any("50 reg image(s) are never used" in n for n in s.notes)


def test_multiple_processes_divide_the_batches():
    data, cfg = issue_case()
    s = compute_schedule(cfg, data, num_processes=2)
    # 125 batches over 2 processes: each sees ceil(125 / 2) = 63; steps ceil(125 / 2 / 2) = 32
    assert (s.batches_per_epoch, s.batches_per_process, s.steps_per_epoch) == (125, 63, 32)
    assert s.total_steps == 320
    assert any("ignores the 2 processes" in n for n in s.notes)


def test_mixed_aspect_ratios_partial_batch_per_bucket():
    # 4_x: 3 square, 2 landscape 4:3, 1 portrait 3:4; batch 3
    data = scan(folder("4_x", [SQUARE] * 3 + [(1024, 768)] * 2 + [(768, 1024)]))
    s = compute_schedule(config(batch=3, epochs=5), data)
    # 512x512: 12 samples -> 4 batches; 576x448: 8 -> ceil(8/3) = 3; 448x576: 4 -> 2
    assert s.buckets == {"448x576": 4, "512x512": 12, "576x448": 8}
    assert s.bucket_batches == {"448x576": 2, "512x512": 4, "576x448": 3}
    assert s.bucket_images == {"448x576": 1, "512x512": 3, "576x448": 2}
    assert (s.batches_per_epoch, s.steps_per_epoch, s.total_steps) == (9, 9, 45)
    # GUI: 24 / 3 x 5 = 40
    assert s.kohya_gui_steps == 40 and any("partial" in n for n in s.notes)


def test_bucket_no_upscale_with_small_images():
    # 3_s: two 300x200 (kept: bucket 256x192), 640x480 (area > 512^2: resized 512x384), 1000x1000
    # (-> 512x512); batch 2
    data = scan(folder("3_s", [(300, 200), (300, 200), (640, 480), (1000, 1000)]))
    s = compute_schedule(config(batch=2, epochs=2, bucket_no_upscale=True), data)
    assert s.buckets == {"256x192": 6, "512x384": 3, "512x512": 3}
    # ceil(6/2) + ceil(3/2) + ceil(3/2) = 3 + 2 + 2 = 7 batches per epoch
    assert (s.batches_per_epoch, s.steps_per_epoch, s.total_steps) == (7, 7, 14)
    assert not any("upscaled" in n for n in s.notes)
    assert any("ignored" in n for n in s.notes)


def test_reg_with_fewer_images_than_train_samples_is_padded():
    # train 2_t x 5 = 10 samples; reg 1_r x 3 images = 3: first pass 3, then +1 per image in order
    # until 10: repeats 4, 3, 3
    data = scan(folder("2_t", [SQUARE] * 5), folder("1_r", [SQUARE] * 3, is_reg=True))
    registered = [r for r in register_images(data) if r.is_reg]
    assert [r.repeats for r in registered] == [4, 3, 3]
    s = compute_schedule(config(batch=4, epochs=3, reg=True), data)
    assert (s.samples_per_epoch, s.reg_samples_per_epoch) == (10, 10)
    assert s.reg.extra_repeats == 7 and s.reg.unused_images == 0
    # 20 samples -> 5 batches, 3 epochs -> 15; the GUI agrees here (10 / 4 x 3 x 2 = 15)
    assert (s.batches_per_epoch, s.total_steps, s.kohya_gui_steps) == (5, 15, 15)
    assert not any("kohya_ss GUI" in n for n in s.notes)


def test_reg_with_more_samples_overshoots_by_the_last_repeats():
    # train 10 samples; reg 3_r with 5 images: 3, 6, 9, 12 >= 10 -> 4 images used, 12 reg samples
    data = scan(folder("2_t", [SQUARE] * 5), folder("3_r", [SQUARE] * 5, is_reg=True))
    s = compute_schedule(config(batch=4, epochs=2, reg=True), data)
    assert s.reg_samples_per_epoch == 12 and s.reg.used_images == 4 and s.reg.unused_images == 1
    # 22 samples -> ceil(22/4) = 6 batches; 2 epochs -> 12; GUI: 10 / 4 x 2 x 2 = 10
    assert (s.batches_per_epoch, s.total_steps, s.kohya_gui_steps) == (6, 12, 10)
    reg_line = [f for f in s.folders if f.is_reg][0]
    assert (reg_line.samples, reg_line.used_images, reg_line.used_samples) == (15, 4, 12)


def test_accumulation_remainder_rounds_up_each_epoch():
    # 7 images x 1 repeat, batch 1 -> 7 batches; accumulation 4 -> ceil(7/4) = 2 steps per epoch
    data = scan(folder("1_a", [SQUARE] * 7))
    s = compute_schedule(config(batch=1, accum=4, epochs=3), data)
    assert (s.batches_per_epoch, s.steps_per_epoch, s.total_steps) == (7, 2, 6)
    assert s.kohya_gui_steps == 6  # ceil(7 / 1 / 4 x 3) = ceil(5.25) = 6: same total, by luck
    s = compute_schedule(config(batch=1, accum=4, epochs=4), data)
    assert (s.total_steps, s.kohya_gui_steps) == (8, 7)


def test_steps_only_config_ends_inside_an_epoch():
    data, cfg = issue_case()
    cfg.training.max_train_epochs = None
    cfg.training.max_train_steps = 100
    s = compute_schedule(cfg, data)
    # 63 steps per epoch: ceil(100 / 63) = 2 epochs, the second stops after 37 steps
    assert (s.mode, s.epochs, s.total_steps, s.last_epoch_steps) == ("steps", 2, 100, 37)
    assert s.kohya_gui_steps is None


def test_epochs_take_precedence_over_steps():
    data, cfg = issue_case()
    cfg.training.max_train_steps = 5000
    s = compute_schedule(cfg, data)
    assert s.total_steps == 630 and any("max_train_steps (5000) is ignored" in n for n in s.notes)


def test_neither_epochs_nor_steps_is_an_error_naming_both_keys():
    data, cfg = issue_case()
    cfg.training.max_train_epochs = None
    with pytest.raises(LoratuiError, match="max_train_epochs.*max_train_steps"):
        compute_schedule(cfg, data)
    assert plan_epoch(cfg, data).steps_per_epoch == 63  # the per-epoch part still works


def test_bucketing_off_puts_everything_in_one_bucket():
    data = scan(folder("2_a", [SQUARE, (1024, 768), (300, 900)]))
    s = compute_schedule(config(batch=4, epochs=1, enable_bucket=False), data)
    assert s.buckets == {"512x512": 6} and s.batches_per_epoch == 2
    assert any("2 image(s) are not 512x512" in n for n in s.notes)


def test_empty_reg_folder_and_gui_doubling():
    data = scan(folder("1_a", [SQUARE] * 8), folder("1_r", [], is_reg=True))
    s = compute_schedule(config(batch=2, epochs=1, reg=True), data)
    assert s.reg_samples_per_epoch == 0 and s.total_steps == 4 and s.kohya_gui_steps == 8
    assert any("hold no images" in n for n in s.notes)


def test_no_training_images_is_an_error():
    with pytest.raises(LoratuiError, match="no training images"):
        plan_epoch(config(epochs=1), scan(folder("1_a", [])))


def test_epoch_samples_multiset():
    data = scan(folder("2_t", [SQUARE, (1024, 768)]), folder("1_r", [SQUARE] * 3, is_reg=True))
    groups = epoch_samples(data, config().dataset)
    assert list(groups) == [(512, 512), (576, 448)]
    square = groups[(512, 512)]
    # 4 train samples -> the 3 reg images are padded to 4: repeats 2, 1, 1 (first image first)
    assert [s.is_reg for s in square] == [False, False, True, True, True, True]
    assert [s.image.path.name for s in square] == ["000.png"] * 4 + ["001.png", "002.png"]
    assert len(groups[(576, 448)]) == 2
    # the engine's batches (ceil per bucket) equal the calculator's
    plan = plan_epoch(config(batch=2), data)
    assert plan.batches_per_epoch == sum(-(-len(v) // 2) for v in groups.values())


@pytest.mark.parametrize("target, spe, epochs, total", [
    (600, 63, 10, 630),  # 9 -> 567 (-33), 10 -> 630 (+30)
    (590, 63, 9, 567),  # 9 -> -23, 10 -> +40
    (10, 63, 1, 63),  # at least one epoch
    (100, 20, 5, 100),  # exact
    (30, 20, 2, 40),  # tie (20 / 40): the larger, which reaches the target
])
def test_epochs_for_target_steps(target, spe, epochs, total):
    t = epochs_for_target_steps(target, spe)
    assert (t.epochs, t.total_steps, t.difference) == (epochs, total, total - target)


def _literal_reg_loop(reg: list[Registered], target: int) -> list[int]:
    """sd-scripts' loop as written (first pass registers, later passes add one repeat at a time)."""
    repeats = [r.repeats for r in reg]
    registered = []
    n, first = 0, True
    if not reg:
        return []
    while n < target:
        for i in range(len(reg)):
            if first:
                registered.append(i)
                n += repeats[i]
            else:
                repeats[i] += 1
                n += 1
            if n >= target:
                break
        first = False
    return [repeats[i] for i in registered]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 6), max_size=12), st.integers(0, 120))
def test_reg_padding_closed_form_matches_the_loop(reg_repeats, target):
    sub = folder("1_r", [], is_reg=True)
    reg = [Registered(sub, ImageEntry(Path(f"/r/{i}.png"), 8, 8, None), r) for i, r in enumerate(reg_repeats)]
    assert [r.repeats for r in _pad_reg(reg, target)] == _literal_reg_loop(reg, target)


def test_epoch_batches_and_shards():
    data = scan(folder("3_a", [SQUARE] * 3), folder("2_b", [(1024, 768)] * 2))  # 9 + 4 samples
    groups = epoch_samples(data, config().dataset)
    batches = epoch_batches(groups, 4)
    # 512x512: 9 -> 4, 4, 1; 576x448: 4 -> 4
    assert [(b, len(s)) for b, s in batches] == [((512, 512), 4), ((512, 512), 4), ((512, 512), 1),
                                                 ((576, 448), 4)]
    assert batches[0][1][0].assignment.resized_size == (512, 512)
    shuffled = epoch_batches(groups, 4, random.Random(7))
    assert sorted(len(s) for _, s in shuffled) == [1, 4, 4, 4]
    assert all({x.assignment.bucket for x in s} == {b} for b, s in shuffled)
    assert epoch_batches(groups, 4, random.Random(7)) == shuffled  # seeded: reproducible
    # accelerate's even_batches: 4 batches over 3 processes -> 2 each, the last round wraps around
    assert shard_batches(list("abcd"), 3, 0) == ["a", "d"]
    assert shard_batches(list("abcd"), 3, 1) == ["b", "a"]
    assert shard_batches(list("abcd"), 3, 2) == ["c", "b"]
    assert shard_batches(list("ab"), 3, 2) == ["a"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 5), st.lists(st.sampled_from(SIZES), min_size=1, max_size=6)),
             min_size=1, max_size=3),
    st.lists(st.tuples(st.integers(1, 3), st.integers(0, 8)), max_size=2),
    st.integers(1, 5), st.integers(1, 4), st.integers(1, 3), st.booleans(),
)
def test_engine_batches_equal_the_calculator(train, reg, batch, accum, procs, no_upscale):
    subsets = [folder(f"{r}_t{i}", sizes) for i, (r, sizes) in enumerate(train)]
    subsets += [folder(f"{r}_r{i}", [SQUARE] * n, is_reg=True) for i, (r, n) in enumerate(reg)]
    cfg = config(batch=batch, accum=accum, epochs=2, bucket_no_upscale=no_upscale)
    data = scan(*subsets)
    s = compute_schedule(cfg, data, num_processes=procs)
    batches = epoch_batches(epoch_samples(data, cfg.dataset), batch, random.Random(0))
    assert len(batches) == s.batches_per_epoch
    assert sum(len(b) for _, b in batches) == s.total_samples_per_epoch
    per_rank = [shard_batches(batches, procs, r) for r in range(procs)]
    assert all(len(p) == s.batches_per_process for p in per_rank)
    assert -(-len(per_rank[0]) // accum) == s.steps_per_epoch  # one step per window or shard end


def test_epochs_for_target_steps_never_above_the_config_limit():
    t = epochs_for_target_steps(10_000_000, 1)
    assert (t.epochs, t.capped, t.max_epochs) == (100_000, True, 100_000)  # max_train_epochs' own maximum
    assert t.to_dict()["capped_at_max_epochs"] == 100_000
    t = epochs_for_target_steps(50, 10, max_epochs=3)
    assert (t.epochs, t.total_steps, t.capped) == (3, 30, True)
    assert not epochs_for_target_steps(600, 63).capped


# ---- the note on scan errors (user test hunt8, finding 13) -------------------------------------------


def test_scan_error_note_says_which_images_are_counted():
    from loratui.core.dataset import Problem
    from loratui.core.plan import scan_error_note

    base = scan(folder("2_a", [(512, 512)] * 3))
    assert scan_error_note(base) is None
    caption_error = Problem("caption_not_utf8", Path("/train/2_a/000.txt"), "2_a/000.txt is not UTF-8: ...", "error")
    image_error = Problem("unreadable_image", Path("/train/2_a/009.png"), "2_a/009.png: truncated; it is left out",
                          "error")
    only_captions = DatasetScan(Path("/train"), None, ".txt", base.subsets, [caption_error])
    note = scan_error_note(only_captions)
    assert "not counted" not in note and "counted" in note and "sd-scripts stops" in note
    assert "1 caption" in note and "2_a/000.txt" in note
    both = DatasetScan(Path("/train"), None, ".txt", base.subsets, [caption_error, image_error])
    note = scan_error_note(both)
    assert "1 image(s) left out (not counted)" in note and "1 caption" in note
    only_images = DatasetScan(Path("/train"), None, ".txt", base.subsets, [image_error])
    note = scan_error_note(only_images)
    assert "left out (not counted)" in note and "caption" not in note


def test_scan_error_note_names_the_command_that_lists_every_counted_problem():
    """hunt9: the hint said `dataset scan DIR/img`, which leaves out reg/'s problems and reads .txt."""
    from loratui.core.dataset import Problem
    from loratui.core.plan import scan_error_note

    base = scan(folder("2_a", [(512, 512)] * 3))
    error = Problem("caption_not_utf8", Path("/p/reg/1_a/000.caption"), "1_a/000.caption is not UTF-8", "error")
    note = scan_error_note(DatasetScan(Path("/p/my img"), Path("/p/reg"), ".caption", base.subsets, [error]))
    assert "`loratui dataset scan '/p/my img' --reg /p/reg --caption-extension .caption` lists them" in note
    note = scan_error_note(DatasetScan(Path("/p/img"), None, ".txt", base.subsets, [error]))
    assert note.endswith("`loratui dataset scan /p/img` lists them")
