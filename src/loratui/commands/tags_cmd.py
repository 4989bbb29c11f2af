"""`loratui tags ...`: bulk caption-tag operations from the shell (plan, confirm, write, undo)."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import click

from loratui.core.errors import LoratuiError

PLAN_LINES = 20


def _interactive() -> bool:
    """Can we ask a question? (A pipe or cron job must pass --yes or --dry-run.)"""
    return sys.stdin.isatty()


@click.group()
def tags() -> None:
    """Bulk caption-tag operations: freq, add, remove, replace, dedupe, sort, apply, undo, ...

    Every operation acts on the caption of each image under DIR (a kohya train folder with
    N_concept subfolders, or a flat folder), or on those a --where filter selects
    (e.g. --where "tag:solo and not folder:*reg*"). It prints the plan, asks before writing
    (--yes skips the question, --dry-run only shows the plan), writes each file atomically and
    records an undo journal in DIR/.loratui/undo (`loratui tags undo DIR`).
    """


def _common(func):
    @click.argument("directory", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
    @click.option("--where", "where", metavar="EXPR", help='Only captions matching EXPR, e.g. "tag:solo and not tag:1girl".')
    @click.option("--caption-extension", default=".txt", show_default=True, help="Caption file extension.")
    @click.option("--separator", default=",", show_default=True, help="Tag separator in captions.")
    @click.option("--tags-csv", type=click.Path(dir_okay=False, exists=True, path_type=Path),
                  help="A WD14 selected_tags.csv giving tag categories (for sort --by category, remove-category).")
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)
    return wrapper


def _writing(func):
    @click.option("--yes", "-y", is_flag=True, help="Write without asking.")
    @click.option("--dry-run", is_flag=True, help="Only show the plan.")
    @click.option("--json", "as_json", is_flag=True, help="Print the plan (and result) as JSON.")
    @click.option("--all", "show_all", is_flag=True, help=f"List every changed file (default: first {PLAN_LINES}).")
    @click.option("--save-recipe", type=click.Path(dir_okay=False, path_type=Path),
                  help="Also save this operation as a TOML recipe for `tags apply`.")
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)
    return wrapper


def _context(directory: Path, caption_extension: str, separator: str, tags_csv: Path | None):
    from loratui.core.captions import load_captions
    from loratui.core.edits import EditContext, tag_frequency
    from loratui.core.tagvocab import load_selected_tags

    captions = load_captions(directory, caption_extension, separator)
    if not captions:
        raise LoratuiError(f"{directory}: no images found (looked for .png .jpg .jpeg .webp .bmp in it and its subfolders)")
    categories = {}
    if tags_csv:
        categories = {info.name: info.category for info in load_selected_tags(tags_csv)}
    return captions, EditContext(tag_frequency(captions), categories)


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _print_plan(plan, root: Path, show_all: bool) -> None:
    what = "; ".join(op.describe() for op in plan.ops)
    click.echo(f"Plan: {what}")
    click.echo(f"{plan.changed} of {plan.considered} caption(s) change.")
    shown = plan.edits if show_all else plan.edits[:PLAN_LINES]
    for edit in shown:
        parts = [f"+{t}" for t in edit.added] + [f"-{t}" for t in edit.removed]
        if edit.reordered_only:
            parts = ["(order) " + ", ".join(edit.new[:6]) + (" ..." if len(edit.new) > 6 else "")]
        new_file = "" if edit.caption.exists else " (new file)"
        click.echo(f"  {_rel(edit.path, root)}{new_file}: {'  '.join(parts)}")
    if len(plan.edits) > len(shown):
        click.echo(f"  ... and {len(plan.edits) - len(shown)} more (--all lists them)")
    added, removed = plan.tag_changes()
    if added or removed:
        summary = [f"+{t} ({n})" for t, n in added.most_common(8)] + [f"-{t} ({n})" for t, n in removed.most_common(8)]
        click.echo("Tags (files): " + ", ".join(summary))


def _run_plan(directory: Path, ops, *, where, caption_extension, separator, tags_csv, yes, dry_run, as_json,
              show_all, save_recipe=None, description="") -> None:
    from loratui.core.edit_filter import parse_where
    from loratui.core.edit_journal import apply_plan
    from loratui.core.edits import plan_edits
    from loratui.core.recipes import Recipe, save_recipe as write_recipe

    predicate = parse_where(where)
    captions, ctx = _context(directory, caption_extension, separator, tags_csv)
    plan = plan_edits(captions, ops, where=predicate, ctx=ctx)
    if save_recipe:
        write_recipe(Recipe(list(ops), where), save_recipe)
        if not as_json:
            click.echo(f"Saved the recipe to {save_recipe}")
    if as_json:
        data = plan.to_dict()
    else:
        _print_plan(plan, directory, show_all)
        multiline = [c for c in captions if c.multiline]
        if multiline:
            click.echo(f"Note: {len(multiline)} caption(s) have more than one line; sd-scripts reads only the first "
                       f"(e.g. {_rel(multiline[0].path, directory)}). Only the first line is edited.")
    if dry_run or not plan.edits:
        if as_json:
            data["written"] = 0
            click.echo(json.dumps(data, ensure_ascii=False))
        elif not plan.edits:
            click.echo("Nothing to change.")
        else:
            click.echo("Dry run: nothing written.")
        return
    if not yes:
        if not _interactive():
            raise LoratuiError("not a terminal, so nothing was written: pass --yes to write or --dry-run to only show the plan")
        if not click.confirm(f"Write {plan.changed} caption file(s)?", default=False):
            click.echo("Nothing written.")
            return
    result = apply_plan(plan, directory, description=description)
    if as_json:
        data["written"] = len(result.written)
        data["conflicts"] = result.conflicts
        click.echo(json.dumps(data, ensure_ascii=False))
    else:
        click.echo(f"Wrote {len(result.written)} caption file(s). Undo with: loratui tags undo {directory}")
        for conflict in result.conflicts:
            click.echo(f"skipped: {conflict}", err=True)
    if result.conflicts:
        sys.exit(1)


# ---- commands ---------------------------------------------------------------------------------

@tags.command("freq")
@_common
@click.option("--top", type=int, default=50, show_default=True, help="Show the N most used tags (0 = all).")
@click.option("--json", "as_json", is_flag=True, help="Print {tag: count} as JSON.")
def freq(directory, where, caption_extension, separator, tags_csv, top, as_json):
    """Tag frequency table over DIR (or the captions --where selects)."""
    from loratui.core.edit_filter import parse_where
    from loratui.core.edits import tag_frequency

    captions, ctx = _context(directory, caption_extension, separator, tags_csv)
    predicate = parse_where(where)
    selected = [c for c in captions if predicate is None or predicate(c)]
    counts = tag_frequency(selected)
    rows = counts.most_common(top or None)
    if as_json:
        click.echo(json.dumps({"captions": len(selected), "tags": dict(rows)}, ensure_ascii=False))
        return
    empty = sum(1 for c in selected if not c.tags)
    click.echo(f"{len(selected)} caption(s), {len(counts)} distinct tag(s)"
               + (f", {empty} without tags" if empty else ""))
    width = max((len(t) for t, _ in rows), default=3)
    for tag, count in rows:
        share = 100.0 * count / max(len(selected), 1)
        click.echo(f"  {tag:<{width}}  {count:>6}  {share:5.1f}%")
    if top and len(counts) > top:
        click.echo(f"  ... {len(counts) - top} more (--top 0 shows all)")


@tags.command("add")
@_common
@_writing
@click.argument("new_tags", metavar="TAG...", nargs=-1, required=True)
@click.option("--front", is_flag=True, help="Put the tags first (a trigger word).")
@click.option("--position", type=int, help="Insert at this index (0 = front, -1 = end).")
def add(directory, new_tags, front, position, **kw):
    """Add TAG(s) to every caption (images without a caption get a new caption file)."""
    from loratui.core.edits import AddTags

    pos = 0 if front else (-1 if position is None else position)
    _run_plan(directory, [AddTags(list(new_tags), pos)], **kw)


@tags.command("remove")
@_common
@_writing
@click.argument("patterns", metavar="PATTERN...", nargs=-1, required=True)
@click.option("--mode", type=click.Choice(["auto", "exact", "glob", "regex"]), default="auto", show_default=True,
              help="auto: * ? [ make a glob, /.../ a regex, anything else is exact.")
def remove(directory, patterns, mode, **kw):
    """Remove tags matching PATTERN(s) (exact, glob like '*background', or /regex/)."""
    from loratui.core.edits import RemoveTags

    _run_plan(directory, [RemoveTags(list(patterns), mode)], **kw)


@tags.command("replace")
@_common
@_writing
@click.argument("old")
@click.argument("new")
@click.option("--mode", type=click.Choice(["exact", "glob", "regex"]), default="exact", show_default=True,
              help="How OLD matches; with regex, NEW may use \\1 groups.")
def replace(directory, old, new, mode, **kw):
    """Rename tag OLD to NEW everywhere (duplicates this creates are merged)."""
    from loratui.core.edits import ReplaceTag

    _run_plan(directory, [ReplaceTag(old, new, mode)], **kw)


@tags.command("dedupe")
@_common
@_writing
def dedupe(directory, **kw):
    """Remove repeated tags inside each caption (the first occurrence stays)."""
    from loratui.core.edits import Dedupe

    _run_plan(directory, [Dedupe()], **kw)


@tags.command("sort")
@_common
@_writing
@click.option("--by", type=click.Choice(["alpha", "frequency", "category"]), default="alpha", show_default=True)
@click.option("--keep", type=int, default=0, show_default=True, help="Leave the first N tags in place (trigger word).")
def sort(directory, by, keep, **kw):
    """Sort each caption's tags alphabetically, by dataset frequency, or by tagger category."""
    from loratui.core.edits import SortTags

    _run_plan(directory, [SortTags(by, keep)], **kw)


