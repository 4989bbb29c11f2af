"""Export a loratui config as sd-scripts' two TOML files, to train the same LoRA with kohya's scripts.

``config.toml`` holds flat arguments of train_network.py / sdxl_train_network.py (sd-scripts reads
``--config_file`` TOML tables flattened, so flat keys are the simplest form). ``dataset.toml`` is a
``--dataset_config`` with one [[datasets]] entry and one [[datasets.subsets]] per ``N_name`` folder of
train_data_dir (and reg_data_dir, with is_reg = true), picked the way sd-scripts picks them
(core.dataset.concept_folders: the list the scan and `loratui steps` count); only the folder names
and image counts are read, no image headers. Dataset options live only in dataset.toml:
sd-scripts ignores the command-line dataset options when a dataset config is given.

Paths are written absolute (sd-scripts runs from its own folder). Both files are written or
neither (a staging folder renamed into place); an earlier export is replaced only when asked.
"""

from __future__ import annotations

import os
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from loratui.core.config.base_model import model_folder_family, model_folder_v_prediction
from loratui.core.config.schema import TrainingConfig
from loratui.core.config.load import with_resolved_paths
from loratui.core.config.network_args import split_network_args
from loratui.core.dataset import concept_folders
from loratui.core.errors import LoratuiError
from loratui.core.fsutil import describe_os_error, staging_folder, write_new_file
from loratui.core.termline import shell_arg
from loratui.core.dataset import is_image

@dataclass
class Subset:
    image_dir: str
    num_repeats: int
    class_tokens: str
    is_reg: bool
    image_count: int


@dataclass
class SdScriptsExport:
    family: str
    script: str
    train_args: dict[str, Any]
    dataset: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)  # "# " lines written at the top of config.toml
    num_processes: int | None = None  # the process count the export was made for (None: not known)

    def command(self, config_path: str | os.PathLike, dataset_path: str | os.PathLike) -> str:
        # the process count lr_warmup_steps was scaled for: launched with another, the warmup differs
        processes = f"--multi_gpu --num_processes {self.num_processes} " if (self.num_processes or 1) > 1 else ""
        return (f"accelerate launch {processes}--num_cpu_threads_per_process 1 {self.script} "
                f"--config_file {shlex.quote(str(config_path))} --dataset_config {shlex.quote(str(dataset_path))}")


def find_subsets(folder: str, is_reg: bool) -> tuple[list[Subset], list[str]]:
    """The N_name subfolders of a kohya-layout folder (sorted) that sd-scripts trains, chosen by
    core.dataset's concept_folders (the list the scan and `loratui steps` count), plus a note for each
    entry left out (with the scan's reason) and each folder without images."""
    root = Path(folder)
    if not root.is_dir():
        kind = "reg_data_dir" if is_reg else "train_data_dir"
        raise LoratuiError(f"{kind} {shell_arg(folder)} is not a folder")
    folders, problems = concept_folders(root, is_reg)
    notes = [f"skipped: {problem.message}" for problem in problems if problem.severity != "info"]
    subsets = []
    for concept in folders:
        count = sum(1 for p in concept.path.iterdir() if p.is_file() and is_image(p.name))
        if count == 0:
            notes.append(f"skipped {shell_arg(concept.path)}: no images")
            continue
        subsets.append(Subset(str(concept.path), concept.repeats, concept.class_tokens, is_reg, count))
    return subsets, notes


def guess_model_family(path: str) -> str | None:
    """sd1/sd2/sdxl read from a diffusers folder or a single file's keys (no weights read; families.py's
    cached reader, the one `vram`, `presets` and `steps` use); None if it cannot be read."""
    from loratui.core.config.families import read_model_family

    try:
        return read_model_family(path)
    except LoratuiError:
        return None


