"""The `loratui` command line: one click group whose subcommands are imported lazily.

Each command group lives in its own module under ``loratui.commands`` so that `loratui steps`
never pays for importing torch, and the TUI (a bare `loratui`) starts fast.
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import importlib
import os
import signal
import sys
import threading
import time
from typing import NoReturn


def _quiet_interrupt(signum, frame) -> None:
    """A Ctrl-C while this module's imports run (up to a second on a loaded machine): "interrupted", exit 130,
    never a KeyboardInterrupt traceback from deep inside an import. Nothing is written yet to flush."""
    try:
        os.write(2, b"interrupted\n")
    finally:
        os._exit(130)


# held from here to the end of this module (main() then installs the command's own handling)
_held_sigint = signal.signal(signal.SIGINT, _quiet_interrupt) \
    if threading.current_thread() is threading.main_thread() \
    and signal.getsignal(signal.SIGINT) is signal.default_int_handler else None

import click  # noqa: E402 - after the quiet handler: the imports below take most of the start-up time

from loratui import __version__  # noqa: E402
from loratui.commands.help_text import exit_codes  # noqa: E402
from loratui.commands.options import json_line  # noqa: E402
from loratui.core.errors import LoratuiError  # noqa: E402
from loratui.core.process_exit import exit_without_teardown  # noqa: E402

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
            (130, "interrupted"),
            (141, "stdout closed by its reader (`| head`): stopped, with \"stdout closed (broken pipe): stopped\" "
                  "on stderr; `train` goes on instead (its events stay in its events file)"))
@click.version_option(__version__, prog_name="loratui")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """loratui: LoRA training for Stable Diffusion in the terminal.

    `loratui` alone opens the app on the current folder; `loratui PATH` opens it on a project,
    dataset or concept folder, or a config .toml (a command name always wins: `loratui ./train`
    for a folder named train). The commands below do the same work headless; each one's --help
    lists its own exit codes.

    With --json (or --json-events) stdout holds only JSON, and a command that fails before printing
    its JSON prints {"error": MESSAGE, "exit_code": N} instead (an event stream: an "error" event
    with those fields too), besides the usual "error:" line on stderr.
    """
    if ctx.invoked_subcommand is None:
        from loratui.tui.launch import run_app

        run_app(".")


def _app_target(args: list[str]) -> str | None:
    """The PATH of `loratui PATH` (not a command, not an option), or None."""
    if len(args) == 1 and args[0] not in COMMANDS and not args[0].startswith("-"):
        return args[0]
    return None


TOP_HELP = ("--help", "-h", "--version")  # `loratui --help | head -1`: a closed pipe is said as a command's (141)
EXIT_STDOUT_CLOSED = 141  # 128 + SIGPIPE: what a shell reports for a command whose reader closed the pipe


class StdoutWatch:
    """sys.stdout while a command runs: notes whether anything was written (a --json command that
    failed before printing its JSON), whether an ``error`` event went out (an event stream ends with
    one, not two), and whether the reader closed the pipe (`| head`). Everything else is the stream's."""

    def __init__(self, stream):
        self.stream = stream
        self.wrote = False
        self.error_event = False
        self.broken = False
        self.failed: OSError | None = None  # the last error writing stdout (ENOSPC: its disk is full)

    def write(self, data):
        try:
            written = self.stream.write(data)
        except OSError as exc:
            self.broken = self.broken or exc.errno == errno.EPIPE
            self.failed = exc
            raise
        if data:
            self.wrote = True
            self.error_event = self.error_event or (isinstance(data, str) and '"event": "error"' in data)
        return written

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self.stream.flush()
        except OSError as exc:
            self.broken = self.broken or exc.errno == errno.EPIPE
            self.failed = exc
            raise

    def __getattr__(self, name):
        return getattr(self.stream, name)


def json_mode(args: list[str]) -> str | None:
    """What stdout holds for this command line: "events" (JSON lines a follower reads: --json-events,
    and `train --json`), "object" (--json: one JSON document), or None. Only options before a "--"."""
    head = args[:args.index("--")] if "--" in args else args
    if "--json-events" in head:
        return "events"
    if "--json" in head:
        return "events" if head[:1] == ["train"] else "object"
    return None


