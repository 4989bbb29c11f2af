"""`loratui lora info FILE` and `loratui lora convert SRC OUT --model BASE`: look inside a LoRA /
LyCORIS file, and rewrite a LyCORIS one (LoHa, LoKr, DoRA, full) as a plain LoRA that diffusers loads."""

from __future__ import annotations

import json
import math
import os
from contextlib import contextmanager
from pathlib import Path

import click

from loratui.commands.help_text import exit_codes
from loratui.core.errors import LoratuiError


@click.group()
@exit_codes((0, "done"), (2, "bad input: a file that is not a LoRA, a damaged one, a model it was not trained "
                             "on, ..."),
            (130, "interrupted (nothing is written)"))
def lora() -> None:
    """Look inside LoRA / LyCORIS files and convert LyCORIS ones to plain LoRA."""


@contextmanager
def _json_error(as_json: bool):
    """With --json, a refusal is also a JSON object on stdout ({"error": ...}), so a script reading
    stdout gets JSON either way; the `error:` line still goes to stderr and the exit code is 2."""
    try:
        yield
    except LoratuiError as exc:
        if as_json:
            click.echo(json.dumps({"error": str(exc), "exit_code": getattr(exc, "exit_code", 2)}, ensure_ascii=False))
        raise


@lora.command()
@exit_codes((0, "read (a damaged file or layers without an alpha tensor are named in warning: lines)"),
            (2, "not a LoRA file, or an unreadable one"), (130, "interrupted"))
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (every ss_* metadata key; "
                                                      "alpha (null when layers differ), alpha_summary, "
                                                      "alpha_linear, alpha_conv, alpha_values, alpha_metadata, "
                                                      "alpha_missing, whole_factor_count and "
                                                      "whole_factor_layers (LoKr layers applied at scale 1), "
                                                      "damaged, embeddings, text_encoder_parts (SDXL: te1/te2), "
                                                      "family_guess (sd1/sd2/sdxl from the keys, or null), "
                                                      "alpha_warning (NaN/inf alphas are null) and warnings).")
def info(file: str, as_json: bool) -> None:
    """The network type, layers, ranks, alpha and training metadata of FILE, and where it loads.

    Reads the header and the alpha tensors' few bytes only: instant even for a large file. The alpha
    shown is the one loaders apply (the alpha tensors; alpha = rank for a layer without one), per linear
    and conv layers when they differ; a metadata ss_network_alpha that disagrees is a warning. LoKr layers
    with whole lokr_w1 and lokr_w2 (no rank) are counted apart: loaders apply them at scale 1. Warns of
    a damaged file (a lora_down without its lora_up, factors of two ranks). A1111's bundled embeddings
    (bundle_emb.*) are listed with the loaders that read them.
    """
    from loratui.core.config import describe_lora, read_lora_info

    with _json_error(as_json):
        details = read_lora_info(file)
    if as_json:  # allow_nan=False: strict JSON parsers refuse NaN/Infinity (to_dict writes null for them)
        click.echo(json.dumps(_json_safe(details.to_dict()), indent=2, allow_nan=False))
        return
    for line in describe_lora(details):
        click.echo(line)


