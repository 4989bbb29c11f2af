"""What every writing `loratui tags` operation shares (tags_cmd.py holds the click commands): find the
dataset DIR names, read its captions and their edit context, plan the edits (leaving out images
sd-scripts cannot load), print the plan and its notes, ask before writing (``tags_cmd._interactive``,
looked up there at call time), write with an undo journal, and save the operation to a recipe.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from loratui.commands.help_text import shell_arg
from loratui.commands.options import can_ask, json_line
from loratui.commands.term_text import shown_name, shown_path
from loratui.core.errors import LoratuiError

PLAN_LINES = 20  # changed files a plan lists (--all lists every one)
PROGRESS_EVERY_S = 0.5  # a terminal's progress line is redrawn at most this often


@contextmanager
def interrupted_reading(nothing: str = "nothing was written") -> Iterator[None]:
    """Ctrl-C while the captions are read or the plan is made (seconds for 20,000) says that nothing
    was written, instead of click's bare "aborted"."""
    try:
        yield
    except KeyboardInterrupt as exc:
        if exc.args:  # said already by what was interrupted
            raise
        raise KeyboardInterrupt(f"interrupted while reading captions: {nothing}") from None


class ProgressLine:
    """"writing 2,082 of 20,000 caption(s)…" on a terminal's stderr, redrawn in place, at most every
    PROGRESS_EVERY_S; called (done, total) from the writer threads. Cleared by ``close``, so the
    result line that follows starts clean."""

    def __init__(self, verb: str, stream) -> None:
        self.verb, self.stream = verb, stream
        self._lock = threading.Lock()
        self._drawn = time.monotonic()
        self._draw(f"{verb}…")  # at once: the journal of a big change takes a second or two first

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._drawn < PROGRESS_EVERY_S or not self._lock.acquire(blocking=False):
            return  # too soon, or another writer thread draws it now
        try:
            self._drawn = now
            self._draw(f"{self.verb} {done:,} of {total:,} caption(s)…")
        finally:
            self._lock.release()

    def _draw(self, text: str) -> None:
        try:
            self.stream.write("\r\x1b[K" + text)
            self.stream.flush()
        except (OSError, ValueError):  # the terminal went away: the write itself goes on
            pass

    def close(self) -> None:
        with self._lock:
            self._draw("")


@contextmanager
def progress_line(verb: str, as_json: bool, stream=None) -> Iterator[ProgressLine | None]:
    """A ``ProgressLine`` while a write runs, only when stderr is a terminal and not --json (a log, a
    pipe or a script gets the result line alone); None otherwise."""
    stream = sys.stderr if stream is None else stream
    try:
        shown = not as_json and stream.isatty()
    except (AttributeError, ValueError):
        shown = False
    line = ProgressLine(verb, stream) if shown else None
    try:
        yield line
    finally:
        if line is not None:
            line.close()


def _locate(directory: Path):
    """The dataset DIR names (core.dataset.locate_dataset, as every command reads it) with the config beside
    it (commands.config_beside.ConfigBeside: location, caption_extension, config): a project folder's img/,
    a train or flat folder, or one concept folder of a train folder. The location's ``train_dir`` holds the
    undo journal; its ``images_dir`` is where the captions are read; its ``reg_dir`` is the config's
    reg_data_dir when a config is beside DIR. Found and read once: pass it on (``where_of``)."""
    from loratui.commands.config_beside import with_config_beside
    from loratui.core.dataset import locate_dataset

    return with_config_beside(directory, locate_dataset(directory), say=False)


def where_of(where: str | None, beside):
    """The --where predicate on the captions of ``beside`` (``_locate``'s): its `reg` is a caption in the
    config's reg_data_dir when a config is beside DIR (as the app marks reg rows), else told from the folders
    (core's reg_folders)."""
    from loratui.commands.config_beside import reg_test
    from loratui.core.captions import parse_where

    if where is None or not where.strip():
        return None
    return parse_where(where, is_reg=reg_test(beside.location, beside.config))


def reg_note(location, directory: Path, where: str | None = None, *, filters: bool = True) -> list[str]:
    """A project's reg folder (its config's reg_data_dir, else its reg/) is read only when --where names
    `reg` (commands.tags_scope): say it was not included otherwise. ``filters``: the command takes --where
    (`tags check` does not: run it on the reg folder)."""
    from loratui.commands.tags_scope import names_reg, no_reg_folder_note

    missing = no_reg_folder_note(where, location)
    if missing is not None:
        return [missing.removeprefix("note: ")]
    if location.kind != "project" or location.reg_dir is None or names_reg(where):
        return []
    how = "add `reg` to --where to work on its captions (or run the command on it)" if filters else \
        "it is a dataset of its own (run the command on it)"
    return [f"{shell_arg(location.reg_dir)} (regularisation images) is not included: {how}"]


