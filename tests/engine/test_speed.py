"""The training step's speed levers (engine/speed.py): what each one changes and that it leaves the
arithmetic alone (the GPU figures are in docs/benchmarks.md, from bench/train_levers.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from loratui.core.config import ModelSection, NetworkSection, TrainingConfig
from loratui.engine.models import load_base_model
from loratui.engine.network import LoraModule, inject_lora
from loratui.engine.optim import build_optimizer
from loratui.engine.data import pixels_to_device, to_pixels
from loratui.engine.speed import SpeedPlan, apply_speed, compile_cache_dir, plan_speed, to_device

ROOT = Path(__file__).resolve().parents[2]


def test_plan_defaults_per_device():
    cfg = TrainingConfig()
    cpu = plan_speed(cfg, torch.device("cpu"))
    assert cpu == SpeedPlan() and cpu.describe() == "none"
    cuda = plan_speed(cfg, torch.device("cuda"))
    assert cuda.fused_optimizer and not cuda.compile_unet
    cfg.training.torch_compile = True
    assert plan_speed(cfg, torch.device("cpu")).compile_unet


def test_fused_adamw_only_for_cuda_parameters():
    cfg = TrainingConfig()
    cfg.optimizer.optimizer_type = "AdamW"
    params = [torch.nn.Parameter(torch.zeros(3))]
    opt = build_optimizer(cfg, [{"params": params}], fused=True)
    assert not opt.defaults.get("fused")  # CPU tensors: the plain implementation
    cfg.optimizer.optimizer_args = ["foreach=False"]
    assert build_optimizer(cfg, [{"params": params}], fused=True).defaults["foreach"] is False


@pytest.mark.parametrize("conv", [False, True])
def test_lora_in_input_dtype_matches_autocast(conv):
    """fp32 master weights computed in bf16 give what autocast gives (both cast the weights to bf16)."""
    torch.manual_seed(0)
    org = torch.nn.Conv2d(8, 16, 1) if conv else torch.nn.Linear(8, 16)
    org = org.to(torch.bfloat16)
    lora = LoraModule("x", org, 4, 4.0)
    torch.nn.init.normal_(lora.lora_up.weight)
    lora.apply_to()
    x = torch.randn(2, 8, 5, 5) if conv else torch.randn(2, 3, 8)
    x = x.to(torch.bfloat16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        expected = org(x)
    lora.compute_in_input_dtype = True
    got = org(x)
    assert got.dtype == torch.bfloat16
    torch.testing.assert_close(got, expected)
    got.float().sum().backward()
    assert lora.lora_up.weight.grad is not None and lora.lora_up.weight.grad.dtype == torch.float32


def test_apply_speed_sets_layout_and_lora_mode(tiny_sd1_dir):
    base = load_base_model(ModelSection(pretrained_model_name_or_path=str(tiny_sd1_dir)))
    network = inject_lora(base, NetworkSection(network_dim=4, network_alpha=4.0))
    apply_speed(SpeedPlan(channels_last=True, unet_autocast=False), base, network)
    conv = base.unet.conv_in.weight
    assert conv.is_contiguous(memory_format=torch.channels_last)
    assert all(m.compute_in_input_dtype for m in network.unet_modules)
    assert not any(m.compute_in_input_dtype for m in network.te_modules)


def test_to_device_stacks_or_concatenates_in_one_copy():
    parts = [torch.randn(1, 5, 3) for _ in range(3)]
    cpu = torch.device("cpu")
    torch.testing.assert_close(to_device(parts, cpu), torch.stack(parts), rtol=0, atol=0)
    joined = to_device(parts, cpu, stack=False, dtype=torch.bfloat16)
    assert joined.shape == (3, 5, 3) and joined.dtype == torch.bfloat16
    torch.testing.assert_close(joined, torch.cat(parts).to(torch.bfloat16), rtol=0, atol=0)
    # on a CPU the pinned flag changes nothing (pinned memory needs a GPU driver)
    torch.testing.assert_close(to_device(parts, cpu, pinned=True), torch.stack(parts), rtol=0, atol=0)
    assert SpeedPlan(pinned_transfers=True).describe() == "pinned transfers"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="pinned memory needs CUDA")
def test_pinned_transfers_carry_the_same_bytes_on_cuda():
    import numpy as np

    cuda = torch.device("cuda")
    parts = [torch.randn(4, 8, 8) for _ in range(4)]
    torch.testing.assert_close(to_device(parts, cuda, pinned=True).cpu(), torch.stack(parts), rtol=0, atol=0)
    arrays = [np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, axis=2)] * 2  # every pixel value
    got = pixels_to_device(arrays, cuda, pinned=True)
    torch.testing.assert_close(got.cpu(), to_pixels(arrays), rtol=0, atol=0)
    assert got.stride() == pixels_to_device(arrays, cuda).stride()  # the layout the unpinned path gives


@pytest.mark.skipif(not torch.cuda.is_available(), reason="the early loss read is a CUDA event")
def test_early_loss_read_gives_the_float_item_gives():
    from loratui.engine.speed import LossReading

    x = torch.randn(64, 64, device="cuda", requires_grad=True)
    loss = (x @ x).square().mean()
    reading = LossReading(loss)
    loss.backward()  # queued behind the copy: value() waits for the forward only
    assert reading.value() == loss.item()


def test_pixels_to_device_is_to_pixels_on_a_cpu():
    import numpy as np

    arrays = [np.random.default_rng(i).integers(0, 256, (16, 24, 3), dtype=np.uint8) for i in range(2)]
    torch.testing.assert_close(pixels_to_device(arrays, torch.device("cpu"), pinned=True), to_pixels(arrays),
                               rtol=0, atol=0)


def test_compile_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "ind"))
    assert compile_cache_dir() == tmp_path / "ind"
    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "c"))
    assert compile_cache_dir() == tmp_path / "c" / "loratui" / "torch-compile"


@pytest.mark.slow
def test_gpu_suite_runs_at_toy_size_on_the_cpu(tmp_path):
    """bench/gpu_suite.sh --cpu --tiny: every stage of the GPU suite, small, with its loss-curve check."""
    proc = subprocess.run(["bash", str(ROOT / "bench" / "gpu_suite.sh"), "--cpu", "--tiny", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT,
                          env={**__import__("os").environ, "PYTHON": sys.executable})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "Traceback" not in out, out[-3000:]
    rows = [__import__("json").loads(line) for line in (tmp_path / "suite.jsonl").read_text().splitlines()]
    rows = [r for r in rows if "lever" in r]  # loratui's lever rows (sd-scripts' rows have their own shape)
    levers = [r["lever"] for r in rows if r["text"] == "cached"]
    assert levers[:8] == ["baseline", "fused", "cudnn_benchmark", "channels_last", "no_autocast", "pinned",
                          "early_loss", "default"]
    assert all("error" not in r for r in rows), [r.get("error") for r in rows]
    assert all(r["loss_max_rel_diff"] < 1e-3 for r in rows if "loss_max_rel_diff" in r)
    assert any(r["text"] == "te" and r["latents"] == "pixels" for r in rows)
    assert "suite done" in out
