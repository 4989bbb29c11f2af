"""Shape tables of the Stable Diffusion models, and the LoRA parameter counts derived from them.

The estimator needs two things from the architecture: how many LoRA parameters a given rank adds
(which depends on the layers kohya's LoRA targets), and how many activation elements each latent
token creates at each UNet level. Both are computed here from a compact description of each UNet
(channels per level, resnets per block, transformer depth, cross-attention width), following the
block layout of diffusers' UNet2DConditionModel, which sd-scripts' own UNets mirror.

kohya's targets (sd-scripts networks/lora.py):
  UNet      every Linear and 1x1 Conv2d inside a Transformer2DModel, at network_dim;
            with conv_dim > 0 also every Conv2d/Linear inside ResnetBlock2D, Downsample2D and
            Upsample2D: 3x3 convs at conv_dim, Linear and 1x1 convs (time_emb_proj, conv_shortcut)
            at network_dim.
  text enc. every Linear inside CLIPAttention (q, k, v, out_proj) and CLIPMLP (fc1, fc2).
A Linear(in, out) at rank r adds r*(in+out) parameters; a kxk Conv2d adds r*(in*k*k + out).
The counts were checked against diffusers/transformers models built on the meta device
(docs/vram.md lists the figures).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UNetArch:
    """A diffusers-style UNet: level i has block_out_channels[i] channels at 1/2**i of the latent side."""

    block_out_channels: tuple[int, ...]
    attention: tuple[bool, ...]          # does level i have cross-attention blocks
    transformer_depth: tuple[int, ...]   # BasicTransformerBlocks per Transformer2DModel at level i
    heads: tuple[int, ...]               # attention heads at level i
    mid_depth: int
    layers_per_block: int
    cross_attention_dim: int
    time_embed_dim: int
    params: int                          # total UNet parameters (published / counted); 0 when unknown
    in_channels: int = 4                 # latent channels into conv_in / out of conv_out
    out_channels: int = 4


@dataclass(frozen=True)
class TextEncoderArch:
    """A CLIP text transformer."""

    name: str
    hidden: int
    layers: int
    mlp: int
    params: int


@dataclass(frozen=True)
class FamilyArch:
    name: str
    unet: UNetArch
    text_encoders: tuple[TextEncoderArch, ...]
    vae_params: int
    vae_encoder_params: int


CLIP_L = TextEncoderArch("CLIP-L", hidden=768, layers=12, mlp=3072, params=123_060_480)
OPENCLIP_BIGG = TextEncoderArch("OpenCLIP bigG", hidden=1280, layers=32, mlp=5120, params=694_659_840)
VAE_PARAMS = 83_653_863
VAE_ENCODER_PARAMS = 34_163_592

SD1_UNET = UNetArch(
    block_out_channels=(320, 640, 1280, 1280),
    attention=(True, True, True, False),
    transformer_depth=(1, 1, 1, 0),
    heads=(8, 8, 8, 8),
    mid_depth=1,
    layers_per_block=2,
    cross_attention_dim=768,
    time_embed_dim=1280,
    params=859_520_964,
)

SDXL_UNET = UNetArch(
    block_out_channels=(320, 640, 1280),
    attention=(False, True, True),
    transformer_depth=(0, 2, 10),
    heads=(5, 10, 20),
    mid_depth=10,
    layers_per_block=2,
    cross_attention_dim=2048,
    time_embed_dim=1280,
    params=2_567_463_684,
)

FAMILIES: dict[str, FamilyArch] = {
    "sd1": FamilyArch("sd1", SD1_UNET, (CLIP_L,), VAE_PARAMS, VAE_ENCODER_PARAMS),
    "sdxl": FamilyArch("sdxl", SDXL_UNET, (CLIP_L, OPENCLIP_BIGG), VAE_PARAMS, VAE_ENCODER_PARAMS),
}


def unet_arch_from_config(config: dict) -> UNetArch:
    """A UNetArch from a diffusers UNet2DConditionModel config (its unet/config.json as a dict).

    Lets the same shape formulas count a model other than the released SD1/SDXL (the tiny test models,
    a custom-width UNet). Only the SD-style layout is read: CrossAttn*/plain down blocks, a cross-attention
    mid block, symmetric up blocks. ``params`` is 0 (not counted here)."""
    channels = tuple(int(c) for c in config["block_out_channels"])
    n = len(channels)
    attention = tuple("CrossAttn" in kind for kind in config["down_block_types"])

    def per_level(value, default):
        value = default if value is None else value
        return tuple(int(v) for v in value) if isinstance(value, (list, tuple)) else (int(value),) * n

    depth = per_level(config.get("transformer_layers_per_block"), 1)
    heads = per_level(config.get("num_attention_heads") or config.get("attention_head_dim"), 8)
    cross = config.get("cross_attention_dim", 768)
    cross = int(cross[0] if isinstance(cross, (list, tuple)) else cross)
    return UNetArch(
        block_out_channels=channels,
        attention=attention,
        transformer_depth=tuple(d if a else 0 for d, a in zip(depth, attention)),
        heads=heads,
        mid_depth=depth[-1],  # diffusers' cross-attention mid block takes the last level's depth
        layers_per_block=int(config.get("layers_per_block", 2)),
        cross_attention_dim=cross,
        time_embed_dim=int(config.get("time_embedding_dim") or 4 * channels[0]),
        params=0,
        in_channels=int(config.get("in_channels", 4)),
        out_channels=int(config.get("out_channels", 4)),
    )


def text_encoder_arch_from_config(config: dict, name: str = "CLIP") -> TextEncoderArch:
    """A TextEncoderArch from a transformers CLIPTextConfig (text_encoder/config.json as a dict)."""
    return TextEncoderArch(name, hidden=int(config["hidden_size"]), layers=int(config["num_hidden_layers"]),
                           mlp=int(config["intermediate_size"]), params=0)


# --- the block layout -------------------------------------------------------------------------

@dataclass(frozen=True)
class Resnet:
    level: int
    cin: int
    cout: int


@dataclass(frozen=True)
class Transformer:
    level: int
    channels: int
    depth: int
    heads: int


@dataclass(frozen=True)
class Resample:
    level: int        # level of the input
    channels: int


@dataclass(frozen=True)
class Layout:
    resnets: tuple[Resnet, ...]
    transformers: tuple[Transformer, ...]
    resamplers: tuple[Resample, ...]   # downsamplers and upsamplers: one 3x3 conv each


def unet_layout(arch: UNetArch) -> Layout:
    """Enumerate the resnets, transformers and resamplers in diffusers' order and channel rules."""
    ch = arch.block_out_channels
    n = len(ch)
    resnets: list[Resnet] = []
    transformers: list[Transformer] = []
    resamplers: list[Resample] = []

    def add_attn(level: int, channels: int, depth: int) -> None:
        transformers.append(Transformer(level, channels, depth, arch.heads[level]))

    skips = [ch[0]]  # conv_in output feeds the first skip
    cin = ch[0]
    for level in range(n):
        cout = ch[level]
        for _ in range(arch.layers_per_block):
            resnets.append(Resnet(level, cin, cout))
            if arch.attention[level]:
                add_attn(level, cout, arch.transformer_depth[level])
            cin = cout
            skips.append(cout)
        if level < n - 1:
            resamplers.append(Resample(level, cout))
            skips.append(cout)

    last = n - 1
    resnets.append(Resnet(last, ch[last], ch[last]))
    add_attn(last, ch[last], arch.mid_depth)
    resnets.append(Resnet(last, ch[last], ch[last]))

    prev = ch[last]
    for level in reversed(range(n)):
        cout = ch[level]
        for _ in range(arch.layers_per_block + 1):
            skip = skips.pop()
            resnets.append(Resnet(level, prev + skip, cout))
            if arch.attention[level]:
                add_attn(level, cout, arch.transformer_depth[level])
            prev = cout
        if level > 0:
            resamplers.append(Resample(level, cout))
    return Layout(tuple(resnets), tuple(transformers), tuple(resamplers))


