"""Which GPU this machine has, from `nvidia-smi`, without importing torch.

``detect_gpus`` runs ``nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits``
with a short timeout and parses one ``name, MiB`` line per card; anything that goes wrong (no
nvidia-smi, no driver, a timeout, odd output) means "no GPU found", never an exception. It blocks
for up to the timeout, so widgets call it through a thread worker (``GpuState.detect``).

When no GPU is found the user picks a card size from ``CARD_CHOICES_GB``; ``GPU_STATE`` remembers the
detection and that choice for as long as the app runs (it is process state, nothing is written).
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from dataclasses import dataclass

NVIDIA_SMI_ARGS = ("--query-gpu=name,memory.total", "--format=csv,noheader,nounits")
DETECT_TIMEOUT_S = 3.0
CARD_CHOICES_GB: tuple[int, ...] = (6, 8, 12, 16, 24, 48, 80)


@dataclass(frozen=True)
class GpuInfo:
    index: int
    name: str
    memory_mib: int

    @property
    def memory_gib(self) -> float:
        return self.memory_mib / 1024


def parse_nvidia_smi(text: str) -> list[GpuInfo]:
    """``NAME, MIB`` lines as printed by the query above; lines that do not parse are skipped."""
    gpus = []
    for line in text.splitlines():
        name, sep, memory = line.strip().rpartition(",")
        if not sep or not name.strip():
            continue
        try:
            mib = int(float(memory.strip()))
        except ValueError:
            continue  # "[N/A]", "[Not Supported]", a warning line
        if mib > 0:
            gpus.append(GpuInfo(len(gpus), name.strip(), mib))
    return gpus


def detect_gpus(command: str = "nvidia-smi", timeout: float = DETECT_TIMEOUT_S) -> list[GpuInfo]:
    """The NVIDIA GPUs nvidia-smi lists (empty when there is none or it cannot tell)."""
    exe = shutil.which(command)
    if exe is None:
        return []
    try:
        done = subprocess.run([exe, *NVIDIA_SMI_ARGS], capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.SubprocessError):
        return []
    if done.returncode != 0:
        return []
    return parse_nvidia_smi(done.stdout)


class GpuState:
    """The detected GPUs (detected once) and the card size the user chose, for the app's lifetime."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._gpus: list[GpuInfo] | None = None
        self.chosen_gb: int | None = None

    @property
    def detected(self) -> bool:
        return self._gpus is not None

    @property
    def gpus(self) -> list[GpuInfo]:
        return list(self._gpus or [])

    @property
    def gpu(self) -> GpuInfo | None:
        """The card training runs on by default (the first one: cuda:0)."""
        return self._gpus[0] if self._gpus else None

    def detect(self) -> list[GpuInfo]:
        """Run nvidia-smi once (blocking: call from a thread); later calls return the first answer."""
        with self._lock:
            if self._gpus is None:
                self._gpus = detect_gpus()
            return list(self._gpus)

    def card_gib(self) -> float | None:
        """Memory to compare the estimate with: the detected card, else the chosen size, else None."""
        if self.gpu is not None:
            return self.gpu.memory_gib
        return float(self.chosen_gb) if self.chosen_gb else None

    def reset(self) -> None:
        """Forget everything (tests, or a "detect again" command)."""
        with self._lock:
            self._gpus = None
            self.chosen_gb = None


GPU_STATE = GpuState()
