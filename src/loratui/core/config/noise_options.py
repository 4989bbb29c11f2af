"""The [training] noise and loss-weight options between themselves and with the model: what sd-scripts refuses
(train_util.verify_training_args) and what would do nothing. One line per problem, naming the key."""

from __future__ import annotations

from pathlib import Path


def v_prediction_problems(t, v_prediction: bool) -> list[str]:
    """The options that need, or refuse, a v-prediction model (sd-scripts refuses both)."""
    problems = []
    if t.scale_v_pred_loss_like_noise_pred and not v_prediction:
        problems.append("scale_v_pred_loss_like_noise_pred needs a v-prediction model (sd-scripts refuses it "
                        "without v_parameterization): set v_parameterization = true or remove the key")
    if t.v_pred_like_loss and v_prediction:
        problems.append(f"v_pred_like_loss = {t.v_pred_like_loss} is for noise-prediction models (sd-scripts "
                        "refuses it with v_parameterization): set it to 0 or use scale_v_pred_loss_like_noise_pred")
    return problems


def trains_v_prediction(cfg) -> bool:
    """What `loratui train` will train: v-prediction when v_parameterization is set or the model folder's
    scheduler says so (engine/models.py)."""
    if cfg.model.v_parameterization:
        return True
    from loratui.core.config.base_model import model_folder_v_prediction
    from loratui.core.config.load import resolve_path
    from loratui.core.errors import LoratuiError

    path = cfg.model.pretrained_model_name_or_path
    try:
        folder = Path(resolve_path(cfg, path)) if path else None
        return bool(folder and folder.is_dir() and model_folder_v_prediction(folder))
    except (LoratuiError, OSError, ValueError):
        return False


def noise_problems(cfg) -> list[str]:
    """Problems between the noise / loss-weight options of [training] (each alone is valid)."""
    t = cfg.training
    problems = []
    if t.adaptive_noise_scale is not None and not t.noise_offset:
        problems.append(f"adaptive_noise_scale = {t.adaptive_noise_scale} needs noise_offset (sd-scripts refuses it "
                        "without): set noise_offset, e.g. 0.05, or remove adaptive_noise_scale")
    if t.noise_offset_random_strength and not t.noise_offset:
        problems.append("noise_offset_random_strength does nothing with noise_offset = 0: set noise_offset or set "
                        "noise_offset_random_strength = false")
    if t.ip_noise_gamma_random_strength and not t.ip_noise_gamma:
        problems.append("ip_noise_gamma_random_strength does nothing with ip_noise_gamma = 0: set ip_noise_gamma "
                        "(0.1 is usual) or set ip_noise_gamma_random_strength = false")
    if t.scale_v_pred_loss_like_noise_pred or t.v_pred_like_loss:
        problems += v_prediction_problems(t, trains_v_prediction(cfg))
    return problems
