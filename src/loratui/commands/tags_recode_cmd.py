"""`loratui tags to-utf8`: re-save captions that are not plain UTF-8 (cp1252, UTF-16, a BOM) as
UTF-8, the one encoding sd-scripts reads; one undoable change."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from loratui.commands.help_text import exit_codes, shell_arg
from loratui.core.errors import LoratuiError


@click.command("to-utf8")
@exit_codes((0, "written, a dry run, nothing to change, or not confirmed"),
            (1, "written, except captions that changed on disk, could not be written or hold NUL/control "
                "characters: each is named and left as it is"),
            (2, "bad input, or not a terminal without --yes or --dry-run: nothing written"),
            (130, "interrupted: `loratui tags undo DIR` puts back what was written"))
@click.argument("directory", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
@click.option("--where", "where", metavar="EXPR", help="Only captions matching EXPR (the filter language of the "
                                                       "other tags commands, e.g. \"folder:*alice*\").")
@click.option("--caption-extension", default=".txt", show_default=True, help="Caption file extension.")
@click.option("--recursive", is_flag=True, help="Every image under DIR, not only DIR and its N_concept folders.")
@click.option("--yes", "-y", is_flag=True, help="Write without asking.")
@click.option("--dry-run", is_flag=True, help="Only list the captions and their encoding.")
@click.option("--force", is_flag=True, help="Also rewrite read-only caption files (mode 0444).")
@click.option("--json", "as_json", is_flag=True,
              help="Print {files: [{path, was}], written} as one JSON object.")
def to_utf8(directory, where, caption_extension, recursive, yes, dry_run, force, as_json):
    """Save the captions that are not plain UTF-8 (Windows-1252 / Latin-1, UTF-16, a UTF-8 byte-order
    mark) as UTF-8 without BOM: sd-scripts stops on the first two and keeps a BOM in the first tag.
    The text, line endings and every line stay as they are; `loratui tags undo DIR` gives the old
    bytes back."""
    from loratui.commands.options import can_ask, json_line
    from loratui.commands.tags_cmd import _interactive, _locate, _rel, reg_note, where_of
    from loratui.commands.tags_scope import reg_scope_note, write_scope
    from loratui.commands.term_text import relative_name, shown_name
    from loratui.core.captions import load_captions, recode_captions, recode_plan
    from loratui.core.dataset import caption_extension_option

    from loratui.commands.tags_run import interrupted_reading

    beside = _locate(directory)
    location = beside.location
    predicate = where_of(where, beside)  # `reg` as the other tags commands read it (the config's reg_data_dir)
    ext = caption_extension_option(caption_extension)
    with interrupted_reading():
        captions = load_captions(location.images_dir, ext, recursive=recursive)
        if not captions:
            raise LoratuiError(f"{directory}: no images found (looked for .png .jpg .jpeg .webp .bmp in it and in "
                               "its N_concept folders; --recursive looks in every subfolder)")
        scope = write_scope(where, predicate, location, captions,
                            lambda folder: load_captions(folder, ext, recursive=recursive))
        captions, root = scope.captions, scope.root
        skipped: list[str] = []  # read wrongly (NUL/control characters): converting would make that permanent
        items = recode_plan([c for c in captions if predicate is None or predicate(c)], skipped)
    # JSON gets the exact name (a script opens the file by it); the lines below show it escaped
    data = {"files": [{"path": relative_name(i.path, root), "was": i.was} for i in items], "written": 0}
    if skipped:
        data["skipped"] = skipped
    if scope.reg:  # the files' paths are the reg folder's
        data["reg_folder"] = str(root)
    if not as_json:
        click.echo(f"{len(items)} of {len(captions)} caption(s) are not plain UTF-8.")
        for item in items:
            click.echo(f"  {_rel(item.path, root)}: {item.was} -> utf-8")
        for line in skipped:
            click.echo(f"left out: {shown_name(line)}", err=True)
        for note in [reg_scope_note(root)] if scope.reg else reg_note(location, directory, where):
            click.echo(f"Note: {note}")
    if dry_run or not items:
        if as_json:
            click.echo(json_line(data))
        else:
            click.echo("Dry run: nothing written." if items else
                       "Nothing to convert: the caption(s) left out above need fixing by hand." if skipped else
                       "Nothing to change.")
        if skipped and not items and not dry_run:
            sys.exit(1)  # a file still needs the user's hand: not "done"
        return
    if not yes:
        if not can_ask(as_json, _interactive):
            if as_json:
                click.echo(json_line(data))
            raise LoratuiError("not a terminal, so nothing was written: pass --yes to write or --dry-run to only list")
        if not click.confirm(f"Save {len(items)} caption file(s) as UTF-8?", default=False):
            click.echo("Nothing written.")
            return
    written, problems = recode_captions(items, root, force=force)
    if as_json:
        data["written"] = len(written)
        data["left"] = problems
        click.echo(json_line(data))
    else:
        click.echo(f"Saved {len(written)} caption file(s) as UTF-8. Undo with: loratui tags undo {shell_arg(directory)}")
        for problem in problems:
            click.echo(f"skipped: {shown_name(problem)}", err=True)
    if problems or skipped:
        sys.exit(1)
