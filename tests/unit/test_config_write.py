"""Saving over an existing config edits it in place: only changed values move, the rest is byte-for-byte."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loratui.core.config import SECTIONS, TrainingConfig
from loratui.core.config import FIELDS
from loratui.core.config import (ConfigError, config_from_dict, config_to_dict, dumps_config, load_config,
                                    loads_config, save_config)
from loratui.core.config import file_name_problem, update_config_text
from loratui.core.errors import ConflictError

HAND_WRITTEN = """\
# my SDXL face run -- notes first
[model]
pretrained_model_name_or_path = 'C:\\models\\sdxl.safetensors'   # literal: backslashes

[network]
# rank 16 worked best for faces
  network_dim   =  16
network_alpha = 8.0 # half of dim

[training]
mixed_precision = "bf16"
seed = 42

# trailing notes about [saving]
[saving]
output_name = "face"
"""


def _lines_changed(before: str, after: str) -> list[tuple[str, str]]:
    a, b = before.splitlines(), after.splitlines()
    assert len(a) == len(b), (before, after)
    return [(x, y) for x, y in zip(a, b) if x != y]


# ---------------------------------------------------------------- property: no-op and one-line changes

_NICE_FLOATS = [0.0, 0.5, 1.0, 1e-4, 5e-05, 0.05, 2.0, 16.0, 100.0]
_TEXTS = ["", "img", "a b", "C:\\x\\y", 'say "hi"', "it's", "tab\there", "ünïcødé", "models/sd.safetensors"]


def _value(spec):
    if spec.choices:
        return st.sampled_from(spec.choices)
    lo = spec.min if spec.min is not None else 0
    hi = spec.max if spec.max is not None else 10_000
    if spec.kind == "bool":
        return st.booleans()
    if spec.kind == "int":
        return st.integers(int(lo), int(min(hi, lo + 5000)))
    if spec.kind == "float":
        return st.sampled_from([v for v in _NICE_FLOATS if lo <= v <= hi])
    if spec.kind == "warmup":
        return st.one_of(st.integers(0, 500), st.sampled_from([0.05, 0.1, 0.5]))
    if spec.kind == "str":
        if (spec.section, spec.name) == ("saving", "output_name"):  # a plain file name, or load refuses it
            return st.sampled_from([t for t in _TEXTS if file_name_problem(t) is None])
        return st.sampled_from(_TEXTS)
    if spec.kind == "str_list":
        return st.lists(st.sampled_from(["weight_decay=0.01", "betas=0.9,0.99", "eps=1e-8"]), max_size=3)
    if spec.kind == "resolution":
        side = st.sampled_from([256, 512, 768, 1024])
        return st.one_of(side, st.lists(side, min_size=2, max_size=2))
    raise AssertionError(spec.kind)


KEYS = sorted(FIELDS)


@st.composite
def hand_written_configs(draw):
    """(file text, loaded config): a random subset of keys, each in a random hand-edit style."""
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    chosen = draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=20, unique=True))
    data: dict[str, dict] = {}
    for key in chosen:
        data.setdefault(key[0], {})[key[1]] = draw(_value(FIELDS[key]))
    cfg = config_from_dict(data)
    values = config_to_dict(cfg)
    lines = []
    if draw(st.booleans()):
        lines.append("# my notes")
    for section in SECTIONS:
        if section not in data:
            continue
        lines.append(draw(st.sampled_from([f"[{section}]", f"[ {section} ]  # sec"])))
        for key in data[section]:
            if draw(st.booleans()):
                lines.append(draw(st.sampled_from(["", "# a comment", "  # indented comment"])))
            value = values[section].get(key)
            text = dumps_config(config_from_dict({section: {key: value}}), comments=False)
            raw = next(line for line in text.splitlines() if line.startswith(f"{key} ="))[len(key) + 3:]
            if isinstance(value, str) and "'" not in value and "\t" not in value and draw(st.booleans()):
                raw = f"'{value}'"
            indent, eq = draw(st.sampled_from([("", " = "), ("  ", "="), ("\t", "   =  ")]))
            tail = draw(st.sampled_from(["", "  # why", "# x"]))
            lines.append(f"{indent}{key}{eq}{raw}{tail}")
        lines.append("")
    text = newline.join(lines) + newline
    if draw(st.booleans()):
        text = "\ufeff" + text
    return text, loads_config(text.removeprefix("\ufeff").replace("\r\n", "\n")), data


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=hand_written_configs(), data=st.data())
def test_unchanged_is_noop_and_one_value_is_one_line(case, data):
    text, cfg, present = case
    assert update_config_text(text, cfg) is text
    section = data.draw(st.sampled_from(sorted(present)))
    key = data.draw(st.sampled_from(sorted(present[section])))
    changed = copy.deepcopy(cfg)
    old = getattr(getattr(cfg, section), key)
    raw_new = data.draw(_value(FIELDS[(section, key)]).filter(
        lambda v: config_from_dict({section: {key: v}}).__getattribute__(section).__getattribute__(key) != old))
    setattr(getattr(changed, section), key,
            getattr(getattr(config_from_dict({section: {key: raw_new}}), section), key))
    out = update_config_text(text, changed)
    assert out.startswith("\ufeff") == text.startswith("\ufeff")
    assert out.count("\r\n") == out.count("\n") if "\r\n" in text else "\r" not in out
    diff = _lines_changed(text, out)
    assert len(diff) == 1 and key in diff[0][1]
    assert loads_config(out.removeprefix("\ufeff")) == changed


def test_file_noop_keeps_bytes_and_mtime():
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.toml"
        path.write_text(HAND_WRITTEN)
        os.utime(path, ns=(1_000_000_000, 1_000_000_000))
        cfg = load_config(path)
        assert save_config(cfg, path) is False
        assert path.read_text() == HAND_WRITTEN and path.stat().st_mtime_ns == 1_000_000_000


# ---------------------------------------------------------------- what an in-place save does


def test_changed_values_keep_comments_quoting_and_order(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(HAND_WRITTEN)
    cfg = load_config(path)
    cfg.network.network_dim = 32
    cfg.model.pretrained_model_name_or_path = "D:\\other.safetensors"
    assert save_config(cfg, path) is True
    out = path.read_text()
    assert _lines_changed(HAND_WRITTEN, out) == [
        ("pretrained_model_name_or_path = 'C:\\models\\sdxl.safetensors'   # literal: backslashes",
         "pretrained_model_name_or_path = 'D:\\other.safetensors'   # literal: backslashes"),
        ("  network_dim   =  16", "  network_dim   =  32")]
    assert load_config(path) == cfg
    assert [p.name for p in tmp_path.iterdir()] == ["c.toml"]  # atomic write left no temp file


def test_new_keys_go_in_their_section_with_help(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(HAND_WRITTEN)
    cfg = load_config(path)
    cfg.network.conv_dim = 4                 # section exists: after its last key
    cfg.training.max_train_epochs = 12
    cfg.sampling.sample_every_n_epochs = 2   # section missing: appended, commented
    save_config(cfg, path)
    out = path.read_text()
    assert out.startswith(HAND_WRITTEN.split("[training]")[0].replace(
        "network_alpha = 8.0 # half of dim\n",
        "network_alpha = 8.0 # half of dim\n# Rank for the UNet's 3x3 conv layers (LoCon-style). 0 = do not "
        "train them. Range: from 0 to 1024.\nconv_dim = 4\n"))
    assert "seed = 42\n# Train this many epochs (takes precedence over max_train_steps). Range: from 1 to " \
           "100000.\nmax_train_epochs = 12\n\n# trailing notes about [saving]" in out
    assert out.endswith('output_name = "face"\n\n[sampling]\n# Render samples every N epochs (sample_every_n_steps is then ignored). Range: >= 1.\n'
                        "sample_every_n_epochs = 2\n")
    assert load_config(path) == cfg


def test_fresh_file_is_fully_commented_and_placeholders_fill_in_place(tmp_path):
    path = tmp_path / "c.toml"
    cfg = TrainingConfig()
    assert save_config(cfg, path) is True
    fresh = path.read_text()
    assert fresh == dumps_config(cfg)
    cfg = load_config(path)
    cfg.training.max_train_steps = 900
    save_config(cfg, path)
    out = path.read_text()
    assert "# max_train_steps = 1600\nmax_train_steps = 900\n" in out
    assert len(out.splitlines()) == len(fresh.splitlines()) + 1


def test_unset_comments_the_line_out(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(HAND_WRITTEN.replace("seed = 42\n", "seed = 7\nmax_train_epochs = 10  # short run\n"))
    before = path.read_text()
    cfg = load_config(path)
    cfg.training.max_train_epochs = None          # an optional field set to None is an explicit unset
    cfg.training.seed = 42
    assert save_config(cfg, path, unset=["training.seed"]) is True   # unset: back to the default
    assert _lines_changed(before, path.read_text()) == [
        ("seed = 7", "# seed = 7"), ("max_train_epochs = 10  # short run", "# max_train_epochs = 10  # short run")]
    assert load_config(path) == cfg
    cfg.network.network_dim = 99
    with pytest.raises(ValueError):
        save_config(cfg, path, unset=["network_dim"])  # unset needs the default in cfg
    with pytest.raises(ValueError):
        save_config(cfg, path, unset=["no_such_key"])


def test_default_valued_keys_are_never_dropped(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[training]\nseed = 1\nclip_skip = 1  # default, but I want it visible\n")
    cfg = load_config(path)
    cfg.training.seed = 2
    save_config(cfg, path)
    assert path.read_text() == "[training]\nseed = 2\nclip_skip = 1  # default, but I want it visible\n"


def test_crlf_and_bom_are_kept(tmp_path):
    path = tmp_path / "c.toml"
    original = "\ufeff" + HAND_WRITTEN.replace("\n", "\r\n")
    path.write_bytes(original.encode("utf-8"))
    cfg = load_config(path)
    assert save_config(cfg, path) is False
    cfg.training.seed = 5
    cfg.dataset.flip_aug = True  # a new section too
    save_config(cfg, path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf# my SDXL face run")
    assert raw.count(b"\r\n") == raw.count(b"\n") and b"seed = 5\r\n" in raw
    assert raw.decode("utf-8-sig").replace("seed = 5", "seed = 42").startswith(original[1:])
    assert load_config(path) == cfg


def test_invalid_or_foreign_file_is_never_overwritten(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[network]\nnetwork_dim = \n")
    with pytest.raises(ConfigError, match="line 2"):
        save_config(TrainingConfig(), path)
    assert path.read_text() == "[network]\nnetwork_dim = \n"
    path.write_bytes(b"[network]\n# \xff\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        save_config(TrainingConfig(), path)
    path.write_text("\n\n")  # empty: treated as a new file
    assert save_config(TrainingConfig(), path) and path.read_text() == dumps_config(TrainingConfig())


def test_saving_a_new_config_over_a_file_keeps_its_comments(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(HAND_WRITTEN)
    cfg = TrainingConfig()  # not loaded from it: the file is still edited in place, keys unset
    save_config(cfg, path)
    out = path.read_text()
    assert "# rank 16 worked best for faces" in out and "# trailing notes about [saving]" in out
    assert loads_config(out) == cfg


# ---------------------------------------------------------------- conflicts


def test_external_change_since_load_is_a_conflict(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(HAND_WRITTEN)
    cfg = load_config(path)
    cfg.training.seed = 1
    path.write_text(HAND_WRITTEN + "# edited in vim meanwhile\n")
    with pytest.raises(ConflictError) as exc:
        save_config(cfg, path)
    assert "changed on disk since it was loaded" in str(exc.value) and "\n" not in str(exc.value)
    assert path.read_text().endswith("# edited in vim meanwhile\n")
    assert save_config(cfg, path, force=True) is True  # an explicit overwrite merges into the new text
    assert path.read_text().endswith("# edited in vim meanwhile\n") and "seed = 1" in path.read_text()
    cfg.training.seed = 2
    assert save_config(cfg, path) is True  # our own write is the new baseline
    path.unlink()
    with pytest.raises(ConflictError, match="was deleted"):
        save_config(cfg, path)


def test_same_bytes_rewritten_is_not_a_conflict(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(HAND_WRITTEN)
    cfg = load_config(path)
    path.write_text(HAND_WRITTEN)  # an editor saved without changes: new mtime, same content
    cfg.training.seed = 3
    assert save_config(cfg, path) is True


def test_change_during_the_merge_is_a_conflict(tmp_path, monkeypatch):
    from loratui.core.config import write as config_write  # patched below

    path = tmp_path / "c.toml"
    path.write_text(HAND_WRITTEN)
    cfg = load_config(path)
    cfg.training.seed = 3
    real = config_write.update_config_text

    def racing(text, *args, **kwargs):
        path.write_text(HAND_WRITTEN + "# racer\n")
        return real(text, *args, **kwargs)

    monkeypatch.setattr(config_write, "update_config_text", racing)
    with pytest.raises(ConflictError):
        save_config(cfg, path)
    assert path.read_text().endswith("# racer\n")


# ---------------------------------------------------------------- the real CLI


def test_presets_apply_keeps_hand_edits_for_real(tmp_path):
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "xdg"), HF_HUB_OFFLINE="1")
    path = tmp_path / "run.toml"

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "loratui", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)

    assert cli("config", "new", str(path)).returncode == 0
    text = path.read_text().replace("[network]\n", "[network]\n# my note: keep rank low\n")
    text = text.replace('mixed_precision = "bf16"', 'mixed_precision = "bf16"   # 3090')
    path.write_text(text)
    result = cli("presets", "apply", str(path), "sd15-8gb", "--yes")
    assert result.returncode == 0, result.stderr
    out = path.read_text()
    assert _lines_changed(text, out) == [
        ("network_dim = 16", "network_dim = 32"), ("network_alpha = 8.0", "network_alpha = 16.0"),
        ("train_batch_size = 1", "train_batch_size = 2"),
        ('mixed_precision = "bf16"   # 3090', 'mixed_precision = "fp16"   # 3090')]
