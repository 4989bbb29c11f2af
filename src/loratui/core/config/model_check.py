"""Is the base model a base model of the stated family? Read from headers only: no torch, no weights.

`loratui train` loads the model only after these checks (engine/run.py's preflight calls
``check_paths``, which calls ``base_model_problems``), and `loratui config check` asks the same
questions, so a random file, a truncated download, a LoRA given as a base model or an SDXL
checkpoint with ``model_family = "sd1"`` fails in a second, not after minutes of loading.

- ``.safetensors``: the 8-byte header length, the JSON header (key names, dtypes, shapes, data
  offsets) and the file size: a file shorter than its header says is truncated.
- ``.ckpt`` / ``.pt``: the torch zip archive's member list and its ``data.pkl`` (or a legacy
  pickle), read with ``pickletools`` (nothing is executed) for the key names.
- a diffusers folder: ``model_index.json`` / ``unet/config.json`` (base_model.py) and one weights
  file in each part.
The family rules are the engine's (``engine/models.py`` ``detect_family`` calls ``family_from_keys``).
"""

from __future__ import annotations

import io
import json
import math
import os
import pickletools
import struct
import zipfile
from pathlib import Path

from loratui.core.errors import LoratuiError

FAMILY_NAMES = {"sd1": "SD 1.x", "sd2": "SD 2.x", "sdxl": "SDXL"}
SINGLE_FILE_SUFFIXES = (".safetensors", ".ckpt")
_MAX_HEADER = 100_000_000  # safetensors refuses a longer header ("header too large"), so do loaders
_LORA_MARKERS = ("lora_unet_", "lora_te_", "lora_te1_", "lora_te2_")
_LORA_SUFFIXES = (".lora_down.weight", ".lora_up.weight", ".lora_A.weight", ".lora_B.weight", ".hada_w1_a",
                  ".lokr_w1", ".alpha")


def family_from_keys(keys) -> str:
    """sd1, sd2 or sdxl from a checkpoint's key names (original or diffusers layout); LoratuiError
    saying what the file is otherwise (a LoRA, the SDXL refiner, a UNet alone, something else)."""
    keys = list(keys)
    has = lambda prefix: any(k.startswith(prefix) for k in keys)  # noqa: E731
    if keys and sum(k.startswith(_LORA_MARKERS) or k.endswith(_LORA_SUFFIXES) for k in keys) > len(keys) // 2:
        raise LoratuiError("this is a LoRA (its tensors are lora_unet_* / lora_te_*), not a base model: set "
                           "pretrained_model_name_or_path to the checkpoint it was trained on (to go on training "
                           "this LoRA, set network.network_weights to it)")
    if has("conditioner.embedders.1.") or has("model.diffusion_model.label_emb.") or has("add_embedding."):
        if has("conditioner.embedders.0.model.") and not has("conditioner.embedders.1."):
            raise LoratuiError("this looks like the SDXL refiner, which loratui cannot train; use an SDXL base model")
        return "sdxl"
    if has("cond_stage_model.model."):
        return "sd2"
    if has("cond_stage_model.transformer."):
        return "sd1"
    if has("model.diffusion_model."):
        raise LoratuiError("the checkpoint has a UNet but no text encoder; loratui needs a full SD checkpoint")
    raise LoratuiError("the file is not a Stable Diffusion checkpoint (no UNet / text encoder weights found)")


def safetensors_keys(path: str | os.PathLike) -> list[str]:
    """Tensor names of a .safetensors file, after checking its header and that no tensor lies past the
    end of the file; LoratuiError naming the file and what is wrong."""
    return [k for k in safetensors_header(path) if k != "__metadata__"]


def _pickle_kind(head: bytes) -> str | None:
    """"zip archive" for torch.save's default format, "pickle" for a plain pickle, else None."""
    if head.startswith(b"PK\x03\x04"):
        return "zip archive"
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "pickle"
    return None


