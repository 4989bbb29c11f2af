"""dev.sh's checks before it installs anything (a new user's findings, session 12): PYTHON older than
3.11 is refused in one line before a .venv is made; a .venv that cannot be used (an old Python, no
pip) is named with what to do, or made again when dev.sh made it; TORCH_SPEC, when set, replaces a
torch that does not satisfy it. Every interpreter here is a small script (pip is never run)."""

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


def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "check out"  # a space in the path, as a user's folder may have
    root.mkdir()
    shutil.copy(REPO / "dev.sh", root / "dev.sh")
    (root / "pyproject.toml").write_text('[project]\nname = "x"\n')
    return root


def working_python(path: Path, log: Path) -> Path:
    """A venv's python: pip is logged, never run; anything else is this Python (3.11+, has pip)."""
    return script(path, f'if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then echo "$*" >> "{log}"; exit 0; fi\n'
                        f'exec "{sys.executable}" "$@"\n')


def run_dev(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHON", "TORCH_SPEC")}
    return subprocess.run(["bash", str(root / "dev.sh"), *args], env=environment | env, capture_output=True,
                          text=True, timeout=60)


def test_python_older_than_3_11_is_refused_in_one_line_and_nothing_is_made(tmp_path):
    root = checkout(tmp_path)
    old = script(tmp_path / "python3.10", 'echo "3 10 1"\n')
    result = run_dev(root, "setup", PYTHON=str(old))
    assert result.returncode == 1
    assert result.stderr == (f"error: {old} is Python 3.10: loratui needs Python 3.11+; set PYTHON= to one "
                             "(PYTHON=python3.11 ./dev.sh setup)\n")
    assert not (root / ".venv").exists()
    missing = run_dev(root, "setup", PYTHON=str(tmp_path / "nope"))
    assert missing.returncode == 1 and "nope does not run: loratui needs Python 3.11+" in missing.stderr


@pytest.mark.parametrize(("facts", "why"), [("3 10 1", "it is Python 3.10 (loratui needs 3.11+)"),
                                            ("3 11 0", "it has no pip")])
def test_an_unusable_venv_not_made_here_is_named_with_what_to_do(tmp_path, facts, why):
    root = checkout(tmp_path)
    script(root / ".venv" / "bin" / "python", f'echo "{facts}"\n')
    result = run_dev(root, "test")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"error: .venv cannot be used: {why}: remove .venv and rerun "
                                          "(rm -rf .venv; PYTHON=python3.11 ./dev.sh setup)"]
    assert (root / ".venv" / "bin" / "python").exists()  # not the script's to remove


def test_an_unusable_venv_dev_sh_made_is_made_again(tmp_path):
    root, log = checkout(tmp_path), tmp_path / "log"
    script(root / ".venv" / "bin" / "python", 'echo "3 10 1"\n')
    (root / ".venv" / ".loratui-made-by-dev-sh").touch()
    good = working_python(tmp_path / "venv-python", log)
    python = script(tmp_path / "python3.11",
                    f'if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then mkdir -p "$3/bin" && cp "{good}" "$3/bin/python"; '
                    f'echo "venv $3" >> "{log}"; exit 0; fi\nexec "{sys.executable}" "$@"\n')
    result = run_dev(root, "setup", PYTHON=str(python))
    assert result.returncode == 0, result.stderr
    assert "note: .venv (made by dev.sh) cannot be used: it is Python 3.10" in result.stderr
    lines = log.read_text().splitlines()
    assert lines[0] == "venv .venv" and lines[1] == "-m pip install -q --upgrade pip"
    assert (root / ".venv" / ".loratui-made-by-dev-sh").exists()


def test_torch_spec_when_set_replaces_a_torch_that_does_not_satisfy_it(tmp_path):
    pytest.importorskip("torch")  # the installed torch is what the check reads (metadata only)
    from importlib.metadata import version

    installed = version("torch")
    root, log = checkout(tmp_path), tmp_path / "log"
    working_python(root / ".venv" / "bin" / "python", log)
    assert run_dev(root, "setup").returncode == 0  # unset: the torch there is kept
    assert not any("install -q torch" in line for line in log.read_text().splitlines())
    same = run_dev(root, "setup", TORCH_SPEC=f"torch=={installed.split('+')[0]}")
    assert same.returncode == 0 and "install -q torch" not in log.read_text()
    other = run_dev(root, "setup", TORCH_SPEC="torch==2.0.1")
    assert other.returncode == 0, other.stderr
    assert f"TORCH_SPEC=torch==2.0.1: the installed torch is {installed}: installing torch==2.0.1" in other.stderr
    assert "-m pip install -q torch==2.0.1" in log.read_text().splitlines()
