"""bench/sdscripts_beside.py (issue 14): sd-scripts' LoRA trainer beside loratui.

Without a prepared .bench-carry/ (CI's fresh clone) only the skip paths and the timing arithmetic run;
after bench/prepare_sdscripts.sh the tiny model trains through sd-scripts on the CPU, end to end.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "sdscripts_beside.py"
CARRY = ROOT / ".bench-carry"
PREPARED = (CARRY / "sd-scripts" / "train_network.py").is_file() and any((CARRY / "wheels-sdscripts").glob("*.whl"))


def run_bench(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT)


def load_bench_module():
    spec = importlib.util.spec_from_file_location("sdscripts_beside_under_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_missing_sdscripts_prints_one_skip_line_and_exits_0(tmp_path):
    missing = tmp_path / "no-sd-scripts"
    done = run_bench("--arch", "tiny", "--cpu", "--sdscripts", str(missing))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"sd-scripts beside-run skipped: no sd-scripts at {missing} (run bench/prepare_sdscripts.sh)"]


def test_site_without_transformers_is_a_skip_too(tmp_path):
    sdscripts = tmp_path / "sd-scripts"
    sdscripts.mkdir()
    (sdscripts / "train_network.py").write_text("raise SystemExit('must not run')\n")
    done = run_bench("--arch", "tiny", "--cpu", "--sdscripts", str(sdscripts), "--site", str(tmp_path / "site"))
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 1
    assert done.stdout.startswith("sd-scripts beside-run skipped: --site ")


def test_timing_counts_the_last_steps_after_warmup():
    bench = load_bench_module()
    args = bench.parse_args(["--arch", "tiny", "--cpu", "--batch", "4", "--steps", "3", "--warmup", "2"])
    record = {"stamps": [10.0, 15.0, 16.0, 16.5, 17.0, 99.0], "launch_time": 1.0, "train_start": 4.0}
    summary = bench.summarize(args, record)
    assert summary["timed_steps"] == 3  # intervals 15 -> 16 -> 16.5 -> 17; the extra stamp is ignored
    assert summary["s_per_step"] == pytest.approx(2.0 / 3)
    assert summary["images_per_s"] == pytest.approx(3 * 4 / 2.0)
    assert summary["start_to_first_step_s"] == pytest.approx(9.0)
    with pytest.raises(ValueError, match="2 of 5 steps"):
        bench.summarize(args, {**record, "stamps": [1.0, 2.0]})


@pytest.mark.slow
@pytest.mark.skipif(not PREPARED, reason="run bench/prepare_sdscripts.sh to prepare .bench-carry/")
def test_tiny_model_trains_through_sdscripts_on_cpu(tmp_path):
    rows = tmp_path / "rows.jsonl"
    done = run_bench("--arch", "tiny", "--cpu", "--resolution", "64", "--batch", "2", "--steps", "2",
                     "--warmup", "1", "--work", str(tmp_path / "work"), "--json-out", str(rows), timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert re.search(r"^sd-scripts tiny 64px batch 2: [0-9.]+ images/s, [0-9.]+ s/step, peak n/a \(CPU\) "
                     r"\(2 timed steps\)$", done.stdout, re.M), done.stdout
    (row,) = [json.loads(line) for line in rows.read_text().splitlines()]
    assert row["timed_steps"] == 2 and row["images_per_s"] > 0 and row["device"] == "cpu"
    assert row["versions"]["transformers"].startswith("4.") and row["versions"]["diffusers"].startswith("0.32")
    # sd-scripts saved its LoRA (kohya keys for the U-Net only) at the end
    from safetensors import safe_open

    (lora,) = (tmp_path / "work" / "tiny-64-b2" / "out").glob("*.safetensors")
    with safe_open(str(lora), "pt") as fh:
        keys = list(fh.keys())
    assert keys and all(k.startswith("lora_unet_") for k in keys)
