"""`loratui train CONFIG`: train a kohya-format LoRA, headless and resumable."""

from __future__ import annotations

import os
import sys

import click

from loratui.commands.help_text import exit_codes, shell_arg


@click.command()
@exit_codes((0, "finished, or stopped with its LoRA saved (with --processes N too)"),
            (1, "training error: NaN loss, out of memory, a full disk; with --processes N: a "
                "process failed (one line names it and its log)"),
            (2, "bad input"), (130, "interrupted before anything was saved; with --processes N: by Ctrl-C "
                                    "(by SIGTERM: 143, by SIGHUP: 129, as a shell reports a signal)"))
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--resume", "resume", metavar="STATE_DIR", type=click.Path(),  # a file: our own one-line error
              help="Continue from a saved training state (OUTPUT_DIR/NAME-state).")
@click.option("--save-state", is_flag=True, help="Also save the full training state with every save and at the end "
                                                 "(as saving.save_state = true in the config).")
@click.option("--events", "events", metavar="PATH", help="Write the event stream here instead of OUTPUT_DIR/NAME.events.jsonl (which becomes a link to it, so "
                   "`loratui attach` and the app still find the run).")
@click.option("--json", "echo_json", is_flag=True, help="Print every event as a JSON line on stdout (no progress bar); "
                                                       "stdout then holds nothing else.")
@click.option("--max-steps", type=int, metavar="N",
              help="Stop after N steps in all (overrides max_train_epochs/max_train_steps; for a quick try). "
                   "With --resume too N is the run's total, counted from its first step, not steps more.")
@click.option("--max-train-epochs", "max_epochs", type=int, metavar="N",
              help="Train N epochs in all (overrides max_train_epochs/max_train_steps of the config).")
@click.option("--extend-epochs", "extend_epochs", type=int, metavar="N",
              help="With --resume: train N epochs more than the state's run (a finished run continues).")
@click.option("--processes", type=int, default=1, show_default=True, metavar="N",
              help="Train with N processes on this machine (one per GPU; on a CPU-only machine over gloo), "
                   "started through torch.distributed.run, as `accelerate launch --num_processes N` does for "
                   "sd-scripts: each takes its share of every epoch (`loratui steps CONFIG --processes N`).")
