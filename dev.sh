#!/usr/bin/env bash
# loratui developer/user entry point.
#   ./dev.sh demo   set up .venv (first time) and open the app on the built-in demo project (`loratui demo`;
#                   without a terminal: the headless demo, `loratui demo --headless`)
#   ./dev.sh test   set up .venv (first time) and run the whole test suite (offline)
#   ./dev.sh setup  only set up .venv
# TORCH_SPEC overrides the torch requirement (default torch==2.13.0; a CUDA box gets PyPI's CUDA build).
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}

EXTRAS=test,bench   # the suite's and the README benches' packages
STAMP=.venv/.loratui-setup

# What the stamp holds after an install: pyproject.toml's hash and the extras installed with it.
stamp_text() {
  .venv/bin/python -c 'import hashlib, sys; print(hashlib.sha256(open("pyproject.toml", "rb").read()).hexdigest(), sys.argv[1])' "$EXTRAS"
}

# True when the editable install is current: the stamp matches pyproject.toml's content (not its
# mtime: a copy, a checkout or a carry can leave an older mtime on new content) and loratui imports
# from this checkout's src/ (a venv copied from another checkout would not follow this one).
install_current() {
  [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(stamp_text)" ] || return 1
  .venv/bin/python -c 'import importlib.util, pathlib, sys
spec = importlib.util.find_spec("loratui")
here = pathlib.Path("src/loratui/__init__.py").resolve()
sys.exit(0 if spec is not None and pathlib.Path(spec.origin).resolve() == here else 1)' 2>/dev/null
}

setup() {
  if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
    .venv/bin/python -m pip install -q --upgrade pip
  fi
  # find_spec, not `import torch` (2 s): only whether it is installed matters here
  if ! .venv/bin/python -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("torch") is None)'; then
    # torch first, pinned: anything that asks for an unpinned torch would pull a multi-GB build.
    .venv/bin/python -m pip install -q "$TORCH_SPEC"
  fi
  # `pip install -e` (~25 s) only when pyproject.toml changed: an editable install follows the sources by itself
  if ! install_current; then
    rm -f "$STAMP"
    .venv/bin/python -m pip install -q -e ".[$EXTRAS]"
    stamp_text > "$STAMP"
  fi
}

case "${1:-}" in
  setup) setup ;;
  test)
    setup
    shift
    # Two worker processes (pytest-xdist), a test file per worker at a time (a file's module fixtures,
    # such as a trained tiny run, are built once), in collection order: tests/conftest.py puts the files
    # with slow tests first. The suite waits on subprocesses, tmux and the app's timers as much as it
    # computes. `./dev.sh test -n 0` runs it in one process.
    # Exit code 5 (no tests collected) is a failure, like any other non-zero code.
    HF_HUB_OFFLINE=1 .venv/bin/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder "$@"
    ;;
  demo)
    setup
    shift
    if [ -t 0 ] && [ -t 1 ]; then
      exec .venv/bin/python -m loratui demo "$@"
    fi
    echo "note: no terminal (stdin/stdout) for the app: running the headless demo (loratui demo --headless)" >&2
    exec .venv/bin/python -m loratui demo --headless "$@"
    ;;
  *)
    echo "usage: ./dev.sh demo|test|setup" >&2
    exit 2
    ;;
esac
