"""Layers lycoris-lora 4.1.3's file loader cannot rebuild, for `lora convert` (engine/lora_convert.py).

- A LoKr conv layer trained with use_tucker (``lokr_t2``): its update is computed here.
- A DoRA layer trained with wd_on_output=false (a (1, in) ``dora_scale``): the module is built without the
  scale and given it back, over the input axis.
"""

from __future__ import annotations

import torch
from torch import nn

from loratui.core.errors import LoratuiError


def _pop_input_axis_scales(weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Take out the DoRA scales of layers trained with wd_on_output=false, by layer name.

    Their dora_scale is (1, in[, 1, 1]), normalised over the input axis; lycoris-lora 4.1.3's loader
    builds every DoRA module for the output axis ((out, 1[, 1, 1])) and fails to copy them in. The
    shape tells the two apart, as ComfyUI's loader does; the modules are built without the scale and
    given it back by _restore_input_axis_scales."""
    taken = {}
    for key in [k for k, v in weights.items() if k.endswith(".dora_scale") and v.dim() > 1 and v.shape[0] == 1
                and v.shape[1] > 1]:
        taken[key.removesuffix(".dora_scale").removeprefix("lycoris_")] = weights.pop(key)
    return taken


def _restore_input_axis_scales(built: dict, scales: dict[str, torch.Tensor]) -> None:
    """Make each module of ``scales`` a DoRA one over its input axis, as lycoris-lora trains it with
    wd_on_output=false, so its forward (checked by _check) and _update rescale the merged weight's
    columns."""
    for name, scale in scales.items():
        module = built.get(name)
        if module is None:
            continue
        org = module.org_weight
        if tuple(scale.shape[1:2]) != tuple(org.shape[1:2]):
            raise LoratuiError(f"{name}: its dora_scale {tuple(scale.shape)} does not fit the model's layer "
                               f"{tuple(org.shape)}: give the base model it was trained on with --model")
        module.wd, module.wd_on_out = True, False
        module.dora_norm_dims = org.dim() - 1
        module.dora_scale = nn.Parameter(scale.float().to(org.device), requires_grad=False)


def _tucker_lokr_update(own: dict[str, torch.Tensor], layer: nn.Module, device,
                        name: str) -> tuple[torch.Tensor, int]:
    """A LoKr conv layer trained with use_tucker (``lokr_t2``): its update (float64) and a bound on its rank.

    lycoris-lora 4.1.3's loader cannot rebuild it (make_module_from_state_dict takes the rank from
    ``lokr_w2_a.size(1)``, but Tucker stores lokr_w2_a as (rank, out)), so the update is computed here as
    its LokrModule does it, and ComfyUI and A1111 too: w2 = t2 contracted with w2_a (out) and w2_b (in),
    ΔW = kron(w1, w2) · alpha / rank; with dora_scale, the DoRA rescale of the merged weight."""
    f = {k: v.to(device).double() for k, v in own.items()}
    t2 = f["lokr_t2"]
    if "lokr_w2_a" not in f or "lokr_w2_b" not in f or ("lokr_w1" not in f and "lokr_w1_a" not in f):
        raise LoratuiError(f"{name}: a LoKr layer with lokr_t2 but without its lokr_w1 / lokr_w2_a / lokr_w2_b: the "
                           "file is damaged; get a complete copy")
    w1 = f["lokr_w1"] if "lokr_w1" in f else f["lokr_w1_a"] @ f["lokr_w1_b"]
    w2 = torch.einsum("i j ..., i p, j r -> p r ...", t2, f["lokr_w2_a"], f["lokr_w2_b"]).contiguous()
    rank = int(t2.shape[0])
    alpha = float(f["alpha"]) if "alpha" in f else float(rank)
    org = layer.weight.detach().to(device).double()
    w1 = w1.reshape(*w1.shape, *[1] * (w2.dim() - w1.dim()))
    try:
        delta = (torch.kron(w1, w2) * (alpha / rank)).reshape(org.shape)
    except RuntimeError:
        raise LoratuiError(f"{name}: its LoKr factors make a {tuple(w1.shape[:2])} x {tuple(w2.shape)} update, which "
                           f"does not fit the model's layer {tuple(org.shape)}: give the base model it was trained on "
                           "with --model") from None
    if "dora_scale" in f:
        from lycoris.functional.general import weight_decompose

        scale = f["dora_scale"]  # (out, 1, 1, 1) normalises over the output (wd_on_output), (1, in, 1, 1) the input
        on_out = not (scale.dim() > 1 and scale.shape[0] == 1 and org.shape[0] != 1)
        delta = weight_decompose(org + delta, scale, 1.0, on_out) - org
    w1_rank = min(w1.shape[:2]) if "lokr_w1" in f else int(f["lokr_w1_a"].shape[1])
    return delta, (None if "dora_scale" in f else w1_rank * rank)
