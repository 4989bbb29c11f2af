"""`loratui config new|check|explain|show|import-kohya|export-sdscripts`: the training config file."""

from __future__ import annotations

import dataclasses
import difflib
import os
import sys
import textwrap
from pathlib import Path

import click

from loratui.commands.help_text import exit_codes, shell_arg
from loratui.commands.options import FamilyType, can_ask, stdio_is_terminal
from loratui.core.errors import LoratuiError


def _interactive() -> bool:
    """Are stdin and stdout terminals? (A pipe or a script must pass --yes.) Asked through
    ``options.can_ask``."""
    return stdio_is_terminal()


@click.group()
@exit_codes((0, "done"), (1, "`config check` found problems (one per line), including what only sd-scripts "
                               "refuses"),
            (2, "bad input: an error naming the file, line and key; export-sdscripts on a config with problems "
                "(sd-scripts' own included) without --force, or over an earlier export off a terminal (stdin and "
                "stdout) without --yes"),
            (130, "interrupted"))
def config() -> None:
    """Create, check, explain, import (kohya_ss JSON) and export (sd-scripts TOML) configs.

    A config is one TOML file with the sections [model] [dataset] [network] [optimizer] [training]
    [saving] [sampling]; key names are sd-scripts' argument names. Relative paths in it are relative
    to the config file's folder.
    """


def _check_toml_name(target: Path, option: str = "") -> None:
    """A config is TOML: a name that says otherwise (x.json, no suffix) is refused, not silently
    filled with TOML that the next tool reading it by its suffix fails on."""
    if target.suffix.lower() != ".toml":
        said = f"{option} " if option else ""
        raise LoratuiError(f"{said}{target}: a config is a TOML file: give a name ending in .toml "
                           f"(e.g. {target.with_suffix('.toml') if target.suffix else str(target) + '.toml'}); "
                           "nothing written")


def _relative_to(path_text: str, config_dir: Path) -> str:
    """A path the user typed (relative to the cwd) rewritten relative to the config's folder."""
    path = Path(os.path.expanduser(path_text))
    if path.is_absolute():
        return str(path)
    rel = os.path.relpath(Path.cwd() / path, config_dir.resolve())
    return Path(rel).as_posix()


@config.command("new")
@exit_codes((0, "written"),
            (2, "nothing written: PATH exists, its folder is missing, PATH does not end in .toml, a bad option"))
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--train-data-dir", "train_data_dir", help="Folder of N_concept image folders.")
@click.option("--model", help="Base model: diffusers folder or .safetensors file (a Hugging Face repo id: download it first).")
@click.option("--family", type=FamilyType(),
              help="Model family: sd1 (also spelled sd15), sd2 or sdxl (default: auto-detect from the weights).")
