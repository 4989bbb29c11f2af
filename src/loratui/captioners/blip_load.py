"""Finding and checking BLIP / BLIP-2 / GIT model folders before transformers sees them.

transformers' own errors for a wrong or incomplete folder are long and name internals; these checks
turn each problem into one line naming the folder and the missing piece. A hub id is downloaded into
the usual Hugging Face cache (huggingface_hub's progress bars on stderr) only when it is not a local
folder; offline that is one line saying what to do.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from loratui.captioners.weight_check import WEIGHT_FILES, weights_problem
from loratui.core.errors import LoratuiError

# kind -> (config.json model_type values, the transformers class that captions)
KINDS: dict[str, tuple[tuple[str, ...], str]] = {
    "blip": (("blip",), "BlipForConditionalGeneration"),
    "blip2": (("blip-2", "blip_2"), "Blip2ForConditionalGeneration"),
    "git": (("git",), "GitForCausalLM"),
}
_KIND_ALIASES = {"blip-2": "blip2", "blip_2": "blip2"}
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model", "tokenizer.model")
_DOWNLOAD_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.model"]
# safetensors' and torch's words for a damaged or cut-short weight file
_DAMAGED_MARKERS = ("deserializing header", "incomplete metadata", "central directory", "PytorchStreamReader")


def _first_line(exc: BaseException, limit: int = 160) -> str:
    text = str(exc).strip().splitlines()
    return (text[0][:limit] if text else "") or type(exc).__name__


def resolve_model_dir(model: str | os.PathLike) -> Path:
    """A local folder as is; a hub id (owner/name) that is not a local path is downloaded."""
    text = os.fspath(model)
    path = Path(text).expanduser()
    if path.is_dir():
        return path
    if path.exists():
        raise LoratuiError(f"model {text}: is a file; pass the folder that holds config.json and the weights")
    looks_like_path = text.startswith((".", "/", "~", "\\")) or os.sep + os.sep in text or ":" in text
    if _HUB_ID.match(text) and not looks_like_path:
        return download_model(text)
    raise LoratuiError(f"model folder {text} does not exist (pass a local Hugging Face folder or a hub id such as "
                       f"Salesforce/blip-image-captioning-large)")


def _has_weights(folder: Path) -> bool:
    return any((folder / name).is_file() for name in WEIGHT_FILES)


def download_model(repo_id: str) -> Path:
    """snapshot_download the config, weights, processor and tokenizer files of a hub repo (cached)."""
    manual = (f"download it while online (`hf download {repo_id} --local-dir DIR`) and pass --model DIR, "
              f"or pass another local folder")
    try:
        import huggingface_hub
        from huggingface_hub import snapshot_download
    except ImportError:
        raise LoratuiError(f"model {repo_id}: not a local folder and huggingface_hub is not installed; {manual}") from None
    errors = getattr(huggingface_hub, "errors", None)
    gated = getattr(errors, "GatedRepoError", ())
    missing = getattr(errors, "RepositoryNotFoundError", ())
    try:
        path = Path(snapshot_download(repo_id, allow_patterns=_DOWNLOAD_PATTERNS))
        if not _has_weights(path):  # older repos ship only pytorch_model.bin
            path = Path(snapshot_download(repo_id, allow_patterns=_DOWNLOAD_PATTERNS + ["pytorch_model*.bin"]))
    except gated:  # type: ignore[misc]
        raise LoratuiError(f"model {repo_id}: the repository is gated; accept its terms on huggingface.co and log in "
                           f"(`hf auth login`), or {manual}") from None
    except missing:  # type: ignore[misc]
        raise LoratuiError(f"model {repo_id}: not a local folder and no such repository on the Hugging Face hub "
                           f"(private repos need `hf auth login`)") from None
    except Exception as exc:  # noqa: BLE001 - offline, DNS, proxy, HF_HUB_OFFLINE: the same advice
        reason = "HF_HUB_OFFLINE is set and it is not in the cache" if _offline() else _first_line(exc)
        raise LoratuiError(f"model {repo_id}: not a local folder and cannot be downloaded from the Hugging Face hub "
                           f"({reason}); {manual}") from None
    return path


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def read_config(folder: Path) -> dict[str, Any]:
    config = folder / "config.json"
    if not config.is_file():
        hint = "; a folder with model.onnx is a WD14 tagger: use `loratui caption wd14`" \
            if (folder / "model.onnx").is_file() else ""
        raise LoratuiError(f"model folder {folder}: no config.json, so not a Hugging Face transformers model folder "
                           f"(BLIP, BLIP-2 or GIT){hint}")
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LoratuiError(f"{config}: unreadable ({_first_line(exc)}); download it again") from None
    if not isinstance(data, dict):
        raise LoratuiError(f"{config}: not a model config (expected a JSON object)")
    return data


def detect_kind(folder: Path, kind: str = "auto") -> str:
    """"blip", "blip2" or "git" from config.json's model_type; a mismatch with ``kind`` is an error."""
    wanted = _KIND_ALIASES.get((kind or "auto").lower(), (kind or "auto").lower())
    if wanted != "auto" and wanted not in KINDS:
        raise LoratuiError(f"kind {kind!r}: expected auto, blip, blip2 or git")
    config = read_config(folder)
    model_type = str(config.get("model_type", ""))
    found = next((k for k, (types, _) in KINDS.items() if model_type in types), None)
    if found is None:
        what = f"model_type {model_type!r}" if model_type else "no model_type"
        raise LoratuiError(f"{folder / 'config.json'}: {what}; the blip captioner takes BLIP, BLIP-2 or GIT "
                           f"captioning models (model_type blip, blip-2 or git)")
    if wanted != "auto" and wanted != found:
        raise LoratuiError(f"model folder {folder}: holds a {found} model (model_type {model_type!r}), not {wanted}; "
                           f"drop the kind or pass kind={found}")
    expected = KINDS[found][1]
    architectures = config.get("architectures") or []
    if architectures and expected not in architectures:
        raise LoratuiError(f"model folder {folder}: holds a {architectures[0]}, not a captioning model ({expected}); "
                           f"use a captioning checkpoint such as Salesforce/blip-image-captioning-large")
    return found