def _context(directory: Path, caption_extension: str, separator: str, tags_csv: Path | None, recursive: bool):
    """The captions of the images in ``directory`` (a location's images_dir) and their edit context."""
    from loratui.core.captions import load_captions
    from loratui.core.captions import EditContext, tag_frequency
    from loratui.core.captions import check_separator, load_selected_tags, tag_categories
    from loratui.core.dataset import caption_extension_option

    check_separator(separator)
    ext = caption_extension_option(caption_extension)
    categories = tag_categories(load_selected_tags(tags_csv)) if tags_csv else {}
    captions = load_captions(directory, ext, separator, recursive=recursive)
    if not captions:
        raise LoratuiError(f"{directory}: no images found (looked for .png .jpg .jpeg .webp .bmp in it and in its "
                           "N_concept folders; --recursive looks in every subfolder)")
    return captions, EditContext(tag_frequency(captions), categories)


SHOWN_UNREADABLE = 5


def _unreadable_images(new_files: set[Path], images_dir: Path, caption_extension: str,
                       recursive: bool) -> tuple[set[Path], str]:
    """Of the caption files a plan would create, those whose image sd-scripts cannot load (0 bytes, a
    corrupt or cut header: it fails on such an image when training), and a one-line note naming the
    images: a caption for them would only hide the problem. Only those images are probed, by their
    headers (the scan's check), so a captioned dataset of thousands costs nothing more."""
    from loratui.core.captions import caption_path, find_caption_images
    from loratui.core.dataset import caption_extension_option, captions_of_unreadable_images

    ext = caption_extension_option(caption_extension)
    pairs = ((image, caption_path(image, ext)) for image in find_caption_images(images_dir, recursive))
    broken = captions_of_unreadable_images(pairs, new_files)
    left_out = set(broken)
    skipped = [image for images in broken.values() for image in images]
    if not skipped:
        return set(), ""
    names = ", ".join(_rel(image, images_dir) for image in skipped[:SHOWN_UNREADABLE])
    more = f" and {len(skipped) - SHOWN_UNREADABLE} more" if len(skipped) > SHOWN_UNREADABLE else ""
    return left_out, (f"skipped {len(skipped)} unreadable image(s), no caption file made for them: {names}{more} "
                      f"(sd-scripts cannot load them; `loratui dataset scan {shell_arg(images_dir)}` says why: fix or "
                      "remove them)")


def _need_tags_csv(ops, tags_csv: Path | None, location) -> tuple[Path | None, list[str]]:
    """The tag list ``ops`` use and notes to print: --tags-csv when given; else, when an op uses
    categories, the tagger's selected_tags.csv the app uses for the dataset (commands.tagger_csv, named
    on stderr once). None found: removing a category other than rating would do nothing (refused, the
    error says where it looked); sorting by category works on the rating tags alone (known without it):
    a note to print."""
    from loratui.commands.tagger_csv import csv_for_dataset, none_found
    from loratui.core.captions import RemoveCategory, SortTags

    removing = [op for op in ops if isinstance(op, RemoveCategory) and op.numbers() - {9}]  # 9: rating
    sorting = any(isinstance(op, SortTags) and op.by == "category" for op in ops)
    if tags_csv or not (removing or sorting):
        return tags_csv, []
    needed_for = f"{removing[0].describe()}: categories other than rating" if removing else None
    found = csv_for_dataset(location, needed_for)
    if found is not None:
        return found, []
    return None, ["without --tags-csv only the rating tags have a known category: they go first, the other "
                  f"tags keep their order (no tagger selected_tags.csv: {none_found(location)}; pass one with "
                  "--tags-csv to sort them all)"]


def _rel(path: Path, root: Path) -> str:
    """``path`` under ``root``, on one line (commands.term_text.shown_path: a newline, a tab or an undecodable
    byte escaped, every other character as it is). JSON takes ``relative_name``: the exact name."""
    return shown_path(path, root)