@click.option("--output-dir", "output_dir", help="Where the LoRA files, samples and run events go.")
def new_config(path: str, train_data_dir: str | None, model: str | None, family: str | None,
               output_dir: str | None) -> None:
    """Write a fully commented starter config to PATH, a .toml file (never overwrites a file)."""
    from loratui.core.config import TrainingConfig, apply_cpu_defaults
    from loratui.core.config import save_config

    target = Path(path)
    if target.exists():
        raise LoratuiError(f"{target} already exists: choose another name (loratui never overwrites a config)")
    _check_toml_name(target)
    if not target.parent.is_dir():
        raise LoratuiError(f"{target.parent} is not a folder: create it first")
    cfg = TrainingConfig()
    cfg.training.max_train_epochs = 10
    cfg.saving.save_every_n_epochs = 1
    cfg.saving.output_name = target.stem
    reg_named = None
    if train_data_dir:
        train_data_dir, reg_named = _dataset_folders(train_data_dir)
        cfg.dataset.train_data_dir = _relative_to(train_data_dir, target.parent)
        if reg_named:
            cfg.dataset.reg_data_dir = _relative_to(reg_named, target.parent)
    if model:
        local = Path(os.path.expanduser(model)).exists()
        cfg.model.pretrained_model_name_or_path = _relative_to(model, target.parent) if local else model
    # a project from `loratui dataset init` (img/ reg/ model/): use its folders
    project = target.parent
    if not train_data_dir and (project / "img").is_dir():
        cfg.dataset.train_data_dir = "img"
    reg_images = _reg_images(Path(reg_named) if reg_named else project / "reg")
    same = train_data_dir and os.path.realpath(train_data_dir) == os.path.realpath(project / "reg")
    if reg_images and not reg_named and not same:
        cfg.dataset.reg_data_dir = "reg"
    elif not reg_named:
        reg_images = 0
    if output_dir:
        cfg.saving.output_dir = _relative_to(output_dir, target.parent)
    elif (project / "model").is_dir():
        cfg.saving.output_dir = "model"
    if family:
        cfg.model.model_family = family
    defaults_for, family_note = family or "", ""
    typed_model = Path(os.path.expanduser(model)) if model else None
    if not family and typed_model is not None and typed_model.exists():
        # "auto" stays in the file (a swapped model is read again); the starting values follow the weights
        from loratui.core.config import read_model_family

        try:
            defaults_for = read_model_family(typed_model)
            family_note = (f"model family {defaults_for}, read from the weights of {model}: "
                           f"{'SDXL' if defaults_for == 'sdxl' else 'SD 1.5'} defaults written (model_family "
                           "stays \"auto\")")
        except LoratuiError as exc:
            family_note = (f"cannot read the model family from {model} ({exc}): SD 1.5 defaults written; pass "
                           "--family sdxl for an SDXL model")
    if defaults_for == "sdxl":
        cfg.dataset.resolution = (1024, 1024)
        cfg.dataset.max_bucket_reso = 2048
        cfg.training.gradient_checkpointing = True
    cpu_note = apply_cpu_defaults(cfg)
    save_config(cfg, target)
    reg = (f", reg_data_dir = {cfg.dataset.reg_data_dir}: its {reg_images} regularization image(s) are used, which "
           "doubles the steps per "
           "epoch; set it to \"\" to train without them" if reg_images else "")
    click.echo(f"wrote {target} (train_data_dir = {cfg.dataset.train_data_dir or '(unset)'}{reg}, output_dir = "
               f"{cfg.saving.output_dir}): edit it, then `loratui config check {shell_arg(target)}`")
    if family_note:
        click.echo(f"note: {family_note}")
    if cpu_note:
        click.echo(f"note: {cpu_note}")
    for option, value in (("--train-data-dir", train_data_dir), ("--model", model)):
        typed = Path(os.path.expanduser(value)) if value else None
        if typed is not None and not typed.exists():  # written as given: say so before training refuses it
            click.echo(f"note: {option} {shell_arg(value)} does not exist here ({typed.absolute()}): "
                       "training needs it (`loratui config check` says so until it does)", err=True)


def _dataset_folders(given: str) -> tuple[str, str | None]:
    """The training folder and reg folder --train-data-dir means, read as the app reads a folder
    (core.dataset.locate_dataset): a reg folder (or a concept in one) is the reg images of the training
    folder beside it, a concept folder stands for its dataset, a project for its img/. As given when it
    is none of these (config check then says what is wrong)."""
    from loratui.core.dataset import locate_dataset

    try:
        location = locate_dataset(given)
    except LoratuiError:
        return given, None
    def as_given(folder: Path) -> str:  # relative when the user typed a relative path (kept relative in the file)
        return str(folder) if os.path.isabs(os.path.expanduser(given)) else os.path.relpath(folder)

    if location.is_reg:
        return as_given(location.reg_of), as_given(location.train_dir)
    if location.kind in ("concept", "project"):
        return as_given(location.train_dir), None
    return given, None


def _reg_images(reg: Path) -> int:
    """Images in the N_class folders of a project's reg/ (sd-scripts uses those and nothing else)."""
    from loratui.core.dataset import iter_images, parse_subset_name

    if not reg.is_dir():
        return 0
    return sum(len(list(iter_images(sub, recursive=False))) for sub in reg.iterdir()
               if sub.is_dir() and (parse_subset_name(sub.name) or (0,))[0] >= 1)


@config.command("check")
@exit_codes((0, "the config is fine (\"ok\")"),
            (1, "problems found, one per line: the file cannot be read, a value, the fields together, a "
                "path, a package, the dataset"),
            (2, "bad usage: PATH is a folder, an unknown option"))
