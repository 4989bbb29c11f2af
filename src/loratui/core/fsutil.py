"""Atomic writes for files the user owns (captions, configs, recipes).

A write goes to a temp file in the same folder, is fsynced, then renamed over the target, so a
kill at any moment leaves either the old file or the new one, never a truncated one. Outputs of
several files are built in a staging folder beside their target (``staging_folder``) and renamed
into place once complete, so a full disk leaves nothing half-written. ``folder_lock``: one writer at
a time on a folder (the caption journal and `dataset balance` share ``.loratui/undo/write.lock``).
"""

from __future__ import annotations

import errno
import glob
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# the temp names of atomic writes (split out to core/temp_names.py; re-exported: callers import them from here)
from loratui.core.temp_names import (NAME_MAX, AtomicTempNames, atomic_temp_pattern,  # noqa: F401
                                     leftover_temp_files, name_max, names_for_ext, temp_prefix)


def config_relative_path(config_dir: str | os.PathLike, value: str) -> Path:
    """A path a config holds, made absolute against the config's folder (``config_dir``: the config file's
    resolved parent), as training (core.config.resolve_path) and the dataset commands (core.dataset's
    locate_config) both read it: ``~`` expanded; a leading run of ``../`` with no other ``..`` folded
    (the same place, a shorter name); a ``..`` after a folder name kept, as the OS walks it (through a
    symlinked folder it goes elsewhere than the folded name would)."""
    path = Path(os.path.expanduser(value))
    if path.is_absolute():
        return path
    parts = path.parts
    leading = next((i for i, part in enumerate(parts) if part != ".."), len(parts))
    joined = Path(config_dir) / path
    if leading and ".." not in parts[leading:]:
        joined = Path(os.path.normpath(joined))
    return joined


def _temp_copy(path: Path, data: bytes, named: Path) -> str:
    """``data`` in a new temp file beside ``path``, fsynced: its name. An error names ``named`` (the file
    asked for, not the temporary one: a link into a missing folder; a write that filled the disk, whose
    own error names no file, so a full-disk line would name another disk); a failed write leaves no temp file."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path, ".tmp"), suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(named)) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError) and exc.errno is not None and not exc.filename:
            raise OSError(exc.errno, exc.strerror, str(named)) from None
        raise
    return tmp


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, sync_dir: bool = True) -> Path:
    """``sync_dir=False`` leaves the folder's fsync to the caller (``write_many`` does it once per
    folder for a whole batch: the folder fsync is what makes a rename durable, and costs more than
    the file's own). A symbolic link is written through: its target gets the bytes and the link
    stays a link (a rename onto the link replaced it with a plain copy). Returns the folder written."""
    path = named = Path(path)
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    directory = path.parent
    tmp = _temp_copy(path, data, named)
    try:
        try:
            mode = path.stat().st_mode & 0o777
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    if sync_dir:
        fsync_path(directory)
    return directory


def atomic_create_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` only if nothing is there, atomically; FileExistsError otherwise.

    For outputs made new without --force whose computation takes minutes (`lora convert`): a check
    before the work does not stop a file that appears meanwhile from being replaced by os.replace.
    The bytes go to a temp file in the same folder (fsynced), which is hard-linked to ``path`` (the
    link fails if ``path`` exists, even as a dangling symbolic link), then the temp name is removed.
    On a file system without hard links (FAT, some network mounts) ``path`` is first created empty
    with O_EXCL (which reserves the name) and the temp file renamed over it if it is still that empty
    file. A failure leaves no temp file; ``path`` is untouched unless this call created it. Returns the
    folder written."""
    path = Path(path)
    directory = path.parent
    tmp = _temp_copy(path, data, path)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise FileExistsError(errno.EEXIST, "File exists", str(path)) from None
        except (AttributeError, OSError) as exc:
            if isinstance(exc, OSError) and exc.errno not in _NO_HARD_LINKS:
                raise
            _create_through_placeholder(tmp, path)
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
    fsync_path(directory)
    return directory


# errnos of os.link on a file system that has no hard links (vfat/exFAT: EPERM; SMB, FUSE: EOPNOTSUPP, ENOSYS)
_NO_HARD_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS, errno.EMLINK, errno.EXDEV}


