"""LyCORIS networks (LoCon, LoHa, LoKr, DoRA, full) built by the lycoris-lora package, kohya-named.

kohya_ss trains these with ``network_module = lycoris.kohya``: sd-scripts passes ``network_args`` as
strings to ``lycoris.kohya.create_network``, which walks the UNet and text encoders by class name
(the preset's target blocks) and wraps every Linear / Conv2d (and, with train_norm, norm) inside
them in a LyCORIS module. loratui calls the same function with the same strings, so the modules,
their maths, initialisation and state-dict keys (``hada_w1_a``..., ``lokr_w1``..., ``dora_scale``,
``diff``, ``alpha``) are the library's own. Three things differ between sd-scripts' UNets and the
diffusers ones loratui trains, and are mapped here:

- Names. sd-scripts' SDXL UNet uses the original layout (``input_blocks.4.1...``) and transformers 4
  CLIP models have a ``text_model`` level; so each module is renamed from the diffusers layer it
  wraps (found by identity), exactly as the kohya LoRA path names its keys (network.py).
- Preset classes. sd-scripts' attention class is ``CrossAttention`` (diffusers: ``Attention``), and
  its SDXL UNet has no ``TimestepEmbedding`` class nor modules named ``conv_in``, ``conv_out``,
  ``time_embedding.*`` (they are ``input_blocks.0.0``, ``out.2``, ``time_embed.*`` there): the preset
  is translated so that the module set equals what kohya_ss trains on each family.
- lycoris-lora 4.1 lists ``TimestepEmbedding`` among its "full" targets and also names
  ``time_embedding.linear_1/2``: on an SD1/SD2 UNet it would build those two twice and stop on its own
  duplicate check. The class target is dropped (the names still select the two layers, as in the
  lycoris-lora 3.2 that kohya_ss pins).

``compute_in_input_dtype`` (the speed lever for a UNet run without autocast) is accepted and ignored:
LyCORIS modules rebuild the weight update in fp32 from their masters and cast it to the base layer's
weight dtype before the base op, which is what the lever asks of LoRA modules.
"""

from __future__ import annotations

import contextlib
import logging
import math

import torch
from torch import nn

from loratui.core.errors import LoratuiError

SD_SCRIPTS_UNET_CLASSES = {"Transformer2DModel", "ResnetBlock2D", "Downsample2D", "Upsample2D"}
ATTENTION_CLASSES = {"CrossAttention": "Attention", "SelfAttention": None}
# an algo=full module's trained parameter -> (its kohya key, where lycoris-lora keeps the base layer's value)
FULL_DIFF_KEYS = {"weight": "diff", "bias": "diff_b"}
FULL_ORG_ATTRS = {"weight": "_org_weight", "bias": "org_bias"}
FIX_INDEX, FIX_VALUE = "@fix_index", "@fix_value"  # params.safetensors: elements that org + diff rounds


def _quiet_lycoris() -> None:
    import lycoris.logging  # noqa: F401  (it sets its logger to INFO when first imported)

    logging.getLogger("LyCORIS").setLevel(logging.ERROR)


def _translated_preset(preset: dict, family: str) -> dict:
    """The preset's targets as they select on loratui's diffusers models what they select on sd-scripts'."""
    out = dict(preset)
    unet = []
    for name in preset.get("unet_target_module", []):
        if name in SD_SCRIPTS_UNET_CLASSES:
            unet.append(name)
        elif ATTENTION_CLASSES.get(name):
            unet.append(ATTENTION_CLASSES[name])
        # TimestepEmbedding: see the module docstring; others are not SD UNet classes
    out["unet_target_module"] = unet
    if family == "sdxl":  # sd-scripts' SDXL UNet has no modules by these names
        out["unet_target_name"] = []
    return out


@contextlib.contextmanager
def _lycoris_preset(family: str):
    """lycoris.kohya with presets translated for ``family``; its class-level preset restored after."""
    import lycoris.kohya as lk

    cls = lk.LycorisNetworkKohya
    saved_attrs = {k: getattr(cls, k) for k in ("ENABLE_CONV", "UNET_TARGET_REPLACE_MODULE", "UNET_TARGET_REPLACE_NAME",
                                                "TEXT_ENCODER_TARGET_REPLACE_MODULE", "TEXT_ENCODER_TARGET_REPLACE_NAME",
                                                "MODULE_ALGO_MAP", "NAME_ALGO_MAP", "USE_FNMATCH", "TARGET_EXCLUDE_NAME")}
    saved_presets = lk.PRESET
    lk.PRESET = {name: _translated_preset(p, family) for name, p in saved_presets.items()}
    try:
        yield lk
    finally:
        lk.PRESET = saved_presets
        for k, v in saved_attrs.items():
            setattr(cls, k, v)