def train(config, resume, save_state, events, echo_json, max_steps, max_epochs, extend_epochs, processes):
    """Train the LoRA that CONFIG describes.

    Writes OUTPUT_DIR/NAME.safetensors (kohya format with ss_* metadata), intermediate saves
    (NAME-000004.safetensors, NAME-step00000500.safetensors), samples in OUTPUT_DIR/sample/ and one
    JSON event per line in OUTPUT_DIR/NAME.events.jsonl. Ctrl-C (or SIGTERM, or SIGHUP: the terminal,
    SSH link or tmux pane closed) finishes the current step, saves the LoRA and the state
    (OUTPUT_DIR/NAME-state) and exits 0; `--resume` continues. Messages and progress go to stderr;
    without --json, stdout gets one line at the end, the path of the LoRA written (the final one, or
    a stop's save), so `lora=$(loratui train CONFIG)` works. The last step gets no step save of its
    own: NAME.safetensors stands in for NAME-stepNNNNNNNN (sd-scripts writes both).
    With --processes N (or under `torchrun --nproc_per_node N` / `accelerate launch --num_processes
    N`) every process trains its share of each epoch (steps = ceil(batches / N / accumulation), as
    sd-scripts counts them) and only the first writes the events, the lines and the LoRA; the other
    processes' output goes to a log under ~/.cache/loratui/, named when one of them fails (exit 1).
    Ctrl-C (or SIGTERM, SIGHUP) reaches every process: they stop after the next step, save, and the
    launch exits 0 as one process does; twice stops them at once, unsaved, and the launch exits 130
    (143 for SIGTERM, 129 for SIGHUP; a SIGHUP never counts twice). A resume needs as many processes
    as the run it continues. Under a bare torchrun, Ctrl-C makes torchrun itself exit 1 with its own traceback:
    a stop request (the app's x, or `echo '{"request": "stop"}' >> OUTPUT_DIR/NAME.control.jsonl`)
    lets it exit 0. `--resume STATE --extend-epochs N` continues a finished
    (or stopped) run for N more epochs than that run planned. A resume that will write
    NAME.safetensors anew keeps the LoRA it had first: as NAME-00000E.safetensors when that run ended
    at the end of epoch E, else as NAME-stepNNNNNNNN.safetensors (a promoted copy there goes to
    NAME-promoted.safetensors). A finished run leaves a state (NAME-state) only with
    saving.save_state_on_train_end = true (at the end), saving.save_state = true (with every save
    too) or --save-state, and after --max-steps or --resume. A new run moves the last run's final
    LoRA, states, intermediate saves and sample images into OUTPUT_DIR/NAME-kept-<time>/; a resume
    first keeps aside, as NAME-kept-*, every output newer than its state (samples past its step too).
    Save now, sample now and stop: append a request to OUTPUT_DIR/NAME.control.jsonl (see
    core/run_control.py).
    """
    for value, hint in ((max_steps, "--max-steps"), (max_epochs, "--max-train-epochs"),
                        (extend_epochs, "--extend-epochs"), (processes, "--processes")):
        if value is not None and value < 1:
            raise click.BadParameter("must be at least 1", param_hint=hint)
    if sum(v is not None for v in (max_steps, max_epochs, extend_epochs)) > 1:
        raise click.UsageError("give one of --max-steps, --max-train-epochs and --extend-epochs")
    if extend_epochs is not None and not resume:
        raise click.UsageError("--extend-epochs needs --resume STATE_DIR (the state of the run to continue)")
    world = world_size()  # a bad WORLD_SIZE is named here, before the run parses it
    if processes > 1 and world > 1:
        raise click.BadParameter(f"this process is already one of {os.environ['WORLD_SIZE']} (started by torchrun or "
                                 "accelerate launch): leave --processes out, or run `loratui train` alone with it",
                                 param_hint="--processes")
    cfg = _preflight(config)
    if resume is None:  # a resume's schedule is checked by _resume_preflight
        _schedule_preflight(config, cfg, world=processes if processes > 1 else world, max_steps=max_steps,
                            max_epochs=max_epochs)
    if events:
        from loratui.core.config import resolve_path
        from loratui.core.errors import LoratuiError
        from loratui.core.events import events_target_problem

        # another output's NAME.events.jsonl would take over that run's history
        problem = events_target_problem(events, output_name=cfg.saving.output_name,
                                        output_dir=resolve_path(cfg, cfg.saving.output_dir))
        if problem:
            raise LoratuiError(problem)
    if resume is not None:
        from loratui.core.config import resume_state_problem
        from loratui.core.errors import LoratuiError
        from loratui.engine.resume_check import resume_path_problem

        if not resume.strip():
            raise LoratuiError("--resume: an empty path: give a state folder (OUTPUT_DIR/NAME-state)")
        # no state folder at all (., a file, a missing one) says what one is and lists them
        problem = resume_path_problem(resume, cfg, config)  # config: the resume command it may name
        if os.path.basename(os.path.normpath(resume)) in ("", "."):  # `--resume .` inside a state folder
            resume = os.path.abspath(resume)
        problem = problem or resume_state_problem(resume)  # a truncated optimizer.pt: now, not after loading
        if problem:
            raise LoratuiError(problem)
        _resume_preflight(cfg, resume, max_steps=max_steps, max_epochs=max_epochs, extend_epochs=extend_epochs,
                          world=processes if processes > 1 else None)
    if processes > 1:
        sys.exit(_launch(config, cfg, processes, resume=resume, save_state=save_state, events=events,
                         echo_json=echo_json, max_steps=max_steps, max_epochs=max_epochs,
                         extend_epochs=extend_epochs))
    from loratui.engine.run import run_training  # torch, diffusers, transformers: only for a config that can run

    code = run_training(config, resume=resume, save_state=save_state, events_override=events,
                        echo_json=echo_json, max_steps=max_steps, max_epochs=max_epochs,
                        extend_epochs=extend_epochs)
    sys.exit(code)


def _launch(config: str, cfg, processes: int, *, resume, save_state, events, echo_json, max_steps, max_epochs,
            extend_epochs) -> int:
    """`--processes N`: the same command, minus --processes, as N ranks (engine/launch.py); refused here
    when the machine has CUDA and fewer GPUs than N."""
    from pathlib import Path

    from loratui.core.config import resolve_path
    from loratui.core.events import events_path
    from loratui.engine.launch import cpu_processes_warning, cuda_gpu_count, launch, processes_problem

    cuda_gpus = cuda_gpu_count()
    problem = processes_problem(processes, cuda_gpus=cuda_gpus)
    if problem:
        raise click.BadParameter(problem.removeprefix("--processes "), param_hint="--processes")
    warning = cpu_processes_warning(processes, cuda_gpus=cuda_gpus, cpus=os.cpu_count())
    if warning:
        click.echo(warning, err=True)
    args = [config]
    for flag, value in (("--resume", resume), ("--events", events), ("--max-steps", max_steps),
                        ("--max-train-epochs", max_epochs), ("--extend-epochs", extend_epochs)):
        if value is not None:
            args += [flag, str(value)]
    args += ["--save-state"] * save_state + ["--json"] * echo_json
    events_file = Path(events) if events else events_path(resolve_path(cfg, cfg.saving.output_dir),
                                                          cfg.saving.output_name)
    return launch(processes, args, events_file=events_file)


