"""sd-scripts' sample prompt file, read and checked without torch.

One prompt per line; blank lines and lines starting with ``#`` are skipped. Options after the
prompt, as in sd-scripts: ``--n`` negative prompt, ``--w``/``--h`` size, ``--d`` seed, ``--s``
steps, ``--l`` CFG scale, ``--ss`` sampler. `loratui config check` and the preflight of `train`
read the file here, so a bad line is refused before a model is loaded (engine/sampling.py renders
what this returns).
"""

from __future__ import annotations

import re
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

SCHEDULER_CLASSES = {
    "ddim": "DDIMScheduler", "pndm": "PNDMScheduler", "lms": "LMSDiscreteScheduler",
    "euler": "EulerDiscreteScheduler", "euler_a": "EulerAncestralDiscreteScheduler", "heun": "HeunDiscreteScheduler",
    "dpm_2": "KDPM2DiscreteScheduler", "dpm_2_a": "KDPM2AncestralDiscreteScheduler",
    "dpmsolver": "DPMSolverMultistepScheduler", "dpmsolver++": "DPMSolverMultistepScheduler", "ddpm": "DDPMScheduler",
}


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


def parse_prompt_line(line: str, default_size: tuple[int, int] = (512, 512), where: str = "prompt") -> SamplePrompt:
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
                    prompt.sampler = SAMPLER_ALIASES.get(value.lower(), value.lower())
            except ValueError:
                raise LoratuiError(f"{where}: --{key} needs a number, got {value!r}") from None
            break
        else:
            word = part.split(maxsplit=1)[0].lower() if part else ""
            if word in _OPTIONS:
                raise LoratuiError(f"{where}: --{word} needs a value like sd-scripts' (e.g. --w 512, --l 7.5), "
                                   f"got {part!r}")
    if prompt.sampler is not None and prompt.sampler not in SCHEDULER_CLASSES:
        raise LoratuiError(f"{where}: unknown sampler --ss {prompt.sampler}: use one of "
                           f"{', '.join(SCHEDULER_CLASSES)}")
    for key, size in (("w", prompt.width), ("h", prompt.height)):
        if size > MAX_SAMPLE_SIZE:
            raise LoratuiError(f"{where}: --{key} {size} is too large (at most {MAX_SAMPLE_SIZE} pixels): "
                               "samples are usually the training resolution")
    if prompt.seed is not None and prompt.seed > MAX_SEED:
        raise LoratuiError(f"{where}: --d {prompt.seed} is too large for a seed (at most {MAX_SEED})")
    prompt.width = max(64, prompt.width - prompt.width % 8)
    prompt.height = max(64, prompt.height - prompt.height % 8)
    return prompt


def parse_prompts(path: str | Path, default_size: tuple[int, int] = (512, 512)) -> list[SamplePrompt]:
    """Every prompt of the file; LoratuiError naming the file (and line) for anything unusable."""
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
    prompts = [parse_prompt_line(line, default_size, f"{path}:{n}") for n, line in enumerate(text.splitlines(), 1)
               if line.strip() and not line.lstrip().startswith("#")]
    if not prompts:
        raise LoratuiError(f"sampling.sample_prompts: {path} has no prompts (one per line)")
    return prompts