def _folder_predicts_v(model: str, notes: list[str]) -> bool:
    """`train` trains v-prediction when the diffusers folder's scheduler says so, whatever the config says."""
    folder = Path(model)
    try:
        if not folder.is_dir() or not model_folder_v_prediction(folder):
            return False
    except LoratuiError as exc:
        notes.append(f"{exc}: v_parameterization taken from the config only")
        return False
    notes.append(f"v_parameterization = true: {folder / 'scheduler' / 'scheduler_config.json'} says "
                 "prediction_type = v_prediction, which `loratui train` follows (sd-scripts does not read it)")
    return True


# The multiple sd-scripts' trainers need of bucket_reso_steps (its verify_bucket_reso_steps asserts it at
# start-up when bucketing is on); loratui trains the others too (a diffusers UNet takes any latent size).
SDSCRIPTS_RESO_STEPS = {"sd1": 64, "sd2": 64, "sdxl": 32}


def sdscripts_refusals(cfg: TrainingConfig, family: str | None = None) -> list[str]:
    """What sd-scripts would stop on though `loratui train` trains it, one line each: `config check`
    reports these and `config export-sdscripts` (and Settings' f4) refuses them without --force; they
    are not in validate(), which `train` runs. ``family`` overrides model_family (--family); auto is read
    from the base model's files as the export reads it."""
    d = cfg.dataset
    if not d.enable_bucket:  # the export writes no bucket_reso_steps then, and sd-scripts checks none
        return []
    family = family or cfg.model.model_family
    if family == "auto":
        model = with_resolved_paths(cfg).model.pretrained_model_name_or_path
        family = guess_model_family(model) if model else None
    steps = d.bucket_reso_steps
    tail = "; `loratui train` trains it, `config export-sdscripts` stops on it): set bucket_reso_steps = 64"
    if family in SDSCRIPTS_RESO_STEPS:
        need = SDSCRIPTS_RESO_STEPS[family]
        if steps % need:
            which = "SDXL" if family == "sdxl" else "SD1/SD2"
            return [f"bucket_reso_steps {steps} is not divisible by {need}: sd-scripts' {which} trainer refuses "
                    f"it (it needs a multiple of {need}{tail}"]
    elif steps % 32:  # family unknown: refused by every trainer
        return [f"bucket_reso_steps {steps} is not divisible by 32: sd-scripts refuses it for every family "
                f"(its SD1/SD2 trainer needs a multiple of 64, its SDXL trainer of 32{tail}"]
    return []


def noise_loss_args(t) -> dict[str, Any]:
    """The noise and loss-weight arguments, in sd-scripts' names; an option that is off is left out (sd-scripts'
    "not given"), and multires_noise_discount goes with multires_noise_iterations (engine/metadata.py reads the
    same)."""
    a: dict[str, Any] = {}
    if t.noise_offset:
        a["noise_offset"] = t.noise_offset
        if t.noise_offset_random_strength:
            a["noise_offset_random_strength"] = True
        if t.adaptive_noise_scale is not None:
            a["adaptive_noise_scale"] = t.adaptive_noise_scale
    if t.multires_noise_iterations:
        a["multires_noise_iterations"] = t.multires_noise_iterations
        a["multires_noise_discount"] = t.multires_noise_discount
    if t.ip_noise_gamma:
        a["ip_noise_gamma"] = t.ip_noise_gamma
        if t.ip_noise_gamma_random_strength:
            a["ip_noise_gamma_random_strength"] = True
    if t.zero_terminal_snr:
        a["zero_terminal_snr"] = True
    if t.min_snr_gamma is not None:
        a["min_snr_gamma"] = t.min_snr_gamma
    if t.scale_v_pred_loss_like_noise_pred:
        a["scale_v_pred_loss_like_noise_pred"] = True
    if t.v_pred_like_loss:
        a["v_pred_like_loss"] = t.v_pred_like_loss
    if t.debiased_estimation_loss:
        a["debiased_estimation_loss"] = True
    return a


