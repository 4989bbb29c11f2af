"""Which tagger vocabulary (a WD14 ``selected_tags.csv``: each tag's category) a dataset uses, found as
the README's step 3 says: the project's (or the train folder's) own csv, else the newest in the project's
tagger folders (kohya's ``wd14_tagger_model/<repo>/`` and ``models/``, where the Caption screen finds
taggers too; the demo's toy tagger is there), else the most recently used WD14 model of loratui's model
store (``caption wd14 --download``). The app's tag categories (tui.services.dataset_store) and the
tags commands that use categories (`remove-category`, `sort --by category`, `apply` of a recipe with
such ops, `freq --categories`: ``csv_for_dataset``, when no --tags-csv is given) share it. Stdlib only
(click only inside ``csv_for_dataset``, for its stderr line): no textual, no ML import."""

from __future__ import annotations

from pathlib import Path

from loratui.core.errors import LoratuiError

TAGS_FILE = "selected_tags.csv"
TAGGER_FOLDERS = ("wd14_tagger_model", "models")


def _store_wd14() -> Path:
    from loratui.captioners.store import store_root  # stdlib only: no ML import

    return store_root() / "wd14"


def find_tagger_csv(project_dir: Path | None, train_dir: Path) -> Path | None:
    """The ``selected_tags.csv`` a dataset uses (see the module's docstring), or None."""
    for folder in (project_dir, train_dir):
        if folder is not None and (folder / TAGS_FILE).is_file():
            return folder / TAGS_FILE
    found = [p for top in TAGGER_FOLDERS if project_dir is not None
             for pattern in (TAGS_FILE, f"*/{TAGS_FILE}", f"*/*/{TAGS_FILE}")
             for p in (project_dir / top).glob(pattern) if p.is_file()]
    if not found:
        found = [p for p in _store_wd14().glob(f"*/{TAGS_FILE}") if p.is_file()]
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def tagger_csv_places(project_dir: Path | None, train_dir: Path) -> str:
    """Where ``find_tagger_csv`` looks, in words, for the error when it finds none."""
    own = [str(folder) for folder in dict.fromkeys((project_dir, train_dir)) if folder is not None]
    places = own + [str(project_dir / top) for top in TAGGER_FOLDERS if project_dir is not None]
    return f"{', '.join(places)} and the model store ({_store_wd14()})"


def csv_for_dataset(location, needed_for: str | None) -> Path | None:
    """The ``selected_tags.csv`` a located dataset (core.dataset.locate_dataset's: its project_dir and
    train_dir) uses, named on stderr once (the caller asks once per command). None found: with
    ``needed_for`` (what needs it, e.g. "remove general tags: categories other than rating") a one-line
    error naming where it looked; without, None (the caller says what it does instead: ``none_found``)."""
    import click

    found = find_tagger_csv(location.project_dir, location.train_dir)
    if found is not None:
        click.echo(f"note: tag categories from {found} (--tags-csv PATH to use another)", err=True)
        return found
    if needed_for is not None:
        raise LoratuiError(f"{needed_for} need --tags-csv PATH (the tagger's selected_tags.csv): "
                           f"{none_found(location)}")
    return None


def none_found(location) -> str:
    """"none found in <places>", for the error or note when ``csv_for_dataset`` finds nothing."""
    return f"none found in {tagger_csv_places(location.project_dir, location.train_dir)}"
