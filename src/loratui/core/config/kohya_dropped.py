"""kohya_ss GUI options that change training and that loratui has no setting for.

Such an option at its off value changes nothing: it is listed among the ignored keys like any other.
Set to anything else, the import drops a real part of the recipe, so it also gets a ``warning:`` line
naming the value and what training does without it. The off values are kohya_ss GUI's defaults, which
its lora_gui.py passes to sd-scripts as "not given"; noise options count only in the noise_offset_type
that kohya_ss passes them for (Original: adaptive_noise_scale, noise_offset_random_strength; Multires:
multires_noise_iterations and _discount).
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
    "debiased_estimation_loss": ((False,), "the loss is not reweighted by timestep"),
    "scale_weight_norms": ((0,), "the LoRA weights' norms are not clipped (no max-norm regularisation)"),
    "min_timestep": ((0,), "timesteps are drawn from the whole range 0-1000"),
    "max_timestep": ((0, 1000), "timesteps are drawn from the whole range 0-1000"),
    "v_pred_like_loss": ((0,), "no v-prediction-like loss is added"),
    "scale_v_pred_loss_like_noise_pred": ((False,), "the v-prediction loss is not rescaled"),
    "weighted_captions": ((False,), "prompt weights such as (tag:1.2) in captions train as plain text"),
    "color_aug": ((False,), "images get no colour augmentation"),
    "face_crop_aug_range": (("",), "images get no face-centred crop augmentation"),
    "caption_prefix": (("",), "captions are used without this prefix"),
    "caption_suffix": (("",), "captions are used without this suffix"),
    "masked_loss": ((False,), "the loss covers the whole image (alpha masks are not used)"),
    "no_token_padding": ((False,), "captions are padded to max_token_length"),
    "fp8_base": ((False,), "the base model is held in the mixed precision, not fp8 (more VRAM)"),
    "ip_noise_gamma": ((0,), "no input-perturbation noise is added"),
    "ip_noise_gamma_random_strength": ((False,), "no input-perturbation noise is added"),
    "rank_dropout": ((0,), "no rank dropout (network_dropout is supported)"),
    "module_dropout": ((0,), "no module dropout (network_dropout is supported)"),
    "lr_scheduler_args": (("",), "the scheduler runs with its default arguments"),
    "lr_scheduler_type": (("",), "lr_scheduler is used instead of this scheduler class"),
    "dim_from_weights": ((False,), "network_dim comes from the config, not from network_weights"),
    **dict.fromkeys(["block_dims", "block_alphas", "conv_block_dims", "conv_block_alphas"], (("",), _BLOCKS)),
    **dict.fromkeys(["down_lr_weight", "mid_lr_weight", "up_lr_weight", "block_lr_zero_threshold"],
                    (("", 0), _BLOCK_LR)),
    "adaptive_noise_scale": ((0,), "the noise offset does not adapt to each image's mean"),
    "noise_offset_random_strength": ((False,), "the noise offset has a fixed strength"),
}
_ORIGINAL_ONLY = {"adaptive_noise_scale", "noise_offset_random_strength"}
_MULTIRES = ("multires_noise_iterations", "multires_noise_discount")


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
    """(kohya key, the reason it is ignored, a warning or None) for each option of ``data`` in EFFECTS and
    each noise option, not already handled (``done``)."""
    out: list[tuple[str, str, str | None]] = []
    noise_type = str(data.get("noise_offset_type") or "Original").strip()
    for key, (off, effect) in EFFECTS.items():
        if key not in data or key in done:
            continue
        value = data[key]
        if key in _ORIGINAL_ONLY and noise_type != "Original":
            out.append((key, f"kohya_ss uses it only with noise_offset_type Original (this file: {noise_type})", None))
        elif empty(value) or _plain(value) in off:
            out.append((key, "off in the file (loratui has no such setting)", None))
        else:
            out.append((key, "set in the file, not applied (see the warning)",
                        f"{key} {_shown(value)} not applied (loratui has no such setting): {effect}"))
    out += _noise_type(data, done, noise_type)
    return out


def _noise_type(data: dict, done: set[str], noise_type: str) -> list[tuple[str, str, str | None]]:
    """noise_offset_type Multires: the multires noise kohya_ss passes when its iterations are above 0."""
    iterations = number(data.get("multires_noise_iterations", 0))
    active = noise_type == "Multires" and isinstance(iterations, (int, float)) and iterations > 0
    out: list[tuple[str, str, str | None]] = []
    if "noise_offset_type" in data and "noise_offset_type" not in done:
        if active:
            discount = data.get("multires_noise_discount", "")
            out.append(("noise_offset_type", "set in the file, not applied (see the warning)",
                        f"noise_offset_type Multires ({iterations} iterations, discount {_shown(discount) or 'unset'}) "
                        "not applied (loratui supports only the Original noise offset): training adds no multires "
                        "noise; set [training] noise_offset for a plain offset"))
        elif noise_type == "Multires":
            out.append(("noise_offset_type", "Multires with 0 iterations: no noise change (as in kohya_ss)", None))
        else:
            out.append(("noise_offset_type", f"{noise_type}: kohya_ss passes no noise option for it", None))
    for key in _MULTIRES:
        if key in data and key not in done:
            why = "see the noise_offset_type warning" if active else "used only with noise_offset_type Multires"
            out.append((key, why, None))
    return out
