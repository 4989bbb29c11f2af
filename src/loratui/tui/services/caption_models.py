"""The Caption screen's model check, worded for the app.

The captioners word their errors for the CLI (``--model FOLDER``, ``--download REPO_ID``);
``app_wording`` names the Caption screen's fields instead, for the model check
(``check_model_for_app``), the error a run ends with and the reason an image failed. A repo id in
Download is refused before a run while the hub is offline, unless it is on disk already.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from loratui.core.errors import LoratuiError

# CLI words -> the Caption screen's fields, in order (the longer phrases first)
SWITCH = "{switch}"  # "ctrl+b switches": the key keymap.toml binds, filled in on the UI thread (switch_words)
SWITCH_TITLE = "caption: switch WD14 / BLIP"  # the palette command that does it where the keymap left no key


def switch_words() -> str:
    """"ctrl+b switches" with the key keymap.toml gives caption.switch_captioner (the palette command where
    it has none), read from the running app: on the UI thread only (a worker thread has no active app and
    gets the default key; errors raised there fill it in when the UI thread shows them: KeyWordedError)."""
    try:
        from textual._context import active_app

        app = active_app.get()
        from loratui.tui.screens.caption import CaptionScreen

        return app.key_does(CaptionScreen, "caption.switch_captioner", "switches", SWITCH_TITLE)
    except (LookupError, AttributeError, ImportError):
        return "ctrl+b switches"


class KeyWordedError(LoratuiError):
    """A LoratuiError whose text names a key (SWITCH) that the UI thread fills in when it shows it."""

    def __str__(self) -> str:
        return super().__str__().replace(SWITCH, switch_words())


_APP_WORDS = [
    ("pass --model FOLDER (with model.onnx + selected_tags.csv) or --download REPO_ID",
     "type a folder with model.onnx + selected_tags.csv in the Model folder field, or a repo id in Download"),
    ("pass a folder with model.onnx and selected_tags.csv, or --download REPO_ID",
     "type a folder with model.onnx and selected_tags.csv in the Model folder field, or a repo id in "
     "Download"),
    ("(or pass --model FOLDER)", "(or type that folder in the Model folder field)"),
    ("pass one of them with --model", "type one of them in the Model folder field"),
    ("and pass --model DIR, or pass another local folder", "and type DIR in the Model folder field"),
    ("(pass a local Hugging Face folder or a hub id such as ",
     "(type a local Hugging Face folder, or a hub id such as "),
    ("; a folder with model.onnx is a WD14 tagger: use `loratui caption wd14`",
     "; a folder with model.onnx is a WD14 tagger: " + SWITCH + " to WD14"),
    # an image's failure (core.captions.check_rewritable): the form's switch, not the flag
    ("or pass --force to rewrite it anyway", "or turn on Rewrite read-only (Writing) to rewrite it anyway"),
    # a run stopped part-way (commands/caption_cmd.py): the Caption screen offers its own resume
    (" (with --resume, to caption only the rest)", ""),
]
_DOWNLOAD_FLAG = re.compile(r"(^|: )--download (\S+):")
_TRUE = {"1", "ON", "YES", "TRUE"}  # huggingface_hub's spelling of a true environment variable


def app_wording(message: str, *, keys_later: bool = False) -> str:
    """A captioner's error, CLI-worded, with the Caption screen's field names instead of the flags and the
    keys keymap.toml binds (``keys_later``: left as SWITCH, for a KeyWordedError raised in a worker)."""
    for cli, app in _APP_WORDS:
        message = message.replace(cli, app)
    message = _DOWNLOAD_FLAG.sub(lambda m: f"{m.group(1)}Download {m.group(2)}:", message)
    return message if keys_later or SWITCH not in message else message.replace(SWITCH, switch_words())


def hub_offline() -> str | None:
    """The variable that keeps the Hugging Face hub offline ("HF_HUB_OFFLINE"), or None when online."""
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(name, "").strip().upper() in _TRUE:
            return name
    try:  # set in this process some other way (huggingface_hub reads it once, at import)
        from huggingface_hub import constants
    except ImportError:
        return None
    return "HF_HUB_OFFLINE" if getattr(constants, "HF_HUB_OFFLINE", False) else None


def short_path(path: Path) -> str:
    """``~/...`` for a path under the home folder (a model store path fits a form row then)."""
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except ValueError:
        return str(path)


def store_hint(kind: str) -> str:
    """Where to put a model of ``kind`` in the model store, short enough for the model check line:
    through the variable that moved the store when one did, else ``~/.cache/loratui/models/KIND/NAME/``."""
    from loratui.captioners.store import store_root

    if os.environ.get("LORATUI_MODEL_STORE"):
        return f"$LORATUI_MODEL_STORE/{kind}/NAME/"
    if os.environ.get("XDG_CACHE_HOME", "").strip():  # a blank one counts as unset (core.userdirs)
        return f"$XDG_CACHE_HOME/loratui/models/{kind}/NAME/"
    return f"{short_path(store_root() / kind)}/NAME/"


def downloaded_copy(captioner: str, repo_id: str) -> Path | None:
    """Where a repo id given to Download is on disk already (the model store for WD14, the Hugging
    Face cache for BLIP), complete; None when a run would have to download it."""
    from loratui.captioners.model_search import blip_problem, hf_hub_cache, wd14_problem

    if captioner == "wd14":
        from loratui.captioners.store import store_path

        target = store_path(repo_id)
        return target if wd14_problem(target) is None else None
    repo = hf_hub_cache() / ("models--" + repo_id.replace("/", "--"))
    try:  # offline, snapshot_download takes the revision refs/main names
        snapshot = repo / "snapshots" / (repo / "refs" / "main").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return snapshot if snapshot.is_dir() and blip_problem(snapshot) is None else None


def check_model_for_app(captioner: str, folder: str, download: str = "") -> str:
    """The captioners' model check (model_search.check_model), worded for the Caption screen: its
    fields and keys, a model of the other captioner, and a download that cannot happen offline.
    Returns the line to show; raises LoratuiError with the problem. Runs in a worker thread."""
    from loratui.captioners.model_search import blip_kind, check_model, wd14_problem

    folder, download = folder.strip(), download.strip()
    if not folder and not download:
        if captioner == "wd14":
            put = f"model.onnx + selected_tags.csv in {store_hint('wd14')}"
        else:
            put = f"a BLIP / BLIP-2 / GIT model folder in {store_hint('blip')}"
        raise LoratuiError(f"no model chosen: choose a found one, type a folder, or put {put}")
    if folder and not download:
        path = Path(folder).expanduser()
        if captioner == "blip" and path.is_dir() and not (path / "config.json").is_file() \
                and (path / "model.onnx").is_file():
            raise KeyWordedError(f"this is a WD14 tagger, not a BLIP / BLIP-2 / GIT model: {SWITCH} to WD14")
        if captioner == "wd14" and path.is_dir() and blip_kind(path) is not None and wd14_problem(path):
            raise KeyWordedError(f"this is a BLIP / BLIP-2 / GIT model, not a WD14 tagger: {SWITCH} to BLIP")
    try:
        line = check_model(captioner, folder, download)
    except LoratuiError as exc:
        raise KeyWordedError(app_wording(str(exc), keys_later=True)) from None
    if download:
        copy = downloaded_copy(captioner, download)
        if copy is not None:
            return f"{download} is downloaded already: uses {short_path(copy)}"
        offline = hub_offline()
        if offline:
            raise LoratuiError(f"offline ({offline} is set): cannot download it; clear Download to use a "
                               f"model on disk, or restart loratui without {offline}")
    return line
