"""The layer rules of shared/design.md: what each layer may import, checked two ways.

At run time, in a clean subprocess per module: core pulls in neither textual nor an ML library, the
engine and captioners never textual, the TUI no ML library. Statically, by reading every import
(lazy ones inside functions too): core's subpackages import each other only downwards, nothing in
core imports engine, captioners, commands or tui, and code outside a subpackage imports only its
public face (``loratui.core.captions``, never ``loratui.core.captions.journal``).
"""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import loratui

HEAVY = ("torch", "diffusers", "transformers", "onnxruntime", "peft", "bitsandbytes", "accelerate")
SRC = Path(loratui.__file__).resolve().parent
CORE_PACKAGES = ("dataset", "captions", "config", "plan")
# which core subpackages each may import (besides the top-level modules errors, events, fsutil, ...)
MAY_USE = {"dataset": set(), "captions": {"dataset"}, "config": {"dataset"}, "plan": {"dataset", "config"}}


def _modules(package: str) -> list[str]:
    pkg = __import__(f"loratui.{package}", fromlist=["_"])
    return [f"loratui.{package}"] + [
        m.name for m in pkgutil.walk_packages(pkg.__path__, prefix=f"loratui.{package}.")
    ]


def _loaded_after_import(module: str) -> set[str]:
    code = f"import sys, json, importlib; importlib.import_module({module!r}); print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return {name.split(".")[0] for name in json.loads(out.stdout.strip().splitlines()[-1])}


def _imports(path: Path) -> list[str]:
    """Every module named by an import statement in ``path``, anywhere in the file."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            # `from loratui.core.config import schema` names the submodule too
            names.extend(f"{node.module}.{alias.name}" for alias in node.names
                         if _is_module(f"{node.module}.{alias.name}"))
    return names


def _is_module(name: str) -> bool:
    parts = name.split(".")
    if parts[0] != "loratui":
        return False
    base = SRC.joinpath(*parts[1:])
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _owner(path: Path) -> str | None:
    """The core subpackage a source file belongs to, or None."""
    parts = path.relative_to(SRC).parts
    return parts[1] if len(parts) > 2 and parts[0] == "core" else None


def _source_files() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_every_core_subpackage_exists():
    for name in CORE_PACKAGES:
        assert (SRC / "core" / name / "__init__.py").is_file()


@pytest.mark.parametrize("module", _modules("core"))
def test_core_imports_no_ui_and_no_ml(module):
    loaded = _loaded_after_import(module)
    assert not loaded & {"textual", *HEAVY}, f"{module} pulls in {sorted(loaded & {'textual', *HEAVY})}"


def test_core_subpackages_import_only_downwards():
    wrong = []
    for path in (SRC / "core").rglob("*.py"):
        owner = _owner(path)
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] != "loratui":
                continue
            if len(parts) > 1 and parts[1] != "core":
                wrong.append(f"{path.relative_to(SRC)} imports {name} (core imports no other layer)")
                continue
            if len(parts) > 2 and parts[2] in CORE_PACKAGES:
                target = parts[2]
                allowed = {owner} | MAY_USE[owner] if owner else set()
                if target not in allowed:
                    wrong.append(f"{path.relative_to(SRC)} imports {name} ({owner or 'top-level core'} may not use {target})")
    assert not wrong, "\n".join(wrong)


def test_only_public_faces_are_imported_from_outside_a_subpackage():
    wrong = []
    for path in _source_files():
        owner = _owner(path)
        for name in _imports(path):
            parts = name.split(".")
            if parts[:2] == ["loratui", "core"] and len(parts) > 3 and parts[2] in CORE_PACKAGES:
                if parts[2] != owner:
                    wrong.append(f"{path.relative_to(SRC)} imports {name}: use loratui.core.{parts[2]}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("module", _modules("engine") + _modules("captioners"))
def test_engine_and_captioners_never_import_textual(module):
    assert "textual" not in _loaded_after_import(module)


def test_cli_entry_is_light():
    loaded = _loaded_after_import("loratui.cli")
    assert not loaded & {"textual", *HEAVY}


def test_tui_does_not_import_ml_libraries():
    for module in _modules("tui"):
        assert not _loaded_after_import(module) & set(HEAVY), module