@click.argument("path", type=click.Path(dir_okay=False))
def check_config(path: str) -> None:
    """Load PATH, check every value, the fields together and the paths; print "ok" or the problems.

    Every problem is one line.
    """
    from loratui.core.config import config_file_problems, config_notes

    cfg, problems = config_file_problems(path)
    _leftover_notes(Path(path))
    scan = schedule = None
    if cfg is not None and not problems:
        problems, scan, schedule = _dataset_problems(cfg)
        problems = [f"{path}: {p}" for p in problems]
    if problems:
        for problem in problems:
            click.echo(problem)
        sys.exit(1)
    click.echo("ok")
    for note in config_notes(cfg):
        click.echo(f"note: {note}", err=True)
    if cfg.training.max_train_epochs is None and cfg.training.max_train_steps is None:
        click.echo("note: neither max_train_epochs nor max_train_steps is set "
                   "(`loratui steps` shows what that means)", err=True)
    _dataset_notes(scan, schedule)


def _leftover_notes(path: Path) -> None:
    """Notes (stderr; not problems: training reads the config itself) on the temp files a killed save
    left beside it and on a Settings draft of unsaved changes."""
    from loratui.core.drafts import gather_settings_drafts
    from loratui.core.tomlfile import leftover_toml_temps

    for item in leftover_toml_temps(path):
        click.echo(f"note: {item.line()}", err=True)
    gathered = gather_settings_drafts(path)  # every app's own draft file: ended ones, and running ones
    if gathered.draft is not None and gathered.files:
        click.echo(f"note: {gathered.files[0]}: Settings changes to {path.name} a closed app never saved: open "
                   "the app's Settings on this config to restore or delete them (f6)", err=True)
    for pid in gathered.live:
        click.echo(f"note: another loratui (pid {pid}) has unsaved Settings changes to {path.name}", err=True)


def _dataset_problems(cfg):
    """(what train would refuse in the dataset itself: the schedule it computes first (no images,
    an image no bucket takes...), the scan). Read from the images' headers, as `loratui steps` does."""
    from loratui.core.errors import LoratuiError
    from loratui.core.plan import compute_schedule, scan_for_config

    try:
        scan = scan_for_config(cfg)
        schedule = compute_schedule(cfg, scan)
    except LoratuiError as exc:
        return [str(exc)], None, None
    return [], scan, schedule


def _dataset_notes(scan, schedule=None, shown: int = 5) -> None:
    """After "ok": the dataset's errors and warnings, which training warns about without stopping
    (left-out images, unreadable or empty captions), on stderr, so a script reading "ok" is not disturbed."""
    from loratui.core.dataset import count_line
    from loratui.core.plan import many_repeats_lines

    for line in many_repeats_lines(schedule) if schedule else []:  # with the run's total steps, as train warns
        click.echo(f"warning: {line}", err=True)
    found = [p for p in (scan.problems if scan else []) if p.severity in ("error", "warning")
             and not (schedule and p.kind == "many_repeats")]
    if not found:
        return
    where = shell_arg(scan.train_data_dir) + (f" --reg {shell_arg(scan.reg_data_dir)}" if scan.reg_data_dir else "")
    click.echo(f"note: the dataset has {count_line(found)}; training warns about each "
               f"(`loratui dataset scan {where}` lists them):", err=True)
    for problem in found[:shown]:
        click.echo(f"  {problem.severity}: {problem.message}", err=True)
    if len(found) > shown:
        click.echo(f"  ... and {len(found) - shown} more", err=True)


def _describe(spec) -> str:
    from loratui.core.config import describe_field

    head, text = describe_field(spec)
    return head + "\n" + textwrap.fill(text, 96, initial_indent="    ", subsequent_indent="    ")