class _Outcome:
    """How a failure reaches a script that reads stdout: with --json (or --json-events) one last JSON
    line, {"error": MESSAGE, "exit_code": N}, unless the command already printed its JSON (lora's own
    {"error": ...}, a tags plan before its refusal); on an event stream the line is also an ``error``
    event (with "message"), unless the command already emitted one. The stderr line and the exit code
    are as without --json."""

    def __init__(self, args: list[str], watch: StdoutWatch | None):
        self.mode = json_mode(args) if watch is not None else None
        self.watch = watch

    def json_error(self, message: str, code: int, **extra) -> None:
        watch = self.watch
        if self.mode is None or watch.broken:
            return
        if watch.error_event or (self.mode == "object" and watch.wrote):
            return
        line = {"error": message, "exit_code": code}
        if self.mode == "events":
            line = {"event": "error", "message": message, **extra, **line}
        try:
            click.echo(json_line(line))
        except (OSError, ValueError):
            pass

    def fail(self, line: str, code: int, **extra) -> NoReturn:
        """``line`` on stderr ("error: ..." or the like), its message as JSON where asked, exit ``code``."""
        click.echo(line, err=True)
        self.json_error(line.removeprefix("error: "), code, **extra)
        sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """The entry point: every failure ends as one line on stderr and an exit code, never a traceback.

    A LoratuiError (the user's problem) is ``error: ...``, exit 2, and so is an OSError naming a
    file; anything else is a bug: ``internal error: TYPE: MESSAGE (details in LOG)``, exit 1, with
    the traceback in the user cache folder (core/crashlog.py). ``LORATUI_DEBUG=1`` shows it instead.
    With --json a failure also ends stdout with one JSON line (``_Outcome``). A reader that closes
    stdout (`| head`) stops the command: one line on stderr, exit 141; `train` goes on instead
    (core/events.py EventWriter stops echoing and keeps the events file). A command that imported torch
    then ends without Python's seconds of teardown (core/process_exit.py).
    """
    args = sys.argv[1:] if argv is None else list(argv)
    stdout, stderr = sys.stdout, sys.stderr
    watch = StdoutWatch(stdout) if args[:1] and (args[0] in COMMANDS or args[0] in TOP_HELP) and stdout is not None \
        else None
    if watch is not None:
        sys.stdout = watch
    done, code = False, None
    try:
        _main(args, watch)
        done = True
    except SystemExit as exc:
        done, code = True, exc.code
        raise
    finally:
        if watch is not None:  # click swaps both for wrappers on a broken pipe; an in-process caller gets its own back
            sys.stdout, sys.stderr = stdout, stderr
        if argv is None:
            _done_ignores_sigint()
            if done:  # finished (the app's screen given back too), not a traceback to show: no torch teardown
                exit_without_teardown(code)


def _done_ignores_sigint() -> None:
    """The command is over (its output printed, its exit code decided): a Ctrl-C while Python shuts down
    (seconds, tearing down torch's modules after `lora convert`) no longer turns a finished job into a
    silent exit 130. Only for the process's own entry point, on the main thread."""
    if threading.current_thread() is threading.main_thread():
        with contextlib.suppress(ValueError, OSError):
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def _main(args: list[str], watch: StdoutWatch | None) -> None:
    from loratui.core.crashlog import debug_enabled, one_line

    global _sigint_seen, _stop_signal
    _sigint_seen, _stop_signal = False, 0  # an in-process caller's earlier Ctrl-C does not make this one exit 130
    outcome = _Outcome(args, watch)
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
        with _launch_time_set(args), _sigint_noted(args):
            cli.main(args=args, prog_name="loratui", standalone_mode=False)
        sys.stdout.flush()  # a print() the pipe's reader left before: said here, not as an exit-time traceback
    except SystemExit:
        # click turns a broken pipe into exit 1, swapping sys.stdout for a wrapper first
        if watch is not None and watch.broken and sys.stdout is not watch:
            _stdout_closed(watch)
        _flush_or_closed(watch)
        raise
    except LoratuiError as exc:
        _interrupted_if_sigint(outcome, exc)
        outcome.fail(f"error: {exc}", getattr(exc, "exit_code", 2))  # 1: a write stopped part-way
    except click.exceptions.Abort as exc:
        cause = exc.__cause__ or exc.__context__  # click turns Ctrl-C into Abort: keep what the work said
        said = str(cause) if isinstance(cause, KeyboardInterrupt) and cause.args else \
            "interrupted" if _sigint_seen else "aborted"
        outcome.fail(said, _interrupt_code())
    except click.exceptions.NoArgsIsHelpError as exc:
        # `loratui lora` with no subcommand: click raises this UsageError with the whole help as its
        # message; it is a request for the help, shown as --help shows it (stdout, exit 0)
        click.echo(exc.ctx.get_help(), color=exc.ctx.color)
        sys.exit(0)
    except click.ClickException as exc:
        if isinstance(exc, click.UsageError):  # a bad option or argument: one line, like every other bad input
            where = exc.ctx.command_path if exc.ctx is not None else "loratui"
            outcome.fail(f"error: {exc.format_message()} (`{where} --help` lists what it takes)", exc.exit_code)
        exc.show()
        outcome.json_error(exc.format_message(), exc.exit_code)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt as exc:
        outcome.fail(str(exc) if exc.args else "interrupted", _interrupt_code())
    except BrokenPipeError:
        _stdout_closed(watch)
    except OSError as exc:
        _interrupted_if_sigint(outcome)
        if debug_enabled():
            raise
        _disk_full(exc, args, outcome, watch)
        if not exc.filename:
            _internal(exc, args, outcome)
        from loratui.core.fsutil import describe_os_error

        outcome.fail(f"error: {one_line(str(exc.filename))}: {one_line(describe_os_error(exc))}", 2)
    except Exception as exc:  # noqa: BLE001 - the last resort: a bug, reported in one line
        _interrupted_if_sigint(outcome)
        if debug_enabled():
            raise
        _disk_full(exc, args, outcome, watch)
        _internal(exc, args, outcome)


