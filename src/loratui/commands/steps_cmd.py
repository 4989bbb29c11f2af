"""`loratui steps CONFIG`: how many steps a config trains, worked out the way sd-scripts does it.

The numbers come from loratui.core.plan (the engine builds its epochs from the same functions).
"""

from __future__ import annotations

import json

import click

from loratui.commands.help_text import exit_codes
from loratui.commands.vram_cmd import STAND_IN_NOTE, family_shown


def _network_line(n: dict) -> str:
    if "error" in n:
        return f"Network: {n['error']}"
    where = f"UNet {n['unet_params'] / 1e6:.2f}M + text encoder {n['text_encoder_params'] / 1e6:.2f}M"
    preset = f", preset {n['preset']}, {n['modules']} modules" if n["preset"] else ""
    label = {"sd1": "SD 1.5", "sd2": "SD 2.x", "sdxl": "SDXL"}.get(n["family"], n["family"])
    if n.get("counted_as"):  # sd2: SD 1.5's shapes stand in (the numbers are theirs)
        label += f" model ({STAND_IN_NOTE}),"
    else:
        label += " model,"
    return (f"Network: {n['kind']}{preset}: {n['params'] / 1e6:.2f}M trainable parameters ({where}) on the "
            f"{label} a file of about {n['file_mb']:g} MB")


def _network(cfg) -> dict:
    """The network's trainable parameters (core.plan.network_size): never fails the steps count."""
    from loratui.core.errors import LoratuiError
    from loratui.core.plan import family_from_weights, network_size

    try:
        family = family_from_weights(cfg) if cfg.model.model_family == "auto" else None
    except LoratuiError:
        family = None  # the name guess, said in the assumptions
    try:
        size = network_size(cfg, family=family)
    except LoratuiError as exc:
        return {"error": str(exc)}
    shown = family_shown(cfg, family, size["family"])
    if shown != size["family"]:  # the family the user set, and which one's shapes were counted
        size["counted_as"], size["family"] = size["family"], shown
    return size


def _human(schedule, config: str, target=None, network=None) -> list[str]:
    s = schedule
    lines = [f"Steps for {config}:", "", "Folders (repeats x images = samples per epoch):"]
    from loratui.commands.term_text import cells, pad, shown_name

    names = {id(f): shown_name(f.name) for f in s.folders}  # a newline in a folder name stays on its line
    width = max((cells(name) for name in names.values()), default=4)
    for f in s.folders:
        kind = "reg" if f.is_reg else "train"
        line = f"  {kind:<5} {pad(names[id(f)], width)}  {f.repeats:>4} x {f.images:>5} = {f.samples:>7}"
        if f.is_reg and (f.used_images != f.images or f.used_samples != f.samples):
            line += f"   used: {f.used_images} image(s), {f.used_samples} sample(s)"
        lines.append(line)
    lines.extend(_left_out_lines(s.left_out_folders))
    lines.append(f"  train samples per epoch: {s.samples_per_epoch}")
    if s.reg is not None:
        r = s.reg
        how = [f"available {r.available_samples}, sd-scripts' \"num reg images\"", f"needed {r.train_samples}"]
        if r.extra_repeats:
            how.append(f"padded with {r.extra_repeats} extra repeat(s)")
        if r.unused_images:
            how.append(f"unused images {r.unused_images}")
        lines.append(f"  reg samples per epoch:   {s.reg_samples_per_epoch} ({', '.join(how)})")
    lines += ["", "Buckets:", f"  {'resolution':>11}  {'images':>6}  {'samples':>7}  {'batches':>7}"]
    for key, count in s.buckets.items():
        lines.append(f"  {key:>11}  {s.bucket_images[key]:>6}  {count:>7}  {s.bucket_batches[key]:>7}")
    lines.append(f"  {'total':>11}  {sum(s.bucket_images.values()):>6}  {s.total_samples_per_epoch:>7}  "
                 f"{s.batches_per_epoch:>7}")
    lines += ["", "Formula:",
              f"  batches per epoch = sum over buckets of ceil(samples / batch {s.train_batch_size}) "
              f"= {s.batches_per_epoch}",
              f"  steps per epoch   = ceil({s.batches_per_epoch} batches / {s.num_processes} process(es) / "
              f"{s.gradient_accumulation_steps} accumulation) = {s.steps_per_epoch}"]
    if s.num_processes > 1:
        lines.append(f"  (each process sees ceil({s.batches_per_epoch} / {s.num_processes}) = "
                     f"{s.batches_per_process} batches per epoch: sd-scripts' \"num batches per epoch\")")
    if target is not None:
        lines.append(f"  target {target.target_steps} steps -> {target.epochs} epoch(s) x {s.steps_per_epoch} "
                     f"= {target.total_steps} steps ({target.difference:+d})")
        if target.capped:
            lines.append(f"  (max_train_epochs can be at most {target.max_epochs}: for {target.target_steps} steps "
                         f"set max_train_steps = {target.target_steps} instead)")
    elif s.mode == "epochs":
        lines.append(f"  total steps       = {s.epochs} epochs x {s.steps_per_epoch} = {s.total_steps}")
    else:
        lines.append(f"  total steps       = max_train_steps = {s.total_steps} "
                     f"(ceil({s.total_steps} / {s.steps_per_epoch}) = {s.epochs} epochs; the last runs "
                     f"{s.last_epoch_steps} steps)")
    lines += ["", f"Total: {s.total_steps} steps in {s.epochs} epoch(s)."]
    if network is not None:
        lines += ["", _network_line(network)]
    if s.notes:
        lines += ["", "Notes:"] + [f"  - {note}" for note in s.notes]
    return lines


