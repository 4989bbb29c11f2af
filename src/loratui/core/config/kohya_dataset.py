"""The sd-scripts dataset_config TOML a kohya_ss GUI config may point at, read into loratui's dataset fields.

sd-scripts looks each option up subset -> dataset -> [general] -> its command line (here: the kohya_ss
JSON's own keys) -> its default (library/config_util.py, BlueprintGenerator). loratui has one value
per option for the whole dataset and reads repeats and class tokens from ``N_name`` folder names of
one train_data_dir (and one reg_data_dir), so a TOML carries over only when:
- every training subset's image_dir is a folder ``<num_repeats>_<class_tokens>`` and all of them sit
  in one folder (likewise the reg subsets, in another folder), and that folder holds no other
  ``N_name`` folder with images (loratui would train it too);
- every option has one value across all subsets (subset options) and all datasets (dataset options).
Anything else is refused in one line naming the file, the subset or key, and what to change.
Options loratui has no field for (color_aug, caption_prefix, ...) are listed as warnings.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath
from typing import Any, Callable

from loratui.core.config.fields import FIELDS, KEY_SECTIONS, coerce_value
from loratui.core.tomlfile import toml_syntax_problem
from loratui.core.dataset import is_image, parse_subset_name
from loratui.core.config.kohya_paths import is_windows_path
from loratui.core.config.kohya_values import whole_number
from loratui.core.errors import LoratuiError
from loratui.core.termline import shell_arg

# options that live on subsets (and may be given on [[datasets]] and [general] as defaults)
SUBSET_KEYS = ("shuffle_caption", "keep_tokens", "caption_extension", "caption_separator", "flip_aug",
               "random_crop", "caption_dropout_rate", "caption_dropout_every_n_epochs", "caption_tag_dropout_rate")
# options that live on datasets (and [general])
DATASET_KEYS = ("resolution", "batch_size", "enable_bucket", "min_bucket_reso", "max_bucket_reso",
                "bucket_reso_steps", "bucket_no_upscale")
LORATUI_KEY = {"batch_size": "train_batch_size"}
UNSUPPORTED = {"color_aug", "face_crop_aug_range", "keep_tokens_separator", "secondary_separator",
               "enable_wildcard", "caption_prefix", "caption_suffix", "token_warmup_min", "token_warmup_step",
               "cache_info", "network_multiplier", "alpha_mask", "custom_attributes", "resize_interpolation",
               "validation_seed", "validation_split"}
STRUCTURE = {"image_dir", "num_repeats", "class_tokens", "is_reg"}
REFUSED = {"metadata_file": "a fine-tuning subset (metadata_file): loratui trains from N_name image folders with "
                            "caption files",
           "conditioning_data_dir": "a ControlNet subset (conditioning_data_dir): loratui trains LoRA only"}


@dataclass
class DatasetImport:
    values: dict[str, Any] = field(default_factory=dict)  # loratui key -> value
    entries: list[tuple[str, str, str]] = field(default_factory=list)  # (TOML key, section.key, note)
    warnings: list[str] = field(default_factory=list)


def _whole(path: Path, where: str, key: str, value: Any, out: DatasetImport) -> Any:
    """An integer option read as the JSON's are (kohya_values.whole_number): 10.0 and "10" are 10; 10.5 is 10, with
    a warning."""
    count, fraction = whole_number(value)
    if fraction is not None:
        out.warnings.append(f"{path.name}: {key} {fraction:g} (in {where}) is not a whole number: {count} used (its "
                            "whole part)")
    return count


def _coerce(path: Path, where: str, key: str, value: Any, out: DatasetImport) -> Any:
    name = LORATUI_KEY.get(key, key)
    spec = FIELDS[(KEY_SECTIONS[name], name)]
    if spec.kind == "int":
        value = _whole(path, where, key, value, out)
    try:
        return coerce_value(spec, value)
    except ValueError as exc:
        raise LoratuiError(f"{path}: {where}: {key}: {exc}") from None


def _table(path: Path, value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise LoratuiError(f"{path}: {where} must be a table of settings")
    return value


def read_dataset_config(path: Path, fallback: Callable[[str], Any]) -> DatasetImport:
    """Read ``path``; ``fallback(key)`` is the value sd-scripts would take from its command line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, "strerror", None) or str(exc)
        raise LoratuiError(f"{path}: cannot read the dataset_config TOML the kohya_ss config names ({why}): "
                           "copy it next to the JSON or fix dataset_config") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LoratuiError(toml_syntax_problem(str(path), text, exc)) from None
    except RecursionError:
        raise LoratuiError(f"{path}: nested too deeply to be a dataset_config TOML") from None
    out = DatasetImport()
    general = _table(path, doc.get("general", {}), "[general]")
    datasets = doc.get("datasets", [])
    if not isinstance(datasets, list) or not all(isinstance(d, dict) for d in datasets):
        raise LoratuiError(f"{path}: datasets must be [[datasets]] tables")
    subsets: list[tuple[str, dict, dict]] = []  # (where, subset, its dataset)
    for i, dataset in enumerate(datasets, 1):
        entries = dataset.get("subsets", [])
        if not isinstance(entries, list) or not all(isinstance(s, dict) for s in entries):
            raise LoratuiError(f"{path}: [[datasets]] {i}: subsets must be [[datasets.subsets]] tables")
        subsets += [(f"[[datasets]] {i}, subset {j}", s, dataset) for j, s in enumerate(entries, 1)]
    if not subsets:
        raise LoratuiError(f"{path}: has no [[datasets.subsets]]: nothing to train (loratui needs the image folders)")

    _unsupported(path, general, datasets, subsets, out)
    _folders(path, general, subsets, out)
    for key in SUBSET_KEYS:
        _one_value(path, key, [(where, [s, d, general]) for where, s, d in subsets], "subsets", fallback, out)
    for key in DATASET_KEYS:
        _one_value(path, key, [(f"[[datasets]] {i}", [d, general]) for i, d in enumerate(datasets, 1)],
                   "datasets", fallback, out)
    return out


