"""Run one kohya sd-scripts training script with a timestamp after every optimizer step.

    python bench/sdscripts_launch.py RESULT.json SCRIPT.py [sd-scripts arguments...]
    python bench/sdscripts_launch.py --check SD_SCRIPTS_DIR     # import check, prints versions as JSON

Started by bench/sdscripts_beside.py inside sd-scripts' own environment (its pinned transformers 4 /
diffusers 0.32 wheels first on PYTHONPATH), so it imports only the standard library, torch and tqdm,
never loratui. sd-scripts has no per-step timestamps; its training loop calls the "steps" progress bar's
``update`` exactly once per optimizer step, so a tqdm subclass records ``time.perf_counter()`` there (after
``torch.cuda.synchronize()``). At exit the stamps and the CUDA peaks go to RESULT.json (and to one stdout
line starting with ``SDSCRIPTS_BESIDE_RESULT``, in case the file cannot be written).

Environment knobs (set by the parent):
  SDSCRIPTS_BESIDE_UNET_CHANNELS  e.g. "32,32,64,64": shrink sd-scripts' SD1 U-Net (hard-coded 320..1280)
                                  for the tiny CPU model; the layout (blocks, layers) stays SD1's.
"""

from __future__ import annotations

import atexit
import importlib.machinery
import json
import os
import runpy
import sys
import time
import types

MARKER = "SDSCRIPTS_BESIDE_RESULT"


def install_torchvision_stand_in() -> bool:
    """sd-scripts imports torchvision.transforms at module level but, for LoRA training with cached
    latents, only uses ToTensor/Normalize (to cache latents) and pil_to_tensor. A machine whose torch has no
    matching torchvision gets this small stand-in; returns True when it was installed."""
    try:
        import torchvision.transforms  # noqa: F401

        return False
    except Exception:  # missing, or a build that does not match this torch
        for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
            del sys.modules[name]
    import numpy as np
    import torch

    class Compose:
        def __init__(self, transforms):
            self.transforms = list(transforms)

        def __call__(self, x):
            for t in self.transforms:
                x = t(x)
            return x

    def pil_to_tensor(image):
        array = np.array(image, copy=True)
        if array.ndim == 2:
            array = array[:, :, None]
        return torch.from_numpy(array).permute(2, 0, 1).contiguous()

    class ToTensor:
        def __call__(self, image):
            if isinstance(image, np.ndarray):
                array = image if image.ndim == 3 else image[:, :, None]
                tensor = torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1)
            else:
                tensor = pil_to_tensor(image)
            if tensor.dtype == torch.uint8:
                return tensor.float().div(255)
            return tensor.float()

    class Normalize:
        def __init__(self, mean, std):
            self.mean, self.std = mean, std

        def __call__(self, tensor):
            mean = torch.as_tensor(self.mean, dtype=tensor.dtype).view(-1, 1, 1)
            std = torch.as_tensor(self.std, dtype=tensor.dtype).view(-1, 1, 1)
            return (tensor - mean) / std

    def gaussian_blur(*_args, **_kwargs):
        raise NotImplementedError("torchvision stand-in: gaussian_blur (sampling only) is not available")

    package = types.ModuleType("torchvision")
    transforms = types.ModuleType("torchvision.transforms")
    functional = types.ModuleType("torchvision.transforms.functional")
    functional.pil_to_tensor = pil_to_tensor
    functional.gaussian_blur = gaussian_blur
    transforms.Compose, transforms.ToTensor, transforms.Normalize = Compose, ToTensor, Normalize
    transforms.functional = functional
    package.transforms = transforms
    package.__version__ = "0.0+stand-in"
    for module in (package, transforms, functional):  # importlib.util.find_spec() needs a spec; no
        module.__spec__ = importlib.machinery.ModuleSpec(module.__name__, None)  # metadata: "not installed"
    sys.modules.update({"torchvision": package, "torchvision.transforms": transforms,
                        "torchvision.transforms.functional": functional})
    return True


def shrink_sd1_unet(channels: str) -> None:
    import library.original_unet as unet

    widths = tuple(int(c) for c in channels.split(","))
    unet.BLOCK_OUT_CHANNELS = widths
    unet.TIMESTEP_INPUT_DIM = widths[0]
    unet.TIME_EMBED_DIM = widths[0] * 4


def check(sdscripts: str) -> int:
    """Import what the SD1 and SDXL LoRA trainers import; print the versions that actually load."""
    sys.path.insert(0, sdscripts)
    stand_in = install_torchvision_stand_in()
    import accelerate
    import diffusers
    import huggingface_hub
    import tokenizers
    import torch
    import transformers

    import library.sdxl_train_util  # noqa: F401
    import library.train_util  # noqa: F401
    import networks.lora  # noqa: F401

    print(json.dumps({
        "torch": torch.__version__, "transformers": transformers.__version__, "diffusers": diffusers.__version__,
        "accelerate": accelerate.__version__, "huggingface_hub": huggingface_hub.__version__,
        "tokenizers": tokenizers.__version__, "torchvision_stand_in": stand_in,
        "transformers_from": os.path.dirname(os.path.dirname(transformers.__file__)),
    }))
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["--check"]:
        return check(argv[1])
    result_path, script, *script_args = argv
    import torch
    import tqdm

    cuda = torch.cuda.is_available()
    record: dict = {"stamps": [], "train_start": None, "device": "cuda" if cuda else "cpu",
                    "gpu": torch.cuda.get_device_name(0) if cuda else None, "torch": torch.__version__,
                    "launch_time": time.perf_counter(), "peak_before_train_gib": None, "peak_train_gib": None,
                    "torchvision_stand_in": install_torchvision_stand_in()}

    class TimedTqdm(tqdm.tqdm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._bench_timed = kwargs.get("desc") == "steps"  # train_network.py's training progress bar
            if self._bench_timed:
                if cuda:
                    torch.cuda.synchronize()
                    record["peak_before_train_gib"] = torch.cuda.max_memory_allocated() / 2**30
                    torch.cuda.reset_peak_memory_stats()
                record["train_start"] = time.perf_counter()

        def update(self, n=1):
            if getattr(self, "_bench_timed", False):
                if cuda:
                    torch.cuda.synchronize()
                record["stamps"].append(time.perf_counter())
            return super().update(n)

    tqdm.tqdm = TimedTqdm  # sd-scripts does `from tqdm import tqdm` when its modules load, after this

    def report() -> None:
        if cuda and record["train_start"] is not None:
            record["peak_train_gib"] = torch.cuda.max_memory_allocated() / 2**30
        record["exit_time"] = time.perf_counter()
        line = json.dumps(record)
        try:
            with open(result_path + ".tmp", "w", encoding="utf-8") as fh:
                fh.write(line)
            os.replace(result_path + ".tmp", result_path)
        finally:
            print(f"{MARKER} {line}", flush=True)

    atexit.register(report)
    if os.environ.get("SDSCRIPTS_BESIDE_UNET_CHANNELS"):
        sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
        shrink_sd1_unet(os.environ["SDSCRIPTS_BESIDE_UNET_CHANNELS"])
    sys.argv = [script, *script_args]
    sys.path[0] = os.path.dirname(os.path.abspath(script))  # as `python SCRIPT` would have it
    runpy.run_path(script, run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
