"""What `train` would refuse about network.network_weights, read from the file's header and alpha tensors only.

engine/network.py's ``load_kohya_state_dict`` refuses a file whose rank or alpha differs from the network's, or
whose LoCon conv layers the network lacks (conv_dim = 0), but only after the base model has loaded (minutes on
SDXL). ``check_paths`` asks the same questions here, so `config check` and the preflight of `train` name them in
a second, in the engine's words (the line builders below are shared with the engine). Only kohya LoRA
(networks.lora) is checked: lycoris.kohya reads its own kinds.
"""

from __future__ import annotations

import math

from loratui.core.config.lora_file import DAMAGED_ALPHA, read_lora_info
from loratui.core.errors import LoratuiError

KEY = "network.network_weights"
# the engine's rule (engine/network.py read_lora_file): the suffix as written, so X.SAFETENSORS is refused
WEIGHTS_SUFFIX = ".safetensors"


# The refusal lines, built here once: engine/network.py's load_kohya_state_dict raises the same ones.
def rank_refusal(source: str, layer: str, file_rank: int, own_rank: int, field: str) -> str:
    return f"{source}: {layer} has rank {file_rank} but this network has rank {own_rank}; set {field} = {file_rank}"


def alpha_refusal(source: str, layer: str, held: float, own: float, field: str) -> str:
    if not math.isfinite(held):  # no value to set: the file itself is bad
        return f"{source}: {layer}: {DAMAGED_ALPHA}: get a complete copy (download or export it again)"
    return f"{source}: {layer} was trained with alpha {held:g} but {field} is {own:g}; set {field} = {held:g}"


def locon_refusal(source: str, layer: str, conv_rank: int, held_alpha: float | None) -> str:
    """A LoCon file (k x k conv layers) for a network built with conv_dim = 0."""
    usable = held_alpha is not None and math.isfinite(held_alpha)
    alpha_text = f"conv_alpha = {held_alpha:g}" if usable else "conv_alpha"
    return (f"{source} has LoCon conv layers (conv rank {conv_rank}, e.g. {layer}) but conv_dim is 0: set "
            f"conv_dim = {conv_rank} (and {alpha_text})")


def network_weights_problems(network, path: str) -> list[str]:
    """One line per refusal (rank, conv layers, alpha), each naming the config key and ``path`` (resolved)."""
    if path.lower().endswith(WEIGHTS_SUFFIX) and not path.endswith(WEIGHTS_SUFFIX):
        return [f"{KEY}: {path}: train reads only a lower-case .safetensors suffix: rename the file to end in "
                f"{WEIGHTS_SUFFIX}"]
    if not path.endswith(WEIGHTS_SUFFIX):
        return [f"{KEY}: {path} must be a .safetensors file (a kohya-format LoRA)"]
    if getattr(network, "network_module", "networks.lora") != "networks.lora":
        return []
    try:
        info = read_lora_info(path)
    except LoratuiError as exc:
        return [f"{KEY}: {exc}"]
    if info.damaged:  # the engine would start such a layer from zero: refuse the file instead
        return [f"{KEY}: {info.damage_message()}"]
    source = f"{KEY} ({path})"
    # the engine reads lora_down / lora_up only (a DoRA scale is dropped, not refused): other types fail there
    other = sorted({kind for name, kind in info.layers.items()
                    if name not in info.damaged and kind.removeprefix("DoRA ") not in ("LoRA", "LoCon")})
    if other:
        return [f"{source}: its layers are {', '.join(other)} (LyCORIS), which networks.lora cannot load: set "
                "network_module = \"lycoris.kohya\" with the file's algo in network_args (`loratui lora info` "
                "shows it), or give a kohya LoRA file"]
    # the part the network does not train is left out at load (sd-scripts loads non-strict): not checked
    trained = [name for name in sorted(info.ranks) if name not in info.damaged and _is_trained(network, name)]
    linear = [name for name in trained if name not in info.conv_layers]
    conv = [name for name in trained if name in info.conv_layers]
    dim, conv_dim = int(network.network_dim), int(network.conv_dim or 0)
    alpha = float(network.network_alpha or 0) or float(dim)
    conv_alpha = float(network.conv_alpha or 0) or float(conv_dim or 1)
    problems = []
    off = next((name for name in linear if info.ranks[name] != dim), None)
    if off:
        problems.append(rank_refusal(source, off, info.ranks[off], dim, "network_dim"))
    if conv and not conv_dim:
        problems.append(locon_refusal(source, conv[0], info.ranks[conv[0]], info.alpha_tensors.get(conv[0])))
    elif conv:
        off = next((name for name in conv if info.ranks[name] != conv_dim), None)
        if off:
            problems.append(rank_refusal(source, off, info.ranks[off], conv_dim, "conv_dim"))
    for names, own, field in ((linear, alpha, "network_alpha"), (conv if conv_dim else [], conv_alpha, "conv_alpha")):
        off = next((name for name in names if _alpha_differs(info.alpha_tensors.get(name), own)), None)
        if off:
            problems.append(alpha_refusal(source, off, info.alpha_tensors[off], own, field))
    return problems


def _is_trained(network, name: str) -> bool:
    if name.startswith("lora_unet_"):
        return not network.network_train_text_encoder_only
    return not network.network_train_unet_only


def _alpha_differs(held: float | None, own: float) -> bool:
    """As the engine compares them (rel_tol 1e-3: an fp16 alpha of 0.1 is 0.09998); no alpha tensor: no check.
    A NaN/inf alpha always differs (alpha_refusal then says the file is damaged)."""
    return held is not None and not math.isclose(held, own, rel_tol=1e-3)
