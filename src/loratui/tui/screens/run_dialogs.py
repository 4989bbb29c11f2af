"""The Train screen's number dialogs, split from run_picker.py (which re-exports them): ``StartDialog`` shows
the command a start runs (``loratui train ...``, with ``--processes N`` for several processes), rebuilt by
its caller's ``build(processes)`` as the number changes, and dismisses with the RunCommand or None;
``NumberDialog`` asks for a whole number (at least 1), e.g. the epochs to extend a run by."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Static

from loratui.core.errors import LoratuiError
from loratui.tui.screens.choice_dialogs import fit_scroll_body
from loratui.tui.screens.config_dialogs import dialog_css


class _AskDialog(ModalScreen):
    """A prompt, an input and a line under it that says what enter will do (or what is wrong). That line
    is docked at the box's bottom and the rest scrolls: at 40x15 the command and its keys were cut off."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="train.dialog_cancel", tooltip="Close; nothing starts"),
    ]

    def __init__(self, title: str, prompt: str, initial: str) -> None:
        super().__init__()
        self.dialog_title, self.prompt, self.initial = title, prompt, initial
        self.problem: str | None = None

    def compose(self) -> ComposeResult:
        warnings = list(getattr(self, "warnings", ()))
        with Vertical() as box:
            box.border_title = self.dialog_title
            yield Static("", id="ask-message", classes="dialog-message" + (" -after-warnings" if warnings else ""))
            with VerticalScroll(id="ask-body", can_focus=False):
                yield Static(Text(self.prompt), classes="dialog-muted")
                yield Input(self.initial, type="integer", id="ask-input", compact=True)
                for line in warnings:  # above the command and its key line, where enter is read
                    yield Static(Text(f"! {line}"), classes="dialog-warning")
        yield Footer()

    def on_mount(self) -> None:
        self.check()
        self.query_one(Input).focus()

    def on_resize(self) -> None:
        self.call_after_refresh(self.fit_body)

    def fit_body(self) -> None:
        """The prompt scrolls in what the command and its key line (docked at the bottom) leave."""
        if self.is_attached:
            box = self.query_one(Vertical)
            fit_scroll_body(self, box, box.query_one("#ask-body"))

    def number(self) -> int | None:
        try:
            value = int(self.query_one(Input).value)
        except ValueError:
            return None
        return value if value >= 1 else None

    def check(self) -> None:
        raise NotImplementedError

    def say(self, text: str, problem: str | None) -> None:
        self.problem = problem
        message = self.query_one("#ask-message", Static)
        message.update(Text(f"error: {problem}" if problem else text))
        message.set_class(bool(problem), "-error")
        self.call_after_refresh(self.fit_body)

    @on(Input.Changed)
    def _changed(self) -> None:
        self.check()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.check()
        if self.problem:
            self.app.bell()
            return
        self.dismiss(self.result())

    def result(self):
        return self.number()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def cancel_key(self) -> str:
        """"esc", or the key keymap.toml gives train.dialog_cancel."""
        from loratui.tui.services.keymap import bound_key

        return bound_key(self, "train.dialog_cancel") or "esc"

    def screen_below(self):
        """The Train screen this dialog was opened over (its keys name "s again"): the class when not found."""
        from loratui.tui.screens.train import TrainScreen

        return next((screen for screen in reversed(self.app.screen_stack) if isinstance(screen, TrainScreen)),
                    TrainScreen)


