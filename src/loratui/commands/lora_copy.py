"""`lora convert` on a file diffusers already loads (a plain LoRA/LoCon, every layer with its alpha): no
conversion. OUTPUT is a byte copy of SOURCE, or with a --precision other than the one SOURCE is stored in,
SOURCE with its tensors cast to it and its metadata kept (user hunt s16/h5 #4: --precision was ignored).
With --alpha-zero dim, its layers with alpha 0 (scale 1 in sd-scripts and LyCORIS, 0 in ComfyUI, A1111/Forge
and diffusers: core/config/lora_alpha.py) get alpha = rank, which every loader reads as scale 1, and the
metadata records it (loratui_converted_from)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from loratui.core.errors import LoratuiError

ANYWAY = "--rank N resizes it, --force converts it anyway"


def copy_or_cast(source: Path, output: Path, tensors: dict, metadata: dict[str, str], dtype, as_json: bool,
                 zero: dict[str, int] | None = None, alpha_zero: str = "keep") -> None:
    """OUTPUT from SOURCE (``tensors`` and ``metadata``, as read) in ``dtype`` (None: as it is stored), and
    its report line(s). ``zero``: its layers with alpha 0 -> their rank, written as their alpha when
    ``alpha_zero`` is "dim" (kept as 0 with "keep", and said)."""
    from loratui.engine.lora_convert_cast import STORED_NAME, needs_cast

    zero = zero or {}
    if zero and alpha_zero == "dim":
        _write_alpha_dim(source, output, tensors, metadata, dtype, zero, as_json)
        return
    kept_zero = (f"; its {len(zero)} layer(s) with alpha 0 keep it (sd-scripts reads it as alpha = rank, ComfyUI, "
                 "A1111/Forge and diffusers as scale 0: --alpha-zero dim writes alpha = rank)") if zero else ""
    if dtype is None or not needs_cast(tensors, dtype):
        _copy_unchanged(source, output)  # OUT exists afterwards, as a script doing `convert a b && use b` expects
        kept = "" if dtype is None else f", stored in {_type_name(dtype)}"
        line = f"{source}: already loads in diffusers{kept}: copied unchanged to {output} ({ANYWAY}){kept_zero}"
        data = {"output": str(output), "converted": False, "copied": True, "reason": line}
        if zero:
            data |= {"alpha_zero": "keep", "alpha_zero_layers": len(zero)}
        click.echo(json.dumps(data) if as_json else line)
        return
    from loratui.core.config import read_lora_info
    from loratui.engine.lora_convert import save_converted
    from loratui.engine.lora_convert_cast import cast_lora

    cast, report = cast_lora(source, tensors, dtype)
    before = sorted({str(t.dtype).removeprefix("torch.") for t in tensors.values() if t.is_floating_point()})
    # what was done, as a conversion records it (`lora info` shows it): a cast is not the file trained
    metadata = {**metadata, "loratui_converted_from": json.dumps({
        "cast_from": before, "cast_to": _type_name(dtype), "max_relative_error": float(f"{report.max_error:.3g}"),
        **({"alpha_zero": "keep", "alpha_zero_layers": len(zero)} if zero else {})})}
    save_converted(output, cast, metadata)  # create-only: a file that appeared meanwhile is kept
    written = read_lora_info(output)
    data = {"output": str(output), "converted": False, "copied": False, "cast": True,
            "source_dtypes": before, "dtype": _type_name(dtype), "stored_as": STORED_NAME[dtype],
            "layers": report.layers, "max_relative_error": report.max_error, "worst_layer": report.worst_layer,
            "bytes": output.stat().st_size, "loads_in": written.loads_in}
    if zero:
        data |= {"alpha_zero": "keep", "alpha_zero_layers": len(zero)}
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(f"wrote {output}: {source.name} cast from {'/'.join(before)} to {data['dtype']} (it already loads in "
               f"diffusers: no conversion), metadata kept, {report.layers} layers, {data['bytes'] / 1e6:.1f} MB"
               + kept_zero)
    if report.max_error > 0:
        click.echo(f"largest relative change of a layer from the cast: {report.max_error:.2e} ({report.worst_layer})")
    elif report.worst_layer:
        click.echo(f"the cast is exact: {data['dtype']} holds every value of the source")
    click.echo(f"loads in: {written.loads_in}")


def _type_name(dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _copy_unchanged(source: Path, output: Path) -> None:
    """OUTPUT as a byte copy of SOURCE, published atomically and only where OUTPUT is still free."""
    from loratui.core.fsutil import atomic_create_bytes, describe_os_error

    try:
        data = source.read_bytes()
    except OSError as exc:
        raise LoratuiError(f"{source}: cannot read it ({describe_os_error(exc)}); nothing was written") from None
    try:
        atomic_create_bytes(output, data)
    except FileExistsError:
        raise LoratuiError(f"{output} appeared meanwhile (another program wrote it): it was kept and nothing was "
                           "written; give another name") from None
    except OSError as exc:
        raise LoratuiError(f"{output}: cannot write it ({describe_os_error(exc)}); nothing was written") from None


def _write_alpha_dim(source: Path, output: Path, tensors: dict, metadata: dict[str, str], dtype,
                     zero: dict[str, int], as_json: bool) -> None:
    """OUTPUT as SOURCE with alpha = rank on the ``zero`` layers (cast to ``dtype`` too when given), the
    metadata kept, ss_network_alpha / conv_alpha of 0 set to what the layers now hold, and what was done
    recorded in loratui_converted_from."""
    import torch

    from loratui.core.config import read_lora_info
    from loratui.engine.lora_convert import save_converted
    from loratui.engine.lora_convert_cast import cast_lora, needs_cast

    fixed = dict(tensors)
    for name, rank in zero.items():
        old = tensors[f"{name}.alpha"]
        new = torch.full_like(old, float(rank))
        if float(new.float().flatten()[0]) != float(rank):  # an fp8 alpha that does not hold the rank exactly
            new = torch.full_like(old, float(rank), dtype=torch.float32)
        fixed[f"{name}.alpha"] = new
    record: dict = {"alpha_zero": "dim", "alpha_zero_layers": len(zero)}
    cast = dtype is not None and needs_cast(fixed, dtype)
    if cast:
        before = sorted({str(t.dtype).removeprefix("torch.") for t in tensors.values() if t.is_floating_point()})
        fixed, report = cast_lora(source, fixed, dtype)
        record |= {"cast_from": before, "cast_to": _type_name(dtype),
                   "max_relative_error": float(f"{report.max_error:.3g}")}
    metadata = {**_zero_metadata_alpha(metadata, read_lora_info(source), zero),
                "loratui_converted_from": json.dumps(record)}
    save_converted(output, fixed, metadata)  # create-only: a file that appeared meanwhile is kept
    written = read_lora_info(output)
    data = {"output": str(output), "converted": False, "copied": False, "cast": cast, **record,
            "layers": len(written.layers), "bytes": output.stat().st_size, "loads_in": written.loads_in}
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    how = f", cast to {_type_name(dtype)}" if cast else ""
    click.echo(f"wrote {output}: {source.name} with alpha = rank on its {len(zero)} layer(s) with alpha 0 (sd-scripts "
               "and LyCORIS read them so, ComfyUI, A1111/Forge and diffusers applied 0: now scale 1 in every loader)"
               f"{how}, metadata kept, {len(written.layers)} layers, {data['bytes'] / 1e6:.1f} MB")
    click.echo(f"loads in: {written.loads_in}")


def _zero_metadata_alpha(metadata: dict[str, str], info, zero: dict[str, int]) -> dict[str, str]:
    """``metadata`` with an ss_network_alpha (and ss_network_args' conv_alpha) of 0 set to the one alpha
    its layers hold once ``zero`` has alpha = rank (left as it is where they hold several)."""
    applied = {**info.applied_alphas(), **{name: float(rank) for name, rank in zero.items()}}
    out = dict(metadata)
    linear = {v for name, v in applied.items() if name not in info.conv_layers}
    conv = {v for name, v in applied.items() if name in info.conv_layers}
    if _is_zero(out.get("ss_network_alpha")) and len(linear) == 1:
        out["ss_network_alpha"] = f"{next(iter(linear)):g}"
    try:
        args = json.loads(out.get("ss_network_args") or "null")
    except ValueError:
        args = None
    if isinstance(args, dict) and _is_zero(args.get("conv_alpha")) and len(conv) == 1:
        out["ss_network_args"] = json.dumps({**args, "conv_alpha": f"{next(iter(conv)):g}"})
    return out


def _is_zero(value) -> bool:
    try:
        return float(value) == 0.0
    except (TypeError, ValueError):
        return False
