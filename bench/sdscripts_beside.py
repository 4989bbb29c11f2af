"""kohya sd-scripts' LoRA trainer on the same random-weight model, data shapes and settings as loratui's
bench (issue 14): steady-state images/s and peak VRAM of `train_network.py` / `sdxl_train_network.py`.

    bench/prepare_sdscripts.sh                         # once: .bench-carry/ (sd-scripts source + wheels)
    python bench/sdscripts_beside.py --arch tiny --cpu --resolution 64 --batch 2 --steps 4 --warmup 2
    python bench/sdscripts_beside.py --arch sd15 --resolution 512 --batch 4 --steps 25 --warmup 5       # GPU
    python bench/sdscripts_beside.py --arch sdxl --resolution 1024 --batch 2 --steps 25 --warmup 5      # GPU
    # with sites installed by hand (see bench/prepare_sdscripts.sh): PYTHONPATH=src:/tmp/lsite python3 \
    #   bench/sdscripts_beside.py --site /tmp/sdsite ...   (/tmp/lsite never reaches the sd-scripts process)

Two Python environments, one interpreter. This process builds the model with loratui (transformers 5 /
diffusers 0.42; when this Python has no diffusers, .bench-carry/wheels-loratui is installed to a folder
and put on sys.path) and writes it as a diffusers folder, which sd-scripts loads with its own key
conversion. sd-scripts then runs in a subprocess whose PYTHONPATH is only its pinned site (--site; by default
.bench-carry/wheels-sdscripts installed once into a folder under the temp dir) and its source, through
bench/sdscripts_launch.py, which stamps every optimizer step. images/s counts the last --steps steps.

Settings matched to loratui's bench: LoRA (networks.lora) dim = alpha = --rank on the U-Net only, AdamW
(torch), lr 1e-4 constant, max_grad_norm 1.0, bf16 mixed precision (fp32 on --cpu), SDPA, cached latents
(and cached text-encoder outputs for SDXL), fixed resolution (no buckets), seed 0, LoRA saved once at
the end. --arch tiny is SD1's layout at narrow widths (sd-scripts' SD1 U-Net is hard-coded; the launcher
narrows it) for a CPU check of the whole path in well under two minutes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CARRY = ROOT / ".bench-carry"
LAUNCHER = Path(__file__).resolve().parent / "sdscripts_launch.py"
MARKER = "SDSCRIPTS_BESIDE_RESULT"
SCRIPTS = {"sd15": "train_network.py", "tiny": "train_network.py", "sdxl": "sdxl_train_network.py"}
TOKENIZER_CACHE_NAMES = ("openai_clip-vit-large-patch14", "laion_CLIP-ViT-bigG-14-laion2B-39B-b160k")
TINY_UNET_CHANNELS = (32, 32, 64, 64)


class Skip(Exception):
    """sd-scripts (or its environment) is not prepared here: say so and exit 0."""


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--arch", choices=["sd15", "sdxl", "tiny"], required=True)
    p.add_argument("--resolution", type=int, default=None, help="square training size (default 512/1024/64)")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--steps", type=int, default=25, help="timed steps (the last ones)")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps before them")
    p.add_argument("--rank", type=int, default=8)
    p.add_argument("--images", type=int, default=None,
                   help="dataset size (default: one epoch covers all steps, 16..128 images)")
    p.add_argument("--cpu", action="store_true", help="run on the CPU in fp32 (the tiny smoke test)")
    p.add_argument("--gradient-checkpointing", action="store_true")
    p.add_argument("--sdscripts", type=Path, default=CARRY / "sd-scripts", help="sd-scripts source folder")
    p.add_argument("--site", type=Path, default=None,
                   help="folder with sd-scripts' pinned packages (default: install .bench-carry/wheels-sdscripts "
                        "into a cached folder under the temp dir)")
    p.add_argument("--work", type=Path, default=None, help="keep model, data and logs here (default: temp, removed)")
    p.add_argument("--json-out", type=Path, default=None, help="append one JSON row per run")
    p.add_argument("--timeout", type=float, default=1500, help="seconds allowed for the sd-scripts run")
    p.add_argument("--verbose", action="store_true", help="echo sd-scripts' output as it runs")
    args = p.parse_args(argv)
    args.resolution = args.resolution or {"sd15": 512, "sdxl": 1024, "tiny": 64}[args.arch]
    if args.images is None:
        args.images = min(128, max(16, (args.warmup + args.steps) * args.batch))
    if args.steps < 1 or args.warmup < 0 or args.batch < 1:
        p.error("--steps must be >= 1, --warmup >= 0, --batch >= 1")
    return args


# ---- the two environments ---------------------------------------------------------------------------

def installed_site(wheels: Path, label: str) -> Path:
    """Install a folder of wheels (no deps, no index) into a cached target folder; return it. For the
    sd-scripts site, .bench-carry/wheels-host (opencv) joins when this Python has no cv2 (a dev venv)."""
    import importlib.util

    files = sorted(wheels.glob("*.whl"))
    if not files:
        raise Skip(f"no wheels in {wheels} (run bench/prepare_sdscripts.sh)")
    if label == "sdscripts" and importlib.util.find_spec("cv2") is None:
        host = sorted((CARRY / "wheels-host").glob("opencv*.whl"))
        if not host:
            raise Skip("this Python has no cv2 (opencv-python-headless) and .bench-carry/wheels-host has none")
        files += host
    digest = hashlib.sha256("\n".join(f.name for f in files).encode()).hexdigest()[:10]
    tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    target = Path(tempfile.gettempdir()) / "loratui-bench-sites" / f"{label}-{tag}-{digest}"
    if (target / ".complete").is_file():
        return target
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile",
           "--disable-pip-version-check", "--target", str(target), *map(str, files)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"installing {wheels} failed:\n{done.stdout}{done.stderr}")
    (target / ".complete").write_text("ok\n")
    return target


def loratui_importable() -> None:
    """Make loratui (this checkout's src/) and a diffusers for it importable in this process."""
    try:
        import loratui  # noqa: F401
    except ImportError:
        sys.path.insert(0, str(ROOT / "src"))
    try:
        import diffusers  # noqa: F401
    except ImportError:
        wheels = CARRY / "wheels-loratui"
        if not wheels.is_dir():
            raise SystemExit("this Python has no diffusers and .bench-carry/wheels-loratui is missing "
                             "(run bench/prepare_sdscripts.sh)") from None
        sys.path.insert(0, str(installed_site(wheels, "loratui")))


def child_env(args, site: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(PYTHONPATH=os.pathsep.join([str(site), str(args.sdscripts)]), PYTHONNOUSERSITE="1",
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1",
               DIFFUSERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false", PYTHONUNBUFFERED="1")
    if args.cpu:
        env["CUDA_VISIBLE_DEVICES"] = ""
    if args.arch == "tiny":
        env["SDSCRIPTS_BESIDE_UNET_CHANNELS"] = ",".join(map(str, TINY_UNET_CHANNELS))
    return env


def check_sdscripts_env(args, env: dict) -> dict:
    done = subprocess.run([sys.executable, str(LAUNCHER), "--check", str(args.sdscripts)], env=env,
                          capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
        raise SystemExit(f"{tail}\nsd-scripts beside-run failed: sd-scripts does not import with --site {args.site}")
    versions = json.loads(done.stdout.strip().splitlines()[-1])
    if not str(versions["transformers"]).startswith("4."):
        raise SystemExit(f"sd-scripts beside-run failed: --site {args.site} does not shadow this Python's "
                         f"transformers {versions['transformers']}")
    return versions


# ---- model and data ---------------------------------------------------------------------------------

def _text_encoder_weights(te) -> dict:
    """transformers 5 drops CLIP's `text_model.` level from state-dict keys; transformers 4 (sd-scripts)
    expects it, so it is put back (the projection stays at the top level)."""
    out = {}
    for key, value in te.state_dict().items():
        if key.endswith("position_ids"):
            continue
        if not key.startswith(("text_model.", "text_projection.")):
            key = "text_model." + key
        out[key] = value.detach().contiguous()
    return out


def _save(state: dict, path: Path) -> None:
    from safetensors.torch import save_file

    save_file({k: v.detach().to("cpu").contiguous() for k, v in state.items()}, str(path))


def tiny_config() -> dict:
    """SD1's layout (4 blocks, 2 layers, 1 transformer each) at widths sd-scripts' narrowed U-Net takes."""
    from loratui.engine.tiny_models import BOS_ID, EOS_ID, TINY_VOCAB_SIZE

    unet = {"_class_name": "UNet2DConditionModel", "sample_size": 8, "in_channels": 4, "out_channels": 4,
            "layers_per_block": 2, "block_out_channels": list(TINY_UNET_CHANNELS),
            "down_block_types": ["CrossAttnDownBlock2D"] * 3 + ["DownBlock2D"],
            "up_block_types": ["UpBlock2D"] + ["CrossAttnUpBlock2D"] * 3,
            "cross_attention_dim": 32, "attention_head_dim": 8, "norm_num_groups": 32}
    vae = {"_class_name": "AutoencoderKL", "in_channels": 3, "out_channels": 3, "latent_channels": 4,
           "down_block_types": ["DownEncoderBlock2D"] * 4, "up_block_types": ["UpDecoderBlock2D"] * 4,
           "block_out_channels": [32, 32, 32, 32], "layers_per_block": 1, "norm_num_groups": 32,
           "sample_size": 64}
    te = {"architectures": ["CLIPTextModel"], "model_type": "clip_text_model", "vocab_size": TINY_VOCAB_SIZE,
          "hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 4, "num_hidden_layers": 3,
          "max_position_embeddings": 77, "projection_dim": 32, "hidden_act": "quick_gelu",
          "bos_token_id": BOS_ID, "eos_token_id": EOS_ID, "pad_token_id": EOS_ID}
    scheduler = {"_class_name": "DDPMScheduler", "beta_start": 0.00085, "beta_end": 0.012,
                 "beta_schedule": "scaled_linear", "num_train_timesteps": 1000, "clip_sample": False}
    return {"pipeline": "StableDiffusionPipeline", "unet": unet, "vae": vae, "text_encoder": te,
            "scheduler": scheduler}


def write_tiny_folder(folder: Path) -> list:
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from loratui.engine.clip_vocab import write_clip_tokenizer
    from loratui.engine.tiny_models import TINY_MERGES

    cfg = tiny_config()
    torch.manual_seed(0)
    unet = UNet2DConditionModel.from_config({k: v for k, v in cfg["unet"].items() if k != "_class_name"})
    vae = AutoencoderKL.from_config({k: v for k, v in cfg["vae"].items() if k != "_class_name"})
    te_body = {k: v for k, v in cfg["text_encoder"].items() if k not in ("architectures", "model_type")}
    te = CLIPTextModel(CLIPTextConfig(**te_body))
    for part in ("unet", "vae", "text_encoder", "scheduler"):
        (folder / part).mkdir(parents=True)
    (folder / "unet" / "config.json").write_text(json.dumps(cfg["unet"], indent=1))
    (folder / "vae" / "config.json").write_text(json.dumps(cfg["vae"], indent=1))
    (folder / "text_encoder" / "config.json").write_text(json.dumps(cfg["text_encoder"], indent=1))
    (folder / "scheduler" / "scheduler_config.json").write_text(json.dumps(cfg["scheduler"], indent=1))
    write_clip_tokenizer(folder / "tokenizer", TINY_MERGES)
    index = {"_class_name": cfg["pipeline"], "_diffusers_version": "0.32.1",
             "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"],
             "text_encoder": ["transformers", "CLIPTextModel"], "tokenizer": ["transformers", "CLIPTokenizer"],
             "scheduler": ["diffusers", "DDPMScheduler"], "safety_checker": [None, None],
             "feature_extractor": [None, None], "requires_safety_checker": False}
    (folder / "model_index.json").write_text(json.dumps(index, indent=1))
    return [unet, vae, te]


def write_model(args, folder: Path) -> float:
    """Write a random-weight model as a diffusers folder sd-scripts loads; return the seconds it took."""
    import torch

    start = time.perf_counter()
    if args.arch == "tiny":
        parts = write_tiny_folder(folder)
    else:
        from loratui.engine.model_configs import config_folder
        from loratui.engine.models import build_random_base_model

        family = {"sd15": "sd1", "sdxl": "sdxl"}[args.arch]
        torch.manual_seed(0)
        base = build_random_base_model(family, device="cpu" if args.cpu else "cuda", dtype=torch.bfloat16)
        shutil.copytree(config_folder(family), folder)  # configs, tokenizers, scheduler, model_index
        parts = [base.unet, base.vae, *base.text_encoders]
        del base
    _save(parts[0].state_dict(), folder / "unet" / "diffusion_pytorch_model.safetensors")
    _save(parts[1].state_dict(), folder / "vae" / "diffusion_pytorch_model.safetensors")
    for i, te in enumerate(parts[2:]):
        sub = "text_encoder" if i == 0 else f"text_encoder_{i + 1}"
        _save(_text_encoder_weights(te), folder / sub / "model.safetensors")
    parts.clear()
    return time.perf_counter() - start


def tokenizer_cache(model: Path, target: Path) -> Path:
    """sd-scripts loads the CLIP tokenizers from the hub unless --tokenizer_cache_dir holds a copy."""
    for sub, name in zip(("tokenizer", "tokenizer_2"), TOKENIZER_CACHE_NAMES):
        source = model / sub if (model / sub).is_dir() else model / "tokenizer"
        shutil.copytree(source, target / name)
    return target


def write_dataset(args, folder: Path) -> Path:
    """kohya layout: img/1_shp/ with smooth random images at the training size and .txt captions."""
    import numpy as np
    from PIL import Image

    concept = folder / "1_shp"
    concept.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(args.images):
        small = Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
        small.resize((args.resolution, args.resolution), Image.BICUBIC).save(concept / f"{i:03d}.jpg", quality=95)
        (concept / f"{i:03d}.txt").write_text(f"shp, a photo of a thing, number {i}, outdoors\n", encoding="utf-8")
    return folder


# ---- the sd-scripts run -----------------------------------------------------------------------------

def sdscripts_command(args, model: Path, tokenizers: Path, data: Path, out: Path, result: Path) -> list[str]:
    script = args.sdscripts / SCRIPTS[args.arch]
    cmd = [sys.executable, str(LAUNCHER), str(result), str(script),
           "--pretrained_model_name_or_path", str(model), "--tokenizer_cache_dir", str(tokenizers),
           "--train_data_dir", str(data), "--caption_extension", ".txt",
           "--resolution", f"{args.resolution},{args.resolution}",
           "--train_batch_size", str(args.batch), "--max_train_steps", str(args.warmup + args.steps),
           "--network_module", "networks.lora", "--network_dim", str(args.rank),
           "--network_alpha", str(float(args.rank)), "--network_train_unet_only",
           "--optimizer_type", "AdamW", "--learning_rate", "1e-4", "--lr_scheduler", "constant",
           "--max_grad_norm", "1.0", "--mixed_precision", "no" if args.cpu else "bf16",
           "--save_precision", "fp16", "--sdpa", "--cache_latents", "--seed", "0",
           "--save_model_as", "safetensors", "--output_dir", str(out), "--output_name", "sdscripts_bench",
           "--max_data_loader_n_workers", "0"]
    if args.arch == "sdxl":
        cmd.append("--cache_text_encoder_outputs")
    if args.gradient_checkpointing:
        cmd.append("--gradient_checkpointing")
    return cmd


def run_sdscripts(cmd: list[str], env: dict, log: Path, args) -> tuple[int, float]:
    start = time.perf_counter()
    with open(log, "w", encoding="utf-8", errors="replace") as fh:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                errors="replace", cwd=str(log.parent))
        try:
            for line in proc.stdout:
                fh.write(line)
                if args.verbose:
                    sys.stdout.write(line)
                if time.perf_counter() - start > args.timeout:
                    proc.kill()
                    fh.write(f"\n[sdscripts_beside] killed after {args.timeout:.0f} s\n")
                    break
        finally:
            code = proc.wait()
    return code, time.perf_counter() - start


def read_result(result: Path, log: Path) -> dict | None:
    if result.is_file():
        try:
            return json.loads(result.read_text(encoding="utf-8"))
        except ValueError:
            pass
    for line in reversed(log.read_text(encoding="utf-8", errors="replace").splitlines()):
        if MARKER + " {" in line:  # a progress bar's carriage-return line may precede it
            try:
                return json.loads(line[line.index(MARKER + " {") + len(MARKER) + 1:])
            except ValueError:
                return None
    return None


def summarize(args, record: dict) -> dict:
    stamps = record["stamps"]
    total = args.warmup + args.steps
    if len(stamps) < total:
        raise ValueError(f"sd-scripts made {len(stamps)} of {total} steps")
    stamps = stamps[:total]
    # The last --steps intervals; with no warmup the first step's end is the earliest stamp there is.
    first = args.warmup - 1 if args.warmup >= 1 else 0
    timed = stamps[first:]
    gaps = [b - a for a, b in zip(timed, timed[1:])]
    if not gaps:
        raise ValueError("need --warmup >= 1 or --steps >= 2 to time anything")
    span = timed[-1] - timed[0]
    return {"timed_steps": len(gaps), "s_per_step": span / len(gaps), "s_per_step_median": statistics.median(gaps),
            "images_per_s": len(gaps) * args.batch / span,
            "start_to_first_step_s": stamps[0] - record["launch_time"],
            "cache_and_setup_s": (record["train_start"] - record["launch_time"]) if record["train_start"] else None}


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        if not (args.sdscripts / SCRIPTS[args.arch]).is_file():
            raise Skip(f"no sd-scripts at {args.sdscripts} (run bench/prepare_sdscripts.sh)")
        if args.site is None:
            args.site = installed_site(CARRY / "wheels-sdscripts", "sdscripts")
        elif not (args.site / "transformers").is_dir():
            raise Skip(f"--site {args.site} has no transformers (install .bench-carry/wheels-sdscripts there)")
    except Skip as why:
        print(f"sd-scripts beside-run skipped: {why}")
        return 0
    args.sdscripts = args.sdscripts.resolve()
    args.site = args.site.resolve()
    env = child_env(args, args.site)
    t0 = time.perf_counter()
    versions = check_sdscripts_env(args, env)
    commit_file = args.sdscripts / "SDSCRIPTS_COMMIT"
    commit = commit_file.read_text().strip()[:10] if commit_file.is_file() else "(unknown commit)"
    print(f"sd-scripts {commit} with transformers {versions['transformers']}, diffusers {versions['diffusers']}, "
          f"accelerate {versions['accelerate']}, torch {versions['torch']}"
          + (" (torchvision stand-in)" if versions["torchvision_stand_in"] else ""), flush=True)

    loratui_importable()
    import torch

    if not args.cpu and not torch.cuda.is_available():
        raise SystemExit("no CUDA device: use --cpu (with --arch tiny) on a machine without a GPU")
    work = args.work or Path(tempfile.mkdtemp(prefix="sdscripts-beside-"))
    work = work.resolve()
    run_dir = work / f"{args.arch}-{args.resolution}-b{args.batch}"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    try:
        model_s = write_model(args, run_dir / "model")
        if not args.cpu:
            import gc

            gc.collect()
            torch.cuda.empty_cache()  # the GPU's memory is the sd-scripts process's now
        tokenizers = tokenizer_cache(run_dir / "model", run_dir / "tokenizers")
        data = write_dataset(args, run_dir / "img")
        print(f"model ({args.arch}, random weights) written in {model_s:.1f} s; {args.images} images at "
              f"{args.resolution}px", flush=True)
        result, log = run_dir / "result.json", run_dir / "sdscripts.log"
        cmd = sdscripts_command(args, run_dir / "model", tokenizers, data, run_dir / "out", result)
        code, run_s = run_sdscripts(cmd, env, log, args)
        record = read_result(result, log)
        try:
            if code != 0 or record is None:
                raise ValueError(f"exit code {code}" + ("" if record else ", no step record"))
            summary = summarize(args, record)
        except ValueError as why:
            tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-30:]
            print("\n".join(tail))
            print(f"sd-scripts beside-run failed: {why} (log: {log})")
            args.work = args.work or work  # keep the evidence
            return 1
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)

    peak = record.get("peak_train_gib")
    peak_text = f"peak {peak:.1f} GiB" if peak is not None else "peak n/a (CPU)"
    print(f"sd-scripts {args.arch} {args.resolution}px batch {args.batch}: {summary['images_per_s']:.1f} images/s, "
          f"{summary['s_per_step']:.3f} s/step, {peak_text} ({summary['timed_steps']} timed steps)")
    print(f"  load + cache {summary['cache_and_setup_s']:.1f} s, sd-scripts run {run_s:.1f} s, "
          f"whole bench {time.perf_counter() - t0:.1f} s", flush=True)
    if args.json_out:
        row = {"bench": "sdscripts_beside", "arch": args.arch, "resolution": args.resolution, "batch": args.batch,
               "rank": args.rank, "steps": args.steps, "warmup": args.warmup, "device": record["device"],
               "gpu": record.get("gpu"), "gradient_checkpointing": args.gradient_checkpointing,
               "peak_train_gib": peak, "peak_before_train_gib": record.get("peak_before_train_gib"),
               "model_write_s": round(model_s, 2), "sdscripts_run_s": round(run_s, 2), "versions": versions,
               **{k: (round(v, 4) if isinstance(v, float) else v) for k, v in summary.items()}}
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        with open(args.json_out, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