class StartDialog(_AskDialog):
    """Shows the exact command; the number of processes (GPUs) rebuilds it; enter starts."""

    DEFAULT_CSS = dialog_css("StartDialog") + """
    StartDialog #ask-message { text-style: bold; dock: bottom; }
    StartDialog #ask-body { height: auto; }
    StartDialog #ask-message.-after-warnings { margin-top: 1; }
    StartDialog #start-plan { height: auto; }
    """

    def __init__(self, title: str, build: Callable[[int], object], processes: int = 1,
                 warnings: Sequence[str] = (), problems: Callable[[], list[str]] | None = None) -> None:
        super().__init__(title, "Processes (GPUs; more than 1 adds --processes N). The run goes on in its own "
                                "session when the app closes or SSH drops; its output goes to OUTPUT_DIR/NAME.log.",
                         str(processes))
        self.build = build
        self.command = None
        self.warnings = list(warnings)
        self.find_problems = problems  # what config check finds: train would refuse it, so enter does
        self.problems: list[str] | None = None
        self.plans: dict[int, list[str]] = {}  # processes -> the plan's lines (start_plan.py), read in a thread

    def on_mount(self) -> None:
        self.query_one("#ask-body").mount(Static("", id="start-plan", classes="dialog-muted"))
        super().on_mount()

    def check(self) -> None:
        processes = self.number()
        if processes is None:
            self.command = None
            self.show_plan(None)
            self.say("", "processes must be a whole number, at least 1")
            return
        try:
            self.command = self.build(processes)
        except (LoratuiError, OSError) as exc:
            self.command = None
            self.show_plan(None)
            self.say("", str(exc))
            return
        self.show_plan(processes)
        if self.problems is None:
            self.problems = self.find_problems() if self.find_problems else []
        if self.problems:
            more = (f"\n({len(self.problems) - 1} more: `loratui config check` lists them)"
                    if len(self.problems) > 1 else "")
            from loratui.tui.services.keymap import bound_key, class_bound_key

            below = self.screen_below()
            settings = bound_key(self.app, "app.settings")
            again = (bound_key(below, "train.start") if not isinstance(below, type) else
                     class_bound_key(self.app, below, "train.start")) or "start"
            self.say("", f"{self.problems[0]}{more}\nfix it on Settings{f' ({settings})' if settings else ''}, "
                         f"then {again} again\n$ {self.command.display}")
            return
        self.say(f"$ {self.command.display}\nenter: start · {self.cancel_key()}: cancel", None)

    def result(self):
        return self.command

    def show_plan(self, processes: int | None) -> None:
        """The steps, epochs and duration of a fresh run on ``processes`` processes (a resume keeps its
        state's, and refuses another count): known ones at once, others read in a thread first."""
        from loratui.tui.services.work import run_in_thread

        plan = self.query("#start-plan").first(Static) if self.query("#start-plan") else None
        config = getattr(self.command, "config", None)
        fresh = config is not None and "--resume" not in getattr(self.command, "argv", ("--resume",))
        if plan is None or processes is None or not fresh:
            if plan is not None:
                plan.update("")
                plan.display = False
            return
        plan.display = True
        if processes in self.plans:
            plan.update(Text("\n".join(self.plans[processes])))
            return
        plan.update(Text(f"{processes} process(es): counting steps ..."))
        from loratui.tui.screens.start_plan import plan_lines

        def done(lines: list[str]) -> None:
            self.plans[processes] = lines
            if self.is_attached and self.number() == processes:
                self.show_plan(processes)

        def failed(exc: BaseException) -> None:
            done([f"steps: {exc}"])

        run_in_thread(self, plan_lines, config, processes, done=done, failed=failed, what="steps for processes",
                      group="start-plan", exclusive=True)


class NumberDialog(_AskDialog):
    """A whole number of at least 1 (``what`` says what it is for)."""

    DEFAULT_CSS = dialog_css("NumberDialog") + """
    NumberDialog #ask-message { dock: bottom; }
    NumberDialog #ask-body { height: auto; }
    """

    def __init__(self, title: str, prompt: str, what: Callable[[int], str], initial: int = 1) -> None:
        super().__init__(title, prompt, str(initial))
        self.what = what

    def check(self) -> None:
        value = self.number()
        if value is None:
            self.say("", "type a whole number, at least 1")
        else:
            self.say(f"enter: {self.what(value)} · {self.cancel_key()}: cancel", None)