# --- LoRA parameter counts --------------------------------------------------------------------

def _linear(rank: int, fan_in: int, fan_out: int) -> int:
    return rank * (fan_in + fan_out)


def _conv3x3(rank: int, fan_in: int, fan_out: int) -> int:
    return rank * (fan_in * 9 + fan_out)


def transformer_lora_params(t: Transformer, rank: int, cross_dim: int) -> int:
    """proj_in + proj_out, and per block: attn1 q/k/v/out, attn2 q/k/v/out (k, v from the text
    context), GEGLU ff.net.0.proj (C -> 8C) and ff.net.2 (4C -> C)."""
    c = t.channels
    per_block = (
        4 * _linear(rank, c, c)
        + 2 * _linear(rank, c, c) + 2 * _linear(rank, cross_dim, c)
        + _linear(rank, c, 8 * c) + _linear(rank, 4 * c, c)
    )
    return 2 * _linear(rank, c, c) + t.depth * per_block


def unet_lora_params(arch: UNetArch, rank: int, conv_rank: int = 0) -> int:
    layout = unet_layout(arch)
    total = sum(transformer_lora_params(t, rank, arch.cross_attention_dim) for t in layout.transformers)
    if conv_rank > 0:
        for r in layout.resnets:
            total += _conv3x3(conv_rank, r.cin, r.cout) + _conv3x3(conv_rank, r.cout, r.cout)
            total += _linear(rank, arch.time_embed_dim, r.cout)
            if r.cin != r.cout:
                total += _linear(rank, r.cin, r.cout)  # 1x1 conv_shortcut
        total += sum(_conv3x3(conv_rank, s.channels, s.channels) for s in layout.resamplers)
    return total


def text_encoder_lora_params(te: TextEncoderArch, rank: int) -> int:
    h = te.hidden
    per_layer = 4 * _linear(rank, h, h) + _linear(rank, h, te.mlp) + _linear(rank, te.mlp, h)
    return te.layers * per_layer
