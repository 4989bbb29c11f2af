"""Import a kohya_ss GUI JSON config (its flat ~150-key format) into a TrainingConfig.

Why a report: the GUI has many settings loratui does not have, and some of ours mean slightly
different things. Every key of the file ends up in exactly one list: ``mapped`` (with the loratui key
and a note when the value was converted) or ``ignored`` (with the reason). Values of ignored keys are
never echoed (the file may hold API keys).

Decisions (kohya_ss semantics checked against its lora_gui.py):
- ``epoch`` is the GUI's own: it only computes max_train_steps when that is 0 (sd-scripts never sees
  it). So a non-zero ``max_train_epochs`` wins (as in sd-scripts), then a non-zero
  ``max_train_steps``; only when both are 0 does ``epoch`` become max_train_epochs. With a
  ``dataset_config`` the GUI skips that step count: max_train_steps 0 then means sd-scripts' 1600.
- ``dataset_config``: the sd-scripts dataset TOML is read (kohya_dataset.py) and its values win over
  the JSON's dataset keys, as in sd-scripts; what loratui cannot express (several [[datasets]] that would train
  differently merged) is refused in one line. A TOML given instead of the JSON is named as what it is.
- Booleans: kohya_ss JSON sometimes holds "True"/"false"/"1"/"0"/"yes"/"no" strings: they are read as
  booleans with a note; any other value for a boolean key is an error naming the key.
- ``xformers`` ("xformers", "sdpa", "none" or a boolean): "xformers" stays xformers only when the
  xformers package is installed (train refuses it otherwise); else sdpa, with a note.
- ``lr_warmup`` is a percent of the total steps -> lr_warmup_steps as a ratio (10 -> 0.1); a non-zero
  ``lr_warmup_steps`` (newer GUIs) is a step count and wins.
- ``text_encoder_lr`` 0 with ``unet_lr`` set means UNet only (and the reverse); both 0 means both use
  ``learning_rate``. A 0 rate is stored as unset. An explicit ``network_train_unet_only`` /
  ``network_train_text_encoder_only`` (hand-edited or newer JSON) maps directly and wins, with a warning when
  it disagrees with the rates (kohya_network.py).
- ``LoRA_type`` Standard and Kohya LoCon import exactly; LoCon, LyCORIS/LoCon, LyCORIS/LoHa, LyCORIS/LoKr
  and LyCORIS/Native Fine-Tuning (DoRA being dora_wd on the first four) import as network_module
  "lycoris.kohya" with the network_args kohya_ss builds. Other types (iA3, OFT, GLoRA, DyLoRA, LoRA-FA)
  are refused unless ``as_lora=True``, which imports them (and the LyCORIS ones) as a plain LoRA. A LoKr
  network_dim above loratui's limit (100000: LyCORIS's full-matrix mode) becomes full_matrix=true.
- Empty strings mean "unset"; 0 means unset for the every-N / optional counters. Counts may be written as
  decimals or strings (the GUI's 10.0, "10"): every integer key reads them as that integer; a fractional one
  is its whole part, with a warning (``whole``).
- ``caption_extension`` "" means sd-scripts' own default, ".caption".
- ``sample_prompts`` holds prompt text in the GUI, not a file: it is returned as
  ``report.prompts_text`` for the caller to write (the CLI writes NAME.prompts.txt).
  ``report.write_prompts(target)`` writes it beside a config and never over a file: a file already
  holding the same text is used as it is, else the first free ``NAME.prompts-N.txt``.
- A value that cannot be used (``max_resolution`` "abc") is listed as ignored and also gets a warning: training
  would use loratui's default instead.
- A Windows path is kept as it is, with a one-line warning per key. A relative path (kohya_ss resolved it
  against its own folder) found from the current folder or the JSON's is rewritten relative to the config's
  folder when the caller says where the config goes, else kept with a note; found nowhere, it gets a warning
  (kohya_paths.py).
- The network keys are read in kohya_network.py; the optimizer, schedule and attention keys in
  kohya_training.py.
- Options that change training and have no loratui setting get a warning when set (kohya_dropped.py).
- ``training_comment`` (sd-scripts' ss_training_comment) becomes metadata_description when that is empty. The file may be UTF-8 (with or without a BOM) or UTF-16/32,
  as kohya_ss or an editor on Windows may save it.
- Launcher keys: ``num_processes`` > 1 gets the torchrun command that trains on as many GPUs.
- DAdaptation optimizers become Prodigy (same learning_rate-1 convention); paged 8-bit optimizers
  their unpaged versions; SGDNesterov is SGD with momentum=0.9 and nesterov=True.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from loratui.core.config.schema import SAMPLERS, TrainingConfig
from loratui.core.config.fields import FIELDS, KEY_SECTIONS, clean_file_name, coerce_value, file_name_problem
from loratui.core.config.kohya_report import ImportReport
from loratui.core.config.kohya_keys import (
    BOOL_KEYS, DIRECT, MULTI_GPU_HOW, REASONS, SAMPLER_ALIASES, SD_SCRIPTS_DATASET_DEFAULTS, ZERO_IS_UNSET,
)
from loratui.core.config.kohya_network import NetworkKeys
from loratui.core.config.kohya_training import TrainingKeys
from loratui.core.config.kohya_dropped import dropped_options
from loratui.core.config.kohya_paths import place_paths
from loratui.core.config.kohya_values import (
    bool_word as _bool_word, empty as _empty, is_number as _is_number, number as _number,
    positive_count as _positive_count, shown as _shown, whole_number as _whole_number,
)
from loratui.core.errors import LoratuiError


class _Importer(NetworkKeys, TrainingKeys):
    """One import: the keys are read section by section (network: kohya_network; optimizer, schedule,
    attention: kohya_training) into ``values``, each one reported as mapped or ignored."""

    def __init__(self, data: dict, as_lora: bool, source_dir=None, config_dir=None):
        self.data = dict(data)
        self.as_lora = as_lora
        self.source_dir = source_dir
        self.config_dir = config_dir
        self.values: dict[str, Any] = {}
        self.report = ImportReport()
        self.done: set[str] = set()
        self.notes: dict[str, str] = {}  # kohya key -> how its value was read
        self.locked: dict[str, str] = {}  # loratui key -> why the JSON's key does not set it
        self.fractions_warned: set[str] = set()  # kohya keys whose fractional count got its warning
        for key in sorted(BOOL_KEYS & set(self.data)):
            value = self.data[key]
            if isinstance(value, bool) or _empty(value):
                continue
            flag = _bool_word(value)
            if flag is None:
                raise LoratuiError(f"kohya_ss key {key!r} must be true or false, got {value!r}: fix it in the JSON")
            self.data[key] = flag
            self.notes[key] = f"{value!r} read as {str(flag).lower()}"

    def set(self, kohya_key: str, key: str, value: Any, note: str = "") -> bool:
        """Map ``kohya_key``'s value to ``key``; False (reported as ignored, with a warning) when it cannot be used."""
        if key in self.locked:
            self.ignore(kohya_key, self.locked[key])
            return False
        note = "; ".join(n for n in (self.notes.get(kohya_key, ""), note) if n)
        spec = FIELDS[(KEY_SECTIONS[key], key)]
        read = _number(value)
        if spec.kind == "int" or (spec.kind == "warmup" and _is_number(read) and read >= 1):  # below 1: a ratio
            value = self.whole(kohya_key, value)
        elif spec.kind in ("float", "warmup"):
            value = read
        try:
            value = coerce_value(spec, value)
        except ValueError as exc:
            self.report.ignored.append((kohya_key, f"{exc}; loratui's default kept"))
            self.done.add(kohya_key)
            # a real setting replaced by a default deserves more than a line among the ignored keys
            self.report.warnings.append(f"{kohya_key} {value!r} cannot be used: training uses loratui's default "
                                        f"{_shown(spec.default)}; set [{spec.section}] {key} in the imported config")
            return False
        self.values[key] = value
        if kohya_key not in self.data and not kohya_key.startswith("--"):  # the GUI's default (--x: additional_parameters)
            note = "; ".join(part for part in ("not in the file: kohya_ss's default", note) if part)
        self.report.mapped.append((kohya_key, f"{spec.section}.{key}", note))
        self.done.add(kohya_key)
        return True

    def whole(self, kohya_key: str, value: Any) -> Any:
        """An integer key's value, read the one way (kohya_values.whole_number: 10.0 and "10" are 10); a fractional
        one gets one warning naming the key and the whole number used."""
        count, fraction = _whole_number(value)
        if fraction is not None and kohya_key not in self.fractions_warned:
            self.fractions_warned.add(kohya_key)
            self.report.warnings.append(f"{kohya_key} {fraction:g} is not a whole number: {count} used (its whole "
                                        "part)")
        return count

    def ignore(self, kohya_key: str, reason: str) -> None:
        if kohya_key in self.data and kohya_key not in self.done:
            self.report.ignored.append((kohya_key, reason))
            self.done.add(kohya_key)

    def get(self, key: str, default: Any = None) -> Any:
        value = self.data.get(key, default)
        return default if _empty(value) else value

    def run(self) -> tuple[TrainingConfig, ImportReport]:
        d = self.data
        self._dataset_config()
        self._family()
        self._network()
        self._learning_rates()
        self._optimizer()
        self._schedule()
        self._attention()
        self._misc()
        self._launcher()
        for key in DIRECT:
            if key in d and key not in self.done:
                value = d[key]
                if _empty(value):
                    self.ignore(key, "empty in the file: loratui's default kept")
                elif key in ZERO_IS_UNSET and self.whole(key, value) == 0:
                    self.ignore(key, "0 (off) in the file: left unset")
                else:
                    self.set(key, key, value)
        self._additional_parameters()
        self._cache_latents_to_disk()
        for key, reason, warning in dropped_options(d, self.done):  # a dropped setting that is on: a warning
            self.ignore(key, reason)
            if warning:
                self.report.warnings.append(warning)
        for key in d:
            if key not in self.done:
                reason = REASONS.get(key) or next(
                    (r for p, r in REASONS.items() if key.startswith(p)), "not used by loratui")
                self.ignore(key, reason)
        place_paths(self.report, self.values, self.locked, source_dir=self.source_dir,
                    config_dir=self.config_dir)
        return self._build(), self.report

    def _additional_parameters(self) -> None:
        """kohya_ss appends additional_parameters to sd-scripts' command line, where they win over the config file:
        each ``--key``, ``--key=value`` or ``--key value`` that is a loratui key is applied the same way (after the
        JSON's own keys); the rest get one warning naming them."""
        import shlex

        raw = self.get("additional_parameters")
        if raw is None:
            return
        try:
            words = shlex.split(str(raw))
        except ValueError:
            words = str(raw).split()
        applied, left = [], []
        i = 0
        while i < len(words):
            word = words[i]
            i += 1
            if not word.startswith("--"):
                left.append(word)
                continue
            name, has_value, value = word[2:].partition("=")
            spec = FIELDS.get((KEY_SECTIONS.get(name, ""), name))
            if spec is not None and spec.kind == "str_list":  # nargs="*" in sd-scripts: every word up to the next --
                values = [value] if has_value else []
                while i < len(words) and not words[i].startswith("--"):
                    values.append(words[i])
                    i += 1
                word = " ".join([f"--{name}", *values])
                value, has_value = values, bool(values)
            elif not has_value and i < len(words) and not words[i].startswith("--"):
                value, has_value, i = words[i], True, i + 1
            if spec is None:
                left.append(word + ("" if "=" in word or not has_value else f" {value}"))
                continue
            if spec.kind == "bool":
                value = True if not has_value else _bool_word(value)
            if value is None or (not has_value and spec.kind != "bool"):
                left.append(word)
                continue
            if self.set(word, name, value, "from additional_parameters: on sd-scripts' command line it wins over "
                                           "the JSON's own key"):
                applied.append(word)
                if name == "network_args":
                    self._conv_args_to_fields()
        if left:
            self.report.warnings.append(f"additional_parameters not applied: {' '.join(left)} (no loratui key: set "
                                        "what they do by hand)")
        self.ignore("additional_parameters", f"applied: {' '.join(applied)} (mapped above)" if applied and not left
                    else "see the warning")

    def _conv_args_to_fields(self) -> None:
        """networks.lora reads conv_dim / conv_alpha from network_args in sd-scripts, from [network]'s own keys in
        loratui: moved there, so that the imported config trains the same LoCon."""
        if self.values.get("network_module", "networks.lora") != "networks.lora":
            return
        kept = []
        for item in self.values.get("network_args") or []:
            key, _, value = str(item).partition("=")
            key = key.strip()
            if key not in ("conv_dim", "conv_alpha") or not self.set(f"--network_args {key}", key, value.strip(),
                                                                     "from additional_parameters' --network_args"):
                kept.append(item)
        self.values["network_args"] = kept

    def _cache_latents_to_disk(self) -> None:
        """cache_latents_to_disk with cache_latents off: sd-scripts turns cache_latents on (with a warning), so the
        imported config says true, and the mapped line says why."""
        if self.values.get("cache_latents_to_disk") and self.values.get("cache_latents") is False:
            self.values["cache_latents"] = True
            self.report.add_note("dataset.cache_latents", "false in the file, imported as true: cache_latents_to_disk "
                                 "turns it on, as sd-scripts does")

    def _dataset_config(self) -> None:
        from loratui.core.config.kohya_dataset import read_dataset_config

        raw = self.data.get("dataset_config")
        if _empty(raw):
            return
        path = Path(os.path.expanduser(str(raw)))  # an unknown ~user stays as written (named below)
        if not path.is_absolute() and self.source_dir is not None and not path.exists():
            tried = path.absolute()
            path = Path(self.source_dir) / path  # kohya_ss ran from its own folder; next to the JSON is a guess
            if not path.exists():  # the exact paths it is read from (current folder, the JSON's), not "next to it"
                raise LoratuiError(f"{path.absolute()}: cannot read the dataset_config TOML the kohya_ss config names "
                                   f"(no such file there nor at {tried}, from the current folder): put it at one of "
                                   "these two paths, or set dataset_config in the JSON to where it is")
        found = read_dataset_config(path, self._dataset_fallback)
        for key, value in found.values.items():
            self.values[key] = value
            self.locked[key] = f"dataset_config {path.name} sets {KEY_SECTIONS[key]}.{key} (sd-scripts uses it " \
                               "instead of this key)"
        self.report.dataset_config = str(path)
        self.report.from_dataset_config = found.entries
        self.report.warnings += found.warnings
        self.report.mapped.append(("dataset_config", "dataset.train_data_dir",
                                   f"read {path}: {len(found.entries)} settings below"))
        self.done.add("dataset_config")

    def _dataset_fallback(self, key: str) -> tuple[Any, str]:
        """(the value sd-scripts takes from its command line (the JSON) for a dataset option, where it comes from)."""
        json_key = {"batch_size": "train_batch_size", "resolution": "max_resolution"}.get(key, key)
        name = {"batch_size": "train_batch_size"}.get(key, key)
        raw = self.data.get(json_key)
        if _empty(raw):
            return SD_SCRIPTS_DATASET_DEFAULTS.get(key), f"sd-scripts' default: the kohya_ss JSON has no {json_key}"
        if key == "caption_extension" and isinstance(raw, str):
            raw = raw if raw.startswith(".") else "." + raw
        spec = FIELDS[(KEY_SECTIONS[name], name)]
        value = self.whole(json_key, raw) if spec.kind == "int" else _number(raw) if spec.kind == "float" else \
            str(raw) if key == "resolution" else raw
        try:
            return coerce_value(spec, value), f"the kohya_ss JSON's {json_key}"
        except ValueError:
            return raw, f"the kohya_ss JSON's {json_key}"

    def _build(self) -> TrainingConfig:
        cfg = TrainingConfig()
        for key, value in self.values.items():
            section = getattr(cfg, KEY_SECTIONS[key])
            setattr(cfg, KEY_SECTIONS[key], dataclasses.replace(section, **{key: value}))
        return cfg

    def _family(self) -> None:
        d = self.data
        for flag in ("flux1_checkbox", "sd3_checkbox"):
            if d.get(flag) is True:
                raise LoratuiError(f"kohya_ss config trains {flag.split('_')[0].upper()}: loratui supports "
                                   "SD 1.x, 2.x and SDXL only")
        cache = "sdxl_cache_text_encoder_outputs"
        if "sdxl" not in d and "v2" not in d:
            self.ignore(cache, "only used with sdxl (the file has no sdxl key: model_family is detected)")
            return  # model_family stays auto
        family = "sdxl" if d.get("sdxl") is True else "sd2" if d.get("v2") is True else "sd1"
        source = "sdxl" if "sdxl" in d else "v2"
        self.set(source, "model_family", family, "" if family != "sd1" else "neither sdxl nor v2 was checked")
        if family == "sdxl" and d.get("v2") is True:
            self.ignore("v2", "sdxl is also checked: model_family = 'sdxl' (see the warning)")
            self.report.warnings.append("v2 and sdxl are both checked (sd-scripts refuses v2 for SDXL): imported as "
                                        "model_family = \"sdxl\"; set it to \"sd2\" if the base model is SD 2.x")
        for flag in ("sdxl", "v2"):
            self.ignore(flag, f"folded into model_family = {family!r}")
        if family == "sdxl" and d.get(cache) is True:
            self.set(cache, "cache_text_encoder_outputs", True)
        elif family == "sdxl":
            self.ignore(cache, "off in the file: text-encoder outputs are not cached")
        self.ignore(cache, f"only used with sdxl (this file trains {family})")

    def _misc(self) -> None:
        d = self.data
        ext = d.get("caption_extension")
        if ext is not None:
            if _empty(ext):
                self.set("caption_extension", "caption_extension", ".caption",
                         "empty means sd-scripts' default .caption")
            else:
                self.set("caption_extension", "caption_extension", ext if ext.startswith(".") else "." + ext)
        self._noise()  # kohya_training.py
        prompts = self.get("sample_prompts")
        if prompts:
            self.report.prompts_text = str(prompts).strip() + "\n"
            self.report.mapped.append(("sample_prompts", "sampling.sample_prompts",
                                       "prompt text: written to a prompts file"))
            self.done.add("sample_prompts")
        self.ignore("sample_prompts", "empty: no sample prompts")
        sampler = self.get("sample_sampler")
        if sampler:
            low = str(sampler).lower()  # sd-scripts' samplers (schema.SAMPLERS); its k_ spellings by their plain names
            name = SAMPLER_ALIASES.get(low, low)
            self.set("sample_sampler", "sample_sampler", name if name in SAMPLERS else low)  # else: set() warns
        seed = d.get("seed")
        if _empty(seed) or _number(seed) == 0:
            self.ignore("seed", "empty or 0 (a random seed in kohya_ss): loratui's fixed default 42 kept")
        if d.get("save_model_as") not in (None, "safetensors"):
            self.report.warnings.append(f"save_model_as {d['save_model_as']!r}: loratui saves .safetensors")
        comment = self.get("training_comment")
        if comment is not None and _empty(d.get("metadata_description")):
            self.set("training_comment", "metadata_description", str(comment),
                     "sd-scripts saves it as ss_training_comment; loratui as the LoRA's description")
        elif comment is not None:
            self.ignore("training_comment", "metadata_description is set too and is kept: add the comment to it by "
                                            "hand ([saving] metadata_description)")
        self.ignore("training_comment", "empty")
        name = d.get("output_name")
        if isinstance(name, str) and not _empty(name) and file_name_problem(name):
            clean = clean_file_name(name)
            if clean:
                self.set("output_name", "output_name", clean, f"cleaned from {name!r}")
                self.report.warnings.append(f"output_name {name!r} is not a plain file name (the LoRA would be "
                                            f"saved outside output_dir): imported as {clean!r}")
            else:
                self.ignore("output_name", f"{name!r} is not a plain file name: loratui's default kept")

    def _launcher(self) -> None:
        """accelerate's launcher keys: loratui trains on one GPU unless started for several (README, several GPUs)."""
        processes = _whole_number(self.get("num_processes", 1))[0]
        machines = _whole_number(self.get("num_machines", 1))[0]
        if _positive_count(processes) and processes > 1:
            self.ignore("num_processes", f"{processes} processes in kohya_ss: train with `loratui train CONFIG "
                                         f"--processes {processes}` (or processes {processes} on the Train "
                                         "screen); `loratui train` alone uses one GPU")
        if _positive_count(machines) and machines > 1:
            self.ignore("num_machines", f"{machines} machines in kohya_ss: loratui trains on the GPUs of one machine "
                                        f"({MULTI_GPU_HOW})")


