"""`loratui tags ...`: bulk caption-tag operations from the shell (plan, confirm, write, undo).

The click commands and their options are here; the steps every writing operation shares (plan, notes,
confirm, write, recipe) are in tags_run.py. ``_interactive`` stays here: undo, redo, to-utf8 and the
tests reach it on this module.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

import click

from loratui.commands.help_text import exit_codes
from loratui.commands.options import json_line, stdio_is_terminal
# the options every tags command takes (and their help), shared with the commands in tags_*_cmd.py
from loratui.commands.tags_options import (FOUND_CSV, TAGS_CSV, UNUSED_TAGS_CSV, WHERE_HELP,  # noqa: F401
                                           _common, read_for_table as _read_for_table)
# the shared plan/confirm/write steps; tags_undo_cmd and tags_recode_cmd reach these through this module
from loratui.commands.tags_run import PLAN_LINES, _context, _locate, _rel, _run_plan, reg_note, where_of
from loratui.commands.term_text import cells, pad, relative_name, shown_name
from loratui.core.errors import LoratuiError

WRITE_EXIT_CODES = (
    (0, "written, a dry run, nothing to change, or not confirmed"),
    (1, "written, except a caption that changed on disk during the write (left as it is and named), or "
        "one that could not be written (a full disk), which stopped the rest: the error names it and how many "
        "were written (`loratui tags undo DIR` puts them back)"),
    (2, "bad input, a caption changed on disk since it was read, a read-only caption without --force, not a "
        "terminal (stdin and stdout) or --json, without --yes or --dry-run (--json still prints the plan, with "
        "\"written\": 0), or the first caption cannot be written: nothing written"),
    (130, "interrupted: the error says how many captions were written (`loratui tags undo DIR` puts them back)"),
)


def _interactive() -> bool:
    """Are stdin and stdout terminals? (A pipe or cron job must pass --yes or --dry-run.) Every tags
    command asks through ``options.can_ask(as_json, _interactive)``: never with --json."""
    return stdio_is_terminal()


@click.group()
@exit_codes(
    (0, "done: written, a dry run, nothing to change, or not confirmed"),
    (1, "`tags check` found errors; an operation wrote the captions except one that changed on disk during "
        "the write (named, left as it is), or one that could not be written (a full disk), which stopped the "
        "rest (`tags undo` puts back what was written)"),
    (2, "bad input, a caption changed on disk since it was read, a read-only caption without --force, not a "
        "terminal (stdin and stdout) or --json, without --yes or --dry-run, or the first caption cannot be "
        "written (nothing written in each case); `tags undo`/`redo`: nothing done"),
    (130, "interrupted: the error says how many captions were written (`tags undo` puts them back)"),
)
def tags() -> None:
    """Bulk caption-tag operations: freq, find, add, remove, replace, dedupe, sort, apply, undo, redo, ...

    Every operation acts on the caption of each image in DIR (a kohya train folder with
    N_concept subfolders, a flat folder of images, a project folder with img/, or one concept
    folder), or on those a --where filter selects (e.g. --where "tag:solo and not folder:*reg*").
    It prints the plan, asks before writing (--yes skips the question, --dry-run only shows the
    plan), writes each file atomically and records an undo journal in the train folder's
    .loratui/undo (DIR/img/.loratui/undo for a project folder, the parent's for a concept folder;
    `loratui tags undo DIR` finds it, and `loratui tags redo DIR` re-applies what an undo took back).
    Each command's --help lists its own exit codes.
    """


def _writing(func):
    @click.option("--yes", "-y", is_flag=True, help="Write without asking.")
    @click.option("--dry-run", is_flag=True, help="Only show the plan.")
    @click.option("--force", is_flag=True, help="Also rewrite read-only caption files (mode 0444).")
    @click.option("--json", "as_json", is_flag=True,
                  help="Print the plan (and result) as one JSON object (with \"written\": 0 when nothing was). "
                       "Never asks: pass --yes to write (without it, exit 2 after the plan).")
    @click.option("--all", "show_all", is_flag=True, help=f"List every changed file (default: first {PLAN_LINES}).")
    @click.option("--save-recipe", type=click.Path(dir_okay=False, path_type=Path),
                  help="Also add this operation to a TOML recipe (created if missing) for `tags apply`.")
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)
    return wrapper


def _mode(mode: str, exact: bool, glob: bool, regex: bool) -> str:
    flags = [name for name, on in (("exact", exact), ("glob", glob), ("regex", regex)) if on]
    if len(flags) > 1:
        raise LoratuiError(f"--{flags[0]} and --{flags[1]}: pick one way to match")
    return flags[0] if flags else mode


def _match_options(default: str):
    def decorate(func):
        @click.option("--mode", type=click.Choice(["auto", "exact", "glob", "regex"]), default=default,
                      show_default=True, help="auto: * or ? make a glob (that also matches its own text), "
                      "/.../ a regex, anything else is exact ([blue eyes] too: --mode glob reads [abc] as a class).")
        @click.option("--exact", is_flag=True, help="Same as --mode exact.")
        @click.option("--glob", is_flag=True, help="Same as --mode glob ('*background').")
        @click.option("--regex", is_flag=True, help="Same as --mode regex (Python syntax, whole tag).")
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            return func(*args, **kwargs)
        return wrapper
    return decorate


# ---- commands ---------------------------------------------------------------------------------

@tags.command("freq")
@exit_codes((0, "done"), (2, "bad input: no images, a bad --where, a --tags-csv that cannot be read, "
                               "--categories with no tagger selected_tags.csv found"), (130, "interrupted"))
@_common(TAGS_CSV + ": adds each tag's category (general, character, ...) to the table and to --json.")
@click.option("--categories", "with_categories", is_flag=True,
              help="Add each tag's category as --tags-csv does, from the tagger's selected_tags.csv the app uses "
                   "(the project's, else the newest in its wd14_tagger_model/ or models/, else the model store's), "
                   "named on stderr; --tags-csv PATH picks another.")
@click.option("--top", type=click.IntRange(min=0), default=50, show_default=True, metavar="N",
              help="Show the N most used tags (0 = all). With --json every tag unless --top is given.")
@click.option("--json", "as_json", is_flag=True,
              help="Print {captions, distinct, truncated, tags: {tag: count}} as JSON: every tag, most used first "
                   "(--top N: the first N, \"truncated\": true when there were more); \"distinct\" counts them "
                   "all; \"unreadable\": the captions left out because they cannot be read, when there are any.")
@click.pass_context
def freq(ctx, directory, where, caption_extension, separator, tags_csv, recursive, with_categories, top, as_json):
    """Tag frequency table over DIR (or the captions --where selects): captions using each tag."""
    from click.core import ParameterSource

    from loratui.core.captions import tag_frequency
    from loratui.core.captions import CATEGORY_LABELS

    from loratui.commands.tags_run import spelling_notes
    from loratui.commands.tags_scope import no_reg_folder_note, reg_read
    from loratui.core.captions import load_captions
    from loratui.core.dataset import caption_extension_option

    beside = _locate(directory)
    predicate = where_of(where, beside)
    if with_categories and not tags_csv:  # only when asked: the table a script reads stays as it was
        from loratui.commands.tagger_csv import csv_for_dataset

        tags_csv = csv_for_dataset(beside.location, "--categories: tag categories")
    unreadable: list[str] = []  # a table can go without a caption it cannot read: it names it instead
    captions, edit_ctx = _read_for_table(beside.location.images_dir, caption_extension, separator, tags_csv,
                                         recursive, unreadable)
    reg = reg_read(where, beside.location)
    missing = no_reg_folder_note(where, beside.location)
    if missing is not None:
        click.echo(missing, err=True)
    if reg is not None:  # --where names `reg`: the reg folder's captions are counted too, as the app's tag list
        captions += load_captions(reg, caption_extension_option(caption_extension), separator, recursive=recursive,
                                  unreadable=unreadable)
    selected = [c for c in captions if predicate is None or predicate(c)]
    for note in spelling_notes(where, captions):  # a tag: typed one way, in the captions another
        click.echo(f"note: {note}", err=True)
    counts = tag_frequency(selected)
    if as_json and ctx.get_parameter_source("top") is ParameterSource.DEFAULT:
        top = 0  # a script gets every tag unless it asked for fewer: 50 was the table's default
    rows = counts.most_common(top or None)
    if as_json:
        data = {"captions": len(selected), "distinct": len(counts), "truncated": len(rows) < len(counts),
                "tags": dict(rows)}
        if tags_csv:
            data["categories"] = {t: CATEGORY_LABELS.get(edit_ctx.category(t), "") for t, _ in rows}
        if unreadable:
            data["unreadable"] = unreadable
        click.echo(json_line(data))
        return
    empty = sum(1 for c in selected if not c.tags)
    click.echo(f"{len(selected)} caption(s), {len(counts)} distinct tag(s)"
               + (f", {empty} without tags" if empty else ""))
    shown = {tag: shown_name(tag) for tag, _ in rows}
    width = max((cells(t) for t in shown.values()), default=3)  # screen columns: a CJK tag takes two a character
    for tag, count in rows:
        share = 100.0 * count / max(len(selected), 1)
        category = f"  {CATEGORY_LABELS.get(edit_ctx.category(tag), '?')}" if tags_csv else ""
        click.echo(f"  {pad(shown[tag], width)}  {count:>6}  {share:5.1f}%{category}")
    if top and len(counts) > top:
        click.echo(f"  ... {len(counts) - top} more (--top 0 shows all)")
    for line in unreadable:
        click.echo(f"left out: {line}", err=True)


@tags.command("add")
@exit_codes(*WRITE_EXIT_CODES)
@_common(UNUSED_TAGS_CSV.format(name="add"))
@_writing
@click.argument("new_tags", metavar="TAG...", nargs=-1, required=True)
@click.option("--front", is_flag=True, help="Put the tags first (a trigger word); moves them where already present.")
@click.option("--position", type=int, metavar="N",
              help="Insert at this index (0 = front, -1 = end, -2 = before the last).")
@click.option("--move-existing/--keep-existing", default=None,
              help="Move a tag a caption already has to the position (default: only with --front).")
@click.option("--keep", type=click.IntRange(min=0), default=0, show_default=True, metavar="N",
              help="Leave the first N tags in place: nothing is put before them (the trigger word, keep_tokens).")
def add(directory, new_tags, front, position, move_existing, keep, **kw):
    """Add TAG(s) to every caption (images without a caption get a new caption file).

    A tag a caption already has, in any case (Solo for solo: CLIP lowercases captions), is not
    added again; where it is moved, it keeps the caption's spelling."""
    from loratui.core.captions import AddTags

    if front and position not in (None, 0):
        raise LoratuiError("--front and --position: give one of them")
    pos = 0 if front else (-1 if position is None else position)
    move = front if move_existing is None else move_existing
    _run_plan(directory, [AddTags(list(new_tags), pos, move, keep)], **kw)