def _unsupported(path: Path, general: dict, datasets: list[dict], subsets, out: DatasetImport) -> None:
    known = set(SUBSET_KEYS) | set(DATASET_KEYS) | UNSUPPORTED | STRUCTURE | set(REFUSED)
    tables = [("[general]", general)] + [(f"[[datasets]] {i}", d) for i, d in enumerate(datasets, 1)] + \
             [(where, s) for where, s, _ in subsets]
    seen: set[str] = set()
    for where, table in tables:
        for key, value in table.items():
            if key in REFUSED:
                raise LoratuiError(f"{path}: {where} is {REFUSED[key]}")
            if key == "subsets" or key in seen:
                continue
            if key in UNSUPPORTED and value not in (False, None, "", 0):
                out.warnings.append(f"{path.name}: {key} (in {where}) is not supported by loratui: ignored")
                seen.add(key)
            elif key not in known:
                out.warnings.append(f"{path.name}: {key} (in {where}) is not an sd-scripts dataset option: ignored")
                seen.add(key)


def _folders(path: Path, general: dict, subsets, out: DatasetImport) -> None:
    """train_data_dir / reg_data_dir from the subsets' image_dir, or a refusal."""
    parents: dict[bool, dict[str, str]] = {False: {}, True: {}}  # is_reg -> {parent: first image_dir}
    listed: set[str] = set()
    for where, subset, dataset in subsets:
        image_dir = subset.get("image_dir")
        if not isinstance(image_dir, str) or not image_dir.strip():
            raise LoratuiError(f"{path}: {where} has no image_dir: loratui needs the folder of its images")
        is_reg = subset.get("is_reg", False) is True
        repeats = _whole(path, where, "num_repeats", next((t["num_repeats"] for t in (subset, dataset, general)
                                                          if "num_repeats" in t), 1), out)
        tokens = next((t["class_tokens"] for t in (subset, dataset, general) if "class_tokens" in t), None)
        # a Windows image_dir (kohya_ss ran there) splits into its folders too; the import then flags the path
        folder = PureWindowsPath(image_dir) if is_windows_path(image_dir) else Path(image_dir)
        if str(folder) in listed:
            raise LoratuiError(f"{path}: {where}: {shell_arg(image_dir)} is listed twice: loratui trains each folder once; "
                               "raise its num_repeats instead")
        listed.add(str(folder))
        parsed = parse_subset_name(folder.name)
        wanted_tokens = tokens if tokens is not None else (parsed[1] if parsed else folder.name)
        if not isinstance(repeats, int) or isinstance(repeats, bool) or repeats < 1 or parsed is None or \
                parsed[0] != repeats or (tokens is not None and parsed[1] != tokens):
            raise LoratuiError(
                f"{path}: {where} ({shell_arg(image_dir)}, num_repeats {repeats!r}"
                + (f", class_tokens {tokens!r}" if tokens is not None else "") + "): loratui reads repeats and "
                f"class tokens from folder names, so these images must be in a folder named "
                f"{repeats}_{wanted_tokens}: rename the folder, then import again")
        if tokens is None and parsed[1]:
            out.warnings.append(f"{path.name}: {where} ({folder.name}) sets no class_tokens: for images without a "
                                f"caption file loratui uses {parsed[1]!r} from the folder name, sd-scripts an "
                                "empty caption")
        parents[is_reg].setdefault(str(folder.parent), image_dir)
    for is_reg, found in parents.items():
        kind = "reg" if is_reg else "training"
        if len(found) > 1:
            shown = ", ".join(shell_arg(p) for p in list(found)[:3])
            raise LoratuiError(f"{path}: the {kind} subsets are in different folders ({shown}): loratui trains the "
                               f"N_name folders of one {'reg' if is_reg else 'train'}_data_dir: move them under "
                               "one folder")
    train = next(iter(parents[False]), None)
    reg = next(iter(parents[True]), None)
    if train is None:
        raise LoratuiError(f"{path}: every subset is is_reg = true: there are no training images")
    if reg is not None and reg == train:
        raise LoratuiError(f"{path}: the reg subsets are in the same folder as the training subsets ({shell_arg(train)}): "
                           "loratui would train them as training images: move them to a folder of their own")
    for parent in (train, reg):
        if parent is None or not Path(parent).is_dir():
            continue
        for entry in sorted(Path(parent).iterdir(), key=lambda p: p.name):
            if entry.name.startswith(".") or not entry.is_dir() or str(entry) in listed:
                continue
            parsed = parse_subset_name(entry.name)
            if parsed is None or parsed[0] < 1:
                continue
            if any(p.is_file() and is_image(p.name) for p in entry.iterdir()):
                raise LoratuiError(f"{path}: {parent} also holds {entry.name}, which {path.name} does not list: "
                                   "loratui trains every N_name folder there: move it out, or add it as a subset")
    out.values["train_data_dir"] = train
    out.values["reg_data_dir"] = reg or ""
    out.entries.append(("image_dir", "dataset.train_data_dir", "the one folder holding the training subsets"))
    out.entries.append(("image_dir", "dataset.reg_data_dir",
                        "the one folder holding the reg subsets" if reg else "no reg subsets: none"))


