"""Sample prompt files as sd-scripts reads them (.txt, .toml, .json; 512x512 without --w/--h; its sampler
names), config check naming a prompt file's sampler that cannot run, and sd-scripts' sample file names read
back (core/run_files.py, the Train screen's words). No torch."""

from __future__ import annotations

import json

import pytest

from loratui.core.config import SAMPLERS, SCHEDULER_CLASSES, TrainingConfig, missing_packages, parse_prompts, validate
from loratui.core.config import packages
from loratui.core.errors import LoratuiError
from loratui.core.run_files import previous_samples, sample_epoch, sample_step, samples_past
from loratui.tui.screens.train_checkpoints import detail_lines, sample_words

TOML = """[prompt]
width = 128
height = 96
sample_steps = 4
negative_prompt = "lowres"

[[prompt.subset]]
prompt = "a red circle"
seed = 1

[[prompt.subset]]
prompt = "a blue square"
sample_sampler = "k_euler_a"
scale = 5
"""


def test_a_toml_file_is_read_as_sd_scripts_reads_it(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(TOML, encoding="utf-8")
    a, b = parse_prompts(path)
    assert (a.prompt, a.width, a.height, a.steps, a.negative, a.seed) == ("a red circle", 128, 96, 4, "lowres", 1)
    assert (b.prompt, b.sampler, b.scale, b.seed) == ("a blue square", "euler_a", 5.0, None)


@pytest.mark.parametrize("text, message", [
    ("[prompt]\nwidth = 64\n", r"p\.toml needs sd-scripts' layout: a \[prompt\] table and one \[\[prompt.subset\]\]"),
    ("[prompt]\nwidth = 64\n[[prompt.subset]]\nprompt = 'x'\nwidth = 96\n",
     r"p\.toml: \[\[prompt.subset\]\] 1 sets width, which \[prompt\] sets too"),
    ("[prompt]\n[[prompt.subset]]\nprompt = 'x'\nwidth = '512px'\n",
     r"p\.toml: \[\[prompt.subset\]\] 1: width must be a whole number, not \"512px\""),
    ("[prompt]\n[[prompt.subset]]\nprompt = 'x'\nsteps = 20\n",
     r"p\.toml: \[\[prompt.subset\]\] 1: unknown key 'steps': did you mean sample_steps\?"),
    ("[prompt]\n[[prompt.subset]]\nprompt = 'x'\nsample_sampler = 'magic'\n",
     r"p\.toml: \[\[prompt.subset\]\] 1: unknown sampler sample_sampler magic"),
    ("[prompt]\n[[prompt.subset]]\nseed = 3\n", r"p\.toml: \[\[prompt.subset\]\] 1: no prompt"),
    ("[prompt\n", r"p\.toml is not valid TOML"),
])
def test_a_bad_toml_file_is_refused_naming_the_file_and_field(tmp_path, text, message):
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LoratuiError, match=message):
        parse_prompts(path)


def test_a_json_list_of_lines_and_objects_is_read(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps(["a cat --w 64 --s 4", {"prompt": "a dog", "height": 72, "seed": 9,
                                                       "guidance_scale": 3.5}]), encoding="utf-8")
    a, b = parse_prompts(path)
    assert (a.prompt, a.width, a.height, a.steps) == ("a cat", 64, 512, 4)
    assert (b.prompt, b.width, b.height, b.seed) == ("a dog", 512, 72, 9)  # FLUX's guidance_scale ignored


@pytest.mark.parametrize("doc, message", [
    ({"prompt": "x"}, r"p\.json must hold a JSON list of prompts"),
    (["ok", 5], r"p\.json: prompt 2 is 5: give a prompt line"),
    (["a cat --s"], r"p\.json: prompt 1: --s needs a value"),
    ([{"prompt": "x", "scale": "high"}], r"p\.json: prompt 1: scale must be a number, not \"high\""),
])
def test_a_bad_json_file_is_refused_naming_the_file_and_prompt(tmp_path, doc, message):
    path = tmp_path / "p.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(LoratuiError, match=message):
        parse_prompts(path)
    path.write_text('["a",\n oops]')
    with pytest.raises(LoratuiError, match=r"p\.json, line 2: not valid JSON"):
        parse_prompts(path)


def test_a_prompt_without_a_size_is_512_whatever_the_training_resolution(tmp_path):
    path = tmp_path / "p.txt"
    path.write_text("a cat\na dog --w 768\n")
    a, b = parse_prompts(path)
    assert (a.width, a.height, b.width, b.height) == (512, 512, 768, 512)


