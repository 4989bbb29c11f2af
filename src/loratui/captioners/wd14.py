"""WD14 tagger (SmilingWolf ONNX models) with sd-scripts' preprocessing and tag selection.

Preprocessing (as sd-scripts' tag_images_by_wd14_tagger.py): transparency composited on white,
RGB -> BGR, padded to a centred white square (odd padding: the extra pixel goes right/bottom),
resized to the model's input size, float32 0..255. sd-scripts resizes with cv2: INTER_AREA when
shrinking, INTER_LANCZOS4 when enlarging. We have no cv2: shrinking uses core.image_resize's
area_resize (numpy, the exact area mean, as the training data shrinks too); enlarging uses Pillow's
LANCZOS (a=3 kernel, cv2's has a=4), so images smaller than the input size differ by a few levels at
sharp edges.

Selection (as sd-scripts): the CSV's category-9 rows come first and are the ratings (argmax), then
general tags (category 0) and character tags (category 4) each over their own threshold (>=).
Where we differ on purpose: --tag-replacement applies every pair (sd-scripts' is broken at HEAD);
an undesired tag is dropped whether it is named before or after replacement (sd-scripts: after);
--character-tags-first keeps the character tags in score order (sd-scripts reverses them);
--always-first-tags puts the tags first in the order given and adds those the model did not
detect (a trigger word never is), where sd-scripts only moves detected ones, last given first;
names typed in those options match a tag in either spelling (space or underscore, any case: the
key append and the dataset check use), with a warning for a name the model has in neither.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from loratui.captioners.onnx_check import onnx_problem
from loratui.captioners.option_rules import parse_replacements  # noqa: F401 (the rule's home; kept importable here)
from loratui.captioners.output import Leading, same_tag_key
from loratui.core.errors import LoratuiError
from loratui.core.image_resize import area_resize

MODEL_FILE = "model.onnx"
TAGS_FILE = "selected_tags.csv"
RATING, GENERAL, CHARACTER = 9, 0, 4


@dataclass(frozen=True)
class TagInfo:
    name: str  # as in the CSV (underscores kept)
    category: int
    count: int


def read_tag_csv(path: str | os.PathLike) -> list[TagInfo]:
    """selected_tags.csv rows (tag_id,name,category,count) in file order."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except OSError as exc:
        raise LoratuiError(f"{path}: cannot read tag list ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise LoratuiError(f"{path}: not a readable WD14 selected_tags.csv ({exc}); download it again with the "
                           "model") from None
    if not rows or [c.strip().lower() for c in rows[0][:4]] != ["tag_id", "name", "category", "count"]:
        raise LoratuiError(f"{path}: not a WD14 selected_tags.csv (header must be tag_id,name,category,count)")
    tags = []
    for lineno, row in enumerate(rows[1:], start=2):
        try:
            tags.append(TagInfo(row[1], int(row[2]), int(row[3])))
        except (IndexError, ValueError):
            raise LoratuiError(f"{path}:{lineno}: bad row {row!r} (expected tag_id,name,category,count)") from None
    return tags


def tag_list(model: str | os.PathLike) -> list[TagInfo]:
    """The tagger's vocabulary with categories and counts, for the caption editor's autocomplete."""
    return read_tag_csv(find_model_dir(model) / TAGS_FILE)


def find_model_dir(model: str | os.PathLike) -> Path:
    """A folder with model.onnx + selected_tags.csv: the folder itself, or one found below it
    (kohya layouts: models/wd14_tagger/<name>/, wd14_tagger_model/SmilingWolf_wd-.../)."""
    root = Path(model).expanduser()
    if not root.exists():
        from loratui.captioners.store import store_path  # a repo id already downloaded

        stored = store_path(str(model))
        if (stored / MODEL_FILE).is_file():
            return stored
        raise LoratuiError(f"{model}: no such model folder (pass a folder with {MODEL_FILE} and {TAGS_FILE}, or --download REPO_ID)")
    if root.is_file():
        root = root.parent
    if (root / MODEL_FILE).is_file():
        if not (root / TAGS_FILE).is_file():
            raise LoratuiError(f"{root}: has {MODEL_FILE} but no {TAGS_FILE}; put the model's {TAGS_FILE} beside it")
        return root
    found = sorted({p.parent for depth in ("*/", "*/*/", "*/*/*/", "*/*/*/*/", "*/*/*/*/*/")
                    for p in root.glob(depth + MODEL_FILE)
                    if (p.parent / TAGS_FILE).is_file()})
    if len(found) == 1:
        return found[0]
    if not found:
        raise LoratuiError(f"{root}: no {MODEL_FILE} + {TAGS_FILE} in this folder or below it (e.g. models/wd14_tagger/<name>/)")
    names = ", ".join(str(p.relative_to(root)) for p in found[:6])
    raise LoratuiError(f"{root}: several WD14 models found ({names}); pass one of them with --model")