@config.command("explain")
@exit_codes((0, "done"), (2, "no such key (with a \"did you mean\")"))
@click.argument("key", required=False)
def explain(key: str | None) -> None:
    """Print the help of one KEY (or section.key, or a whole section), or of every field.

    A kohya_ss GUI name (lr_warmup, epoch, sdxl_no_half_vae...) says where `config import-kohya` puts it.
    """
    from loratui.core.config import SECTIONS
    from loratui.core.config import FIELDS, KEY_SECTIONS

    if key is None:
        specs = list(FIELDS.values())
    elif key in SECTIONS:
        specs = [s for s in FIELDS.values() if s.section == key]
    else:
        from loratui.core.config import LYCORIS_ARGS as ARGS, explain_arg, explain_gui_key

        name = key.split(".", 1)[1] if "." in key and key.split(".", 1)[0] in SECTIONS else key
        if name.startswith("network_args."):
            name = name.split(".", 1)[1]
        lycoris = explain_arg(name)
        if name == "network_args":  # the field, then every LyCORIS argument it takes
            click.echo("\n\n".join([_describe(FIELDS[("network", name)])] + [explain_arg(a) for a in ARGS]))
            return
        if lycoris and name not in KEY_SECTIONS:
            click.echo(lycoris)
            return
        gui = explain_gui_key(name) if name not in KEY_SECTIONS else None
        if gui:  # a kohya_ss GUI name (lr_warmup, epoch...): where the import puts it, then that key's help
            head, text, target = gui
            spec = FIELDS.get(tuple(target.split(".", 1)))
            wrapped = head + "\n" + textwrap.fill(text, 96, initial_indent="    ", subsequent_indent="    ")
            click.echo(wrapped + ("\n\n" + _describe(spec) if spec else ""))
            return
        if name not in KEY_SECTIONS:
            close = difflib.get_close_matches(name, list(KEY_SECTIONS) + list(SECTIONS), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else " (`loratui config explain` lists every key)"
            raise LoratuiError(f"{key}: no such config key{hint}")
        specs = [FIELDS[(KEY_SECTIONS[name], name)]]
        if lycoris:  # conv_dim, conv_alpha: a [network] key and a LyCORIS argument
            click.echo("\n\n".join([_describe(specs[0]), lycoris]))
            return
    click.echo("\n\n".join(_describe(s) for s in specs))


@config.command("show")
@exit_codes((0, "done"), (2, "the config cannot be read or holds an error (named: file, line, key)"))
@click.argument("path", type=click.Path(dir_okay=False))
def show(path: str) -> None:
    """Print the effective config of PATH: every key with defaults filled in."""
    from loratui.core.config import dumps_config, load_config

    click.echo(dumps_config(load_config(path), comments=False).rstrip())


@config.command("import-kohya")
@exit_codes((0, "done: imported (written with -o, else only printed)"),
            (2, "nothing written: a JSON that cannot be read (a TOML given instead is named as what it is), a "
                "dataset_config loratui cannot express, an -o file that exists, does not end in .toml or whose folder "
                "is missing"))
@click.argument("json_path", metavar="JSON", type=click.Path(dir_okay=False))
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False),
              help="Write the imported config here (never overwrites; sample prompts go to NAME.prompts.txt, or "
                   "NAME.prompts-N.txt when that holds other prompts).")
@click.option("--as-lora", is_flag=True, help="Import LyCORIS/DyLoRA/LoRA-FA types as a plain LoRA.")
def import_kohya_cmd(json_path: str, output: str | None, as_lora: bool) -> None:
    """Import a kohya_ss GUI JSON config and print what was mapped and what was ignored (and why).

    A setting loratui has no equivalent for is a warning when it is on (the run then trains without it).
    A relative path is read as kohya_ss did (from its folder, taken to be the current one, else the JSON's)
    and written relative to the -o file's folder; a path found nowhere, or a Windows one, is a warning.

    An sd-scripts dataset TOML is read through the JSON's dataset_config key, never given here: its
    [[datasets]] become loratui's one dataset only when that trains the same (no reg subsets, same
    batches per epoch); otherwise the import stops and says why. sd-scripts' --config_file TOMLs are
    not read.
    """
    from loratui.core.config import save_config, validate
    from loratui.core.config import import_kohya_file

    target = Path(output) if output else None
    if target is not None:
        _check_toml_name(target, "-o")  # before the JSON is read: nothing to learn from it first
    # relative paths are rewritten for the config's folder (the current one when only printed)
    cfg, report = import_kohya_file(json_path, as_lora=as_lora, config_dir=target.parent if target else Path.cwd())
    prompts = None
    if target is not None:
        if target.exists():
            raise LoratuiError(f"{target} already exists: choose another name (loratui never overwrites a config)")
        if not target.parent.is_dir():
            raise LoratuiError(f"{target.parent} is not a folder: create it first")
        if report.prompts_text:  # never over another file: the same prompts are reused, else NAME.prompts-N.txt
            prompts, _ = report.prompts_file(target.with_name(target.stem + ".prompts.txt"))
            cfg.sampling.sample_prompts = prompts.name
    for line in report.lines():
        click.echo(line)
    for problem in validate(cfg):
        click.echo(f"warning: {problem}")
    if target is None:
        click.echo("(nothing written: pass -o OUT.toml to save the config)")
        return
    if prompts is not None:
        written, new = report.write_prompts(prompts.with_name(target.stem + ".prompts.txt"))
        if written != prompts:  # made by someone else since: the config names the one really used
            cfg.sampling.sample_prompts = written.name
        click.echo(f"wrote {written}" if new else f"sample_prompts uses {written} (it holds the same prompts)")
    save_config(cfg, target)
    click.echo(f"wrote {target}")


