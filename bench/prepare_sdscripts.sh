#!/usr/bin/env bash
# Prepare .bench-carry/ for bench/sdscripts_beside.py: kohya's sd-scripts source and the pinned wheels it
# needs, to be carried (as ignored files) to a GPU machine that has no package index.
#
#   bench/prepare_sdscripts.sh [SDSCRIPTS_GIT_DIR]     (or SDSCRIPTS_GIT=...; default: the search mirror)
#
# Layout written (everything else in .bench-carry/ is left alone):
#   .bench-carry/sd-scripts/         git archive of SDSCRIPTS_REF, without docs/images/tests/configs
#   .bench-carry/wheels-sdscripts/   the versions sd-scripts' requirements.txt pins, where the GPU machine
#                                    has none or an incompatible one (all py3-none-any or abi3: one folder
#                                    serves cp311 here and cp312 there)
#   .bench-carry/wheels-loratui/     diffusers 0.42.1 (+ requests) for loratui's model builder in the parent
#   .bench-carry/wheels-host/        NOT carried: opencv-python-headless (sd-scripts' pin, 48 MiB), for a
#                                    dev machine's CPU check when its venv has no cv2 (the GPU machine has it)
#   .bench-carry/MANIFEST.txt        commit, wheel files, sizes
# Carry only sd-scripts/, wheels-sdscripts/ and wheels-loratui/ to the GPU machine.
# Install them into two separate target folders; only the first goes on the sd-scripts PYTHONPATH:
#   python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/sdsite .bench-carry/wheels-sdscripts/*.whl
#   python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/lsite  .bench-carry/wheels-loratui/*.whl
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CARRY="$ROOT/.bench-carry"
GIT_DIR_IN="${1:-${SDSCRIPTS_GIT:-/work/.mirror/kohya-ss+sd-scripts/repo}}"
# kohya_ss (bmaltais) pins sd-scripts at 6721028c, which the mirror does not have; this is sd-scripts' newest
# main there (2026-02-16, "Merge pull request #2268 from kohya-ss/sd3"). Its requirements.txt pins the same
# transformers / huggingface-hub / safetensors as kohya_ss' own requirements (diffusers 0.32.1 vs 0.32.2).
SDSCRIPTS_REF="${SDSCRIPTS_REF:-48d368fa557731ad0488c07304dfeba8c07910eb}"
PY="${PYTHON:-python3}"

# sd-scripts' pins (requirements.txt at SDSCRIPTS_REF) that the GPU machine lacks or has at another major
# version; tokenizers follows transformers 4.54.1's own range (>=0.21,<0.22); wcwidth is ftfy's dependency;
# requests & co. because transformers 4 / diffusers check for requests at import and hub 1.x dropped it.
SDSCRIPTS_WHEELS=(
  diffusers==0.32.1 transformers==4.54.1 tokenizers==0.21.4 huggingface-hub==0.34.3 accelerate==1.6.0
  toml==0.10.2 voluptuous==0.15.2 imagesize==1.4.1 ftfy==6.3.1 wcwidth==0.2.13 einops==0.7.0
  requests==2.34.2 urllib3==2.8.0 idna==3.20 certifi==2026.10.19.post1 charset-normalizer==3.5.3
)
LORATUI_WHEELS=(
  diffusers==0.42.1
  requests==2.34.2 urllib3==2.8.0 idna==3.20 certifi==2026.10.19.post1 charset-normalizer==3.5.3
)
# Only for the CPU check here, installed beside the sd-scripts site when this Python has no cv2.
HOST_WHEELS=(opencv-python-headless==4.10.0.84)
# Pins in requirements.txt that must match the wheel list above (checked after the archive).
EXPECT_PINS=("transformers==4.54.1" "huggingface-hub==0.34.3" "accelerate==1.6.0" "diffusers\[torch\]==0.32.1"
             "toml==0.10.2" "voluptuous==0.15.2" "imagesize==1.4.1")

if ! git --git-dir="$GIT_DIR_IN" rev-parse -q --verify "$SDSCRIPTS_REF^{commit}" >/dev/null 2>&1; then
  echo "prepare_sdscripts: $GIT_DIR_IN has no commit $SDSCRIPTS_REF (fetch github:kohya-ss/sd-scripts first," \
       "or pass its git dir)" >&2
  exit 2
fi

