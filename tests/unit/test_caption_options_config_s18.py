"""keep_tokens_separator, secondary_separator, caption_prefix and caption_suffix as [dataset] keys (fk1; hunt h6
A2/(b)): what sd-scripts would misbehave on is refused one line each naming the key, `config explain` says what
they do, `config check` notes an idle keep_tokens_separator, the file round-trips, `config import-kohya` maps them
from the GUI JSON and from a dataset_config TOML (no silent drop), and `config export-sdscripts` writes them."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from click.testing import CliRunner

from loratui.cli import cli
from loratui.core.config import (
    TrainingConfig, build_sdscripts, config_notes, import_kohya, import_kohya_file, loads_config, save_config,
    load_config, validate,
)
from loratui.core.errors import LoratuiError

KEYS = ("keep_tokens_separator", "secondary_separator", "caption_prefix", "caption_suffix")


def _problems(**dataset) -> list[str]:
    cfg = TrainingConfig()
    cfg.dataset = replace(cfg.dataset, **dataset)
    return [p for p in validate(cfg) if any(k in p for k in KEYS)]


def test_good_values_pass():
    assert _problems(keep_tokens_separator="|||", secondary_separator=";;;", caption_prefix="masterpiece, ",
                     caption_suffix=", best quality") == []
    assert _problems(keep_tokens_separator=" ||| ", caption_separator=";", secondary_separator="&") == []


@pytest.mark.parametrize("values, words", [
    ({"keep_tokens_separator": " "}, "keep_tokens_separator ' ' is only whitespace"),
    ({"secondary_separator": "\t"}, "secondary_separator '\\t' is only whitespace"),
    ({"keep_tokens_separator": "|||\n"}, "keep_tokens_separator '|||\\n' holds a line break"),
    ({"caption_prefix": "a,\nb"}, "caption_prefix 'a,\\nb' holds a line break: sd-scripts keeps the caption's first"),
    ({"caption_suffix": "\r\nx"}, "caption_suffix '\\r\\nx' holds a line break"),
    ({"keep_tokens_separator": ","}, "keep_tokens_separator ',' is caption_separator ','"),
    ({"keep_tokens_separator": "|", "caption_separator": "||"}, "is caption_separator '||' or part of it"),
    ({"secondary_separator": ","}, "secondary_separator ',' overlaps caption_separator ','"),
    ({"secondary_separator": ";,;"}, "secondary_separator ';,;' overlaps caption_separator"),
    ({"secondary_separator": ",", "caption_separator": "|"}, "is part of the ', ' that shuffled tags are joined"),
    ({"keep_tokens_separator": "|||", "secondary_separator": "||"}, "keep_tokens_separator '|||' and "
                                                                    "secondary_separator '||' overlap"),
])
def test_values_sd_scripts_misbehaves_on_are_one_line_naming_the_key(values, words):
    [problem] = _problems(**values)
    assert words in problem and "\n" not in problem and problem.startswith(next(iter(values)))


def test_the_file_round_trips_and_a_bad_value_is_named_at_load(tmp_path):
    cfg = TrainingConfig()
    cfg.dataset = replace(cfg.dataset, keep_tokens_separator="|||", secondary_separator=";;;",
                          caption_prefix='say "hi", \\o/,', caption_suffix=", end")
    save_config(cfg, tmp_path / "c.toml")
    text = (tmp_path / "c.toml").read_text()
    assert 'keep_tokens_separator = "|||"' in text and "[dataset]" in text
    back = load_config(tmp_path / "c.toml").dataset
    assert (back.keep_tokens_separator, back.secondary_separator, back.caption_prefix, back.caption_suffix) == \
        ("|||", ";;;", 'say "hi", \\o/,', ", end")
    with pytest.raises(LoratuiError, match="caption_prefix: must be a string"):
        loads_config("[dataset]\ncaption_prefix = 3\n", "c.toml")


def test_config_explain_and_the_check_note(tmp_path):
    runner = CliRunner()
    for key in KEYS:
        result = runner.invoke(cli, ["config", "explain", key])
        assert result.exit_code == 0 and result.output.startswith(f"[dataset] {key}  (string, default '')")
        assert "no such setting" not in result.output
    out = runner.invoke(cli, ["config", "explain", "keep_tokens_separator"]).output
    assert "shuffle_caption or caption_tag_dropout_rate" in " ".join(out.split())
    cfg = TrainingConfig()
    cfg.dataset = replace(cfg.dataset, keep_tokens_separator="|||")
    [note] = [n for n in config_notes(cfg) if "keep_tokens_separator" in n]
    assert "does nothing with shuffle_caption and caption_tag_dropout_rate off" in note
    cfg.dataset = replace(cfg.dataset, shuffle_caption=True)
    assert not [n for n in config_notes(cfg) if "keep_tokens_separator" in n]


def test_import_kohya_maps_the_gui_keys_without_a_silent_drop():
    data = {"LoRA_type": "Standard", "keep_tokens_separator": "|||", "secondary_separator": ";;;",
            "caption_prefix": "mychar,", "caption_suffix": "", "shuffle_caption": True}
    cfg, report = import_kohya(data)
    d = cfg.dataset
    assert (d.keep_tokens_separator, d.secondary_separator, d.caption_prefix, d.caption_suffix) == \
        ("|||", ";;;", "mychar,", "")
    mapped = {k: ours for k, ours, _ in report.mapped}
    assert {k: mapped.get(k) for k in KEYS[:3]} == {k: f"dataset.{k}" for k in KEYS[:3]}
    ignored = dict(report.ignored)
    assert "not used by loratui" not in "\n".join(report.lines())
    assert ignored["caption_suffix"].startswith("empty in the file")
    assert not any(k in w for w in report.warnings for k in KEYS)


def _dataset_toml(tmp_path, general: str, reg_extra: str = "") -> object:
    for folder in ("img/10_mychar", "img/2_outfit", "reg/1_woman"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "0.png").write_bytes(b"")
    (tmp_path / "img/10_mychar/0.txt").write_text("mychar ||| smile")
    (tmp_path / "dataset.toml").write_text(f"""