@config.command("export-sdscripts")
@exit_codes((0, "written (or not confirmed)"),
            (2, "nothing written: the config cannot be read, or has problems `config check` reports (sd-scripts would "
                "refuse them or train differently; one line each) without --force, a family that cannot be told, a "
                "config.toml of your own in the folder, an earlier export there off a terminal without --yes"),
            (130, "interrupted"))
@click.argument("config_path", metavar="CONFIG", type=click.Path(dir_okay=False))
@click.option("-o", "--output-dir", "output_dir", type=click.Path(file_okay=False),
              help="Folder for config.toml and dataset.toml (default: CONFIG's name + _sdscripts).")
@click.option("--family", type=FamilyType(),
              help="Override model_family: sd1 (also spelled sd15), sd2 or sdxl (needed when it is auto and "
                   "cannot be read from the weights).")
@click.option("--num-processes", "num_processes", type=click.IntRange(min=1), default=None, metavar="N",
              help="The GPUs (processes) sd-scripts will run on: an integer lr_warmup_steps is written times N, "
                   "as sd-scripts counts it in scheduler steps (N per optimizer step), and the command gets "
                   "--multi_gpu --num_processes N.")
@click.option("--yes", "-y", "yes", is_flag=True, help="Overwrite an earlier export without asking.")
@click.option("--force", is_flag=True, help="Export even when `config check` finds problems (each is printed as a "
                                            "warning); also overwrites an earlier export, as --yes does.")
def export_sdscripts_cmd(config_path: str, output_dir: str | None, family: str | None, num_processes: int | None,
                         yes: bool, force: bool) -> None:
    """Write sd-scripts' config.toml + dataset.toml for CONFIG and print the command that runs them.

    CONFIG is checked first as `config check` does (a Hugging Face repo id as the base model is fine
    here): a config with problems is not exported unless --force. Both files are written or neither.
    An earlier export in the folder is overwritten only after a yes (or with --yes; without a
    terminal the command stops).
    """
    from loratui.core.config import earlier_export, export_sdscripts, load_config, refuse_foreign_export_files

    cfg = load_config(config_path)
    if family:  # checked as exported: --family stands for model_family
        cfg.model = dataclasses.replace(cfg.model, model_family=family)
    problems = _export_problems(cfg)
    if problems and not force:
        for problem in problems:
            click.echo(f"error: {config_path}: {problem}", err=True)
        raise LoratuiError(f"{config_path}: {len(problems)} problem(s) above (`config check` "
                           "refuses them: sd-scripts would stop on them, train differently, or they look like typos); "
                           f"nothing written: fix them (`loratui config check {shell_arg(config_path)}`), "
                           "or pass --force to export anyway")
    for problem in problems:
        click.echo(f"warning: {config_path}: {problem} (exported anyway: --force)", err=True)
    yes = yes or force
    out = Path(output_dir) if output_dir else Path(config_path).with_name(Path(config_path).stem + "_sdscripts")
    refuse_foreign_export_files(out)  # the user's own config.toml there is never an "earlier export"
    earlier = earlier_export(out)
    if earlier and not yes:
        if not can_ask(False, _interactive):
            raise LoratuiError(f"{earlier[0]}: an earlier export is there; nothing was written: pass --yes to "
                               "overwrite it, or another --output-dir")
        if not click.confirm(f"Overwrite the earlier export in {out}?", default=False):
            click.echo("Nothing written.")
            return
    export, cfg_file, ds_file = export_sdscripts(cfg, out, family, overwrite=True, num_processes=num_processes)
    for note in export.notes:
        click.echo(f"note: {note}")
    click.echo(f"wrote {cfg_file}")
    click.echo(f"wrote {ds_file}")
    click.echo("run from your sd-scripts folder:")
    click.echo("  " + export.command(cfg_file, ds_file))


def _export_problems(cfg) -> list[str]:
    """What `config check` reports that an export would carry to sd-scripts: the fields together, the
    paths (a Windows path named, never joined to the config's folder), then the dataset as `check` reads it."""
    from loratui.core.config import export_problems

    problems = export_problems(cfg)
    return problems or _dataset_problems(cfg)[0]
