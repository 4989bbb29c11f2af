"""Read, check and write the training config (TOML), with errors a user can act on.

Why our own reader rules: the file is edited by hand, so every problem must name the file, the line,
the key and what is wrong, and an unknown key must say what was probably meant. Writing lives in render.py
(a fresh file) and write.py (in place).

Conventions (documented for users in the saved file's header):
- bool fields take TOML ``true``/``false`` only; int fields refuse 1.5; float fields accept ints.
- ``resolution`` accepts 512, "512", "512,768" or [512, 768]; it is saved as 512 when square.
- choices compare case-insensitively and are stored in canonical case ("adamw8bit" -> "AdamW8bit").
  optimizer_type also takes sd-scripts' module-path spellings of the same optimizer
  ("bitsandbytes.optim.AdamW8bit", "prodigyopt.Prodigy", ...). SGDNesterov, paged and D-Adaptation
  optimizers are refused with the closest equivalent named (SGDNesterov also changes momentum).
- ``lr_warmup_steps`` is a step count (int) or a fraction of the total steps below 1 (float).
- Relative paths are relative to the config file's folder; they are kept as written on save and
  resolved with :func:`resolve_path` (the folder is ``cfg.config_dir``).
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import tomllib
from pathlib import Path
from typing import Any

from loratui.core.config.caption_options import caption_option_problems
from loratui.core.dataset import caption_extension_problem
from loratui.core.config.network_args import network_problems
from loratui.core.config.noise_options import noise_problems
from loratui.core.config.schema import SECTIONS, TrainingConfig, section_fields
from loratui.core.config.fields import (
    FIELDS, KEY_SECTIONS, PATH_KEYS, ConfigError, coerce_value, file_name_problem, show_value,
)
from loratui.core.config.foreign import foreign_config_line, sdscripts_kind
from loratui.core.config.snapshot import FileSnapshot, remember_snapshot
from loratui.core.fsutil import config_relative_path, dollar_hint
from loratui.core.termline import shell_arg
from loratui.core.tomlfile import toml_syntax_problem



# ---------------------------------------------------------------- dict <-> config


def _unknown_key_problem(section: str | None, key: str, value: Any = None) -> str:
    """The line for a key loratui does not have, in [section] (None: outside any section). A kohya_ss GUI or
    sd-scripts name says what it is here (a "did you mean" by spelling would point elsewhere: kohya_ss's
    lr_warmup is a percent, lr_warmup_steps a step count); anything else gets the closest key."""
    where = f" in [{section}]" if section else ""  # above every header: the "did you mean" names the section
    if section and key in KEY_SECTIONS:
        return f"{key}: belongs in [{KEY_SECTIONS[key]}], not [{section}]"
    foreign = _foreign_key_hint(key, value)
    if foreign:
        return f"{key}: unknown key{where}: {foreign}"
    here = [name for (s, name) in FIELDS if s == section]
    close = difflib.get_close_matches(key, here, n=1, cutoff=0.6)
    if close:
        return f"{key}: unknown key{where} (did you mean {close[0]!r}?)"
    close = difflib.get_close_matches(key, list(KEY_SECTIONS), n=1, cutoff=0.6)
    if close:
        return f"{key}: unknown key{where} (did you mean {close[0]!r} in [{KEY_SECTIONS[close[0]]}]?)"
    return f"{key}: unknown key{where or ' above every [section]'} (`loratui config explain` lists every key)"


def _foreign_key_hint(key: str, value: Any) -> str | None:
    """What a kohya_ss GUI or sd-scripts name is here (kohya_explain: the table `config explain` and the import
    use), or None for a name neither has."""
    from loratui.core.config.kohya_explain import explain_gui_key, unsupported_effect

    found = explain_gui_key(key)
    if found is None:
        return None
    head, how, target = found
    if key == "lr_warmup" and isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 100:
        return (f"a kohya_ss name (a percent of the steps): use lr_warmup_steps = {value / 100:g} in [optimizer] "
                "(lr_warmup_steps of 1 or more counts steps)")
    # the head's "(kohya_ss GUI)", "(sd-scripts argument)" or "(sd-scripts dataset option)"
    kind = head.partition("(")[2].partition(")")[0]
    origin = "a kohya_ss GUI name" if kind.startswith("kohya_ss") else f"an {kind}"
    section, _, name = target.partition(".")
    if name and (section, name) in FIELDS:
        return f"{origin}: here it is {name} in [{section}] ({how}; `loratui config explain {key}`)"
    effect = unsupported_effect(key)
    if effect:  # a training option loratui lacks: what training does without it
        how = f"loratui has no such setting ({effect})"
    if "." in target:  # a GUI key the import folds into a setting of another shape (sdxl -> model_family)
        return f"{origin}: {head.split('-> ', 1)[-1]}: {how} (`loratui config explain {key}`)"
    if target and not target.startswith("no "):  # read by the import only (dataset_config)
        return f"{origin} that only `config import-kohya` reads ({how}): remove the key"
    return f"{origin}: {how}: remove the key (`loratui config explain {key}`)"


def _collect(data: dict, locate) -> tuple[TrainingConfig, list[str], set[str]]:
    """The config from ``data`` with every valid value set, the problems, and the keys whose values
    were refused (their fields keep the default in the returned config)."""
    problems: list[str] = []
    refused: set[str] = set()
    sections: dict[str, dict[str, Any]] = {s: {} for s in SECTIONS}
    for top, body in data.items():
        if top not in SECTIONS:
            if top in KEY_SECTIONS:
                problems.append(locate(None, top, f"{top}: must be inside the [{KEY_SECTIONS[top]}] section"))
                continue
            if not isinstance(body, dict):  # `netwrok_dim = 16` above every header: a key, not a section
                problems.append(locate(None, top, _unknown_key_problem(None, top, body)))
                continue
            close = difflib.get_close_matches(top, SECTIONS, n=1)
            mean = f" (did you mean [{close[0]}]?)" if close else f" (sections: {', '.join(SECTIONS)})"
            problems.append(locate(top, None, f"[{top}]: unknown section{mean}"))
            continue
        if not isinstance(body, dict):
            problems.append(locate(None, top, f"{top}: must be a [{top}] section, got {show_value(body)}"))
            continue
        for key, value in body.items():
            spec = FIELDS.get((top, key))
            if spec is None:
                problems.append(locate(top, key, _unknown_key_problem(top, key, value)))
                continue
            try:
                sections[top][key] = coerce_value(spec, value)
            except ValueError as exc:
                problems.append(locate(top, key, f"{key}: {exc}"))
                refused.add(key)
    cfg = TrainingConfig()
    for section, values in sections.items():
        setattr(cfg, section, dataclasses.replace(getattr(cfg, section), **values))
    return cfg, problems, refused


def config_from_dict(data: dict, source: str = "<dict>") -> TrainingConfig:
    """Build a config from nested {section: {key: value}} data; ConfigError lists every problem."""
    def locate(section, key, problem):
        return f"{source}: {problem}"
    cfg, problems, _refused = _collect(data, locate)
    if problems:
        raise ConfigError(problems)
    return cfg


def config_to_dict(cfg: TrainingConfig) -> dict[str, dict[str, Any]]:
    """Nested plain data ({section: {key: value}}), None fields omitted, resolution as 512 or [w, h]."""
    out: dict[str, dict[str, Any]] = {}
    for section in SECTIONS:
        sec = getattr(cfg, section)
        values: dict[str, Any] = {}
        for f in section_fields(section):
            value = getattr(sec, f.name)
            if value is None:
                continue
            if FIELDS[(section, f.name)].kind == "resolution":
                w, h = value
                value = w if w == h else [w, h]
            elif isinstance(value, list):
                value = list(value)
            values[f.name] = value
        out[section] = values
    return out


# ---------------------------------------------------------------- files


def _line_finder(text: str):
    """Map (section, key) to a 1-based line number by scanning headers and `key =` lines."""
    where: dict[tuple[str | None, str | None], int] = {}
    section: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        header = re.match(r"\s*\[\s*([A-Za-z0-9_\-]+)\s*\]\s*(#.*)?$", line)
        if header:
            section = header.group(1)
            where.setdefault((section, None), number)
            continue
        key = re.match(r"\s*[\"']?([A-Za-z0-9_\-]+)[\"']?\s*(\.\s*[\"']?([A-Za-z0-9_\-]+)[\"']?\s*)?=", line)
        if key and key.group(3) and section is None:  # `network.network_dim = 16`: a dotted key names its section
            where.setdefault((key.group(1), key.group(3)), number)
            where.setdefault((key.group(1), None), number)
        elif key:
            where.setdefault((section, key.group(1)), number)
    return where


def loads_config(text: str, source: str = "<string>", config_dir: Path | None = None) -> TrainingConfig:
    """Parse TOML text; errors read `SOURCE, line N: key: problem`. An sd-scripts --config_file or
    --dataset_config (foreign.py) is one ConfigError line saying so, with ``foreign`` set to its kind."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(toml_syntax_problem(source, text, exc)) from None
    except RecursionError:
        raise ConfigError(f"{source}: arrays or tables nested too deeply to be a config (values are plain numbers, "
                          "strings or short lists)") from None
    kind = sdscripts_kind(data, text)
    if kind is not None:  # sd-scripts' own file: one line saying so, not a page of "unknown section"
        error = ConfigError(foreign_config_line(source, kind, text), source)
        error.foreign = kind  # Settings and the launcher tell it apart from a loratui config with problems
        raise error
    lines = _line_finder(text)

    def locate(section, key, problem):
        number = lines.get((section, key))
        return f"{source}, line {number}: {problem}" if number else f"{source}: {problem}"

    cfg, problems, refused = _collect(data, locate)
    if config_dir is not None:
        cfg.config_dir = config_dir
    if problems:
        error = ConfigError(problems, source)
        error.partial, error.refused = cfg, refused  # for `config check`'s list of every problem
        raise error
    return cfg


