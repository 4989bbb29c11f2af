"""`loratui train CONFIG`: train a kohya-format LoRA, headless and resumable."""

from __future__ import annotations

import sys

import click


@click.command()
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--resume", "resume", metavar="STATE_DIR", type=click.Path(file_okay=False),
              help="Continue from a saved training state (OUTPUT_DIR/NAME-state).")
@click.option("--save-state", is_flag=True, help="Also save the full training state with every save and at the end.")
@click.option("--events", "events", metavar="PATH", help="Write the event stream here instead of OUTPUT_DIR/NAME.events.jsonl.")
@click.option("--json", "echo_json", is_flag=True, help="Print every event as a JSON line on stdout (no progress bar).")
@click.option("--max-steps", type=int, help="Stop after N steps (overrides max_train_epochs/max_train_steps; for a quick try).")
def train(config, resume, save_state, events, echo_json, max_steps):
    """Train the LoRA that CONFIG describes.

    Writes OUTPUT_DIR/NAME.safetensors (kohya format with ss_* metadata), intermediate saves
    (NAME-000004.safetensors, NAME-step00000500.safetensors), samples in OUTPUT_DIR/sample/ and one
    JSON event per line in OUTPUT_DIR/NAME.events.jsonl. Ctrl-C (or SIGTERM) finishes the current
    step, saves the LoRA and the state (OUTPUT_DIR/NAME-state) and exits 0; `--resume` continues.
    Under `torchrun --nproc_per_node N` or `accelerate launch --num_processes N` every process trains
    its share and only the first writes files. Exit codes: 0 finished or stopped, 1 training error
    (NaN loss, out of memory), 2 bad input.
    """
    from loratui.engine.run import run_training

    if max_steps is not None and max_steps < 1:
        raise click.BadParameter("must be at least 1", param_hint="--max-steps")
    code = run_training(config, resume=resume, save_state=save_state, events_override=events,
                        echo_json=echo_json, max_steps=max_steps)
    sys.exit(code)
