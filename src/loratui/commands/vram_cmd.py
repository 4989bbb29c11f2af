"""`loratui vram CONFIG`: the peak-VRAM estimate of a config, part by part."""

from __future__ import annotations

import click

from loratui.commands.help_text import exit_codes
from loratui.commands.options import FamilyType, json_line
from loratui.core.errors import LoratuiError


# SD 2.x has no shape table of its own: the estimate and the parameter counts use SD 1.5's (numbers
# unchanged), but the family shown is the one the user set, with this phrase saying so
STAND_IN_FAMILIES = {"sd2": "sd1"}
STAND_IN_NOTE = "counted with SD 1.5's shapes"


def family_shown(cfg, family: str | None, modelled: str) -> str:
    """The family to print for ``cfg``: the one given (--family) or set in the config, or read from its
    weights, when the estimator modelled it as a stand-in (``modelled``: sd2 -> sd1); else ``modelled``."""
    from loratui.core.config import config_model_family

    try:
        told = config_model_family(cfg, family).family
    except LoratuiError:
        return modelled
    return told if STAND_IN_FAMILIES.get(told) == modelled else modelled


def family_label(family: str, modelled: str) -> str:
    """``family`` for a human line: "sd2: counted with SD 1.5's shapes" when it is a stand-in."""
    return f"{family}: {STAND_IN_NOTE}" if family != modelled else family


def _fitting_presets(estimate) -> list:
    from loratui.core.config import load_presets

    catalog = load_presets()
    family = "sdxl" if estimate.family == "sdxl" else "sd15"
    return [p for p in catalog.list(family) if estimate.fits(p.vram_gb)]


def _print_calibration(as_json: bool) -> None:
    from loratui.core.plan import CONSTANTS, calibration_report

    rows = calibration_report()
    if as_json:
        click.echo(json_line({"constants": CONSTANTS, "points": [
            {"label": label, "reference_gib": ref, "estimate_gib": round(est, 3), "error": round(err, 4)}
            for label, ref, est, err in rows]}, indent=2))
        return
    width = max(len(r[0]) for r in rows)
    click.echo(f"{'calibration point':<{width}}  {'reference':>9}  {'estimate':>8}  error")
    for label, ref, est, err in rows:
        click.echo(f"{label:<{width}}  {ref:>8.2f}G  {est:>7.2f}G  {err:+.1%}")
    click.echo("(compared without the CUDA context: the published figures are allocator peaks)")


@click.command()
@exit_codes((0, "done; with model_family = \"auto\" and a model path that does not exist (yet), the family is "
                "guessed from its name and a warning line on stderr names the path"),
            (2, "bad input: the config, or a model that is there but whose family cannot be read from it"),
            (130, "interrupted"))
@click.argument("config", required=False, type=click.Path(dir_okay=False))
@click.option("--family", type=FamilyType(auto=True),
              help="Override the config's model family: sd1 (also spelled sd15), sd2, sdxl or auto.")
@click.option("--json", "as_json", is_flag=True,
              help="Machine-readable output: {family, family_guessed, total_bytes, total_gib, parts, assumptions, "
                   "fits_tiers_gb, config, fits_presets, warnings}; \"family\" is spelled as the config's "
                   "model.model_family (sd1, sd2, sdxl), as in `presets list --json`'s \"model_family\"; "
                   "for sd2, \"counted_as\": \"sd1\" says SD 1.5's shapes were counted.")
@click.option("--calibration", is_flag=True, help="Show how the estimator matches its calibration figures.")
def vram(config: str | None, family: str | None, as_json: bool, calibration: bool) -> None:
    """Estimate the peak training VRAM of CONFIG, with a breakdown by part."""
    if calibration:
        _print_calibration(as_json)
        return
    if config is None:
        raise LoratuiError("give a config file: loratui vram CONFIG (or --calibration)")
    from loratui.core.config import load_config
    from loratui.core.plan import GIB, estimate_vram, family_from_weights, missing_model_warning

    cfg = load_config(config)
    fam = None if family in (None, "auto") else family
    warnings = []
    if fam is None and cfg.model.model_family == "auto":
        fam = family_from_weights(cfg, config)  # an unreadable model is an error, not a silent SD1 guess
        missing = missing_model_warning(cfg)  # planning before the download is fine, but say it is a guess
        if missing:
            warnings.append(missing)
            click.echo(f"warning: {missing}", err=True)
    estimate = estimate_vram(cfg, family=fam, scan=dataset_scan(cfg))
    fitting = _fitting_presets(estimate)
    shown = family_shown(cfg, fam, estimate.family)
    if as_json:
        data = estimate.to_dict()
        if shown != estimate.family:  # as the config spells it (sd2), and whose shapes were counted (sd1)
            data["family"], data["counted_as"] = shown, estimate.family
        data["config"] = config
        data["fits_presets"] = [p.id for p in fitting]
        data["warnings"] = warnings
        click.echo(json_line(data, indent=2))
        return

    width = max(len(p.name) for p in estimate.parts)
    click.echo(f"Estimated peak VRAM for {config} ({family_label(shown, estimate.family)}):")
    for part in estimate.parts:
        click.echo(f"  {part.name:<{width}}  {part.bytes / GIB:7.2f} GiB  {part.note}")
    click.echo(f"  {'total':<{width}}  {estimate.total_gib:7.2f} GiB")
    click.echo("Assumptions:")
    for assumption in estimate.assumptions:
        click.echo(f"  - {assumption}")
    if fitting:
        tiers = sorted({p.vram_gb for p in fitting})
        click.echo(f"Fits on {', '.join(f'{gb} GB' for gb in tiers)} cards "
                   f"(presets: {', '.join(p.id for p in fitting)}).")
    else:
        click.echo("Fits on none of the presets' cards: see `loratui presets list`.")


def dataset_scan(cfg):
    """The config's dataset, scanned, or None when its folders cannot be read (the estimate stands
    without it). With it ``estimate_vram(..., scan=)`` sizes no batch past the largest bucket; `loratui
    vram` and `presets apply` both use this, so they print the same total for the same file."""
    from loratui.core.plan import scan_for_config

    try:
        return scan_for_config(cfg)
    except (LoratuiError, OSError):
        return None
