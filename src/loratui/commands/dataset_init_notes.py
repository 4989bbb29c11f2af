"""`loratui dataset init --images DIR`: what the copy leaves behind, named (subfolders of the source,
files named like images that are not, captions with another extension or another case of it), so that
nothing the user meant to bring along is dropped without a word. Split out of dataset_cmd.py."""

from __future__ import annotations

import os
from pathlib import Path

import click

from loratui.commands.help_text import shell_arg

SHOWN_SUSPECT = 5  # files named like images that are not, listed one per line before "... and N more"


def source_subfolders(images_src: Path, project: Path) -> list:
    """SRC's subfolders that init leaves behind: not hidden, not the project itself (or, when SRC is the
    project, its img/ reg/ model/), as they are before init adds any. [] when SRC is no readable folder
    (init_project names that)."""
    from loratui.core.dataset import PROJECT_FOLDERS, list_folder
    from loratui.core.errors import LoratuiError

    if not images_src.is_dir():
        return []
    try:
        entries = list_folder(images_src)
    except LoratuiError:
        return []
    project_real = os.path.realpath(project)
    src_is_project = os.path.realpath(images_src) == project_real
    return [e for e in entries if not e.name.startswith(".") and _is_folder(e)
            and os.path.realpath(e.path) != project_real and not (src_is_project and e.name in PROJECT_FOLDERS)]


def name_left_behind(images_src: Path, result, folders: list) -> None:
    """What `init --images SRC` did not bring in as a working image: its subfolders (left in SRC:
    sd-scripts reads only the images directly in a concept folder) and the files it copied that are
    not readable images (a text file named .png, a JPEG cut short, a photo over Pillow's pixel limit:
    the scan's own check, unreadable_reason), one line each."""
    from loratui.core.dataset import unreadable_reason

    if folders:
        names = ", ".join(f"{e.name}/" for e in folders[:SHOWN_SUSPECT])
        more = f" and {len(folders) - SHOWN_SUSPECT} more" if len(folders) > SHOWN_SUSPECT else ""
        click.echo(f"skipped {len(folders)} subfolder(s) of {images_src}/: {names}{more} (sd-scripts reads only the "
                   f"images directly in a concept folder: to add a subfolder's, run init again with --images "
                   f"{shell_arg(images_src / folders[0].name)})")
    _name_skipped_files(images_src, result)
    _name_other_ext_captions(images_src, result)
    suspects = [(image, reason) for image in result.images if (reason := unreadable_reason(image)) is not None]
    for image, reason in suspects[:SHOWN_SUSPECT]:
        click.echo(f"warning: {image}: not a readable image ({reason}); it was brought in: replace or delete it "
                   "before training", err=True)
    if len(suspects) > SHOWN_SUSPECT:
        click.echo(f"warning: ... and {len(suspects) - SHOWN_SUSPECT} more file(s) that are not readable images "
                   "(`loratui dataset scan` lists them all)", err=True)


def _name_skipped_files(images_src: Path, result) -> None:
    """Hidden images/captions and broken links in SRC, left behind: a count and the first few names."""
    import os

    def shown(paths: list[Path], describe=lambda p: p.name) -> str:
        more = f" and {len(paths) - SHOWN_SUSPECT} more" if len(paths) > SHOWN_SUSPECT else ""
        return ", ".join(describe(p) for p in paths[:SHOWN_SUSPECT]) + more

    from loratui.core.dataset import APPLE_DOUBLE_PREFIX

    metadata = [p for p in result.skipped_hidden if p.name.startswith(APPLE_DOUBLE_PREFIX)]
    hidden = [p for p in result.skipped_hidden if not p.name.startswith(APPLE_DOUBLE_PREFIX)]
    if hidden:
        click.echo(f"skipped {len(hidden)} hidden file(s) of {images_src}/: {shown(hidden)} (sd-scripts never reads "
                   "a name starting with '.': rename one without the dot to bring it in)")
    if metadata:  # ._a.png: a Mac's AppleDouble file, no image: "remove the dot" would only break training
        click.echo(f"skipped {len(metadata)} macOS metadata file(s) of {images_src}/: {shown(metadata)} (AppleDouble "
                   "files, not images: sd-scripts never reads them; they can be deleted)")
    if result.skipped_broken_links:
        def target(path: Path) -> str:
            try:
                return f"{path.name} -> {os.readlink(path)}"
            except OSError:
                return path.name

        click.echo(f"skipped {len(result.skipped_broken_links)} broken link(s) in {images_src}/: "
                   f"{shown(result.skipped_broken_links, target)} (they lead to no file: fix or remove them)")


def _name_other_ext_captions(images_src: Path, result) -> None:
    """Captions with another usual extension (h.caption beside h.png when init brings .txt): left in SRC,
    never renamed behind the user's back, and named with the two ways to bring them; those of images
    whose caption in the chosen extension came in are named apart (bringing them would overwrite it)."""
    ext = result.caption_extension

    def shown(paths: list[Path]) -> str:
        more = f" and {len(paths) - SHOWN_SUSPECT} more" if len(paths) > SHOWN_SUSPECT else ""
        return ", ".join(p.name for p in paths[:SHOWN_SUSPECT]) + more

    beside = result.skipped_other_ext_beside
    if beside:  # copying these in would overwrite the caption that came in: say so, suggest nothing
        click.echo(f"skipped {len(beside)} caption(s) of {images_src}/ with another extension beside a '{ext}' "
                   f"caption of the same image: {shown(beside)} (both exist: the '{ext}' one came in; the others "
                   "were left where they are)")
    cased = result.skipped_case_captions
    if cased:  # x.TXT: sd-scripts opens x.txt exactly, which on Linux is another file
        click.echo(f"skipped {len(cased)} caption(s) of {images_src}/ whose extension differs from '{ext}' only in "
                   f"case: {shown(cased)} (sd-scripts opens the name ending in '{ext}' exactly, so on Linux it never "
                   f"reads them: rename them to '{ext}' and copy them into {result.concept_dir}/)")
    captions = result.skipped_other_ext_captions
    if not captions:
        return
    names, more = shown(captions), ""
    other = captions[0].suffix
    click.echo(f"skipped {len(captions)} caption(s) of {images_src}/ with another extension: {names}{more} (init "
               f"brings only '{ext}' captions: rename them to '{ext}' and copy them into {result.concept_dir}/, or "
               f"init a new project with --caption-extension {other})")


def _is_folder(entry) -> bool:
    try:
        return entry.is_dir(follow_symlinks=True)
    except OSError:  # a link loop: not a folder init would read
        return False
