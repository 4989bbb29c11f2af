"""The training config: typed sections whose fields carry their own help text.

Key names are sd-scripts' argument names wherever one exists, so kohya users recognise every field.
The TOML file has one table per section: [model] [dataset] [network] [optimizer] [training] [saving]
[sampling]. Optional fields (``None``) are simply absent from the file.

Each field's metadata holds:
  help     one or two sentences, shown by the settings form and `loratui config explain`
  choices  allowed values (strings compare case-insensitively on load, stored in canonical case)
  min/max  numeric bounds (inclusive)

Loading, validation and the kohya_ss / sd-scripts converters live in load.py and the other modules of this package;
this module only declares the schema.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from loratui.core.config.network_args import NETWORK_MODULES

MODEL_FAMILIES = ("auto", "sd1", "sd2", "sdxl")
OPTIMIZERS = ("AdamW", "AdamW8bit", "Lion", "Lion8bit", "Adafactor", "Prodigy", "SGD")
SCHEDULERS = (
    "constant",
    "constant_with_warmup",
    "linear",
    "cosine",
    "cosine_with_restarts",
    "polynomial",
)
MIXED_PRECISION = ("no", "fp16", "bf16")
SAVE_PRECISION = ("float", "fp16", "bf16")
# sd-scripts' --sample_sampler choices (its default is ddim; the k_ names are the same samplers), and ddpm,
# which its get_my_scheduler still builds; core/config/prompts.py SCHEDULER_CLASSES has the same names
SAMPLERS = ("ddim", "pndm", "lms", "euler", "euler_a", "heun", "dpm_2", "dpm_2_a", "dpmsolver", "dpmsolver++",
            "dpmsingle", "k_lms", "k_euler", "k_euler_a", "k_dpm_2", "k_dpm_2_a", "ddpm")


def opt(default: Any, help: str, *, choices: tuple | None = None, min: float | None = None,
        max: float | None = None, factory: Any = None) -> Any:
    """Declare a config field with its help text and constraints."""
    metadata = {"help": help, "choices": choices, "min": min, "max": max}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class ModelSection:
    pretrained_model_name_or_path: str = opt(
        "", "Base model: a diffusers folder, a single .safetensors checkpoint (or .ckpt, loaded with "
        "weights_only). A Hugging Face repo id is kept for the sd-scripts export; to train here, download it "
        "first (`hf download ORG/NAME --local-dir models/NAME`) and give that folder.")
    model_family: str = opt(
        "auto", "Model family: auto-detected from the weights, or forced to sd1, sd2 or sdxl.",
        choices=MODEL_FAMILIES)
    v_parameterization: bool = opt(
        False, "Train with v-prediction (SD 2.x 768-v models). When off: epsilon prediction, except for a "
        "diffusers folder whose scheduler/scheduler_config.json says prediction_type = v_prediction, which is "
        "trained as v-prediction (`config check` and the run say so; the sd-scripts export sets "
        "v_parameterization = true, as sd-scripts does not read that file).")
    vae: str = opt("", "Optional separate VAE (.safetensors file or diffusers folder) to use instead of "
                       "the checkpoint's own.")


@dataclass
class DatasetSection:
    train_data_dir: str = opt(
        "", "Training images: a folder of N_concept subfolders (N = repeats, the rest = class tokens).")
    reg_data_dir: str = opt("", "Regularisation images, same N_concept layout. Empty for none.")
    resolution: tuple[int, int] = opt(
        (512, 512), "Training resolution as width,height (one number means square), e.g. 512 or 1024.",
        min=64, max=8192)
    caption_extension: str = opt(".txt", "Extension of the caption file next to each image.")
    caption_separator: str = opt(",", "Separator between tags in captions (for shuffle and dropout).")
    enable_bucket: bool = opt(True, "Aspect-ratio bucketing: train each image at the bucket closest to "
                                    "its aspect ratio instead of cropping to a square.")
    min_bucket_reso: int = opt(256, "Smallest bucket side in pixels.", min=64, max=8192)
    max_bucket_reso: int = opt(1024, "Largest bucket side in pixels.", min=64, max=8192)
    bucket_reso_steps: int = opt(64, "Bucket sides are multiples of this (64 recommended, 8 minimum).",
                                 min=8, max=1024)
    bucket_no_upscale: bool = opt(False, "Never upscale small images to fit a bucket: they get their own "
                                         "smaller bucket.")
    shuffle_caption: bool = opt(False, "Shuffle the tags of each caption every time it is used.")
    keep_tokens: int = opt(0, "Number of leading tags kept in place when shuffling (e.g. 1 for a "
                              "trigger word).", min=0, max=255)
    keep_tokens_separator: str = opt(
        "", "A mark in captions that ends the fixed tags, e.g. \"|||\" in \"mychar, 1girl ||| smile, outdoors\": "
        "with shuffle_caption or caption_tag_dropout_rate on, the tags before it stay in front and are never "
        "dropped (in place of keep_tokens, for each caption that holds it), the tags after a second one stay at "
        "the end, and the marks are removed. With both off the caption is used as written, the mark in it as "
        "text (as in sd-scripts). Empty = off.")
    secondary_separator: str = opt(
        "", "A second tag separator, e.g. \";;;\" in \"red hair;;;blue eyes, smile\": the tags it joins shuffle and "
        "drop as one tag, and it is then replaced by caption_separator (\"red hair,blue eyes\"). Empty = off.")
    caption_prefix: str = opt(
        "", "Text put before every caption, training and reg images alike, e.g. \"masterpiece, best quality,\": "
        "joined with one space (end it with the separator to keep it a tag of its own); it counts for "
        "keep_tokens and is dropped with the caption by caption dropout. Empty = none.")
    caption_suffix: str = opt(
        "", "Text put after every caption, joined with one space (start it with the separator, e.g. \", "
        "high quality\", to keep it a tag of its own); it shuffles with the other tags. Empty = none.")
    caption_dropout_rate: float = opt(0.0, "Probability of training an image with an empty caption.",
                                      min=0.0, max=1.0)
    caption_dropout_every_n_epochs: int = opt(0, "Drop all captions every N epochs (0 = never).", min=0)
    caption_tag_dropout_rate: float = opt(0.0, "Probability of dropping each tag (except kept tokens).",
                                          min=0.0, max=1.0)
    flip_aug: bool = opt(False, "Randomly mirror images horizontally (with cache_latents both the image and "
                                "its mirror are cached).")
    random_crop: bool = opt(False, "Random instead of centre crop inside the bucket.")
    cache_latents: bool = opt(True, "Encode every image with the VAE once before training and keep the "
                                    "latents (saves VRAM and time; disables per-step image augmentation).")
    cache_latents_to_disk: bool = opt(False, "Store cached latents next to each image "
                                             "(<image>.loratui-latents.safetensors) so later runs reuse them.")
    prior_loss_weight: float = opt(1.0, "Loss weight of regularisation images.", min=0.0, max=100.0)
    max_data_loader_n_workers: int = opt(2, "Worker processes loading images (0 = in the main process).",
                                         min=0, max=64)


@dataclass
class NetworkSection:
    network_dim: int = opt(16, "LoRA rank: the size of each low-rank update. 8 to 32 is typical.",
                           min=1, max=1024)
    network_alpha: float = opt(8.0, "LoRA alpha: updates are scaled by alpha / dim. Often dim or dim/2.",
                               min=0.0, max=1024.0)
    conv_dim: int = opt(0, "Rank for the UNet's 3x3 conv layers (LoCon-style). 0 = do not train them.",
                        min=0, max=1024)
    conv_alpha: float = opt(1.0, "Alpha for the conv layers.", min=0.0, max=1024.0)
    network_dropout: float = opt(0.0, "Dropout on the LoRA down-projection output.", min=0.0, max=1.0)
    network_train_unet_only: bool = opt(False, "Train only the UNet, not the text encoder(s).")
    network_train_text_encoder_only: bool = opt(False, "Train only the text encoder(s), not the UNet.")
    network_weights: str = opt("", "Continue from an existing LoRA .safetensors (kohya format).")
    network_module: str = opt(
        "networks.lora", "networks.lora: kohya LoRA (LoCon with conv_dim). lycoris.kohya: a LyCORIS network "
        "(LoCon, LoHa, LoKr, DoRA, full) chosen by network_args, trained by the lycoris-lora package as "
        "kohya_ss does.", choices=NETWORK_MODULES)
    network_args: list[str] = opt(
        None, "sd-scripts' --network_args for lycoris.kohya as key=value strings, e.g. [\"algo=loha\", "
        "\"preset=full\", \"conv_dim=8\", \"conv_alpha=4\"]. `loratui config explain KEY` explains each "
        "(algo, preset, conv_dim, conv_alpha, dropout, rank_dropout, module_dropout, use_tucker, use_scalar, "
        "dora_wd, factor, decompose_both, train_norm, ...).", factory=list)


@dataclass
class OptimizerSection:
    optimizer_type: str = opt("AdamW8bit", "Optimizer. AdamW8bit and Lion8bit (bitsandbytes) save VRAM; "
                                          "Prodigy sets its own step size (use learning_rate 1). Adafactor "
                                          "trains at learning_rate with lr_scheduler here: scale_parameter, "
                                          "relative_step and warmup_init are False unless optimizer_args set "
                                          "them, while sd-scripts defaults to relative_step=True (Adafactor's "
                                          "own schedule, lr_scheduler ignored), which loratui refuses. The "
                                          "sd-scripts export and ss_optimizer write these args out.",
                              choices=OPTIMIZERS)
    optimizer_args: list[str] = opt(None, "Extra optimizer arguments as key=value strings, e.g. "
                                          "[\"weight_decay=0.01\", \"betas=0.9,0.99\"].", factory=list)
    learning_rate: float = opt(1e-4, "Learning rate for everything that has no own rate.", min=0.0, max=10.0)
    unet_lr: float | None = opt(None, "Learning rate for the UNet LoRA (default: learning_rate).",
                                min=0.0, max=10.0)
    text_encoder_lr: float | None = opt(None, "Learning rate for the text encoder LoRA (default: "
                                              "learning_rate).", min=0.0, max=10.0)
    lr_scheduler: str = opt("cosine", "Learning-rate schedule.", choices=SCHEDULERS)
    lr_warmup_steps: int | float = opt(0, "Warmup: a number of steps, or a fraction of the total below 1 "
                                    "(0.05 = 5%). Steps are optimizer steps, however many processes (GPUs) "
                                    "train; sd-scripts counts a step number in scheduler steps, N per optimizer "
                                    "step on N processes, so for sd-scripts it is multiplied by N (`config "
                                    "export-sdscripts` says so); a fraction means the same in both.", min=0)
    lr_scheduler_num_cycles: int = opt(1, "Restarts for cosine_with_restarts.", min=1, max=1000)
    lr_scheduler_power: float = opt(1.0, "Power of the polynomial schedule.", min=0.0, max=100.0)
    max_grad_norm: float = opt(1.0, "Clip gradients to this norm (0 = no clipping).", min=0.0)

    def effective_optimizer_args(self) -> list[str]:
        """optimizer_args as the optimizer gets them, ``key=value`` each (keys and values stripped, as
        sd-scripts needs them: it strips nothing): the given ones, then implied_optimizer_args. What
        `config export-sdscripts` writes and ss_optimizer shows."""
        return [f"{key}={value}" for key, value in _arg_pairs(self.optimizer_args)] + self.implied_optimizer_args()

    def implied_optimizer_args(self) -> list[str]:
        """The ``key=value`` strings loratui adds to optimizer_args: its Adafactor defaults for the keys
        left out (none for the other optimizers)."""
        if self.optimizer_type != "Adafactor":
            return []
        given = {key for key, _ in _arg_pairs(self.optimizer_args)}
        return [f"{key}={value}" for key, value in ADAFACTOR_DEFAULTS.items() if key not in given]

    def optimizer_args_problem(self) -> str | None:
        """What loratui refuses in optimizer_args though the optimizer would take it (one line), or None:
        Adafactor's relative_step=True (sd-scripts' own default), which replaces learning_rate and
        lr_scheduler with Adafactor's internal schedule, and warmup_init=True, which needs it."""
        if self.optimizer_type != "Adafactor":
            return None
        values = dict(_arg_pairs(self.optimizer_args))
        for key in ADAFACTOR_DEFAULTS:
            if key in values and _literal(values[key]) not in (True, False):
                return (f"optimizer_args {key}={values[key]}: Adafactor's {key} is Python's True or False "
                        f"(write {key}=False; sd-scripts reads {values[key]!r} as a string, which counts as on)")
        if _literal(values.get("relative_step", "False")):
            return ("optimizer_args relative_step=True (Adafactor's own learning-rate schedule, sd-scripts' "
                    "default) is not supported: remove it; loratui trains Adafactor at learning_rate with "
                    "lr_scheduler")
        if _literal(values.get("warmup_init", "False")):
            return ("optimizer_args warmup_init=True needs relative_step=True (sd-scripts turns it on then), "
                    "which loratui does not support; remove warmup_init (use lr_warmup_steps for a warmup)")
        return None