def import_kohya(data: dict, *, as_lora: bool = False, source_dir=None,
                 config_dir=None) -> tuple[TrainingConfig, ImportReport]:
    """Convert parsed kohya_ss GUI JSON to a config plus a report of mapped and ignored keys.

    ``source_dir`` (the JSON's folder) is where a relative ``dataset_config`` is also looked for.
    ``config_dir``: the folder the config will be saved in; relative paths found from the current folder
    (or ``source_dir``) are rewritten relative to it. None: paths are kept as they are, each with a note.
    """
    if not isinstance(data, dict):
        raise LoratuiError("a kohya_ss config is a JSON object of settings")
    return _Importer(data, as_lora, source_dir, config_dir).run()


def import_kohya_file(path, *, as_lora: bool = False, config_dir=None) -> tuple[TrainingConfig, ImportReport]:
    """Read and import a kohya_ss GUI JSON file; LoratuiError on unreadable or invalid JSON.
    ``config_dir``: as for import_kohya."""
    import json

    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LoratuiError(f"{path}: cannot read: {exc.strerror or exc}") from None
    # kohya_ss on Windows (or an editor there) may save UTF-16 or UTF-8 with a BOM: JSON's own detection
    # (RFC 8259: the BOM, else the zero bytes of the first characters) reads UTF-8, -16 and -32
    encoding = json.detect_encoding(raw)
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise LoratuiError(f"{path}: cannot read: not {encoding.upper().replace('-SIG', '')} text (byte {exc.start}): "
                           "save it as UTF-8") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        from loratui.core.config.kohya_dataset import not_a_gui_json

        raise LoratuiError(not_a_gui_json(path, text) or f"{path}, line {exc.lineno}: not valid JSON: {exc.msg}") \
            from None
    except RecursionError:
        raise LoratuiError(f"{path}: nested too deeply to be a kohya_ss config (a settings object holds plain "
                           "values): is it the right file?") from None
    try:
        return import_kohya(data, as_lora=as_lora, source_dir=path.parent, config_dir=config_dir)
    except LoratuiError as exc:
        raise LoratuiError(f"{path}: {exc}") from None
