"""Where ``--events PATH`` may send a run's events (``events_target_problem``): not over a config, another
run's history or a control file. Split out of core/events.py, which re-exports ``events_target_problem``."""

from __future__ import annotations

import os
import re
from pathlib import Path


def events_target_problem(path: str | os.PathLike, output_name: str | None = None,
                          output_dir: str | os.PathLike | None = None) -> str | None:
    """Why ``--events PATH`` cannot take the run's events, or None. A fresh run moves an earlier
    events file aside (NAME.events.1.jsonl...), so PATH must be new, empty, or an events file
    already: a config or any other file there would be renamed, and 5 runs later deleted. Its folder
    must exist: a typo made a folder tree anywhere, even at / (output_dir, from the config, is made).

    With the run's ``output_name`` (and its resolved ``output_dir``), PATH must not be another run's
    history either: OUTPUT_DIR/OTHER.events.jsonl (or OTHER.events.N.jsonl), or a file whose
    ``run_started`` names another output_name. That run's history would be moved aside and
    `loratui attach` would list this run under the other name. Nor this run's own rotated names
    (NAME.events.N.jsonl: the run moves its earlier file onto them) or a run's NAME.control.jsonl."""
    from loratui.core.events import _parse_any, events_path  # not at the top: core/events.py re-exports this

    path = Path(path)
    if path.name == "" or path.is_dir():
        return f"--events {path}: is a folder: give a file name ending in .jsonl"
    if path.parent.exists() and not path.parent.is_dir():
        return f"--events {path}: {path.parent} is a file, not a folder"
    if not path.parent.exists():
        return f"--events {path}: the folder {path.parent} does not exist: create it first (or fix the path)"
    if path.suffix != ".jsonl":
        return f"--events {path}: an events file name ends in .jsonl"
    standard = events_path(output_dir, output_name) if output_dir is not None else f"{output_name}.events.jsonl"
    own = f"leave out --events (this run's own file is {standard})"
    other = _standard_owner(path, output_dir) if output_name is not None else None
    if other is not None and other != output_name:  # attach would list this run under that name
        harm = [f"`loratui attach` would list this run as {other!r}"] if path.name == f"{other}.events.jsonl" else []
        if os.path.lexists(path):
            harm.append("the history it holds would be moved aside")
        why = f" ({', and '.join(harm)})" if harm else ""
        return (f"--events {path}: that is an events file of the run {other!r} in {path.parent}, not of "
                f"{output_name!r}{why}: give a new file name, or {own}")
    if other is not None and other == output_name and path.name != f"{output_name}.events.jsonl":
        # NAME.events.N.jsonl: the run rotates its own file onto it, and NAME.events.jsonl, which attach
        # and the app follow, would link to the moved-aside history, not to this run
        return (f"--events {path}: {path.name} is where the output's earlier events files are moved aside "
                f"({output_name}.events.1.jsonl, .2, ...), so `loratui attach` and the app would not follow this "
                f"run: {own}, or give any other .jsonl name")
    if path.name.endswith(".control.jsonl") and _standard_owner(path, output_dir, r"\.control") is not None:
        return f"--events {path}: that is a run's control file (its requests): give another .jsonl name, or {own}"
    try:
        with open(path, "rb") as handle:
            first = handle.readline(1 << 16)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"--events {path}: cannot read it ({exc.strerror or exc})"
    if first.strip() and _parse_any(first.decode("utf-8", "replace")) is None:
        return f"--events {path}: holds something else than loratui events: give a new file name"
    if output_name is None or other == output_name:  # its own standard file: what it writes without --events
        return None
    named = _run_started_name(path)
    if named is not None and named != output_name:
        return (f"--events {path}: holds the events of the run {named!r}, not of {output_name!r} (its history "
                f"would be moved aside): give a new file name, or {own}")
    return None


def _standard_owner(path: Path, output_dir: str | os.PathLike | None,
                    kind: str = r"\.events(?:\.\d+)?") -> str | None:
    """OTHER when ``path`` is OUTPUT_DIR/OTHER.events.jsonl or one of its rotated OTHER.events.N.jsonl
    (with ``kind`` ".control": OTHER.control.jsonl)."""
    if output_dir is None:
        return None
    match = re.fullmatch(rf"(.+){kind}\.jsonl", path.name)
    if match is None:
        return None
    try:
        same = path.parent.resolve() == Path(output_dir).resolve()
    except OSError:
        return None
    return match.group(1) if same else None


def _run_started_name(path: Path) -> str | None:
    """The output_name of the first run_started in the file's first 256 KiB, or None."""
    from loratui.core.events import _parse_any  # not at the top: core/events.py re-exports this module's names

    try:
        with open(path, "rb") as handle:
            head = handle.read(1 << 18)
    except OSError:
        return None
    for line in head.split(b"\n"):
        if b'"run_started"' in line:
            event = _parse_any(line.decode("utf-8", "replace"))
            if event is not None and event["event"] == "run_started":
                name = event.get("output_name")
                return name if isinstance(name, str) and name else None
    return None