@tags.command("move-front")
@_common
@_writing
@click.argument("patterns", metavar="PATTERN...", nargs=-1, required=True)
def move_front(directory, patterns, **kw):
    """Move tags matching PATTERN(s) to the front of each caption."""
    from loratui.core.edits import MoveToFront

    _run_plan(directory, [MoveToFront(list(patterns))], **kw)


@tags.command("strip-underscores")
@_common
@_writing
def strip_underscores(directory, **kw):
    """long_hair -> long hair (tags of 3 characters or fewer, like ^_^, are kept)."""
    from loratui.core.edits import StripUnderscores

    _run_plan(directory, [StripUnderscores()], **kw)


@tags.command("remove-category")
@_common
@_writing
@click.argument("categories", metavar="CATEGORY...", nargs=-1, required=True)
def remove_category(directory, categories, **kw):
    """Remove every tag of a tagger category: rating, general, character, copyright, artist, meta.

    Rating tags (general, sensitive, questionable, explicit) are known without --tags-csv; the other
    categories need the tagger's selected_tags.csv.
    """
    from loratui.core.edits import RemoveCategory

    op = RemoveCategory(list(categories))
    op._numbers()  # validate names before scanning
    if not kw.get("tags_csv") and set(categories) - {"rating", "9"}:
        raise LoratuiError("remove-category: categories other than rating need --tags-csv PATH (the tagger's selected_tags.csv)")
    _run_plan(directory, [op], **kw)