def test_sd_scripts_sampler_names_are_taken_in_the_config_and_the_prompt_file(tmp_path):
    sd_scripts = {"ddim", "pndm", "lms", "euler", "euler_a", "heun", "dpm_2", "dpm_2_a", "dpmsolver", "dpmsolver++",
                  "dpmsingle", "k_lms", "k_euler", "k_euler_a", "k_dpm_2", "k_dpm_2_a"}  # its --sample_sampler choices
    assert sd_scripts <= set(SAMPLERS) and set(SAMPLERS) == set(SCHEDULER_CLASSES)
    for name in ("k_euler_a", "dpmsingle"):
        cfg = TrainingConfig()
        cfg.sampling.sample_sampler = name
        assert not [p for p in validate(cfg) if "sample_sampler" in p]
        path = tmp_path / "p.txt"
        path.write_text(f"x --ss {name}\n")
        assert parse_prompts(path)[0].sampler == name.removeprefix("k_")


def test_config_check_names_a_prompt_files_sampler_that_needs_scipy(tmp_path, monkeypatch):
    monkeypatch.setattr(packages, "installed", lambda name: name != "scipy")
    (tmp_path / "p.txt").write_text("red circle --w 64 --ss k_lms\nblue --ss euler\n")
    cfg = TrainingConfig()
    cfg.config_dir = tmp_path
    cfg.sampling.sample_prompts, cfg.sampling.sample_sampler = "p.txt", "ddim"
    assert missing_packages(cfg) == ["--ss lms in p.txt needs the scipy package: pip install scipy, or pick another "
                                     "sampler (sd-scripts' default is ddim)"]
    cfg.sampling.sample_sampler = "k_lms"
    assert missing_packages(cfg)[0].startswith("sampling.sample_sampler k_lms and --ss lms in p.txt needs")
    (tmp_path / "p.txt").write_text("red --ss magic\n")  # the file checks say why it does not read
    cfg.sampling.sample_sampler = "ddim"
    assert missing_packages(cfg) == []


def test_sd_scripts_sample_names_and_the_older_ones_are_read_back(tmp_path):
    folder = tmp_path / "sample"
    folder.mkdir()
    names = ["t1_000003_00_7.png", "t1_000004_00_20260216080729.png", "t1_000005_01_20260216080730_7.png",
             "t1_e000002_00_20260216080731.png", "t1_e000000_00_20260216080700.png", "t2_000009_00_20260216080729.png",
             "t1_000003_00_2026.txt"]
    for name in names:
        (folder / name).write_bytes(b"png")
    assert [p.name for p in previous_samples(tmp_path, "t1")] == sorted(names[:5])
    assert [sample_step(n, "t1") for n in names[:5]] == [3, 4, 5, None, None]
    assert [sample_epoch(n, "t1") for n in names[:5]] == [None, None, None, 2, 0]
    assert [p.name for p in samples_past(tmp_path, "t1", 3)] == [names[1], names[2]]
    assert [p.name for p in samples_past(tmp_path, "t1", 3, epoch=1)] == [names[1], names[2], names[3]]


def test_the_train_screen_shows_the_prompt_text_or_else_what_the_name_says():
    assert sample_words("t1_000003_00_7.png") == "prompt 1 · seed 7"  # an older name
    assert sample_words("t1_000003_01_20260216080729.png") == "prompt 2"  # no --d: no seed in the name
    assert sample_words("t1_e000003_02_20260216080729_5.png") == "prompt 3 · seed 5"
    about = {"prompt": "a red circle on a blue ground, masterpiece", "seed": 43}
    assert sample_words("t1_000003_01_20260216080729.png", about) == f"{about['prompt']} · seed 43"

    class Point:
        kind, path, step, epoch, avg_loss, samples, state, asked, gone, kept_aside = (
            "step", "out/t1-step00000003.safetensors", 3, 1, None, ["a", "b"], None, False, False, False)

    lines = detail_lines(Point(), __import__("pathlib").Path("out/sample/t1_000003_01_20260216080729.png"), 1, 2,
                         "out", 29, about=about)
    assert lines[1] == "a red circle… · seed 43 · 2/2" and len(lines[1]) == 29


def test_a_seed_of_minus_one_is_no_seed_as_in_sd_scripts(tmp_path):
    """sd-scripts' `d (\\d+)` does not match "d -1": the option is skipped (a random seed there)."""
    from loratui.core.config import parse_prompt_line

    p = parse_prompt_line("a cat --w 512 --d -1", where="p.txt:1")
    assert p.seed is None and p.width == 512
    with pytest.raises(LoratuiError, match="--d needs a value"):  # other negatives stay refused
        parse_prompt_line("a cat --d -5", where="p.txt:1")