@dataclass
class TagOptions:
    general_threshold: float = 0.35
    character_threshold: float = 0.85
    undesired_tags: list[str] = field(default_factory=list)
    remove_underscore: bool = False
    character_tags_first: bool = False
    always_first_tags: list[str] = field(default_factory=list)
    rating: str = "off"  # "off" | "first" | "last"
    tag_replacement: list[tuple[str, str]] = field(default_factory=list)
    character_tag_expand: bool = False


class TagSelector:
    """Turns one probability row into the ordered tag list, honouring every option."""

    def __init__(self, tags: list[TagInfo], options: TagOptions):
        self.options = options
        n_rating = 0
        while n_rating < len(tags) and tags[n_rating].category == RATING:
            n_rating += 1
        self.n_rating = n_rating
        self.names = [self._display(t.name) for t in tags]
        cats = np.array([t.category for t in tags])
        self.general_idx = np.nonzero(cats == GENERAL)[0]
        self.character_idx = np.nonzero(cats == CHARACTER)[0]
        # Names the user typed match a tag in either spelling (space or underscore, any case: the
        # key the dataset check and append use), whether or not --remove-underscore is on.
        self.undesired = {same_tag_key(t) for t in options.undesired_tags if t.strip()}
        # written as typed (a trigger word keeps its underscores); a detected tag in any spelling of
        # one is their duplicate and dropped (always-first "blue theme, Solo": no "solo, blue_theme")
        self.first = []
        first_keys: set[str] = set()
        for tag in (t.strip() for t in options.always_first_tags):
            if tag and same_tag_key(tag) not in first_keys:
                first_keys.add(same_tag_key(tag))
                self.first.append(tag)
        self.first_keys = first_keys
        self.replace = {same_tag_key(src): dst for src, dst in options.tag_replacement if src.strip()}
        self.unknown = self._unknown_names(tags)

    def _unknown_names(self, tags: list[TagInfo]) -> dict[str, list[str]]:
        """Per option, the names typed that no tag of the model has in any spelling (ignored, so
        probably misspelt): {"--undesired-tags": [...], "--tag-replacement": [...]}."""
        known = {same_tag_key(t.name) for t in tags}
        for tag in tags:  # a character tag is also known by its --character-tag-expand parts
            if tag.category == CHARACTER:
                known.update(same_tag_key(part) for part in self._expand(tag.name))
        replaced = known | {same_tag_key(dst) for _, dst in self.options.tag_replacement if dst.strip()}
        unknown = {
            "--undesired-tags": [t.strip() for t in self.options.undesired_tags
                                 if t.strip() and same_tag_key(t) not in replaced],  # also names a replacement
            "--tag-replacement": [src.strip() for src, _ in self.options.tag_replacement
                                  if src.strip() and same_tag_key(src) not in known],
        }
        return {option: names for option, names in unknown.items() if names}

    def unknown_warnings(self, tags_file: str | os.PathLike = TAGS_FILE) -> list[str]:
        """One line per option naming the tags it would never meet (not in ``tags_file``)."""
        lines = []
        for option, names in self.unknown.items():
            listed = ", ".join(repr(n) for n in names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            lines.append(f"{option}: {listed} {'is' if len(names) == 1 else 'are'} not a tag of {tags_file} in any "
                         "spelling, so it does nothing: check the spelling (spaces and underscores both match)")
        return lines

    def _display(self, name: str) -> str:
        if self.options.remove_underscore and len(name) > 3:  # keep kaomoji such as ^_^ intact
            return name.replace("_", " ")
        return name

    def _expand(self, name: str) -> list[str]:
        # "name_(series)" -> "name", "series" (sd-scripts' --character_tag_expand)
        if self.options.character_tag_expand and name.endswith(")") and "(" in name:
            head, _, series = name[:-1].rpartition("(")
            head = head.rstrip(" _")
            if head and series:
                return [head, series]
        return [name]

    def select(self, probs: np.ndarray) -> list[str]:
        o = self.options
        probs = np.asarray(probs, dtype=np.float32).reshape(-1)
        general = [self.names[i] for i in self.general_idx if probs[i] >= o.general_threshold]
        character: list[str] = []
        for i in self.character_idx:
            if probs[i] >= o.character_threshold:
                character.extend(self._expand(self.names[i]))
        tags = character + general if o.character_tags_first else general + character
        if o.rating != "off" and self.n_rating:
            rating = self.names[int(np.argmax(probs[: self.n_rating]))]
            tags = [rating] + tags if o.rating == "first" else tags + [rating]
        leading = len(self.first)
        out: list[str] = []
        keys: set[str] = set()
        for position, tag in enumerate(tags):
            if same_tag_key(tag) in self.undesired:
                continue
            tag = self.replace.get(same_tag_key(tag), tag)
            key = same_tag_key(tag) if tag else ""
            if tag and key not in keys and key not in self.undesired and key not in self.first_keys:
                keys.add(key)
                out.append(tag)
                if position == 0 and o.rating == "first" and self.n_rating:
                    leading += 1  # the rating asked first: first in an append too
        # trigger words: first, in the given order, added when not detected
        return Leading(self.first + out, lead=leading)


class WD14Captioner:
    """Captioner protocol implementation over an onnxruntime session."""

    name = "wd14"

    def __init__(self, model_dir: str | os.PathLike, options: TagOptions | None = None, *,
                 providers: list[str] | None = None, batch_size: int = 8, intra_threads: int | None = None,
                 warn=None):
        self.model_dir = find_model_dir(model_dir)
        broken = onnx_problem(self.model_dir / MODEL_FILE)  # one line, before onnxruntime's INVALID_PROTOBUF
        if broken:
            raise LoratuiError(broken)
        import onnxruntime as ort

        self.tags = read_tag_csv(self.model_dir / TAGS_FILE)
        self.selector = TagSelector(self.tags, options or TagOptions())
        for line in self.selector.unknown_warnings(self.model_dir / TAGS_FILE) if warn else ():
            warn(line)
        requested = providers or _default_providers(ort)
        known = set(ort.get_all_providers())
        unknown = [p for p in requested if p not in known]
        if unknown:
            raise LoratuiError(f"--providers {unknown[0]}: not an onnxruntime execution provider (this onnxruntime "
                               f"has {', '.join(ort.get_available_providers())})")
        wants_gpu = any(p in ("CUDAExecutionProvider", "TensorrtExecutionProvider") for p in requested)
        if not gpu_present():
            ort.set_default_logger_severity(4)  # an explicit CUDA request without a GPU: no log spam, the fallback is reported
        elif wants_gpu:
            preload = getattr(ort, "preload_dlls", None)  # CUDA/cuDNN from torch's nvidia wheels
            if preload is not None:
                try:
                    preload()
                except Exception:  # noqa: BLE001 - a missing library only means CPU fallback, reported below
                    pass
        so = ort.SessionOptions()
        if intra_threads:
            so.intra_op_num_threads = intra_threads
        if requested[:1] == ["CPUExecutionProvider"]:
            # idle onnxruntime threads otherwise spin and steal the cores the decode workers need
            so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        so.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(self.model_dir / MODEL_FILE), sess_options=so, providers=requested)
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
            raise LoratuiError(f"{self.model_dir / MODEL_FILE}: cannot load ONNX model ({str(exc).splitlines()[0]})") from None
        self.provider = self.session.get_providers()[0]
        self.gpu_warning = None
        if self.provider == "CPUExecutionProvider" and wants_gpu and not gpu_present() and warn:
            warn(f"{requested[0]} was asked for but this machine has no NVIDIA GPU: WD14 runs on the CPU")
        if self.provider == "CPUExecutionProvider" and gpu_present() and (providers is None or wants_gpu):
            self.gpu_warning = ("a GPU is present but WD14 runs on the CPU (onnxruntime CUDA provider unavailable: "
                                "install onnxruntime-gpu matching your CUDA, or torch's CUDA wheels for its libraries)")
            if warn:
                warn(self.gpu_warning)
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        self.output_name = self.session.get_outputs()[0].name
        shape = list(inp.shape)
        if len(shape) != 4:
            raise LoratuiError(f"{self.model_dir / MODEL_FILE}: input {inp.name} has shape {shape}, expected 4-D image input")
        self.nchw = shape[1] == 3 and shape[3] != 3
        hw = shape[2:4] if self.nchw else shape[1:3]
        self.size = hw[0] if isinstance(hw[0], int) else 448
        self.dtype = np.float16 if "float16" in inp.type else np.float32
        fixed = shape[0] if isinstance(shape[0], int) and shape[0] > 0 else None
        self.fixed_batch = fixed
        self.batch_size = fixed or max(1, batch_size)
        n_out = self.session.get_outputs()[0].shape[-1]
        if isinstance(n_out, int) and n_out != len(self.tags):
            raise LoratuiError(f"{self.model_dir / TAGS_FILE}: {len(self.tags)} tags but the model outputs {n_out}; use the CSV that came with the model")

    def prepare(self, image: Image.Image) -> np.ndarray:
        arr = preprocess(image, self.size)
        if self.nchw:
            arr = arr.transpose(2, 0, 1)
        return arr.astype(self.dtype, copy=False)

    def run_probs(self, batch: list[np.ndarray]) -> np.ndarray:
        if self.fixed_batch and self.fixed_batch != len(batch):
            return np.concatenate([self.run_probs(batch[i:i + self.fixed_batch]) for i in range(0, len(batch), self.fixed_batch)]) \
                if len(batch) > self.fixed_batch else self._run_padded(batch)
        return self.session.run([self.output_name], {self.input_name: np.stack(batch)})[0]

    def _run_padded(self, batch):
        pad = batch + [batch[-1]] * (self.fixed_batch - len(batch))
        return self.session.run([self.output_name], {self.input_name: np.stack(pad)})[0][: len(batch)]

    def run(self, batch: list[Any]) -> list[list[str]]:
        return [self.selector.select(row) for row in self.run_probs(batch)]