def build_sdscripts(cfg: TrainingConfig, family: str | None = None, num_processes: int | None = None
                    ) -> SdScriptsExport:
    """The two TOML documents as dicts (nothing written). ``family`` overrides model_family; ``num_processes``
    is the number of processes (GPUs) sd-scripts will run on, when known (it scales an integer warmup)."""
    r = with_resolved_paths(cfg)
    m, d, n, o, t, s, smp = r.model, r.dataset, r.network, r.optimizer, r.training, r.saving, r.sampling
    notes: list[str] = []
    comments: list[str] = []
    family = family or (m.model_family if m.model_family != "auto" else guess_model_family(
        m.pretrained_model_name_or_path))
    if family is None:
        raise LoratuiError("model_family is auto and the base model's family could not be read: set "
                           "model_family (sd1, sd2 or sdxl) in [model] or pass --family")
    if not m.pretrained_model_name_or_path:
        raise LoratuiError("pretrained_model_name_or_path is empty: set the base model in [model]")
    if not d.train_data_dir:
        raise LoratuiError("train_data_dir is empty: set the training images folder in [dataset]")

    a: dict[str, Any] = {"pretrained_model_name_or_path": m.pretrained_model_name_or_path}
    if family == "sd2":
        a["v2"] = True
    if m.v_parameterization or _folder_predicts_v(m.pretrained_model_name_or_path, notes):
        a["v_parameterization"] = True
    if m.vae:
        a["vae"] = m.vae
    a.update(network_module=n.network_module, network_dim=n.network_dim, network_alpha=n.network_alpha)
    if n.network_module == "lycoris.kohya" and n.network_args:
        # key=value without spaces or quotes: sd-scripts splits on "=" and strips nothing ("algo = loha" would
        # reach LyCORIS as the key "algo " and train a LoCon; algo="loha" would stop it), loratui strips both
        a["network_args"] = [f"{key}={value}" for key, value in split_network_args(list(n.network_args))[0].items()]
    if n.conv_dim and n.network_module == "lycoris.kohya":
        # loratui's LyCORIS network reads conv_dim from network_args only (config check says so): the export
        # trains what `loratui train` trains, so the [network] key is not merged in
        notes.append(f"conv_dim = {n.conv_dim} left out: with lycoris.kohya it is read from network_args "
                     f"(\"conv_dim={n.conv_dim}\"), where `loratui train` reads it too")
    elif n.conv_dim:  # networks.lora: LoCon's conv layers, added to (never replacing) the list
        args = a.setdefault("network_args", [])
        args += [f"conv_dim={n.conv_dim}", f"conv_alpha={_num(n.conv_alpha)}"]
    if n.network_dropout:
        a["network_dropout"] = n.network_dropout
    for flag in ("network_train_unet_only", "network_train_text_encoder_only"):
        if getattr(n, flag):
            a[flag] = True
    if n.network_weights:
        a["network_weights"] = n.network_weights

    a.update(optimizer_type=o.optimizer_type, learning_rate=o.learning_rate)
    optimizer_args = o.effective_optimizer_args()  # key=value, stripped: sd-scripts splits on "=" and strips nothing
    if optimizer_args:
        a["optimizer_args"] = optimizer_args
    added = o.implied_optimizer_args()
    if added:
        notes.append(f"optimizer_args {', '.join(added)} added: loratui's Adafactor defaults (a fixed learning_rate "
                     "with lr_scheduler); sd-scripts' own default, relative_step=True, would train with Adafactor's "
                     "internal schedule instead")
    for key in ("unet_lr", "text_encoder_lr"):
        if getattr(o, key) is not None:
            a[key] = getattr(o, key)
    a["lr_scheduler"] = o.lr_scheduler
    if o.lr_warmup_steps and o.lr_scheduler == "constant":
        notes.append("lr_warmup_steps left out: sd-scripts refuses a warmup with the constant scheduler "
                     "(use constant_with_warmup)")
    else:
        a["lr_warmup_steps"] = _warmup_steps(o.lr_warmup_steps, num_processes, notes, comments)
    if isinstance(o.lr_warmup_steps, float) and 0 < o.lr_warmup_steps < 1:
        notes.append("lr_warmup_steps is a ratio of the total steps: this needs a recent sd-scripts "
                     "(older ones take a step count only)")
    if o.lr_scheduler == "cosine_with_restarts":
        a["lr_scheduler_num_cycles"] = o.lr_scheduler_num_cycles
    if o.lr_scheduler == "polynomial":
        a["lr_scheduler_power"] = o.lr_scheduler_power
    a["max_grad_norm"] = o.max_grad_norm

    if t.max_train_epochs is not None:
        a["max_train_epochs"] = t.max_train_epochs
    if t.max_train_steps is not None:
        a["max_train_steps"] = t.max_train_steps
    a.update(gradient_accumulation_steps=t.gradient_accumulation_steps, mixed_precision=t.mixed_precision)
    if t.mixed_precision != "no":
        # `loratui train` always encodes latents with the VAE in fp32 (engine/run.py); sd-scripts runs it in the
        # mixed precision unless told, and the SDXL VAE gives NaN latents in fp16
        a["no_half_vae"] = True
    for flag in ("full_bf16", "full_fp16", "gradient_checkpointing", "sdpa", "xformers",
                 "cache_text_encoder_outputs", "torch_compile"):
        if getattr(t, flag):
            a[flag] = True
    changed = [k for k in ("caption_prefix", "caption_suffix", "secondary_separator") if getattr(d, k)]
    if a.get("cache_text_encoder_outputs") and family == "sdxl" and changed:
        # sdxl_train_network.py caches the caption files' text as written (strategy_sdxl: info.caption)
        del a["cache_text_encoder_outputs"]
        line = (f"cache_text_encoder_outputs left out: sd-scripts' SDXL cache encodes the caption files as written, "
                f"without {', '.join(changed)}, which `loratui train` applies; uncached it applies them too (slower)")
        notes.append(line)
        comments.append(line)
    if a.get("cache_text_encoder_outputs") and family != "sdxl":
        # only sdxl_train_network.py has the argument; train_network.py would pass the key through unread
        del a["cache_text_encoder_outputs"]
        line = ("cache_text_encoder_outputs left out: sd-scripts' train_network.py (SD 1.x/2.x) has no such "
                "argument, so the text encoder runs each step there (same result, slower; `loratui train` caches)")
        notes.append(line)
        comments.append(line)
    a.update(noise_loss_args(t))
    if family != "sdxl":  # 1 too, as kohya_ss passes it: sd-scripts then writes ss_clip_skip and encoder_layer
        a["clip_skip"] = t.clip_skip
    elif t.clip_skip != 1:
        notes.append("clip_skip is not used by sdxl_train_network.py: left out")
    if t.max_token_length != 75:  # sd-scripts accepts only 150 or 225; unset means 75
        a["max_token_length"] = t.max_token_length
    a["seed"] = t.seed
    if d.cache_latents:
        a["cache_latents"] = True
    if d.cache_latents_to_disk:
        a["cache_latents_to_disk"] = True
    a.update(max_data_loader_n_workers=d.max_data_loader_n_workers, prior_loss_weight=d.prior_loss_weight)

    a.update(output_dir=s.output_dir, output_name=s.output_name, save_model_as=s.save_model_as,
             save_precision=s.save_precision)
    for key in ("save_every_n_epochs", "save_every_n_steps", "save_last_n_epochs", "save_last_n_steps"):
        if getattr(s, key) is not None:
            a[key] = getattr(s, key)
    for flag in ("save_state", "save_state_on_train_end"):
        if getattr(s, flag):
            a[flag] = True
    for key in ("resume", "metadata_title", "metadata_author", "metadata_description", "metadata_license",
                "metadata_tags"):
        if getattr(s, key):
            a[key] = getattr(s, key)
    if s.metadata_description:  # sd-scripts' ss_training_comment (what loratui's saves write there too)
        a["training_comment"] = s.metadata_description

    if smp.sample_prompts:
        a.update(sample_prompts=smp.sample_prompts, sample_sampler=smp.sample_sampler)
        for key in ("sample_every_n_epochs", "sample_every_n_steps"):
            if getattr(smp, key) is not None:
                a[key] = getattr(smp, key)
        if smp.sample_at_first:
            a["sample_at_first"] = True

    subsets, found_notes = find_subsets(d.train_data_dir, False)
    notes += found_notes
    if not subsets:
        raise LoratuiError(f"train_data_dir {shell_arg(d.train_data_dir)} has no N_name folders with images "
                           "(e.g. 10_mychar/ holding the images)")
    if d.reg_data_dir:
        reg, reg_notes = find_subsets(d.reg_data_dir, True)
        subsets += reg
        notes += reg_notes
    general: dict[str, Any] = {"caption_separator": d.caption_separator}
    for key in ("flip_aug", "random_crop"):
        if getattr(d, key):
            general[key] = True
    for key in ("caption_dropout_rate", "caption_dropout_every_n_epochs", "caption_tag_dropout_rate",
                "keep_tokens_separator", "secondary_separator", "caption_prefix", "caption_suffix"):
        if getattr(d, key):  # [general]: sd-scripts applies them to every subset, reg ones too, as loratui does
            general[key] = getattr(d, key)
    w, h = d.resolution
    dataset: dict[str, Any] = {
        "resolution": w if w == h else [w, h],
        "batch_size": t.train_batch_size,
        "enable_bucket": d.enable_bucket,
    }
    if d.enable_bucket:
        dataset.update(min_bucket_reso=d.min_bucket_reso, max_bucket_reso=d.max_bucket_reso,
                       bucket_reso_steps=d.bucket_reso_steps, bucket_no_upscale=d.bucket_no_upscale)
    dataset["subsets"] = [_subset_table(sub, d) for sub in subsets]
    script = "sdxl_train_network.py" if family == "sdxl" else "train_network.py"
    return SdScriptsExport(family, script, a, {"general": general, "datasets": [dataset]}, notes, comments,
                           num_processes)