def load_config(path: str | os.PathLike) -> TrainingConfig:
    """Load a config file; raises ConfigError (a LoratuiError) naming file, line, key and problem.

    The returned config remembers the file's bytes and mtime, so that save_config over the same
    file can refuse to overwrite a change made by someone else in between (ConflictError).
    """
    path = Path(path)
    try:
        st = path.stat()
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file (create one with `loratui config new {shell_arg(path)}`)") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a config file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")  # a BOM from Windows editors
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}, line {line}: not UTF-8 text") from None
    cfg = loads_config(text, str(path), path.resolve().parent)
    remember_snapshot(cfg, FileSnapshot.take(path, raw, st))
    return cfg


def check_paths(cfg: TrainingConfig, *, hub_ids_ok: bool = False) -> list[str]:
    """Problems with the files the config points at: empty required paths, missing files, and what
    `train` would refuse about them (preflight.py: the model's header, output_dir, the concept
    folders, the sample prompts, a state to resume; vae_check.py: the VAE; weights_check.py: network_weights'
    rank, alpha and conv layers), all without loading anything heavy.
    ``hub_ids_ok``: a Hugging Face repo id as the base model is fine (the sd-scripts export: sd-scripts
    downloads it)."""
    from loratui.core.config.preflight import file_problems
    from loratui.core.config.vae_check import vae_problems
    from loratui.core.config.weights_check import network_weights_problems

    windows = windows_path_problems(cfg)
    problems = list(windows.values())
    m, d = cfg.model, cfg.dataset
    if "pretrained_model_name_or_path" in windows:
        pass  # named above
    elif not m.pretrained_model_name_or_path:
        problems.append("pretrained_model_name_or_path is empty: set the base model in [model]")
    else:
        resolved = resolve_path(cfg, m.pretrained_model_name_or_path, key="pretrained_model_name_or_path")
        if resolved != m.pretrained_model_name_or_path or os.path.isabs(resolved):
            if not os.path.exists(resolved):
                problems.append(f"pretrained_model_name_or_path: {resolved} does not exist"
                                + dollar_hint(m.pretrained_model_name_or_path))
        elif not hub_ids_ok:  # "org/name" that is no path here: sd-scripts' export keeps it, training needs the files
            where = f" in {cfg.config_dir}" if cfg.config_dir else " here"
            problems.append(f"pretrained_model_name_or_path: {resolved} is not a folder or file{where}; training "
                            "reads a local diffusers folder or .safetensors file: fix the path, or if it is a "
                            f"Hugging Face repo id, download it first (`hf download {resolved} --local-dir "
                            f"models/{resolved.rsplit('/', 1)[-1]}`) and give that folder")
    if not d.train_data_dir:
        problems.append("train_data_dir is empty: set the training images folder in [dataset]")
    checks = [("train_data_dir", d.train_data_dir, True), ("reg_data_dir", d.reg_data_dir, True),
              ("vae", m.vae, False), ("network_weights", cfg.network.network_weights, False),
              ("sample_prompts", cfg.sampling.sample_prompts, False)]
    for key, value, folder in checks:
        if not value or key in windows:
            continue
        path = resolve_path(cfg, value)
        if folder and os.path.exists(path) and not os.path.isdir(path):
            problems.append(f"{key}: {path} is a file, not a folder: give the folder that holds the `N_name` "
                            "concept folders")
        elif folder and not os.path.isdir(path):
            problems.append(f"{key}: folder {path} does not exist" + dollar_hint(value))
        elif not folder and not os.path.exists(path):
            problems.append(f"{key}: {path} does not exist" + dollar_hint(value))
        elif key == "vae":  # what `train` refuses only after the base model has loaded: from headers here
            problems += vae_problems(path)
        elif key == "network_weights":
            problems += network_weights_problems(cfg.network, path)
    if d.train_data_dir and d.reg_data_dir:
        train, reg = resolve_path(cfg, d.train_data_dir), resolve_path(cfg, d.reg_data_dir)
        if os.path.isdir(train) and os.path.realpath(train) == os.path.realpath(reg):
            problems.append(f"reg_data_dir: {reg} is the training images folder too: regularisation images need "
                            "a folder of their own (e.g. reg/ beside img/), or leave reg_data_dir empty")
    # a Windows path already has its line: "does not exist" / "cannot be created" about it says nothing new
    return problems + [p for p in file_problems(cfg) if not _involves_key(p, windows)]


