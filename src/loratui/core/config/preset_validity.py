"""What applying a VRAM preset would break, and the smallest fix: shared by `loratui presets apply` and the
Settings screen's preset picker, so both refuse (or fix) the same configs with the same words.

``preset_check(cfg, preset)`` applies the preset to a copy and returns a ``PresetCheck``: the changes,
the problems core's ``validate`` reports afterwards that it did not before (what `config check` and
`train` would then refuse), and, when the only trouble is a resolution outside the bucket range
(sd15-6gb's 512 px on a config with max_bucket_reso 256), the bucket limits that make it fit. A fix is
offered only when the config with it has no new problem; the caller shows it and asks.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from loratui.core.config.load import validate
from loratui.core.config.presets import FieldChange, Preset, apply_preset
from loratui.core.config.schema import TrainingConfig

# Settings that are right on a GPU and about 10x slower on a CPU (the engine warns about the same ones)
GPU_OPTIMIZERS = ("AdamW8bit", "Lion8bit")
GPU_PRECISIONS = ("bf16", "fp16")


@dataclass
class PresetCheck:
    changes: list[FieldChange]                 # what the preset sets (old -> new)
    problems: list[str]                        # new problems after applying (validate's words)
    fixes: list[FieldChange] = field(default_factory=list)  # extra changes that clear them ([] = none found)
    after: TrainingConfig | None = None        # the config with the preset (and the fixes) applied

    @property
    def refused(self) -> bool:
        """Applying would leave the config invalid and no fix is known."""
        return bool(self.problems) and not self.fixes


def new_problems(before: TrainingConfig, after: TrainingConfig) -> list[str]:
    had = set(validate(before))
    return [p for p in validate(after) if p not in had]


def bucket_fix(cfg: TrainingConfig) -> list[FieldChange]:
    """min/max_bucket_reso moved (to multiples of bucket_reso_steps) so the resolution lies between them."""
    d = cfg.dataset
    if not d.enable_bucket:
        return []
    step = max(1, d.bucket_reso_steps)
    low, high = min(d.resolution), max(d.resolution)
    changes = []
    if high > d.max_bucket_reso:
        changes.append(FieldChange("dataset.max_bucket_reso", d.max_bucket_reso, -(-high // step) * step))
    if low < d.min_bucket_reso:
        changes.append(FieldChange("dataset.min_bucket_reso", d.min_bucket_reso, max(64, low // step * step)))
    return changes


def preset_check(cfg: TrainingConfig, preset: Preset) -> PresetCheck:
    """``preset`` on a copy of ``cfg``: its changes, the problems it makes, and a fix when one is known."""
    after = copy.deepcopy(cfg)
    changes = apply_preset(after, preset)
    problems = new_problems(cfg, after)
    if not problems:
        return PresetCheck(changes, [], [], after)
    fixes = bucket_fix(after)
    fixed = copy.deepcopy(after)
    for change in fixes:
        section, key = change.key.split(".", 1)
        setattr(getattr(fixed, section), key, change.new)
    if not fixes or new_problems(cfg, fixed):
        return PresetCheck(changes, problems, [], after)
    return PresetCheck(changes, problems, fixes, fixed)


# what each GPU-only setting becomes on a CPU (device_defaults.apply_cpu_defaults picks AdamW and "no" too)
CPU_REPLACEMENTS = {"optimizer_type": {"AdamW8bit": "AdamW", "Lion8bit": "Lion"}, "mixed_precision": "no"}


def gpu_only_changes(before: TrainingConfig, after: TrainingConfig) -> list[tuple[str, str]]:
    """(key, value) of each setting ``after`` has and ``before`` had not that needs a GPU to be fast (8-bit
    optimizers, fp16/bf16 mixed precision): ``("optimizer_type", "AdamW8bit")``."""
    found = []
    if after.optimizer.optimizer_type in GPU_OPTIMIZERS and after.optimizer.optimizer_type != \
            before.optimizer.optimizer_type:
        found.append(("optimizer_type", after.optimizer.optimizer_type))
    if after.training.mixed_precision in GPU_PRECISIONS and after.training.mixed_precision != \
            before.training.mixed_precision:
        found.append(("mixed_precision", after.training.mixed_precision))
    return found


def gpu_only_settings(before: TrainingConfig, after: TrainingConfig) -> list[str]:
    """gpu_only_changes as the engine names them: `optimizer_type = "AdamW8bit"`."""
    return [f'{key} = "{value}"' for key, value in gpu_only_changes(before, after)]


def cpu_slow_line(before: TrainingConfig, after: TrainingConfig) -> str | None:
    """The note for a machine with no NVIDIA GPU (the caller asks has_nvidia_gpu) when applying a preset turns
    ``before`` into ``after`` with GPU-only settings, naming them and what to set instead; None when none."""
    changes = gpu_only_changes(before, after)
    if not changes:
        return None
    names = " and ".join(value for _, value in changes)
    fixes = " and ".join(f'{key} = "{_cpu_value(key, value)}"' for key, value in changes)
    return f"no CUDA GPU here: {names} run about 10x slower on a CPU: set {fixes}"


def _cpu_value(key: str, value: str) -> str:
    replacement = CPU_REPLACEMENTS[key]
    return replacement.get(value, "AdamW") if isinstance(replacement, dict) else replacement


def preset_problem_line(preset_id: str, where: object, problems: list[str]) -> str:
    """"ID would leave WHERE invalid: PROBLEM (and N more)": the words of the CLI's refusal and the picker's."""
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{preset_id} would leave {where} invalid: {problems[0]}{more}"


def fixes_text(fixes: list[FieldChange]) -> str:
    """"setting dataset.max_bucket_reso 256 -> 512" for a refusal's hint."""
    return "setting " + ", ".join(f"{c.key} {c.old} -> {c.new}" for c in fixes)