def _print_plan(plan, root: Path, show_all: bool) -> None:
    click.echo(f"Plan: {plan.describe()}")
    new = f" ({plan.new_files} new caption file(s))" if plan.new_files else ""
    click.echo(f"{plan.changed} of {plan.considered} caption(s) change{new}.")
    shown = plan.edits if show_all else plan.edits[:PLAN_LINES]
    for edit in shown:
        parts = [f"+{t}" for t in edit.added] + [f"-{t}" for t in edit.removed]
        if edit.reordered_only:
            parts = ["(order) " + ", ".join(edit.new[:6]) + (" ..." if len(edit.new) > 6 else "")]
        new_file = " (new file)" if edit.new_file else ""
        click.echo(f"  {_rel(edit.path, root)}{new_file}: {shown_name('  '.join(parts))}")  # a tab in a tag too
    if len(plan.edits) > len(shown):
        click.echo(f"  ... and {len(plan.edits) - len(shown)} more (--all lists them)")
    added, removed = plan.tag_changes()
    if added or removed:
        summary = [f"+{t} ({n})" for t, n in added.most_common(8)] + [f"-{t} ({n})" for t, n in removed.most_common(8)]
        click.echo("Tags (files): " + ", ".join(summary))
    if plan.skipped_text:
        click.echo(f"Note: {plan.skipped_text} free-text caption(s) (sentences) were not reordered.")
    for note in getattr(plan, "notes", ()):  # e.g. a tag not added where another spelling of it is there
        click.echo(f"Note: {note}")


def _read_and_plan(directory: Path, ops, where, caption_extension, separator, tags_csv, recursive, description):
    """The captions of DIR read and the operations planned on them: (location, the folder that keeps the
    journal: the train folder's, or the reg folder's for a change --where keeps to reg captions
    (commands.tags_scope), the --where predicate, the captions, the plan, notes to print after it)."""
    from loratui.commands.tags_scope import reg_scope_note, write_scope
    from loratui.core.captions import EditContext, check_written_tags, load_captions, non_concept_folders
    from loratui.core.captions import plan_edits, tag_frequency
    from loratui.core.dataset import caption_extension_option

    beside = _locate(directory)
    location = beside.location
    tags_csv, notes = _need_tags_csv(ops, tags_csv, location)
    predicate = where_of(where, beside)
    captions, ctx = _context(location.images_dir, caption_extension, separator, tags_csv, recursive)
    scope = write_scope(where, predicate, location, captions, lambda folder: load_captions(
        folder, caption_extension_option(caption_extension), separator, recursive=recursive))
    if scope.reg:  # the reg captions' own tag counts (sort by frequency), as the app's tag list counts them
        captions, ctx = scope.captions, EditContext(tag_frequency(scope.captions), ctx.categories)
    if not recursive:
        skipped = non_concept_folders(scope.images_dir)
        if skipped:
            notes.append(f"{', '.join(skipped[:3])}{' ...' if len(skipped) > 3 else ''}: not concept folders (no N_ "
                         "repeats prefix), left out as sd-scripts leaves them; --recursive includes them")
    notes += [reg_scope_note(scope.images_dir)] if scope.reg else reg_note(location, directory, where)
    root = scope.root
    plan = plan_edits(captions, ops, where=predicate, ctx=ctx, description=description)
    new_files = {edit.path for edit in plan.edits if edit.new_file}
    if new_files:  # planned again without the images sd-scripts cannot load, if there are any
        left_out, unreadable = _unreadable_images(new_files, scope.images_dir, caption_extension, recursive)
        if left_out:
            notes.append(unreadable)
            captions = [c for c in captions if c.path not in left_out]
            plan = plan_edits(captions, ops, where=predicate, ctx=ctx, description=description)
    check_written_tags(plan, separator)
    return location, root, predicate, captions, plan, notes, beside.config


def sweep_leftover_temps(root: Path, exts) -> None:
    """Before a write: remove the hidden temp files a killed earlier write left beside the captions
    (``.NAME.txt.xxxxxxxx.tmp``, core.temp_names: that shape only), saying how many on stderr."""
    from loratui.core.temp_names import remove_leftover_temps

    try:
        removed = remove_leftover_temps(root, [ext if ext.startswith(".") else "." + ext for ext in exts])
    except (OSError, ValueError):
        return
    if removed:
        click.echo(f"note: removed {len(removed)} temp file(s) an interrupted write left (e.g. "
                   f"{shown_name(str(removed[0]))})", err=True)


def live_run_note(config: Path | None, location, folder: Path) -> None:
    """One stderr line when a training run from the config beside DIR (else the project's, for its img/:
    core.project.project_config) is live and trains from ``folder``:
    it read its captions at start (as sd-scripts does), so this write applies from its next run or a resume
    (h14: the write was said as done, with no word that the live run ignores it). Only a note: never fails."""
    from loratui.core.project import live_run_on, project_config

    try:
        run = live_run_on(config or project_config(location.train_dir), folder)
    except Exception:  # noqa: BLE001 - a note: the captions are written either way
        return
    if run is not None:
        click.echo(f"note: {run.edit_note()}", err=True)


