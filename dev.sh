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

setup() {
  if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
    .venv/bin/python -m pip install -q --upgrade pip
  fi
  if ! .venv/bin/python -c "import torch" 2>/dev/null; then
    # torch first, pinned: anything that asks for an unpinned torch would pull a multi-GB build.
    .venv/bin/python -m pip install -q "$TORCH_SPEC"
  fi
  # reinstalled only when pyproject.toml changed (an editable install follows the sources by itself)
  if [ ! -f .venv/.loratui-setup ] || [ pyproject.toml -nt .venv/.loratui-setup ]; then
    .venv/bin/python -m pip install -q -e '.[test]'
    touch .venv/.loratui-setup
  fi
}

case "${1:-}" in
  setup) setup ;;
  test)
    setup
    shift
    # Exit code 5 (no tests collected) is a failure, like any other non-zero code.
    HF_HUB_OFFLINE=1 .venv/bin/python -m pytest "$@"
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
