"""sd-scripts' sample prompt file, read and checked without torch.

As sd-scripts' ``load_prompts`` (library/train_util.py) reads it, by its suffix:
- ``.toml``: ``[prompt]`` holds what every prompt shares, each ``[[prompt.subset]]`` one prompt; a key may
  be in one of the two, not both (sd-scripts merges them with ``dict(**prompt, **subset)``, which refuses that).
- ``.json``: a list; each item a prompt line (a string, as below) or an object with sd-scripts' keys.
- anything else (``.txt``): one prompt per line; blank lines and lines starting with ``#`` are skipped.
  Options after the prompt: ``--n`` negative prompt, ``--w``/``--h`` size, ``--d`` seed, ``--s`` steps,
  ``--l`` CFG scale, ``--ss`` sampler.
A prompt without a size renders at 512x512 (sd-scripts' ``prompt_dict.get("width", 512)``), whatever the
training resolution. `loratui config check` and the preflight of `train` read the file here, so a bad
prompt is refused before a model is loaded (engine/sampling.py renders what this returns).
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from loratui.core.config.kohya_keys import SAMPLER_ALIASES
from loratui.core.errors import LoratuiError

_OPTIONS = {  # sd-scripts' option regexes: "--w 512" etc., case-insensitive, value up to the next " --"
    "w": re.compile(r"^w\s+(\d+)$", re.I), "h": re.compile(r"^h\s+(\d+)$", re.I),
    "d": re.compile(r"^d\s+(\d+)$", re.I), "s": re.compile(r"^s\s+(\d+)$", re.I),
    "l": re.compile(r"^l\s+([\d.]+)$", re.I), "n": re.compile(r"^n\s+(.*)$", re.I | re.S),
    "ss": re.compile(r"^ss\s+(\S+)$", re.I),
}
MAX_SAMPLE_SIZE = 4096  # a side; SDXL samples are 1024, a 100000-wide one would only run out of memory
MAX_SEED = 2**63 - 1
SD_SCRIPTS_SAMPLE_SIZE = (512, 512)  # sd-scripts' size for a prompt without --w/--h (sample_image_inference)

# every name sd-scripts' get_my_scheduler knows (its --sample_sampler choices, and ddpm, which it still
# builds) -> the diffusers class it builds; the k_ names are the same samplers
SCHEDULER_CLASSES = {
    "ddim": "DDIMScheduler", "pndm": "PNDMScheduler", "lms": "LMSDiscreteScheduler",
    "euler": "EulerDiscreteScheduler", "euler_a": "EulerAncestralDiscreteScheduler", "heun": "HeunDiscreteScheduler",
    "dpm_2": "KDPM2DiscreteScheduler", "dpm_2_a": "KDPM2AncestralDiscreteScheduler",
    "dpmsolver": "DPMSolverMultistepScheduler", "dpmsolver++": "DPMSolverMultistepScheduler",
    "dpmsingle": "DPMSolverSinglestepScheduler", "k_lms": "LMSDiscreteScheduler",
    "k_euler": "EulerDiscreteScheduler", "k_euler_a": "EulerAncestralDiscreteScheduler",
    "k_dpm_2": "KDPM2DiscreteScheduler", "k_dpm_2_a": "KDPM2AncestralDiscreteScheduler", "ddpm": "DDPMScheduler",
}
# the keys of a .toml / .json prompt sd-scripts reads (sample_image_inference), -> the option they stand for
PROMPT_KEYS = {"prompt": "prompt", "negative_prompt": "n", "width": "w", "height": "h", "seed": "d",
               "sample_steps": "s", "scale": "l", "sample_sampler": "ss"}
# keys sd-scripts reads for other pipelines (FLUX, SD3, ControlNet) or adds itself: ignored here, as its SD/SDXL
# sampling ignores them
OTHER_SD_SCRIPTS_KEYS = {"guidance_scale", "controlnet_image", "cfg_trunc_ratio", "renorm_cfg", "flow_shift", "enum"}


@dataclass
class SamplePrompt:
    prompt: str
    negative: str = ""
    width: int = 512
    height: int = 512
    seed: int | None = None
    steps: int = 30
    scale: float = 7.5
    sampler: str | None = None


def parse_prompt_line(line: str, default_size: tuple[int, int] = SD_SCRIPTS_SAMPLE_SIZE,
                      where: str = "prompt") -> SamplePrompt:
    """One prompt line the way sd-scripts reads it: split at " --", the first part is the prompt, each
    other part one option; unknown options are ignored (as sd-scripts does) and sizes are rounded
    down to a multiple of 8 (at least 64, at most MAX_SAMPLE_SIZE)."""
    parts = line.strip().split(" --")
    prompt = SamplePrompt(parts[0].strip(), width=default_size[0], height=default_size[1])
    for part in parts[1:]:
        part = part.strip()
        for key, pattern in _OPTIONS.items():
            m = pattern.match(part)
            if not m:
                continue
            value = m.group(1).strip()
            try:
                _set(prompt, key, value)
            except ValueError:
                raise LoratuiError(f"{where}: --{key} needs a number, got {value!r}") from None
            break
        else:
            word = part.split(maxsplit=1)[0].lower() if part else ""
            if re.fullmatch(r"d\s+-1", part, re.I):  # "random" in many UIs: sd-scripts' d (\d+) skips it too
                continue
            if word in _OPTIONS:
                raise LoratuiError(f"{where}: --{word} needs a value like sd-scripts' (e.g. --w 512, --l 7.5), "
                                   f"got {part!r}")
    return _checked(prompt, where)


def _set(prompt: SamplePrompt, key: str, value) -> None:
    """One option's value (a string from a line, or a TOML/JSON value already of its type) onto ``prompt``."""
    if key == "n":
        prompt.negative = value
    elif key == "w":
        prompt.width = int(value)
    elif key == "h":
        prompt.height = int(value)
    elif key == "d":
        prompt.seed = int(value)
    elif key == "s":
        prompt.steps = max(1, min(1000, int(value)))
    elif key == "l":
        prompt.scale = float(value)
    elif key == "ss":
        prompt.sampler = SAMPLER_ALIASES.get(value.lower(), value.lower())  # k_euler_a is euler_a