def spelling_notes(where: str | None, captions: list, predicate=None, ops=()) -> list[str]:
    """The notes for a typed tag that matches nothing while another spelling of it is in the captions
    (core's spellings.py): each `tag:` of --where, over every caption read, and, for remove/replace (``ops``),
    each exact tag they match, over the captions --where selects. Matching stays exact: only said."""
    from loratui.core.captions import op_spelling_notes, where_spelling_notes

    notes = where_spelling_notes(where, captions)
    if ops:
        chosen = captions if predicate is None else [c for c in captions if predicate(c)]
        notes += op_spelling_notes(ops, chosen, filtered=predicate is not None)
    return notes


def _run_plan(directory: Path, ops, *, where, caption_extension, separator, tags_csv, recursive, yes, dry_run,
              as_json, show_all, force=False, save_recipe=None, description="", nothing_hint=None,
              spelling_hints=False) -> None:
    """Plan ``ops``, print the plan, ask, write. ``spelling_hints``: the ops match exact tags the user typed
    (remove, replace): name another spelling of one that matches nothing (stderr, and the JSON's notes)."""
    from loratui.core.captions import apply_plan, check_ops, dropped_note
    from loratui.core.captions import append_to_recipe, check_recipe_target, load_recipe

    check_ops(ops, separator)
    if save_recipe:
        check_recipe_target(save_recipe)  # exit 2 means nothing was written: a bad recipe file is refused first
    with interrupted_reading():
        location, root, predicate, captions, plan, notes, config = _read_and_plan(
            directory, ops, where, caption_extension, separator, tags_csv, recursive, description)

    def record_recipe() -> None:  # only once the user went ahead (or asked for a dry run)
        if save_recipe:
            moved = load_recipe(save_recipe).appending_note() if Path(save_recipe).exists() else ""
            recipe = append_to_recipe(save_recipe, list(ops), where)
            if not as_json:
                click.echo(f"Recipe {save_recipe}: {len(recipe.ops)} operation(s){'; ' + moved if moved else ''} "
                           f"(replay with `loratui tags apply DIR {shell_arg(save_recipe)}`)")

    hints = spelling_notes(where, captions, predicate, ops if spelling_hints else ())
    data = plan.to_dict(root) if as_json else None
    if as_json and root != location.train_dir:  # the files' paths are the reg folder's (commands.tags_scope)
        data["reg_folder"] = str(root)
    if as_json and (notes or hints):  # after the plan's own (an add's other spellings)
        data["notes"] = [*data.get("notes", []), *notes, *hints]
    for hint in hints:  # on stderr, JSON or not: stdout's plan (or JSON) stays what scripts read
        click.echo(f"note: {hint}", err=True)
    if not as_json:
        _print_plan(plan, root, show_all)
        for note in notes:  # after the plan they explain (the "Plan:" line comes first)
            click.echo(f"Note: {note}")
        multiline = [c for c in captions if c.multiline and (predicate is None or predicate(c))]
        if multiline:
            click.echo(f"Note: {len(multiline)} caption(s) have more than one line; sd-scripts reads only the first "
                       f"(e.g. {_rel(multiline[0].path, root)}). Only the first line is edited.")
    if dry_run or not plan.edits:
        record_recipe()
        if as_json:
            data["written"] = 0
            click.echo(json_line(data))
        elif not plan.edits:
            click.echo("Nothing to change." + (f" {nothing_hint}" if nothing_hint else ""))
        else:
            click.echo("Dry run: nothing written.")
        return
    if not yes:
        from loratui.commands import tags_cmd  # asked there at call time, as by every tags command

        if not can_ask(as_json, tags_cmd._interactive):  # never with --json: the answer would land in the JSON
            if as_json:  # the script still gets the plan it asked for, then the error (exit 2)
                data["written"] = 0
                click.echo(json_line(data))
            why = "--json never asks" if as_json else "not a terminal"
            raise LoratuiError(f"{why}, so nothing was written: pass --yes to write or --dry-run to only show the plan")
        if not click.confirm(f"Write {plan.changed} caption file(s)?", default=False):
            click.echo("Nothing written.")
            return
    sweep_leftover_temps(root, {caption_extension})
    with progress_line("writing", as_json) as progress:
        result = apply_plan(plan, root, force=force, progress=progress)
    record_recipe()  # after the write: a refused apply records nothing
    if result.written:
        live_run_note(config, location, root)
    if as_json:
        data["written"] = len(result.written)
        data["conflicts"] = result.conflicts
        if result.dropped:  # this write pushed the oldest changes out of the undo history
            data["undo_dropped"] = result.dropped
        click.echo(json_line(data))
    else:
        click.echo(f"Wrote {len(result.written)} caption file(s). Undo with: loratui tags undo {shell_arg(directory)}")
        if result.dropped:  # said when it happens, not only when an undo runs out
            click.echo(f"Note: {dropped_note(root)}")
        for conflict in result.conflicts:
            click.echo(f"skipped: {shown_name(conflict)}", err=True)
    if result.conflicts:
        sys.exit(1)