def _involves_key(problem: str, keys) -> bool:
    head = problem.split(":", 1)[0]
    return head.rpartition(".")[2] in keys


def windows_path_problems(cfg: TrainingConfig) -> dict[str, str]:
    """{key: problem} for each path that is a Windows path (``D:/out``, ``C:\\Users\\me``), from a config made
    on Windows (a kohya_ss import): here it is no absolute path, and joined to the config's folder it
    would name a folder called ``D:`` beside the config. Nothing on Windows itself."""
    from loratui.core.config.kohya_paths import is_windows_path

    if os.name == "nt":
        return {}
    found = {}
    for section, key in sorted(PATH_KEYS):
        value = getattr(getattr(cfg, section), key)
        if isinstance(value, str) and is_windows_path(value) and not _here_after_all(cfg, value):
            found[key] = (f"{key}: {value} is a Windows path (from a config made on Windows?), which names nothing "
                          f"on this machine (it is not joined to the config's folder): set [{section}] {key} to a "
                          "path here")
    return found


def _here_after_all(cfg: TrainingConfig, value: str) -> bool:
    """``c:`` or ``c:/x`` is also a relative folder name here: one that exists beside the config is no
    Windows path (a backslash always is one: no POSIX folder name the user meant has it)."""
    if "\\" in value:
        return False
    try:
        return os.path.exists(resolve_path(cfg, value))
    except Exception:  # noqa: BLE001 - unresolvable: treat as the Windows path it looks like
        return False