def _checked(prompt: SamplePrompt, where: str, named=lambda key: f"--{key}") -> SamplePrompt:
    """The checks every prompt gets, however it was written; ``named`` names an option as its file does."""
    if prompt.sampler is not None and prompt.sampler not in SCHEDULER_CLASSES:
        raise LoratuiError(f"{where}: unknown sampler {named('ss')} {prompt.sampler}: use one of "
                           f"{', '.join(SCHEDULER_CLASSES)}")
    for key, size in (("w", prompt.width), ("h", prompt.height)):
        if size > MAX_SAMPLE_SIZE:
            raise LoratuiError(f"{where}: {named(key)} {size} is too large (at most {MAX_SAMPLE_SIZE} pixels): "
                               "samples are usually the training resolution")
        if size < 0:
            raise LoratuiError(f"{where}: {named(key)} {size} is negative: give a size in pixels, like 512")
    if prompt.seed == -1:  # a TOML/JSON seed of -1: no seed given, as on a prompt line
        prompt.seed = None
    if prompt.seed is not None and prompt.seed > MAX_SEED:
        raise LoratuiError(f"{where}: {named('d')} {prompt.seed} is too large for a seed (at most {MAX_SEED})")
    if prompt.seed is not None and prompt.seed < 0:
        raise LoratuiError(f"{where}: {named('d')} {prompt.seed} is negative: a seed is 0 to {MAX_SEED}")
    prompt.width = max(64, prompt.width - prompt.width % 8)
    prompt.height = max(64, prompt.height - prompt.height % 8)
    return prompt


_KEY_OF_OPTION = {option: key for key, option in PROMPT_KEYS.items()}
_TYPES = {"prompt": (str,), "n": (str,), "w": (int,), "h": (int,), "d": (int,), "s": (int,), "l": (int, float),
          "ss": (str,)}
_WANTED = {str: "text in quotes", int: "a whole number", float: "a number"}