# What loratui gives transformers' Adafactor for the keys optimizer_args leave out: a fixed rate
# (learning_rate) stepped by lr_scheduler, like every other optimizer here. transformers' own defaults
# (scale_parameter=True, relative_step=True) and sd-scripts' (relative_step=True) train something else.
ADAFACTOR_DEFAULTS: dict[str, bool] = {"scale_parameter": False, "relative_step": False, "warmup_init": False}


def _arg_pairs(args: Any) -> list[tuple[str, str]]:
    """(key, value) of each ``key=value`` optimizer_args element, stripped; a kohya-style string is split
    as the field reads it. Malformed elements are the field's own problem (fields.py) and skipped here."""
    if isinstance(args, str):
        from loratui.core.config.fields import parse_list_text

        args = parse_list_text(args)
    pairs = []
    for item in args or []:
        key, sep, value = str(item).partition("=")
        if sep and key.strip():
            pairs.append((key.strip(), value.strip()))
    return pairs


def _literal(value: str) -> Any:
    """A value as sd-scripts reads it (ast.literal_eval), or the text itself."""
    import ast

    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return value


@dataclass
class TrainingSection:
    train_batch_size: int = opt(1, "Images per batch.", min=1, max=1024)
    gradient_accumulation_steps: int = opt(1, "Batches accumulated before each optimizer step.",
                                           min=1, max=1024)
    max_train_epochs: int | None = opt(None, "Train this many epochs (takes precedence over "
                                             "max_train_steps).", min=1, max=100000)
    max_train_steps: int | None = opt(None, "Train this many optimizer steps (used when "
                                            "max_train_epochs is not set).", min=1, max=10_000_000)
    mixed_precision: str = opt("bf16", "Autocast precision: bf16 (Ampere and newer), fp16 (older "
                                       "cards) or no (fp32).", choices=MIXED_PRECISION)
    full_bf16: bool = opt(False, "Keep the LoRA weights and gradients in bf16 too (less VRAM, "
                                 "slightly less precise).")
    full_fp16: bool = opt(False, "Keep the LoRA weights and gradients in fp16 (least VRAM, risky).")
    gradient_checkpointing: bool = opt(False, "Recompute activations in the backward pass: much less "
                                              "VRAM, about 20-30% slower.")
    sdpa: bool = opt(True, "Use PyTorch's scaled-dot-product attention (flash / memory-efficient kernels).")
    xformers: bool = opt(False, "Use xformers attention if installed (sdpa is usually as fast).")
    torch_compile: bool = opt(False, "Compile the UNet with torch.compile (CUDA): faster steps after a "
                                     "one-off compile of a minute or more, cached for later runs.")
    noise_offset: float = opt(0.0, "Noise offset (0.05-0.1 helps very dark/bright images). 0 = off.",
                              min=0.0, max=1.0)
    noise_offset_random_strength: bool = opt(
        False, "Draw each step's noise offset strength at random between 0 and noise_offset (needs noise_offset).")
    adaptive_noise_scale: float | None = opt(
        None, "Add this times each image's absolute latent mean (per channel) to noise_offset (0.01-0.1 is usual; "
        "negative lowers it, never below 0). Needs noise_offset. Off when unset.", min=-1.0, max=1.0)
    multires_noise_iterations: int = opt(
        0, "Multires (pyramid) noise: add noise at this many shrinking scales (6-10 is usual). 0 = off.",
        min=0, max=64)
    multires_noise_discount: float = opt(
        0.3, "Weight of each coarser multires noise scale (the n-th gets discount^n; 0.1-0.3 is usual). Used "
        "only with multires_noise_iterations.", min=0.0, max=1.0)
    ip_noise_gamma: float = opt(
        0.0, "Input-perturbation noise: the UNet sees this much extra noise (the target does not; 0.1 is usual). "
        "0 = off.", min=0.0, max=1.0)
    ip_noise_gamma_random_strength: bool = opt(
        False, "Draw each step's ip_noise_gamma at random between 0 and ip_noise_gamma (needs ip_noise_gamma).")
    zero_terminal_snr: bool = opt(
        False, "Rescale the noise schedule so its last timestep is pure noise (zero terminal SNR); meant for "
        "v-prediction models (v_parameterization).")
    min_snr_gamma: float | None = opt(None, "Min-SNR loss weighting gamma (5 is common). Off when unset.",
                                      min=0.0, max=100.0)
    scale_v_pred_loss_like_noise_pred: bool = opt(
        False, "Scale the v-prediction loss by SNR/(SNR+1), like a noise-prediction loss. V-prediction models "
        "only.")
    v_pred_like_loss: float = opt(
        0.0, "Add a v-prediction-like loss, this many times the loss / (SNR/(SNR+1)). Noise-prediction models "
        "only. 0 = off.", min=0.0, max=10.0)
    debiased_estimation_loss: bool = opt(
        False, "Weight the loss by 1/sqrt(SNR) (1/(SNR+1) for v-prediction): debiased estimation, which "
        "favours the noisier timesteps.")
    clip_skip: int = opt(1, "Use the output of the n-th last text-encoder layer. SD1/SD2 only (SDXL "
                            "ignores it); 2 for most SD1 anime models.", min=1, max=12)
    max_token_length: int = opt(75, "Caption token limit: 75, 150 or 225 (longer captions are "
                                    "split into 75-token chunks).", choices=(75, 150, 225))
    cache_text_encoder_outputs: bool = opt(False, "Encode captions once (only when the text encoder "
                                                  "is not trained and captions are not shuffled/dropped).")
    seed: int = opt(42, "Random seed: the same seed and settings give the same run.", min=0,
                    max=2**32 - 1)