def _create_through_placeholder(tmp: str, path: Path) -> None:
    """Reserve ``path`` with an O_EXCL create, then rename ``tmp`` over it while it is still the empty
    file made here (so the name never holds half the bytes, and another writer's file is not replaced)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # FileExistsError when taken
    try:
        mine = os.fstat(fd)
    finally:
        os.close(fd)
    try:
        now = os.stat(path, follow_symlinks=False)
        if (now.st_dev, now.st_ino, now.st_size) != (mine.st_dev, mine.st_ino, 0):
            raise FileExistsError(errno.EEXIST, "File exists (written by another program meanwhile)", str(path))
        os.replace(tmp, path)
    except BaseException:
        _remove_if_placeholder(path, mine)
        raise


def _remove_if_placeholder(path: Path, mine: os.stat_result) -> None:
    try:
        now = os.stat(path, follow_symlinks=False)
        if (now.st_dev, now.st_ino, now.st_size) == (mine.st_dev, mine.st_ino, 0):
            os.unlink(path)
    except OSError:
        pass


WRITERS = 8  # concurrent fsyncs: 500 captions take 2.7 s one by one, 0.2 s this way, on this machine's disk
PARALLEL_FROM = 32  # smaller batches are written one by one, in order (a failure stops at a known file)


def write_many(items: list, write, *, workers: int = WRITERS) -> tuple[list[tuple[object, object]],
                                                                     tuple[object, BaseException] | None]:
    """Run ``write(item)`` for every item in a pool of threads (file writes and fsyncs release the
    GIL), then fsync each folder that ``write`` reported once. ``write`` returns the folder it wrote
    into (a Path), or None when it wrote nothing. After the first failure no new item starts; the
    ones already running finish. Returns ([(item, folder)] of the items done, in input order) and the
    first failure as (item, exception), or None. Batches under PARALLEL_FROM items run in order.
    An exception that is not an Exception (KeyboardInterrupt) propagates once the running ones end."""
    done: list[tuple[object, object]] = []
    failure: tuple[object, BaseException] | None = None
    if len(items) < PARALLEL_FROM:
        for item in items:
            try:
                done.append((item, write(item)))
            except Exception as exc:  # noqa: BLE001 - reported to the caller with its item
                failure = (item, exc)
                break
    else:
        failure = _write_parallel(items, write, workers, done)
    for folder in {folder for _, folder in done if folder is not None}:
        fsync_path(Path(folder))
    return done, failure


def _write_parallel(items: list, write, workers: int, done: list) -> tuple[object, BaseException] | None:
    from concurrent.futures import ThreadPoolExecutor

    failure = None
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        futures = [(item, pool.submit(write, item)) for item in items]
        for item, future in futures:
            if failure is not None and future.cancel():
                continue
            try:
                done.append((item, future.result()))
            except Exception as exc:  # noqa: BLE001 - reported to the caller with its item
                if failure is None:
                    failure = (item, exc)
                    for _, later in futures:
                        later.cancel()
            except BaseException:  # Ctrl-C: the queued writes never start, the running ones finish
                for _, later in futures:
                    later.cancel()
                raise
    return failure


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> None:
    """Write text exactly as given (no newline translation) atomically."""
    atomic_write_bytes(path, text.encode(encoding))


def fsync_path(directory: str | os.PathLike) -> None:
    """fsync a file or a folder (a folder's fsync makes the renames in it durable); best effort."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def file_digest(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes, read in 1 MiB chunks (model files are several GB)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


STAGING_SUFFIX = ".loratui-tmp"


def write_new_file(path: str | os.PathLike, data: bytes, mode: int = 0o644) -> None:
    """Create ``path`` (it must not exist) holding ``data``, fsynced: for files built in a staging
    folder that is renamed into place afterwards (written with os.write, so a test can make the
    disk full by patching it). A failed write removes the file it created (a 0-byte file left behind
    would take the name: the next try wrote NAME-1 beside it) and its error names ``path``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException as exc:
        for undo in (lambda: os.close(fd), lambda: os.unlink(path)):
            try:
                undo()
            except OSError:
                pass
        if isinstance(exc, OSError) and exc.errno is not None and not exc.filename:
            raise OSError(exc.errno, exc.strerror, os.fspath(path)) from None
        raise
    os.close(fd)


def staging_folder(target: str | os.PathLike) -> Path:
    """A new hidden folder beside ``target`` (same file system, so a rename moves it into place),
    named ``.NAME.XXXX.loratui-tmp`` (a long NAME's stand-in: ``temp_prefix``); stale ones a killed run left
    for the same target are removed."""
    target = Path(target)
    remove_stale_staging(target)
    return Path(tempfile.mkdtemp(prefix=temp_prefix(target, STAGING_SUFFIX), suffix=STAGING_SUFFIX, dir=target.parent))


def remove_stale_staging(target: str | os.PathLike) -> None:
    target = Path(target)
    stale = set()
    for prefix in {f".{target.name}.", temp_prefix(target, STAGING_SUFFIX)}:
        try:
            stale.update(target.parent.glob(f"{glob.escape(prefix)}*{STAGING_SUFFIX}"))
        except OSError:
            return
    for folder in stale:
        shutil.rmtree(folder, ignore_errors=True)


def describe_os_error(exc: OSError) -> str:
    """``exc``'s reason in words, with what to do for the common ones (a full disk)."""
    if exc.errno == errno.ENOSPC:
        return "no space left on the device: free some space and run it again"
    if exc.errno == errno.EDQUOT:
        return "disk quota exceeded: free some space and run it again"
    if exc.errno == errno.EFBIG:  # not a bug: the shell's ulimit -f (or the file system's largest file)
        from loratui.core.diskspace import file_size_advice

        return (file_size_advice(stops="writing it")
                or "larger than its file system allows: choose a folder on another disk and run it again")
    if exc.errno == errno.ELOOP:
        return "a symbolic link that leads back to itself (a link loop): remove the link or point it at a real file"
    return exc.strerror or str(exc)


# ---- one writer at a time: an flock on a lock file in a folder ----------------------------------------

try:
    import fcntl
except ImportError:  # not POSIX: no lock (each writer still checks every file it replaces)
    fcntl = None


@contextmanager
def folder_lock(folder: str | os.PathLike, busy, *, wait: float, name: str = "write.lock",
                create: bool = True, note: str = "") -> Iterator[None]:
    """Hold ``folder/name`` (an exclusive flock) for one write; waits up to ``wait`` seconds for
    another holder, then raises ``busy(pid)`` (pid: the holder's, written in the file, or None).
    ``create``: make the folder when missing. Where no lock can be taken (no flock, a read-only or
    lock-less file system) the write goes on unlocked: its own errors say what is wrong. Two opens
    of the file exclude each other even within one process (flock locks the open, not the process).
    ``note``: one line written after the pid (what holds it: "caption run"), for a refused writer to name."""
    fd = _open_lock(Path(folder), name, create)
    if fd is None:
        yield
        return
    try:
        locked = _acquire(fd, busy, wait)
        if locked:
            _note_holder(fd, note)
        try:
            yield
        finally:
            if locked:
                fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _open_lock(folder: Path, name: str, create: bool) -> int | None:
    if fcntl is None or (not create and not folder.is_dir()):
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return os.open(folder / name, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    except OSError:
        return None


def _acquire(fd: int, busy, wait: float) -> bool:
    import time

    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise busy(_holder(fd)) from None
            time.sleep(0.05)
        except OSError:  # a file system without flock (some network mounts): unlocked
            return False


def _note_holder(fd: int, note: str = "") -> None:
    """Our pid in the lock file (and ``note`` on the next line): what a refused writer names (only
    read while the lock is held)."""
    try:
        os.ftruncate(fd, 0)
        text = f"{os.getpid()}\n" + (f"{note}\n" if note else "")
        os.pwrite(fd, text.encode("utf-8"), 0)
    except OSError:
        pass


def _holder(fd: int) -> int | None:
    try:
        return int(os.pread(fd, 32, 0).decode("ascii", "replace").split("\n", 1)[0].strip() or 0) or None
    except (OSError, ValueError):
        return None


def lock_note(folder: str | os.PathLike, name: str = "write.lock") -> str:
    """The ``note`` the holder of ``folder/name`` wrote after its pid ("" when none: a plain write)."""
    try:
        with open(Path(folder) / name, "rb") as fh:
            lines = fh.read(4096).decode("utf-8", "replace").split("\n")
    except OSError:
        return ""
    return lines[1].strip() if len(lines) > 1 else ""


def dollar_hint(written: str | None) -> str:
    """A hint for a config path that holds $VAR or ${VAR}: loratui expands a leading ~ (core.config's
    resolve_path), never environment variables; `config check` and `steps` both say so."""
    if written and re.search(r"\$\{?[A-Za-z_]", written):
        return " (loratui expands a leading ~ in paths but not $VARIABLES: write the path out)"
    return ""
