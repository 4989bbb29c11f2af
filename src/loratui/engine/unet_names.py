"""Map diffusers UNet module names to the original (ldm / sd-scripts SDXL) names.

sd-scripts names SDXL LoRA keys after the original UNet layout (``input_blocks.4.1...``), and single
checkpoints store UNet weights the same way. The mapping follows the model's block count and
layers_per_block, so it works for real SD1/SD2/SDXL UNets and for the tiny test models alike.
"""

from __future__ import annotations

_RESNET_PARTS = {
    "norm1": "in_layers.0",
    "conv1": "in_layers.2",
    "time_emb_proj": "emb_layers.1",
    "norm2": "out_layers.0",
    "conv2": "out_layers.3",
    "conv_shortcut": "skip_connection",
}

_TOP_LEVEL = {
    "conv_in": "input_blocks.0.0",
    "time_embedding.linear_1": "time_embed.0",
    "time_embedding.linear_2": "time_embed.2",
    "add_embedding.linear_1": "label_emb.0.0",
    "add_embedding.linear_2": "label_emb.0.2",
    "conv_norm_out": "out.0",
    "conv_out": "out.2",
}


def unet_prefix_map(config) -> dict[str, str]:
    """Diffusers module prefix -> original prefix for every block of a UNet with this config.

    Resnet prefixes map to ``<block>.0`` and need ``resnet_part_map`` for their children.
    """
    layers = config["layers_per_block"] if isinstance(config, dict) else config.layers_per_block
    down_types = config["down_block_types"] if isinstance(config, dict) else config.down_block_types
    up_types = config["up_block_types"] if isinstance(config, dict) else config.up_block_types
    out: dict[str, str] = dict(_TOP_LEVEL)
    for i, kind in enumerate(down_types):
        for j in range(layers):
            n = 1 + i * (layers + 1) + j
            out[f"down_blocks.{i}.resnets.{j}"] = f"input_blocks.{n}.0"
            if "CrossAttn" in kind:
                out[f"down_blocks.{i}.attentions.{j}"] = f"input_blocks.{n}.1"
        if i < len(down_types) - 1:
            out[f"down_blocks.{i}.downsamplers.0.conv"] = f"input_blocks.{(i + 1) * (layers + 1)}.0.op"
    out["mid_block.resnets.0"] = "middle_block.0"
    out["mid_block.attentions.0"] = "middle_block.1"
    out["mid_block.resnets.1"] = "middle_block.2"
    for i, kind in enumerate(up_types):
        has_attn = "CrossAttn" in kind
        for j in range(layers + 1):
            n = i * (layers + 1) + j
            out[f"up_blocks.{i}.resnets.{j}"] = f"output_blocks.{n}.0"
            if has_attn:
                out[f"up_blocks.{i}.attentions.{j}"] = f"output_blocks.{n}.1"
        if i < len(up_types) - 1:
            n = i * (layers + 1) + layers
            out[f"up_blocks.{i}.upsamplers.0.conv"] = f"output_blocks.{n}.{2 if has_attn else 1}.conv"
    return out


def to_original_name(name: str, prefix_map: dict[str, str]) -> str:
    """Translate one dotted diffusers name (module or parameter) to the original layout."""
    parts = name.split(".")
    # Longest matching prefix wins (e.g. "down_blocks.0.resnets.0" before nothing shorter exists).
    for cut in range(len(parts), 0, -1):
        head = ".".join(parts[:cut])
        if head in prefix_map:
            rest = parts[cut:]
            mapped = prefix_map[head]
            if ".resnets." in head and rest:
                sub = rest[0]
                if sub in _RESNET_PARTS:
                    return ".".join([mapped, _RESNET_PARTS[sub], *rest[1:]])
            return ".".join([mapped, *rest])
    raise KeyError(f"no original UNet name for {name!r}")
