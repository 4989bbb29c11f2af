"""Model family names: one canonical spelling (sd1, sd2, sdxl: what a config stores) and the other
spellings people type (sd15, sd1.5, sd21, ...), accepted by the config file, every command's
--family and the presets alike. Preset ids and files keep their own `sd15-*` / `sdxl-*` names."""

from __future__ import annotations

CANONICAL_FAMILIES = ("sd1", "sd2", "sdxl")
FAMILY_ALIASES = {
    "sd1": "sd1", "sd15": "sd1", "sd1.5": "sd1", "sd1.x": "sd1", "sd": "sd1",
    "sd2": "sd2", "sd21": "sd2", "sd2.1": "sd2", "sd2.x": "sd2", "sd20": "sd2", "sd2.0": "sd2",
    "sdxl": "sdxl", "sd-xl": "sdxl", "sdxl1.0": "sdxl",
}
# what --help shows: the canonical names and the one alias everybody uses
FAMILY_SPELLINGS = ("sd1", "sd15", "sd2", "sdxl")


def canonical_family(name: str, *, allow_auto: bool = False) -> str | None:
    """``sd15`` -> ``sd1`` and so on (any case, surrounding blanks ignored); None when unknown."""
    value = name.strip().lower().replace("_", "").replace(" ", "")
    if allow_auto and value == "auto":
        return "auto"
    return FAMILY_ALIASES.get(value)