# ---------------------------------------------------------------- cross-field checks and paths


def validate(cfg: TrainingConfig) -> list[str]:
    """Problems between fields (each alone is valid). Empty list = fine.

    A missing max_train_epochs/max_train_steps is not a problem here: the steps calculator reports it.
    """
    problems = []
    d, n, t, o = cfg.dataset, cfg.network, cfg.training, cfg.optimizer
    name_problem = file_name_problem(cfg.saving.output_name)
    if name_problem:  # set in code rather than loaded (loading checks it already)
        problems.append(f"output_name: {name_problem}: it must be a plain file name such as \"my_lora\" "
                        "(the LoRA is saved in output_dir under this name)")
    if n.network_train_unet_only and n.network_train_text_encoder_only:
        problems.append("network_train_unet_only and network_train_text_encoder_only are both true: "
                        "nothing would be trained; set one of them to false")
    problems += network_problems(n)
    extension_problem = caption_extension_problem(d.caption_extension)
    if extension_problem:
        problems.append(f"caption_extension {d.caption_extension!r}: {extension_problem}")
    problems += caption_option_problems(d)
    if d.enable_bucket:
        problems += _bucket_bounds_problems(d)
    elif d.min_bucket_reso > d.max_bucket_reso:
        problems.append(f"min_bucket_reso ({d.min_bucket_reso}) is larger than max_bucket_reso "
                        f"({d.max_bucket_reso})")
    if t.full_bf16 and t.full_fp16:
        problems.append("full_bf16 and full_fp16 are both true: choose one")
    if t.full_bf16 and t.mixed_precision != "bf16":
        problems.append("full_bf16 needs mixed_precision = \"bf16\"")
    if t.full_fp16 and t.mixed_precision != "fp16":
        problems.append("full_fp16 needs mixed_precision = \"fp16\"")
    if t.sdpa and t.xformers:
        problems.append("sdpa and xformers are both true: choose one attention implementation")
    if latents_cached(d) and d.random_crop:
        which = "cache_latents" if d.cache_latents else "cache_latents_to_disk, which turns cache_latents on"
        problems.append(f"random_crop does nothing with {which} (the crop is cached once; sd-scripts refuses it "
                        "too): turn one off")
    if t.cache_text_encoder_outputs:
        if not n.network_train_unet_only:
            problems.append("cache_text_encoder_outputs needs network_train_unet_only = true "
                            "(a trained text encoder changes its outputs)")
        if d.shuffle_caption or d.caption_dropout_rate or d.caption_tag_dropout_rate or \
                d.caption_dropout_every_n_epochs:
            problems.append("cache_text_encoder_outputs cannot be combined with shuffle_caption or "
                            "caption dropout (captions would change every epoch)")
    if n.network_train_text_encoder_only and o.text_encoder_lr == 0:
        problems.append("text_encoder_lr is 0 with network_train_text_encoder_only: nothing would learn")
    if o.lr_scheduler == "constant" and o.lr_warmup_steps:
        problems.append(f"lr_warmup_steps = {o.lr_warmup_steps} does nothing with lr_scheduler \"constant\" "
                        "(sd-scripts refuses it): use \"constant_with_warmup\" or set lr_warmup_steps = 0")
    if o.optimizer_type == "Prodigy" and o.learning_rate < 0.1:
        problems.append(f"Prodigy expects learning_rate around 1 (it finds its own step size), "
                        f"got {o.learning_rate}")
    problems += prodigy_problems(cfg)
    problems += noise_problems(cfg)
    return problems