@tags.command("remove")
@exit_codes(*WRITE_EXIT_CODES)
@_common(UNUSED_TAGS_CSV.format(name="remove"))
@_writing
@click.argument("patterns", metavar="PATTERN...", nargs=-1, required=True)
@_match_options("auto")
@click.option("--ignore-case", is_flag=True, help="Match in any case ('*background' also removes 'WHITE BACKGROUND').")
def remove(directory, patterns, mode, exact, glob, regex, ignore_case, **kw):
    """Remove tags matching PATTERN(s): exact, a glob like '*background', or /regex/ (case as written,
    unless --ignore-case). An exact tag that no caption has, while another spelling of it is there
    (long_hair for long hair, miku (cosplay) for miku \\(cosplay\\)), is named on stderr."""
    from loratui.core.captions import RemoveTags

    op = RemoveTags(list(patterns), _mode(mode, exact, glob, regex), ignore_case)
    op.compile(None)  # a bad regex fails before the dataset is read
    _run_plan(directory, [op], spelling_hints=True, **kw)


@tags.command("replace")
@exit_codes(*WRITE_EXIT_CODES)
@_common(UNUSED_TAGS_CSV.format(name="replace"))
@_writing
@click.argument("old")
@click.argument("new")
@_match_options("exact")
@click.option("--ignore-case", is_flag=True, help="OLD matches in any case ('long hair' also renames 'Long Hair').")
def replace(directory, old, new, mode, exact, glob, regex, ignore_case, **kw):
    """Rename tag OLD to NEW everywhere (duplicates this creates are merged; NEW '' removes).

    OLD may name several tags, separated by the separator ('girl, female, 1girls'): each becomes NEW,
    in one change (one plan, one undo); a regex OLD is one pattern. An exact OLD that no caption has,
    while another spelling of it is there (long_hair for long hair), is named on stderr."""
    from loratui.core.captions import describe_replace, parse_old_tags, replace_ops

    chosen = _mode(mode, exact, glob, regex)
    olds = parse_old_tags(old, kw["separator"], chosen)
    if not olds:  # blank, or separators only (' , ')
        raise LoratuiError("replace: the tag to replace is blank: give the tag (or pattern) to rename")
    ops = replace_ops(olds, new, chosen, ignore_case)
    for op in ops:
        op.compile(None)
    patterned = [o for o in olds if any(c in o for c in "*?") or (len(o) > 2 and o.startswith("/") and o.endswith("/"))]
    hint = (f"replace matches OLD exactly by default: --mode auto (or --glob / --regex) reads {patterned[0]!r} as a "
            "pattern" if chosen == "exact" and patterned else None)
    _run_plan(directory, ops, nothing_hint=hint, spelling_hints=True,
              description=describe_replace(olds, new, ignore_case) if len(olds) > 1 else "", **kw)


