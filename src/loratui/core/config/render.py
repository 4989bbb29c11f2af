"""A fresh config file as text: every key with its help text as a comment above it.

Why our own writer: tomli-w cannot write comments, and the help above each key is what makes the
file editable by hand. write.py uses the same pieces to add a key to an existing file.
"""

from __future__ import annotations

import textwrap
from typing import Any

from loratui.core.config.fields import FIELDS, FieldSpec, range_text
from loratui.core.config.load import config_to_dict
from loratui.core.config.schema import SECTIONS, TrainingConfig, section_fields


_HEADER = """\
# loratui training config. Every key has its help text above it; `loratui config explain KEY`
# prints it too. Relative paths are relative to this file's folder. Booleans are true/false (no
# quotes). A key shown as a comment ("# key = ...") is unset: remove the "# " and set a value.
"""


def _toml_str(value: str) -> str:
    out = ['"']
    for ch in value:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        return text if any(c in text for c in ".en") else text + ".0"
    if isinstance(value, str):
        return _toml_str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def help_comment(spec: FieldSpec) -> list[str]:
    text = spec.help
    if spec.choices:
        text += " One of: " + ", ".join(map(str, spec.choices)) + "."
    elif spec.kind in ("int", "float") and (spec.min is not None or spec.max is not None):
        text += " Range:" + range_text(spec) + "."
    return ["# " + line for line in textwrap.wrap(text, 98)]


_EXAMPLES = {
    "unet_lr": "0.0001", "text_encoder_lr": "5e-05", "max_train_epochs": "10", "max_train_steps": "1600",
    "min_snr_gamma": "5.0", "save_every_n_epochs": "1", "save_every_n_steps": "500",
    "save_last_n_epochs": "3", "save_last_n_steps": "1000", "sample_every_n_epochs": "1",
    "sample_every_n_steps": "200", "adaptive_noise_scale": "0.05",
}


def _example(spec: FieldSpec) -> str:
    if spec.name in _EXAMPLES:
        return _EXAMPLES[spec.name]
    if spec.kind == "int":
        return str(int(spec.min or 1))
    return toml_value(spec.min if spec.min is not None else 1.0) if spec.kind == "float" else '""'


def dumps_config(cfg: TrainingConfig, *, comments: bool = True) -> str:
    """The config as TOML: every key, its help above it (unless ``comments=False``); unset optional
    keys are written commented out."""
    data = config_to_dict(cfg)
    lines = [_HEADER] if comments else []
    for section in SECTIONS:
        lines.append(f"[{section}]")
        for f in section_fields(section):
            spec = FIELDS[(section, f.name)]
            if comments:
                lines.extend(help_comment(spec))
            if f.name in data[section]:
                lines.append(f"{f.name} = {toml_value(data[section][f.name])}")
            else:
                lines.append(f"# {f.name} = {_example(spec) if comments else '(unset)'}")
        lines.append("")
    return "\n".join(lines)