@tags.command("apply")
@_common
@_writing
@click.argument("recipe", type=click.Path(dir_okay=False, path_type=Path))
def apply(directory, recipe, where, **kw):
    """Replay a TOML cleanup RECIPE ([[op]] tables) on DIR.

    \b
    Example recipe:
      [[op]]
      op = "remove_category"
      categories = ["rating"]
      [[op]]
      op = "add"
      tags = ["my_trigger"]
      position = 0
    Ops: add (tags, position), remove (patterns, mode), replace (old, new, mode), dedupe,
    sort (by, keep), move_front (patterns), strip_underscores, remove_category (categories).
    """
    from loratui.core.recipes import load_recipe

    loaded = load_recipe(recipe)
    if where and loaded.where:
        if " or " in f" {loaded.where.lower()} " or " or " in f" {where.lower()} ":
            raise LoratuiError("--where and the recipe's where both given, and one uses 'or': combine them by hand")
        where = f"{loaded.where} and {where}"
    _run_plan(directory, loaded.ops, where=where or loaded.where,
              description=f"recipe {recipe.name}: " + "; ".join(op.describe() for op in loaded.ops), **kw)


@tags.command("undo")
@click.argument("directory", metavar="DIR", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--yes", "-y", is_flag=True, help="Undo without asking.")
@click.option("--force", is_flag=True, help="Also restore files edited since the change.")
@click.option("--list", "list_only", is_flag=True, help="Only list the undo history, newest first.")
def undo(directory, yes, force, list_only):
    """Undo the last applied tag operation in DIR (repeat to walk further back)."""
    from loratui.core.edit_journal import history, undo_last

    rows = history(directory)
    if list_only:
        if not rows:
            click.echo("No undo history.")
        for index, (_, description, files) in enumerate(rows, 1):
            click.echo(f"{index:>3}. {description} ({files} file(s))")
        return
    if not rows:
        raise LoratuiError(f"{directory}: nothing to undo (no tag operation was applied here)")
    _, description, files = rows[0]
    click.echo(f"Last change: {description} ({files} file(s))")
    if not yes:
        if not _interactive():
            raise LoratuiError("not a terminal, so nothing was undone: pass --yes")
        if not click.confirm("Undo it?", default=False):
            click.echo("Nothing undone.")
            return
    result = undo_last(directory, force=force)
    click.echo(f"Restored {len(result.restored)} caption file(s); {result.remaining} older change(s) can still be undone.")
    for conflict in result.conflicts:
        click.echo(f"skipped: {conflict}", err=True)
    if result.conflicts:
        sys.exit(1)
