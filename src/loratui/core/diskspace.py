"""A full disk, said as one line: which device, how much is free, how much the write needed.

A checkpoint written to a full disk fails in several costumes: ``OSError`` ENOSPC (or EDQUOT, a
quota), torch.save's ``RuntimeError: [enforce fail at inline_container.cc] . unexpected pos`` /
``PytorchStreamWriter failed writing file``, safetensors' ``No space left on device (os error 28)``.
``disk_full_message`` recognises all of them and says what to do; the CLI's last resort uses it, and
so can the training run's error handler (engine/run.py). A write stopped by the file-size limit (EFBIG:
``ulimit -f``) is the user's to fix too: it counts as "full" here and is worded as that limit.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

_TORCH_WRITE_FAILURES = ("unexpected pos", "PytorchStreamWriter failed", "file write failed")
_NO_SPACE_TEXT = ("No space left on device", "os error 28", "Disk quota exceeded", "os error 122")
_TOO_LARGE_TEXT = ("File too large", "os error 27")


def is_disk_full(exc: BaseException) -> bool:
    """True for the ways a write that ran out of room surfaces (see the module docstring): a full disk,
    a quota, and the file-size limit (EFBIG: ``ulimit -f``, or a file system's largest file), which is
    the user's to fix as a full disk is, not a bug; ``disk_full_message`` words each."""
    return _first(exc, _out_of_room) is not None


def is_file_too_large(exc: BaseException) -> bool:
    """True when the write stopped at the file-size limit (EFBIG), on the error or the ones it came from."""
    return _first(exc, _too_large) is not None


def _first(exc: BaseException | None, test) -> BaseException | None:
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if test(exc):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def _too_large(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno == errno.EFBIG:
        return True
    return any(t in str(exc) for t in _TOO_LARGE_TEXT)


def _out_of_room(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc)
    if any(t in text for t in _NO_SPACE_TEXT) or _too_large(exc):
        return True
    return isinstance(exc, RuntimeError) and any(t in text for t in _TORCH_WRITE_FAILURES)


def file_size_limit() -> int | None:
    """This process's file-size limit in bytes (``ulimit -f``, RLIMIT_FSIZE), or None when unlimited."""
    try:
        import resource

        soft, _hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    except (ImportError, OSError, ValueError, AttributeError):
        return None
    return None if soft == resource.RLIM_INFINITY else soft


def file_size_advice(again: str = "run it again", stops: str = "it", *, detailed: bool = False) -> str | None:
    """The EFBIG advice when this process has a file-size limit: ``the file size limit (ulimit -f N) stops
    STOPS: raise it (`ulimit -f unlimited`) and AGAIN``; ``detailed`` adds the limit in bytes and where to
    raise it. None without a limit: the file system's largest file stopped it, and each caller says so."""
    limit = file_size_limit()
    if limit is None:
        return None
    size = f"{limit // 1024}: {_gb(limit)}" if detailed else f"{limit // 1024}"
    shell = " in the shell that starts loratui" if detailed else ""
    return f"the file size limit (ulimit -f {size}) stops {stops}: raise it (`ulimit -f unlimited`{shell}) and {again}"


def file_too_large_message(path: str | os.PathLike | None) -> str:
    """One line for EFBIG: ``the file size limit (ulimit -f N) stops writing FILE``, with the fix; without
    a limit on this process, the file system's largest file (FAT32: 4 GB) is what stopped it."""
    where = str(path) if path is not None else "a file (the file being written is not known)"
    advice = file_size_advice(stops=f"writing {where}", detailed=True)
    if advice is not None:
        return advice
    device, mount = mount_of(path if path is not None else os.getcwd())
    return (f"{where} is larger than its file system ({device}, mounted at {mount}) allows: choose a folder on "
            "another disk (FAT32 holds at most 4 GB a file) and run it again")


def no_space_advice(path: str | os.PathLike, needed_bytes: int | None = None, what: str = "it",
                    again: str = "run it again") -> str:
    """What to do about a full disk, for a line that already names the file: ``free some space on the
    disk mounted at M (F free[, WHAT needs about N]) and run it again`` (``again``: the last words)."""
    _device, mount = mount_of(path)
    need = f", {what} needs about {_gb(needed_bytes)}" if needed_bytes else ""
    return f"free some space on the disk mounted at {mount} ({_free(mount)}{need}) and {again}"


def out_of_room_advice(exc: BaseException, path: str | os.PathLike, needed_bytes: int | None = None,
                       what: str = "it", again: str = "run it again") -> str | None:
    """What to do when ``exc`` stopped a write of ``path`` for want of room, for a line that already names
    the file and the error: the file-size limit to raise, or the disk to free space on; None otherwise."""
    if not is_disk_full(exc):
        return None
    if is_file_too_large(exc):
        return (file_size_advice(again)
                or f"the file is larger than its file system allows: choose a folder on another disk and {again}")
    return no_space_advice(path, needed_bytes, what, again)


def mount_of(path: str | os.PathLike) -> tuple[str, str]:
    """(device, mount point) holding ``path`` (its nearest existing folder), from /proc/mounts when
    there is one; (mount point, mount point) elsewhere."""
    path = Path(os.path.abspath(path))
    while not path.exists() and path.parent != path:
        path = path.parent
    real = os.path.realpath(path)
    best = ("", "/")
    try:
        with open("/proc/mounts", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                parts = line.split()
                if len(parts) < 2:
                    continue
                device, mount = parts[0], parts[1].replace("\\040", " ")
                if (real == mount or real.startswith(mount.rstrip("/") + "/")) and len(mount) >= len(best[1]):
                    best = (device, mount)
    except OSError:
        mount = real
        while not os.path.ismount(mount) and os.path.dirname(mount) != mount:
            mount = os.path.dirname(mount)
        return mount, mount
    return best[0] or best[1], best[1]


def _gb(n: float) -> str:
    """116 KB free reads as such, not as "0 MB" (a disk that looks 100% full)."""
    if n >= 1e8:
        return f"{n / 1e9:.1f} GB"
    if n >= 1e6:
        return f"{n / 1e6:.0f} MB"
    if n >= 1e3:
        return f"{n / 1e3:.0f} KB"
    return f"{n:.0f} bytes"


def disk_full_message(exc: BaseException, folder: str | os.PathLike | None, needed_bytes: int | None = None,
                      what: str = "the save") -> str | None:
    """``no space left on DEVICE (mounted at M) writing PATH: F free, WHAT needs about N; ...`` when
    ``exc`` is a full disk, else None. ``folder``: the file or folder being written (the output folder
    when the caller does not know which); ``needed_bytes``: what that write holds, when the caller
    knows it (no figure otherwise: a guess would mislead)."""
    if not is_disk_full(exc):
        return None
    if folder is None:
        folder = failed_file(exc)
    if is_file_too_large(exc) or _limit_reached(exc, folder):
        return file_too_large_message(failed_file(exc) or folder)
    if folder is None:  # nothing names the file: the current folder's disk, said as a guess
        device, mount = mount_of(os.getcwd())
        return (f"no space left on a disk (the file being written is not known; the current folder's disk "
                f"{device} has {_free(mount)}): free some space and run it again")
    device, mount = mount_of(folder)
    free = _free(mount)
    need = f", {what} needs about {_gb(needed_bytes)}" if needed_bytes else ""
    where = device if device == mount else f"{device} (mounted at {mount})"
    return (f"no space left on {where} writing {folder}: {free}{need}; free some space (or choose a folder on "
            "another disk) and run it again")


def _limit_reached(exc: BaseException, folder) -> bool:
    """torch.save's failure hides its errno: under a file-size limit, a file written up to that size
    was stopped by the limit, not by the disk."""
    limit = file_size_limit()
    if limit is None or folder is None or _first(exc, lambda e: isinstance(e, OSError)) is not None:
        return False
    try:
        folder = Path(folder)
        files = [folder] if folder.is_file() else [p for p in folder.iterdir() if p.is_file()]  # a state folder
        return any(p.stat().st_size >= limit for p in files)
    except OSError:
        return False


def failed_file(exc: BaseException) -> str | None:
    """The file a failed write named (``OSError.filename``), on the error or the ones it came from."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        name = getattr(exc, "filename", None)
        if name:
            return os.path.abspath(os.fsdecode(name))
        exc = exc.__cause__ or exc.__context__
    return None


def _free(mount: str) -> str:
    try:
        return _gb(shutil.disk_usage(mount).free) + " free"
    except OSError:
        return "free space unknown"


def checkpoint_bytes(trainable_params: int, *, save_bytes_per_param: int = 2, with_state: bool = False) -> int:
    """About what a LoRA save needs on disk: its weights in the save precision; with the training
    state also the fp32 LoRA copy and AdamW's two fp32 moments (sd-scripts' layout is the same).
    Headers and metadata add a few KB, left out: no made-up figure (a tiny LoRA read "needs 1 MB")."""
    size = trainable_params * save_bytes_per_param
    if with_state:
        size += trainable_params * 4 * 3
    return size


def tensors_bytes(tensors, *, itemsize: int | None = None) -> int:
    """The bytes these tensors' data take (each its own element size, or ``itemsize``): what a save of
    them writes, less a few KB of headers. Duck-typed (numel, element_size): core imports no torch."""
    return sum(t.numel() * (itemsize or t.element_size()) for t in tensors)