@dataclass
class SavingSection:
    output_dir: str = opt("output", "Folder for the LoRA files, samples, state and the run's events.")
    output_name: str = opt("lora", "File name (without extension) of the trained LoRA.")
    save_model_as: str = opt("safetensors", "File format of the LoRA.", choices=("safetensors",))
    save_precision: str = opt("fp16", "Precision of the saved LoRA weights.", choices=SAVE_PRECISION)
    save_every_n_epochs: int | None = opt(None, "Also save NAME-00000N.safetensors every N epochs.", min=1)
    save_every_n_steps: int | None = opt(None, "Also save NAME-step0000000N.safetensors every N steps.",
                                         min=1)
    save_last_n_epochs: int | None = opt(None, "Keep only the last N epoch saves (older ones are "
                                               "deleted).", min=1)
    save_last_n_steps: int | None = opt(None, "Keep only the step saves of the last N steps.", min=1)
    save_state: bool = opt(False, "Save the full training state (for --resume) with every "
                                  "intermediate save.")
    save_state_on_train_end: bool = opt(False, "Save the full training state at the end of the run.")
    resume: str = opt("", "Resume from this saved state folder.")
    metadata_title: str = opt("", "Title written into the LoRA's metadata (modelspec.title).")
    metadata_author: str = opt("", "Author written into the LoRA's metadata.")
    metadata_description: str = opt("", "Description written into the LoRA's metadata.")
    metadata_license: str = opt("", "License written into the LoRA's metadata.")
    metadata_tags: str = opt("", "Comma-separated tags written into the LoRA's metadata.")