def prompt_from_mapping(values: dict, default_size: tuple[int, int], where: str) -> SamplePrompt:
    """One prompt of a .toml or .json file (sd-scripts' keys: prompt, negative_prompt, width, height, seed,
    sample_steps, scale, sample_sampler). A value of the wrong type, a missing prompt or a key sd-scripts
    does not know is refused by name (a misspelt key would otherwise be ignored, as sd-scripts ignores it)."""
    for key in values:
        if key not in PROMPT_KEYS and key not in OTHER_SD_SCRIPTS_KEYS:
            close = difflib.get_close_matches(str(key), list(PROMPT_KEYS), n=1, cutoff=0.5)
            hint = f"did you mean {close[0]}? " if close else ""
            raise LoratuiError(f"{where}: unknown key {key!r}: {hint}sd-scripts reads "
                               f"{', '.join(PROMPT_KEYS)}")
    text = values.get("prompt")
    if not isinstance(text, str) or not text.strip():
        raise LoratuiError(f"{where}: no prompt: give each prompt a prompt = \"...\" text")
    prompt = SamplePrompt(text.strip(), width=default_size[0], height=default_size[1])
    for key, option in PROMPT_KEYS.items():
        value = values.get(key)
        if key == "prompt" or value is None:
            continue
        kinds = _TYPES[option]
        if isinstance(value, bool) or not isinstance(value, kinds):
            raise LoratuiError(f"{where}: {key} must be {_WANTED[kinds[-1]]}, not {json.dumps(value)}")
        _set(prompt, option, value)
    return _checked(prompt, where, named=lambda option: _KEY_OF_OPTION[option])


def _toml_prompts(path: Path, text: str, default_size: tuple[int, int]) -> list[SamplePrompt]:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LoratuiError(f"sampling.sample_prompts: {path} is not valid TOML ({exc})") from None
    shared = doc.get("prompt")
    subsets = shared.get("subset") if isinstance(shared, dict) else None
    if not isinstance(subsets, list) or not all(isinstance(s, dict) for s in subsets):
        raise LoratuiError(f"sampling.sample_prompts: {path} needs sd-scripts' layout: a [prompt] table and one "
                           "[[prompt.subset]] table per prompt")
    shared = {k: v for k, v in shared.items() if k != "subset"}
    prompts = []
    for n, subset in enumerate(subsets, 1):
        where = f"{path}: [[prompt.subset]] {n}"
        both = sorted(set(shared) & set(subset))
        if both:
            raise LoratuiError(f"{where} sets {', '.join(both)}, which [prompt] sets too: sd-scripts refuses a key "
                               "in both; keep it in one of them")
        prompts.append(prompt_from_mapping({**shared, **subset}, default_size, where))
    return prompts


def _json_prompts(path: Path, text: str, default_size: tuple[int, int]) -> list[SamplePrompt]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LoratuiError(f"sampling.sample_prompts: {path}, line {exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(doc, list):
        raise LoratuiError(f"sampling.sample_prompts: {path} must hold a JSON list of prompts (each a prompt line "
                           "or an object with prompt, width, ...)")
    prompts = []
    for n, item in enumerate(doc, 1):
        where = f"{path}: prompt {n}"
        if isinstance(item, str):
            prompts.append(parse_prompt_line(item, default_size, where))
        elif isinstance(item, dict):
            prompts.append(prompt_from_mapping(item, default_size, where))
        else:
            raise LoratuiError(f"{where} is {json.dumps(item)}: give a prompt line (text) or an object with "
                               "prompt, width, ...")
    return prompts


def parse_prompts(path: str | Path, default_size: tuple[int, int] = SD_SCRIPTS_SAMPLE_SIZE) -> list[SamplePrompt]:
    """Every prompt of the file (.toml, .json, else text lines); LoratuiError naming the file (and line or
    prompt) for anything unusable. ``default_size``: a prompt's size when it gives none (sd-scripts: 512x512)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise LoratuiError(f"sampling.sample_prompts: {path} does not exist") from None
    except IsADirectoryError:
        raise LoratuiError(f"sampling.sample_prompts: {path} is a folder, not a prompt file") from None
    except OSError as exc:
        raise LoratuiError(f"sampling.sample_prompts: {path}: cannot read ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise LoratuiError(f"sampling.sample_prompts: {path}, line {line}: not UTF-8 text; save the file as "
                           "UTF-8") from None
    suffix = path.suffix.lower()
    if suffix == ".toml":
        prompts = _toml_prompts(path, text, default_size)
    elif suffix == ".json":
        prompts = _json_prompts(path, text, default_size)
    else:
        prompts = [parse_prompt_line(line, default_size, f"{path}:{n}") for n, line in enumerate(text.splitlines(), 1)
                   if line.strip() and not line.lstrip().startswith("#")]
    if not prompts:
        raise LoratuiError(f"sampling.sample_prompts: {path} has no prompts"
                           + (" (one per line)" if suffix not in (".toml", ".json") else ""))
    return prompts
