"""The Caption screen's 'caption: resume': continue the interrupted run with the options on the form.

A resume always takes the form's options (with the CLI's --resume, which keeps the run's mode), whether
the run was started in this session or before a restart, so that a failure's advice ("turn on Rewrite
read-only") holds at the first try. Some options only say how the run goes (``SAFE_ON_RESUME``: rewrite
read-only files, batch size, workers, device, precision, provider); the others shape the captions
(model, thresholds, tag options, prefix, extension, subfolders). Where the options of the run resumed are
known (its record, captioners.resume ``InterruptedRun.options``, or a run of this session) and the form
shapes captions otherwise, the screen says which ones differ and asks: ``r`` resumes with the run's own
caption options (and the form's safe ones), esc cancels; a new run (ctrl+r) takes the form's.

A mixin of CaptionScreen, kept apart so each file stays readable: it expects ``runner``, ``captioner``,
``_forms()``, ``_model_args()``, ``_form_problem()``, ``_start`` and ``_ask_before_resuming``.
"""

from __future__ import annotations

import os
import time

import click

SAFE_ON_RESUME = frozenset({"--force", "--batch-size", "--workers", "--providers", "--device", "--precision"})
NOT_COMPARED = frozenset({"--mode", "--resume", "--json-events", "--dry-run", "--sample"})  # mode: --resume keeps it
MODEL_LABELS = {"--model": "Model folder", "--download": "Download"}
SHOWN_MAX = 40


def _params(captioner: str) -> dict[str, click.Option]:
    """The subcommand's options by every spelling (--general-threshold)."""
    from loratui.commands.caption_cmd import caption

    return {opt: p for p in caption.commands[captioner].params if isinstance(p, click.Option) for opt in p.opts}


def option_items(captioner: str, args: list[str]) -> list[tuple[str, list[str]]]:
    """``args`` as (option, its tokens) in order: ``--force`` alone, ``--model X`` with its value."""
    params, items, at = _params(captioner), [], 0
    while at < len(args):
        token = args[at]
        if token.startswith("--") and "=" in token:  # --opt=value, as a shell may give it
            items.append((token.split("=", 1)[0], [token]))
            at += 1
        elif token in params and params[token].is_flag:
            items.append((token, [token]))
            at += 1
        else:
            items.append((token, args[at:at + 2]))
            at += 2
    return items


def _values(captioner: str, args: list[str]) -> dict[str, object]:
    """Every compared option's value, its default where ``args`` leave it out (the form omits defaults)."""
    params = _params(captioner)
    given = {}
    for opt, tokens in option_items(captioner, args):
        given[opt] = True if len(tokens) == 1 and "=" not in tokens[0] else (
            tokens[0].split("=", 1)[1] if len(tokens) == 1 else tokens[1])
    values = {}
    for opt in {p.opts[0] for p in params.values()} | set(given):
        if opt in SAFE_ON_RESUME or opt in NOT_COMPARED:
            continue
        param = params.get(opt)
        value = given.get(opt, None if param is None else (False if param.is_flag else param.default))
        if opt == "--model" and value:  # a folder as the CLI records it (absolute); a hub repo id as given
            value = os.path.normpath(os.path.expanduser(str(value)))
            value = os.path.abspath(value) if os.path.exists(value) else value
        elif param is not None and value not in (None, "", True, False):
            try:  # 0.35 and 0.350 are one threshold
                value = param.type.convert(str(value), param, None)
            except click.BadParameter:
                value = str(value)
        values[opt] = value
    return values


def _shown(value: object) -> str:
    text = "on" if value is True else "off" if value is False else "none" if value in (None, "") else str(value)
    return text if len(text) <= SHOWN_MAX else "…" + text[-(SHOWN_MAX - 1):]


def _label(captioner: str, opt: str) -> str:
    from loratui.tui.widgets.caption_form import LABELS

    param = _params(captioner).get(opt)
    if opt in MODEL_LABELS or param is None:
        return MODEL_LABELS.get(opt, opt)
    return LABELS.get(param.name) or param.opts[0].lstrip("-").replace("-", " ").capitalize()


def differences(captioner: str, run_args: list[str], form_args: list[str]) -> list[tuple[str, str, str]]:
    """(field label, the form's value, the run's value) for each option that shapes captions and differs."""
    run, form = _values(captioner, run_args), _values(captioner, form_args)
    order = [opt for opt, _ in option_items(captioner, form_args + run_args)] + sorted(run)
    seen, found = set(), []
    for opt in order:
        if opt in seen or opt not in run:
            continue
        seen.add(opt)
        if run.get(opt) != form.get(opt):
            found.append((_label(captioner, opt), _shown(form.get(opt)), _shown(run.get(opt))))
    return found


def with_run_settings(captioner: str, run_args: list[str], form_args: list[str]) -> list[str]:
    """The run's caption-shaping options with the form's safe ones (--force, batch size, ...)."""
    kept = [token for opt, tokens in option_items(captioner, run_args)
            if opt not in SAFE_ON_RESUME and opt not in NOT_COMPARED for token in tokens]
    return kept + [token for opt, tokens in option_items(captioner, form_args) if opt in SAFE_ON_RESUME
                   for token in tokens]


