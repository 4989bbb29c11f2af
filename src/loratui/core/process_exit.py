"""Ending a command's process without Python's teardown once torch has been imported.

Python's shutdown clears every module and runs the cyclic garbage collector again and again over what is
left; with torch, transformers and diffusers loaded (~4,000 modules) that alone takes 1-2 s after the last
line is printed (measured: `loratui train` 1.3 s, `loratui caption blip` 1.0 s; 90% of it in the GC), for
nothing: the OS frees the memory anyway. A plain command (no torch) ends as Python ends it (~0.05 s).
"""

from __future__ import annotations

import atexit
import os
import sys
import threading

HEAVY_MODULE = "torch"  # loaded: the teardown takes seconds (diffusers and transformers come with it)


def exit_without_teardown(code: object) -> None:
    """End the process with ``code`` (a SystemExit code: None or an int) without the interpreter's teardown,
    where torch was imported. What the shutdown does that matters runs first, in its order: the threads
    Python would join (none may be running), then the atexit callbacks (logging's flush and close, temp
    sweeps, multiprocessing's joins, weakref finalizers, the app's caption-run stop), then stdout and stderr
    flushed. Returns, leaving the ordinary shutdown, wherever that cannot be kept exactly: no torch, a
    non-daemon thread still running, a code that is not a small int (Python prints it), off the main
    thread, or a stdout that does not flush (the ordinary shutdown reports that as it always has)."""
    if HEAVY_MODULE not in sys.modules:
        return
    code = 0 if code is None else code
    if not isinstance(code, int) or not -(2 ** 31) <= code < 2 ** 31:
        return
    main = threading.main_thread()
    if threading.current_thread() is not main:
        return
    if any(thread is not main and not thread.daemon and thread.is_alive() for thread in threading.enumerate()):
        return
    atexit._run_exitfuncs()  # each runs once: they are cleared, so a return below does not run them again
    if not _flushed(sys.stdout, sys.__stdout__):
        return
    for stream in (sys.stderr, sys.__stderr__):  # the ordinary shutdown ignores a failing stderr too
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    os._exit(code)


def _flushed(*streams) -> bool:
    """Whether each stream (None: none) flushed: a closed or full stdout is left to the ordinary shutdown."""
    for stream in streams:
        if stream is None:
            continue
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            return False
    return True
