"""Every bench the README lists starts on a fresh `./dev.sh setup` (issue 12: bench/train_throughput.py
needed a peft that pyproject did not ask for): `--help` works, every package it imports is installed
and declared in pyproject (dependencies or the test/bench extras dev.sh installs), and the package's
own dependencies are ones it imports."""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text(encoding="utf-8")
BENCHES = sorted(set(re.findall(r"\bbench/(\w+\.py)\b", README)))
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
IMPORT_NAMES = {"pillow": "PIL", "onnxruntime_gpu": "onnxruntime", "huggingface_hub": "huggingface_hub",
                "lycoris_lora": "lycoris", "prodigyopt": "prodigyopt"}


def _module(requirement: str) -> str:
    name = re.match(r"[A-Za-z0-9_.-]+", requirement).group(0).lower().replace("-", "_")
    return IMPORT_NAMES.get(name, name)


def _declared(*extras: str) -> set[str]:
    found = {_module(r) for r in PYPROJECT["project"]["dependencies"]}
    for extra in extras:
        found |= {_module(r) for r in PYPROJECT["project"]["optional-dependencies"][extra]}
    return found


def _imports(path: Path) -> set[str]:
    """Top-level modules ``path`` imports anywhere (lazy imports inside functions too), not stdlib."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    local = {p.name for p in (REPO / "tests").iterdir()} | {p.stem for p in (REPO / "bench").iterdir()}
    return {n for n in names if n not in sys.stdlib_module_names and n != "loratui" and n not in local}


def test_the_readme_lists_benches():
    assert "train_throughput.py" in BENCHES and len(BENCHES) >= 5


def _params():
    for bench in BENCHES:
        path = REPO / "bench" / bench
        takes_options = path.is_file() and "argparse" in path.read_text(encoding="utf-8")
        yield pytest.param(bench, marks=() if takes_options else pytest.mark.slow)


@pytest.mark.parametrize("bench", list(_params()))
def test_bench_starts(bench):
    path = REPO / "bench" / bench
    assert path.is_file(), f"README lists bench/{bench}, which is not there"
    missing = [m for m in _imports(path) if importlib.util.find_spec(m) is None]
    assert not missing, f"bench/{bench} imports {missing}, not installed by ./dev.sh setup"
    undeclared = sorted(_imports(path) - _declared("test", "bench"))
    assert not undeclared, f"bench/{bench} imports {undeclared}: declare them in pyproject (the bench extra)"
    if "argparse" in path.read_text(encoding="utf-8"):
        proc = subprocess.run([sys.executable, str(path), "--help"], capture_output=True, text=True, timeout=120,
                              cwd=REPO)
        assert proc.returncode == 0 and "usage:" in proc.stdout, proc.stderr[-2000:]
        return
    # no options, so no --help: its one (small, CPU) case is the smallest
    proc = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


def test_every_runtime_dependency_is_imported_by_the_package():
    """A declared dependency the package never imports (peft was one) belongs in an extra."""
    used = set()
    for path in (REPO / "src" / "loratui").rglob("*.py"):
        used |= _imports(path)
    unused = sorted(_declared() - used)
    assert not unused, f"pyproject dependencies never imported by src/loratui: {unused} (move them to an extra)"


@pytest.mark.slow
def test_train_throughput_smallest_case():
    """The reference diffusers + peft loop runs with the peft pyproject allows (tiny model, CPU; one
    warm-up and two timed steps: a single timed step has no step gap to measure)."""
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "train_throughput.py"), "--steps", "2", "--warmup",
                           "1", "--rounds", "1", "--images", "2"], capture_output=True, text=True, timeout=600,
                          cwd=REPO)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert '"ratio"' in proc.stdout


@pytest.mark.slow
def test_tui_latency_quick_run():
    """The TUI latency bench runs every measurement once at small sizes (the tests' builders, the app's
    widgets) and prints a ratio for each: the tests assert behaviour, this bench the times."""
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "tui_latency.py"), "--quick"], capture_output=True,
                          text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    lines = [line for line in proc.stdout.splitlines() if "; ratio " in line]
    assert len(lines) == 14, proc.stdout
    assert "measurements meet their target" in proc.stdout.splitlines()[-1]
