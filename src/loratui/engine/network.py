"""LoRA modules injected into the UNet and text encoder(s), with kohya-format export and import.

Each LoraModule wraps one nn.Linear / nn.Conv2d by replacing its ``forward`` (the base module keeps
its name and weights): ``y = base(x) + up(dropout(down(x))) * multiplier * alpha / dim``. Down is
kaiming-uniform, up is zero, so a fresh network changes nothing.

Targets and names follow sd-scripts' networks/lora.py: every Linear and 1x1 Conv2d inside the UNet's
Transformer2DModel blocks (plus, with conv_dim, the 3x3 convs and the other Linear/1x1 layers of
ResnetBlock2D / Downsample2D / Upsample2D), and the Linear layers of the text encoders' attention
and MLP blocks. Key = prefix + module path with "." -> "_": ``lora_unet_`` (diffusers names for SD1/2,
original names for SDXL), ``lora_te_`` (SD1/2) or ``lora_te1_`` / ``lora_te2_`` (SDXL), always with
``text_model`` in text-encoder names.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn

from loratui.core.config import WEIGHTS_SUFFIX, alpha_refusal, locon_refusal, rank_refusal
from loratui.core.errors import LoratuiError

UNET_TARGETS = {"Transformer2DModel"}
UNET_CONV_TARGETS = {"ResnetBlock2D", "Downsample2D", "Upsample2D"}
TE_TARGETS = {"CLIPAttention", "CLIPSdpaAttention", "CLIPFlashAttention2", "CLIPMLP"}
SAVE_DTYPES = {"float": torch.float32, "fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


class LoraModule(nn.Module):
    """A low-rank update attached to one Linear or Conv2d."""

    def __init__(self, lora_name: str, org: nn.Module, dim: int, alpha: float, dropout: float = 0.0):
        super().__init__()
        self.lora_name = lora_name
        self.dim = dim
        device, dtype = org.weight.device, torch.float32
        if isinstance(org, nn.Conv2d):
            self.lora_down = nn.Conv2d(org.in_channels, dim, org.kernel_size, org.stride, org.padding,
                                       bias=False, device=device, dtype=dtype)
            self.lora_up = nn.Conv2d(dim, org.out_channels, 1, 1, bias=False, device=device, dtype=dtype)
        else:
            self.lora_down = nn.Linear(org.in_features, dim, bias=False, device=device, dtype=dtype)
            self.lora_up = nn.Linear(dim, org.out_features, bias=False, device=device, dtype=dtype)
        if device.type != "meta":
            nn.init.kaiming_uniform_(self.lora_down.weight, a=math.sqrt(5))
            nn.init.zeros_(self.lora_up.weight)
        self.set_alpha(alpha)
        self.dropout = dropout
        self.conv_rank = False  # True for 3x3 convs (conv_dim / conv_alpha)
        self.multiplier = 1.0
        self.compute_in_input_dtype = False  # speed lever: bf16/fp16 input -> LoRA computes in that dtype
        self._org = [org]  # a list, so the base layer is not registered as our submodule
        self._org_forward = None

    def set_alpha(self, alpha: float | None) -> None:
        self.alpha = float(alpha) if alpha else float(self.dim)  # 0 / None means alpha = dim, like kohya
        self.scale = self.alpha / self.dim

    def apply_to(self) -> None:
        org = self._org[0]
        self._org_forward = org.forward
        org.forward = self.forward

    def restore(self) -> None:
        org = self._org[0]
        if self._org_forward is not None:
            del org.forward  # drop the instance attribute: the class method shows through again
            self._org_forward = None

    def forward(self, x, *args, **kwargs):
        out = self._org_forward(x, *args, **kwargs)
        if self.multiplier == 0:
            return out
        weight = self.lora_down.weight
        if self.compute_in_input_dtype and x.dtype != weight.dtype:
            # fp32 master weights, computed in the input's dtype (the cast is part of the graph)
            lx = _layer_in(self.lora_down, x, x.dtype)
            if self.dropout and self.training:
                lx = nn.functional.dropout(lx, p=self.dropout)
            return out + (_layer_in(self.lora_up, lx, x.dtype) * (self.multiplier * self.scale)).to(out.dtype)
        if x.dtype != weight.dtype and not torch.is_autocast_enabled(x.device.type):
            x = x.to(weight.dtype)
        lx = self.lora_down(x)
        if self.dropout and self.training:
            lx = nn.functional.dropout(lx, p=self.dropout)
        return out + (self.lora_up(lx) * (self.multiplier * self.scale)).to(out.dtype)


def _layer_in(layer: nn.Module, x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """A bias-free Linear / Conv2d applied with its weight cast to ``dtype``."""
    if isinstance(layer, nn.Linear):
        return nn.functional.linear(x, layer.weight.to(dtype))
    return layer._conv_forward(x, layer.weight.to(dtype), None)


def _unet_name_fn(base):
    if base.family != "sdxl":
        return lambda path: path
    from loratui.engine.unet_names import to_original_name, unet_prefix_map

    prefix_map = unet_prefix_map(base.unet.config)
    return lambda path: to_original_name(path, prefix_map)


def _te_path(path: str) -> str:
    return path if path.startswith("text_model.") else "text_model." + path


def _is_1x1(module: nn.Module) -> bool:
    return isinstance(module, nn.Conv2d) and tuple(module.kernel_size) == (1, 1)


def _collect(root: nn.Module, targets: set[str]):
    """(full path, layer) for every Linear/Conv2d inside a module whose class is in ``targets``."""
    seen = set()
    for name, module in root.named_modules():
        if type(module).__name__ not in targets:
            continue
        for child_name, child in module.named_modules():
            if isinstance(child, (nn.Linear, nn.Conv2d)) and id(child) not in seen:
                seen.add(id(child))
                yield f"{name}.{child_name}", child


class LoraNetwork(nn.Module):
    """All LoRA modules of one model, with kohya-format export/import."""

    def __init__(self, base, network_cfg):
        super().__init__()
        self.family = base.family
        self.dim = int(network_cfg.network_dim)
        self.alpha = float(network_cfg.network_alpha) or float(self.dim)
        self.conv_dim = int(network_cfg.conv_dim or 0)
        self.conv_alpha = float(network_cfg.conv_alpha or 0) or float(self.conv_dim or 1)
        self.dropout = float(network_cfg.network_dropout or 0.0)
        if network_cfg.network_train_unet_only and network_cfg.network_train_text_encoder_only:
            raise LoratuiError("network.network_train_unet_only and network_train_text_encoder_only are both "
                               "set: nothing would be trained; keep at most one")
        self.train_unet = not network_cfg.network_train_text_encoder_only
        self.train_te = not network_cfg.network_train_unet_only
        self.unet_modules = nn.ModuleList(self._unet_loras(base) if self.train_unet else [])
        self.te_modules = nn.ModuleList(self._te_loras(base) if self.train_te else [])
        self._by_name = {m.lora_name: m for m in self.all_modules()}
        # the modules this model has in the part left untrained: network_weights' weights for them are left
        # out, not refused (sd-scripts loads non-strict); any other unknown name is another model's
        self._untrained_names = set()
        if not self.train_unet:
            self._untrained_names = {name for name, _ in self._unet_targets(base, with_convs=True)}
        if not self.train_te:
            self._untrained_names = {name for name, _ in self._te_targets(base)}
        # the ResnetBlock2D / Downsample2D / Upsample2D layers a LoCon file has and conv_dim = 0 leaves out: a
        # file with them is refused with "set conv_dim", not as another model's
        self._conv_dim_names = set()
        if self.train_unet and not self.conv_dim:
            self._conv_dim_names = {name for name, _ in self._unet_targets(base, with_convs=True)} - set(self._by_name)
        self.notes: list[str] = []  # lines for the run's output (network_weights left out)

    def _unet_targets(self, base, *, with_convs: bool):
        """(kohya name, layer) of every UNet layer a LoRA may sit on (the 3x3 convs only ``with_convs``)."""
        name_of = _unet_name_fn(base)
        targets = UNET_TARGETS | (UNET_CONV_TARGETS if with_convs else set())
        for path, layer in _collect(base.unet, targets):
            if isinstance(layer, nn.Linear) or _is_1x1(layer) or with_convs:
                yield "lora_unet_" + name_of(path).replace(".", "_"), layer

    def _unet_loras(self, base) -> list[LoraModule]:
        loras = []
        for name, layer in self._unet_targets(base, with_convs=bool(self.conv_dim)):
            conv_rank = not (isinstance(layer, nn.Linear) or _is_1x1(layer))
            dim, alpha = (self.conv_dim, self.conv_alpha) if conv_rank else (self.dim, self.alpha)
            module = LoraModule(name, layer, dim, alpha, self.dropout)
            module.conv_rank = conv_rank
            loras.append(module)
        return loras

    def _te_targets(self, base):
        """(kohya name, layer) of every text-encoder Linear a LoRA sits on."""
        for i, encoder in enumerate(base.text_encoders):
            prefix = f"lora_te{i + 1}_" if base.family == "sdxl" else "lora_te_"
            for path, layer in _collect(encoder, TE_TARGETS):
                if isinstance(layer, nn.Linear):
                    yield prefix + _te_path(path).replace(".", "_"), layer

    def _te_loras(self, base) -> list[LoraModule]:
        return [LoraModule(name, layer, self.dim, self.alpha, self.dropout) for name, layer in self._te_targets(base)]

    def all_modules(self) -> list[LoraModule]:
        return [*self.unet_modules, *self.te_modules]

    def apply_to(self) -> None:
        for module in self.all_modules():
            module.apply_to()

    def restore(self) -> None:
        """Detach from the base model (its layers behave as before injection)."""
        for module in self.all_modules():
            module.restore()

    def set_multiplier(self, multiplier: float) -> None:
        for module in self.all_modules():
            module.multiplier = float(multiplier)

    def param_groups(self, unet_lr: float | None, text_encoder_lr: float | None, default_lr: float) -> list[dict]:
        """Optimizer parameter groups; a group whose learning rate is 0 is left out (frozen)."""
        groups = []
        for name, modules, lr in (("unet", self.unet_modules, unet_lr), ("text_encoder", self.te_modules,
                                                                         text_encoder_lr)):
            params = [p for m in modules for p in m.parameters()]
            lr = default_lr if lr is None else lr
            if not params:
                continue
            if lr == 0:
                for p in params:
                    p.requires_grad_(False)
                continue
            groups.append({"params": params, "lr": lr, "name": name})
        return groups

    def kohya_state_dict(self, dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
        """The weights as sd-scripts writes them (alpha as a scalar in the same dtype)."""
        sd = {}
        for m in self.all_modules():
            sd[f"{m.lora_name}.lora_down.weight"] = m.lora_down.weight.detach().to("cpu", dtype).contiguous()
            sd[f"{m.lora_name}.lora_up.weight"] = m.lora_up.weight.detach().to("cpu", dtype).contiguous()
            sd[f"{m.lora_name}.alpha"] = torch.tensor(m.alpha, dtype=dtype)
        return sd

    def load_kohya_state_dict(self, sd: dict[str, torch.Tensor], *, source: str = "network_weights",
                              leave_out_untrained: bool = False) -> list[str]:
        """Load kohya-format weights; returns the names of our modules the file had no weights for.

        Keys for modules this model does not have, rank or alpha mismatches are LoratuiErrors. With
        ``leave_out_untrained`` (network_weights, as sd-scripts loads it: non-strict) the weights of the
        part network_train_unet_only / _text_encoder_only leaves untrained are skipped, with a line in
        ``notes``: the saved LoRA then holds the trained part only.
        """
        names = {k.rsplit(".", 2)[0] if k.endswith(".weight") else k.rsplit(".", 1)[0] for k in sd}
        unknown = sorted(n for n in names if n not in self._by_name)
        left_out = [n for n in unknown if n in self._untrained_names] if leave_out_untrained else []
        unknown = [n for n in unknown if n not in set(left_out)]
        if unknown and set(unknown) <= self._conv_dim_names:
            locon = _locon_problem(source, sd, unknown)
            if locon:
                raise LoratuiError(locon)
        if unknown:
            which = "text-encoder" if any(n.startswith("lora_te") for n in unknown) else "UNet"
            hint = (" (the file has text-encoder weights but network_train_unet_only is set)"
                    if not self.train_te and which == "text-encoder" else "")
            raise LoratuiError(f"{source}: {len(unknown)} LoRA modules do not exist in this {self.family} model, "
                               f"e.g. {unknown[0]}{hint}; the file was trained for another model family or layout")
        if left_out:
            part, flag, kept = (("text-encoder", "network_train_unet_only", "the UNet") if not self.train_te
                                else ("UNet", "network_train_text_encoder_only", "the text encoder"))
            if len(left_out) == len(names):
                raise LoratuiError(f"{source}: the file has {part} weights only and {flag} is set, so nothing in it "
                                   f"is trained: unset {flag}, or empty network_weights to start a new LoRA")
            self.notes.append(f"{source}: its {len(left_out)} {part} modules are not trained ({flag}): left out; "
                              f"the saved LoRA has {kept} only")
        missing = []
        with torch.no_grad():
            for name, m in self._by_name.items():
                down, up = sd.get(f"{name}.lora_down.weight"), sd.get(f"{name}.lora_up.weight")
                if (down is None) != (up is None):  # half a layer: refuse rather than start it from zero
                    half = "lora_down" if up is None else "lora_up"
                    raise LoratuiError(f"{source}: the file is damaged or incomplete, {name} has {half} only: get a "
                                       "complete copy (download or export it again)")
                if down is None or up is None:
                    missing.append(name)
                    continue
                if (down.shape != m.lora_down.weight.shape or up.shape != m.lora_up.weight.shape) and \
                        down.shape[0] == m.dim:  # the rank fits: the layer itself is another size
                    raise LoratuiError(f"{source}: {name} has shape {tuple(up.shape)} x {tuple(down.shape)} but this "
                                       f"{self.family} model's layer takes {tuple(m.lora_up.weight.shape)} x "
                                       f"{tuple(m.lora_down.weight.shape)}; the file was trained for another "
                                       "model family or layout")
                if down.shape != m.lora_down.weight.shape or up.shape != m.lora_up.weight.shape:
                    field = "conv_dim" if m.conv_rank else "network_dim"
                    raise LoratuiError(rank_refusal(source, name, down.shape[0], m.dim, field))
                alpha = sd.get(f"{name}.alpha")
                # NaN never isclose: alpha_refusal then says the file is damaged
                if alpha is not None and not math.isclose(float(alpha), m.alpha, rel_tol=1e-3):
                    field = "conv_alpha" if m.conv_rank else "network_alpha"
                    raise LoratuiError(alpha_refusal(source, name, float(alpha), m.alpha, field))
                m.lora_down.weight.copy_(down.to(m.lora_down.weight.dtype))
                m.lora_up.weight.copy_(up.to(m.lora_up.weight.dtype))
        if len(missing) == len(self._by_name):
            raise LoratuiError(f"{source}: no weights in the file match this network")
        return missing


def _locon_problem(source: str, sd: dict[str, torch.Tensor], names: list[str]) -> str | None:
    """The line for a LoCon file (k x k conv layers) loaded into a network built with conv_dim = 0, naming the
    conv rank and alpha to set; None when none of ``names`` is a k x k conv LoRA."""
    for name in names:
        down = sd.get(f"{name}.lora_down.weight")
        if down is None or down.dim() != 4 or tuple(down.shape[2:]) == (1, 1):
            continue
        alpha = sd.get(f"{name}.alpha")
        held = float(alpha) if alpha is not None and alpha.numel() == 1 else None
        return locon_refusal(source, name, down.shape[0], held)
    return None


def inject_lora(base, network_cfg) -> LoraNetwork:
    """Create the network for ``base`` (kohya LoRA, or LyCORIS with network_module = "lycoris.kohya") and
    hook it in; loads network_weights when configured."""
    if getattr(network_cfg, "network_module", "networks.lora") == "lycoris.kohya":
        from loratui.engine.lycoris_network import LycorisNetwork

        network = LycorisNetwork(base, network_cfg)
    else:
        network = LoraNetwork(base, network_cfg)
    network.apply_to()
    weights = (network_cfg.network_weights or "").strip()
    if weights:
        # a kohya LoRA leaves out the part it does not train, as sd-scripts does (network.notes says so)
        leave_out = {"leave_out_untrained": True} if isinstance(network, LoraNetwork) else {}
        network.load_kohya_state_dict(read_lora_file(weights), source=f"network.network_weights ({weights})",
                                      **leave_out)
    return network


def read_lora_file(path: str | Path) -> dict[str, torch.Tensor]:
    path = Path(path).expanduser()
    if not path.is_file():
        raise LoratuiError(f"network.network_weights: {path} does not exist")
    if not path.name.endswith(WEIGHTS_SUFFIX):
        raise LoratuiError(f"network.network_weights: {path} must be a .safetensors file")
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except Exception as exc:
        raise LoratuiError(f"network.network_weights: cannot read {path} ({exc})") from None


def save_lora(path, network: LoraNetwork, metadata: dict[str, str], save_precision: str = "fp16") -> None:
    """Write the network as a kohya .safetensors (atomically), adding sd-scripts' sshs_* hashes."""
    from safetensors.torch import save

    from loratui.core.fsutil import atomic_write_bytes
    from loratui.engine.metadata import safetensors_hashes

    if save_precision not in SAVE_DTYPES:
        raise LoratuiError(f"saving.save_precision must be one of float, fp16, bf16, not {save_precision!r}")
    tensors = network.kohya_state_dict(SAVE_DTYPES[save_precision])
    meta = {str(k): str(v) for k, v in (metadata or {}).items()}
    model_hash, legacy_hash = safetensors_hashes(tensors, meta)
    meta["sshs_model_hash"] = model_hash
    meta["sshs_legacy_hash"] = legacy_hash
    atomic_write_bytes(Path(path), save(tensors, metadata=meta))
