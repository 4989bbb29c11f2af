"""The sd-scripts dataset_config TOML a kohya_ss GUI config may point at, read into loratui's dataset fields.

sd-scripts looks each option up subset -> dataset -> [general] -> its command line (here: the kohya_ss
JSON's own keys) -> its default (library/config_util.py, BlueprintGenerator). loratui has one value
per option for the whole dataset and reads repeats and class tokens from ``N_name`` folder names of
one train_data_dir (and one reg_data_dir), so a TOML carries over only when:
- every training subset's image_dir is a folder ``<num_repeats>_<class_tokens>`` and all of them sit
  in one folder (likewise the reg subsets, in another folder), and that folder holds no other
  ``N_name`` folder with images (loratui would train it too);
- every option has one value across all subsets (subset options) and all datasets (dataset options), except
  that a reg subset whose images have no caption file (its caption is its class tokens, one tag) may differ in
  the options that change nothing there (caption_extension; shuffle_caption and caption_separator; keep_tokens
  and caption_tag_dropout_rate while the chance of dropping that tag is the same; the two separators it lacks);
- several [[datasets]] merge into one only when that provably trains the same: no reg subsets (sd-scripts pads
  and batches reg images per dataset) and the same batches per epoch (batch_size 1; one bucket, counted both
  ways; or whole batches per image size in all datasets but one), with a note saying so.
Anything else is refused in one line naming the file, the subset or key, and what to change.
sd-scripts uses reg subsets in the TOML's order, loratui its reg folders in name order: when that changes which
reg images are used (or padded), a warning names both.
Options loratui has no field for (color_aug, enable_wildcard, ...) are listed as warnings.
"""

from __future__ import annotations

import json
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath
from typing import Any, Callable

from loratui.core.config.fields import FIELDS, KEY_SECTIONS, coerce_value
from loratui.core.tomlfile import toml_syntax_problem
from loratui.core.dataset import ImageSizeError, is_image, iter_images, list_folder, parse_subset_name, read_image_size
from loratui.core.config.kohya_paths import is_windows_path
from loratui.core.config.kohya_values import shown, whole_number
from loratui.core.errors import LoratuiError
from loratui.core.termline import shell_arg

# options that live on subsets (and may be given on [[datasets]] and [general] as defaults)
SUBSET_KEYS = ("shuffle_caption", "keep_tokens", "caption_extension", "caption_separator", "flip_aug",
               "random_crop", "caption_dropout_rate", "caption_dropout_every_n_epochs", "caption_tag_dropout_rate",
               "keep_tokens_separator", "secondary_separator", "caption_prefix", "caption_suffix")
# options that live on datasets (and [general])
DATASET_KEYS = ("resolution", "batch_size", "enable_bucket", "min_bucket_reso", "max_bucket_reso",
                "bucket_reso_steps", "bucket_no_upscale")
