"""The layer rules of shared/design.md, checked in a clean subprocess per module."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import pytest

import loratui

HEAVY = ("torch", "diffusers", "transformers", "onnxruntime", "peft", "bitsandbytes", "accelerate")


def _modules(package: str) -> list[str]:
    pkg = __import__(f"loratui.{package}", fromlist=["_"])
    return [f"loratui.{package}"] + [
        f"loratui.{package}.{m.name}" for m in pkgutil.iter_modules(pkg.__path__)
    ]


def _loaded_after_import(module: str) -> set[str]:
    code = f"import sys, json, importlib; importlib.import_module({module!r}); print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return {name.split(".")[0] for name in json.loads(out.stdout.strip().splitlines()[-1])}


@pytest.mark.parametrize("module", _modules("core"))
def test_core_imports_no_ui_and_no_ml(module):
    loaded = _loaded_after_import(module)
    assert not loaded & {"textual", *HEAVY}, f"{module} pulls in {sorted(loaded & {'textual', *HEAVY})}"


@pytest.mark.parametrize("module", _modules("engine") + _modules("captioners"))
def test_engine_and_captioners_never_import_textual(module):
    assert "textual" not in _loaded_after_import(module)


def test_cli_entry_is_light():
    loaded = _loaded_after_import("loratui.cli")
    assert not loaded & {"textual", *HEAVY}


def test_tui_does_not_import_ml_libraries():
    try:
        mods = _modules("tui")
    except ImportError:
        pytest.skip("the TUI package does not exist yet")
    for module in mods:
        assert not _loaded_after_import(module) & set(HEAVY), module