def _warmup_steps(value: int | float, num_processes: int | None, notes: list[str], comments: list[str]) -> int | float:
    """lr_warmup_steps for sd-scripts. loratui counts a warmup in optimizer steps; sd-scripts' get_scheduler_fix
    stretches the schedule to max_train_steps x N but not an integer warmup, and accelerate steps it N times per
    optimizer step, so there an integer warmup ends after value / N optimizer steps: it is written x N. A ratio
    (< 1) lands on the same step in both."""
    if not value or (isinstance(value, float) and value < 1):
        return value
    if num_processes is None:
        line = (f"lr_warmup_steps = {value:g} is loratui's count of optimizer steps: on N processes (GPUs) set it "
                f"to {value:g} x N here, as sd-scripts steps the schedule N times per optimizer step (a ratio below 1 "
                "needs no change)")
        notes.append(line)
        comments.append(line)
        return value
    if num_processes <= 1:
        return value
    scaled = value * num_processes
    line = (f"lr_warmup_steps = {scaled:g}: {value:g} optimizer steps on {num_processes} processes, as sd-scripts "
            f"counts it (its schedule steps {num_processes} times per optimizer step)")
    notes.append(line)
    comments.append(line)
    return int(scaled) if float(scaled).is_integer() else scaled


def _subset_table(sub: Subset, d) -> dict[str, Any]:
    table: dict[str, Any] = {"image_dir": sub.image_dir, "num_repeats": sub.num_repeats}
    if sub.class_tokens:
        table["class_tokens"] = sub.class_tokens
    table.update(is_reg=sub.is_reg, caption_extension=d.caption_extension, keep_tokens=d.keep_tokens,
                 shuffle_caption=d.shuffle_caption)
    return table


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