[general]
{general}
[[datasets]]
  [[datasets.subsets]]
  image_dir = "{tmp_path}/img/10_mychar"
  num_repeats = 10
  class_tokens = "mychar"
  [[datasets.subsets]]
  image_dir = "{tmp_path}/img/2_outfit"
  num_repeats = 2
  class_tokens = "outfit"
  [[datasets.subsets]]
  image_dir = "{tmp_path}/reg/1_woman"
  num_repeats = 1
  class_tokens = "woman"
  is_reg = true
  {reg_extra}
""")
    path = tmp_path / "kohya.json"
    path.write_text(json.dumps({"LoRA_type": "Standard", "dataset_config": "dataset.toml", "caption_extension": ".txt",
                                "keep_tokens_separator": "###", "max_train_steps": 10}))
    return path


def test_import_reads_them_from_a_dataset_config(tmp_path):
    path = _dataset_toml(tmp_path, 'keep_tokens_separator = "|||"\nsecondary_separator = ";;;"\n'
                                   'caption_prefix = "p,"\nshuffle_caption = true',
                         reg_extra='keep_tokens_separator = "@@"')  # reg images without captions: no matter
    cfg, report = import_kohya_file(path)
    d = cfg.dataset
    assert (d.keep_tokens_separator, d.secondary_separator, d.caption_prefix) == ("|||", ";;;", "p,")
    assert "keep_tokens_separator -> dataset.keep_tokens_separator" in "\n".join(report.lines())
    assert dict(report.ignored)["keep_tokens_separator"].startswith("dataset_config dataset.toml sets")
    assert not [w for w in report.warnings if "not supported" in w]


def test_a_dataset_config_whose_subsets_differ_is_refused(tmp_path):
    path = _dataset_toml(tmp_path, 'caption_prefix = "p,"', reg_extra='caption_prefix = "q,"')
    with pytest.raises(LoratuiError, match="caption_prefix differs between subsets"):
        import_kohya_file(path)


def test_export_writes_them_and_leaves_the_sdxl_cache_out(tmp_path):
    (tmp_path / "img" / "3_a").mkdir(parents=True)
    (tmp_path / "img" / "3_a" / "0.png").write_bytes(b"")
    cfg = TrainingConfig()
    cfg.model = replace(cfg.model, pretrained_model_name_or_path=str(tmp_path / "m.safetensors"), model_family="sdxl")
    cfg.dataset = replace(cfg.dataset, train_data_dir=str(tmp_path / "img"), keep_tokens_separator="|||",
                          caption_prefix="p,", caption_suffix="", secondary_separator=";;;")
    export = build_sdscripts(cfg)
    general = export.dataset["general"]
    assert (general["keep_tokens_separator"], general["secondary_separator"], general["caption_prefix"]) == \
        ("|||", ";;;", "p,")
    assert "caption_suffix" not in general  # empty: sd-scripts' off
    cfg.network = replace(cfg.network, network_train_unet_only=True)
    cfg.training = replace(cfg.training, cache_text_encoder_outputs=True)
    export = build_sdscripts(cfg)
    assert "cache_text_encoder_outputs" not in export.train_args
    assert any("without caption_prefix, secondary_separator" in n for n in export.notes)
    cfg.dataset = replace(cfg.dataset, caption_prefix="", secondary_separator="")
    assert build_sdscripts(cfg).train_args["cache_text_encoder_outputs"] is True
