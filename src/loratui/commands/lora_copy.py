"""`lora convert` on a file diffusers already loads (a plain LoRA/LoCon, every layer with its alpha): no
conversion. OUTPUT is a byte copy of SOURCE, or with a --precision other than the one SOURCE is stored in,
SOURCE with its tensors cast to it and its metadata kept (user hunt s16/h5 #4: --precision was ignored)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from loratui.core.errors import LoratuiError

ANYWAY = "--rank N resizes it, --force converts it anyway"


def copy_or_cast(source: Path, output: Path, tensors: dict, metadata: dict[str, str], dtype, as_json: bool) -> None:
    """OUTPUT from SOURCE (``tensors`` and ``metadata``, as read) in ``dtype`` (None: as it is stored), and
    its report line(s)."""
    from loratui.engine.lora_convert_cast import STORED_NAME, needs_cast

    if dtype is None or not needs_cast(tensors, dtype):
        _copy_unchanged(source, output)  # OUT exists afterwards, as a script doing `convert a b && use b` expects
        kept = "" if dtype is None else f", stored in {_type_name(dtype)}"
        line = f"{source}: already loads in diffusers{kept}: copied unchanged to {output} ({ANYWAY})"
        click.echo(json.dumps({"output": str(output), "converted": False, "copied": True, "reason": line})
                   if as_json else line)
        return
    from loratui.core.config import read_lora_info
    from loratui.engine.lora_convert import save_converted
    from loratui.engine.lora_convert_cast import cast_lora

    cast, report = cast_lora(source, tensors, dtype)
    before = sorted({str(t.dtype).removeprefix("torch.") for t in tensors.values() if t.is_floating_point()})
    # what was done, as a conversion records it (`lora info` shows it): a cast is not the file trained
    metadata = {**metadata, "loratui_converted_from": json.dumps({
        "cast_from": before, "cast_to": _type_name(dtype), "max_relative_error": float(f"{report.max_error:.3g}")})}
    save_converted(output, cast, metadata)  # create-only: a file that appeared meanwhile is kept
    written = read_lora_info(output)
    data = {"output": str(output), "converted": False, "copied": False, "cast": True,
            "source_dtypes": before, "dtype": _type_name(dtype), "stored_as": STORED_NAME[dtype],
            "layers": report.layers, "max_relative_error": report.max_error, "worst_layer": report.worst_layer,
            "bytes": output.stat().st_size, "loads_in": written.loads_in}
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(f"wrote {output}: {source.name} cast from {'/'.join(before)} to {data['dtype']} (it already loads in "
               f"diffusers: no conversion), metadata kept, {report.layers} layers, {data['bytes'] / 1e6:.1f} MB")
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
