"""The Train screen's dialogs: the runs to follow (or a new one to start), the exact command before a
start, and a number of epochs to extend by.

``RunPicker`` lists the runs of the output folders (live first: lock owner alive; then finished and
crashed ones by their events files) and dismisses with ("new", None), ("follow", RunSummary) or None.
The run the Train screen follows now is marked "(following)". A crashed run shows as CRASHED with
the last lines of its log, newest last, each cut to the width (at 80x24 the last one always shows).
The earlier runs of a NAME (their events moved aside to NAME.events.N.jsonl by a later run) follow
it, newest first, as "NAME (earlier run N)": enter shows one read-only.
``list_for_picker`` gathers them (in a thread); ``run_service(app)`` is the App's RunService.
``StartDialog`` shows the command a start runs (``loratui train ...``, with ``--processes N`` for
several processes), rebuilt by its caller's ``build(processes)`` as the number changes; it
dismisses with the RunCommand or None; ``start_warnings`` are the lines it shows above the command
(the last run's files a new one overwrites or moves aside, Settings changes it ignores).
``NumberDialog`` asks for a whole number (at least 1). ``state_named`` and ``error_setting`` word a
run's state and the setting its error names for the Train screen.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from rich.segment import Segment
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.strip import Strip
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from loratui.core.errors import LoratuiError
from loratui.tui.screens.config_dialogs import dialog_css
from loratui.tui.screens.run_dialogs import NumberDialog, StartDialog, _AskDialog  # noqa: F401 - split out, importable here
from loratui.tui.services.runs import RunService, RunSnapshot
from loratui.tui.services.terminal_graphics import ascii_only

MARKS = {"live": "● LIVE", "finished": "✓", "crashed": "✗ CRASHED"}
REASONS = {"completed": "✓ COMPLETED", "stopped": "■ STOPPED", "error": "✗ ERROR"}


@dataclass
class RunEntry:
    """A run for the picker: its summary (core.runs.RunSummary), when it crashed its log's end, and when
    it is not live the newest state a resume continues from (``RunSummary.newest_state``)."""

    summary: object
    log: list[str] = field(default_factory=list)
    state: tuple | None = None  # (the folder --resume names, the one the engine reads, its step)
    log_file: bool = True  # ``log`` is the end of NAME.log; False: of its events (a run started from a shell)


def age_text(mtime: float, now: float | None = None) -> str:
    seconds = max(0, (now or time.time()) - mtime)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return "just now"


FOLLOWING = "(following)"  # the run the Train screen shows now: a word, not only a colour
CRASH_LOG_LINES = 5         # the log lines a crashed run's detail shows (one screen line each)


def run_label(summary, *, with_folder: bool = False, following: bool = False) -> str:
    mark = REASONS.get(summary.reason or "", MARKS["finished"]) if summary.status == "finished" else \
        MARKS.get(summary.status, summary.status.upper())
    if getattr(summary, "problem", None) is not None and summary.status == "crashed":
        mark = "? NO EVENTS"  # an empty, damaged or gone events file: not a run that crashed
    total = f"/{summary.total_steps:,}" if summary.total_steps else ""
    folder = f" ({summary.output_dir.name})" if with_folder else ""
    now = f" {FOLLOWING}" if following else ""
    when = age_text(summary.updated) if summary.updated else "no events yet"
    title = getattr(summary, "title", summary.name)  # "NAME (earlier run N)" for an earlier run
    return f"{mark} {title}{folder}{now} · step {summary.step:,}{total} · epoch {summary.epoch or '-'} · {when}"


def same_file(a: Path | None, b: Path | None) -> bool:
    return a is not None and b is not None and Path(a).resolve() == Path(b).resolve()


def run_service(app) -> RunService:
    """The App's run service (made on first use when the App has none: its workers are the App's)."""
    service = getattr(app, "run_service", None)
    if service is None:
        service = app.run_service = RunService(app)
    return service


def list_for_picker(service: RunService, config: Path | None, attach: Path | None):
    """(folders, RunEntry list, problem line or None): the runs of the config's output folder and of
    the attached folder; a crashed run comes with the last lines of its log. Runs in a thread."""
    from loratui.core.runs import last_log_lines, own_log

    folders, problem = [], None
    if config is not None:
        try:
            folders.append(service.command(config).output_dir)
        except (LoratuiError, OSError) as exc:
            problem = f"{config}: {exc}"
    if attach is not None and Path(attach).resolve() not in folders:
        folders.append(Path(attach).resolve())
    entries = []
    for folder in folders:
        for summary in service.list_runs(folder):
            crashed = summary.status == "crashed"
            log = last_log_lines(folder, summary.name, 8, summary.earlier) if crashed else []
            began = (summary.record.started or {}).get("time")
            log_file = crashed and not summary.earlier and own_log(
                folder, summary.name, began if isinstance(began, (int, float)) else None) is not None
            state = summary.newest_state() if summary.status != "live" else None  # read here, not on highlight
            entries.append(RunEntry(summary, log, state, log_file))
    return folders, entries, problem


def start_warnings(app, service: RunService, config) -> list[str]:
    """What a new run would cost: the last run's files it overwrites, Settings changes it ignores."""
    from loratui.core.runs import previous_outputs

    from loratui.tui.screens.settings import SettingsScreen

    lines = []
    unsaved = app.unsaved_settings()
    if unsaved:  # the keys the keymap gives (the dialog's cancel, Settings' save), not the defaults
        cancel = app.key_for("train.dialog_cancel", StartDialog) or "close this"
        save = app.key_for("settings.save", SettingsScreen) or "'config: save' (ctrl+p)"
        lines.append(f"Settings holds {unsaved} unsaved change(s): this run reads {Path(config).name} as "
                     f"saved ({cancel}, then {save} on Settings, to include them)")
    try:
        command = service.command(config)
    except (LoratuiError, OSError):
        return lines  # the dialog says what is wrong with the config
    older = previous_outputs(command.output_dir, command.name, samples=True)
    final = [path for path in older if path.name == f"{command.name}.safetensors"]
    samples = [path for path in older if path.parent != Path(command.output_dir)]  # sample/NAME_<step>_...png
    rest = [path for path in older if path not in final and path not in samples]
    # the final first: it is the file a user looks for (engine/outputs.py moves it with the rest; a promoted
    # copy held there goes to NAME-promoted.safetensors instead)
    moved = [f"final {final[0].name}"] if final else []
    moved += [path.name for path in rest[:2]]
    if len(rest) > 2:
        moved[-1] += f" and {len(rest) - 2} more save(s)"
    if samples:
        moved.append(f"{len(samples)} sample image(s)")
    if moved:
        lines.append(f"moves the last run's {', '.join(moved)} into {command.name}-kept-<time>/ (nothing is "
                     "deleted; the earlier run's checkpoints are found there)")
    return lines


