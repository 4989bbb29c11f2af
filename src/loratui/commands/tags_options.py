"""What the `loratui tags` commands share before they run: the options every one takes (DIR, --where,
--caption-extension, --separator, --tags-csv, --recursive: ``_common``) with their help, and reading a
dataset's captions for a command that only reads (``read_for_table``: `tags freq`, `tags find`).
Its own module so that the commands split over several tags_*_cmd.py modules import it without a cycle.
"""

from __future__ import annotations

import functools
from pathlib import Path

import click

from loratui.commands.options import DEFAULT_SEPARATOR, SEPARATOR_HELP, separator_value
from loratui.core.errors import LoratuiError

WHERE_HELP = ('Only captions matching EXPR: tag:X, -tag:X, folder:X, file:X (the image\'s or the caption\'s name), '
              'text:X, tags>N, tags<N, tags=N, tokens>N, tokens<N, tokens=N (about N CLIP tokens), empty, missing, multiline, reg (a regularisation image: DIR is a '
              'reg folder, e.g. a project\'s reg/; on a project, an EXPR naming reg also reads its reg folder, the '
              'config\'s reg_data_dir, and a change goes to train or reg captions, one kind at a time), joined by '
              'and/or/not (e.g. "tag:solo and not tag:1girl", "reg and missing"). Quote a value holding \' with " '
              '(tag:"jack-o\'-lantern"); a tag with * or ? exactly: tag:/\\?/.')
TAGS_CSV = "A WD14 selected_tags.csv (the tagger's tag list, with each tag's category)"
FOUND_CSV = (" Without it, the one the app uses (the project's, else the newest in its wd14_tagger_model/ or models/, "
             "else the model store's), named on stderr.")
UNUSED_TAGS_CSV = "Not used by {name}, which needs no tag categories (every tags command takes this option)."


def _common(tags_csv_help: str):
    """The options every tags operation takes; ``tags_csv_help`` says what --tags-csv does for this one."""
    def decorate(func):
        @click.argument("directory", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
        @click.option("--where", "where", metavar="EXPR", help=WHERE_HELP)
        @click.option("--caption-extension", default=".txt", show_default=True, help="Caption file extension.")
        @click.option("--separator", default=DEFAULT_SEPARATOR, show_default=True, callback=separator_value,
                      help=SEPARATOR_HELP)
        @click.option("--tags-csv", type=click.Path(dir_okay=False, path_type=Path),
                      help=tags_csv_help)
        @click.option("--recursive", is_flag=True,
                      help="Every image under DIR, not only DIR and its N_concept folders.")
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            return func(*args, **kwargs)
        return wrapper
    return decorate


def read_for_table(images_dir: Path, caption_extension: str, separator: str, tags_csv: Path | None,
                    recursive: bool, unreadable: list[str]):
    """tags_run._context for a command that only reads: a caption that cannot be read (a folder named
    a.txt, no permission) goes to ``unreadable`` as one line and the rest load. A writing command
    refuses instead (``_context``): it would edit every caption but that one, silently uneven."""
    from loratui.core.captions import EditContext, check_separator, load_captions, load_selected_tags
    from loratui.core.captions import tag_categories, tag_frequency
    from loratui.core.dataset import caption_extension_option

    check_separator(separator)
    ext = caption_extension_option(caption_extension)
    categories = tag_categories(load_selected_tags(tags_csv)) if tags_csv else {}
    captions = load_captions(images_dir, ext, separator, recursive=recursive, unreadable=unreadable)
    if not captions:
        if unreadable:
            raise LoratuiError(unreadable[0])
        raise LoratuiError(f"{images_dir}: no images found (looked for .png .jpg .jpeg .webp .bmp in it and in its "
                           "N_concept folders; --recursive looks in every subfolder)")
    return captions, EditContext(tag_frequency(captions), categories)
