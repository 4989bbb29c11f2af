"""`loratui tags undo` and `loratui tags redo`: walk the caption edit journal back and forth."""

from __future__ import annotations

from pathlib import Path

import click

from loratui.commands.help_text import exit_codes_block, shell_arg
from loratui.commands.options import can_ask, json_line
from loratui.commands.tags_run import interrupted_reading, progress_line, sweep_leftover_temps
from loratui.commands.term_text import relative_name, shown_name
from loratui.core.errors import LoratuiError


def _exit_codes(past: str, verb: str) -> str:
    return exit_codes_block(
        (0, "done (or nothing asked); with --skip-changed, captions edited since are left as they are and "
            "listed, as asked"),
        (2, f"nothing was {past}: nothing to {verb}, a caption edited since (see --skip-changed, --force), not a "
            "terminal (stdin and stdout) or --json, without --yes, or a file that cannot be read or written"),
        (130, "interrupted"),
    )


def _walk_options(verb: str, since: str):
    def decorate(func):
        func = click.option("--json", "as_json", is_flag=True,
                            help="Print the result as JSON (never asks: pass --yes).")(func)
        func = click.option("--list", "list_only", is_flag=True,
                            help=f"Only list what can be {verb}ne, next first.")(func)
        func = click.option("--skip-changed", is_flag=True,
                            help=f"{verb.capitalize()} the others, leave captions edited after the {since}.")(func)
        func = click.option("--force", is_flag=True,
                            help=f"Also rewrite captions edited after the {since} (their edits are lost), "
                                 "and read-only ones.")(func)
        func = click.option("--yes", "-y", is_flag=True, help=f"{verb.capitalize()} without asking.")(func)
        return click.argument("directory", metavar="DIR",
                              type=click.Path(file_okay=False, exists=True, path_type=Path))(func)
    return decorate


def _help(description: str, past: str, verb: str) -> str:
    """One paragraph (the source's line breaks and indents made single spaces: click keeps an indent
    inside a paragraph as spaces), then the exit codes."""
    return " ".join(description.split()) + "\n\n" + _exit_codes(past, verb)


@click.command("undo", help=_help("""Undo the last applied tag operation (or caption run) in DIR; repeat to walk
    further back. `loratui tags redo DIR` re-applies it, until the next change.""", "undone", "undo"))
@_walk_options("undo", "change")
def undo(directory, yes, force, skip_changed, list_only, as_json):
    _walk(directory, "undo", yes, force, skip_changed, list_only, as_json)


@click.command("redo", help=_help("""Re-apply the last change `loratui tags undo` took back in DIR, byte for byte;
    repeat to walk forward again. A new change (tags, caption run) empties the redo list, as in any editor.""",
                                  "redone", "redo"))
@_walk_options("redo", "undo")
def redo(directory, yes, force, skip_changed, list_only, as_json):
    _walk(directory, "redo", yes, force, skip_changed, list_only, as_json)