def setting_named(error: dict) -> str | None:
    """The config key an engine error's hint (or message) names first, for the key that opens it."""
    from loratui.tui.widgets.config_form import keys_named

    keys = keys_named(f"{error.get('hint') or ''} {error.get('message') or ''}")
    return keys[0] if keys else None


def state_named(snapshot: RunSnapshot) -> str:
    """"tiny-step00000034-state (step 34)": the state a resume continues from (the newest one; the
    complete .tmp a kill during its save left, when that is what the engine reads)."""
    read = snapshot.state_read or snapshot.state
    step = f" (step {snapshot.state_step:,})" if snapshot.state_step is not None else ""
    return f"{Path(read).name if read else 'its state'}{step}"


def error_setting(error: dict) -> str | None:
    """The config key an engine error names (``o`` opens it). A refusal's options are no settings: the
    "--resume" of "--resume STATE: network.network_dim was 8 ..." is not saving.resume."""
    if error.get("kind") == "refused":
        error = {**error, "message": re.sub(r"--[a-z][\w-]*", "", str(error.get("message") or ""))}
    return setting_named(error)


class RunOptions(OptionList):
    """The picker's list: the highlighted run has a ``▶`` (``>`` where the terminal shows ASCII only)
    in a two-cell gutter as well as its colour, as the tag list and the image table do: no
    colour-only cue (a 16-colour terminal, NO_COLOR)."""

    GUTTER = 2

    def __init__(self, *options, **kwargs) -> None:
        super().__init__(*options, **kwargs)
        self._glyph = ">" if ascii_only() else "▶"

    def _get_left_gutter_width(self) -> int:
        return self.GUTTER

    def render_line(self, y: int) -> Strip:
        line = super().render_line(y)
        try:  # a long label wraps: the mark goes on the first line of the highlighted option only
            index, line_offset = self._lines[self.scroll_offset.y + y]
        except IndexError:
            index, line_offset = None, 0
        marked = index is not None and index == self.highlighted and line_offset == 0
        style = self.get_visual_style("option-list--option").rich_style
        mark = (self._glyph if marked else "").ljust(self.GUTTER)
        return Strip.join([Strip([Segment(mark, style)], self.GUTTER), line])


