"""`loratui caption wd14|blip DATASET_DIR --model MODEL`: a caption file beside each image, headless.

Output: a progress bar with images/s and ETA on a terminal (stderr), plain progress lines when not a
TTY, a summary at the end (captioned, skipped, failed with reasons, top-20 tags). Exit 0 when every
image was captioned (or skipped), 3 when the run completed but some images failed (unreadable,
a caption that could not be written: each is reported, the count on stderr), 1 when it stopped
part-way because its undo journal could not be written (a full disk) after some captions were (as
every command that stops part-way: PartialWriteError), 2 for bad input or such a stop before any
caption was written (nothing changed), 130 when interrupted.

``--json-events``: stdout carries one JSON object per line and nothing else. Every object has
``"event"``; the TUI follows this schema (fields may be added, never renamed):

- ``started``:   captioner, model, provider, total (images found), to_caption, skipped,
                 batch_size, workers, mode, dry_run, sample_of (with --sample: how many images there
                 were to caption before the first N were taken; else null), resume_of (with --resume:
                 the journal entry of the run continued; else null), resumed_skips (of skipped: the
                 images that run wrote), resumed_run (with --resume: one line naming the run continued),
                 reg_left_out (the reg images of a project or train folder, which the run leaves out:
                 {reg_dir, images, without_caption}; else null. Without --json-events: a note on stderr)
- ``warning``:   message, image (optional; e.g. an animated image captioned from its first frame,
                 or a GPU present while inference runs on the CPU)
- ``skipped``:   image, caption_file, reason (mode "skip": a caption already exists; --resume: the
                 interrupted run wrote it)
- ``progress``:  done, total (of this run's images to caption: started's to_caption), captioned, failed,
                 images_per_s, eta_s (null until known), elapsed_s
- ``captioned``: image, caption_file, caption (the first line written, or that would be), dry_run
- ``image_failed``: image, reason (one line: corrupt, truncated, zero-byte, decompression bomb...)
- ``finished``:  captioned, skipped, failed ([{image, reason}]), top_tags ([[tag, count]] x 20),
                 elapsed_s, images_per_s, interrupted, journal (the undo journal entry holding what
                 the run replaced, or null: `loratui tags undo DATASET_DIR` puts it all back)
- ``error``:     message, exit_code (a bad option or model, or a journal that cannot be written before
                 any caption was: exits 2; one that stops the run after some captions: exits 1)
"""

from __future__ import annotations

import signal
import sys
import threading
from contextlib import ExitStack
from pathlib import Path

import click

from loratui.commands.caption_output import CaptionOutput as _Output  # the CLI's output (tests use it as _Output)
from loratui.commands.caption_reg import reg_left_out, reg_note
from loratui.commands.help_text import exit_codes, shell_arg
from loratui.commands.options import DEFAULT_SEPARATOR, SEPARATOR_HELP, separator_value
from loratui.core.captions import check_separator
from loratui.core.errors import Hint, LoratuiError, PartialWriteError

CAPTION_EXIT_CODES = (
    (0, "every image captioned (or skipped; a dry run)"),
    (1, "stopped part-way: the undo journal could not be written (a full disk); the file and how many "
        "captions were written are named (`loratui tags undo DATASET_DIR` puts them back, --resume captions "
        "the rest)"),
    (2, "bad input: no images, a bad option or model, or a full disk before the first caption (nothing "
        "written)"),
    (3, "the run completed but some images failed (each reported, the count on stderr)"),
    (130, "interrupted: the captions written so far stay (the same command with --resume continues; "
          "`loratui tags undo DATASET_DIR` puts them back)"),
)