# prodigyopt.Prodigy's keyword arguments (1.1.2); anything else in optimizer_args is a TypeError on its first build
PRODIGY_ARGS = ("betas", "beta3", "eps", "weight_decay", "decouple", "use_bias_correction", "safeguard_warmup", "d0",
                "d_coef", "growth_rate", "fsdp_in_use", "slice_p")


def prodigy_problems(cfg: TrainingConfig) -> list[str]:
    """What Prodigy refuses once training starts, found from the config alone (engine/optim.py's preflight raises
    the same lines): two different learning rates for the UNet and the text encoder (prodigyopt raises on the first
    step), and optimizer_args it has no argument for (D-Adaptation's momentum or log_every, imported with it).
    Each line starts "Prodigy "."""
    o, n = cfg.optimizer, cfg.network
    if o.optimizer_type != "Prodigy":
        return []
    problems = []
    unet_lr = o.unet_lr if o.unet_lr is not None else o.learning_rate
    te_lr = o.text_encoder_lr if o.text_encoder_lr is not None else o.learning_rate
    both = not (n.network_train_unet_only or n.network_train_text_encoder_only)
    if both and unet_lr and te_lr and unet_lr != te_lr:
        problems.append(f"Prodigy needs one learning rate for the UNet and the text encoder (unet_lr {unet_lr} vs "
                        f"text_encoder_lr {te_lr}): set them equal (usually 1.0), or text_encoder_lr = 0 to train the UNet "
                        "only")
    args = o.optimizer_args if isinstance(o.optimizer_args, list) else []
    unknown = [a for a in args if isinstance(a, str) and a.partition("=")[0].strip() not in PRODIGY_ARGS]
    if unknown:
        problems.append(f"Prodigy takes no optimizer_args {', '.join(unknown)}: remove them (it takes "
                        f"{', '.join(PRODIGY_ARGS)})")
    return problems


