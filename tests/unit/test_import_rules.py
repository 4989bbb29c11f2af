"""The layer rules of shared/design.md: what each layer may import, checked two ways.

At run time, in a clean subprocess per module: core pulls in neither textual nor an ML library, the
engine and captioners never textual, the TUI no ML library. Statically, by reading every import
(lazy ones inside functions too, relative ones, and ``importlib.import_module("...")`` of a literal
name): core's subpackages import each other only downwards, nothing in core imports engine,
captioners, commands or tui, the commands, engine and captioners import nothing of the TUI but the
app's entry (commands that open the app: ``tui.launch.run_app``), and code outside a subpackage
imports only its public face (``loratui.core.captions``, never ``loratui.core.captions.journal``).
A run-time check alone misses a lazy import (the CLI's commands reached into tui/services that way).
"""

from __future__ import annotations

import ast
import json
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import loratui

HEAVY = ("torch", "diffusers", "transformers", "onnxruntime", "peft", "bitsandbytes", "accelerate")
SRC = Path(loratui.__file__).resolve().parent
CORE_PACKAGES = ("dataset", "captions", "config", "plan", "project")
# which core subpackages each may import (besides the top-level modules errors, events, fsutil, ...)
MAY_USE = {"dataset": set(), "captions": {"dataset"}, "config": {"dataset"}, "plan": {"dataset", "config"},
           "project": {"dataset", "config"}}
# the layers below the app, and what of the TUI each may import: the commands that open the app
# (`loratui attach`, `loratui demo`) its entry, nothing else (what both need lives in core)
BELOW_APP = ("core", "commands", "engine", "captioners")
APP_ENTRY = {"commands": {"loratui.tui.launch": {"run_app", "refuse_dumb_terminal"}}}
# reaches into the TUI found when the rule began reading lazy imports, still to move into core (a new
# one fails): `tags undo` walks the train and reg journals by the app's rule, which lives in tui/services
KNOWN_REACHES = {"commands/tags_scope.py imports loratui.tui.services.dataset_journals (redo_root, undo_root)"}


def _modules(package: str) -> list[str]:
    pkg = __import__(f"loratui.{package}", fromlist=["_"])
    return [f"loratui.{package}"] + [
        m.name for m in pkgutil.walk_packages(pkg.__path__, prefix=f"loratui.{package}.")
    ]


def _loaded_after_import(module: str) -> set[str]:
    code = f"import sys, json, importlib; importlib.import_module({module!r}); print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return {name.split(".")[0] for name in json.loads(out.stdout.strip().splitlines()[-1])}


def _import_lines(path: Path, source: str | None = None) -> list[tuple[str, tuple[str, ...], int]]:
    """(module, the names taken from it, line) for every import in ``path``, anywhere in the file: at the
    top, inside a function or a branch (lazy), relative ones resolved, and ``importlib.import_module`` /
    ``__import__`` of a literal name. ``source``: the file's text (a test's own), else read."""
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8") if source is None else source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, (), node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(path, node.module, node.level)
            if module:
                found.append((module, tuple(alias.name for alias in node.names), node.lineno))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if called in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                found.append((node.args[0].value, (), node.lineno))
    return sorted(found, key=lambda item: item[2])


def _absolute(path: Path, module: str | None, level: int) -> str | None:
    """The absolute name of ``from <level dots><module> import ...`` in ``path`` (a file under SRC)."""
    if level == 0:
        return module
    try:
        package = ["loratui", *path.relative_to(SRC).parts[:-1]]
    except ValueError:
        return None
    if level > 1:
        package = package[: len(package) - (level - 1)]
    return ".".join(package + ([module] if module else [])) or None


def _imports(path: Path) -> list[str]:
    """Every module named by an import in ``path``, anywhere in the file (``_import_lines``)."""
    names = []
    for module, taken, _line in _import_lines(path):
        names.append(module)
        # `from loratui.core.config import schema` names the submodule too
        names.extend(f"{module}.{name}" for name in taken if _is_module(f"{module}.{name}"))
    return names


def _app_reaches(path: Path, layer: str, source: str | None = None) -> list[str]:
    """Each import of the TUI (loratui.tui, any module of it) in ``path`` of ``layer`` beyond what the layer
    may take (APP_ENTRY), lazy ones included."""
    allowed = APP_ENTRY.get(layer, {})
    wrong = []
    for module, taken, line in _import_lines(path, source):
        names = [module] + [f"{module}.{name}" for name in taken if module == "loratui"]
        if not any(name == "loratui.tui" or name.startswith("loratui.tui.") for name in names):
            continue
        extra = [name for name in taken if name not in allowed.get(module, ())] if taken else ["(the module)"]
        if module == "loratui":
            extra = [name for name in taken if name == "tui"]
        if extra:
            wrong.append(f"{path.relative_to(SRC) if path.is_relative_to(SRC) else path}:{line} imports "
                         f"{module} ({', '.join(extra)})")
    return wrong


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


@pytest.mark.parametrize("layer", BELOW_APP)
def test_layers_below_the_app_import_nothing_of_it(layer):
    """commands/ (and core, engine, captioners) never import the TUI, lazily inside a function included:
    what the CLI and the app share lives in core (core.project: the config beside a folder, the live run).
    The commands that open the app take its entry (APP_ENTRY) and nothing else."""
    found = [line for path in sorted((SRC / layer).rglob("*.py")) for line in _app_reaches(path, layer)]
    wrong = [line for line in found if re.sub(r":\d+ ", " ", line, count=1) not in KNOWN_REACHES]
    assert not wrong, "\n".join(wrong)


def test_a_lazy_import_of_the_app_is_caught():
    """The rule reads imports inside functions, relative ones and import_module's: each one here is
    reported, and only the app's entry passes for commands/."""
    here = SRC / "commands" / "example_s18.py"  # not written: the source is given
    source = (
        "from loratui.tui.launch import run_app\n"                      # the app's entry: allowed
        "def note():\n"
        "    from loratui.tui.services.live_run import live_run_on\n"    # lazy: caught
        "    import loratui.tui.app\n"
        "    from ..tui.launch import resolve_target\n"
        "    from loratui import tui\n"
        "    importlib.import_module('loratui.tui.screens.settings')\n"
        "    from loratui.tui.launch import run_app, resolve_target\n"
    )
    wrong = _app_reaches(here, "commands", source)
    assert [line.split(":")[1].split(" ")[0] for line in wrong] == ["3", "4", "5", "6", "7", "8"], wrong
    assert "live_run_on" in wrong[0] and "resolve_target" in wrong[2] and "resolve_target" in wrong[5]
    assert len(_app_reaches(SRC / "core" / "example_s18.py", "core", "from loratui.tui.launch import run_app\n")) == 1


@pytest.mark.parametrize("module", _modules("engine") + _modules("captioners"))
def test_engine_and_captioners_never_import_textual(module):
    assert "textual" not in _loaded_after_import(module)


def test_cli_entry_is_light():
    loaded = _loaded_after_import("loratui.cli")
    assert not loaded & {"textual", *HEAVY}


def test_tui_does_not_import_ml_libraries():
    for module in _modules("tui"):
        assert not _loaded_after_import(module) & set(HEAVY), module