def _json_safe(value):
    """``value`` with every NaN/inf float as None, so that the output is JSON every parser reads."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    return value


# --precision's default: the source's own type; an fp8 source gets fp16, which holds every fp8 value (E4M3 and
# E5M2) exactly: the converted factors are new numbers, and fp8 would add its rounding to the SVD's error
_STORED_PRECISION = {"F16": "fp16", "BF16": "bf16", "F8_E4M3": "fp16", "F8_E5M2": "fp16"}


def output_precision(precision: str | None, stored: str) -> str:
    """--precision, or the default for a source stored as ``stored`` (a safetensors dtype): fp16, bf16 or float."""
    return precision or _STORED_PRECISION.get(stored, "float")


def _model_section(model: str):
    """--model as a ModelSection: a model path, or a config .toml whose [model] is used."""
    from loratui.core.config import ModelSection

    path = Path(model).expanduser()
    if path.suffix.lower() == ".toml":
        from loratui.core.config import load_config, resolve_path

        cfg = load_config(str(path))
        section = cfg.model
        if not section.pretrained_model_name_or_path:
            raise LoratuiError(f"{path}: [model] pretrained_model_name_or_path is empty: set it, or give --model a "
                               "model path")
        section.pretrained_model_name_or_path = resolve_path(cfg, section.pretrained_model_name_or_path,
                                                             key="pretrained_model_name_or_path")
        return section
    if not path.exists():
        raise LoratuiError(f"--model: {path} does not exist: give the base model the file was trained on (a "
                           "diffusers folder, a .safetensors checkpoint or a loratui config .toml)")
    return ModelSection(pretrained_model_name_or_path=str(path))


def _check_output(source: Path, output: Path, force: bool) -> None:
    if output.suffix.lower() != ".safetensors":
        raise LoratuiError(f"{output}: the output must be a .safetensors file")
    if output.exists() and output.resolve() == source.resolve():
        raise LoratuiError(f"{output} is the source file: write the converted file elsewhere (nothing is "
                           "ever converted in place)")
    if output.is_dir():
        raise LoratuiError(f"{output} is a folder: give a file name ending in .safetensors")
    if os.path.lexists(output) and not force:  # a dangling link too: the write would not go through it
        raise LoratuiError(f"{output} exists: pass --force to replace it, or give another name")
    parent = output.parent if str(output.parent) else Path(".")
    if not parent.is_dir():
        raise LoratuiError(f"{parent}: the output folder does not exist; create it first")
    if not os.access(parent, os.W_OK):
        raise LoratuiError(f"{parent}: cannot write in this folder; choose another output")


@lora.command()
@exit_codes((0, "done (layers above --tolerance as stored are named in a warning: line; a SOURCE that already "
                "loads in diffusers is copied to OUTPUT unchanged, or cast to --precision)"),
            (2, "bad input: not a LoRA, a damaged file (a lora_down without its lora_up, factors of two ranks, "
                "NaN/inf weights), not the model it was trained on, ... (nothing is written)"),
            (130, "interrupted (nothing is written)"))
@click.argument("source", type=click.Path(dir_okay=False))
@click.argument("output", type=click.Path(dir_okay=False))
@click.option("--model", required=True, metavar="PATH",
              help="The base model SOURCE was trained on: a diffusers folder, a .safetensors/.ckpt checkpoint, "
                   "or a loratui config .toml (its [model] is used). DoRA's update depends on its weights.")
@click.option("--rank", type=click.IntRange(min=1), default=None, metavar="N",
              help="Most rank any layer keeps (default: no cap, --tolerance alone decides). Smaller files, "
                   "more error: the report says how much.")
@click.option("--tolerance", type=click.FloatRange(min=0, max=1, max_open=True), default=0.001, show_default=True,
              help="Largest relative error of a layer's update (|ΔW - up·down| / |ΔW|) as stored in OUTPUT's "
                   "precision, for picking its rank: ranks leave room for the rounding; where the rounding "
                   "alone exceeds it (bf16: about 0.002), a warning: line names the layers.")
@click.option("--precision", type=click.Choice(["fp16", "bf16", "float"]), default=None,
              help="Tensor type of OUTPUT (default: the type SOURCE is stored in; fp16 for an fp8 SOURCE, which "
                   "holds its values exactly). A plain LoRA that needs no conversion is cast to it.")
@click.option("--drop-unsupported", is_flag=True,
              help="Convert without the bias / norm updates a LoRA cannot carry (algo=full, train_norm); "
                   "refused without it.")
@click.option("--force", is_flag=True, help="Replace OUTPUT if it exists (without it, a file that appears there "
                                            "while converting is kept too: exit 2); also convert a plain LoRA that "
                                            "needs no conversion.")
@click.option("--alpha-zero", type=click.Choice(["keep", "dim"]), default="keep", show_default=True,
              help="Layers with alpha 0, which loaders read two ways (sd-scripts and LyCORIS: alpha = rank, scale 1; "
                   "ComfyUI, A1111/Forge and diffusers: scale 0): dim writes alpha = rank there, scale 1 in every "
                   "loader (recorded in loratui_converted_from); keep leaves a copied file's alpha 0 as it is (a "
                   "conversion, which writes alpha 1, then refuses: it cannot keep both readings).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def convert(source: str, output: str, model: str, rank: int | None, tolerance: float, precision: str | None,
            drop_unsupported: bool, force: bool, alpha_zero: str, as_json: bool) -> None:
    """Rewrite the LyCORIS file SOURCE (LoHa, LoKr, DoRA, full, LoCon) as a plain kohya LoRA OUTPUT.

    For diffusers, whose load_lora_weights reads lora_down / lora_up keys only (ComfyUI and A1111/Forge
    read LyCORIS files as they are). Each layer's update is rebuilt by lycoris-lora and factored by SVD
    at the smallest rank within --tolerance: a LoHa of rank r converts without loss at rank r² at most.
    DoRA and full updates are full-rank: cap them with --rank and read the reported error. The ss_*
    metadata is kept; loratui_converted_from records what was done. A plain LoRA that diffusers already
    loads is not converted: OUTPUT is a copy of it (one line says so), or with another --precision, the
    same file with its tensors cast to it and its metadata kept; --rank resizes it, --force converts it.
    A layer without an alpha tensor is read as alpha = rank, as every loader reads it; one with alpha 0 is
    read two ways (--alpha-zero says which the output keeps); a damaged file
    is refused, and so are OFT, BOFT, GLoRA and IA3 files (loratui does not rebuild
    their updates), before the base model loads. A1111's bundled embeddings (bundle_emb.*) are left out
    (diffusers refuses a file that
    has them), and the report names them.
    """
    with _json_error(as_json):
        _convert(source, output, model, rank, tolerance, precision, drop_unsupported, force, as_json, alpha_zero)


def _convert(source: str, output: str, model: str, rank: int | None, tolerance: float, precision: str | None,
             drop_unsupported: bool, force: bool, as_json: bool, alpha_zero: str = "keep") -> None:
    from loratui.core.config import read_lora_info

    src, out = Path(source).expanduser(), Path(output).expanduser()
    details = read_lora_info(src)  # a bad source fails here, before torch loads
    refusal = details.damage_message() or details.unconverted_message()  # OFT, BOFT, GLoRA, IA3: before torch loads
    if refusal:
        raise LoratuiError(refusal)
    # a clean file diffusers reads as it is: re-factoring it would only add rounding (a layer without alpha is
    # converted instead, so that the file says what every loader assumes)
    copy = details.diffusers_ready and not details.no_alpha and rank is None and not force
    zero = {name: details.ranks[name] for name in details.zero_alpha}
    if zero and not copy and alpha_zero == "keep":  # a rebuilt layer is written at alpha 1: 0's meaning is gone
        from loratui.core.config import ZERO_APPLIED, ZERO_READ_AS_RANK

        raise LoratuiError(f"{src}: {len(zero)} layer(s) have alpha 0 (e.g. {next(iter(zero))}), which loaders read "
                           f"two ways ({ZERO_READ_AS_RANK}; {ZERO_APPLIED}), and a converted layer is written at "
                           "alpha 1, which cannot keep both: pass --alpha-zero dim to convert them at alpha = rank, "
                           "scale 1 in every loader; nothing was written")
    _check_output(src, out, force)

    import torch

    from loratui.engine.lora_convert import check_convertible, convert_to_lora, read_lora, save_converted
    from loratui.engine.models import load_base_model
    from loratui.engine.quiet import quiet_libraries

    quiet_libraries()
    source_tensors = read_lora(src)[0]
    check_convertible(src, source_tensors, drop_unsupported)  # before the base model loads: NaN/inf refused
    dtypes = {"fp16": torch.float16, "bf16": torch.bfloat16, "float": torch.float32}
    stored = details.dtypes.most_common(1)[0][0]
    dtype = dtypes[output_precision(precision, stored)]
    if copy:
        from loratui.commands.lora_copy import copy_or_cast

        copy_or_cast(src, out, source_tensors, details.metadata, dtype if precision else None, as_json, zero,
                     alpha_zero)
        return
    section = _model_section(model)
    if not as_json:
        click.echo(f"converting {src.name}: {len(details.layers)} layers "
                   f"({', '.join(f'{n} {k}' for k, n in details.kinds.most_common())})", err=True)

    device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        base = load_base_model(section)
    except LoratuiError as exc:
        message = str(exc)
        raise LoratuiError(message if model in message else f"--model {model}: {message}") from None
    tensors, metadata, report = convert_to_lora(src, base, rank=rank, tolerance=tolerance,
                                                drop_unsupported=drop_unsupported, dtype=dtype, device=device,
                                                progress=None if as_json else Progress())
    save_converted(out, tensors, metadata, replace=force)  # without --force: never over a file made meanwhile
    _print_report(out, report, rank, tolerance, dtype, as_json)


class Progress:
    """Layers converted so far on stderr: a bar redrawn in place on a terminal, a line every 10 s
    otherwise (an SDXL file on a CPU takes minutes)."""

    def __init__(self) -> None:
        import sys
        import time

        self.clock, self.started, self.last = time.monotonic, time.monotonic(), 0.0
        self.tty = sys.stderr.isatty()

    def __call__(self, done: int, total: int, name: str) -> None:
        from loratui.core.termline import fit

        now = self.clock()
        elapsed = now - self.started
        last = done + 1 >= total
        if not (self.tty or last or now - self.last >= 10.0):
            return
        self.last = now
        eta = f"{int((total - done) * elapsed / done)}s" if done else "?"
        filled = int(20 * (done + 1) / max(total, 1))
        line = f"[{'#' * filled}{'.' * (20 - filled)}] layer {done + 1}/{total} ETA {eta} {name}"
        if self.tty:
            click.echo("\r" + fit(line), nl=last, err=True)
        else:
            click.echo(line, err=True)


def _print_report(out: Path, report, rank: int | None, tolerance: float, dtype, as_json: bool) -> None:
    from loratui.core.config import read_lora_info
    from loratui.engine.lora_convert_fit import stored_over

    written = read_lora_info(out)
    ranks = report.ranks
    capped, rounded = stored_over(report.layers, tolerance, rank)
    worst = max(report.layers, key=lambda layer: layer.stored_error)
    data = {"output": str(out), "layers": len(report.layers), "parts": written.parts(),
            "source_types": report.source_kind, "ranks": {"min": min(ranks), "max": max(ranks),
                                                          "mean": round(sum(ranks) / len(ranks), 2)},
            "max_relative_error": report.max_stored_error, "max_truncation_error": report.max_error,
            "worst_layer": worst.name,
            "layers_over_tolerance": len(capped) + len(rounded), "over_tolerance_at_rank_cap": len(capped),
            "over_tolerance_from_rounding": len(rounded), "tolerance": tolerance, "rank_cap": rank,
            "zero_layers_skipped": report.skipped_zero, "alpha_missing": report.no_alpha,
            **({"alpha_zero": "dim", "alpha_zero_layers": report.alpha_zero} if report.alpha_zero else {}),
            "dropped": report.dropped,
            "embeddings_left_out": report.embeddings_left_out,
            "bytes": out.stat().st_size, "dtype": str(dtype).removeprefix("torch."),
            "loads_in": written.loads_in}
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    parts = ", ".join(f"{n} {part}" for part, n in written.parts().items())
    click.echo(f"wrote {out}: {len(report.layers)} layers ({parts}), rank {min(ranks)}..{max(ranks)} "
               f"(mean {sum(ranks) / len(ranks):.1f}), alpha 1, {data['dtype']}, {data['bytes'] / 1e6:.1f} MB")
    click.echo(f"largest relative error of a layer: {report.max_stored_error:.2e} as stored in {data['dtype']} "
               f"({worst.name}); {report.max_error:.2e} from the rank cut, tolerance {tolerance:g}")
    if capped:
        click.echo(f"{len(capped)} layers are above the tolerance at --rank {rank}: raise --rank for a closer copy")
    if rounded:
        click.echo(_rounding_warning(rounded, tolerance, data["dtype"]))
    if report.no_alpha:
        click.echo(f"{report.no_alpha} layers have no alpha: read as alpha = rank, as the loaders do")
    if report.alpha_zero:
        click.echo(f"{report.alpha_zero} layers had alpha 0: converted at alpha = rank (scale 1, as sd-scripts and "
                   "LyCORIS read it; ComfyUI, A1111/Forge and diffusers applied 0 there), now alike in every loader")
    if report.skipped_zero:
        click.echo(f"{report.skipped_zero} layers have no update (all zero) and were left out")
    if report.dropped:
        click.echo(f"dropped {len(report.dropped)} bias/norm updates (--drop-unsupported), e.g. {report.dropped[0]}")
    if report.embeddings_left_out:
        names = ", ".join(report.embeddings_left_out)
        click.echo(f"left out {len(report.embeddings_left_out)} bundled embedding(s) ({names}): diffusers refuses a "
                   "file that has them; for A1111 keep using the source file, which has them")
    click.echo(f"loads in: {written.loads_in}")


def _rounding_warning(layers, tolerance: float, dtype: str) -> str:
    """One line for the layers that the output type's rounding keeps above --tolerance at any rank: the
    file is written (it is as close as that type stores), and the line says what gets within it."""
    worst = max(layers, key=lambda layer: layer.stored_error)
    # a tolerance the rounding leaves room under, one significant digit: convert picks ranks within it
    wanted = 1.3 * worst.stored_error
    unit = 10.0 ** math.floor(math.log10(wanted))
    suggest = float(f"{math.ceil(wanted / unit) * unit:.1g}")
    closer = ("--precision float stores them within it, or " if dtype != "float32" else "")
    return (f"warning: {len(layers)} layers are above the tolerance {tolerance:g} as stored in {dtype} (up to "
            f"{worst.stored_error:.2e}, {worst.name}): {dtype}'s rounding alone exceeds it at any rank; {closer}"
            f"--tolerance {suggest:g} accepts it")
