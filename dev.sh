#!/usr/bin/env bash
# loratui developer/user entry point.
#   ./dev.sh demo   set up .venv (first time) and open the app on the built-in demo project (`loratui demo`;
#                   without a terminal: the headless demo, `loratui demo --headless`)
#   ./dev.sh test   set up .venv (first time) and run the whole test suite (offline)
#   ./dev.sh setup  only set up .venv
# PYTHON: the interpreter .venv is made with (Python 3.11+; default python3).
# TORCH_SPEC: the torch requirement (default torch==2.13.0; a CUDA box gets PyPI's CUDA build). Set, it
# is installed whenever the torch in .venv does not satisfy it (TORCH_SPEC=torch==2.12.0 ./dev.sh setup
# switches); unset, a torch already there is left as it is.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
TORCH_SPEC_GIVEN=${TORCH_SPEC:+1}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
OURS=.venv/.loratui-made-by-dev-sh   # .venv was made here: one that turns out unusable may be made again

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

# "MAJOR MINOR HAS_PIP" of the interpreter $1 (fails when it does not run); Python 2 can say it too
python_facts() {
  "$1" -c '
import sys
try:
    import importlib.util
    pip = importlib.util.find_spec("pip") is not None
except Exception:
    pip = False
sys.stdout.write("%d %d %d\n" % (sys.version_info[0], sys.version_info[1], pip))' 2>/dev/null
}

# Why .venv cannot be used (empty when it can): an older Python than 3.11, no pip, no python at all.
venv_problem() {
  local facts major minor pip
  facts=$(python_facts .venv/bin/python) || { echo "its python is missing or does not run"; return; }
  read -r major minor pip <<<"$facts"
  if [ "$major" -lt 3 ] || { [ "$major" -eq 3 ] && [ "$minor" -lt 11 ]; }; then
    echo "it is Python $major.$minor (loratui needs 3.11+)"
  elif [ "$pip" != 1 ]; then
    echo "it has no pip"
  fi
}

# Stop with one line unless $PYTHON runs and is 3.11+ (before anything is made with it).
check_python() {
  local facts major minor _pip
  facts=$(python_facts "$PYTHON") || {
    echo "error: PYTHON=$PYTHON does not run: loratui needs Python 3.11+; set PYTHON= to one (PYTHON=python3.11 ./dev.sh setup)" >&2
    exit 1
  }
  read -r major minor _pip <<<"$facts"
  if [ "$major" -lt 3 ] || { [ "$major" -eq 3 ] && [ "$minor" -lt 11 ]; }; then
    echo "error: $PYTHON is Python $major.$minor: loratui needs Python 3.11+; set PYTHON= to one (PYTHON=python3.11 ./dev.sh setup)" >&2
    exit 1
  fi
}

# True when .venv is dev.sh's to make again: its marker, or (a .venv of a dev.sh from before the marker)
# a pyvenv.cfg that `python -m venv .venv` wrote here, with no sign of another tool (virtualenv, uv).
made_here() {
  [ -f "$OURS" ] && return 0
  [ -f .venv/pyvenv.cfg ] || return 1
  grep -Eq '^(virtualenv|uv) *=' .venv/pyvenv.cfg && return 1
  grep -Eq '^command *= *.* -m venv (.*/)?\.venv/?$' .venv/pyvenv.cfg
}

make_venv() {
  check_python
  if ! "$PYTHON" -m venv .venv; then  # e.g. Debian's python without ensurepip: venv's message says what to install
    rm -rf .venv  # made just now, half-way: not left for the next run to trip on
    echo "error: $PYTHON -m venv .venv failed (see above); nothing is left in .venv" >&2
    exit 1
  fi
  touch "$OURS"
  .venv/bin/python -m pip install -q --upgrade pip
}

# Exit 0 when torch must be installed now: none is there, or TORCH_SPEC was set and the installed one does
# not satisfy it (read from the package metadata: no `import torch`, 2 s). A spec pip's own parser cannot
# read (a URL, a wheel path) goes to pip, which does nothing when it is already satisfied.
torch_wanted() {
  .venv/bin/python -c '
import importlib.metadata as metadata, sys
spec, given = sys.argv[1], sys.argv[2] == "1"
try:
    installed = metadata.version("torch")
except metadata.PackageNotFoundError:
    sys.exit(0)
if not given:
    sys.exit(1)
try:
    from pip._vendor.packaging.requirements import Requirement
    wanted = Requirement(spec)
except Exception:
    sys.exit(0)
if wanted.name.lower() == "torch" and not wanted.url and wanted.specifier.contains(installed, prereleases=True):
    sys.exit(1)
print(f"TORCH_SPEC={spec}: the installed torch is {installed}: installing {spec}", file=sys.stderr)
' "$TORCH_SPEC" "$TORCH_SPEC_GIVEN"
}

setup() {
  if [ ! -e .venv ] && [ ! -L .venv ]; then
    make_venv
  else
    problem=$(venv_problem)
    if [ -n "$problem" ] && made_here; then
      echo "note: .venv (made by dev.sh) cannot be used: $problem: making it again with $PYTHON" >&2
      check_python  # before removing anything
      rm -rf .venv
      make_venv
    elif [ -n "$problem" ]; then
      echo "error: .venv cannot be used: $problem: remove .venv and rerun (rm -rf .venv; PYTHON=python3.11 ./dev.sh setup)" >&2
      exit 1
    fi
  fi
  if torch_wanted; then
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
