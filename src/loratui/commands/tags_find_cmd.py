"""`loratui tags find`: the captions a --where matches, one path a line ("which captions lack 1girl?").

`tags freq --where` gives counts; this names the files, relative to the dataset as a plan lists them
(commands.term_text.shown_path), optionally with each caption after a tab, or as one JSON object. It reads
what `tags freq` reads (a --where naming `reg` also reads the project's reg folder: commands.tags_scope)
and writes nothing.
"""

from __future__ import annotations

import click

from loratui.commands.help_text import exit_codes
from loratui.commands.tags_options import UNUSED_TAGS_CSV, _common


@click.command("find")
@exit_codes((0, "done, also when no caption matches (said on stderr)"),
            (2, "bad input: no images, a bad --where, a blank --separator"), (130, "interrupted"))
@_common(UNUSED_TAGS_CSV.format(name="find"))
@click.option("--captions", "with_captions", is_flag=True,
              help="Print each caption's first line (what sd-scripts reads) after its path and a tab.")
@click.option("--json", "as_json", is_flag=True,
              help="Print {considered, matched, files: [{path, exists, tags, text}], notes} as one JSON object "
                   "(\"unreadable\": the captions left out because they cannot be read, when there are any).")
def find(directory, where, caption_extension, separator, tags_csv, recursive, with_captions, as_json):
    """List the captions --where EXPR matches in DIR (every caption without --where): one path a line,
    relative to DIR's train folder as a plan lists them.

    Examples: the captions that lack 1girl; those over 40 tags, each followed by a tab and the caption;
    how many images have no caption file:

    \b
      loratui tags find img --where "-tag:1girl"
      loratui tags find img --where "tags>40" --captions
      loratui tags find img --where missing | wc -l

    A path holding a control character (a newline, a tab) is printed escaped (\\n, \\t), as every tags
    command prints names, so each line is one caption; --json gives the exact names. A `tag:` value that
    matches no caption while another spelling of it is there (long_hair for long hair) is named on stderr.
    """
    from loratui.commands.help_text import shell_arg
    from loratui.commands.options import json_line
    from loratui.commands.tags_options import read_for_table
    from loratui.commands.tags_run import _locate, interrupted_reading, spelling_notes, where_of
    from loratui.commands.tags_scope import no_reg_folder_note, reg_read
    from loratui.commands.term_text import relative_name, shown_name, shown_path
    from loratui.core.captions import load_captions
    from loratui.core.dataset import caption_extension_option

    beside = _locate(directory)
    location = beside.location
    predicate = where_of(where, beside)
    unreadable: list[str] = []  # a listing can go without a caption it cannot read: it names it instead
    with interrupted_reading():
        captions, _ = read_for_table(location.images_dir, caption_extension, separator, None, recursive, unreadable)
        reg = reg_read(where, location)
        if reg is not None:  # --where names `reg`: the reg folder's captions are listed too, as in the app's table
            captions += load_captions(reg, caption_extension_option(caption_extension), separator,
                                      recursive=recursive, unreadable=unreadable)
        matched = [c for c in captions if predicate is None or predicate(c)]
    notes = spelling_notes(where, captions)
    missing = no_reg_folder_note(where, location)
    if missing is not None:
        notes.insert(0, missing.removeprefix("note: "))
    root = location.train_dir
    if as_json:
        data = {"considered": len(captions), "matched": len(matched),
                "files": [{"path": relative_name(c.path, root), "exists": c.exists, "tags": list(c.tags),
                           "text": c.first_line} for c in matched],
                "notes": notes}
        if unreadable:
            data["unreadable"] = unreadable
        click.echo(json_line(data))
    else:
        for caption in matched:
            line = shown_path(caption.path, root)
            if with_captions:
                line += "\t" + shown_name(caption.first_line)  # a tab in the caption is shown as \t
            click.echo(line)
    for note in notes:
        click.echo(f"note: {note}", err=True)
    if not matched:  # only with a --where: without one every caption read is listed
        click.echo(f"no caption matches --where {shell_arg(where)} (of {len(captions):,} read)", err=True)
    for line in unreadable:
        click.echo(f"left out: {line}", err=True)