def _walk(directory: Path, verb: str, yes: bool, force: bool, skip_changed: bool, list_only: bool,
          as_json: bool) -> None:
    from loratui.commands import tags_cmd
    from loratui.core.captions import (
        can_redo, can_undo, dropped_note, history, image_gone_line, plan_redo, plan_undo, redo_history, redo_last,
        undo_last,
    )

    from loratui.commands.tags_scope import journal_walked, reg_folder, walk_history

    undoing = verb == "undo"
    location = tags_cmd._locate(directory).location
    train_root = location.train_dir  # where every command keeps the journal of the train captions
    reg = reg_folder(location)
    # a change --where kept to the reg captions is journaled in the reg folder: walked when it is the newer
    root = journal_walked(train_root, reg, undoing)
    available = can_undo if undoing else can_redo
    if root == train_root != directory and not available(root) and available(directory):
        root = directory  # a journal an older version kept in a project or concept folder itself
    in_reg = "" if root in (train_root, directory) else f" (reg folder {shell_arg(root)})"
    # the journal walked after this one: its changes count among those left
    other = None if reg is None or root == directory != train_root else reg if root == train_root else train_root
    if list_only:
        rows = walk_history([root] + ([other] if other is not None else []), undoing)
        if as_json:
            click.echo(json_line([{"description": d, "files": n, "journal": str(p)} for _, p, d, n in rows]))
            return
        if not rows:
            click.echo("No undo history." if undoing else "Nothing to redo.")
        for index, (folder, _, description, files) in enumerate(rows, 1):
            kind = f" [reg folder {shell_arg(reg)}]" if folder == reg else ""
            click.echo(f"{index:>3}. {description} ({files} file(s)){kind}")
        if undoing and dropped_note(root):  # older entries the caps dropped: not silently missing
            click.echo(dropped_note(root))
        return
    with interrupted_reading(f"nothing was {verb}ne"):
        preview = plan_undo(root) if undoing else plan_redo(root)
    if not as_json:
        what = ("Last change" if undoing else "Last undone change") + in_reg
        gone = f"; {len(preview.image_gone)} left out: image gone" if preview.image_gone else ""
        click.echo(f"{what}: {preview.description} ({len(preview.restore) + len(preview.conflicts)} file(s) "
                   f"to {'restore' if undoing else 'rewrite'}{gone})")
        for conflict in preview.conflicts[:tags_cmd.PLAN_LINES]:
            click.echo(f"  {shown_name(conflict)}")
    if not yes:
        if not can_ask(as_json, tags_cmd._interactive):  # never with --json: the answer would land in the JSON
            if as_json:  # the script still gets what would be done, then the error (exit 2)
                click.echo(json_line({"description": preview.description,
                                      "would_" + ("restore" if undoing else "redo"):
                                          [relative_name(p, root) for p, _ in preview.restore],
                                      "conflicts": preview.conflicts, "done": False,
                                      "image_gone": [relative_name(p, root) for p in preview.image_gone]}))
            why = "--json never asks" if as_json else "not a terminal"
            raise LoratuiError(f"{why}, so nothing was {verb}ne: pass --yes")
        if not click.confirm(f"{verb.capitalize()} it?", default=False):
            click.echo(f"Nothing {verb}ne.")
            return
    sweep_leftover_temps(root, {".txt"} | {path.suffix for path, _ in preview.restore if path.suffix})
    with progress_line("undoing" if undoing else "redoing", as_json) as progress:
        result = (undo_last if undoing else redo_last)(root, force=force, skip_changed=skip_changed, progress=progress)
    if other is not None:  # `tags undo DIR` walks on into the other journal (the train or the reg folder's)
        result.remaining += len(history(other) if undoing else redo_history(other))
    if as_json:
        data = {"description": result.description,
                "restored" if undoing else "redone": [relative_name(p, root) for p in result.restored],
                "conflicts": result.conflicts, "remaining": result.remaining, "can_redo": can_redo(root),
                "image_gone": [relative_name(p, root) for p in result.image_gone]}
        if in_reg:  # the paths are the reg folder's
            data["reg_folder"] = str(root)
        click.echo(json_line(data))
    else:
        undo_it, redo_it = (f"`loratui tags {step} {shell_arg(directory)}`" for step in ("undo", "redo"))
        if undoing:  # a way back only where the walk wrote something to walk back
            back = f" ({redo_it} re-applies this one)" if result.walk_back_files else ""
            click.echo(f"Restored {len(result.restored)} caption file(s); {result.remaining} older change(s) can "
                       f"still be undone{back}.")
        else:
            back = f" ({undo_it} takes this one back)" if result.walk_back_files else ""
            click.echo(f"Re-applied {len(result.restored)} caption file(s); {result.remaining} more undone change(s) "
                       f"can be redone{back}.")
        if result.image_gone:
            click.echo(image_gone_line(result.image_gone, root, verb, undo=undo_it, redo=redo_it))
    if not as_json:
        for conflict in result.conflicts:  # only with --skip-changed: left alone as asked, so still exit 0
            click.echo(f"skipped: {shown_name(conflict)}", err=True)

