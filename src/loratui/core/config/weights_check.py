"""What `train` would refuse about network.network_weights, read from the file's header and alpha tensors only.

engine/network.py's ``load_kohya_state_dict`` refuses a file whose rank or alpha differs from the network's, or
whose LoCon conv layers the network lacks (conv_dim = 0), but only after the base model has loaded (minutes on
SDXL). ``check_paths`` asks the same questions here, so `config check` and the preflight of `train` name them in
a second, in the engine's words. Only kohya LoRA (networks.lora) is checked: lycoris.kohya reads its own kinds.
"""

from __future__ import annotations

import math

from loratui.core.config.lora_file import read_lora_info
from loratui.core.errors import LoratuiError

KEY = "network.network_weights"


def network_weights_problems(network, path: str) -> list[str]:
    """One line per refusal (rank, conv layers, alpha), each naming the config key and ``path`` (resolved)."""
    if not path.lower().endswith(".safetensors"):
        return [f"{KEY}: {path} must be a .safetensors file (a kohya-format LoRA)"]
    if getattr(network, "network_module", "networks.lora") != "networks.lora":
        return []
    try:
        info = read_lora_info(path)
    except LoratuiError as exc:
        return [f"{KEY}: {exc}"]
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
    if off:  # the engine's wording (LoraNetwork.load_kohya_state_dict)
        problems.append(f"{source}: {off} has rank {info.ranks[off]} but this network has rank {dim}; "
                        f"set network_dim = {info.ranks[off]}")
    if conv and not conv_dim:
        name = conv[0]
        held = info.alpha_tensors.get(name)
        alpha_text = f"conv_alpha = {held:g}" if held is not None else "conv_alpha"
        problems.append(f"{source} has LoCon conv layers (conv rank {info.ranks[name]}, e.g. {name}) but conv_dim "
                        f"is 0: set conv_dim = {info.ranks[name]} (and {alpha_text})")
    elif conv:
        off = next((name for name in conv if info.ranks[name] != conv_dim), None)
        if off:
            problems.append(f"{source}: {off} has rank {info.ranks[off]} but this network has rank {conv_dim}; "
                            f"set conv_dim = {info.ranks[off]}")
    for names, own, field in ((linear, alpha, "network_alpha"), (conv if conv_dim else [], conv_alpha, "conv_alpha")):
        off = next((name for name in names if _alpha_differs(info.alpha_tensors.get(name), own)), None)
        if off:
            held = info.alpha_tensors[off]
            problems.append(f"{source}: {off} was trained with alpha {held:g} but {field} is {own:g}; "
                            f"set {field} = {held:g}")
    return problems


def _is_trained(network, name: str) -> bool:
    if name.startswith("lora_unet_"):
        return not network.network_train_text_encoder_only
    return not network.network_train_unet_only


def _alpha_differs(held: float | None, own: float) -> bool:
    """As the engine compares them (rel_tol 1e-3: an fp16 alpha of 0.1 is 0.09998); no alpha tensor: no check."""
    return held is not None and not math.isclose(held, own, rel_tol=1e-3)