_sigint_seen = False  # set by _note_sigint: a Ctrl-C arrived during this command


_stop_signal = 0  # the SIGTERM / SIGHUP (_stops_taken) that stopped this command; 0: none or Ctrl-C


def _note_sigint(signum, frame) -> None:
    """Python's default SIGINT handling (KeyboardInterrupt), noted first: a Ctrl-C that lands inside an import
    (numpy, diffusers) can come out of it as another exception (RecursionError, diffusers' "Failed to import
    ..."), which is then the user's interrupt (exit 130), not a bug with a crash log. A SIGTERM or SIGHUP
    taken by _stops_taken stops the same way (its exit code: _interrupt_code)."""
    global _sigint_seen, _stop_signal
    _sigint_seen = True
    if signum != signal.SIGINT and not _stop_signal:
        _stop_signal = signum
    raise KeyboardInterrupt


def _opens_app(args: list[str]) -> bool:
    """Whether the command opens the app: bare `loratui`, `attach`, `demo` without --headless. Textual runs
    asyncio.run, whose Runner installs its graceful Ctrl-C (cancel the main task) only over Python's default
    handler, so _sigint_noted leaves these alone."""
    words = [arg for arg in args if not arg.startswith("-")]  # the group takes no option with a value
    if not words:
        return True
    return words[0] == "attach" or (words[0] == "demo" and "--headless" not in args)


@contextlib.contextmanager
def _sigint_noted(args: list[str]):
    """_note_sigint as the SIGINT handler while a command runs, where Python's default one is in place (not
    where SIGINT is ignored, e.g. a background job, nor off the main thread, nor for a command that opens the
    app); a command that sets its own (train's graceful stop) keeps it."""
    global _sigint_seen
    _sigint_seen = False
    if threading.current_thread() is not threading.main_thread() or _opens_app(args) or \
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    signal.signal(signal.SIGINT, _note_sigint)
    stops = _stops_taken(args)
    try:
        yield
    finally:
        if signal.getsignal(signal.SIGINT) is _note_sigint:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        for sig in stops:
            if signal.getsignal(sig) is _note_sigint:
                signal.signal(sig, signal.SIG_DFL)


# the commands whose SIGTERM / SIGHUP stop as Ctrl-C does (a line, their temp files removed, exit 128 + the
# signal) instead of killing the process part-way: `tags` writes thousands of captions through writer threads
STOPPED_LIKE_SIGINT = ("tags",)


def _stops_taken(args: list[str]) -> list[int]:
    """SIGTERM and SIGHUP, where nothing handles them yet, noted as _note_sigint notes a Ctrl-C, for the
    commands in STOPPED_LIKE_SIGINT; the signals so taken."""
    taken = []
    if args[:1] and args[0] in STOPPED_LIKE_SIGINT:
        for name in ("SIGTERM", "SIGHUP"):
            sig = getattr(signal, name, None)
            if sig is not None and signal.getsignal(sig) is signal.SIG_DFL:
                signal.signal(sig, _note_sigint)
                taken.append(sig)
    return taken