class RunPicker(ModalScreen[tuple[str, object] | None]):
    """Choose a run to follow from its start, or a new run to start."""

    DEFAULT_CSS = dialog_css("RunPicker") + """
    RunPicker OptionList { height: auto; max-height: 10; border: none; padding: 0; }
    RunPicker #run-detail {
        height: auto; max-height: 8; color: $text-muted; margin-top: 1;
        text-wrap: nowrap; text-overflow: ellipsis;  /* a long log line is cut, never pushes the last one out */
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="train.dialog_cancel", tooltip="Close; nothing changes"),
        # the Train screen's start id: "4 then s" starts a run with the picker open too, and a keymap.toml
        # that moves train.start moves both
        Binding("s", "start_new", "Start", id="train.start", tooltip="A new run from the config (command shown first)"),
    ]

    def __init__(self, entries: Sequence[RunEntry], folders: Sequence[Path], config_name: str | None,
                 following: Path | None = None) -> None:
        """``following``: the events file of the run the Train screen shows now (marked in the list)."""
        super().__init__()
        self.entries = list(entries)
        self.folders = list(folders)
        self.config_name = config_name
        self.following = following

    def compose(self) -> ComposeResult:
        options = []
        if self.config_name:
            key = self.start_key()
            options.append(Option(Text(f"+ start a new run from {self.config_name}{f' ({key})' if key else ''}"),
                                  id="new"))
        several = len({e.summary.output_dir for e in self.entries}) > 1
        options += [Option(Text(run_label(e.summary, with_folder=several,
                                          following=same_file(e.summary.events_file, self.following))), id=str(i))
                    for i, e in enumerate(self.entries)]
        with Vertical() as box:
            box.border_title = "Runs: enter follows one from its start"
            where = ", ".join(str(f) for f in self.folders) or "no output folder (open a config on Settings)"
            yield Static(Text(f"in {where}"), classes="dialog-muted")
            if not options:
                yield Static(Text("no runs and no config to start one from"), classes="dialog-message")
            yield RunOptions(*options, id="run-options")
            yield Static("", id="run-detail")
        yield Footer()

    def on_mount(self) -> None:
        """The cursor starts on a live run (the one "4 follows it" meant), else on the first row."""
        options = self.query_one(OptionList)
        if options.option_count:
            live = next((i for i, e in enumerate(self.entries) if e.summary.status == "live"), None)
            options.highlighted = 0 if live is None else live + (1 if self.config_name else 0)
        options.focus()

    def entry(self, option_id: str | None) -> RunEntry | None:
        if option_id is None or not option_id.isdigit():
            return None
        return self.entries[int(option_id)]

    @on(OptionList.OptionHighlighted)
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        entry = self.entry(event.option.id)
        detail = self.query_one("#run-detail", Static)
        if entry is None:
            key = self.start_key()
            detail.update(Text(f"{f'{key} or enter' if key else 'enter'}: shows the command first; the run "
                               "goes on when the app closes"))  # one line at 80 columns
            return
        summary = entry.summary
        shown = {Path(folder).resolve() for folder in self.folders}  # named on the "in ..." line: not again
        lines = [summary.events_file.name if summary.output_dir.resolve() in shown else f"{summary.events_file}"]
        if same_file(summary.events_file, self.following):
            lines.append(f"{FOLLOWING}: the Train screen shows this run now")
        problem = getattr(summary, "problem", None)
        if problem is not None and summary.status != "live":  # empty, damaged, a link to a file gone
            lines.append(problem)
        elif summary.status == "crashed":  # one screen line each (cut, not wrapped): the newest is the last
            if entry.log_file:
                lines.append("gone without finishing (killed, or the machine went down); its log ends:")
            else:  # a line of its own: at 80 columns it would be cut off the one above
                lines += ["gone without finishing (killed, or the machine went down)",
                          "an earlier run (NAME.log is the latest run's): its events end:" if summary.earlier else
                          f"no {summary.name}.log (started from a shell): its events end:"]
            lines += [f"  {line}" for line in entry.log[-CRASH_LOG_LINES:]] or ["  (nothing recorded)"]
        elif summary.status == "live":
            lines.append(f"running as pid {summary.pid}")
        elif getattr(summary, "earlier", 0):
            lines.append(f"an earlier run of {summary.name}, shown read-only: its chart, and its checkpoints "
                         f"where they are now (a later run moves them into {summary.name}-kept-<time>/)")
        elif entry.state is not None:
            _, read, step = entry.state  # the folder the engine reads (a complete .tmp after a kill)
            lines.append(f"state saved in {read.name} (step {step:,}): resume (r) or extend (e) after following it")
        detail.update(Text("\n".join(lines)))

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id == "new":
            self.dismiss(("new", None))
        else:
            self.dismiss(("follow", self.entry(event.option.id).summary))

    def start_key(self) -> str:
        """The key keymap.toml leaves train.start here ("s"), "" when none."""
        from loratui.tui.services.keymap import bound_key

        return bound_key(self, "train.start")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return bool(self.config_name) if action == "start_new" else True  # no config: nothing to start

    def action_start_new(self) -> None:
        """As enter on "+ start a new run": the Train screen opens the start dialog."""
        if self.config_name:
            self.dismiss(("new", None))

    def action_cancel(self) -> None:
        self.dismiss(None)
