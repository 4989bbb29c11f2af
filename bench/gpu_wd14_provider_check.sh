# WD14 on the GPU machine: reassemble the carried onnxruntime-gpu 1.31.1 (cp312) package, then caption
# 96 random 1024x768 JPEGs with the tiny test tagger on the CUDA and on the CPU provider.
# The four xz parts were carried in four calls into /tmp/ort (see docs/benchmarks.md).
set -e
cat /tmp/ort/ortxz_0 /tmp/ort/ortxz_1 /tmp/ort/ortxz_2 /tmp/ort/ortxz_3 > /tmp/ort/ort.tar.xz
echo "sha $(sha256sum /tmp/ort/ort.tar.xz | cut -c1-16) expected $(cut -c1-16 .devcarry/g3/sha)"
mkdir -p /tmp/ortsite && python3 -c "import tarfile; tarfile.open('/tmp/ort/ort.tar.xz').extractall('/tmp/ortsite')"
export PYTHONPATH=/tmp/ortsite:/tmp/site:$PWD/src HF_HUB_OFFLINE=1
python3 - <<'PY'
import onnxruntime as ort, sys
print("onnxruntime", ort.__version__, ort.__file__, ort.get_available_providers())
PY
python3 - <<'PY'
import sys, subprocess, os
from pathlib import Path
sys.path.insert(0, "tests")
from fixtures.wd14_tiny import make_wd14_model
from PIL import Image
import numpy as np
root = Path("/tmp/wdgpu"); (root / "img" / "10_x").mkdir(parents=True, exist_ok=True)
model = make_wd14_model(root / "model", dynamic_batch=True)
rng = np.random.default_rng(0)
for i in range(96):
    Image.fromarray(rng.integers(0, 255, (768, 1024, 3), dtype=np.uint8)).save(root / "img" / "10_x" / f"{i:03d}.jpg", quality=90)
for prov in ("CUDAExecutionProvider", "CPUExecutionProvider"):
    p = subprocess.run([sys.executable, "-m", "loratui", "caption", "wd14", str(root / "img"), "--model", str(model),
                        "--batch-size", "16", "--providers", prov, "--mode", "overwrite"], capture_output=True, text=True)
    print("==", prov, "rc", p.returncode)
    print("\n".join((p.stdout + p.stderr).splitlines()[-14:]))
PY
