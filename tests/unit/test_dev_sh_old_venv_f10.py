"""A .venv made by a dev.sh from before its marker file, whose python no longer runs (review r1 #8): its
pyvenv.cfg says `python -m venv .venv` made it, so dev.sh makes it again as it did then; one made by
another tool (virtualenv, uv) is still named with what to do."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="dev.sh is a bash script")


def script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def old_venv(tmp_path: Path, cfg_extra: str = "") -> tuple[Path, Path, Path]:
    """(checkout, PYTHON whose venv writes a working python, log) with a .venv whose python dangles."""
    root, log = tmp_path / "co", tmp_path / "log"
    root.mkdir()
    shutil.copy(REPO / "dev.sh", root / "dev.sh")
    (root / "pyproject.toml").write_text('[project]\nname = "x"\n')
    (root / ".venv" / "bin").mkdir(parents=True)
    os.symlink(tmp_path / "gone" / "python3", root / ".venv" / "bin" / "python")
    (root / ".venv" / "pyvenv.cfg").write_text(
        f"home = /gone\ninclude-system-site-packages = false\nversion = 3.11.2\n{cfg_extra}"
        f"command = /gone/python3 -m venv {root}/.venv\n")
    good = script(tmp_path / "venv-python", f'if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then echo "$*" >> "{log}"; '
                                            f'exit 0; fi\nexec "{sys.executable}" "$@"\n')
    python = script(tmp_path / "python3.11",
                    f'if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then rm -rf "$3"; mkdir -p "$3/bin" && '
                    f'cp "{good}" "$3/bin/python"; echo "venv $3" >> "{log}"; exit 0; fi\nexec "{sys.executable}" "$@"\n')
    return root, python, log


def run_dev(root: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHON", "TORCH_SPEC")}
    return subprocess.run(["bash", str(root / "dev.sh"), "setup"], env=environment | env, capture_output=True,
                          text=True, timeout=60)


def test_a_broken_venv_of_an_older_dev_sh_is_made_again(tmp_path):
    root, python, log = old_venv(tmp_path)
    result = run_dev(root, PYTHON=str(python))
    assert result.returncode == 0, result.stderr
    assert "note: .venv (made by dev.sh) cannot be used: its python is missing or does not run" in result.stderr
    assert log.read_text().splitlines()[0] == "venv .venv"
    assert (root / ".venv" / ".loratui-made-by-dev-sh").exists()


def test_a_broken_venv_of_another_tool_is_named_not_removed(tmp_path):
    root, python, _log = old_venv(tmp_path, "uv = 0.4.0\n")
    result = run_dev(root, PYTHON=str(python))
    assert result.returncode == 1
    assert result.stderr.splitlines() == ["error: .venv cannot be used: its python is missing or does not run: "
                                          "remove .venv and rerun (rm -rf .venv; PYTHON=python3.11 ./dev.sh setup)"]
    assert (root / ".venv" / "pyvenv.cfg").exists()