mkdir -p "$CARRY"
rm -rf "$CARRY/sd-scripts" "$CARRY/wheels-sdscripts" "$CARRY/wheels-loratui" "$CARRY/wheels-host"
mkdir -p "$CARRY/sd-scripts" "$CARRY/wheels-sdscripts" "$CARRY/wheels-loratui" "$CARRY/wheels-host"

# The mirror lacks a few large blobs (Windows DLLs, qwen tokenizer); all of them sit in excluded folders.
# git may still print an "invalid object" line for them with exit code 0: show it only on failure.
err="$(mktemp)"
if ! git --git-dir="$GIT_DIR_IN" archive --format=tar "$SDSCRIPTS_REF" -- . \
      ':(exclude)docs' ':(exclude)images' ':(exclude)tests' ':(exclude)bitsandbytes_windows' \
      ':(exclude)configs' ':(exclude).github' ':(exclude).ai' 2>"$err" | tar -x -C "$CARRY/sd-scripts"; then
  cat "$err" >&2; rm -f "$err"; exit 1
fi
rm -f "$err"
for f in train_network.py sdxl_train_network.py library/train_util.py library/sdxl_train_util.py networks/lora.py; do
  [[ -f "$CARRY/sd-scripts/$f" ]] || { echo "prepare_sdscripts: archive lacks $f" >&2; exit 1; }
done
for pin in "${EXPECT_PINS[@]}"; do
  grep -qx "$pin" "$CARRY/sd-scripts/requirements.txt" \
    || echo "prepare_sdscripts: warning: requirements.txt at $SDSCRIPTS_REF does not pin $pin" >&2
done
echo "$SDSCRIPTS_REF" > "$CARRY/sd-scripts/SDSCRIPTS_COMMIT"

download() {  # download DIR SPEC...: universal wheels only (pure python, or abi3 for manylinux x86_64)
  local dir="$1" spec; shift
  for spec in "$@"; do
    # Pure wheel first (charset-normalizer also ships per-CPython builds; its pure one serves both pythons).
    "$PY" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
        --python-version 3.12 --implementation py --abi none --platform any -d "$dir" "$spec" >/dev/null 2>&1 \
      || "$PY" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
        --python-version 3.12 --implementation cp --platform manylinux_2_28_x86_64 \
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d "$dir" "$spec" >/dev/null 2>&1 \
      || { echo "prepare_sdscripts: could not download $spec" >&2; exit 1; }
  done
}
download "$CARRY/wheels-sdscripts" "${SDSCRIPTS_WHEELS[@]}"
download "$CARRY/wheels-loratui" "${LORATUI_WHEELS[@]}"
if [[ "${SKIP_HOST_WHEELS:-0}" != 1 ]]; then download "$CARRY/wheels-host" "${HOST_WHEELS[@]}"; fi

# One folder serves both pythons only if every wheel is pure or abi3.
for whl in "$CARRY"/wheels-*/*.whl; do
  case "$(basename "$whl")" in
    *-none-any.whl|*-abi3-*.whl) ;;
    *) echo "prepare_sdscripts: $(basename "$whl") is tied to one CPython version" >&2; exit 1 ;;
  esac
done

{
  echo "sd-scripts $SDSCRIPTS_REF (from $GIT_DIR_IN)"
  for d in wheels-sdscripts wheels-loratui wheels-host; do
    echo "$d:"; (cd "$CARRY/$d" && ls -l *.whl 2>/dev/null | awk '{printf "  %9d  %s\n", $5, $9}')
  done
} > "$CARRY/MANIFEST.txt"
cat "$CARRY/MANIFEST.txt"
total=$(du -sb "$CARRY/sd-scripts" "$CARRY/wheels-sdscripts" "$CARRY/wheels-loratui" | awk '{s+=$1} END {print s}')
printf 'sd-scripts %s, wheels-sdscripts %s, wheels-loratui %s; carried total %.1f MiB in %s\n' \
  "$(du -sh "$CARRY/sd-scripts" | cut -f1)" "$(du -sh "$CARRY/wheels-sdscripts" | cut -f1)" \
  "$(du -sh "$CARRY/wheels-loratui" | cut -f1)" "$(echo "$total / 1048576" | bc -l)" "$CARRY"
echo "not carried: wheels-host $(du -sh "$CARRY/wheels-host" | cut -f1) (this machine's CPU check only)"
