"""`loratui presets list|show|apply`: the VRAM presets, and applying one to a config file."""

from __future__ import annotations

import json

import click

from loratui.commands.help_text import exit_codes
from loratui.commands.options import FamilyType, can_ask, json_line, stdio_is_terminal
from loratui.commands.vram_cmd import dataset_scan
from loratui.core.errors import LoratuiError


def _interactive() -> bool:
    """Are stdin and stdout terminals? (A pipe or a script must pass --yes.) Asked through
    ``options.can_ask``."""
    return stdio_is_terminal()


# the two family spellings in --json: the preset file's own, and the one configs, `vram` and `steps` use
MODEL_FAMILY_HELP = ('"family" is the preset\'s own spelling (sd15, sdxl); "model_family" is the config\'s '
                     '(model.model_family: sd1, sdxl), as `loratui vram --json` and `steps --json` name it.')


def _catalog():
    from loratui.core.config import load_presets

    catalog = load_presets()
    for problem in catalog.problems:
        click.echo(f"warning: skipped user preset: {problem}", err=True)
    return catalog


def _show_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple) and len(value) == 2:
        return str(value[0]) if value[0] == value[1] else f"{value[0]},{value[1]}"
    if value is None:
        return "(unset)"
    if isinstance(value, str):
        return json.dumps(value)
    return str(value)


def _json_value(value):
    if isinstance(value, tuple):
        return list(value)
    return value


@click.group()
@exit_codes((0, "done"),
            (2, "bad input: an unknown preset or family; apply of another family's preset, or of one that would "
                "leave the config invalid (what `config check` refuses: a resolution past max_bucket_reso), "
                "without --force; apply off a terminal (stdin and stdout) without --yes"),
            (130, "interrupted"))
def presets() -> None:
    """List VRAM presets and apply one to a config.

    Shipped presets are merged with your own folder ($XDG_CONFIG_HOME/loratui/presets or
    ~/.config/loratui/presets); a preset there with the same id replaces the shipped one.
    """


@presets.command("list")
@exit_codes((0, "done (a user preset that cannot be read is a warning on stderr)"),
            (2, "bad input: an unknown --family"))
@click.option("--family", type=FamilyType(families=("sd1", "sdxl")),
              help="Only presets for this model family: sd1 (also spelled sd15) or sdxl.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output: a list of {id, family, model_family, "
                                                      "vram_gb, description, source, path}. " + MODEL_FAMILY_HELP)
def list_presets(family: str | None, as_json: bool) -> None:
    """Show every preset: id, VRAM tier, family and description."""
    found = _catalog().list(family)  # sd1 finds the sd15-* presets
    if as_json:
        click.echo(json_line([{"id": p.id, "family": p.family, "model_family": p.estimator_family,
                               "vram_gb": p.vram_gb, "description": p.description, "source": p.source,
                               "path": str(p.path)} for p in found], indent=2))
        return
    if not found:
        click.echo("no presets")
        return
    width = max(len(p.id) for p in found)
    click.echo(f"{'ID':<{width}}  {'VRAM':>6}  {'FAMILY':<6}  DESCRIPTION")
    for p in found:
        mark = " (user)" if p.source == "user" else ""
        click.echo(f"{p.id:<{width}}  {str(p.vram_gb) + ' GB':>6}  {p.family:<6}  {p.description}{mark}")


@presets.command("show")
@exit_codes((0, "done"), (2, "no such preset ID (`loratui presets list` shows them)"))
@click.argument("preset_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output: {id, family, model_family, vram_gb, "
                                                      "description, source, path, settings, estimated_gib}. "
                                                      + MODEL_FAMILY_HELP)
def show_preset(preset_id: str, as_json: bool) -> None:
    """Show one preset's settings and its estimated peak VRAM on a default config."""
    from loratui.core.config import TrainingConfig
    from loratui.core.config import apply_preset
    from loratui.core.plan import estimate_vram

    preset = _catalog().get(preset_id)
    cfg = TrainingConfig()
    apply_preset(cfg, preset)
    estimate = estimate_vram(cfg, family=preset.estimator_family)
    if as_json:
        click.echo(json_line({
            "id": preset.id, "family": preset.family, "model_family": preset.estimator_family,
            "vram_gb": preset.vram_gb,
            "description": preset.description, "source": preset.source, "path": str(preset.path),
            "settings": {s: {k: _json_value(v) for k, v in keys.items()} for s, keys in preset.settings.items()},
            "estimated_gib": round(estimate.total_gib, 3)}, indent=2))
        return
    click.echo(f"{preset.id}: {preset.description}")
    click.echo(f"family {preset.family}, {preset.vram_gb} GB cards, {preset.source} preset ({preset.path})")
    for key, value in preset.items():
        click.echo(f"  {key} = {_show_value(value)}")
    click.echo(f"estimated peak VRAM with these settings: {estimate.total_gib:.2f} GiB "
               f"(`loratui vram CONFIG` for your own config)")


def _over_card_line(cfg, preset, estimate, family: str | None, scan=None) -> str | None:
    """"! ..." when the config with the preset applied does not fit the preset's own card (the rest of
    the config, a DoRA network or a large batch, can outweigh what the preset saves), with the cheapest
    change that makes it fit, as the VRAM panel finds it (batches sized by the dataset's ``scan`` too)."""
    from loratui.core.plan import vram_fixes

    card = preset.vram_gb
    if not card or estimate.fits(card):
        return None
    line = f"! {estimate.total_gib:.2f} GiB is more than the preset's {card:g} GB card holds"
    fixes = vram_fixes(cfg, card, family=family, limit=1, scan=scan)
    if not fixes:
        return line + " (`loratui vram CONFIG` shows what takes it)"
    fix = fixes[0]
    still = "" if fix.fits else ", still over"
    return f"{line}: cheapest fix: {fix.describe()} -> {fix.estimate_gib:.2f} GiB{still} ({fix.fields_text()})"