def check_folder(folder: Path, kind: str) -> None:
    """Weights (each file whole: weight_check), image-processor settings and tokenizer files are there
    (names the first missing or damaged piece)."""
    problem = weights_problem(folder)
    if problem is not None:
        raise LoratuiError(problem[0])
    if not (folder / "preprocessor_config.json").is_file() and not _processor_has_images(folder):
        raise LoratuiError(f"model folder {folder}: no preprocessor_config.json (the image processor settings); "
                           f"copy it from the model's hub repo")
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        raise LoratuiError(f"model folder {folder}: no tokenizer files (tokenizer.json, vocab.txt, vocab.json + "
                           f"merges.txt or spiece.model); copy them from the model's hub repo")
    if (folder / "vocab.json").is_file() and not (folder / "tokenizer.json").is_file() \
            and not (folder / "merges.txt").is_file():
        raise LoratuiError(f"model folder {folder}: vocab.json without merges.txt (the tokenizer's merges); "
                           f"copy it from the model's hub repo")


def _processor_has_images(folder: Path) -> bool:
    """transformers 5 may save the image processor inside processor_config.json."""
    path = folder / "processor_config.json"
    if not path.is_file():
        return False
    try:
        return isinstance(json.loads(path.read_text(encoding="utf-8")).get("image_processor"), dict)
    except (OSError, ValueError, AttributeError):
        return False


def load_parts(folder: Path, kind: str, dtype_name: str, warn=None) -> tuple[Any, Any, Any]:
    """(model on the CPU in ``dtype_name``, image processor, tokenizer), all from local files only.

    transformers' own load report is silenced; tensors missing from the checkpoint are one error
    line when most are (the wrong checkpoint) and one ``warn`` line otherwise.
    """
    import torch
    import transformers

    from transformers.utils import logging as hf_logging

    cls = getattr(transformers, KINDS[kind][1])
    bars = hf_logging.is_progress_bar_enabled()
    verbosity = hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()  # a local load takes a second; its bar is noise beside the run's own
    hf_logging.set_verbosity_error()  # its multi-line load report: what matters is said below, in one line
    try:
        model, info = cls.from_pretrained(folder, dtype=getattr(torch, dtype_name), local_files_only=True,
                                          output_loading_info=True)
    except Exception as exc:  # noqa: BLE001 - corrupt or mismatched weights: one line, not a traceback
        damaged = any(marker in str(exc) for marker in _DAMAGED_MARKERS)  # what check_folder could not see
        advice = "; a weight file is damaged or cut short: copy or download the weights again" if damaged else ""
        raise LoratuiError(f"model folder {folder}: cannot load the {kind} weights ({_first_line(exc)}){advice}") \
            from None
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
    missing = sorted(info.get("missing_keys") or [])
    total = sum(1 for _ in model.state_dict())
    if missing and len(missing) * 2 > total:  # mostly random weights: the wrong checkpoint for this class
        raise LoratuiError(f"model folder {folder}: the weights do not fit {KINDS[kind][1]} ({len(missing)} of "
                           f"{total} tensors missing, e.g. {missing[0]})")
    if missing and warn is not None:
        warn(f"model folder {folder}: {len(missing)} of {total} tensors are missing from the checkpoint (e.g. "
             f"{missing[0]}); they start random, so captions may be poor: check that the download is complete")
    try:
        image_processor = transformers.AutoImageProcessor.from_pretrained(folder, local_files_only=True)
    except Exception as exc:  # noqa: BLE001
        raise LoratuiError(f"model folder {folder}: cannot load the image processor ({_first_line(exc)})") from None
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True)
    except Exception as exc:  # noqa: BLE001
        raise LoratuiError(f"model folder {folder}: cannot load the tokenizer ({_first_line(exc)})") from None
    return model, image_processor, tokenizer
