"""`loratui presets list|show|apply`: the VRAM presets, and applying one to a config file."""

from __future__ import annotations

import json

import click

from loratui.core.errors import LoratuiError


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
def presets() -> None:
    """List VRAM presets and apply one to a config.

    Shipped presets are merged with your own folder ($XDG_CONFIG_HOME/loratui/presets or
    ~/.config/loratui/presets); a preset there with the same id replaces the shipped one.
    """


@presets.command("list")
@click.option("--family", type=click.Choice(["sd15", "sdxl"], case_sensitive=False),
              help="Only presets for this model family.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_presets(family: str | None, as_json: bool) -> None:
    """Show every preset: id, VRAM tier, family and description."""
    found = _catalog().list(family)
    if as_json:
        click.echo(json.dumps([{"id": p.id, "family": p.family, "vram_gb": p.vram_gb,
                                "description": p.description, "source": p.source, "path": str(p.path)}
                               for p in found], indent=2))
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
@click.argument("preset_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
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
        click.echo(json.dumps({
            "id": preset.id, "family": preset.family, "vram_gb": preset.vram_gb,
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


@presets.command("apply")
@click.argument("config", type=click.Path(dir_okay=False))
@click.argument("preset_id", metavar="ID")
@click.option("--yes", "-y", is_flag=True, help="Write without asking.")
@click.option("--dry-run", is_flag=True, help="Only show what would change.")
def apply_cmd(config: str, preset_id: str, yes: bool, dry_run: bool) -> None:
    """Apply preset ID to CONFIG: show the changed fields, then write the file."""
    from loratui.core.config import load_config, save_config, validate
    from loratui.core.config import apply_preset, preset_changes
    from loratui.core.plan import estimate_vram, resolve_family

    if yes and dry_run:
        raise LoratuiError("--yes and --dry-run contradict each other: choose one")
    preset = _catalog().get(preset_id)
    cfg = load_config(config)
    changes = preset_changes(cfg, preset)
    if not changes:
        click.echo(f"{config} already has every setting of {preset.id}: nothing to change")
        return
    width = max(len(c.key) for c in changes)
    click.echo(f"{preset.id} changes {len(changes)} field(s) in {config}:")
    for change in changes:
        click.echo(f"  {change.key:<{width}}  {_show_value(change.old)} -> {_show_value(change.new)}")

    family_notes: list[str] = []
    unknown_model = (cfg.model.model_family or "auto") == "auto" and not cfg.model.pretrained_model_name_or_path
    estimate_family = None
    if unknown_model:  # nothing to guess from: the preset says what it is for
        estimate_family = preset.estimator_family
        click.echo(f"note: no model set yet: estimating for {preset.family}, the preset's family "
                   "(set model.pretrained_model_name_or_path or model.model_family)")
    else:
        cfg_family = resolve_family(cfg, None, family_notes)
        if cfg_family != preset.estimator_family:
            guessed = " (guessed from the model name)" if family_notes else ""
            click.echo(f"warning: {preset.id} is for {preset.family} but this config's model is "
                       f"{cfg_family}{guessed}", err=True)
    apply_preset(cfg, preset)
    for problem in validate(cfg):
        click.echo(f"warning: after applying: {problem}", err=True)
    estimate = estimate_vram(cfg, family=estimate_family)
    click.echo(f"estimated peak VRAM after applying: {estimate.total_gib:.2f} GiB")
    if dry_run:
        click.echo("dry run: nothing written")
        return
    if not yes and not click.confirm(f"Write {config}?", default=False):
        click.echo("not written")
        return
    save_config(cfg, config)
    click.echo(f"wrote {config}")
