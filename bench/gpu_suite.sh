#!/usr/bin/env bash
# The training-throughput suite of issue 14, as one prepared script for a GPU machine.
#
#   bench/gpu_suite.sh [--out DIR] [--budget SECONDS]   # GPU: loratui's lever matrix + sd-scripts beside it
#   bench/gpu_suite.sh --cpu --tiny [--out DIR]          # the same stages at toy size on the CPU (CI)
#
# Nothing is downloaded. On a GPU machine whose python lacks diffusers / tomli-w, run
# `bench/prepare_sdscripts.sh` beforehand here and carry `.bench-carry/`: the wheels there are
# installed into /tmp folders and put on PYTHONPATH (loratui's and sd-scripts' separately, since
# sd-scripts needs older diffusers / transformers). Every stage appends JSON lines to
# DIR/suite.jsonl and prints its table as it goes; a stage that would not fit in the time left
# (--budget, default 470 s) is skipped with a line saying so, so partial results always come back.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/loratui-gpu-suite}
BUDGET=470
TINY=0
while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT=$2; shift ;;
        --budget) BUDGET=$2; shift ;;
        --cpu|--tiny) TINY=1 ;;
        -h|--help) sed -n 2,13p "$0"; exit 0 ;;
        *) echo "gpu_suite.sh: unknown option $1 (see --help)"; exit 2 ;;
    esac
    shift
done
mkdir -p "$OUT"
JSON="$OUT/suite.jsonl"
: > "$JSON"
PY=${PYTHON:-python3}
[ -z "${PYTHON:-}" ] && [ -x .venv/bin/python ] && [ "$TINY" = 1 ] && PY=.venv/bin/python
START=$(date +%s)
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error DIFFUSERS_VERBOSITY=error
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"

# loratui's own needs missing from a bare GPU image (diffusers 0.42, tomli-w): carried wheels, if any
if ! $PY -c "import diffusers, tomli_w" 2>/dev/null; then
    wheels=$(ls .bench-carry/wheels-loratui/*.whl .bench-carry/loratui-wheels/*.whl 2>/dev/null)
    [ -n "$wheels" ] && $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/loratui-site $wheels && export PYTHONPATH="$PYTHONPATH:/tmp/loratui-site"
fi

left() { echo $(( BUDGET - ($(date +%s) - START) )); }
# stage NEEDED_SECONDS TITLE COMMAND...: runs when the time left allows, never past the budget
stage() {
    local need=$1 title=$2; shift 2
    local remaining; remaining=$(left)
    echo
    if [ "$remaining" -lt "$need" ]; then
        echo "== $title: skipped ($remaining s left of the $BUDGET s budget, needs about $need s)"
        return 0
    fi
    echo "== $title ($remaining s left)"
    timeout --kill-after=5 "$remaining" "$@" 2>&1 | grep -v -E "Loading weights|kept in float32|warn_once|gemm_4bit|^$" \
        | tee -a "$OUT/suite.log"
    local rc=${PIPESTATUS[0]}
    [ "$rc" = 124 ] && echo "   (stopped at the budget)"
    return 0
}

$PY - <<'EOF' | tee "$OUT/env.txt"
import torch
print("torch", torch.__version__, "cuda", torch.version.cuda,
      torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU")
EOF

L="$PY bench/train_levers.py --json-out $JSON"
S="$PY bench/sdscripts_beside.py --json-out $JSON"  # its own pinned site: .bench-carry/wheels-sdscripts
if [ "$TINY" = 1 ]; then
    stage 10 "levers, tiny SD1 64 px batch 2" $L --tiny --cpu --batch 2 --steps 3 --warmup 2 \
        --levers baseline,fused,cudnn_benchmark,channels_last,no_autocast,pinned,early_loss,default
    stage 10 "tiny SD1, text encoder trained, latents encoded every step" $L --tiny --cpu --batch 2 --steps 3 \
        --warmup 2 --text te --latents pixels --levers baseline,default
    stage 10 "sd-scripts beside loratui, tiny SD1" $S --arch tiny --cpu --resolution 64 --batch 2 --steps 3 --warmup 2
else
    if $PY -c "import pytest" 2>/dev/null; then
        stage 15 "the CUDA-only checks (pinned transfers, early loss read: the same bytes and floats)" \
            $PY -m pytest -q -p no:cacheprovider tests/engine/test_speed.py -k "cuda or early_loss"
    fi
    stage 70 "SD1.5 512 px batch 4: the levers one by one" $L --arch sd15 --batch 4 \
        --levers baseline,fused,cudnn_benchmark,channels_last,no_autocast,pinned,early_loss,default
    stage 90 "sd-scripts beside loratui: SD1.5 512 px batch 4" $S --arch sd15 --resolution 512 --batch 4 \
        --steps 20 --warmup 5
    stage 70 "SDXL 1024 px batch 2 (fits 24 GB): the levers" $L --arch sdxl --batch 2 --steps 8 \
        --levers baseline,fused,cudnn_benchmark,channels_last,no_autocast
    stage 120 "SD1.5 512 px batch 16 (fits 24 GB), eager and compiled" $L --arch sd15 --batch 16 --steps 8 \
        --levers baseline,fused,cudnn_benchmark,channels_last,no_autocast,compile,compile
    stage 50 "SD1.5 512 px batch 4, text encoder trained / latents encoded every step" \
        $L --arch sd15 --batch 4 --steps 8 --text te --latents pixels \
        --levers baseline,fused,cudnn_benchmark,channels_last,no_autocast,pinned,early_loss
    stage 40 "SDXL 1024 px batch 8 (fits 80 GB)" $L --arch sdxl --batch 8 --steps 5 --warmup 2 \
        --levers fused,cudnn_benchmark,channels_last
    stage 120 "sd-scripts beside loratui: SDXL 1024 px batch 2" $S --arch sdxl --resolution 1024 --batch 2 \
        --steps 10 --warmup 3
    stage 150 "SDXL 1024 px batch 2, compiled" $L --arch sdxl --batch 2 --steps 6 --warmup 3 \
        --levers fused,cudnn_benchmark,channels_last,compile
fi
echo
echo "suite done in $(( $(date +%s) - START )) s; rows in $JSON"
