"""kohya_ss GUI options that change training and that loratui has no setting for.

Such an option at its off value changes nothing: it is listed among the ignored keys like any other.
Set to anything else, the import drops a real part of the recipe, so it also gets a ``warning:`` line
naming the value and what training does without it. The off values are kohya_ss GUI's defaults, which
its lora_gui.py passes to sd-scripts as "not given". (The noise options and loss weights are loratui keys:
kohya_training.TrainingKeys._noise imports them.)
"""

from __future__ import annotations

from typing import Any

from loratui.core.config.kohya_values import bool_word, empty, number

_SAME_LR = "lora_up trains at the same learning rate as lora_down (no LoRA+)"
_BLOCKS = "every block trains with network_dim / network_alpha"
_BLOCK_LR = "every block trains at the same learning rate"
# kohya key -> (its off values, what training does without the option)
EFFECTS: dict[str, tuple[tuple[Any, ...], str]] = {
    "loraplus_lr_ratio": ((0, 1), _SAME_LR),
    "loraplus_unet_lr_ratio": ((0, 1), _SAME_LR),
    "loraplus_text_encoder_lr_ratio": ((0, 1), _SAME_LR),
    "loss_type": (("l2",), "the loss is plain MSE (l2)"),
    "scale_weight_norms": ((0,), "the LoRA weights' norms are not clipped (no max-norm regularisation)"),
    "min_timestep": ((0,), "timesteps are drawn from the whole range 0-1000"),
    "max_timestep": ((0, 1000), "timesteps are drawn from the whole range 0-1000"),
    "weighted_captions": ((False,), "prompt weights such as (tag:1.2) in captions train as plain text"),
    "color_aug": ((False,), "images get no colour augmentation"),
    "face_crop_aug_range": (("",), "images get no face-centred crop augmentation"),
    "masked_loss": ((False,), "the loss covers the whole image (alpha masks are not used)"),
    "no_token_padding": ((False,), "captions are padded to max_token_length"),
    "fp8_base": ((False,), "the base model is held in the mixed precision, not fp8 (more VRAM)"),
    "rank_dropout": ((0,), "no rank dropout (network_dropout is supported)"),
    "module_dropout": ((0,), "no module dropout (network_dropout is supported)"),
    "lr_scheduler_args": (("",), "the scheduler runs with its default arguments"),
    "lr_scheduler_type": (("",), "lr_scheduler is used instead of this scheduler class"),
    "dim_from_weights": ((False,), "network_dim comes from the config, not from network_weights"),
    **dict.fromkeys(["block_dims", "block_alphas", "conv_block_dims", "conv_block_alphas"], (("",), _BLOCKS)),
    **dict.fromkeys(["down_lr_weight", "mid_lr_weight", "up_lr_weight", "block_lr_zero_threshold"],
                    (("", 0), _BLOCK_LR)),
}


def _plain(value: Any) -> Any:
    """A kohya value compared with the off values: numbers and booleans read from their strings."""
    if isinstance(value, str):
        flag = bool_word(value) if value.strip().lower() in ("true", "false") else None
        if flag is not None:
            return flag
        read = number(value)
        return read.strip().lower() if isinstance(read, str) else read
    return value


def _shown(value: Any) -> str:
    plain = _plain(value)
    return str(plain).lower() if isinstance(plain, bool) else str(value).strip()


def dropped_options(data: dict, done: set[str]) -> list[tuple[str, str, str | None]]:
    """(kohya key, the reason it is ignored, a warning or None) for each option of ``data`` in EFFECTS, not
    already handled (``done``)."""
    out: list[tuple[str, str, str | None]] = []
    for key, (off, effect) in EFFECTS.items():
        if key not in data or key in done:
            continue
        value = data[key]
        if empty(value) or _plain(value) in off:
            out.append((key, "off in the file (loratui has no such setting)", None))
        else:
            out.append((key, "set in the file, not applied (see the warning)",
                        f"{key} {_shown(value)} not applied (loratui has no such setting): {effect}"))
    return out
