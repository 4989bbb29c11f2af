"""Captions an undo or redo leaves out because their image is gone: which those are, and the one
sentence that names them (``tags undo`` and the app's ctrl+z / ctrl+y both print it).

"Its image is there" follows the scan's caption <-> image pairing (core.dataset
``caption_candidates``): the caption of ``b.png`` is ``b`` + the caption extension, and of a face-crop
``c_1_2_3_4.png`` also ``c`` + it. A journal entry does not record the extension it was made with, and
it may hold dots (``.wd14.txt``), so a caption counts as paired when its name is such a base followed by
any ``.``-extension. Wrongly judging an image there only writes a stray caption back (what every undo
did before); wrongly judging it gone would leave text out, so every doubt is read as "there": any
image extension in any case (``.PNG``, ``.jxl``), names compared without case, an unreadable folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from loratui.core.dataset import IMAGE_EXTENSIONS, OTHER_IMAGE_EXTENSIONS, caption_candidates
from loratui.core.termline import escape_controls

SHOWN_IMAGE_GONE = 5  # captions the sentence names; then "and N more"
_IMAGE_SUFFIXES = IMAGE_EXTENSIONS | OTHER_IMAGE_EXTENSIONS


def caption_bases(image_name: str) -> list[str]:
    """The names (without the caption extension) a caption of the image ``image_name`` may have, in
    the order sd-scripts tries them: the scan's own rule (core.dataset.caption_candidates) with no
    extension."""
    return list(caption_candidates(Path(image_name), ""))


FolderBases = dict[Path, "set[str] | None"]


def _folder_bases(folder: Path, cache: FolderBases) -> set[str] | None | bool:
    """The lower-cased caption bases of every image in ``folder`` (None: the folder is gone; False: it
    cannot be read, so it is not known to be gone). Cached in ``cache``."""
    if folder not in cache:
        try:
            names = os.listdir(folder)
        except (FileNotFoundError, NotADirectoryError):
            cache[folder] = None
            return None
        except OSError:  # unreadable, not gone: the write is tried and names the problem
            return False
        cache[folder] = {base.lower() for name in names if os.path.splitext(name)[1].lower() in _IMAGE_SUFFIXES
                         for base in caption_bases(name)}
    return cache[folder]


def image_gone(caption: Path, cache: FolderBases) -> bool:
    """True when no image beside ``caption`` pairs with it (``caption_bases`` + a ``.``-extension) or its
    folder is gone. ``cache`` keeps each folder's bases between calls of one walk. Asked only about
    absent captions, so a walk of 20,000 present ones lists nothing."""
    bases = _folder_bases(caption.parent, cache)
    if bases is False:
        return False
    if bases is None:
        return True
    name = caption.name.lower()
    return not any(name[:dot] in bases for dot in range(len(name)) if name[dot] == ".")


def image_gone_line(paths: list[Path], root: Path, verb: str, *, prefix: str = "", undo: str = "",
                    redo: str = "") -> str:
    """One sentence naming the captions an undo (``verb`` "undo") or redo ("redo") left out because their
    image is gone, counted and the first ``SHOWN_IMAGE_GONE`` named relative to ``root`` (``prefix``
    before each: ``reg/`` for the reg folder's), escaped by core.termline's rule; "" when none.

    ``undo`` / ``redo``: how the caller's user undoes and redoes (`loratui tags undo DIR`, ctrl+z). With
    them the sentence says how to get the text back: the walk keeps it in the entry it moves to the
    other list (core.captions.undo), so once the image is back, walking there and back again writes it."""
    if not paths:
        return ""

    def shown(path: Path) -> str:
        try:
            return escape_controls(prefix + Path(path).relative_to(root).as_posix())
        except ValueError:
            return escape_controls(str(path))

    names = ", ".join(shown(p) for p in paths[:SHOWN_IMAGE_GONE])
    more = f" and {len(paths) - SHOWN_IMAGE_GONE:,} more" if len(paths) > SHOWN_IMAGE_GONE else ""
    done = "undone" if verb == "undo" else "redone"
    line = f"Left out {len(paths):,} caption(s) whose image is gone (deleted since), not {done}: {names}{more}"
    if undo and redo:
        there, back = (redo, undo) if verb == "undo" else (undo, redo)
        them = "it" if len(paths) == 1 else "them"
        until = " until the next change" if verb == "undo" else ""  # a change empties the redo list
        line += (f"; the journal keeps their text{until}: put the image back, then {there} and {back} "
                 f"write {them}")
    return line
