"""Caption models already on this machine, found without loading them (stdlib only: no onnxruntime,
torch or numpy, so the TUI can list them).

Where it looks, in this order:
- loratui's model store (``caption wd14 --download`` puts taggers there; also the place to put models
  by hand): ``$LORATUI_MODEL_STORE``, else ``$XDG_CACHE_HOME/loratui/models`` (see store.py);
- the project folder's ``models/`` and ``wd14_tagger_model/`` (kohya's layouts);
- the Hugging Face hub cache (``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else
  ``~/.cache/huggingface/hub``): ``models--OWNER--NAME/snapshots/<revision>/``, the revision named
  by ``refs/main`` when present, else the newest snapshot.

A WD14 tagger is a folder with ``model.onnx`` (which must look like ONNX: onnx_check) +
``selected_tags.csv``; a BLIP / BLIP-2 / GIT model a folder whose ``config.json`` says ``model_type``
blip, blip-2 or git, whose weight files must look whole (weight_check). Half-complete and broken
folders are listed too, with the line that says what is missing or wrong and what to do.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from loratui.captioners.blip_load import KINDS, TOKENIZER_FILES, WEIGHT_FILES
from loratui.captioners.onnx_check import onnx_problem
from loratui.captioners.store import WD14_FILES, store_root
from loratui.captioners.weight_check import weights_problem

MODEL_FILE, TAGS_FILE = WD14_FILES
_MAX_DEPTH = 4
_BLIP_TYPES = {model_type: kind for kind, (types, _) in KINDS.items() for model_type in types}
_KIND_LABELS = {"blip": "BLIP", "blip2": "BLIP-2", "git": "GIT"}


@dataclass(frozen=True)
class FoundModel:
    captioner: str            # "wd14" or "blip" (the `loratui caption` subcommand)
    name: str                 # "SmilingWolf/wd-swinv2-tagger-v3", or the folder's name
    path: Path
    source: str               # "model store", "project", "Hugging Face cache"
    detail: str = ""          # "BLIP-2" for a sentence model
    problem: str | None = None  # None when complete; else what is missing and where it goes
    broken: bool = False      # the files are there but one is damaged (problem says which)

    @property
    def label(self) -> str:
        kind = f"{self.detail}, " if self.detail else ""
        state = f"  [{'broken' if self.broken else 'incomplete'}: {self.problem}]" if self.problem else ""
        return f"{self.name} ({kind}{self.source}){state}"


# The demo project's tagger (captioners.tiny_models.make_demo_tagger) carries this file: the app says
# it is a toy and never remembers it as the user's tagger.
DEMO_MARKER = "LORATUI_DEMO_TAGGER.txt"
DEMO_NOTE = "demo tagger: toy weights, tags guessed from the average colour"
DEMO_TAGGER_DIR = Path("wd14_tagger_model") / "demo-tagger"  # in the demo project


def is_demo_tagger(folder: Path) -> bool:
    return (Path(folder) / DEMO_MARKER).is_file()


def project_demo_tagger(project_dir: Path | None) -> Path | None:
    """The demo project's own tagger folder, when ``project_dir`` is a demo project that has one."""
    if project_dir is None:
        return None
    folder = Path(project_dir) / DEMO_TAGGER_DIR
    return folder if is_demo_tagger(folder) and wd14_problem(folder) is None else None


