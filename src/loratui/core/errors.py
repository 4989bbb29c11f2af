"""The one error type the CLI turns into a clean one-line message (no traceback)."""


class LoratuiError(Exception):
    """A user-facing problem: the message names the file/field and what to do."""


class ConflictError(LoratuiError):
    """A file changed on disk since we read it; we refuse to overwrite it silently."""


class PartialWriteError(LoratuiError):
    """Some files were written, then one could not be (a full disk): the message names that file and
    how many were written. Exit 1, "written, except ...", not 2 (which promises nothing changed)."""

    exit_code = 1
