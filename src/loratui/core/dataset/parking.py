"""The temporary names a balance parks concept folders under while it swaps them (balance.py), and
reading them back (scan.py names a folder a killed balance left behind, with the command that
finishes the rename)."""

from __future__ import annotations

TEMP_PREFIX = ".loratui-balance-"


def temp_name(pid: int, index: int, dest: str) -> str:
    """A swap's parking name; it ends in the destination, so a balance killed mid-way can be finished
    by hand (or is named by the scan with the command that does it): ``.loratui-balance-PID-N-100_a``."""
    return f"{TEMP_PREFIX}{pid}-{index}-{dest}"


def parked_destination(name: str) -> str | None:
    """The folder name a balance's parking name ``name`` was going to (None: not a parking name)."""
    if not name.startswith(TEMP_PREFIX):
        return None
    parts = name[len(TEMP_PREFIX):].split("-", 2)
    if len(parts) < 3 or not parts[0].isdigit() or not parts[1].isdigit() or not parts[2]:
        return None
    return parts[2]
