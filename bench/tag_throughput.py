"""WD14 tagging throughput: end to end vs model alone vs decode+preprocess alone, same images, one run.

    python bench/tag_throughput.py                      # CPU, small conv model (a few GFLOPs/image)
    python bench/tag_throughput.py --gpu --arch convnext  # GPU, ConvNeXt-Base-shaped random weights
    python bench/tag_throughput.py --providers CUDAExecutionProvider --arch swinv2

Prints images/s for: decode+preprocess alone (all cores), the model alone on pre-decoded batches
(all cores), and end to end (loratui's runner writing captions). On a CPU both share the cores,
so the limit is 1/(1/model + 1/decode); on a GPU decoding overlaps inference and the limit is
min(model, decode). The ratio end_to_end/limit is the number to watch (target >= 0.9).
The model is built with onnx.helper (random weights, real input/output names and shapes).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

K_TAGS = 1000


class Graph:
    """A tiny onnx.helper builder: every op returns its output name."""

    def __init__(self, seed=0):
        from onnx import helper, numpy_helper

        self.h, self.nh = helper, numpy_helper
        self.nodes, self.inits, self.n = [], [], 0
        self.rng = np.random.default_rng(seed)
        self.flops = 0.0

    def name(self, p):
        self.n += 1
        return f"{p}{self.n}"

    def const(self, arr):
        n = self.name("w")
        self.inits.append(self.nh.from_array(np.asarray(arr, dtype=np.float32) if np.asarray(arr).dtype.kind == "f" else np.asarray(arr), n))
        return n

    def op(self, kind, inputs, **attrs):
        out = self.name(kind.lower())
        self.nodes.append(self.h.make_node(kind, inputs, [out], **attrs))
        return out

    def conv(self, x, cin, cout, k, hw_out, stride=1, group=1):
        w = self.rng.standard_normal((cout, cin // group, k, k)).astype(np.float32) * np.sqrt(2.0 / (cin // group * k * k))
        self.flops += 2.0 * hw_out * hw_out * cout * (cin // group) * k * k
        return self.op("Conv", [x, self.const(w), self.const(np.zeros(cout))], kernel_shape=[k, k],
                       strides=[stride, stride], pads=[k // 2 - (1 - k % 2) * (k // 2)] * 2 + [k // 2 - (1 - k % 2) * (k // 2)] * 2,
                       group=group)

    def matmul(self, x, cin, cout, tokens):
        w = self.rng.standard_normal((cin, cout)).astype(np.float32) * np.sqrt(1.0 / cin)
        self.flops += 2.0 * tokens * cin * cout
        return self.op("MatMul", [x, self.const(w)])

    def save(self, x_in, out, path, batch="batch"):
        from onnx import TensorProto

        graph = self.h.make_graph(self.nodes, "bench_tagger",
                                  [self.h.make_tensor_value_info("input_1:0", TensorProto.FLOAT, [batch, 448, 448, 3])],
                                  [self.h.make_tensor_value_info(out, TensorProto.FLOAT, [batch, K_TAGS])], self.inits)
        model = self.h.make_model(graph, opset_imports=[self.h.make_opsetid("", 17)])
        model.ir_version = 8
        import onnx

        onnx.save(model, str(path), save_as_external_data=len(self.inits) > 200, all_tensors_to_one_file=True,
                  location=Path(path).name + ".data")


def head(g, x, c):
    pooled = g.op("Flatten", [g.op("GlobalAveragePool", [x])])
    logits = g.matmul(pooled, c, K_TAGS, 1)
    return g.op("Sigmoid", [logits], ) if False else g.h.make_node("Sigmoid", [logits], ["predictions_sigmoid"]) and (
        g.nodes.append(g.h.make_node("Sigmoid", [logits], ["predictions_sigmoid"])) or "predictions_sigmoid")


def build_small(g):
    """A conv stack of ~3 GFLOPs at 448x448 (the real taggers are 120-700 GFLOPs)."""
    x = g.op("Transpose", ["input_1:0"], perm=[0, 3, 1, 2])
    x = g.op("Relu", [g.conv(x, 3, 32, 3, 224, stride=2)])
    x = g.op("Relu", [g.conv(x, 32, 64, 3, 112, stride=2)])
    for _ in range(3):
        x = g.op("Add", [x, g.op("Relu", [g.conv(x, 64, 64, 3, 112)])])
    return head(g, x, 64)


def build_convnext(g):
    """ConvNeXt-Base shape (depths 3,3,27,3, widths 128..1024) at 448 px: ~60 GFLOPs."""
    x = g.op("Transpose", ["input_1:0"], perm=[0, 3, 1, 2])
    x = g.conv(x, 3, 128, 4, 112, stride=4)
    res, widths, depths = 112, [128, 256, 512, 1024], [3, 3, 27, 3]
    for stage, (c, d) in enumerate(zip(widths, depths)):
        if stage:
            res //= 2
            x = g.conv(x, widths[stage - 1], c, 2, res, stride=2)
        for _ in range(d):
            y = g.conv(x, c, c, 7, res, group=c)
            y = g.op("Gelu", [g.conv(y, c, 4 * c, 1, res)]) if False else g.op("Relu", [g.conv(y, c, 4 * c, 1, res)])
            x = g.op("Add", [x, g.conv(y, 4 * c, c, 1, res)])
    return head(g, x, widths[-1])


def build_swinv2(g):
    """SwinV2-Base shape (window attention 7x7, depths 2,2,18,2, widths 128..1024) at 448 px."""
    x = g.op("Transpose", ["input_1:0"], perm=[0, 3, 1, 2])
    x = g.conv(x, 3, 128, 4, 112, stride=4)
    res, widths, depths, win = 112, [128, 256, 512, 1024], [2, 2, 18, 2], 7
    for stage, (c, d) in enumerate(zip(widths, depths)):
        if stage:
            res //= 2
            x = g.conv(g.op("SpaceToDepth", [x], blocksize=2), 4 * widths[stage - 1], c, 1, res)
        w = min(win, res)
        n = res // w
        tokens = res * res
        for _ in range(d):
            # NCHW -> windows [B*n*n, w*w, C]
            t = g.op("Reshape", [x, g.const(np.array([-1, c, n, w, n, w], np.int64))])
            t = g.op("Transpose", [t], perm=[0, 2, 4, 3, 5, 1])
            t = g.op("Reshape", [t, g.const(np.array([-1, w * w, c], np.int64))])
            q, k, v = (g.matmul(t, c, c, tokens) for _ in range(3))
            s = g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 2, 1])])
            g.flops += 4.0 * tokens * w * w * c
            a = g.op("MatMul", [g.op("Softmax", [g.op("Mul", [s, g.const(np.array([c ** -0.5]))])], axis=-1), v])
            t = g.op("Add", [t, g.matmul(a, c, c, tokens)])
            t = g.op("Add", [t, g.matmul(g.op("Relu", [g.matmul(t, c, 4 * c, tokens)]), 4 * c, c, tokens)])
            t = g.op("Reshape", [t, g.const(np.array([-1, n, n, w, w, c], np.int64))])
            t = g.op("Transpose", [t], perm=[0, 5, 1, 3, 2, 4])
            x = g.op("Reshape", [t, g.const(np.array([-1, c, res, res], np.int64))])
    return head(g, x, widths[-1])


def make_model(folder: Path, arch: str) -> float:
    g = Graph()
    out = {"small": build_small, "convnext": build_convnext, "swinv2": build_swinv2}[arch](g)
    g.save("input_1:0", out, folder / "model.onnx")
    with open(folder / "selected_tags.csv", "w") as fh:
        fh.write("tag_id,name,category,count\n")
        for i in range(K_TAGS):
            fh.write(f"{i},{['general', 'sensitive', 'questionable', 'explicit'][i] if i < 4 else f'tag_{i}'},"
                     f"{9 if i < 4 else (4 if i > 900 else 0)},{K_TAGS - i}\n")
    return g.flops / 1e9


def make_images(folder: Path, n: int, workers: int) -> list[Path]:
    from PIL import Image

    def one(i):
        rng = np.random.default_rng(i)
        yy, xx = np.mgrid[0:768, 0:1024]
        base = np.stack([(xx * 255 // 1024), (yy * 255 // 768), np.full_like(xx, (i * 37) % 256)], -1)
        noise = rng.integers(-20, 21, base.shape)
        arr = np.clip(base + noise, 0, 255).astype(np.uint8)
        path = folder / f"img{i:04d}.jpg"
        Image.fromarray(arr).save(path, quality=90)
        return path

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, range(n)))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=300)
    ap.add_argument("--arch", choices=["small", "convnext", "swinv2"], default="small")
    ap.add_argument("--gpu", action="store_true", help="same as --providers CUDAExecutionProvider")
    ap.add_argument("--providers", default=None, help="comma-separated onnxruntime providers")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--workers", type=int, default=None, help="decode workers end to end (default: all cores)")
    ap.add_argument("--intra-threads", type=int, default=None, help="onnxruntime intra-op threads (default: all cores)")
    ap.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = ap.parse_args(argv)

    from loratui.captioners.images import load_image
    from loratui.captioners.output import find_images, plan
    from loratui.captioners.runner import run_captioning
    from loratui.captioners.wd14 import WD14Captioner

    cores = os.cpu_count() or 1
    providers = [p.strip() for p in args.providers.split(",")] if args.providers else None
    if args.gpu and not providers:
        providers = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    elif providers and "CPUExecutionProvider" not in providers:
        providers.append("CPUExecutionProvider")
    tmp = Path(tempfile.mkdtemp(prefix="tag_bench_"))
    try:
        model_dir, data = tmp / "model", tmp / "data"
        model_dir.mkdir()
        data.mkdir()
        gflops = make_model(model_dir, args.arch)
        paths = make_images(data, args.images, cores)
        cap = WD14Captioner(model_dir, providers=providers, batch_size=args.batch_size, intra_threads=args.intra_threads)
        print(f"{cores} CPU core(s); model {args.arch} {gflops:.1f} GFLOPs/image on {cap.provider}; "
              f"{len(paths)} JPEGs 1024x768; batch {cap.batch_size}")

        def prep(p):
            return cap.prepare(load_image(p))

        with ThreadPoolExecutor(cores) as pool:  # warm-up (page cache, libjpeg)
            list(pool.map(prep, paths[:cores * 2]))
        t = time.perf_counter()
        with ThreadPoolExecutor(cores) as pool:
            batches = list(pool.map(prep, paths))
        decode = len(paths) / (time.perf_counter() - t)

        bs = cap.batch_size
        cap.run_probs(batches[:bs])  # warm-up
        t = time.perf_counter()
        for i in range(0, len(batches), bs):
            cap.run_probs(batches[i:i + bs])
        model = len(batches) / (time.perf_counter() - t)
        del batches

        jobs, _ = plan(find_images(data), ".txt", "overwrite")
        res = run_captioning(cap, jobs, mode="overwrite", workers=args.workers or cores)
        e2e = res.captioned / res.elapsed_s
        assert res.captioned == len(paths) and not res.failed, res.failed[:3]

        gpu = cap.provider != "CPUExecutionProvider"  # what runs, not what was asked for (a fallback is CPU)
        limit = min(model, decode) if gpu else 1.0 / (1.0 / model + 1.0 / decode)
        how = "min(model, decode)" if gpu else "1/(1/model + 1/decode)"
        print(f"decode+preprocess alone: {decode:8.1f} images/s ({cores} threads)")
        print(f"model alone:             {model:8.1f} images/s (pre-decoded batches of {bs})")
        print(f"end to end:              {e2e:8.1f} images/s (runner, {args.workers or cores} decode workers)")
        print(f"limit {how}: {limit:.1f} images/s")
        print(f"ratio end_to_end/limit: {e2e / limit:.3f} (target >= 0.9)")
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