def world_size() -> int:
    """WORLD_SIZE (set by torchrun / accelerate launch for each of their processes; 1 when unset or empty)."""
    from loratui.core.errors import LoratuiError

    value = os.environ.get("WORLD_SIZE", "").strip()
    try:
        return int(value) if value else 1
    except ValueError:
        raise LoratuiError(f"WORLD_SIZE={value!r} in the environment is not a whole number: unset it "
                           "(`unset WORLD_SIZE`), or start through torchrun / accelerate launch") from None


def _resume_preflight(cfg, resume: str, *, max_steps, max_epochs, extend_epochs, world: int | None = None) -> None:
    """The state against this run's schedule and config (a changed batch size, a damaged place, nothing
    left to train, a field the state cannot follow): refused here, before the ML stack loads and before
    anything is written. Pure Python (engine/resume_check.py); the run checks it all again."""
    from loratui.core.plan import scan_for_config
    from loratui.engine.resume_check import check_resume

    if max_steps is not None:
        cfg.training.max_train_steps, cfg.training.max_train_epochs = max_steps, None
    if max_epochs is not None:
        cfg.training.max_train_epochs, cfg.training.max_train_steps = max_epochs, None
    world = world or world_size()
    check_resume(cfg, scan_for_config(cfg), resume, world=world,
                 extend_epochs=extend_epochs, max_steps=max_steps, max_epochs=max_epochs)


def _schedule_preflight(config: str, cfg, *, world: int, max_steps, max_epochs) -> None:
    """The schedule the run computes first (a run of over 10 million steps is refused: core/plan/repeats.py),
    here before the ML stack loads, with --max-steps / --max-train-epochs as the run applies them."""
    import copy

    from loratui.core.errors import LoratuiError
    from loratui.core.plan import compute_schedule, scan_for_config

    cfg = copy.deepcopy(cfg)
    if max_steps is not None:
        cfg.training.max_train_steps, cfg.training.max_train_epochs = max_steps, None
    if max_epochs is not None:
        cfg.training.max_train_epochs, cfg.training.max_train_steps = max_epochs, None
    try:
        compute_schedule(cfg, scan_for_config(cfg), world)
    except LoratuiError as exc:  # name the config, as `steps` does, unless a path is named first
        head = str(exc).split(":", 1)[0]
        if "/" in head or head.startswith(str(config)):
            raise
        raise LoratuiError(f"{config}: {exc}") from None


def _preflight(config: str):
    """What can be wrong before the ML stack is imported (seconds on a busy machine): the config, its
    paths and packages, the dataset and a live run on the same output. The run checks all of it again."""
    from loratui.core.config import check_paths, load_config, missing_packages, resolve_path, validate
    from loratui.core.config import with_resolved_paths
    from loratui.core.errors import LoratuiError
    from loratui.core.events import RunLock, lock_path
    from loratui.core.plan import all_left_out, scan_for_config

    cfg = with_resolved_paths(load_config(config))
    problems = validate(cfg) + check_paths(cfg) + missing_packages(cfg)
    if problems:
        more = (f" (and {len(problems) - 1} more: `loratui config check {shell_arg(config)}`)"
                if len(problems) > 1 else "")
        raise LoratuiError(f"{config}: {problems[0]}{more}")
    scan = scan_for_config(cfg)
    if all_left_out(scan):
        raise LoratuiError(all_left_out(scan))
    # only the first process takes the lock (engine/run.py): a later one of the same launch (started
    # seconds after it on a busy machine) would find that lock and refuse its own run
    first_process = os.environ.get("RANK", "0").strip() in ("", "0")
    owner = RunLock(lock_path(resolve_path(cfg, cfg.saving.output_dir), cfg.saving.output_name)).owner() \
        if first_process else None
    if owner is not None:
        raise LoratuiError(f"another run (pid {owner}) is writing to {cfg.saving.output_dir} "
                           f"({cfg.saving.output_name}.lock): stop it first, or change saving.output_name / output_dir")
    return cfg
