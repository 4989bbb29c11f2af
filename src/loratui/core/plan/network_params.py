"""Trainable parameters of a LyCORIS network (LoCon, LoHa, LoKr, DoRA, full), counted by formula.

The engine builds these networks with lycoris-lora's own ``create_network`` (engine/lycoris_network.py);
core cannot import it (no torch here), so this module mirrors what that function does, layer by layer,
from the shape tables of vram_models.py:

1. Which layers. ``preset`` names container classes (Transformer2DModel, ResnetBlock2D, Downsample2D,
   Upsample2D, Attention, and on the text encoders CLIPAttention / CLIPMLP) and, on SD1/SD2 only, module
   names (conv_in, conv_out, time_embedding.linear_1/2; sd-scripts' SDXL UNet has no such names, see the
   engine's ``_translated_preset``). Inside a container every Linear and Conv2d is wrapped; a 1x1 conv
   takes network_dim like a Linear, a 3x3 conv takes conv_dim (off when the preset has
   ``enable_conv = False`` or conv_dim = 0); with train_norm the GroupNorm/LayerNorm layers too
   (lycoris/kohya.py ``create_single_module``; presets: lycoris/config.py, lycoris-lora 4.1.3).
2. How many parameters each wrapped layer gets, for a Linear(in, out) or a kxk Conv2d(in, out) at rank r
   (lycoris/modules/{locon,loha,lokr,full,norms}.py):
   - LoCon (LoRA):  r*in*k*k + out*r;  Tucker (3x3 only): r*in + r*r*k*k + out*r  (lora_down/mid/up)
   - LoHa:          2 * (out*r + r*in*k*k);  Tucker: 2 * (r*r*k*k + r*out + r*in)  (hada_w1/w2 a/b, t1/t2)
   - LoKr:          out = a*b, in = c*d split by ``factorization`` (factor, -1 = most balanced);
                    w1 = a*c, or a*r + r*c with decompose_both when r < max(a, c)/2;
                    w2 = b*d*k*k when r >= max(b, d)/2 or full_matrix, else b*r + r*d*k*k,
                    Tucker (3x3): r*r*k*k + r*b + r*d
   - full:          out*in*k*k (+ out with a bias): the whole weight (diff, diff_b)
   - DoRA (dora_wd, not full): + out (wd_on_output, the default) or + in: dora_scale
   - use_scalar (not full): + 1;  train_norm: + 2*C per norm layer (w_norm, b_norm)
   ``alpha`` is a buffer, not a parameter: a file holds one more element per module than this count.

Checked for equality against ``sum(p.numel())`` of the engine's network on the tiny SD1 and SDXL test
models for every algo (tests/engine/test_lycoris_counts.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from loratui.core.plan.vram_models import FamilyArch, TextEncoderArch, UNetArch, unet_layout

TRANSFORMER, ATTENTION, RESNET, SAMPLER = "Transformer2DModel", "Attention", "ResnetBlock2D", "Sampler"
CLIP_ATTN, CLIP_MLP = "CLIPAttention", "CLIPMLP"
TOP_CONV, TOP_TIME = "conv_in/conv_out", "time_embedding"


@dataclass(frozen=True)
class PresetTargets:
    """What one LyCORIS preset selects on SD UNets/CLIP (after the engine's class translation)."""

    unet: frozenset[str]
    names: frozenset[str]      # TOP_CONV / TOP_TIME: the name targets (SD1/SD2 only)
    text_encoder: frozenset[str]
    enable_conv: bool


def _p(unet, names, te, conv) -> PresetTargets:
    return PresetTargets(frozenset(unet), frozenset(names), frozenset(te), conv)


# lycoris/config.py BUILTIN_PRESET_CONFIGS (4.1.3), restricted to the classes SD models have.
PRESET_TARGETS: dict[str, PresetTargets] = {
    "full": _p({TRANSFORMER, RESNET, SAMPLER}, {TOP_CONV, TOP_TIME}, {CLIP_ATTN, CLIP_MLP}, True),
    "full-lin": _p({TRANSFORMER, RESNET}, {TOP_TIME}, {CLIP_ATTN, CLIP_MLP}, False),
    "attn-mlp": _p({TRANSFORMER}, set(), {CLIP_ATTN, CLIP_MLP}, False),
    "attn-only": _p({ATTENTION}, set(), {CLIP_ATTN}, False),
    "unet-only": _p({TRANSFORMER, RESNET, SAMPLER}, {TOP_CONV, TOP_TIME}, set(), True),
    "unet-transformer-only": _p({TRANSFORMER}, set(), set(), False),
    "unet-convblock-only": _p({RESNET, SAMPLER}, {TOP_CONV}, set(), True),
}


@dataclass(frozen=True)
class Layer:
    """One Linear / Conv2d / norm layer of a model, with the container that holds it."""

    path: str            # diffusers / transformers module path (for reading and tests)
    kind: str            # linear | conv | norm
    fan_in: int          # channels for a norm
    fan_out: int
    kernel: int = 1
    bias: bool = True
    owner: str = ""      # TRANSFORMER, RESNET, SAMPLER, CLIP_ATTN, CLIP_MLP, or a name target
    in_attention: bool = False
    unit: str = ""       # the gradient-checkpointing unit it belongs to (resnet, transformer block, ...)

    @property
    def weight_elems(self) -> int:
        return 0 if self.kind == "norm" else self.fan_in * self.fan_out * self.kernel * self.kernel


def _transformer_layers(prefix: str, c: int, depth: int, cross: int) -> list[Layer]:
    t = TRANSFORMER
    out = [Layer(f"{prefix}.norm", "norm", c, c, owner=t, unit=prefix),
           Layer(f"{prefix}.proj_in", "linear", c, c, owner=t, unit=prefix)]
    for b in range(depth):
        blk = f"{prefix}.transformer_blocks.{b}"
        for i in (1, 2, 3):
            out.append(Layer(f"{blk}.norm{i}", "norm", c, c, owner=t, unit=blk))
        for attn, kv in (("attn1", c), ("attn2", cross)):
            out += [Layer(f"{blk}.{attn}.to_q", "linear", c, c, bias=False, owner=t, in_attention=True, unit=blk),
                    Layer(f"{blk}.{attn}.to_k", "linear", kv, c, bias=False, owner=t, in_attention=True, unit=blk),
                    Layer(f"{blk}.{attn}.to_v", "linear", kv, c, bias=False, owner=t, in_attention=True, unit=blk),
                    Layer(f"{blk}.{attn}.to_out.0", "linear", c, c, owner=t, in_attention=True, unit=blk)]
        out += [Layer(f"{blk}.ff.net.0.proj", "linear", c, 8 * c, owner=t, unit=blk),
                Layer(f"{blk}.ff.net.2", "linear", 4 * c, c, owner=t, unit=blk)]
    out.append(Layer(f"{prefix}.proj_out", "linear", c, c, owner=t, unit=prefix))
    return out


def _resnet_layers(prefix: str, cin: int, cout: int, temb: int) -> list[Layer]:
    r = RESNET
    out = [Layer(f"{prefix}.norm1", "norm", cin, cin, owner=r, unit=prefix),
           Layer(f"{prefix}.conv1", "conv", cin, cout, 3, owner=r, unit=prefix),
           Layer(f"{prefix}.time_emb_proj", "linear", temb, cout, owner=r, unit=prefix),
           Layer(f"{prefix}.norm2", "norm", cout, cout, owner=r, unit=prefix),
           Layer(f"{prefix}.conv2", "conv", cout, cout, 3, owner=r, unit=prefix)]
    if cin != cout:
        out.append(Layer(f"{prefix}.conv_shortcut", "conv", cin, cout, 1, owner=r, unit=prefix))
    return out


def unet_layers(arch: UNetArch) -> list[Layer]:
    """Every Linear / Conv2d / norm a LyCORIS preset can select in a diffusers UNet of ``arch``
    (paths are indicative: resnets, transformers and resamplers numbered in unet_layout's order)."""
    layout = unet_layout(arch)
    layers: list[Layer] = []
    for i, r in enumerate(layout.resnets):
        layers += _resnet_layers(f"resnets[{i}]", r.cin, r.cout, arch.time_embed_dim)
    for i, t in enumerate(layout.transformers):
        layers += _transformer_layers(f"attentions[{i}]", t.channels, t.depth, arch.cross_attention_dim)
    for i, s in enumerate(layout.resamplers):
        layers.append(Layer(f"samplers[{i}].conv", "conv", s.channels, s.channels, 3, owner=SAMPLER,
                            unit=f"samplers[{i}]"))
    ch0 = arch.block_out_channels[0]
    layers += [Layer("conv_in", "conv", arch.in_channels, ch0, 3, owner=TOP_CONV, unit="conv_in"),
               Layer("conv_out", "conv", ch0, arch.out_channels, 3, owner=TOP_CONV, unit="conv_out"),
               Layer("time_embedding.linear_1", "linear", ch0, arch.time_embed_dim, owner=TOP_TIME, unit="time"),
               Layer("time_embedding.linear_2", "linear", arch.time_embed_dim, arch.time_embed_dim, owner=TOP_TIME,
                     unit="time")]
    return layers


def text_encoder_layers(te: TextEncoderArch) -> list[Layer]:
    """The Linears of a CLIP text transformer's CLIPAttention and CLIPMLP modules (no norms inside them)."""
    h, layers = te.hidden, []
    for i in range(te.layers):
        p = f"text_model.encoder.layers.{i}"
        for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
            layers.append(Layer(f"{p}.self_attn.{proj}", "linear", h, h, owner=CLIP_ATTN, unit=p))
        layers += [Layer(f"{p}.mlp.fc1", "linear", h, te.mlp, owner=CLIP_MLP, unit=p),
                   Layer(f"{p}.mlp.fc2", "linear", te.mlp, h, owner=CLIP_MLP, unit=p)]
    return layers


# ---- the arguments, read the way lycoris.kohya.create_network reads the strings ------------------

def _str_bool(value) -> bool:  # lycoris.utils.str_bool: anything but "false" is true
    return str(value).lower() != "false"


@dataclass(frozen=True)
class LycorisOptions:
    algo: str = "locon"
    preset: str = "full"
    dim: int = 4
    conv_dim: int = 4
    use_tucker: bool = False
    use_scalar: bool = False
    dora: bool = False
    wd_on_output: bool = True
    factor: int = -1
    decompose_both: bool = False
    full_matrix: bool = False
    unbalanced: bool = False
    train_norm: bool = False
    bypass: bool = False

    @classmethod
    def from_network(cls, network) -> LycorisOptions:
        """From a NetworkSection with network_module = "lycoris.kohya" (its network_args strings)."""
        from loratui.core.config import algo_of, split_network_args

        args, _ = split_network_args(network.network_args)
        args = {k: v.strip().strip('"') for k, v in args.items()}
        dim = int(network.network_dim or 4)
        conv = args.get("conv_dim")
        tucker = next((args[k] for k in ("use_conv_cp", "use_cp", "use_tucker") if args.get(k)), False)
        return cls(
            algo=algo_of(args),
            preset=args.get("preset", "full"),
            dim=dim,
            conv_dim=int(conv) if conv else dim,  # create_network: int(conv_dim or network_dim)
            use_tucker=_str_bool(tucker) if tucker else False,
            use_scalar=_str_bool(args.get("use_scalar", False)),
            dora=_str_bool(args.get("dora_wd", False)),
            wd_on_output=_str_bool(args.get("wd_on_output", True)),
            factor=int(args.get("factor", -1)),
            decompose_both=bool(args.get("decompose_both")),  # passed as the raw string: any value is on
            full_matrix=_str_bool(args.get("full_matrix", False)),
            unbalanced=_str_bool(args.get("unbalanced_factorization", False)),
            train_norm=_str_bool(args.get("train_norm", False)),
            bypass=_str_bool(args.get("bypass_mode", False)),
        )


def factorization(dimension: int, factor: int = -1) -> tuple[int, int]:
    """lycoris.functional.general.factorization: dimension = m * n with m <= n, m near ``factor``."""
    if factor > 0 and dimension % factor == 0:
        m, n = factor, dimension // factor
        return (n, m) if m > n else (m, n)
    if factor < 0:
        factor = dimension
    m, n = 1, dimension
    length = m + n
    while m < n:
        new_m = m + 1
        while dimension % new_m != 0:
            new_m += 1
        new_n = dimension // new_m
        if new_m + new_n > length or new_m > factor:
            break
        m, n = new_m, new_n
    if m > n:
        n, m = m, n
    return m, n


def _rank_for(layer: Layer, opts: LycorisOptions) -> int:
    """create_single_module's rank choice; 0 = the layer is not wrapped."""
    if layer.kind == "linear":
        return opts.dim if opts.dim > 0 else 0
    conv_dim = opts.conv_dim if PRESET_TARGETS[opts.preset].enable_conv else 0
    if layer.kernel == 1 and opts.dim > 0:
        return opts.dim
    return conv_dim if conv_dim > 0 else 0


def module_params(layer: Layer, opts: LycorisOptions) -> int:
    """Trainable parameters LyCORIS gives ``layer`` (0 when it leaves the layer alone)."""
    if layer.kind == "norm":
        return 2 * layer.fan_out if opts.train_norm else 0
    r = _rank_for(layer, opts)
    if r == 0:
        return 0
    cin, cout, k = layer.fan_in, layer.fan_out, layer.kernel
    kk = k * k
    tucker = opts.use_tucker and layer.kind == "conv" and k != 1
    if opts.algo == "full":
        return cout * cin * kk + (cout if layer.bias else 0)
    if opts.algo == "locon":
        n = r * cin + r * r * kk + cout * r if tucker else r * cin * kk + cout * r
    elif opts.algo == "loha":
        n = 2 * (r * r * kk + r * cout + r * cin) if tucker else 2 * (cout * r + r * cin * kk)
    elif opts.algo == "lokr":
        in_m, in_n = factorization(cin, opts.factor)
        out_l, out_k = factorization(cout, opts.factor)
        if opts.unbalanced:
            out_l, out_k = out_k, out_l
        if opts.decompose_both and r < max(out_l, in_m) / 2 and not opts.full_matrix:
            n = out_l * r + r * in_m
        else:
            n = out_l * in_m
        if r >= max(out_k, in_n) / 2 or opts.full_matrix:
            n += out_k * in_n * kk
        elif tucker:
            n += r * r * kk + r * out_k + r * in_n
        else:
            n += out_k * r + r * in_n * kk
    else:
        raise ValueError(f"unknown LyCORIS algo {opts.algo!r}")
    if opts.dora:
        n += cout if opts.wd_on_output else cin
    if opts.use_scalar:
        n += 1
    return n


def _selected(layer: Layer, targets: PresetTargets, with_names: bool) -> bool:
    if layer.owner in (TOP_CONV, TOP_TIME):
        return with_names and layer.owner in targets.names
    if ATTENTION in targets.unet and layer.in_attention:
        return True
    return layer.owner in targets.unet or layer.owner in targets.text_encoder


@dataclass
class NetworkCount:
    """A network's trainable parameters and the base weights its modules wrap."""

    algo: str
    unet_params: int = 0
    te_params: int = 0
    unet_modules: int = 0
    te_modules: int = 0
    wrapped_unet_weights: int = 0     # elements of the UNet weights (Linear/Conv) under a module
    wrapped_te_weights: int = 0
    largest_unit_weights: int = 0     # the most wrapped UNet weight elements in one checkpointing unit

    @property
    def params(self) -> int:
        return self.unet_params + self.te_params

    @property
    def modules(self) -> int:
        return self.unet_modules + self.te_modules


def count_lycoris(opts: LycorisOptions, arch: FamilyArch, *, train_unet: bool = True,
                  train_te: bool = True) -> NetworkCount:
    """Trainable parameters of a LyCORIS network over a model of ``arch`` (family from ``arch.name``)."""
    targets = PRESET_TARGETS[opts.preset]
    count = NetworkCount(algo=opts.algo)
    with_names = arch.name != "sdxl"
    units: dict[str, int] = {}
    if train_unet:
        for layer in unet_layers(arch.unet):
            if not _selected(layer, targets, with_names):
                continue
            n = module_params(layer, opts)
            if n:
                count.unet_params += n
                count.unet_modules += 1
                count.wrapped_unet_weights += layer.weight_elems
                units[layer.unit] = units.get(layer.unit, 0) + layer.weight_elems
    if train_te:
        for te in arch.text_encoders:
            for layer in text_encoder_layers(te):
                if not _selected(layer, targets, with_names):
                    continue
                n = module_params(layer, opts)
                if n:
                    count.te_params += n
                    count.te_modules += 1
                    count.wrapped_te_weights += layer.weight_elems
    count.largest_unit_weights = max(units.values(), default=0)
    return count