def changed_question(target, diffs: list[tuple[str, str, str]], start: str) -> str:
    """The dialog's text when the form shapes captions otherwise than the run resumed."""
    listed = "; ".join(f"{label} {form} (the run: {run})" for label, form, run in diffs)
    captioner = "wd14" if target.captioner == "wd14" else "blip"
    safe = ", ".join(sorted({_label(captioner, opt) for opt in SAFE_ON_RESUME if opt in _params(captioner)}))
    return (f"The form differs from the {target.captioner} run being resumed ({target.mode}): {listed}. The captions "
            f"still to write would not match the ones it wrote. r resumes with the run's settings (the form's {safe} "
            f"still apply); {start} starts a new run with the form's instead.")


class CaptionResume:
    """'caption: resume' of the Caption screen (see the module doc)."""

    def _start_words(self) -> str:
        """"ctrl+r" (the key the keymap gives 'caption: start'), or the palette command where it has none."""
        key = self.app.key_for("caption.start", self)
        return key or "'caption: start' (ctrl+p)"

    def action_resume(self) -> None:
        """Continue the interrupted run (the CLI's --resume): skip only the images it wrote, keep its
        mode. The run resumed is the last one started here (captioners.resume), named in one line;
        an overwrite run asks first when images it did not write have captions, as a start does."""
        from loratui.captioners.resume import find_interrupted_run
        from loratui.core.dataset import locate_dataset
        from loratui.core.errors import LoratuiError
        from loratui.tui.services.work import failure_line, run_in_thread

        if self.runner.busy:
            self.app.notify(f"a caption run is already running: {self.cancel_does('cancels it')}",
                            severity="warning")
            return
        root = self.app.store.root

        def target():
            return find_interrupted_run(locate_dataset(root).train_dir, str(root))

        def failed(exc: BaseException) -> None:  # "nothing to resume" with the app's key, not the CLI's flag
            line = exc.worded(start=self._start_words()) if isinstance(exc, LoratuiError) else failure_line("", exc)[0]
            self.app.notify(line, severity="error", timeout=8)

        run_in_thread(self, target, done=self._resume_found, what="looking for the run to resume", failed=failed,
                      group="resume", exclusive=True)

    def _resume_found(self, target) -> None:
        """Resume ``target`` (captioners.resume.InterruptedRun) with the form's options, after asking when
        they would shape captions otherwise than the run's (where those are known)."""
        from loratui.captioners.resume import captioner_family
        from loratui.tui.screens.config_dialogs import ChoiceDialog

        if target.captioner not in captioner_family(self.captioner):
            other = "WD14" if target.captioner == "wd14" else "BLIP"
            switch = self.app.key_does(self, "caption.switch_captioner", f"switches to {other}",
                                       "caption: switch WD14 / BLIP")
            self.app.notify(f"the run to resume captioned with {target.captioner}: {switch}, then resume it",
                            severity="warning", timeout=8)
            return
        problem = self._form_problem(dry_run=False)
        if problem is not None:
            return
        line = target.line(start_key=self._start_words())
        form_mode = self.query_one("#common-form").value("mode")
        if form_mode != target.mode:  # --resume keeps the run's mode: say that the form's is not used
            line += f"; its mode {target.mode} is kept (Write mode {form_mode} is for new runs)"
        self.app.notify(line, timeout=8)
        form_args = self._model_args() + [arg for form in self._forms() for arg in form.args()]
        known = target.options if target.options is not None else \
            self.runner.options_of([entry.path.name for entry in target.entries])
        diffs = differences(self.captioner, known, form_args) if known is not None else []
        if not diffs:
            return self._resume_with(target, form_args,
                                     lambda: self._start(dry_run=False, mode=target.mode, resume=True))
        args = with_run_settings(self.captioner, known, form_args)

        def answered(key: str | None) -> None:
            if key == "r":
                self._resume_with(target, args, lambda: self._launch_resume([*args, "--mode", target.mode]))

        self.app.push_screen(ChoiceDialog("settings differ from the run",
                                          changed_question(target, diffs, self._start_words()),
                                          [("r", "resume with the run's settings")]), answered)

    def _resume_with(self, target, args: list[str], launch) -> None:
        if target.mode == "overwrite":  # asks when it would replace captions the run did not write
            self._ask_before_resuming(target, args, launch)
        else:
            launch()

    def _launch_resume(self, args: list[str]) -> None:
        """Start the resume with ``args`` as they are (the run's caption options: its model is not the form's)."""
        from loratui.core.errors import LoratuiError

        try:
            self.runner.start(self.captioner, self.app.store.root, [*args, "--resume"], requested_at=time.monotonic())
        except LoratuiError as exc:
            self.app.notify(str(exc), severity="error", timeout=8)
            return
        self.query_one("#run-results").focus()