def _interrupt_code() -> int:
    """The exit code of an interrupted command: 130 for Ctrl-C, 128 + the signal for a SIGTERM (143) or
    SIGHUP (129) that _stops_taken turned into the same stop."""
    return 128 + _stop_signal if _stop_signal else 130


def _interrupted_if_sigint(outcome: _Outcome, error: LoratuiError | None = None) -> None:
    """Any failure after a Ctrl-C is the interrupt: the usual line and exit 130, no crash log. loratui's own
    error keeps its text (it names the file or field): "interrupted: MESSAGE"."""
    if _sigint_seen:
        outcome.fail(f"interrupted: {error}" if error is not None else "interrupted", _interrupt_code())


def _flush_or_closed(watch: StdoutWatch | None) -> None:
    """Flush stdout before exiting: a pipe its reader closed is said as such (exit 141), not left to the
    interpreter's exit-time flush (a traceback-like "Exception ignored" and exit 120)."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _stdout_closed(watch)
    except (OSError, ValueError, AttributeError):
        pass


def _stdout_closed(watch: StdoutWatch | None) -> NoReturn:
    """The reader of stdout went away (`loratui caption ... --json-events | head -30`): stop as the shell's
    own tools do, with one line on stderr and exit 141 (128 + SIGPIPE). What the command wrote so far
    stays (a caption run's files, its undo journal and resume record). stdout then points at the null
    device, so that what its buffer still holds is not flushed at exit into the closed pipe again."""
    from loratui.core.termline import silence_stream

    silence_stream(watch.stream if watch is not None else sys.__stdout__, "stdout closed (broken pipe): stopped")
    sys.exit(EXIT_STDOUT_CLOSED)


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


def _disk_full(exc: BaseException, args: list[str], outcome: _Outcome, watch: StdoutWatch | None = None) -> None:
    """A full disk (ENOSPC, torch.save's 'unexpected pos', ...) is the user's problem: one line, exit 2.
    Where the write that failed was stdout's (`> /dev/full`, a file on a full disk), the line says so."""
    from loratui.core.diskspace import disk_full_message

    if _stdout_full(exc, watch):
        where = _stdout_target()
        _silence_stdout(watch)
        outcome.fail(f"error: standard output could not be written (disk full{': ' + where if where else ''}): "
                     "free some space or send the output elsewhere, and run it again", 2, kind="disk_full")
    try:
        message = disk_full_message(exc, None)
    except Exception:  # noqa: BLE001 - never let the explanation hide the error
        return
    if message is None:
        return
    outcome.fail(f"error: {message}", 2, kind="disk_full")


def _internal(exc: BaseException, args: list[str], outcome: _Outcome) -> None:
    """A bug: the traceback to a log file, one line to the user (and to a --json reader), exit 1."""
    from loratui.core.crashlog import internal_error_line, write_crash_log

    line = internal_error_line(exc, write_crash_log(exc, argv=args))
    try:
        click.echo(line, err=True)
        outcome.json_error(line, 1, kind="internal")
    except Exception:  # noqa: BLE001 - stderr itself is gone
        pass
    sys.exit(1)


def _stdout_full(exc: BaseException, watch: StdoutWatch | None) -> bool:
    """Whether ``exc`` is stdout's own write failing for a full disk (ENOSPC on a write of no named file)."""
    failed = watch.failed if watch is not None else None
    return (failed is not None and failed.errno == errno.ENOSPC and isinstance(exc, OSError)
            and exc.errno == errno.ENOSPC and not exc.filename)


def _stdout_target() -> str:
    """Where stdout goes (a file's path, /dev/full), as /proc tells; "" where it cannot."""
    try:
        target = os.readlink("/proc/self/fd/1")
    except OSError:
        return ""
    return target if target.startswith("/") else ""


def _silence_stdout(watch: StdoutWatch | None) -> None:
    """stdout to the null device, so that what its buffer still holds is not flushed at exit onto the full disk
    again (an "Exception ignored" traceback and exit 120 instead of the one line)."""
    from loratui.core.termline import silence_stream

    try:
        silence_stream(watch.stream if watch is not None else sys.__stdout__, "")
    except Exception:  # noqa: BLE001 - the error line matters more
        pass


if _held_sigint is not None and signal.getsignal(signal.SIGINT) is _quiet_interrupt:
    signal.signal(signal.SIGINT, _held_sigint)  # an importer (a test, the app) keeps Python's own Ctrl-C
