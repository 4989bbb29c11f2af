"""The model store: where ``--download REPO_ID`` puts tagger files (XDG cache dir).

Layout: ``$XDG_CACHE_HOME/loratui/models/wd14/<owner>__<name>/{model.onnx,selected_tags.csv}``
(``~/.cache`` when XDG_CACHE_HOME is unset or empty: core/userdirs.py; LORATUI_MODEL_STORE overrides the
whole root).
"""

from __future__ import annotations

import os
from pathlib import Path

from loratui.core.errors import LoratuiError
from loratui.core.userdirs import user_cache_dir

WD14_FILES = ("model.onnx", "selected_tags.csv")


def store_root() -> Path:
    override = os.environ.get("LORATUI_MODEL_STORE")
    if override:
        return Path(override).expanduser()
    return user_cache_dir() / "models"


def store_path(repo_id: str, kind: str = "wd14") -> Path:
    return store_root() / kind / repo_id.strip("/").replace("/", "__")


def download_wd14(repo_id: str, revision: str | None = None) -> Path:
    """Fetch model.onnx + selected_tags.csv (huggingface_hub shows its own progress bars).

    Offline or unreachable: one line naming which files to place where."""
    if repo_id.count("/") != 1:
        raise LoratuiError(f"--download {repo_id}: expected a Hugging Face repo id such as SmilingWolf/wd-swinv2-tagger-v3")
    target = store_path(repo_id)
    if all((target / f).is_file() for f in WD14_FILES):
        return target
    manual = (f"download {' and '.join(WD14_FILES)} from https://huggingface.co/{repo_id} and place them in {target} "
              f"(or pass --model FOLDER)")
    try:
        import huggingface_hub
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise LoratuiError(f"huggingface_hub is not installed: {manual}") from None
    errors = huggingface_hub.errors if hasattr(huggingface_hub, "errors") else huggingface_hub.utils
    _check_hub(repo_id, manual, errors)
    target.mkdir(parents=True, exist_ok=True)
    for name in WD14_FILES:
        if (target / name).is_file():
            continue
        try:
            # local_dir writes the final file only after the whole download (resumable .incomplete)
            hf_hub_download(repo_id, name, revision=revision, local_dir=str(target))
        except getattr(errors, "LocalEntryNotFoundError", ()) as exc:  # type: ignore[misc]
            # offline (HF_HUB_OFFLINE or no network): a subclass of EntryNotFoundError, so checked first
            raise LoratuiError(f"cannot download {repo_id} (offline: {type(exc).__name__}): {manual}") from None
        except getattr(errors, "RepositoryNotFoundError", ()) as exc:  # type: ignore[misc]
            raise LoratuiError(f"--download {repo_id}: no such repository on the Hugging Face hub ({type(exc).__name__})") from None
        except getattr(errors, "EntryNotFoundError", ()) as exc:  # type: ignore[misc]
            raise LoratuiError(f"--download {repo_id}: the repository has no {name} ({type(exc).__name__}); is it an ONNX WD14 tagger?") from None
        except Exception as exc:  # noqa: BLE001 - offline, DNS, proxy, HF_HUB_OFFLINE: all the same advice
            reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
            raise LoratuiError(f"cannot download {repo_id} ({reason}): {manual}") from None
    return target


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _check_hub(repo_id: str, manual: str, errors) -> None:
    """Fail fast when the files cannot come: HF_HUB_OFFLINE, no network, no such repository, or a
    repository without the tagger's files. One metadata request without retries (as `caption blip`
    makes): hf_hub_download alone retries an unreachable hub with backoff for about 25 s."""
    if _offline():
        raise LoratuiError(f"cannot download {repo_id} (HF_HUB_OFFLINE is set): {manual}")
    from huggingface_hub import HfApi

    try:
        info = HfApi().model_info(repo_id)
    except getattr(errors, "RepositoryNotFoundError", ()) as exc:  # type: ignore[misc]
        raise LoratuiError(f"--download {repo_id}: no such repository on the Hugging Face hub ({type(exc).__name__})") from None
    except getattr(errors, "GatedRepoError", ()) as exc:  # type: ignore[misc]
        raise LoratuiError(f"--download {repo_id}: the repository is gated ({type(exc).__name__}): accept its terms on "
                           f"huggingface.co and log in (`hf auth login`), or {manual}") from None
    except Exception as exc:  # noqa: BLE001 - no network, DNS, proxy: all the same advice
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise LoratuiError(f"cannot download {repo_id} (offline or the hub cannot be reached: {reason}): "
                           f"{manual}") from None
    names = {sibling.rfilename for sibling in (info.siblings or [])}
    missing = [name for name in WD14_FILES if names and name not in names]
    if missing:
        raise LoratuiError(f"--download {repo_id}: the repository has no {missing[0]}; is it an ONNX WD14 tagger?")