def _cpu_slow_line(before, after) -> str | None:
    """The Settings preset picker's note when the preset brings a GPU-only optimizer or precision to a
    machine with no NVIDIA GPU (core's probe, the one `config new` picks its CPU defaults by)."""
    from loratui.core.config import cpu_slow_line, has_nvidia_gpu

    line = cpu_slow_line(before, after)
    return None if line is None or has_nvidia_gpu() else line


@presets.command("apply")
@exit_codes((0, "written, a dry run the real apply would write, nothing to change, or not confirmed"),
            (2, "nothing written: bad input (the config, an unknown preset, a preset for another family), a "
                "preset that would leave the config invalid (what `config check` refuses: its 512 px past "
                "max_bucket_reso) without --force, or not a terminal without --yes; --dry-run refuses the "
                "same presets, with the same line"),
            (130, "interrupted"))
@click.argument("config", type=click.Path(dir_okay=False))
@click.argument("preset_id", metavar="ID")
@click.option("--yes", "-y", is_flag=True, help="Write without asking.")
@click.option("--dry-run", is_flag=True, help="Only show what would change; exits 2 where the real apply would "
                                             "refuse.")
@click.option("--force", is_flag=True, help="Apply a preset made for another model family (SDXL onto SD1, ...), "
                                           "or one that leaves the config invalid (a resolution past max_bucket_reso).")
def apply_cmd(config: str, preset_id: str, yes: bool, dry_run: bool, force: bool) -> None:
    """Apply preset ID to CONFIG: show the changed fields, then write the file.

    A preset for another model family than the config's (an SDXL preset's 1024 px on an SD1 model)
    is refused unless --force, and so is one that would make the config invalid (its 512 px past the
    config's max_bucket_reso).
    """
    from loratui.core.config import load_config, save_config, validate
    from loratui.core.config import apply_preset, preset_changes, fixes_text, preset_check, preset_problem_line
    from loratui.core.config import config_model_family
    from loratui.core.plan import estimate_vram, resolve_family

    if yes and dry_run:
        raise LoratuiError("--yes and --dry-run contradict each other: choose one")
    preset = _catalog().get(preset_id)
    cfg = load_config(config)
    unknown_model = (cfg.model.model_family or "auto") == "auto" and not cfg.model.pretrained_model_name_or_path
    estimate_family = None
    mismatch = ""
    if not unknown_model:
        read = config_model_family(cfg)  # auto: read from the model's weights; the name only when they cannot be
        cfg_family = resolve_family(cfg, read.family, [])
        if cfg_family != preset.estimator_family:
            guessed = (f" (guessed from the model name: {read.why}; set model.model_family if that is wrong)"
                       if read.guessed else "")
            mismatch = f"{preset.id} is for {preset.family} but {config}'s model is {cfg_family}{guessed}"
            if not force:  # an SDXL preset's 1024 px and rank on an SD1 model is not a tuning, it is a mistake
                raise LoratuiError(f"{mismatch}: nothing written; pick a {cfg_family} preset (`loratui presets list "
                                   f"--family {cfg_family}`) or pass --force")
    changes = preset_changes(cfg, preset)
    if not changes:
        click.echo(f"{config} already has every setting of {preset.id}: nothing to change")
        return
    width = max(len(c.key) for c in changes)
    click.echo(f"{preset.id} changes {len(changes)} field(s) in {config}:")
    for change in changes:
        click.echo(f"  {change.key:<{width}}  {_show_value(change.old)} -> {_show_value(change.new)}")
    if mismatch:
        click.echo(f"warning: {mismatch} (applied anyway: --force)", err=True)
    if unknown_model:  # nothing to guess from: the preset says what it is for
        estimate_family = preset.estimator_family
        click.echo(f"note: no model set yet: estimating for {preset.family}, the preset's family "
                   "(set model.pretrained_model_name_or_path or model.model_family)")
    check = preset_check(cfg, preset)  # the same check the Settings screen's preset picker makes
    made = check.problems
    slow = _cpu_slow_line(cfg, check.after)
    if slow:
        click.echo(f"warning: {slow}", err=True)
    apply_preset(cfg, preset)
    after = validate(cfg)
    for problem in after:
        click.echo(f"warning: after applying: {problem}", err=True)
    scan = dataset_scan(cfg)  # the buckets are worked out for the config with the preset (its resolution)
    estimate = estimate_vram(cfg, family=estimate_family, scan=scan)
    click.echo(f"estimated peak VRAM after applying: {estimate.total_gib:.2f} GiB")
    over = _over_card_line(cfg, preset, estimate, estimate_family, scan)
    if over:
        click.echo(over)
    if made and not force:  # a config `config check` and `train` then refuse is not written
        # the dry run refuses too (exit 2), so a script can use it as the check of the real apply
        fix = f" ({fixes_text(check.fixes)} with it would fix that)" if check.fixes else ""
        raise LoratuiError(f"{preset_problem_line(preset.id, config, made)}; nothing written: change that field "
                           f"first (`loratui config explain KEY`){fix}, or pass --force")
    if dry_run:
        click.echo("dry run: nothing written")
        return
    if not yes and not can_ask(False, _interactive):
        raise LoratuiError(f"not a terminal, so {config} was not written: pass --yes to write it or --dry-run")
    if not yes and not click.confirm(f"Write {config}?", default=False):
        click.echo("not written")
        return
    save_config(cfg, config)
    click.echo(f"wrote {config}")
