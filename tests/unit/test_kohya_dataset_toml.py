"""kohya_ss JSON + sd-scripts dataset_config TOML: several [[datasets]] are merged only when that provably changes
nothing, a reg subset order loratui cannot follow is a warning naming the images each uses, a "differs" refusal shows
the values that differ (and which come from the JSON), caption options that change nothing on a reg subset without
caption files are not refused, and a TOML given as the GUI JSON says what it is."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from loratui.cli import main
from loratui.core.config import import_kohya_file
from loratui.core.errors import LoratuiError


@pytest.fixture(autouse=True)
def no_xformers(monkeypatch):
    monkeypatch.setattr("loratui.core.config.packages.installed", lambda name: name != "xformers")


def _images(folder, count=1, size=(64, 64), captions=False, start=0):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + count):
        Image.new("RGB", size).save(folder / f"{i}.png")
        if captions:
            (folder / f"{i}.txt").write_text("a tag, another")


def _subset(folder, repeats, reg=False, **keys):
    lines = [f'[[datasets.subsets]]\nimage_dir = "{folder}"\nnum_repeats = {repeats}']
    lines += ["is_reg = true"] if reg else []
    lines += [f"{k} = {json.dumps(v)}" for k, v in keys.items()]
    return "\n".join(lines) + "\n"


def _write(tmp_path, toml_text, **json_keys):
    (tmp_path / "dataset.toml").write_text(toml_text)
    data = {"LoRA_type": "Standard", "network_dim": 8, "dataset_config": "dataset.toml", "keep_tokens": 0,
            "shuffle_caption": True, "caption_extension": ".txt", "max_resolution": "64,64", "train_batch_size": 1,
            "enable_bucket": True, "max_train_epochs": 3, **json_keys}
    path = tmp_path / "kohya.json"
    path.write_text(json.dumps(data))
    return path


def _refusal(path) -> str:
    with pytest.raises(LoratuiError) as info:
        import_kohya_file(path)
    text = str(info.value)
    assert "\n" not in text and "dataset.toml" in text
    return text


# 1. several [[datasets]]


def test_several_datasets_with_reg_subsets_are_refused_naming_the_pairs(tmp_path):
    img, reg = tmp_path / "img", tmp_path / "reg"
    for folder, count in ((img / "10_alice woman", 3), (img / "5_bob man", 2), (img / "1_style", 2),
                          (reg / "1_woman", 6), (reg / "2_man", 3)):
        _images(folder, count)
    toml = "[general]\nbatch_size = 2\n" + \
        "[[datasets]]\n" + _subset(img / "10_alice woman", 10) + _subset(reg / "1_woman", 1, reg=True) + \
        "[[datasets]]\n" + _subset(img / "5_bob man", 5) + _subset(reg / "2_man", 2, reg=True) + \
        "[[datasets]]\n" + _subset(img / "1_style", 1)
    text = _refusal(_write(tmp_path, toml))
    assert "its 3 [[datasets]] would become loratui's one dataset" in text
    assert "(1_woman with 10_alice woman; 2_man with 5_bob man)" in text
    assert "train each [[datasets]] as a config of its own" in text and "one [[datasets]] of dataset.toml" in text


def _two_datasets(tmp_path, first, second, **dataset_keys):
    """Two [[datasets]], no reg: ``first`` / ``second`` are lists of (count, size) for their 1_a / 1_b folders."""
    for name, groups in (("1_a", first), ("1_b", second)):
        start = 0
        for count, size in groups:
            _images(tmp_path / "img" / name, count, size, start=start)
            start += count
    general = "".join(f"{k} = {json.dumps(v)}\n" for k, v in dataset_keys.items())
    return _write(tmp_path, f"[general]\n{general}[[datasets]]\n" + _subset(tmp_path / "img" / "1_a", 1) +
                  "[[datasets]]\n" + _subset(tmp_path / "img" / "1_b", 1))


def _merge_note(report) -> str:
    return next(note for key, _, note in report.from_dataset_config if key == "[[datasets]]")


def test_several_datasets_with_batch_size_1_merge_with_a_note(tmp_path):
    path = _two_datasets(tmp_path, [(3, (64, 64))], [(1, (64, 128))], batch_size=1)
    cfg, report = import_kohya_file(path)
    assert cfg.dataset.train_data_dir == str(tmp_path / "img")
    assert "its 2 [[datasets]] are merged into one (no reg subsets): batch_size 1" in _merge_note(report)


@pytest.mark.parametrize("first, second, merged", [
    (2, 3, "3 batches of 2 per epoch either way (one bucket)"),  # 1 + 2 = ceil(5 / 2)
    (3, 1, None),  # 2 + 1 = 3 batches apart, ceil(4 / 2) = 2 merged
])
def test_without_bucketing_the_batches_are_counted_both_ways(tmp_path, first, second, merged):
    path = _two_datasets(tmp_path, [(first, (64, 64))], [(second, (64, 128))], batch_size=2, enable_bucket=False)
    if merged:
        assert merged in _merge_note(import_kohya_file(path)[1])
    else:
        assert "cuts each [[datasets]] into batches of 2: 2 + 1 = 3 batches per epoch, merged 2" in _refusal(path)


def test_with_bucketing_one_image_size_is_one_bucket(tmp_path):
    path = _two_datasets(tmp_path, [(3, (64, 64))], [(1, (64, 64))], batch_size=2)
    assert "2 + 1 = 3 batches per epoch, merged 2" in _refusal(path)


def test_with_bucketing_whole_batches_in_all_datasets_but_one_merge(tmp_path):
    path = _two_datasets(tmp_path, [(2, (64, 64)), (2, (64, 128))], [(1, (64, 64)), (1, (128, 64))], batch_size=2)
    assert "fill whole batches of 2 in all [[datasets]] but at most one" in _merge_note(import_kohya_file(path)[1])


def test_with_bucketing_partial_batches_in_two_datasets_are_refused(tmp_path):
    path = _two_datasets(tmp_path, [(1, (64, 64)), (2, (64, 128))], [(1, (64, 64)), (1, (128, 64))], batch_size=2)
    assert "[[datasets]] 1 and 2 have image sizes whose samples leave a partial batch" in _refusal(path)


# 2. the reg subsets' order


def _reg_order(tmp_path, train_images, order):
    _images(tmp_path / "img" / "1_style", train_images, captions=True)
    _images(tmp_path / "reg" / "2_man", 3)
    _images(tmp_path / "reg" / "1_woman", 6)
    repeats = {"2_man": 2, "1_woman": 1}
    toml = "[[datasets]]\nbatch_size = 4\n" + _subset(tmp_path / "img" / "1_style", 1) + "".join(
        _subset(tmp_path / "reg" / name, repeats[name], reg=True) for name in order)
    return _write(tmp_path, toml)


def test_a_reg_order_that_changes_which_images_are_used_is_a_warning_naming_them(tmp_path):
    _, report = import_kohya_file(_reg_order(tmp_path, 2, ["2_man", "1_woman"]))
    [warning] = [w for w in report.warnings if "reg subsets" in w]
    assert "lists its reg subsets as 2_man and 1_woman, loratui uses its reg folders in name order " \
           "(1_woman and 2_man)" in warning
    assert "sd-scripts would use 2 sample(s) from 1 image(s) of 2_man; loratui uses 2 sample(s) from 2 image(s) of " \
           "1_woman instead" in warning


@pytest.mark.parametrize("train_images, order", [
    (2, ["1_woman", "2_man"]),  # loratui's order
    (12, ["2_man", "1_woman"]),  # 12 reg samples for 12 training ones: every image, its repeats, either way
    (30, ["2_man", "1_woman"]),  # padded by 18 = 2 more repeats for each of the 9 images either way
])
def test_a_reg_order_that_changes_nothing_is_no_warning(tmp_path, train_images, order):
    _, report = import_kohya_file(_reg_order(tmp_path, train_images, order))
    assert not [w for w in report.warnings if "reg subsets" in w]


# 3. "differs": the values that differ, and reg subsets without caption files


def _captions(tmp_path, reg_captions, reg_keys=None, class_tokens="woman", **json_keys):
    for name in ("10_alice", "5_bob"):
        _images(tmp_path / "img" / name, 2, captions=True)
    _images(tmp_path / "reg" / f"1_{class_tokens}", 3, captions=reg_captions)
    toml = "[[datasets]]\n" + _subset(tmp_path / "img" / "10_alice", 10, keep_tokens=1) + \
        _subset(tmp_path / "img" / "5_bob", 5, keep_tokens=1) + \
        _subset(tmp_path / "reg" / f"1_{class_tokens}", 1, reg=True, class_tokens=class_tokens, **(reg_keys or {}))
    return _write(tmp_path, toml, **json_keys)


def test_keep_tokens_on_a_reg_subset_without_captions_changes_nothing(tmp_path):
    cfg, report = import_kohya_file(_captions(tmp_path, reg_captions=False))
    assert cfg.dataset.keep_tokens == 1
    note = dict((k, n) for k, _, n in report.from_dataset_config)["keep_tokens"]
    assert "[[datasets]] 1, subset 3 differ(s): reg images without caption files, where keep_tokens changes nothing" \
        in note


def test_the_differs_refusal_shows_the_values_that_differ_and_where_they_come_from(tmp_path):
    text = _refusal(_captions(tmp_path, reg_captions=True))
    assert "keep_tokens differs between subsets: 1 in [[datasets]] 1, subsets 1 and 2 vs 0 in [[datasets]] 1, " \
           "subset 3 (dataset.toml sets none there: the kohya_ss JSON's keep_tokens)" in text
    assert "or change the JSON's keep_tokens" in text


@pytest.mark.parametrize("reg_keys, class_tokens, json_keys, refused", [
    ({"caption_dropout_rate": 0.5}, "woman", {}, "caption_dropout_rate differs"),  # empties the class tokens
    ({"flip_aug": True}, "woman", {}, "flip_aug differs"),
    ({}, "woman", {"caption_tag_dropout_rate": 0.2}, "keep_tokens differs"),  # 0 kept: the one tag can be dropped
    ({}, "woman, photo", {}, "keep_tokens differs"),  # two tags: shuffled apart
    ({"shuffle_caption": False, "caption_extension": ".caption", "caption_separator": ";"}, "woman", {}, None),
])
def test_only_options_that_change_nothing_on_caption_less_reg_are_let_through(tmp_path, reg_keys, class_tokens,
                                                                             json_keys, refused):
    path = _captions(tmp_path, False, reg_keys, class_tokens, **json_keys)
    if refused:
        assert refused in _refusal(path)
    else:
        cfg, _ = import_kohya_file(path)
        assert cfg.dataset.shuffle_caption is True and cfg.dataset.caption_extension == ".txt"


# 4. a TOML given as the GUI JSON


@pytest.mark.parametrize("name, text, says", [
    ("dataset.toml", '[general]\nbatch_size = 2\n[[datasets]]\n', "an sd-scripts dataset_config TOML, not a kohya_ss "
                                                                  "GUI JSON: import the GUI JSON whose dataset_config"),
    ("cfg.toml", '[model]\nmodel_family = "sd1"\n[dataset]\ntrain_data_dir = "img"\n', "already a loratui config"),
    ("config.toml", 'pretrained_model_name_or_path = "m.safetensors"\nlearning_rate = 1e-4\n',
     "a TOML file (an sd-scripts --config_file?), not a kohya_ss GUI JSON"),
    ("broken.toml", "[[datasets]\n", "not valid JSON, and not valid TOML either"),
])
def test_a_toml_given_to_import_kohya_says_what_it_is(tmp_path, monkeypatch, capsys, name, text, says):
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_text(text)
    with pytest.raises(SystemExit) as info:
        main(["config", "import-kohya", name, "-o", "out.toml"])
    out, err = capsys.readouterr()
    assert info.value.code == 2 and out == ""
    [line] = err.strip().splitlines()
    assert line.startswith(f"error: {name}: ") and says in line and not (tmp_path / "out.toml").exists()