EXPORT_FILES = ("config.toml", "dataset.toml")


EXPORT_HEADER = b"# Written by `loratui config export-sdscripts`"


def _written_by_export(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(len(EXPORT_HEADER)) == EXPORT_HEADER
    except OSError:
        return False


def earlier_export(out_dir: str | os.PathLike) -> list[Path]:
    """The files of an earlier export in ``out_dir`` (which an export would overwrite): those this
    command wrote, known by their first line. Another file of the same name is never overwritten."""
    found = [Path(out_dir) / name for name in EXPORT_FILES]
    return [path for path in found if os.path.lexists(path) and _written_by_export(path)]


def refuse_foreign_export_files(out: Path) -> None:
    for path in (out / name for name in EXPORT_FILES):
        if os.path.lexists(path) and not _written_by_export(path):
            raise LoratuiError(f"{path}: exists and was not written by `loratui config export-sdscripts` (your own "
                               "config?): nothing was written; pass another --output-dir")


def _utf8(value: Any) -> None:
    """LoratuiError naming the first string (a path) that cannot be written into a UTF-8 TOML file:
    a file name in another encoding reaches Python as lone surrogates."""
    if isinstance(value, dict):
        for item in value.values():
            _utf8(item)
    elif isinstance(value, list):
        for item in value:
            _utf8(item)
    elif isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            shown = value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            raise LoratuiError(f"{shown}: this name is not valid UTF-8 (it was made on a system with another "
                               "encoding) and sd-scripts' TOML files hold UTF-8 text: rename it; nothing was "
                               "written") from None


def export_sdscripts(cfg: TrainingConfig, out_dir: str | os.PathLike, family: str | None = None, *,
                     overwrite: bool = False, num_processes: int | None = None) -> tuple[SdScriptsExport, Path, Path]:
    """Write OUT_DIR/config.toml and OUT_DIR/dataset.toml, both or neither; returns (export, paths...).

    They are built in a staging folder beside OUT_DIR, then moved into place (OUT_DIR itself is
    renamed into place when new), so a full disk or a bad name leaves nothing half-written. The
    files of an earlier export are replaced only with ``overwrite`` (LoratuiError otherwise).
    """
    export = build_sdscripts(cfg, family, num_processes)
    out = Path(out_dir)
    _utf8(export.train_args)
    _utf8(export.dataset)
    header = "# Written by `loratui config export-sdscripts`: sd-scripts {}.\n"
    notes = "".join(f"# {line}\n" for line in export.comments)  # what a reader of the file must know
    texts = {"config.toml": header.format(f"--config_file for {export.script}") + notes
             + tomli_w.dumps(export.train_args),
             "dataset.toml": header.format("--dataset_config") + tomli_w.dumps(export.dataset)}
    if os.path.lexists(out) and not out.is_dir():
        raise LoratuiError(f"{out}: exists and is not a folder: pass another --output-dir")
    refuse_foreign_export_files(out)
    earlier = earlier_export(out)
    if earlier and not overwrite:
        raise LoratuiError(f"{earlier[0]}: an earlier export is there; nothing was written: pass --yes to "
                           "overwrite it, or another --output-dir")
    stage = None
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        stage = staging_folder(out)
        for name, text in texts.items():
            write_new_file(stage / name, text.encode("utf-8"))
        if not out.exists():
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(stage, 0o777 & ~umask)
            os.rename(stage, out)
            stage = None
        else:
            for name in EXPORT_FILES:  # two renames: the pair is complete before either moves
                os.replace(stage / name, out / name)
    except OSError as exc:
        raise LoratuiError(f"{out}: cannot write the sd-scripts files ({describe_os_error(exc)}); "
                           "nothing was written") from None
    finally:
        if stage is not None:
            shutil.rmtree(stage, ignore_errors=True)
    return export, (out / "config.toml").resolve(), (out / "dataset.toml").resolve()