def latents_cached(dataset) -> bool:
    """Whether a run caches latents: cache_latents, or cache_latents_to_disk, which turns it on (sd-scripts'
    verify_training_args does so with a warning). `train` runs on with_resolved_paths' copy, where cache_latents
    is already true; what reads a config as written (validate, core.plan, engine.data) checks both keys."""
    return bool(dataset.cache_latents or dataset.cache_latents_to_disk)


def cache_latents_note(cfg: TrainingConfig) -> str | None:
    """The note when cache_latents_to_disk = true turns cache_latents = false on; None otherwise."""
    d = cfg.dataset
    if d.cache_latents_to_disk and not d.cache_latents:
        return ("dataset.cache_latents_to_disk = true turns dataset.cache_latents on (its false is overridden, as "
                "sd-scripts does): latents are cached; set cache_latents = true to say so, or turn both off to "
                "encode every step")
    return None


def bucket_bounds(d) -> tuple[int, int]:
    """(min_bucket_reso, max_bucket_reso) as sd-scripts uses them: min rounded down and max up to a multiple of
    bucket_reso_steps (adjust_min_max_bucket_reso_by_steps; core.plan's make_buckets rounds the same way)."""
    steps = max(1, d.bucket_reso_steps)
    low = d.min_bucket_reso - d.min_bucket_reso % steps
    high = d.max_bucket_reso + (steps - d.max_bucket_reso % steps) % steps
    return low, high


def _bucket_bounds_problems(d) -> list[str]:
    """sd-scripts' asserts on the bucket bounds, checked on the rounded values it checks (max 250 with steps 64
    is 256, so resolution 256 is fine); a bound that was rounded is named with both values."""
    low, high = bucket_bounds(d)
    if low > high:
        return [f"min_bucket_reso ({d.min_bucket_reso}) is larger than max_bucket_reso ({d.max_bucket_reso})"]
    shown_low = f"{d.min_bucket_reso}" + (f", rounded down to {low}" if low != d.min_bucket_reso else "")
    shown_high = f"{d.max_bucket_reso}" + (f", rounded up to {high}" if high != d.max_bucket_reso else "")
    w, h = d.resolution
    if min(w, h) < low or max(w, h) > high:
        return [f"resolution {w}x{h} must lie between min_bucket_reso ({shown_low}) and max_bucket_reso "
                f"({shown_high}) when enable_bucket is true"]
    return []


_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")


def resolve_path(cfg: TrainingConfig, value: str, *, key: str | None = None) -> str:
    """A path from the config made absolute against the config's folder ("" stays "").

    For ``pretrained_model_name_or_path`` a value that looks like a Hugging Face repo id
    ("org/name", not a .safetensors/.ckpt file name) and is not an existing path is returned unchanged.
    """
    if not value:
        return value
    path = Path(os.path.expanduser(value))
    joined = config_relative_path(cfg.config_dir or Path.cwd(), value)  # the rule `dataset CONFIG` reads by too
    if key == "pretrained_model_name_or_path" and not path.is_absolute() and not joined.exists() \
            and _REPO_ID.match(value) and not value.lower().endswith((".safetensors", ".ckpt", ".pt", ".bin")):
        return value
    return str(joined)


def with_resolved_paths(cfg: TrainingConfig) -> TrainingConfig:
    """A copy of ``cfg`` whose path fields are absolute (what the engine should use), with cache_latents on when
    cache_latents_to_disk is (as sd-scripts turns it on: see cache_latents_note), so the run reads one flag."""
    out = TrainingConfig(**{s: dataclasses.replace(getattr(cfg, s)) for s in SECTIONS})
    for section, key in PATH_KEYS:
        sec = getattr(out, section)
        setattr(sec, key, resolve_path(cfg, getattr(sec, key), key=key))
    if latents_cached(out.dataset):
        out.dataset.cache_latents = True
    out.config_dir = cfg.config_dir
    return out
