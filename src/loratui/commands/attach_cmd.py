"""`loratui attach OUTPUT_DIR`: the live and past runs of an output folder, and the app on one."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from loratui.commands.help_text import exit_codes
from loratui.commands.options import json_line
from loratui.core.config import output_dir_of
from loratui.core.errors import LoratuiError
from loratui.core.termline import shell_arg, shell_path


def _row(index: int, summary) -> str:
    updated = time.strftime("%Y-%m-%d %H:%M", time.localtime(summary.updated)) if summary.updated else "-"
    return f"{index:>3}  {summary.describe()}  (updated {updated})"


@click.command()
@exit_codes((0, "done: listed, or the app closed"),
            (2, "no such folder or config, no runs (the folders looked in are named), runs in several of a "
                "project's folders, no such run (or earlier run), several runs off a terminal without --run, "
                "no terminal for the app (the runs are listed first: --list only lists them)"),
            (130, "interrupted"))
@click.argument("output_dir", metavar="OUTPUT_DIR", type=click.Path(path_type=Path))
@click.option("--run", "name", metavar="NAME", help="Open this run (its output_name) without asking.")
@click.option("--earlier", type=click.IntRange(1), metavar="N",
              help="An earlier run of NAME (NAME.events.N.jsonl, 1 the newest, as listed): open it read-only.")
@click.option("--list", "list_only", is_flag=True, help="Only list the runs (works without a terminal).")
@click.option("--json", "as_json", is_flag=True, help="With --list: one JSON object per run.")
def attach(output_dir: Path, name: str | None, earlier: int | None, list_only: bool, as_json: bool) -> None:
    """List the runs of OUTPUT_DIR (live first) and open the app following one.

    OUTPUT_DIR may also be a config .toml (its output_dir is used), or a project, dataset or concept
    folder without runs of its own: its config's output_dir (as `loratui PATH` finds the config; any
    other config .toml in it too) or its model/ folder, when exactly one of those holds runs.

    A run is live while the process holding OUTPUT_DIR/NAME.lock runs (started by the app or by
    `loratui train` in a shell), finished once its events end with `finished`, and crashed when
    its process is gone without one; crashed runs, and runs that ended in an error, show the last lines of
    their log. An events file
    that is empty, holds no readable event, or is a link to a file gone since is said so instead
    (a damaged line is skipped; a folder named NAME.events.jsonl is no run). The app follows
    the chosen run from its start; the run itself is never touched by following it.

    A new run of the same NAME moves the last one's events aside (NAME.events.1.jsonl, up to .5;
    with `train --events FILE` elsewhere, beside FILE, found through the NAME.events.jsonl link):
    those are listed after NAME as "NAME (earlier run N)", newest first; --earlier N (with --run
    NAME when there are several names) opens one read-only: its loss chart, and its checkpoints
    where they are now (a later run moves them into NAME-kept-<time>/).
    """
    from loratui.core.runs import last_log_lines

    given_config = output_dir if output_dir.is_file() else None
    output_dir, runs = runs_folder(output_dir)
    if earlier is not None:
        runs = [_choose_earlier(runs, name, earlier)]
    elif name is not None:
        runs = [_choose(runs, name)]  # --list / --json with --run: that run only (exit 2 when it is not here)
    if as_json:
        for summary in runs:
            click.echo(json_line({"name": summary.name, "earlier": summary.earlier, "status": summary.status,
                                   "reason": summary.reason,
                                   "pid": summary.pid, "step": summary.step, "total_steps": summary.total_steps,
                                   "epoch": summary.epoch, "events": str(summary.events_file),
                                   "config": str(summary.record.config) if summary.record.config else None,
                                   "problem": summary.problem}))
        return
    for index, summary in enumerate(runs, 1):
        click.echo(_row(index, summary))
        # an error's end is told as a crash's is: its last lines hold the error (a full disk's names the state
        # to resume from) and the last save
        if summary.status == "crashed" or (summary.status == "finished" and summary.reason == "error"):
            for line in last_log_lines(output_dir, summary.name, 3, summary.earlier):
                click.echo(f"       | {line}")
    if list_only:
        return
    chosen = runs[0] if earlier is not None else _choose(runs, name)
    config = chosen.record.config
    if config is None or not config.is_file():
        config = given_config  # `attach CONFIG`: the app opens on it when the run does not name one
    target = config if config is not None and config.is_file() else output_dir.resolve().parent
    from loratui.tui.launch import run_app

    try:
        run_app(target, attach=output_dir, attach_run=chosen.name, attach_earlier=chosen.earlier)
    except LoratuiError:
        if _has_terminal():
            raise
        # the runs are listed above: say how to open one, not only that the app cannot open here
        command = f"loratui attach {shell_arg(output_dir)} --run {shell_arg(chosen.name)}"
        if chosen.earlier:
            command += f" --earlier {chosen.earlier}"
        raise LoratuiError(f"no terminal here for the app to follow {chosen.name} (the runs are listed above): "
                           f"run `{command}` in a terminal, or pass --list to only list them") from None


NOT_FOUND_HINT = "give the output_dir of a config (model/ in the demo), the config .toml, or its project folder"


def runs_folder(path: Path) -> tuple[Path, list]:
    """(the output folder, its runs) that PATH names: an output folder with runs; a config .toml: its
    output_dir; a project (or dataset, concept) folder: the one folder with runs among its configs'
    output_dirs and model/. Nothing found: LoratuiError naming every folder looked in."""
    from loratui.core.runs import list_runs

    if not path.exists():
        raise LoratuiError(f"{path}: no such folder or config: {NOT_FOUND_HINT}")
    if path.is_file():
        if path.suffix.lower() != ".toml":
            raise LoratuiError(f"{path}: not a folder or a config .toml: {NOT_FOUND_HINT}")
        folder = output_dir_of(path)
        runs = list_runs(folder) if folder.is_dir() else []
        if not runs:
            raise LoratuiError(f"{path}: no runs in its output_dir {shell_path(folder)} yet (no NAME.events.jsonl): "
                               f"start one with `loratui train {shell_arg(path)}`")
        return folder, runs
    runs = list_runs(path)
    if runs:
        return path, runs
    looked = _output_folders(path)
    found = [(folder, runs) for folder in looked if (runs := list_runs(folder))]
    if len(found) == 1:
        folder = found[0][0]
        click.echo(f"note: runs of {shell_path(path)} are in {shell_path(folder)} "
                   f"(`loratui attach {shell_path(folder)}` opens them directly)", err=True)
        return found[0]
    if found:
        raise LoratuiError(f"{path}: runs in {len(found)} folders ({', '.join(shell_path(f) for f, _ in found)}): "
                           "give one of them: `loratui attach FOLDER`")
    where = f" nor in {', '.join(shell_path(f) for f in looked)}" if looked else ""
    raise LoratuiError(f"{path}: no runs here{where} (no NAME.events.jsonl): start one with `loratui train CONFIG`")


_TOML_LOOKS = 20  # .toml files of a folder tried as configs (a project holds one or a few)


def _output_folders(path: Path) -> list[Path]:
    """The folders a project's runs would be in: the output_dir of each config .toml in PATH and in its
    project folder (found as `loratui PATH` finds it: a dataset or concept folder's project), then their
    model/ folders (the demo's and the README's); existing ones only, PATH itself left out."""
    bases = [path, *_project_of(path)]
    configs = [config for base in bases for config in sorted(base.glob("*.toml"))[:_TOML_LOOKS]]
    folders: list[Path] = []
    for config in configs:
        try:
            folders.append(output_dir_of(config))
        except LoratuiError:
            continue  # sd-scripts' own TOML, a tag recipe, a broken config: no output_dir to read
    folders += [base / "model" for base in bases]
    seen, unique = {path.resolve()}, []
    for folder in folders:
        if folder.is_dir() and folder.resolve() not in seen:
            seen.add(folder.resolve())
            unique.append(folder)
    return unique


def _project_of(path: Path) -> list[Path]:
    """The project folder above a dataset (img/) or concept folder, as core.dataset locates it; [] when
    PATH is one itself or has none."""
    from loratui.core.dataset import locate_dataset

    try:
        location = locate_dataset(path)
    except (LoratuiError, OSError):
        return []
    project = location.project_dir
    if project is None and location.kind == "dataset" and Path(os.path.abspath(path)).name == "img":
        project = Path(os.path.abspath(path)).parent  # img/ of a project: as a concept folder's img/ is
    return [project] if project is not None and project.resolve() != path.resolve() else []


def _has_terminal() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def _names(runs: list) -> str:
    return ", ".join(dict.fromkeys(r.name for r in runs))


def _choose(runs: list, name: str | None):
    """The run NAME (its latest), or the one run, or the one asked for at a prompt."""
    if name is not None:
        for summary in runs:
            if summary.name == name:  # the latest first: earlier runs follow their name in the list
                return summary
        raise LoratuiError(f"no run named {name!r} here (runs: {_names(runs)})")
    latest = [summary for summary in runs if not summary.earlier]
    if len(runs) == 1 or len(latest) == 1 and not _has_terminal():  # its earlier runs: --earlier N opens one
        return latest[0] if latest else runs[0]
    if not _has_terminal():
        raise LoratuiError("several runs here: pass --run NAME (or --list to only list them)")
    index = click.prompt("open which run", type=click.IntRange(1, len(runs)), default=1)
    return runs[index - 1]


def _choose_earlier(runs: list, name: str | None, earlier: int):
    """--earlier N: NAME's earlier run N (NAME may be left out when one name has runs here)."""
    names = list(dict.fromkeys(r.name for r in runs))
    if name is None:
        if len(names) > 1:
            raise LoratuiError(f"--earlier {earlier}: several runs here ({_names(runs)}): pass --run NAME too")
        name = names[0]
    for summary in runs:
        if summary.name == name and summary.earlier == earlier:
            return summary
    have = [f"{r.earlier}" for r in runs if r.name == name and r.earlier]
    if name not in names:
        raise LoratuiError(f"no run named {name!r} here (runs: {_names(runs)})")
    listed = f"its earlier runs here: --earlier {', '.join(have)}" if have else "it has no earlier runs here"
    raise LoratuiError(f"no earlier run {earlier} of {name!r} (no {name}.events.{earlier}.jsonl here, nor beside "
                       f"the --events file {name}.events.jsonl links to): {listed}")