LORATUI_KEY = {"batch_size": "train_batch_size"}
JSON_KEY = {"batch_size": "train_batch_size", "resolution": "max_resolution"}  # the GUI JSON's name of an option
TOML_LEVELS = {"subset", "[[datasets]]", "[general]"}  # where a TOML value was set (else: the JSON, or a default)
UNSUPPORTED = {"color_aug", "face_crop_aug_range", "enable_wildcard", "token_warmup_min", "token_warmup_step",
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


@dataclass
class _Subset:
    """One [[datasets.subsets]] table once its folder checks out."""

    where: str  # "[[datasets]] 1, subset 2"
    dataset: int  # 1-based index of its [[datasets]]
    number: int  # 1-based index within it
    tables: list[dict]  # sd-scripts' lookup order: the subset, its dataset, [general]
    is_reg: bool
    folder: Path | PureWindowsPath
    repeats: int
    class_tokens: str | None  # as the TOML sets it (sd-scripts' caption for an image without a caption file)
    folder_tokens: str  # from the folder name (loratui's caption for such an image)


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


def read_dataset_config(path: Path, fallback: Callable[[str], tuple[Any, str]]) -> DatasetImport:
    """Read ``path``; ``fallback(key)`` is (the value sd-scripts would take from its command line, where it comes
    from: the JSON's key or sd-scripts' default)."""
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
    subsets: list[tuple[str, dict, dict, int, int]] = []  # (where, subset, its dataset, dataset no, subset no)
    for i, dataset in enumerate(datasets, 1):
        entries = dataset.get("subsets", [])
        if not isinstance(entries, list) or not all(isinstance(s, dict) for s in entries):
            raise LoratuiError(f"{path}: [[datasets]] {i}: subsets must be [[datasets.subsets]] tables")
        subsets += [(f"[[datasets]] {i}, subset {j}", s, dataset, i, j) for j, s in enumerate(entries, 1)]
    if not subsets:
        raise LoratuiError(f"{path}: has no [[datasets.subsets]]: nothing to train (loratui needs the image folders)")

    _unsupported(path, general, datasets, [(w, s, d) for w, s, d, _, _ in subsets], out)
    checked = _folders(path, general, subsets, out)
    found = {key: [_lookup(path, key, s.where, s.tables, fallback, out) for s in checked] for key in SUBSET_KEYS}
    chosen = subset_values(path, checked, found, out)
    for key in DATASET_KEYS:
        owners = [((i, 0), _lookup(path, key, f"[[datasets]] {i}", [d, general], fallback, out))
                  for i, d in enumerate(datasets, 1) if d.get("subsets")]
        chosen[key] = _one_value(path, key, owners, "datasets", out)
    merge_note = merged_datasets_problem(path, checked, chosen)
    if merge_note:
        out.entries.append(("[[datasets]]", "dataset.train_data_dir", merge_note))
    order = reg_order_warning(path, checked)
    if order:
        out.warnings.append(order)
    return out


def _lookup(path: Path, key: str, where: str, tables: list[dict], fallback: Callable[[str], tuple[Any, str]],
            out: DatasetImport) -> tuple[Any, str]:
    """(value, where it was set) by sd-scripts' lookup: the first table that sets ``key``, else its command line."""
    levels = ("subset", "[[datasets]]", "[general]")[-len(tables):]
    for level, table in zip(levels, tables):
        if table.get(key) is not None:
            return _coerce(path, where, key, table[key], out), level
    return fallback(key)  # (value, "the kohya_ss JSON's KEY" or "sd-scripts' default ...")


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


def _folders(path: Path, general: dict, subsets, out: DatasetImport) -> list[_Subset]:
    """train_data_dir / reg_data_dir from the subsets' image_dir, or a refusal."""
    parents: dict[bool, dict[str, str]] = {False: {}, True: {}}  # is_reg -> {parent: first image_dir}
    listed: set[str] = set()
    checked: list[_Subset] = []
    for where, subset, dataset, dataset_no, number in subsets:
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
        checked.append(_Subset(where, dataset_no, number, [subset, dataset, general], is_reg, folder, repeats,
                               tokens if isinstance(tokens, str) else None, parsed[1]))
    for is_reg, found in parents.items():
        kind = "reg" if is_reg else "training"
        if len(found) > 1:
            named = ", ".join(shell_arg(p) for p in list(found)[:3])
            raise LoratuiError(f"{path}: the {kind} subsets are in different folders ({named}): loratui trains the "
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
    return checked


def _one_value(path: Path, key: str, owners: list[tuple[tuple[int, int], tuple[Any, str]]], what: str,
               out: DatasetImport, unaffected: str = "") -> Any:
    """The one value of ``key`` that ``owners`` ((dataset no, subset no or 0), (value, where set)) get by sd-scripts'
    lookup, recorded in ``out``; a refusal naming the values that differ and where each comes from."""
    values = {repr(v) for _, (v, _) in owners}
    if len(values) > 1:
        raise LoratuiError(differs_problem(path, key, owners, what))
    value, level = next((f for _, f in owners if f[1] in TOML_LEVELS), owners[0][1])
    if level not in TOML_LEVELS:
        return value  # the JSON's own value applies, as in sd-scripts
    name = LORATUI_KEY.get(key, key)
    out.values[name] = value
    out.entries.append((key, f"{KEY_SECTIONS[name]}.{name}", f"set in {level}" + unaffected))
    return value


def _and(items: list, limit: int = 4) -> str:
    items = [str(i) for i in items]
    if len(items) > limit:
        return ", ".join(items[:limit]) + f" and {len(items) - limit} more"
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _owner_names(owners: list[tuple[int, int]], what: str) -> str:
    if what == "datasets":
        return "[[datasets]] " + _and([d for d, _ in owners])
    by_dataset: dict[int, list[int]] = {}
    for dataset, number in owners:
        by_dataset.setdefault(dataset, []).append(number)
    return ", ".join(f"[[datasets]] {d}, subset{'s' if len(n) > 1 else ''} {_and(n)}" for d, n in by_dataset.items())


def differs_problem(path: Path, key: str, owners: list[tuple[tuple[int, int], tuple[Any, str]]], what: str) -> str:
    """One line: each value of ``key`` with the owners that get it (and when it comes from the JSON, not the TOML)."""
    groups: dict[str, list] = {}  # repr(value) -> [value, owners, where set]
    for owner, (value, level) in owners:
        group = groups.setdefault(repr(value), [value, [], set()])
        group[1].append(owner)
        group[2].add(level)
    listed = " vs ".join(f"{shown(value)} in {_owner_names(names, what)}" + (
        f" ({path.name} sets none there: {next(iter(levels))})" if not levels & TOML_LEVELS and len(levels) == 1 else
        "") for value, names, levels in groups.values())
    from_json = any(not levels <= TOML_LEVELS for _, _, levels in groups.values())
    json_key = JSON_KEY.get(key, key)
    return (f"{path}: {key} differs between {what}: {listed}: loratui uses one {key} for the whole dataset: make them "
            f"equal in {path.name}" + (f" (set {key} in its [general] for all, or change the JSON's {json_key})"
                                        if from_json else "") + ", then import again")


def subset_values(path: Path, subsets: list[_Subset], found: dict[str, list[tuple[Any, str]]],
                  out: DatasetImport) -> dict[str, Any]:
    """The one value of each subset option, recorded in ``out``, or a refusal. A reg subset whose images have no
    caption file (so its caption is its class tokens) is left out for the options that change nothing there."""
    extensions = {v for v, _ in found["caption_extension"] if isinstance(v, str) and v}
    bare = {i for i, s in enumerate(subsets) if s.is_reg and _no_caption_files(s.folder, extensions)}
    first = next(i for i in range(len(subsets)) if i not in bare)  # a training subset: always there
    ours = {key: found[key][first][0] for key in SUBSET_KEYS}  # what loratui uses, unless a refusal follows
    chosen: dict[str, Any] = {}
    for key in SUBSET_KEYS:
        unaffected = [i for i in bare if _changes_nothing(key, subsets[i], {k: found[k][i][0] for k in SUBSET_KEYS},
                                                          ours)]
        owners = [((s.dataset, s.number), found[key][i]) for i, s in enumerate(subsets) if i not in unaffected]
        differing = [(subsets[i].dataset, subsets[i].number) for i in unaffected
                     if repr(found[key][i][0]) != repr(ours[key])]
        note = (f"; {_owner_names(differing, 'subsets')} differ(s): reg images without caption files, where {key} "
                "changes nothing" if differing else "")
        chosen[key] = _one_value(path, key, owners, "subsets", out, note)
    return chosen


def _no_caption_files(folder: Path | PureWindowsPath, extensions: set[str]) -> bool:
    """No file in ``folder`` ends in any of the caption extensions in play (sd-scripts' and loratui's): each image's
    caption is then its class tokens. False when the folder cannot be listed."""
    if isinstance(folder, PureWindowsPath) or not extensions:
        return False
    try:
        entries = list_folder(folder)
    except LoratuiError:
        return False
    ends = tuple(e.lower() for e in extensions)
    return not any(not is_image(e.name) and e.name.lower().endswith(ends) for e in entries)


def _changes_nothing(key: str, subset: _Subset, own: dict[str, Any], ours: dict[str, Any]) -> bool:
    """Whether ``key`` at the subset's own values instead of loratui's changes nothing for a reg subset without caption
    files (sd-scripts' process_caption): its caption is one tag (the class tokens, no separator), so shuffling and the
    separator do nothing, and keep_tokens with tag dropout only decide whether that one tag is dropped. Caption dropout,
    flip and crop change it as for any image."""
    if key == "caption_extension":
        return True  # no caption file under any of the extensions in play
    texts = {subset.class_tokens or "", subset.folder_tokens}  # sd-scripts' caption, loratui's
    if key in ("keep_tokens_separator", "secondary_separator"):  # a mark the caption lacks does nothing
        return not any(mark and mark in t for mark in (own[key], ours[key]) for t in texts)
    if key not in ("shuffle_caption", "caption_separator", "keep_tokens", "caption_tag_dropout_rate"):
        return False
    separators = {s for s in (own["caption_separator"], ours["caption_separator"]) if isinstance(s, str) and s}
    if not separators or any(t != t.strip() or any(s in t for s in separators) for t in texts):
        return False
    if key in ("shuffle_caption", "caption_separator"):
        return True

    def tag_drop(values: dict[str, Any]) -> Any:  # the chance the one tag is dropped
        return values["caption_tag_dropout_rate"] if values["keep_tokens"] == 0 else 0.0
    return tag_drop(own) == tag_drop(ours)


def _image_names(folder: Path | PureWindowsPath) -> list[str] | None:
    """The images of ``folder`` in sd-scripts' (sorted) order, or None when it cannot be listed here."""
    if isinstance(folder, PureWindowsPath):
        return None
    try:
        return [p.name for p in iter_images(folder, recursive=False)]
    except (LoratuiError, OSError):
        return None


def _samples_by_size(subsets: list[_Subset], read_sizes: bool) -> dict[int, Counter] | None:
    """Per [[datasets]]: samples (repeats x images) by image size (one key when sizes do not matter); None when an
    image or folder cannot be read."""
    counts: dict[int, Counter] = {}
    for s in subsets:
        names = _image_names(s.folder)
        if names is None:
            return None
        counter = counts.setdefault(s.dataset, Counter())
        for name in names:
            try:
                size = read_image_size(Path(s.folder) / name) if read_sizes else (0, 0)
            except (ImageSizeError, OSError):
                return None
            counter[size] += s.repeats
    return counts


def merged_datasets_problem(path: Path, subsets: list[_Subset], chosen: dict[str, Any]) -> str | None:
    """loratui trains one dataset: several [[datasets]] are merged only when that provably changes nothing (a note
    saying why), else refused. sd-scripts pads reg images per dataset and cuts each dataset's buckets into batches
    separately (a partial last batch per bucket in each); merged, the reg padding and pairing and the batch count can
    change."""
    datasets = sorted({s.dataset for s in subsets})
    if len(datasets) < 2:
        return None
    head = f"{path}: its {len(datasets)} [[datasets]] would become loratui's one dataset, which trains differently"
    todo = (f"train each [[datasets]] as a config of its own (one dataset_config each), or put all the subsets in one "
            f"[[datasets]] of {path.name} if that is the training you want, then import again")
    with_reg = [[s for s in subsets if s.dataset == d] for d in datasets if any(s.is_reg and s.dataset == d
                                                                                 for s in subsets)]
    if with_reg:
        def names(group: list[_Subset], reg: bool) -> str:
            found = [s.folder.name for s in group if s.is_reg == reg]
            return _and(found) if found else "no training subset"
        pairs = "; ".join(f"{names(g, True)} with {names(g, False)}" for g in with_reg)
        raise LoratuiError(f"{head}: sd-scripts pads the reg images of each [[datasets]] to its own training samples "
                           f"and batches them only with those ({pairs}); merged, the reg images would be padded to all "
                           f"the training samples and batched with every training folder: {todo}")
    size, bucketed = chosen.get("batch_size"), chosen.get("enable_bucket")
    merged = f"its {len(datasets)} [[datasets]] are merged into one (no reg subsets)"
    if size == 1:
        return f"{merged}: batch_size 1, so the batches per epoch are the samples either way"
    counts = _samples_by_size(subsets, read_sizes=bucketed is not False)
    if counts is None or not isinstance(size, int):
        raise LoratuiError(f"{head} when batch_size is above 1 (each [[datasets]] ends its buckets with its own "
                           f"partial batch), and its images cannot all be read here to check that: {todo}")
    if len({k for c in counts.values() for k in c}) <= 1:  # one bucket: no bucketing, or one image size
        per = [sum(counts.get(d, Counter()).values()) for d in datasets]
        apart, together = sum(-(-n // size) for n in per), -(-sum(per) // size)
        if apart != together:
            raise LoratuiError(f"{head}: sd-scripts cuts each [[datasets]] into batches of {size}: "
                               f"{' + '.join(str(-(-n // size)) for n in per)} = {apart} batches per epoch, merged "
                               f"{together}: {todo}")
        return f"{merged}: {apart} batches of {size} per epoch either way (one bucket)"
    partial = [d for d in datasets if any(n % size for n in counts.get(d, Counter()).values())]
    if len(partial) <= 1:
        return (f"{merged}: the samples of each image size fill whole batches of {size} in all [[datasets]] but at "
                "most one, so the batches per epoch are the same")
    raise LoratuiError(f"{head}: sd-scripts cuts the buckets of each [[datasets]] into batches of {size} separately, "
                       f"and [[datasets]] {_and(partial)} have image sizes whose samples leave a partial batch, so the "
                       f"batches per epoch can change: {todo}")


def _reg_use(order: list[_Subset], images: dict[str, list[str]], target: int) -> dict[tuple[str, str], int]:
    """(folder, image) -> repeats: sd-scripts' reg loop (DreamBoothDataset) over the reg subsets in ``order``: whole
    repeats until the training samples are matched, then one more repeat per image in order until they are equal."""
    entries = [(s.folder.name, name, s.repeats) for s in order for name in images[s.folder.name]]
    if not entries or target <= 0:
        return {}
    used, count = [], 0
    for entry in entries:
        used.append(entry)
        count += entry[2]
        if count >= target:
            return {(f, n): r for f, n, r in used}
    rounds, rest = divmod(target - count, len(used))
    return {(f, n): r + rounds + (1 if i < rest else 0) for i, (f, n, r) in enumerate(used)}


def _used_line(use: dict[tuple[str, str], int]) -> str:
    folders: dict[str, list[int]] = {}
    for (folder, _), repeats in use.items():
        folders.setdefault(folder, []).append(repeats)
    return ", ".join(f"{sum(r)} sample(s) from {len(r)} image(s) of {f}" for f, r in folders.items())


def reg_order_warning(path: Path, subsets: list[_Subset]) -> str | None:
    """sd-scripts uses the reg subsets in the TOML's order, loratui its reg folders in name order: a warning naming the
    images each uses when that changes which are used (more reg samples than training ones) or padded."""
    reg = [s for s in subsets if s.is_reg]
    ours = sorted(reg, key=lambda s: s.folder.name)
    if [s.folder.name for s in ours] == [s.folder.name for s in reg]:
        return None
    images = {s.folder.name: _image_names(s.folder) for s in subsets}
    if any(v is None for v in images.values()):
        return None  # not readable here: `loratui steps` reports the folders
    target = sum(s.repeats * len(images[s.folder.name]) for s in subsets if not s.is_reg)
    theirs, mine = _reg_use(reg, images, target), _reg_use(ours, images, target)
    if theirs == mine:
        return None
    return (f"{path.name} lists its reg subsets as {_and([s.folder.name for s in reg], 8)}, loratui uses its reg "
            f"folders in name order ({_and([s.folder.name for s in ours], 8)}) and has no setting for that order; reg "
            f"images are used in order to match the {target} training samples, so sd-scripts would use "
            f"{_used_line(theirs)}; loratui uses {_used_line(mine)} instead (the batches per epoch can change too: "
            "`loratui steps` on the imported config shows them)")


def not_a_gui_json(path: Path, text: str) -> str | None:
    """One line saying what a TOML file given as a kohya_ss GUI JSON is and what to do; None when it is no TOML."""
    try:
        doc = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError):
        if path.suffix.lower() != ".toml":
            return None
        return (f"{path}: not valid JSON, and not valid TOML either: config import-kohya reads the JSON config the "
                "kohya_ss GUI saves: give that file")
    if not doc and path.suffix.lower() != ".toml":
        return None
    if "datasets" in doc or "general" in doc:
        return (f"{path}: an sd-scripts dataset_config TOML, not a kohya_ss GUI JSON: import the GUI JSON whose "
                f"dataset_config names it (or set \"dataset_config\": {json.dumps(str(path))} in one); its folders "
                "and dataset options are read from there")
    if isinstance(doc.get("model"), dict) and isinstance(doc.get("dataset"), dict):
        return (f"{path}: already a loratui config, nothing to import: `loratui config check {shell_arg(path)}` "
                "checks it")
    return (f"{path}: a TOML file (an sd-scripts --config_file?), not a kohya_ss GUI JSON: config import-kohya reads "
            "the JSON config the kohya_ss GUI saves; for an sd-scripts config_file, start from `loratui config new` "
            "and copy its settings (loratui's keys are sd-scripts' argument names)")