@tags.command("dedupe")
@exit_codes(*WRITE_EXIT_CODES)
@_common(UNUSED_TAGS_CSV.format(name="dedupe"))
@_writing
@click.option("--case-sensitive", is_flag=True,
              help="Only exact repeats ('LONG HAIR' after 'long hair', or 'long_hair', stays; CLIP reads them the same).")
def dedupe(directory, case_sensitive, **kw):
    """Remove repeated tags inside each caption; the first occurrence and its spelling stay. Tags that
    differ only in case, in _ for space, or in escaped brackets (long_hair, Long Hair; miku \\(cosplay\\)
    and miku (cosplay)) are repeats (what `tags check` reports), unless --case-sensitive."""
    from loratui.core.captions import Dedupe

    _run_plan(directory, [Dedupe(ignore_case=not case_sensitive)], **kw)


@tags.command("sort")
@exit_codes(*WRITE_EXIT_CODES)
@_common(TAGS_CSV + " for --by category." + FOUND_CSV + " None found: only the rating tags have a known "
         "category (they go first, the others keep their order). Not used by --by alpha or frequency.")
@_writing
@click.option("--by", type=click.Choice(["alpha", "frequency", "category"]), default="alpha", show_default=True,
              help="alpha; frequency: most used in the dataset first; category: rating, character, copyright, "
                   "artist, general, meta (the tagger's selected_tags.csv beyond rating tags: see --tags-csv).")