def _common(func):
    options = [
        click.argument("dataset_dir", type=click.Path(file_okay=False)),
        click.option("--mode", type=click.Choice(["overwrite", "append", "skip"]), default="overwrite", show_default=True,
                     help="overwrite captions, append (merge without duplicates), or skip images that have one."),
        click.option("--resume", is_flag=True,
                     help="Continue the last caption run started on DATASET_DIR when it did not finish: skip only "
                          "the images it wrote (its undo journal lists them) and keep its --mode; give its other "
                          "options again. One line names the run resumed."),
        click.option("--caption-extension", default=".txt", show_default=True, help="Caption file extension."),
        click.option("--separator", default=DEFAULT_SEPARATOR, show_default=True, callback=separator_value,
                     help=SEPARATOR_HELP),
        click.option("--force", is_flag=True, help="Also rewrite read-only caption files (mode 0444)."),
        click.option("--recursive", is_flag=True, help="Caption images in every subfolder (default: the folder and its N_concept folders)."),
        click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True, metavar="N", help="Images per inference call."),
        click.option("--workers", type=click.IntRange(min=1), default=None, metavar="N", help="Decode threads (default: CPU cores, max 8)."),
        click.option("--dry-run", is_flag=True, help="Run the model and show what would be written; write nothing."),
        click.option("--sample", type=click.IntRange(min=1), default=None, metavar="N",
                     help="With --dry-run: caption only the first N images to caption (a preview)."),
        click.option("--json-events", is_flag=True, help="One JSON event per line on stdout (schema in the module docs)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.group()
@exit_codes(*CAPTION_EXIT_CODES)
def caption() -> None:
    """Caption images with WD14 (tags) or BLIP/BLIP2/GIT (sentences), headless.

    DATASET_DIR is read as every command reads a dataset: a project folder made by `loratui dataset
    init` (its img/), a train folder (its N_concept folders), one concept folder, or a flat folder
    of images. The undo journal goes to the train folder (`loratui tags undo DATASET_DIR`).
    """


@caption.command()
@exit_codes(*CAPTION_EXIT_CODES)
@_common
@click.option("--model", "model", default=None, help="Folder with model.onnx + selected_tags.csv (or a kohya models/wd14_tagger folder).")
@click.option("--download", "repo_id", default=None, metavar="REPO_ID", help="Fetch the model from the Hugging Face hub into the model store, e.g. SmilingWolf/wd-swinv2-tagger-v3.")
@click.option("--general-threshold", type=click.FloatRange(0, 1), default=0.35, show_default=True,
              help="Write a general tag when the model's confidence is at least this (lower: more tags).")
@click.option("--character-threshold", type=click.FloatRange(0, 1), default=0.85, show_default=True,
              help="Write a character tag when the model's confidence is at least this.")
@click.option("--undesired-tags", default="", help="Comma-separated tags never written.")
@click.option("--remove-underscore", is_flag=True, help="Underscores to spaces (tags of 3 characters or fewer, like ^_^, are kept).")
@click.option("--character-tags-first", is_flag=True, help="Character tags before general tags.")
@click.option("--always-first-tags", default="", help="Comma-separated tags (trigger words) always written first.")
@click.option("--rating", type=click.Choice(["off", "first", "last"]), default="off", show_default=True, help="Write the rating tag first, last, or not at all.")
@click.option("--tag-replacement", default="", help="'src1,dst1;src2,dst2' (escape , and ; with a backslash).")
@click.option("--character-tag-expand", is_flag=True, help="'name_(series)' becomes 'name, series'.")
@click.option("--providers", default=None, help="onnxruntime providers, comma-separated (default: CUDA when a GPU is present, else CPU).")
def wd14(dataset_dir, mode, resume, caption_extension, separator, force, recursive, batch_size, workers, dry_run,
         sample, json_events, model, repo_id, general_threshold, character_threshold, undesired_tags, remove_underscore,
         character_tags_first, always_first_tags, rating, tag_replacement, character_tag_expand, providers) -> None:
    """Tag the images of DATASET_DIR with a WD14 tagger (SmilingWolf ONNX models)."""
    from loratui.captioners.option_rules import csv_tags, parse_replacements
    from loratui.captioners.wd14 import TagOptions, WD14Captioner

    out = _Output(json_events)
    with out.reporting_errors(), ExitStack() as held:  # --json-events: a bad option or model is an `error` event too
        check_separator(separator)
        _check_sample(sample, dry_run)
        if model and repo_id:  # which one would win is a guess: ask for one
            raise LoratuiError(f"caption wd14: --model {model} and --download {repo_id} both given: give one of them "
                               "(--model for a folder on disk, --download to fetch a repo id)")
        _one_line(always_first_tags=always_first_tags, undesired_tags=undesired_tags, tag_replacement=tag_replacement)
        options = TagOptions(general_threshold=general_threshold, character_threshold=character_threshold,
                             undesired_tags=csv_tags(undesired_tags), remove_underscore=remove_underscore,
                             character_tags_first=character_tags_first, always_first_tags=csv_tags(always_first_tags),
                             rating=rating, tag_replacement=parse_replacements(tag_replacement),
                             character_tag_expand=character_tag_expand)
        _refuse_read_only_fs(dataset_dir, dry_run)
        locked = _hold_journal(held, dataset_dir, dry_run)
        resumed = _interrupted_run(dataset_dir, mode, ("wd14",), out) if resume else None
        mode = resumed.mode if resumed else mode
        jobs, skipped = _plan(dataset_dir, recursive, caption_extension, mode, resumed)
        attempt = None if dry_run else _begin_attempt(dataset_dir, "wd14", mode, resumed)
        if repo_id:
            from loratui.captioners.store import download_wd14

            model = str(download_wd14(repo_id))
        if not model:
            raise LoratuiError("caption wd14: pass --model FOLDER (with model.onnx + selected_tags.csv) or --download REPO_ID")
        provider_list = [p.strip() for p in providers.split(",")] if providers else None
        captioner = WD14Captioner(model, options, providers=provider_list, batch_size=batch_size, warn=out.warning)
        _run(out, captioner, str(captioner.model_dir), jobs, skipped, mode, separator, dry_run, workers,
             dataset_dir, force, sample, resumed, attempt, reg=reg_left_out(dataset_dir, recursive, caption_extension),
             locked=locked)


@caption.command()
@exit_codes(*CAPTION_EXIT_CODES)
@_common
@click.option("--model", "model", required=True, help="Local Hugging Face folder (BLIP, BLIP2, GIT) or a hub id when online.")
@click.option("--num-beams", type=click.IntRange(min=1), default=1, show_default=True, metavar="N",
              help="Beam search over N candidate captions: 1 is greedy (fastest), more is often better but slower. "
                   "Not with --top-p.")
@click.option("--top-p", type=click.FloatRange(0, 1), default=None, help="Nucleus sampling instead of beam search.")
@click.option("--min-length", type=click.IntRange(min=0), default=5, show_default=True, metavar="N",
              help="Shortest caption, in generated tokens (about a word each).")
@click.option("--max-length", type=click.IntRange(min=1), default=75, show_default=True, metavar="N",
              help="Longest caption, in generated tokens (longer ones are cut).")
@click.option("--repetition-penalty", type=float, default=1.0, show_default=True,
              help="Above 1.0 makes repeated words less likely (1.0 = no penalty).")
@click.option("--prefix", default="", help="Text put before every caption (e.g. a trigger word).")
@click.option("--postfix", default="", help="Text put after every caption.")
@click.option("--precision", type=click.Choice(["auto", "fp32", "fp16", "bf16"]), default="auto", show_default=True,
              help="Weight type: auto is bf16 on a GPU that supports it (fp16 otherwise), fp32 on the CPU (which "
                   "refuses fp16).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:1 ...")
def blip(dataset_dir, mode, resume, caption_extension, separator, force, recursive, batch_size, workers, dry_run,
         sample, json_events, model, num_beams, top_p, min_length, max_length, repetition_penalty, prefix, postfix, precision, device) -> None:
    """Caption the images of DATASET_DIR with sentences from a BLIP/BLIP2/GIT model."""
    from loratui.captioners.option_rules import lengths_problem

    out = _Output(json_events)
    with out.reporting_errors(), ExitStack() as held:  # --json-events: a bad option or model is an `error` event too
        check_separator(separator)
        _check_sample(sample, dry_run)
        _one_line(prefix=prefix, postfix=postfix)
        lengths = lengths_problem(min_length, max_length)
        if lengths:
            raise LoratuiError(lengths)
        _refuse_read_only_fs(dataset_dir, dry_run)
        locked = _hold_journal(held, dataset_dir, dry_run)
        resumed = _interrupted_run(dataset_dir, mode, ("blip", "blip2", "git"), out) if resume else None
        mode = resumed.mode if resumed else mode
        jobs, skipped = _plan(dataset_dir, recursive, caption_extension, mode, resumed)
        attempt = None if dry_run else _begin_attempt(dataset_dir, "blip", mode, resumed)
        try:
            from loratui.captioners.blip import load_blip_captioner
        except ImportError as exc:
            raise LoratuiError(f"caption blip: the BLIP captioner is not available ({exc})") from None
        captioner = load_blip_captioner(model, device=device, dtype=precision, batch_size=batch_size, num_beams=num_beams,
                                        top_p=top_p, min_length=min_length, max_length=max_length,
                                        repetition_penalty=repetition_penalty, prefix=prefix, postfix=postfix,
                                        warn=out.warning)
        _run(out, captioner, model, jobs, skipped, mode, separator, dry_run, workers, dataset_dir, force, sample,
             resumed, attempt, reg=reg_left_out(dataset_dir, recursive, caption_extension), locked=locked)


def _refuse_read_only_fs(dataset_dir, dry_run: bool) -> None:
    """A dataset on a file system mounted read-only: one line (exit 2) before the model loads, not every
    image "failed" with advice (chmod, --force) that cannot help. A dry run writes nothing: it goes on."""
    from loratui.core.errors import read_only_fs_error

    error = None if dry_run else read_only_fs_error(dataset_dir)
    if error is not None:
        raise error


def _hold_journal(held: ExitStack, dataset_dir, dry_run: bool) -> bool:
    """Hold the undo journal of the run's train folder for the whole run, from before --resume reads
    the run record and the model loads: a second caption run, a `tags` edit, undo or a balance meanwhile
    is refused in one line naming this run (core.captions.hold_for_run), and no other change lands
    between its batches. True when held. A dry run writes nothing; a folder without ``.loratui`` yet
    gets the lock at its first caption written instead (a run that writes nothing leaves none there)."""
    from loratui.core.captions import hold_for_run, journal_dir

    root = _journal_root(dataset_dir)
    if dry_run or not journal_dir(root).parent.is_dir():
        return False
    hold_for_run(held, root)
    return True


def _check_sample(sample: int | None, dry_run: bool) -> None:
    if sample is not None and not dry_run:
        raise LoratuiError(f"--sample {sample}: only with --dry-run (a preview that writes nothing); add --dry-run, "
                           "or drop --sample to caption every image")


def _one_line(**options: str) -> None:
    """A caption is one line (sd-scripts reads nothing else): text the user adds to every caption
    must not break it (captioners.option_rules: the rule the app's Caption form marks a field by)."""
    from loratui.captioners.option_rules import one_line_problem

    for name, value in options.items():
        problem = one_line_problem(value) if value else None
        if problem:
            raise LoratuiError(f"--{name.replace('_', '-')} {value!r}: {problem}")


def _plan(dataset_dir, recursive, extension, mode, resumed=None):
    """(jobs, skipped) for the dataset DATASET_DIR names, read as every command reads it
    (core.dataset.locate_dataset): a project folder's img/, a train or flat folder, a concept folder.
    Finding no image at all is an error (exit 2), not a run that captions nothing. ``resumed``: the
    interrupted run --resume continues (the images it wrote are skipped)."""
    from loratui.captioners.existing_captions import run_images
    from loratui.captioners.output import plan
    from loratui.core.dataset import caption_extension_option, locate_dataset

    caption_extension_option(extension, add_dot=False)
    images = run_images(dataset_dir, recursive)  # the list the app's overwrite question counts, too
    if not images:
        hint = "" if recursive else "; --recursive looks in every subfolder"
        raise LoratuiError(f"{dataset_dir}: no images found (looked in {locate_dataset(dataset_dir).images_dir} and "
                           f"its N_concept folders{hint})")
    return plan(images, extension, mode, resume=resumed)


def _interrupted_run(dataset_dir, mode: str, captioners: tuple[str, ...], out=None):
    """The run --resume continues (the last run started here: captioners.resume), named in one line;
    its mode wins over the default, and one given otherwise is an error (a resume that changed it
    would skip images the new mode should write)."""
    from click.core import ParameterSource

    from loratui.captioners.resume import find_interrupted_run

    run = find_interrupted_run(_journal_root(dataset_dir), str(dataset_dir))
    if run.captioner not in captioners:
        raise LoratuiError(f"--resume: the last interrupted caption run of {dataset_dir} ran {run.captioner}: resume "
                           f"it with `loratui caption {'wd14' if run.captioner == 'wd14' else 'blip'} ... --resume`")
    context = click.get_current_context(silent=True)
    explicit = context is not None and context.get_parameter_source("mode") not in (None, ParameterSource.DEFAULT)
    if explicit and mode != run.mode:
        raise LoratuiError(f"--resume with --mode {mode}: the interrupted run ({run.entry.path.name}) wrote in mode "
                           f"{run.mode}; drop --mode (the resume keeps {run.mode}) or start a new run without --resume")
    if out is not None:
        out.note(run.line())
    return run


def _begin_attempt(dataset_dir, command: str, mode: str, resumed):
    """Record this run as the last one started here, before its model loads (a run cancelled then
    must not leave --resume to continue an older one): captioners.resume.RunAttempt."""
    from loratui.captioners.resume import RunAttempt

    if resumed is not None:
        attempt = RunAttempt(_journal_root(dataset_dir), resumed.captioner, resumed.mode,
                             [entry.path.name for entry in resumed.entries], options=_given_options())
    else:
        attempt = RunAttempt(_journal_root(dataset_dir), command, mode, options=_given_options())
    attempt.begin()
    return attempt


# not recorded: the app's own flags and what a resume keeps or decides anyway
_NOT_RECORDED = frozenset({"--json-events", "--resume", "--mode", "--dry-run", "--sample"})


def _given_options() -> list[str] | None:
    """This command's options as command-line tokens (those at their default left out): what the run
    record keeps, so that the app's resume after a restart can tell the form's caption options from the
    run's (tui.screens.caption_resume). None outside a click command. A folder given as --model is
    recorded absolute (a hub repo id as given)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return None
    tokens: list[str] = []
    for param in ctx.command.params:
        if not isinstance(param, click.Option) or param.opts[0] in _NOT_RECORDED:
            continue
        value = ctx.params.get(param.name)
        if param.is_flag:
            if value and value != param.default:
                tokens.append(param.opts[0])
            continue
        if value is None or value == param.default or value == "":
            continue
        if param.opts[0] == "--model" and Path(str(value)).expanduser().exists():  # not a hub repo id
            value = str(Path(str(value)).expanduser().absolute())
        tokens += [param.opts[0], str(value)]
    return tokens


def _journal_root(dataset_dir: str) -> Path:
    """Where the run's undo journal goes: the train folder, where `loratui tags undo DATASET_DIR`
    (and the app) look for it, whichever form of the dataset path was given."""
    from loratui.core.dataset import locate_dataset

    return locate_dataset(dataset_dir).train_dir


def _run(out, captioner, model, jobs, skipped, mode, separator, dry_run, workers, dataset_dir, force,
         sample=None, resumed=None, attempt=None, reg=None, locked=False) -> None:
    """``reg``: the reg images the run leaves out (commands/caption_reg.py), said once after the plan line.
    ``locked``: the journal is held already (``_hold_journal``)."""
    from loratui.captioners.runner import default_workers, run_captioning, summary_event

    if resumed is not None and captioner.name != resumed.captioner:
        raise LoratuiError(f"--resume: the interrupted run captioned with a {resumed.captioner} model, this one is "
                           f"{captioner.name}: pass the run's --model again")
    if attempt is not None:
        attempt.captioner = captioner.name  # `caption blip` loaded BLIP, BLIP-2 or GIT
    workers = workers or default_workers()
    total, sample_of = len(jobs) + len(skipped), None
    if sample is not None:  # a preview: the run (and its progress, ETA) is the first N images only
        sample_of, jobs = len(jobs), jobs[:sample]
    out.emit({"event": "started", "captioner": captioner.name, "model": model, "provider": captioner.provider,
              "total": total, "to_caption": len(jobs), "skipped": len(skipped), "batch_size": captioner.batch_size,
              "workers": workers, "mode": mode, "dry_run": dry_run, "sample_of": sample_of,
              "resume_of": None if resumed is None else resumed.entry.path.name,
              "resumed_skips": sum(1 for job in skipped if job.resumed),
              "resumed_run": None if resumed is None else resumed.line(),
              "reg_left_out": None if reg is None else reg.as_event()})
    if reg is not None:  # on stderr: stdout stays the plan, the captions and the summary
        out.note(f"note: {reg_note('wd14' if captioner.name == 'wd14' else 'blip', reg.as_event())}")
    for job in skipped:
        out.emit({"event": "skipped", "image": str(job.image), "caption_file": str(job.caption),
                  "reason": job.note or ("written by the interrupted run" if job.resumed else "caption exists")})
        if job.note:
            out.emit({"event": "warning", "image": str(job.image), "message": job.note})
    # Ctrl-C or a kill (SIGTERM) only asks the run to stop: the caption being written is finished
    # and counted, then the summary, exit 130. A second signal stops at once (writes stay atomic).
    stop = threading.Event()

    def on_signal(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = {}
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
    except ValueError:  # not the main thread (tests in a worker thread)
        pass
    try:
        result = run_captioning(captioner, jobs, mode=mode, separator=separator, dry_run=dry_run,
                                workers=workers, emit=out.emit, stop=stop, force=force, resumed=resumed is not None,
                                journal_root=None if dry_run else _journal_root(dataset_dir),
                                journal_started=None if attempt is None else attempt.journal_started,
                                journal_locked=locked)
    except PartialWriteError as exc:  # the journal stopped the run after some captions: the rest is a resume away
        raise PartialWriteError(*exc.parts, Hint(" (with --resume, to caption only the rest)", "")) from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    out.emit(summary_event(result, len(skipped)))
    if attempt is not None and not result.interrupted and not result.failed:
        attempt.finished()
    if result.journal is not None and not out.json:
        if result.interrupted:
            click.echo("Resume with the same command plus --resume (it skips the images this run wrote and keeps "
                       "its --mode)")
        click.echo(f"Undo with: loratui tags undo {shell_arg(dataset_dir)}")
    if result.interrupted:
        sys.exit(130)
    if result.failed:
        # every other image is done; the exit code tells a script that some were not (distinct from 1/2)
        if not out.json:  # a --json-events follower reads the count from the finished event
            click.echo(f"error: {len(result.failed)} of {len(jobs)} image(s) failed (listed above): their captions "
                       f"were not written; {failure_hint(result.failed, result.journal is not None, result.read_only)}",
                       err=True)
        sys.exit(EXIT_SOME_FAILED)


def failure_hint(failed: list[tuple[str, str]], wrote: bool, read_only_images=frozenset()) -> str:
    """What to do about a run's failed images, by what failed: a read-only caption needs chmod or
    --force (mode skip would skip it: it has a caption); anything else is fixed, then the run
    resumed, which captions what it did not write (with nothing written: the same run again).
    ``read_only_images``: the failed images whose caption file is read-only (the runner's flag)."""
    again = "the same command plus --resume captions only what this run did not write" if wrote else \
        "then run the same command again"
    read_only = [image for image, _ in failed if image in read_only_images]
    if read_only:
        others = len(failed) - len(read_only)
        also = f"; fix the {others} other image(s) listed above" if others else ""
        return (f"{len(read_only)} caption file(s) are read-only: make them writable (chmod u+w) or add --force"
                f"{also}; {again}")
    names = ", ".join(Path(image).name for image, _ in failed[:3]) + (", …" if len(failed) > 3 else "")
    return f"fix or remove {names}; {again}"


EXIT_SOME_FAILED = 3  # the run completed, some images failed (README: exit codes)
