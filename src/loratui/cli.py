"""The `loratui` command line: one click group whose subcommands are imported lazily.

Each command group lives in its own module under ``loratui.commands`` so that `loratui steps`
never pays for importing torch, and the TUI (a bare `loratui`) starts fast.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import json
import os
import sys
import time

import click

from loratui import __version__
from loratui.commands.help_text import exit_codes
from loratui.core.errors import LoratuiError

# name -> (module, attribute, one-line help shown in `loratui --help` without importing it)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "dataset": ("loratui.commands.dataset_cmd", "dataset", "Scan, lay out and balance kohya-style datasets."),
    "tags": ("loratui.commands.tags_cmd", "tags", "Bulk caption-tag operations: freq, add, remove, replace, ..."),
    "config": ("loratui.commands.config_cmd", "config", "Create, check, import (kohya_ss JSON) and export configs."),
    "presets": ("loratui.commands.presets_cmd", "presets", "List VRAM presets and apply one to a config."),
    "steps": ("loratui.commands.steps_cmd", "steps", "Steps/epochs breakdown for a config (sd-scripts arithmetic)."),
    "vram": ("loratui.commands.vram_cmd", "vram", "Estimate peak training VRAM for a config, with a breakdown."),
    "caption": ("loratui.commands.caption_cmd", "caption", "Caption images with WD14 or BLIP/BLIP2/GIT, headless."),
    "train": ("loratui.commands.train_cmd", "train", "Train a LoRA from a config (headless, resumable)."),
    "lora": ("loratui.commands.lora_cmd", "lora", "Look inside LoRA/LyCORIS files; convert LyCORIS to plain LoRA for diffusers."),
    "attach": ("loratui.commands.attach_cmd", "attach", "List the live and past runs of an output folder; follow one in the app."),
    "demo": ("loratui.commands.demo_cmd", "demo", "Try loratui on a built-in demo project (the app, or --headless)."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        spec = COMMANDS.get(name)
        if spec is None:
            return None
        module_name, attr, _ = spec
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return None  # command not built yet
            raise
        return getattr(module, attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@exit_codes((0, "done"),
            (1, "problems found (check commands) or a run failed; an unexpected failure is \"internal error: "
                "...\" with the details in a log file (LORATUI_DEBUG=1 shows them)"),
            (2, "bad input (nothing changed)"), (3, "a caption run completed but some images failed"),
            (130, "interrupted"))
@click.version_option(__version__, prog_name="loratui")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """loratui: LoRA training for Stable Diffusion in the terminal.

    `loratui` alone opens the app on the current folder; `loratui PATH` opens it on a project,
    dataset or concept folder, or a config .toml (a command name always wins: `loratui ./train`
    for a folder named train). The commands below do the same work headless; each one's --help
    lists its own exit codes.
    """
    if ctx.invoked_subcommand is None:
        from loratui.tui.launch import run_app

        run_app(".")


def _app_target(args: list[str]) -> str | None:
    """The PATH of `loratui PATH` (not a command, not an option), or None."""
    if len(args) == 1 and args[0] not in COMMANDS and not args[0].startswith("-"):
        return args[0]
    return None


def main(argv: list[str] | None = None) -> None:
    """The entry point: every failure ends as one line on stderr and an exit code, never a traceback.

    A LoratuiError (the user's problem) is ``error: ...``, exit 2, and so is an OSError naming a
    file; anything else is a bug: ``internal error: TYPE: MESSAGE (details in LOG)``, exit 1, with
    the traceback in the user cache folder (core/crashlog.py). ``LORATUI_DEBUG=1`` shows it instead.
    """
    from loratui.core.crashlog import debug_enabled, one_line

    args = sys.argv[1:] if argv is None else list(argv)
    try:
        target = _app_target(args)
        if target is not None:
            from loratui.tui.launch import run_app

            close = difflib.get_close_matches(target, list(COMMANDS), n=1, cutoff=0.75)
            if close and not os.path.lexists(target):  # `loratui trian`: a typo of a command, not a path
                raise LoratuiError(f"{target}: no such command or folder: did you mean `loratui {close[0]}`? "
                                   "(`loratui --help` lists the commands)")

            run_app(target)
            return
        with _launch_time_set(args):
            cli.main(args=args, prog_name="loratui", standalone_mode=False)
    except LoratuiError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(getattr(exc, "exit_code", 2))  # 1 for a write that stopped part-way (PartialWriteError)
    except click.exceptions.Abort as exc:
        cause = exc.__cause__ or exc.__context__  # click turns Ctrl-C into Abort: keep what the work said
        said = str(cause) if isinstance(cause, KeyboardInterrupt) and cause.args else "aborted"
        click.echo(said, err=True)
        sys.exit(130)
    except click.exceptions.NoArgsIsHelpError as exc:
        # `loratui lora` with no subcommand: click raises this UsageError with the whole help as its
        # message; it is a request for the help, shown as --help shows it (stdout, exit 0)
        click.echo(exc.ctx.get_help(), color=exc.ctx.color)
        sys.exit(0)
    except click.ClickException as exc:
        if isinstance(exc, click.UsageError):  # a bad option or argument: one line, like every other bad input
            where = exc.ctx.command_path if exc.ctx is not None else "loratui"
            click.echo(f"error: {exc.format_message()} (`{where} --help` lists what it takes)", err=True)
        else:
            exc.show()
        if "--json-events" in (sys.argv[1:] if argv is None else argv):  # a follower reads stdout only
            click.echo(json.dumps({"event": "error", "message": exc.format_message()}, ensure_ascii=False))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt as exc:
        click.echo(str(exc) if exc.args else "interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except OSError as exc:
        if debug_enabled():
            raise
        _disk_full(exc, args)
        if not exc.filename:
            _internal(exc, args)
        from loratui.core.fsutil import describe_os_error

        click.echo(f"error: {one_line(str(exc.filename))}: {one_line(describe_os_error(exc))}", err=True)
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001 - the last resort: a bug, reported in one line
        if debug_enabled():
            raise
        _disk_full(exc, args)
        _internal(exc, args)


@contextlib.contextmanager
def _launch_time_set(args: list[str]):
    """`loratui train` from a shell: the run's launch time (for its control requests, core/run_control.py)
    is when this process (or its torchrun agent) started, unless the app that launched it said; where
    /proc cannot tell (macOS), now: before torch is imported and the model loads, so a request made
    meanwhile still counts. Unset again after, so an in-process caller's next run does not inherit it."""
    from loratui.core.run_control import LAUNCHED_AT_ENV, process_launch_time

    if args[:1] != ["train"] or os.environ.get(LAUNCHED_AT_ENV):
        yield
        return
    launched = process_launch_time() or time.time()
    os.environ[LAUNCHED_AT_ENV] = f"{launched:.3f}"
    try:
        yield
    finally:
        os.environ.pop(LAUNCHED_AT_ENV, None)


def _disk_full(exc: BaseException, args: list[str]) -> None:
    """A full disk (ENOSPC, torch.save's 'unexpected pos', ...) is the user's problem: one line, exit 2."""
    from loratui.core.diskspace import disk_full_message

    try:
        message = disk_full_message(exc, None)
    except Exception:  # noqa: BLE001 - never let the explanation hide the error
        return
    if message is None:
        return
    click.echo(f"error: {message}", err=True)
    if "--json-events" in args:
        click.echo(json.dumps({"event": "error", "message": message, "kind": "disk_full"}, ensure_ascii=False))
    sys.exit(2)


def _internal(exc: BaseException, args: list[str]) -> None:
    """A bug: the traceback to a log file, one line to the user (and to a --json-events follower),
    exit 1."""
    from loratui.core.crashlog import internal_error_line, write_crash_log

    line = internal_error_line(exc, write_crash_log(exc, argv=args))
    try:
        click.echo(line, err=True)
        if "--json-events" in args:
            click.echo(json.dumps({"event": "error", "message": line, "kind": "internal"}, ensure_ascii=False))
    except Exception:  # noqa: BLE001 - stderr itself is gone
        pass
    sys.exit(1)
