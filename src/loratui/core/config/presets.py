"""VRAM presets: small TOML files that set the memory-relevant keys of a config for one card size.

A preset file holds ``id``, ``family`` (sd15 or sdxl), ``vram_gb``, a one-line ``description`` and
section tables ([dataset], [network], [training], ...) with only the keys it sets, spelled exactly
as in the config. Shipped presets live in the top-level presets/ folder; the user's own folder
($XDG_CONFIG_HOME/loratui/presets, else ~/.config/loratui/presets) is merged over them by id, and a
broken user file is reported (file and problem) instead of stopping everything else.
"""

from __future__ import annotations

import copy
import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loratui.core.config.families import canonical_family
from loratui.core.config.schema import SECTIONS, TrainingConfig
from loratui.core.config.fields import FIELDS, KEY_SECTIONS, coerce_value, field_spec
from loratui.core.errors import LoratuiError
from loratui.core.tomlfile import read_toml
from loratui.core.resources import data_dir

PRESET_FAMILIES = ("sd15", "sdxl")
ESTIMATOR_FAMILY = {"sd15": "sd1", "sdxl": "sdxl"}
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_META_KEYS = ("id", "family", "vram_gb", "description")


class PresetError(LoratuiError):
    """A preset file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Preset:
    id: str
    family: str
    vram_gb: int
    description: str
    settings: dict[str, dict[str, Any]]
    path: Path
    source: str = "shipped"   # "shipped" or "user"

    @property
    def estimator_family(self) -> str:
        return ESTIMATOR_FAMILY[self.family]

    def items(self) -> list[tuple[str, Any]]:
        """("section.key", value) pairs in file order."""
        return [(f"{s}.{k}", v) for s, keys in self.settings.items() for k, v in keys.items()]


@dataclass(frozen=True)
class FieldChange:
    key: str      # "section.key"
    old: Any
    new: Any


@dataclass
class PresetCatalog:
    presets: dict[str, Preset] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)   # "FILE: problem" for skipped user files

    def list(self, family: str | None = None) -> list[Preset]:
        found = [p for p in self.presets.values() if family is None or p.family == normalize_family(family)]
        return sorted(found, key=lambda p: (PRESET_FAMILIES.index(p.family), p.vram_gb, p.id))

    def get(self, preset_id: str) -> Preset:
        if preset_id in self.presets:
            return self.presets[preset_id]
        family, dash, rest = preset_id.partition("-")
        if dash and canonical_family(family) == "sd1" and f"sd15-{rest}" in self.presets:
            return self.presets[f"sd15-{rest}"]  # sd1-8gb: the family spelled as configs spell it
        close = difflib.get_close_matches(preset_id, list(self.presets), n=1, cutoff=0.5)
        hint = f" (did you mean {close[0]!r}?)" if close else " (`loratui presets list` shows them)"
        raise PresetError(f"no preset with id {preset_id!r}{hint}")


def normalize_family(family: str) -> str:
    """A preset family (sd15 or sdxl) from any spelling of a model family: sd1, sd15, sd1.5, sdxl."""
    canonical = canonical_family(family)
    value = {"sd1": "sd15", "sdxl": "sdxl"}.get(canonical or "")
    if value is None:
        which = "there are no SD 2.x presets" if canonical == "sd2" else "unknown family"
        raise PresetError(f"{family!r}: {which}: use sd1 (also spelled sd15) or sdxl")
    return value


def user_presets_dir() -> Path:
    from loratui.core.userdirs import user_config_dir  # one rule for every user folder (an empty HOME too)

    return user_config_dir() / "presets"


def shipped_presets_dir() -> Path:
    return data_dir("presets")


def parse_preset(data: dict, path: Path, source: str = "shipped") -> Preset:
    """Check a parsed preset file; PresetError names the file and the offending key."""
    def fail(problem: str) -> PresetError:
        return PresetError(f"{path}: {problem}")

    for key in _META_KEYS:
        if key not in data:
            raise fail(f"missing required key {key!r}")
    preset_id = data["id"]
    if not isinstance(preset_id, str) or not _ID.match(preset_id):
        raise fail(f"id must be lower-case letters, digits, '-', '_' or '.', got {preset_id!r}")
    family = data["family"]
    try:
        family = normalize_family(family) if isinstance(family, str) else None
    except PresetError:
        family = None
    if family is None:
        raise fail(f"family must be one of {', '.join(PRESET_FAMILIES)} (sd1 is read as sd15), got {data['family']!r}")
    vram_gb = data["vram_gb"]
    if isinstance(vram_gb, bool) or not isinstance(vram_gb, int) or not 1 <= vram_gb <= 1024:
        raise fail(f"vram_gb must be a whole number of GB between 1 and 1024, got {vram_gb!r}")
    description = data["description"]
    if not isinstance(description, str) or not description.strip() or "\n" in description.strip():
        raise fail("description must be a non-empty one-line string")

    settings: dict[str, dict[str, Any]] = {}
    for top, body in data.items():
        if top in _META_KEYS:
            continue
        if top not in SECTIONS:
            if top in KEY_SECTIONS:
                raise fail(f"{top}: put it in a [{KEY_SECTIONS[top]}] table")
            close = difflib.get_close_matches(top, list(SECTIONS), n=1)
            hint = f" (did you mean [{close[0]}]?)" if close else f" (sections: {', '.join(SECTIONS)})"
            raise fail(f"unknown section or key {top!r}{hint}")
        if not isinstance(body, dict):
            raise fail(f"{top} must be a table ([{top}]) of config keys")
        values: dict[str, Any] = {}
        for key, value in body.items():
            if (top, key) not in FIELDS:
                here = [k for (s, k) in FIELDS if s == top]
                close = difflib.get_close_matches(key, here, n=1, cutoff=0.6)
                if key in KEY_SECTIONS:
                    hint = f" (it belongs in [{KEY_SECTIONS[key]}])"
                elif close:
                    hint = f" (did you mean {close[0]!r}?)"
                else:
                    hint = ""
                raise fail(f"[{top}] {key}: not a config key{hint}")
            try:
                values[key] = coerce_value(field_spec(key, top), value)
            except ValueError as exc:
                raise fail(f"[{top}] {key}: {exc}") from None
        if values:
            settings[top] = values
    if not settings:
        raise fail("sets no config keys (add tables such as [training] with the keys to set)")
    return Preset(preset_id, family, vram_gb, description.strip(), settings, path, source)


def load_preset_file(path: str | os.PathLike, source: str = "shipped") -> Preset:
    path = Path(path)
    data = read_toml(path, "preset", PresetError)
    return parse_preset(data, path, source)


def _scan(folder: Path, source: str, catalog: PresetCatalog, strict: bool) -> None:
    try:
        files = sorted(p for p in folder.iterdir() if p.suffix == ".toml" and not p.name.startswith("."))
    except FileNotFoundError:
        return
    except OSError as exc:
        catalog.problems.append(f"{folder}: cannot list the preset folder: {exc.strerror or exc}")
        return
    seen: dict[str, Path] = {}
    for path in files:
        try:
            preset = load_preset_file(path, source)
        except PresetError as exc:
            if strict:
                raise
            catalog.problems.append(str(exc))
            continue
        if preset.id in seen:
            problem = f"{path}: id {preset.id!r} is also used by {seen[preset.id].name}; this file is skipped"
            if strict:
                raise PresetError(problem)
            catalog.problems.append(problem)
            continue
        seen[preset.id] = path
        catalog.presets[preset.id] = preset


def load_presets(user_dir: str | os.PathLike | None = None, *,
                 shipped_dir: str | os.PathLike | None = None) -> PresetCatalog:
    """Shipped presets, then the user's folder over them (same id = the user's wins).

    A broken shipped preset is a bug and raises; a broken user preset is listed in ``problems``.
    """
    catalog = PresetCatalog()
    _scan(Path(shipped_dir) if shipped_dir else shipped_presets_dir(), "shipped", catalog, strict=True)
    _scan(Path(user_dir) if user_dir else user_presets_dir(), "user", catalog, strict=False)
    return catalog


def preset_changes(cfg: TrainingConfig, preset: Preset) -> list[FieldChange]:
    """The fields ``preset`` would change in ``cfg`` (unchanged ones are left out)."""
    changes = []
    for section, values in preset.settings.items():
        sec = getattr(cfg, section)
        for key, new in values.items():
            old = getattr(sec, key)
            if old != new:
                changes.append(FieldChange(f"{section}.{key}", old, copy.deepcopy(new)))
    return changes


def apply_preset(cfg: TrainingConfig, preset: Preset) -> list[FieldChange]:
    """Set the preset's keys on ``cfg`` in place; returns what changed (section.key, old, new)."""
    changes = preset_changes(cfg, preset)
    for change in changes:
        section, key = change.key.split(".", 1)
        setattr(getattr(cfg, section), key, copy.deepcopy(change.new))
    return changes