def _left_out_lines(left_out: list[str]) -> list[str]:
    """The folders not counted, each with the scan's reason (the first few, then how many more)."""
    from loratui.core.plan import SHOWN_FOLDERS

    if not left_out:
        return []
    lines = [f"  left out (not counted): {len(left_out)}"] + [f"    - {line}" for line in left_out[:SHOWN_FOLDERS]]
    if len(left_out) > SHOWN_FOLDERS:
        lines.append(f"    ... and {len(left_out) - SHOWN_FOLDERS} more (`loratui dataset scan` lists them)")
    return lines


@click.command()
@exit_codes((0, "done (folders left out of the count are named under the folders, with why)"),
            (2, "bad input: the config, or a dataset with no training images (the error says why: the first "
                "folder left out and its reason)"),
            (130, "interrupted"))
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the breakdown.")
# --processes as `loratui train --processes N` spells it; --num-processes (accelerate's word) still works
@click.option("--processes", "--num-processes", "num_processes", type=click.IntRange(min=1), default=1,
              show_default=True, metavar="N",
              help="Number of training processes (GPUs), as `loratui train --processes N`; each steps on its "
                   "share of the batches.")
@click.option("--target-steps", type=click.IntRange(min=1), default=None, metavar="N",
              help="Find the epoch count whose exact step total comes closest to N; the breakdown (and "
                   "--json) then shows that many epochs, the answer is under \"target\".")
def steps(config: str, as_json: bool, num_processes: int, target_steps: int | None) -> None:
    """Samples, buckets, batches and steps that CONFIG trains, with sd-scripts' arithmetic."""
    from loratui.core.config import load_config
    from loratui.core.plan import compute_schedule, epochs_for_target_steps, plan_epoch, scan_for_config

    from loratui.core.errors import LoratuiError

    cfg = load_config(config)
    target = None
    try:
        scan = scan_for_config(cfg)
        if target_steps is not None:
            plan = plan_epoch(cfg, scan, num_processes)
            target = epochs_for_target_steps(target_steps, plan.steps_per_epoch)  # never above the field's limit
            schedule = plan.with_epochs(target.epochs)
        else:
            schedule = compute_schedule(cfg, scan, num_processes)
    except LoratuiError as exc:  # name the config, as `config check` does, unless a file is named first
        head = str(exc).split(":", 1)[0]
        if "/" in head or head.startswith(str(config)):
            raise
        raise LoratuiError(f"{config}: {exc}") from None
    from loratui.core.plan import scan_notes

    schedule.notes.extend(scan_notes(scan))  # the Settings step calculator adds the same
    network = _network(cfg)
    if as_json:
        data = schedule.to_dict()
        data["config"] = config
        if target is not None:
            data["target"] = target.to_dict()
        data["network"] = network
        click.echo(json.dumps(data, indent=2))
        return
    click.echo("\n".join(_human(schedule, config, target, network)))