@click.option("--keep", type=click.IntRange(min=0), default=0, show_default=True, metavar="N",
              help="Leave the first N tags in place (the trigger word, keep_tokens).")
def sort(directory, by, keep, **kw):
    """Sort each caption's tags (free-text captions are left alone)."""
    from loratui.core.captions import SortTags

    _run_plan(directory, [SortTags(by, keep)], **kw)


@tags.command("move-front")
@exit_codes(*WRITE_EXIT_CODES)
@_common(UNUSED_TAGS_CSV.format(name="move-front"))
@_writing
@click.argument("patterns", metavar="PATTERN...", nargs=-1, required=True)
@_match_options("auto")
@click.option("--keep", type=click.IntRange(min=0), default=0, show_default=True, metavar="N",
              help="Leave the first N tags in place and move the matches to just after them (the trigger word).")
@click.option("--ignore-case", is_flag=True, help="Match in any case ('solo' also moves 'Solo').")
def move_front(directory, patterns, mode, exact, glob, regex, keep, ignore_case, **kw):
    """Move tags matching PATTERN(s) to the front of each caption (after the first N with --keep N)."""
    from loratui.core.captions import MoveToFront

    op = MoveToFront(list(patterns), _mode(mode, exact, glob, regex), keep, ignore_case)
    op.compile(None)
    _run_plan(directory, [op], **kw)