def safetensors_header(path: str | os.PathLike) -> dict:
    """The JSON header of a .safetensors file (tensor name -> dtype/shape/data_offsets, and
    ``__metadata__``), checked as safetensors_keys says."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            head = handle.read(8)
            if len(head) < 8:
                raise LoratuiError(f"{path}: not a .safetensors file ({size} bytes, too short for a header)")
            (length,) = struct.unpack("<Q", head)
            if length > min(_MAX_HEADER, size - 8):
                pickled = _pickle_kind(head)
                if pickled:
                    raise LoratuiError(f"{path}: a PyTorch {pickled} (.ckpt / .pt / .bin), not .safetensors: loratui "
                                       "reads only .safetensors (it runs no pickled code); use the .safetensors "
                                       "version of the file")
                if length <= size - 8 and handle.read(1) == b"{":  # a JSON header longer than loaders read
                    raise LoratuiError(f"{path}: its header is {length / 1e6:,.0f} MB, over the 100 MB limit of "
                                       "safetensors (huge metadata, e.g. ss_tag_frequency): ComfyUI, A1111/Forge, "
                                       "diffusers and sd-scripts refuse it too (\"header too large\"); get a copy "
                                       "saved with less metadata")
                raise LoratuiError(f"{path}: not a .safetensors file (the first 8 bytes do not give a header "
                                   f"length that fits the file): a different format, or damaged; download it again")
            raw = handle.read(length)
    except OSError as exc:
        raise LoratuiError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise LoratuiError(f"{path}: not a .safetensors file (its header is not JSON): damaged or another "
                           "format; download it again") from None
    if not isinstance(header, dict):
        raise LoratuiError(f"{path}: not a .safetensors file (its header is not a JSON object)")
    end = 0
    for name, info in header.items():
        if name == "__metadata__":
            if not isinstance(info, dict) or not all(isinstance(v, str) for v in info.values()):
                raise LoratuiError(f"{path}: damaged .safetensors header (__metadata__ is not a table of texts)")
            continue
        offsets = info.get("data_offsets") if isinstance(info, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)):
            raise LoratuiError(f"{path}: damaged .safetensors header (tensor {name!r} has no data_offsets)")
        _check_tensor(path, name, info, offsets)
        end = max(end, offsets[1])
    if 8 + length + end > size:
        need, have = 8 + length + end, size
        raise LoratuiError(f"{path}: truncated: its header describes {need:,} bytes, the file has {have:,} "
                           f"({have / need:.0%}): the download or copy was cut short; get the file again")
    return header


# bytes per element of the dtypes safetensors writes (sub-byte float formats: size not checked)
_DTYPE_BYTES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1, "I16": 2, "U16": 2,
                "F16": 2, "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8, "C64": 8,
                "F4": None, "F6_E2M3": None, "F6_E3M2": None}


# struct formats of the dtypes a one-number tensor (an alpha) is decoded from; BF16 is the top half of an F32
_SCALAR_FORMATS = {"F64": "<d", "F32": "<f", "F16": "<e", "I64": "<q", "U64": "<Q", "I32": "<i", "U32": "<I",
                   "I16": "<h", "U16": "<H", "I8": "<b", "U8": "<B", "BOOL": "<?"}


def _fp8(byte: int, exponent_bits: int) -> float:
    """One fp8 value by hand (core does not import torch): F8_E4M3 is OCP's e4m3fn (bias 7, no inf, NaN only at
    S.1111.111), F8_E5M2 is IEEE-like (bias 15, inf and NaN at exponent 31)."""
    mantissa_bits = 7 - exponent_bits
    bias = (1 << (exponent_bits - 1)) - 1
    sign = -1.0 if byte & 0x80 else 1.0
    exponent = (byte >> mantissa_bits) & ((1 << exponent_bits) - 1)
    mantissa = byte & ((1 << mantissa_bits) - 1)
    top = (1 << exponent_bits) - 1
    if exponent_bits == 4 and exponent == top and mantissa == (1 << mantissa_bits) - 1:
        return math.nan
    if exponent_bits == 5 and exponent == top:
        return sign * math.inf if mantissa == 0 else math.nan
    if exponent == 0:  # subnormal
        return sign * math.ldexp(mantissa, 1 - bias - mantissa_bits)
    return sign * math.ldexp((1 << mantissa_bits) + mantissa, exponent - bias - mantissa_bits)


# fp8 formats decoded by _fp8: dtype -> exponent bits
_FP8_EXPONENT_BITS = {"F8_E4M3": 4, "F8_E5M2": 5}


def safetensors_scalars(path: str | os.PathLike, header: dict, names) -> dict[str, float | None]:
    """The value of each named one-element tensor (0-d, [1], [1, 1], ...) of a file whose header
    ``safetensors_header`` read, from its few bytes (the rest of the file is not read); None for a
    tensor of several elements or of a dtype not decoded here (F8_E8M0, sub-byte floats)."""
    path = Path(path)
    out: dict[str, float | None] = {}
    try:
        with open(path, "rb") as handle:
            (length,) = struct.unpack("<Q", handle.read(8))
            for name in sorted(names, key=lambda n: header[n]["data_offsets"][0]):  # one pass forwards
                info = header[name]
                count = 1
                for n in info.get("shape", []):
                    count *= n
                dtype = info.get("dtype")
                if count != 1 or (dtype not in _SCALAR_FORMATS and dtype not in ("BF16", *_FP8_EXPONENT_BITS)):
                    out[name] = None
                    continue
                begin, end = info["data_offsets"]
                handle.seek(8 + length + begin)
                raw = handle.read(end - begin)
                if dtype in _FP8_EXPONENT_BITS:
                    if len(raw) != 1:
                        raise struct.error(f"{name}: {len(raw)} bytes for one fp8 value")
                    out[name] = _fp8(raw[0], _FP8_EXPONENT_BITS[dtype])
                    continue
                fmt, raw = ("<f", b"\0\0" + raw) if dtype == "BF16" else (_SCALAR_FORMATS[dtype], raw)
                out[name] = float(struct.unpack(fmt, raw)[0])
    except (OSError, struct.error) as exc:
        raise LoratuiError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    return out


def _check_tensor(path: Path, name: str, info: dict, offsets: list[int]) -> None:
    """What safetensors itself refuses when it loads: an unknown dtype, a shape that is not a list of
    sizes, data_offsets that do not hold exactly the tensor's bytes."""
    dtype, shape = info.get("dtype"), info.get("shape")
    if dtype not in _DTYPE_BYTES:
        raise LoratuiError(f"{path}: damaged .safetensors header (tensor {name!r} has an unknown dtype {dtype!r})")
    if not (isinstance(shape, list) and all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 1 << 40
                                            for n in shape)):
        raise LoratuiError(f"{path}: damaged .safetensors header (tensor {name!r} has the shape {shape!r})")
    count = 1
    for n in shape:
        count *= n
    size = _DTYPE_BYTES[dtype]
    if not 0 <= offsets[0] <= offsets[1] or size is not None and offsets[1] - offsets[0] != count * size:
        raise LoratuiError(f"{path}: damaged .safetensors header (tensor {name!r}: {dtype} {shape} does not fit "
                           f"its data_offsets {offsets})")