def _layer_names(base) -> dict[int, str]:
    """id(layer) -> kohya module name, for every module of the UNet and text encoders."""
    from loratui.engine.network import _te_path, _unet_name_fn

    names: dict[int, str] = {}
    name_of = _unet_name_fn(base)
    for path, module in base.unet.named_modules():
        if path:
            try:
                names[id(module)] = "lora_unet_" + name_of(path).replace(".", "_")
            except KeyError:  # a diffusers-only module with no original name: never a target
                pass
    for i, encoder in enumerate(base.text_encoders):
        prefix = f"lora_te{i + 1}_" if base.family == "sdxl" else "lora_te_"
        for path, module in encoder.named_modules():
            if path:
                names[id(module)] = prefix + _te_path(path).replace(".", "_")
    return names


class LycorisNetwork(nn.Module):
    """A LyCORIS network over one base model with LoraNetwork's interface (engine/network.py)."""

    def __init__(self, base, network_cfg):
        super().__init__()
        from loratui.core.config import algo_of, sdscripts_network_kwargs, split_network_args

        _quiet_lycoris()
        self.family = base.family
        self.dim = int(network_cfg.network_dim)
        self.alpha = float(network_cfg.network_alpha)
        if network_cfg.network_train_unet_only and network_cfg.network_train_text_encoder_only:
            raise LoratuiError("network.network_train_unet_only and network_train_text_encoder_only are both "
                               "set: nothing would be trained; keep at most one")
        self.train_unet = not network_cfg.network_train_text_encoder_only
        self.train_te = not network_cfg.network_train_unet_only
        self.kwargs = sdscripts_network_kwargs(network_cfg)
        self.algo = algo_of(split_network_args(network_cfg.network_args)[0])
        text_encoders = list(base.text_encoders) if self.train_te else []
        te_arg = (text_encoders if base.family == "sdxl" else text_encoders[0]) if text_encoders else None
        with _lycoris_preset(base.family) as lk:
            # sd-scripts: create_network(1.0, network_dim, network_alpha, vae, text_encoder, unet,
            # neuron_dropout=network_dropout, **net_kwargs)
            try:
                net = lk.create_network(1.0, self.dim, self.alpha, None, te_arg, base.unet, warn_on_unmatched=False,
                                        neuron_dropout=float(network_cfg.network_dropout), **self.kwargs)
            except (KeyError, ValueError, TypeError) as exc:  # a value config check lets through: say which
                shown = ", ".join(f"{k}={v}" for k, v in self.kwargs.items() if v is not None)
                raise LoratuiError(f"network.network_args: lycoris-lora cannot build a network from {shown} "
                                   f"({type(exc).__name__}: {exc}); `loratui config check` names what is wrong, "
                                   "`loratui config explain network_args` lists the arguments") from None
        names = _layer_names(base)
        unet = list(net.unet_loras) if self.train_unet else []
        te = list(net.text_encoder_loras)
        for module in unet + te:
            module.lora_name = names[id(module.org_module[0])]
            module.compute_in_input_dtype = False  # accepted, ignored: see the module docstring
        self.unet_modules = nn.ModuleList(unet)
        self.te_modules = nn.ModuleList(te)
        self._by_name = {m.lora_name: m for m in self.all_modules()}
        if len(self._by_name) != len(unet) + len(te):
            raise LoratuiError("LyCORIS built two modules with one name: this is a bug in loratui")
        if not self._by_name:
            raise LoratuiError(_empty_network_message(network_cfg, self.kwargs))

    def all_modules(self) -> list[nn.Module]:
        return [*self.unet_modules, *self.te_modules]

    def apply_to(self) -> None:
        for module in self.all_modules():
            module.apply_to()

    def restore(self) -> None:
        for module in reversed(self.all_modules()):
            module.restore()

    def set_multiplier(self, multiplier: float) -> None:
        for module in self.all_modules():
            module.multiplier = float(multiplier)

    def param_groups(self, unet_lr, text_encoder_lr, default_lr) -> list[dict]:
        from loratui.engine.network import LoraNetwork

        return LoraNetwork.param_groups(self, unet_lr, text_encoder_lr, default_lr)

    def kohya_state_dict(self, dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
        """The weights as kohya_ss + lycoris.kohya write them (LyCORIS's own per-module state dicts)."""
        sd = {}
        for m in self.all_modules():
            for key, value in m.state_dict().items():
                sd[f"{m.lora_name}.{key}"] = value.detach().to("cpu", dtype).contiguous()
        return sd

    def exact_params(self) -> dict[str, torch.Tensor]:
        """The trainable tensors the kohya file does not give back bit for bit. A use_scalar module saves its
        w1 times the scalar and resets the scalar on load: those are kept as they are. algo=full saves
        ``weight - org`` and rebuilds ``org + diff``, which rounds only where the weight moved far from org
        (a sign change near zero): only those elements are kept, as flat indices and values
        (``<key>@fix_index`` / ``<key>@fix_value``), so a state does not hold a second copy of every full
        weight (SDXL: ~10 GB). A state keeps them beside the kohya file (engine/state.py)."""
        out = {}
        for m in self.all_modules():
            saved = m.state_dict()
            for key, param in m.named_parameters():
                name = f"{m.lora_name}.{key}"
                diff_key = FULL_DIFF_KEYS.get(key)
                org = _full_org(m, key)
                if diff_key in saved and org is not None:
                    out.update(_rounding_fixes(name, param, saved[diff_key], org))
                    continue
                kept = saved.get(key)
                if kept is None or kept.dtype != param.dtype or not torch.equal(kept.to(param.device), param):
                    out[name] = param.detach().to("cpu").contiguous()
        return out

    def load_exact_params(self, params: dict[str, torch.Tensor], *, source: str) -> None:
        """Put back what ``exact_params`` saved (after load_kohya_state_dict has checked the file): whole
        tensors, and the elements of a full module's weight that ``org + diff`` rounded."""
        def target(key: str, shape) -> nn.Parameter:
            name, _, attr = key.partition(".")
            module = self._by_name.get(name)
            param = dict(module.named_parameters()).get(attr) if module is not None else None
            if param is None or (shape is not None and param.shape != shape):
                raise LoratuiError(f"{source}: {key} does not fit this network (the state's params.safetensors "
                                   "is from another network); resume from the matching config")
            return param

        with torch.no_grad():
            for key, value in params.items():
                if key.endswith(FIX_VALUE):
                    continue  # applied with its indices
                if not key.endswith(FIX_INDEX):
                    param = target(key, value.shape)
                    param.copy_(value.to(param.dtype))
                    continue
                base = key[:-len(FIX_INDEX)]
                param, values = target(base, None), params.get(base + FIX_VALUE)
                if (values is None or values.shape != value.shape or value.dtype != torch.int64
                        or (value.numel() and not 0 <= int(value.min()) <= int(value.max()) < param.numel())):
                    raise LoratuiError(f"{source}: {base}'s fixes in the state's params.safetensors are damaged; "
                                       "resume from an earlier state")
                flat = param.detach().reshape(-1).clone()
                flat[value.to(flat.device)] = values.to(flat)
                param.copy_(flat.view(param.shape))

    def load_kohya_state_dict(self, sd: dict[str, torch.Tensor], *, source: str = "network_weights") -> list[str]:
        """Load a LyCORIS file into this network; returns our module names the file had nothing for."""
        names = {k.split(".", 1)[0] for k in sd}
        unknown = sorted(n for n in names if n not in self._by_name)
        # modules of a part this run leaves out (network_train_unet_only / _text_encoder_only): say so
        left_out = [n for n in unknown if (n.startswith("lora_te") and not self.train_te)
                    or (n.startswith("lora_unet_") and not self.train_unet)]
        if unknown and len(left_out) == len(unknown):
            te = left_out[0].startswith("lora_te")
            part, flag = ("text-encoder", "network_train_unet_only") if te else \
                ("U-Net", "network_train_text_encoder_only")
            raise LoratuiError(f"{source}: {len(unknown)} modules of the file are not in this {self.algo} network, "
                               f"e.g. {unknown[0]} (the file has {part} weights but {flag} is set); unset {flag} "
                               f"to load them, or start from a file without {part} weights")
        if unknown:
            raise LoratuiError(f"{source}: {len(unknown)} modules of the file are not in this {self.algo} network "
                               f"of a {self.family} model, e.g. {unknown[0]}; the file was trained with another "
                               "algo, preset or model")
        missing = []
        with torch.no_grad():
            for name, m in self._by_name.items():
                own = m.state_dict()
                theirs = {k.split(".", 1)[1]: v for k, v in sd.items() if k.split(".", 1)[0] == name}
                if not theirs:
                    missing.append(name)
                    continue
                if set(theirs) != set(own):
                    raise LoratuiError(f"{source}: {name} has {', '.join(sorted(theirs))} but this network's "
                                       f"{self.algo} module has {', '.join(sorted(own))}; the file was trained "
                                       "with other network_args (algo, use_tucker, dora_wd, factor, ...)")
                for key, value in theirs.items():
                    if value.shape != own[key].shape:
                        raise LoratuiError(f"{source}: {name}.{key} has shape {tuple(value.shape)} but this network "
                                           f"has {tuple(own[key].shape)}; set network_dim / conv_dim / factor as "
                                           "the file was trained")
                alpha = theirs.get("alpha")
                if alpha is not None and not math.isclose(float(alpha), float(own["alpha"]), rel_tol=1e-3):
                    raise LoratuiError(f"{source}: {name} was trained with alpha {float(alpha):g} but this network "
                                       f"has {float(own['alpha']):g}; set network_alpha / conv_alpha to match")
                _copy_into(m, theirs)
        if len(missing) == len(self._by_name):
            raise LoratuiError(f"{source}: no weights in the file match this network")
        return missing


def _empty_network_message(network_cfg, kwargs: dict) -> str:
    """Why LyCORIS built no module at all, naming the setting that leaves each part out."""
    preset = str(kwargs.get("preset") or "full")
    if network_cfg.network_train_text_encoder_only:
        why = (f"preset={preset} trains no text-encoder layer and network_train_text_encoder_only = true leaves the "
               "U-Net out" if preset.startswith("unet-") else
               f"network_train_text_encoder_only = true and preset={preset} selects no text-encoder layer")
        fix = "unset network_train_text_encoder_only, or use a preset that reaches the text encoder"
    else:
        why = f"preset={preset} with these network_args selects no layer of this model"
        fix = "check network_args (conv_dim=0 turns the 3x3 convs off)"
    return f"network.network_args: nothing to train: {why}; {fix}"


def _full_org(module: nn.Module, attr: str) -> torch.Tensor | None:
    """The base layer's own weight / bias that an algo=full module's ``diff`` is taken from (None otherwise)."""
    held = getattr(module, FULL_ORG_ATTRS.get(attr, ""), None)
    return held[0] if isinstance(held, list) and held else None


def _rounding_fixes(name: str, param: torch.Tensor, diff: torch.Tensor, org: torch.Tensor) -> dict[str, torch.Tensor]:
    """The elements of a full module's ``param`` that loading the state's fp32 ``diff`` does not give back
    exactly (see _copy_into: the load adds it to org in the diff's dtype), as flat indices and values;
    the whole tensor where that would be larger."""
    value = param.detach().cpu()
    loaded = diff.to(torch.float32).to(diff.dtype)
    rebuilt = (loaded + org.to(value.dtype).to(loaded.dtype)).to(value.dtype)
    bits = {1: torch.int8, 2: torch.int16, 4: torch.int32, 8: torch.int64}[value.element_size()]
    wrong = (rebuilt.contiguous().view(bits) != value.contiguous().view(bits)).reshape(-1)
    index = wrong.nonzero().squeeze(1)
    if not index.numel():
        return {}
    if index.numel() * (8 + value.element_size()) >= value.numel() * value.element_size():
        return {name: value.contiguous()}
    return {name + FIX_INDEX: index.contiguous(), name + FIX_VALUE: value.reshape(-1)[index].contiguous()}


def _copy_into(module: nn.Module, weights: dict[str, torch.Tensor]) -> None:
    """Load one module's saved tensors through its own load_state_dict: LyCORIS's hooks turn a full
    module's ``diff`` into its weight and reset a ``use_scalar`` scalar (the saved factors include it).
    The full hook adds ``diff`` to the weight the module has now: it is set back to the base layer's
    first, else a resume over network_weights (loaded already) would add the trained update twice."""
    with torch.no_grad():
        for attr, diff_key in FULL_DIFF_KEYS.items():
            param, org = getattr(module, attr, None), _full_org(module, attr)
            if diff_key in weights and isinstance(param, torch.Tensor) and org is not None:
                param.copy_(org)
    own = module.state_dict()
    module.load_state_dict({k: v.to(own[k].dtype) for k, v in weights.items()}, strict=True)
