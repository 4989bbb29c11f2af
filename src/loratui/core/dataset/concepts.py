"""The concept folders of a train or reg folder, picked exactly as sd-scripts picks them: the one list
the scan, `loratui steps` and the sd-scripts export share, with a Problem for each entry left out.

sd-scripts (library/config_util.py, generate_dreambooth_subsets_config_by_subdirs) takes every direct
subfolder of train_data_dir / reg_data_dir, hidden ones included: it splits the name on "_", and
``int()`` of the first piece is the repeats (no integer: skipped with a warning, which is also what
becomes of a hidden `.5_x`, as ``int(".5")`` fails); repeats < 1 (`0_x`, `-1_x`) are skipped without
a word. There is no upper limit: `100000_x` trains, 100000 repeats of each image per epoch.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path

from loratui.core.dataset.images import IMAGE_EXTENSIONS, list_folder
from loratui.core.dataset.images import entry_is_dir as is_dir  # a link loop is no folder
from loratui.core.dataset.parking import TEMP_PREFIX, parked_destination
from loratui.core.dataset.types import Problem
from loratui.core.errors import LoratuiError
from loratui.core.termline import shell_arg

# More repeats than this is a typo or a pasted number, not a plan: the folder is named (a warning) but
# still counted, as sd-scripts trains it as written. loratui's own proposals (init, balance) stay under it.
MAX_REPEATS = 10_000
# sd-scripts' make_buckets appends one list entry per repeat of every image before the first step: a
# billion repeats is 8 GB of list per image, so it runs out of memory and nothing trains such a folder
# (`99999999999999999999_x`). Only above this is a folder left out (an error).
MAX_TRAINABLE_REPEATS = 10**9
# Dot-folders loratui itself keeps in a dataset (the undo journal, init's staging folders): not named.
_OWN_HIDDEN_PREFIX = ".loratui"  # .loratui/ (undo journal, drafts), .loratui-demo
_OWN_HIDDEN_SUFFIX = ".loratui-tmp"  # core.fsutil's staging folders
SHOWN_NAMES = 3  # a summary line names this many, then "and N more"


@dataclass(frozen=True)
class ConceptFolder:
    """One `N_name` folder sd-scripts trains: what its dataset TOML calls a subset."""

    path: Path
    repeats: int
    class_tokens: str
    is_reg: bool


def parse_subset_name(name: str) -> tuple[int, str] | None:
    """(repeats, class_tokens) the way sd-scripts reads a folder name, or None if it has no integer prefix.

    Repeats may come back < 1: sd-scripts then skips the folder (the caller reports it).
    """
    first, _, rest = name.partition("_")
    try:
        repeats = int(first)
    except ValueError:
        return None
    return repeats, rest


def concept_folders(root: str | os.PathLike, is_reg: bool = False, *,
                    train_root: str | os.PathLike | None = None) -> tuple[list[ConceptFolder], list[Problem]]:
    """The concept folders of ``root`` that sd-scripts trains (sorted by name), and a Problem for every
    entry it leaves out (no `N_` prefix, repeats < 1 or absurd, a file or broken link, a hidden folder)
    and for images lying directly in ``root``. Reads only folder names, no images. ``train_root``: the
    train folder, when ``root`` is the reg folder that goes with it (a reg folder that is one of its
    concept folders is told apart).

    Raises LoratuiError when ``root`` cannot be listed (one line naming it).
    """
    root = Path(root)
    label = "reg" if is_reg else "train"
    folders: list[ConceptFolder] = []
    problems: list[Problem] = []
    loose_images: list[Path] = []
    hidden: list[str] = []
    for entry in list_folder(root):
        path = Path(entry.path)
        if entry.name.startswith("."):
            if entry.name.startswith(TEMP_PREFIX) and is_dir(entry):  # a balance killed between its renames
                problems.append(_interrupted_balance(path, label))
            elif is_dir(entry) and not _own_hidden(entry.name):
                hidden.append(entry.name)
            continue
        if not is_dir(entry):
            broken = broken_link(entry)
            if broken is not None and os.path.splitext(entry.name)[1].lower() in IMAGE_EXTENSIONS:
                problems.append(Problem(  # named once, as an image: never "point it at a concept folder"
                    "broken_link", path,
                    f"{label} folder: '{entry.name}' is a broken image link ({broken}): it is left out (sd-scripts "
                    "cannot open it); remove it or point it at the real image", "warning"))
            elif broken is not None:
                problems.append(Problem(
                    "broken_link", path,
                    f"{label} folder: '{entry.name}' is a broken link ({broken}): sd-scripts skips it; point it at "
                    "the real concept folder or remove it", "warning"))
            elif os.path.splitext(entry.name)[1].lower() in IMAGE_EXTENSIONS:
                loose_images.append(path)
            elif parse_subset_name(entry.name) is not None:
                problems.append(Problem(
                    "not_a_folder", path,
                    f"{label} folder: '{entry.name}' is a file where a concept folder is expected: sd-scripts "
                    f"ignores it (a concept is a folder named like '10_{entry.name.partition('_')[2] or 'name'}' "
                    "holding images)", "warning"))
            continue
        parsed = parse_subset_name(entry.name)
        if parsed is None:
            fix = _no_prefix_fix(path, label)
            problems.append(Problem(
                "no_repeat_prefix", path,
                f"{label} folder '{entry.name}' has no `N_` repeat prefix: sd-scripts skips it ({fix})", "warning"))
            continue
        repeats, tokens = parsed
        problem = repeats_problem(path, repeats, tokens, label)
        if problem is not None:
            problems.append(problem)
            if problem.kind in LEFT_OUT_REPEATS_KINDS:
                continue
        if not tokens.strip():
            problems.append(Problem(
                "empty_class_token", path,
                f"{label} folder '{entry.name}' has an empty class token (nothing after '{repeats}_'): images "
                f"without a caption train with an empty prompt; name it like '{repeats}_cat' if that is not meant",
                "info"))
        folders.append(ConceptFolder(path, repeats, tokens, is_reg))
    if hidden:
        more = f" and {len(hidden) - SHOWN_NAMES} more" if len(hidden) > SHOWN_NAMES else ""
        problems.append(Problem(
            "hidden_folders", root,
            f"{label} folder {root}: {len(hidden)} hidden folder(s) skipped: {', '.join(hidden[:SHOWN_NAMES])}{more} "
            "(sd-scripts skips them too: a name starting with '.' has no `N_` repeat prefix; remove the dot to "
            "train one)", "info"))
    if loose_images:
        fix = _loose_images_fix(root, label, bool(folders), train_root)
        problems.append(Problem(
            "loose_images", root,
            f"{len(loose_images)} image(s) directly in {label} folder {root} are ignored by sd-scripts: {fix}",
            "warning"))
    return folders, problems


def _loose_images_fix(root: Path, label: str, has_concepts: bool, train_root: str | os.PathLike | None) -> str:
    """What to do about images lying directly in ``root``: move them into an `N_name` folder, unless
    ``root`` is itself a concept folder (`--reg reg/3_r`: the folder holding it is the fix; `0_x`: its
    repeats are why sd-scripts skips it; one of the train folder's concepts given as the reg folder)."""
    parsed = parse_subset_name(root.name)
    if parsed is None or has_concepts:
        return "move them into an `N_name` folder"
    repeats, tokens = parsed
    parent = _parent(root)
    if repeats < 1:
        return (f"{root.name} reads as a concept folder with {repeats} repeats, which sd-scripts skips: rename it "
                f"with at least 1 repeat (e.g. '1_{tokens or 'name'}') and use the folder that holds it, {parent}")
    if label == "reg" and train_root is not None and os.path.realpath(parent) == os.path.realpath(train_root):
        return (f"{root} is one of the training concept folders: regularisation images need a folder of their "
                "own (e.g. reg/1_person beside img/)")
    return f"{root} is itself a concept folder: use the folder that holds it, {parent}, as {label}_data_dir"


def _no_prefix_fix(path: Path, label: str) -> str:
    """What to do about a folder with no `N_` prefix: a folder of concept folders (itself, or one level
    further down: ``data/img/10_a``) is named as the train_data_dir or reg_data_dir it is, never renamed
    (a rename would nest its concept folders, which sd-scripts then never reads); otherwise rename it."""
    holders = [path] if holds_concepts(path) else _concept_holders_below(path)
    if not holders:
        return f"rename it to e.g. '10_{path.name}'"
    uses = " and ".join(f"{holder} as {'reg' if label == 'reg' or is_reg_name(holder.name) else 'train'}_data_dir"
                        for holder in holders[:2])
    where = "itself" if holders == [path] else "further down"
    return f"it holds concept folders {where}: use {uses}"


def _concept_holders_below(folder: Path) -> list[Path]:
    """The subfolders of ``folder`` (no `N_` prefix, not hidden) that hold concept folders, train ones first."""
    try:
        entries = list_folder(folder)
    except LoratuiError:
        return []
    found = sorted((Path(e.path) for e in entries if not e.name.startswith(".") and parse_subset_name(e.name) is None
                    and is_dir(e) and holds_concepts(Path(e.path))), key=lambda p: (is_reg_name(p.name), p.name))
    return found


def is_reg_name(name: str) -> bool:
    """A folder named for regularisation images (``reg/`` as `dataset init` makes it, ``regularization``)."""
    name = name.lower()
    return name in ("reg", "regs", "regularization", "regularisation") or name.startswith(("reg_", "reg-", "reg "))


def _parent(path: Path) -> Path:
    """The folder holding ``path``, absolute when ``path`` is a bare name."""
    return path.parent if path.parent != Path(".") else Path(os.path.abspath(path)).parent


def holds_concepts(folder: Path) -> bool:
    """``folder`` has an `N_name` subfolder sd-scripts would train (N >= 1, not hidden); False when it
    cannot be read (whoever lists it says why)."""
    try:
        entries = os.scandir(folder)
    except OSError:
        return False
    with entries:
        for entry in entries:
            parsed = None if entry.name.startswith(".") else parse_subset_name(entry.name)
            if parsed is not None and parsed[0] >= 1 and is_dir(entry):
                return True
    return False


def concepts_child(folder: Path, train: bool = False) -> Path | None:
    """The one subfolder of ``folder`` that holds the concept folders (``img/`` or ``train/`` of a
    dataset given one level too high), or None when there is none or more than one to choose from.
    ``train``: the train folder is looked for, so a ``reg/`` beside it is not one to choose from."""
    try:
        entries = list_folder(folder)
    except LoratuiError:
        return None
    found = [Path(e.path) for e in entries if not e.name.startswith(".") and parse_subset_name(e.name) is None
             and is_dir(e) and holds_concepts(Path(e.path))]
    if train:
        found = [path for path in found if not is_reg_name(path.name)]
    return found[0] if len(found) == 1 else None


# Kinds of repeats problems whose folder is left out (not counted); "many_repeats" is counted.
LEFT_OUT_REPEATS_KINDS = frozenset({"zero_repeats", "too_many_repeats"})


def repeats_problem(path: Path, repeats: int, tokens: str, label: str = "train") -> Problem | None:
    """What is wrong with a folder's repeat count, the way sd-scripts takes it (None: nothing).

    ``zero_repeats`` and ``too_many_repeats`` folders are left out (sd-scripts skips the first and
    cannot build the second); a ``many_repeats`` folder is counted, as sd-scripts trains it."""
    name = path.name
    fix = f"rename it with its real repeat count, e.g. '10_{tokens}'"
    if repeats < 1:
        return Problem("zero_repeats", path,
                       f"{label} folder '{name}' has {repeats} repeats: sd-scripts silently skips it",
                       "warning")
    if repeats > MAX_TRAINABLE_REPEATS:
        return Problem("too_many_repeats", path,
                       f"{label} folder '{name}' asks for {repeats} repeats: sd-scripts lists every repeat of every "
                       "image in memory before the first step and runs out of it, so nothing can train this "
                       f"folder; it is left out (not counted): {fix}", "error")
    if repeats > MAX_REPEATS:
        return Problem("many_repeats", path,
                       f"{label} folder '{name}' asks for {repeats} repeats, far more than makes sense (over "
                       f"{MAX_REPEATS:,}): sd-scripts trains it as written, so it is counted; if that is a typo, "
                       f"{fix}", "warning")
    return None


def _own_hidden(name: str) -> bool:
    return name.startswith(_OWN_HIDDEN_PREFIX) or name.endswith(_OWN_HIDDEN_SUFFIX)


def _interrupted_balance(path: Path, label: str) -> Problem:
    dest = parked_destination(path.name)
    back = "" if dest is None or os.path.lexists(path.parent / dest) else \
        f": finish it with `mv {shell_arg(path)} {shell_arg(path.parent / dest)}`"
    return Problem(
        "interrupted_balance", path,
        f"{label} folder '{path.name}' was left by an interrupted balance (its images are hidden "
        f"from sd-scripts and loratui){back or ': rename it to a free N_name'}", "error")


def broken_link(entry: os.DirEntry) -> str | None:
    """``to 't3/nonexist', which does not exist`` for a link that leads nowhere (None: not a broken link)."""
    target = "?"
    try:
        if not entry.is_symlink():
            return None
        target = os.readlink(entry.path)
        os.stat(entry.path)  # follows the link
        return None
    except FileNotFoundError:
        return f"to '{target}', which does not exist"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return f"to '{target}', a loop of links"
        return None
