"""The one error type the CLI turns into a clean one-line message (no traceback)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Hint:
    """A part of a message that a shell and the app say differently: the way out is a command there
    (``shell``: `loratui tags undo`, --force) and a key or a field here (``app``, where ``{undo}`` and
    ``{redo}`` stand for the keys the app binds; "" when the app says the way out its own way)."""

    shell: str
    app: str


class LoratuiError(Exception):
    """A user-facing problem: the message names the file/field and what to do.

    The message may be given in parts, some of them ``Hint``: ``str(exc)`` joins them with the shell's
    words (what the CLI prints), ``exc.worded(undo=..., redo=...)`` with the app's."""

    read_only = False  # True: a read-only file refused the write (a caption run's hint says chmod or --force)

    def __init__(self, *parts):
        if len(parts) > 1 or any(isinstance(part, Hint) for part in parts):  # parts: one message, joined
            self.parts: tuple = parts
            super().__init__("".join(part.shell if isinstance(part, Hint) else str(part) for part in parts))
        else:  # a plain message: exactly as Exception keeps it
            self.parts = tuple(str(part) for part in parts[:1])
            super().__init__(*parts)

    def worded(self, **keys: str) -> str:
        """The message as the app says it: each Hint's ``app`` words, ``keys`` filled in."""
        if not any(isinstance(part, Hint) for part in self.parts):
            return str(self)
        return "".join(part.app.format(**keys) if isinstance(part, Hint) else str(part) for part in self.parts)


class ConflictError(LoratuiError):
    """A file changed on disk since we read it; we refuse to overwrite it silently."""


class PartialWriteError(LoratuiError):
    """Some files were written, then one could not be (a full disk): the message names that file and
    how many were written. Exit 1, "written, except ...", not 2 (which promises nothing changed)."""

    exit_code = 1


def on_read_only_fs(path) -> bool:
    """Whether the file system holding ``path`` (or its nearest existing folder) is mounted read-only
    (statvfs ST_RDONLY): no chmod and no --force can make a file there writable."""
    import os

    probe = os.path.abspath(os.fspath(path))
    while True:
        try:
            return bool(os.statvfs(probe).f_flag & getattr(os, "ST_RDONLY", 1))
        except FileNotFoundError:
            parent = os.path.dirname(probe)
            if parent == probe:
                return False
            probe = parent
        except (OSError, AttributeError, ValueError):  # no statvfs (Windows) or it cannot be asked
            return False


def read_only_fs_error(path) -> LoratuiError | None:
    """The one-line error for a write refused because the file system holding ``path`` is read-only
    (mounted ro), or None where it is not."""
    if not on_read_only_fs(path):
        return None
    return LoratuiError(f"the file system holding {path} is read-only (mounted ro): nothing was written; "
                        "remount it rw or copy the project elsewhere")
