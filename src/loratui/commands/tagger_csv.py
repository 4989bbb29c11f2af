"""Which tagger vocabulary (a WD14 ``selected_tags.csv``: each tag's category) a dataset uses, found as
the README's step 3 says: the project's (or the train folder's) own csv, else the newest in the project's
tagger folders (kohya's ``wd14_tagger_model/<repo>/`` and ``models/``, where the Caption screen finds
taggers too; the demo's toy tagger is there), else the most recently used WD14 model of loratui's model
store (``caption wd14 --download``). The app's tag categories (tui.services.dataset_store) and
`loratui tags remove-category` share it. Stdlib only: no textual, no ML import."""

from __future__ import annotations

from pathlib import Path

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