@tags.command("strip-underscores")
@exit_codes(*WRITE_EXIT_CODES)
@_common(UNUSED_TAGS_CSV.format(name="strip-underscores"))
@_writing
@click.option("--keep", "keep", multiple=True, metavar="TAG",
              help="Leave this tag as it is (repeatable): a trigger word such as alice_lora.")
def strip_underscores(directory, keep, **kw):
    """long_hair -> long hair (tags of 3 characters or fewer, like ^_^, are kept, as sd-scripts does)."""
    from loratui.core.captions import StripUnderscores

    _run_plan(directory, [StripUnderscores(keep_tags=[k.strip() for k in keep if k.strip()])], **kw)


@tags.command("remove-category")
@exit_codes(*WRITE_EXIT_CODES)
@_common(TAGS_CSV + ": needed for every CATEGORY but rating (whose tags are known without it)." + FOUND_CSV)
@_writing
@click.argument("categories", metavar="CATEGORY...", nargs=-1, required=True)
def remove_category(directory, categories, **kw):
    """Remove every tag of a tagger category: rating, general, character, copyright, artist, meta.

    Rating tags (general, sensitive, questionable, explicit) are known without --tags-csv; the other
    categories need the tagger's selected_tags.csv: without --tags-csv, the one the app uses (the
    project's, else the newest in its wd14_tagger_model/ or models/, else the model store's), named on
    stderr.
    """
    from loratui.core.captions import RemoveCategory

    _run_plan(directory, [RemoveCategory(list(categories))], **kw)  # tags_run finds the csv when it is needed


@tags.command("apply")
@exit_codes(*WRITE_EXIT_CODES)
@_common(TAGS_CSV + " for the recipe's remove_category ops (needed for every category but rating) and sort "
         "ops with by = \"category\"; the other ops do not use it." + FOUND_CSV)
@_writing
@click.argument("recipe", type=click.Path(dir_okay=False, path_type=Path))
def apply(directory, recipe, where, **kw):
    """Replay a TOML cleanup RECIPE ([[op]] tables) on DIR.

    \b
    Example recipe (drop ratings and backgrounds, trigger word first):
      [[op]]
      op = "remove_category"
      categories = ["rating"]
      [[op]]
      op = "remove"
      patterns = ["*background"]
      [[op]]
      op = "add"
      tags = ["my_trigger"]
      position = 0
      move_existing = true

    Ops: add (tags, position, move_existing, keep), remove (patterns, mode), replace (old, new,
    mode), dedupe, sort (by, keep), move_front (patterns, mode, keep), strip_underscores,
    remove_category (categories). The ops run in order, each on what the ones before it left (sort
    by frequency counts those tags), so a recipe replays as its steps ran. Any op may have its own
    where = "..." (tested on the tags at that point); a top-level where = "..." limits the whole
    recipe (and is combined with --where). Build one with --save-recipe on any other tags command.
    """
    from loratui.core.captions import combine_where
    from loratui.core.captions import load_recipe

    from loratui.core.captions import check_ops

    loaded = load_recipe(recipe)
    for number, op in enumerate(loaded.ops, 1):  # a bad op is named by its recipe and place, as load_recipe does
        try:
            check_ops([op], kw["separator"])
        except LoratuiError as exc:
            raise LoratuiError(f"{recipe}: op {number}: {exc}") from None
    _run_plan(directory, loaded.ops, where=combine_where(loaded.where, where),
              description=f"recipe {recipe.name}: {loaded.describe()}", **kw)


