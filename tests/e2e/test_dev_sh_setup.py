"""`./dev.sh setup` (run by `./dev.sh demo` and `./dev.sh test`) reruns `pip install -e` only when
pyproject.toml's content changed (issue 12: it took ~25 s on every call). Run against a copy of
dev.sh with a stand-in .venv/bin/python that logs pip calls instead of making them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    (root / "src" / "loratui").mkdir(parents=True)
    (root / "src" / "loratui" / "__init__.py").write_text("")
    shutil.copy(REPO / "dev.sh", root / "dev.sh")
    (root / "pyproject.toml").write_text('[project]\nname = "loratui"\n')
    python = root / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f"""#!/bin/sh
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then echo "$*" >> "{root}/pip.log"; exit 0; fi
PYTHONPATH="{root}/src" exec "{sys.executable}" "$@"
""")
    python.chmod(0o755)
    return root


def setup(root: Path) -> list[str]:
    proc = subprocess.run(["bash", str(root / "dev.sh"), "setup"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": ""})
    assert proc.returncode == 0, proc.stderr
    log = root / "pip.log"
    lines = log.read_text().splitlines() if log.exists() else []
    log.unlink(missing_ok=True)
    return lines


def test_pip_install_runs_only_when_pyproject_changes(tmp_path):
    root = checkout(tmp_path)
    assert setup(root) == ["-m pip install -q -e .[test,bench]"]
    assert setup(root) == []  # current: nothing to do
    pyproject = root / "pyproject.toml"
    before = pyproject.stat()
    pyproject.write_text('[project]\nname = "loratui"\ndependencies = ["x"]\n')
    os.utime(pyproject, (before.st_atime - 3600, before.st_mtime - 3600))  # new content, older mtime
    assert setup(root) == ["-m pip install -q -e .[test,bench]"]
    assert setup(root) == []
    os.utime(pyproject)  # touched, same content
    assert setup(root) == []
    (root / ".venv" / ".loratui-setup").unlink()
    assert setup(root) == ["-m pip install -q -e .[test,bench]"]