def hf_hub_cache() -> Path:
    """huggingface_hub's cache folder, computed the way huggingface_hub does (without importing it)."""
    for variable in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(variable):
            return Path(os.environ[variable]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "huggingface" / "hub"


def wd14_problem(folder: Path) -> str | None:
    """None when ``folder`` holds both tagger files and model.onnx looks like ONNX, else one line
    saying what to put where (or which file is broken)."""
    has_model, has_tags = (folder / MODEL_FILE).is_file(), (folder / TAGS_FILE).is_file()
    if has_model and has_tags:
        return onnx_problem(folder / MODEL_FILE)
    if has_model:
        return f"{folder}: has {MODEL_FILE} but no {TAGS_FILE}; put the model's {TAGS_FILE} beside it"
    if has_tags:
        return f"{folder}: has {TAGS_FILE} but no {MODEL_FILE}; put the tagger's {MODEL_FILE} beside it"
    return f"{folder}: no {MODEL_FILE} + {TAGS_FILE}; put both files of the tagger in this folder"


def blip_kind(folder: Path) -> str | None:
    """"blip", "blip2" or "git" from config.json's model_type; None for any other folder."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return _BLIP_TYPES.get(str(config.get("model_type", ""))) if isinstance(config, dict) else None


def blip_problem(folder: Path) -> str | None:
    """A quick completeness check: the weights (shards there, each file whole by its header: a few
    bytes read) and a tokenizer (the full check runs when the model loads)."""
    state = _blip_state(folder)
    return None if state is None else state[0]


def _blip_state(folder: Path) -> tuple[str, bool] | None:
    """(blip_problem's line, whether a file is there but damaged), or None when complete."""
    if not any((folder / name).is_file() for name in WEIGHT_FILES):
        return f"{folder}: no weights ({' or '.join(WEIGHT_FILES[::2])}); the download is incomplete", False
    damaged = weights_problem(folder)
    if damaged is not None:
        return damaged
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        return f"{folder}: no tokenizer files; copy them from the model's hub repo", False
    return None


def _snapshot(repo: Path) -> Path | None:
    """The snapshot folder of an HF cache repo: the one refs/main names, else the newest."""
    try:
        revision = (repo / "refs" / "main").read_text(encoding="utf-8").strip()
    except OSError:
        revision = ""
    if revision and (repo / "snapshots" / revision).is_dir():
        return repo / "snapshots" / revision
    try:
        snapshots = [p for p in (repo / "snapshots").iterdir() if p.is_dir()]
    except OSError:
        return None
    return max(snapshots, key=lambda p: p.stat().st_mtime) if snapshots else None


def _folders(root: Path, depth: int = _MAX_DEPTH):
    """``root`` and the folders below it, breadth first, hidden ones skipped; unreadable ones too."""
    level = [root]
    for _ in range(depth + 1):
        following = []
        for folder in level:
            yield folder
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError:
                continue
            following.extend(Path(e.path) for e in entries if e.is_dir() and not e.name.startswith("."))
        level = following


def _classify(folder: Path, captioner: str, name: str, source: str) -> FoundModel | None:
    if captioner == "wd14":
        if not ((folder / MODEL_FILE).is_file() or (folder / TAGS_FILE).is_file()):
            return None
        problem = wd14_problem(folder)
        broken = problem is not None and (folder / MODEL_FILE).is_file() and (folder / TAGS_FILE).is_file()
        return FoundModel("wd14", name, folder, source, problem=problem, broken=broken)
    kind = blip_kind(folder)
    if kind is None:
        return None
    problem, broken = _blip_state(folder) or (None, False)
    return FoundModel("blip", name, folder, source, _KIND_LABELS[kind], problem, broken)


def _store_name(folder: Path, root: Path) -> str:
    rel = folder.relative_to(root)
    if len(rel.parts) >= 2 and rel.parts[0] in ("wd14", "blip"):
        rel = Path(*rel.parts[1:])
    return str(rel).replace("__", "/", 1) if len(rel.parts) == 1 else str(rel)


def find_models(captioner: str, project_dir: Path | None = None) -> list[FoundModel]:
    """Every model for ``captioner`` ("wd14" or "blip") found on this machine, complete ones first."""
    found: list[FoundModel] = []
    seen: set[Path] = set()

    def add(model: FoundModel | None) -> None:
        if model is not None and model.path.resolve() not in seen:
            seen.add(model.path.resolve())
            found.append(model)

    root = store_root()
    if root.is_dir():
        for folder in _folders(root):
            if folder != root:
                add(_classify(folder, captioner, _store_name(folder, root), "model store"))
    if project_dir is not None:
        for top in (project_dir / "models", project_dir / "wd14_tagger_model"):
            if top.is_dir():
                for folder in _folders(top):
                    add(_classify(folder, captioner, str(folder.relative_to(project_dir)), "project"))
    hub = hf_hub_cache()
    try:
        repos = sorted(p for p in hub.iterdir() if p.name.startswith("models--"))
    except OSError:
        repos = []
    for repo in repos:
        snapshot = _snapshot(repo)
        if snapshot is not None:
            name = repo.name[len("models--"):].replace("--", "/", 1)
            add(_classify(snapshot, captioner, name, "Hugging Face cache"))
    return sorted(found, key=lambda m: (m.problem is not None, m.source != "project", m.name.lower()))


def check_model(captioner: str, folder: str, download: str = "") -> str:
    """What a caption run will use, as one line; LoratuiError (one line: what to put where) when the
    model cannot work. The same checks the captioners make when they load, without loading."""
    from loratui.core.errors import LoratuiError

    download, folder = download.strip(), folder.strip()
    if download:
        if download.count("/") != 1 or download.startswith(("/", ".", "~")):
            raise LoratuiError(f"download {download}: expected a Hugging Face repo id such as "
                               f"{'SmilingWolf/wd-swinv2-tagger-v3' if captioner == 'wd14' else 'Salesforce/blip-image-captioning-large'}")
        where = "loratui's model store" if captioner == "wd14" else "the Hugging Face cache"
        return f"will download {download} into {where} when it is not there yet (needs the network)"
    if not folder:
        wanted = f"{MODEL_FILE} + {TAGS_FILE}" if captioner == "wd14" else "a BLIP, BLIP-2 or GIT model"
        raise LoratuiError(f"no model chosen: pick a found model, type the folder holding {wanted}, "
                           "or a repo id to download")
    if captioner == "wd14":
        from loratui.captioners.wd14 import TAGS_FILE as tags_name
        from loratui.captioners.wd14 import find_model_dir, read_tag_csv

        model_dir = find_model_dir(folder)
        broken = onnx_problem(model_dir / MODEL_FILE)
        if broken:
            raise LoratuiError(broken)
        tags = read_tag_csv(model_dir / tags_name)
        demo = f"; {DEMO_NOTE}" if is_demo_tagger(model_dir) else ""
        return f"{model_dir}: {MODEL_FILE} + {TAGS_FILE} ({len(tags):,} tags){demo}"
    from loratui.captioners.blip_load import check_folder, detect_kind

    path = Path(folder).expanduser()
    if not path.is_dir():
        raise LoratuiError(f"model folder {folder} does not exist: type a local Hugging Face model folder, or put "
                           "the repo id in the download field")
    kind = detect_kind(path)
    check_folder(path, kind)
    return f"{path}: {_KIND_LABELS[kind]} model"
