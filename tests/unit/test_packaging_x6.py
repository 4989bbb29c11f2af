"""Packaging facts a built wheel or sdist shows (checked here from the sources: hatchling is not in the
test venv): the version is written once (src/loratui/__init__.py, read by hatch), the MIT licence text
ships (LICENSE, pyproject's license-files), and the sdist is an include list that holds what the wheel
build and the tests read, not every untracked file of the working tree."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import loratui

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
# repository files the sdist leaves out on purpose: CI's entry point (it runs ./dev.sh test) and git's own
NOT_IN_SDIST = {".ci", ".gitignore"}


def test_the_version_is_written_once_in_the_package():
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project["dynamic"]
    source = REPO / PYPROJECT["tool"]["hatch"]["version"]["path"]
    assert source == REPO / "src" / "loratui" / "__init__.py"
    # hatch's default pattern: one `__version__ = "..."` line
    found = re.findall(r'^__version__\s*=\s*"([^"]+)"\s*$', source.read_text(encoding="utf-8"), re.MULTILINE)
    assert found == [loratui.__version__]


def test_loratui_version_prints_the_package_version():
    proc = subprocess.run([sys.executable, "-m", "loratui", "--version"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == f"loratui, version {loratui.__version__}"


def test_the_mit_licence_text_ships():
    assert PYPROJECT["project"]["license"] == "MIT"
    assert PYPROJECT["project"]["license-files"] == ["LICENSE"]
    text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n") and "Copyright (c) 2026 the loratui authors" in text
    assert "THE SOFTWARE IS PROVIDED \"AS IS\"" in text
    assert "urls" not in PYPROJECT["project"]  # no public address yet: none made up


def _include() -> set[str]:
    return {entry.strip("/") for entry in PYPROJECT["tool"]["hatch"]["build"]["targets"]["sdist"]["include"]}


def test_the_sdist_holds_what_the_wheel_is_built_from():
    wheel = PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]
    needed = {*wheel["packages"], *wheel["force-include"], PYPROJECT["project"]["readme"],
              *PYPROJECT["project"]["license-files"], "pyproject.toml"}
    include = _include()
    assert {path for path in needed if not any(path == i or path.startswith(i + "/") for i in include)} == set()


def test_the_sdist_holds_every_tracked_top_level_entry_but_ci():
    """The tests read bench/, tools/, dev.sh and README.md: an sdist without them fails its own tests."""
    try:
        listed = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, timeout=60)
    except OSError:
        pytest.skip("no git here")
    if listed.returncode != 0:
        pytest.skip("not a git checkout (an unpacked sdist)")
    tracked = {line.split("/", 1)[0] for line in listed.stdout.splitlines()} | {"LICENSE"}  # new: until committed
    assert tracked - NOT_IN_SDIST == _include()