@dataclass
class SamplingSection:
    sample_prompts: str = opt("", "Prompts file for sample images, one prompt per line with sd-scripts' "
                                  "options (--w --h --d --s --l --n).")
    sample_every_n_epochs: int | None = opt(
        None, "Render samples every N epochs (sample_every_n_steps is then ignored).", min=1)
    sample_every_n_steps: int | None = opt(None, "Render samples every N steps.", min=1)
    sample_sampler: str = opt("euler_a", "Sampler for sample images.", choices=SAMPLERS)
    sample_at_first: bool = opt(False, "Also render samples before the first step.")


@dataclass
class TrainingConfig:
    model: ModelSection = field(default_factory=ModelSection)
    dataset: DatasetSection = field(default_factory=DatasetSection)
    network: NetworkSection = field(default_factory=NetworkSection)
    optimizer: OptimizerSection = field(default_factory=OptimizerSection)
    training: TrainingSection = field(default_factory=TrainingSection)
    saving: SavingSection = field(default_factory=SavingSection)
    sampling: SamplingSection = field(default_factory=SamplingSection)

    # Folder of the file this config was loaded from: relative paths in the config are relative to it
    # (see load.resolve_path). Not a field: it is never saved and does not take part in ==.
    config_dir: ClassVar[Path | None] = None


SECTIONS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(TrainingConfig))


def section_fields(section: str) -> tuple[dataclasses.Field, ...]:
    """The declared fields of one section, in file order."""
    cls = {f.name: f.type for f in dataclasses.fields(TrainingConfig)}[section]
    cls = globals()[cls] if isinstance(cls, str) else cls
    return dataclasses.fields(cls)


def field_help(section: str, key: str) -> str:
    for f in section_fields(section):
        if f.name == key:
            return f.metadata["help"]
    raise KeyError(f"{section}.{key}")
