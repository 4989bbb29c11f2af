"""BLIP, BLIP-2 and GIT captioners (transformers): one sentence per image.

``load_blip_captioner(model, ...)`` takes a local Hugging Face folder (or a hub id, downloaded with
huggingface_hub when online) and returns a ``Captioner`` for the shared runner:

- ``prepare`` (decode threads) composites transparency on white and runs the model's own image
  processor; it never touches the model, so it is safe to call from many threads.
- ``run`` stacks the prepared arrays and calls ``generate`` under ``torch.inference_mode``.

Generation options follow kohya_ss' BLIP captioning: beam search (``num_beams``) *or* nucleus
sampling (``top_p``, pure nucleus: top_k disabled), min/max length, repetition penalty, prefix and
postfix. Lengths count generated tokens only (not BLIP-2's query tokens or the bos token), so the
same numbers mean the same thing for all three families.

Precision: ``auto`` is bf16 on a GPU that supports it (fp16 otherwise) and fp32 on the CPU. fp16 on
the CPU is refused with a clear message (slow, and some CPU kernels lack it): use fp32 or bf16.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from loratui.captioners.blip_load import check_folder, detect_kind, resolve_model_dir
from loratui.captioners.option_rules import device_problem
from loratui.captioners.output import LeadingText
from loratui.core.errors import LoratuiError

_DTYPES = {"fp32": "float32", "float32": "float32", "float": "float32",
           "fp16": "float16", "float16": "float16", "half": "float16",
           "bf16": "bfloat16", "bfloat16": "bfloat16"}
_SHORT = {"float32": "fp32", "float16": "fp16", "bfloat16": "bf16"}
_POSTFIX_GLUE = re.compile(r"^[\s,.;:!?)]")


def resolve_device(device: str = "auto") -> str:
    """"auto" -> "cuda:N" when torch sees a GPU, else "cpu"; a malformed name (``cuda:x``) or an
    unavailable GPU is a clear error."""
    problem = device_problem(device or "")  # the form's rule too: checked before anything parses it
    if problem:
        raise LoratuiError(f"--device {problem}")
    import torch

    device = (device or "auto").strip().lower()
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise LoratuiError(f"device {device}: torch sees no CUDA GPU (CPU-only torch build or no driver); "
                               f"use --device cpu")
        index = int(device.split(":", 1)[1]) if ":" in device else torch.cuda.current_device()
        if index >= torch.cuda.device_count():
            raise LoratuiError(f"device {device}: only {torch.cuda.device_count()} CUDA device(s) visible")
        return f"cuda:{index}"
    if device == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise LoratuiError("device mps: the Metal backend is not available here; use --device cpu")
        return device
    return device  # "cpu": device_problem let nothing else through


def resolve_dtype(dtype: str, device: str) -> str:
    """The torch dtype name to load with ("float32", "float16", "bfloat16")."""
    import torch

    key = (dtype or "auto").strip().lower()
    if key == "auto":
        if device.startswith("cuda"):
            return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        return "float32"
    if key not in _DTYPES:
        raise LoratuiError(f"precision {dtype!r}: expected auto, fp32, fp16 or bf16")
    name = _DTYPES[key]
    if name == "float16" and device == "cpu":
        raise LoratuiError("precision fp16 runs on a GPU only; on the CPU use fp32 (default) or bf16")
    return name


def generation_kwargs(*, num_beams: int = 1, top_p: float | None = None, min_length: int = 5,
                      max_length: int = 75, repetition_penalty: float = 1.0) -> dict[str, Any]:
    """The keyword arguments given to ``generate`` (validated; every problem is one clear line)."""
    if int(num_beams) < 1:
        raise LoratuiError(f"num_beams {num_beams}: must be 1 (greedy) or more (beam search)")
    if int(max_length) < 1:
        raise LoratuiError(f"max_length {max_length}: must be at least 1 token")
    if int(min_length) < 0:
        raise LoratuiError(f"min_length {min_length}: must be 0 or more tokens")
    if not float(repetition_penalty) > 0:
        raise LoratuiError(f"repetition_penalty {repetition_penalty}: must be above 0 (1.0 = no penalty)")
    # min above max (say --max-length 4 with the default min 5) means "short": max wins
    kwargs: dict[str, Any] = {"min_new_tokens": min(int(min_length), int(max_length)), "max_new_tokens": int(max_length),
                              "repetition_penalty": float(repetition_penalty)}
    if top_p is not None:
        if not 0 < float(top_p) <= 1:
            raise LoratuiError(f"top_p {top_p}: must be in (0, 1]")
        if int(num_beams) > 1:
            raise LoratuiError("choose beam search (num_beams > 1) or nucleus sampling (top_p), not both")
        # pure nucleus sampling: top_k=0 switches off the top-50 cut a model's generation_config may carry
        kwargs.update(do_sample=True, top_p=float(top_p), top_k=0, num_beams=1)
    else:
        kwargs.update(do_sample=False, num_beams=int(num_beams))
    return kwargs


def join_caption(text: str, prefix: str = "", postfix: str = "") -> str:
    """prefix + text + postfix with one space between, unless the pieces carry their own glue.

    "ohwx, " + "a cat" -> "ohwx, a cat"; "a cat" + ", masterpiece" -> "a cat, masterpiece"."""
    out = " ".join(text.split())  # a caption is one line: no newlines from the tokenizer
    if prefix:
        out = prefix + ("" if not out or prefix[-1].isspace() else " ") + out
    if postfix:
        out = out + ("" if not out or _POSTFIX_GLUE.match(postfix) else " ") + postfix
    return out.strip()


def composite_rgb(image):
    """RGB as the model expects: transparency composited on white (like the WD14 path)."""
    from PIL import Image

    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "P", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


class BlipCaptioner:
    """A loaded BLIP/BLIP-2/GIT model with its image processor and tokenizer (see the module docs)."""

    def __init__(self, *, name: str, model: Any, image_processor: Any, tokenizer: Any, device: str, dtype: str,
                 batch_size: int, gen_kwargs: dict[str, Any], prefix: str = "", postfix: str = "",
                 model_dir: Path | None = None):
        self.name = name
        self.model = model
        self.image_processor = image_processor
        self.tokenizer = tokenizer
        self.device = device
        self.dtype = dtype
        self.batch_size = max(1, int(batch_size))
        self.gen_kwargs = dict(gen_kwargs)
        self.prefix = prefix
        self.postfix = postfix
        self.model_dir = model_dir
        self.provider = f"{device} {_SHORT.get(dtype, dtype)}"

    def prepare(self, image) -> np.ndarray:
        """One image -> float32 CHW pixel values (thread-safe: no model, no shared state written)."""
        out = self.image_processor(images=composite_rgb(image), return_tensors="np")
        return np.asarray(out["pixel_values"][0], dtype=np.float32)

    def _prompt(self, batch: int):
        """(input_ids or None, number of leading output tokens that are prompt, not caption)."""
        import torch

        config = self.model.config
        if self.name == "blip":  # BLIP builds [bos] itself and returns it in front of the caption
            return None, 1
        if self.name == "blip2":
            if config.image_token_index is None:
                raise LoratuiError(f"{self.model_dir}: config.json has no image_token_index (an old BLIP-2 export); "
                                   f"download the current version of the model")
            if self.model.language_model.config.is_encoder_decoder:  # flan-t5: output is the decoder only
                return None, 0
            return None, int(config.num_query_tokens) + 1  # image tokens + bos come back in front
        bos = config.bos_token_id if config.bos_token_id is not None else self.tokenizer.cls_token_id
        return torch.full((batch, 1), int(bos), dtype=torch.long, device=self.device), 1

    def run(self, batch: list[np.ndarray]) -> list[str]:
        import torch

        if not batch:
            return []
        pixels = torch.from_numpy(np.stack(batch)).to(self.device, dtype=getattr(torch, self.dtype))
        input_ids, skip = self._prompt(len(batch))
        kwargs = dict(self.gen_kwargs)
        if input_ids is not None:
            kwargs["input_ids"] = input_ids
        with torch.inference_mode():
            output = self.model.generate(pixel_values=pixels, **kwargs)
        texts = self.tokenizer.batch_decode(output[:, skip:], skip_special_tokens=True)
        # marked with the prefix: an append puts it first too (a trigger word leads the caption)
        return [LeadingText(join_caption(t, self.prefix, self.postfix), self.prefix) for t in texts]


def load_blip_captioner(model: str | os.PathLike, *, kind: str = "auto", device: str = "auto", dtype: str = "auto",
                        batch_size: int = 8, num_beams: int = 1, top_p: float | None = None, min_length: int = 5,
                        max_length: int = 75, repetition_penalty: float = 1.0, prefix: str = "",
                        postfix: str = "", warn=None) -> BlipCaptioner:
    """Load a BLIP / BLIP-2 / GIT captioner; every loading problem is one LoratuiError line."""
    gen_kwargs = generation_kwargs(num_beams=num_beams, top_p=top_p, min_length=min_length, max_length=max_length,
                                   repetition_penalty=repetition_penalty)
    if int(batch_size) < 1:
        raise LoratuiError(f"batch_size {batch_size}: must be at least 1")
    folder = resolve_model_dir(model)
    kind = detect_kind(folder, kind)
    check_folder(folder, kind)
    device = resolve_device(device)
    dtype_name = resolve_dtype(dtype, device)

    from loratui.captioners.blip_load import load_parts

    net, image_processor, tokenizer = load_parts(folder, kind, dtype_name, warn=warn)
    net.to(device)
    net.eval()
    return BlipCaptioner(name=kind, model=net, image_processor=image_processor, tokenizer=tokenizer, device=device,
                         dtype=dtype_name, batch_size=batch_size, gen_kwargs=gen_kwargs, prefix=prefix,
                         postfix=postfix, model_dir=folder)