def preprocess(image: Image.Image, size: int) -> np.ndarray:
    """HWC float32 BGR 0..255, size x size (see the module docstring for the rules)."""
    if image.mode == "RGBA":
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        image = background
    elif image.mode != "RGB":
        image = image.convert("RGB")
    w, h = image.size
    side = max(w, h)
    if (w, h) != (side, side):
        square = Image.new("RGB", (side, side), (255, 255, 255))
        square.paste(image, ((side - w) // 2, (side - h) // 2))
        image = square
    if side > size:
        return area_resize(np.asarray(image, dtype=np.uint8), size, size)[:, :, ::-1].astype(np.float32)
    if side < size:
        image = image.resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(image, dtype=np.uint8)[:, :, ::-1].astype(np.float32)


def _default_providers(ort) -> list[str]:
    # onnxruntime-gpu lists CUDA as available even on a machine without a GPU; asking for it there
    # only prints library errors, so CUDA is requested when a GPU is actually present.
    available = ort.get_available_providers()
    wanted = ("CUDAExecutionProvider", "CPUExecutionProvider") if gpu_present() else ("CPUExecutionProvider",)
    return [p for p in wanted if p in available] or available


def gpu_present() -> bool:
    """An NVIDIA GPU on this machine, without importing torch."""
    return os.path.exists("/dev/nvidia0") or os.path.exists("/proc/driver/nvidia/gpus")