def _one_value(path: Path, key: str, owners: list[tuple[str, list[dict]]], what: str,
               fallback: Callable[[str], Any], out: DatasetImport) -> None:
    """The value of ``key`` each owner (a subset or dataset) gets by sd-scripts' lookup; one value or refuse."""
    levels = ("subset", "[[datasets]]", "[general]") if what == "subsets" else ("[[datasets]]", "[general]")
    found: list[tuple[str, Any, str]] = []  # (owner, value, where it was set)
    any_set = False
    for owner, tables in owners:
        for level, table in zip(levels, tables):
            if table.get(key) is not None:
                found.append((owner, _coerce(path, owner, key, table[key], out), level))
                any_set = True
                break
        else:
            found.append((owner, fallback(key), "the kohya_ss JSON"))
    if not any_set:
        return  # the JSON's own value applies, as in sd-scripts
    values = {repr(v) for _, v, _ in found}
    if len(values) > 1:
        shown = ", ".join(f"{v!r} in {owner}" for owner, v, _ in found[:3])
        raise LoratuiError(f"{path}: {key} differs between {what} ({shown}): loratui uses one {key} for the whole "
                           f"dataset: make them equal in {path.name}, then import again")
    _, value, level = next((f for f in found if f[2] != "the kohya_ss JSON"), found[0])
    name = LORATUI_KEY.get(key, key)
    out.values[name] = value
    out.entries.append((key, f"{KEY_SECTIONS[name]}.{name}", f"set in {level}"))
