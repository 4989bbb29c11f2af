"""How a run that began training ends on a file it can no longer read (an image moved, renamed or
deleted mid-run: the image list is read once at the start, as sd-scripts does), and the crash line's
log words for the error event's hint.

Bad input found while loading is the config's (run.py: exit 2, nothing written). Once training began,
steps were trained and saves may exist: the run saves the LoRA and the state first, as a stop does (one
process only: several would have to save together, and the others wait in a step's collective), then
ends as a training error (exit 1) with its real step, epoch and LoRA, and names the newest complete
state to resume from once the file is back.
"""

from __future__ import annotations

import time


def end_on_bad_file(run, exc: Exception, started: float) -> int:
    """``exc`` (a LoratuiError naming a file) raised after training began: save, say it, return 1."""
    from loratui.engine.run_events import tell
    from loratui.engine.run_peers import leave_note

    tr = run.trainer
    message = str(exc)
    gone = isinstance(exc.__context__, FileNotFoundError)  # data.py raises "from None": the context stays
    if not run.is_main:
        leave_note(run.rank, f"error: {message}")  # the first process names it (run_peers.py)
    saved, save_problem = _save_before_ending(run, tr)
    fix = "put the image back where it was" if gone else "fix that file"
    resume = _resume_words(run) if run.is_main else None
    hint = f"{fix}, then {resume}" if resume else f"{fix} and start again"
    if saved:
        hint = f"the LoRA and the state were saved at step {tr.step:,}; {hint}"
    elif save_problem:
        hint = f"saving at step {tr.step:,} failed ({save_problem}); {hint}"
    run.emit_last("error", message=message, hint=hint, kind="file")
    run.emit_last("finished", reason="error", step=tr.step, epoch=run._epoch_now(),
                  output=str(saved) if saved else run._saved_output(),
                  elapsed_s=round(time.perf_counter() - started, 1))
    if run.is_main:
        tell(f"error: {message}\nhint: {hint}")
    return 1


def _resume_words(run) -> str | None:
    """"resume from the newest complete state (step N): `loratui train ... --resume ...`", or None."""
    from loratui.core.run_states import resume_hint

    try:
        return resume_hint(run.output_dir, run.name, run.config_path)
    except OSError:  # the error handler's helper: no hint rather than another error
        return None


def _save_before_ending(run, tr):
    """The LoRA and NAME-state at the last step done, as a stop saves them: (the LoRA, None), or (None,
    why the save failed), or (None, None) when there is nothing new to save (no step since the start or
    the resumed state) or several processes train (they cannot all reach the save)."""
    if run.world > 1 or not run.is_main:
        return None, None
    lock = getattr(run, "lock", None)
    if lock is not None and not getattr(lock, "held", True):  # the folder is another run's now: write nothing
        return None, None
    begun = (run.resume_info or {}).get("step", 0) if run.resume else 0
    if tr.step <= (begun if isinstance(begun, int) else 0):
        return None, None
    # the batches of an accumulation window not yet stepped: their gradients are dropped, and the state's
    # place is the last step's (engine/resume_check.py checks step against batches_done / accumulation)
    accumulation = max(1, run.cfg.training.gradient_accumulation_steps)
    tr.batches_done -= tr.batches_done % accumulation
    tr.optimizer.zero_grad(set_to_none=True)
    try:
        lora = run.saved_lora = run.save_lora(tr, "step")
        run.save_state(tr, run.output_dir / f"{run.name}-state")
    except Exception as save_exc:  # a full disk on top: the error that ended the run is still the one said
        return None, f"{type(save_exc).__name__}: {save_exc}"[:300]
    return lora, None


def crash_log_words(line: str | None) -> str:
    """What ``crash_line``'s "internal error: ... (details in LOG)" says of the traceback, for the error
    event's hint: "details in LOG", or how to see them when no log could be written."""
    if line and line.endswith(")"):
        for words in ("(details in ", "(rerun with LORATUI_DEBUG=1"):
            at = line.rfind(words)
            if at >= 0:
                return line[at + 1:-1]
    return "rerun with LORATUI_DEBUG=1 to see the details"