from loratui.commands.dataset_cmd import token_limit_options  # noqa: E402  (click imports only)


@tags.command("check")
@exit_codes((0, "no errors (warnings are fine)"), (1, "at least one error (a 0-byte or non-UTF-8 caption)"),
            (2, "bad input: no such folder, no images"), (130, "interrupted"))
@click.argument("directory", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
@click.option("--caption-extension", default=".txt", show_default=True, help="Caption file extension.")
@click.option("--recursive", is_flag=True, help="Every image under DIR, not only DIR and its N_concept folders.")
@click.option("--json", "as_json", is_flag=True, help="Print {captions, issues: {file: [messages]}, problems, "
                                                       "errors, warnings, infos} as JSON.")
@click.option("--all", "show_all", is_flag=True, help="List every problem, not only 5 per kind.")
@token_limit_options
def check(directory, caption_extension, recursive, as_json, show_all, max_token_length, config_path):
    """List the caption problems sd-scripts will meet: the same problems, levels and words as
    `loratui dataset scan` (a 0-byte or non-UTF-8 caption stops sd-scripts, and UTF-16 without a BOM
    trains on NUL bytes: errors; several lines, a BOM, a blank or separators-only first line, a
    missing caption: warnings).
    """
    from loratui.commands.dataset_cmd import print_problems, token_limit
    from loratui.core.captions import caption_path, find_caption_images
    from loratui.core.dataset import caption_extension_option, caption_problems, missing_caption_problem
    from loratui.core.dataset import parse_subset_name

    max_tokens = token_limit(max_token_length, config_path)
    location = _locate(directory).location
    root = location.train_dir
    ext = caption_extension_option(caption_extension)
    seen: set[Path] = set()
    problems = []
    for image in find_caption_images(location.images_dir, recursive):
        path = caption_path(image, ext)
        if path in seen:  # a.png + a.jpg share a.txt
            continue
        seen.add(path)
        if path.is_file() or os.path.lexists(path):  # a folder, a broken or looping link: named as unreadable
            problems += caption_problems(path, max_tokens=max_tokens)
        else:
            parsed = parse_subset_name(image.parent.name)
            problems.append(missing_caption_problem(image, parsed[1] if parsed and parsed[0] >= 1 else ""))
    if not seen:
        raise LoratuiError(f"{directory}: no images found (looked in {location.images_dir} and its N_concept folders; "
                           "--recursive looks in every subfolder)")
    errors = sum(1 for p in problems if p.severity == "error")
    if as_json:
        issues: dict[str, list[str]] = {}
        for problem in problems:
            issues.setdefault(relative_name(problem.path, root), []).append(problem.message)
        click.echo(json_line({"captions": len(seen), "issues": issues, "problems": [p.to_dict() for p in problems],
                              "errors": errors,
                              "warnings": sum(1 for p in problems if p.severity == "warning"),
                              "infos": sum(1 for p in problems if p.severity == "info")}))
    else:
        click.echo(f"{len(seen)} caption(s) checked in {location.images_dir}")
        print_problems(problems, show_all)
        for note in reg_note(location, directory, filters=False):  # check takes no --where
            click.echo(f"Note: {note}", err=True)
    if errors:
        sys.exit(1)


from loratui.commands.tags_find_cmd import find  # noqa: E402
from loratui.commands.tags_recode_cmd import to_utf8  # noqa: E402  (they use the helpers above)
from loratui.commands.tags_undo_cmd import redo, undo  # noqa: E402

tags.add_command(undo)
tags.add_command(redo)
tags.add_command(to_utf8)
tags.add_command(find)