def _pickle_strings(stream, limit: int = 2_000_000) -> list[str]:
    """The string constants of a pickle, read without running it (pickletools only parses)."""
    out = []
    for count, (op, arg, _pos) in enumerate(pickletools.genops(stream)):
        if isinstance(arg, str) and op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8"):
            out.append(arg)
        if count > limit:
            break
    return out


def pickle_checkpoint_keys(path: str | os.PathLike) -> list[str]:
    """Key-like names of a torch .ckpt/.pt (zip archive or legacy pickle); LoratuiError if it is neither
    or is cut short."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise LoratuiError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        if magic.startswith(b"PK\x03\x04"):
            try:
                archive = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError):
                raise LoratuiError(f"{path}: truncated or damaged (a torch zip archive without its end): "
                                   "get the file again") from None
            with archive:
                pkl = [n for n in archive.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
                if not pkl:
                    raise LoratuiError(f"{path}: a zip archive, but not a torch checkpoint (no data.pkl)")
                return [s for s in _pickle_strings(io.BytesIO(archive.read(pkl[0]))) if "." in s]
        if magic[:1] == b"\x80" and 2 <= magic[1] <= 5:
            strings: list[str] = []
            with open(path, "rb") as handle:
                # torch's legacy format: magic number, protocol, sys info, then the state dict: 4 pickles
                for _ in range(4):
                    strings += _pickle_strings(handle)
            return [s for s in strings if "." in s]
    except LoratuiError:
        raise
    except Exception as exc:  # noqa: BLE001 - pickletools on a damaged stream: any parse error
        raise LoratuiError(f"{path}: truncated or damaged checkpoint ({type(exc).__name__}): get the file again") \
            from None
    raise LoratuiError(f"{path}: not a torch checkpoint (no zip or pickle signature): a different format, or "
                       "damaged; use a .safetensors or .ckpt base model")


def _folder_weights_problem(folder: Path, family: str) -> str | None:
    parts = ["unet", "vae", "text_encoder"] + (["text_encoder_2"] if family == "sdxl" else [])
    for part in parts:
        sub = folder / part
        weights = sorted(sub.glob("*.safetensors")) + sorted(sub.glob("*.bin")) if sub.is_dir() else []
        if not weights:
            return f"{sub}: no weights file (*.safetensors or *.bin): the model folder is incomplete; download it again"
        for file in weights:
            if file.suffix == ".safetensors" and not file.name.endswith(".index.json"):
                safetensors_keys(file)  # truncated or damaged: one line naming it
    return None


def detect_model_family(path: str | os.PathLike) -> str:
    """The family of a local base model (file or diffusers folder), from headers only.

    LoratuiError (one line naming the path) for anything `train` would refuse to load."""
    from loratui.core.config.base_model import model_folder_family

    path = Path(path)
    if path.is_dir():
        family = model_folder_family(path)
        problem = _folder_weights_problem(path, family)
        if problem:
            raise LoratuiError(problem)
        return family
    if not path.is_file():
        raise LoratuiError(f"{path} does not exist (give a diffusers folder or a .safetensors file)")
    suffix = path.suffix.lower()
    if suffix not in SINGLE_FILE_SUFFIXES:
        raise LoratuiError(f"{path}: unsupported model file type {suffix or '(none)'!r}; use a .safetensors or "
                           ".ckpt checkpoint, or a diffusers folder")
    keys = safetensors_keys(path) if suffix == ".safetensors" else pickle_checkpoint_keys(path)
    try:
        return family_from_keys(keys)
    except LoratuiError as exc:
        raise LoratuiError(f"{path}: {exc}") from None


def base_model_problems(cfg) -> list[str]:
    """What `train` would refuse about the base model: unreadable, not a base model, another family."""
    from loratui.core.config.load import resolve_path

    value = cfg.model.pretrained_model_name_or_path
    if not value:
        return []
    resolved = resolve_path(cfg, value, key="pretrained_model_name_or_path")
    if not os.path.exists(resolved):
        return []  # check_paths names a missing file or a repo id not downloaded yet
    try:
        family = detect_model_family(resolved)
    except LoratuiError as exc:
        return [f"pretrained_model_name_or_path: {exc}"]
    requested = cfg.model.model_family
    if requested not in ("", "auto") and requested != family:
        return [f"model.model_family is {requested!r} but {resolved} is an {FAMILY_NAMES[family]} model; "
                f"set model_family = \"auto\" or \"{family}\""]
    return []
