"""How long `loratui lora convert` takes on a real-size model, and what the fast path saves.

Builds the architecture with random weights (no download), a LyCORIS network of the given algo and
rank over it with random factors, writes the file, and converts it twice: with the rank-bound path
(what the command does) and with a plain SVD of every layer. Prints both times and their ratio, the
ranks and the largest error, all measured in this one run.

    python bench/lora_convert.py --arch sd15 --algo loha --dim 16
    python bench/lora_convert.py --arch sdxl --algo lokr --dim 16 --preset full    # GPU box: add --cuda
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from pathlib import Path
from unittest import mock

import torch


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--arch", choices=["sd15", "sdxl"], default="sd15")
    p.add_argument("--algo", choices=["loha", "lokr", "locon"], default="loha")
    p.add_argument("--dim", type=int, default=16)
    p.add_argument("--preset", default="attn-mlp")
    p.add_argument("--cuda", action="store_true", help="convert on the GPU")
    p.add_argument("--skip-plain", action="store_true", help="only the command's own path")
    args = p.parse_args(argv)
    if args.dim < 1:
        p.error("--dim must be at least 1")

    from loratui.core.config import NetworkSection
    from loratui.engine import lora_convert
    from loratui.engine.models import build_random_base_model
    from loratui.engine.network import inject_lora, save_lora
    from loratui.engine.quiet import quiet_libraries

    quiet_libraries()
    device = "cuda" if args.cuda and torch.cuda.is_available() else "cpu"
    t0 = time.perf_counter()
    base = build_random_base_model(args.arch)
    print(f"built {args.arch} with random weights in {time.perf_counter() - t0:.1f}s", flush=True)
    cfg = NetworkSection(network_dim=args.dim, network_alpha=args.dim / 2, network_module="lycoris.kohya",
                         network_args=[f"algo={args.algo}", f"preset={args.preset}"])
    network = inject_lora(base, cfg)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for module in network.all_modules():
            for _, param in module.named_parameters():
                param.add_(torch.randn(param.shape, generator=gen) * 0.05)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "src.safetensors"
        save_lora(source, network, {"ss_network_module": "lycoris.kohya"}, save_precision="fp16")
        network.restore()
        layers = len(network.all_modules())
        rows = {}
        plain = mock.patch.object(lora_convert, "rank_bound", lambda module: None)  # no bound: whole SVDs
        for label, patch in (("rank-bound", contextlib.nullcontext()), ("plain SVD", plain)):
            if label == "plain SVD" and args.skip_plain:
                continue
            with patch:
                t0 = time.perf_counter()
                _, _, report = lora_convert.convert_to_lora(source, base, device=device)
                rows[label] = (time.perf_counter() - t0, report)
            seconds, report = rows[label]
            print(f"{label:<10}  {seconds:7.1f}s  {layers} layers  rank {min(report.ranks)}..{max(report.ranks)}  "
                  f"max error {report.max_stored_error:.2e}", flush=True)
    if len(rows) == 2:
        ratio = rows["rank-bound"][0] / rows["plain SVD"][0]
        print(f"time ratio rank-bound / plain SVD = {ratio:.3f} ({args.arch}, {args.algo} dim {args.dim}, "
              f"preset {args.preset}, {device})")


if __name__ == "__main__":
    main()
