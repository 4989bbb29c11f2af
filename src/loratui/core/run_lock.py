"""The run lock: ``OUTPUT_DIR/<output_name>.lock`` holds the pid (and start time) of the live run on that
output (``RunLock``, ``run_is_alive``). Split out of core/events.py, which re-exports these names."""

from __future__ import annotations

import os
from pathlib import Path

from loratui.core.run_control import process_start_ticks as _process_start


def lock_path(output_dir: str | os.PathLike, output_name: str) -> Path:
    return Path(output_dir) / f"{output_name}.lock"


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (one we may not signal counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _lock_owner(path: Path) -> int | None:
    """The pid in a lock file if that process still runs (and is the same process), else None."""
    try:
        fields = path.read_text(encoding="utf-8").split()
        pid = int(fields[0])
    except (OSError, ValueError, IndexError):
        return None
    if not pid_alive(pid):
        return None
    started = fields[1] if len(fields) > 1 else None
    if started and started != "-" and _process_start(pid) not in (None, started):
        return None  # the pid was reused by another process
    return pid


def run_is_alive(output_dir: str | os.PathLike, output_name: str) -> int | None:
    """The pid of a live run on this output, or None (no lock, or a stale one)."""
    return _lock_owner(lock_path(output_dir, output_name))


class RunLock:
    """``OUTPUT_DIR/NAME.lock``: one live run per output. It holds "PID START" (START: the process's
    start time, so a pid reused after a crash or reboot does not look alive); a stale lock is taken over."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.held = False

    def acquire(self) -> str | None:
        """Take the lock; returns a warning when a stale lock was replaced. Raises LoratuiError when held."""
        from loratui.core.errors import LoratuiError

        warning = None
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                owner = _lock_owner(self.path)
                if owner is not None:
                    raise LoratuiError(f"another run (pid {owner}) is writing to {self.path.parent} "
                                       f"({self.path.name}): stop it first, or change saving.output_name / "
                                       f"output_dir") from None
                try:
                    old = self.path.read_text(encoding="utf-8").split()[0]
                except (OSError, IndexError):
                    old = "?"
                self.path.unlink(missing_ok=True)
                warning = f"removed the stale lock of a run that is gone (pid {old})"
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(f"{os.getpid()} {_process_start(os.getpid()) or '-'}\n")
            self.held = True
            return warning
        raise LoratuiError(f"cannot take the lock {self.path}: remove it if no run is using this output")

    def owner(self) -> int | None:
        """The pid of the live run holding the lock, or None (no lock, or a stale one)."""
        return _lock_owner(self.path) if self.path.exists() else None

    def release(self) -> None:
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False
