"""Peak training VRAM estimate for a LoRA config, with a per-part breakdown.

The model is additive: persistent memory (frozen weights, LoRA parameters, gradients, optimizer
state, CUDA context) plus the largest transient (UNet activations stored for the backward pass,
or the VAE's scratch memory when latents are encoded on the fly). Weights and LoRA sizes come from
the shape tables in vram_models.py and are exact; activations are modelled per UNet level from
the number of latent tokens, with two fitted multipliers (with and without gradient checkpointing).

All tunable numbers are in the CONSTANTS table right below, so a measured peak can be used to
recalibrate without touching the formulas. docs/vram.md explains every formula and the fit.
The model family comes from vram_family.py; the calibration points and the refit live in
vram_calibration.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from loratui.core.config import TrainingConfig
from loratui.core.config import LYCORIS, latents_cached, network_kind, network_problems
from loratui.core.plan.network_params import PRESET_TARGETS, LycorisOptions, NetworkCount, count_lycoris
from loratui.core.plan.vram_family import (  # re-exported: callers import these from here
    FAMILY_GUESS_NOTE, FAMILY_LABELS, family_from_weights, guess_family, missing_model_warning, resolve_family,
)
from loratui.core.plan.vram_models import FAMILIES, FamilyArch, text_encoder_lora_params, unet_layout, \
    unet_lora_params

GIB = 1024 ** 3

# ---- calibration constants (see docs/vram.md; refit with vram_calibration.fit_activation_scales())
CONSTANTS: dict[str, float] = {
    # fixed costs
    "cuda_context_gib": 0.75,        # CUDA context + cuBLAS/cuDNN workspaces (not in torch's stats;
                                     # 0.75 GiB measured on an H100 with CUDA 13, every case)
    "allocator_overhead": 0.05,      # caching-allocator fragmentation, as a fraction of the rest
    # stored activation elements per latent token, per channel of the block
    "tf_block_elems": 30.0,          # one BasicTransformerBlock: norms, q/k/v, attn out, GEGLU ff
    "tf_wrapper_elems": 5.0,         # Transformer2DModel: group norm, proj_in, proj_out
    "resnet_in_elems": 4.0,          # ResnetBlock2D, per input channel: input, norm1 (fp32), silu
    "resnet_out_elems": 5.0,         # ResnetBlock2D, per output channel: conv1, norm2 (fp32), silu, conv2
    "attn_matrix_copies": 3.5,       # scores, fp32 softmax and its saved output, kernel "none"
                                     # (fitted to the measured SD1.5 512px case)
    # fitted multipliers (least squares on the log ratio over the sdpa calibration points:
    # 4 published + 8 measured on an H100)
    "act_scale_full": 1.094,         # without gradient checkpointing
    "act_scale_ckpt": 1.811,         # with gradient checkpointing
    # VAE encode (latents not cached): scratch elements per image pixel at the widest stage
    "vae_encode_elems_per_pixel": 512.0,
    # text-encoder activations per token per hidden channel (only when the encoder is trained)
    "te_layer_elems": 30.0,
    # text encoder trained, UNet frozen: the share of a transformer unit's stored elements still kept (the
    # resnets keep all of theirs). The loss is at the UNet output, so the TE gradient flows back through
    # every block after the first cross-attention and they keep what their backward needs; what goes is
    # the inputs LoRA's wrapped linears keep for their weight gradients (norm outputs, the GEGLU product):
    # a frozen layer's backward needs its weight, not its input. Measured with saved_tensors_hooks on the
    # tiny SD1 / SDXL UNets, every kohya LoRA target wrapped vs the context alone needing grad: 0.67 / 0.70
    "te_only_transformer_share": 0.69,
}

# optimizer state bytes per trainable parameter (fp32 states unless 8-bit)
OPTIMIZER_STATE_BYTES: dict[str, float] = {
    "AdamW": 8.0, "AdamW8bit": 2.0, "Lion": 4.0, "Lion8bit": 1.0,
    "Prodigy": 16.0, "SGD": 0.0, "Adafactor": -1.0,  # Adafactor: factored, see _optimizer_bytes
}
CARD_TIERS_GB: tuple[int, ...] = (6, 8, 12, 16, 24, 48)
USABLE_FRACTION = 0.95   # share of a card's memory a training run can count on (driver, display)


@dataclass
class VramPart:
    name: str
    bytes: int
    note: str = ""


@dataclass
class VramEstimate:
    total_bytes: int
    parts: list[VramPart]
    assumptions: list[str] = field(default_factory=list)
    family: str = "sd1"
    family_guessed: bool = False  # model_family auto and the weights could not be read: from the name

    @property
    def total_gib(self) -> float:
        return self.total_bytes / GIB

    @property
    def allocated_bytes(self) -> int:
        """Everything torch's allocator holds (total minus the CUDA context)."""
        return sum(p.bytes for p in self.parts if p.name != "CUDA context")

    def fits(self, card_gb: float) -> bool:
        return self.total_bytes <= card_gb * GIB * USABLE_FRACTION

    def fitting_tiers(self) -> list[int]:
        return [gb for gb in CARD_TIERS_GB if self.fits(gb)]

    def to_dict(self) -> dict:
        return {
            "family": self.family,
            "family_guessed": self.family_guessed,
            "total_bytes": self.total_bytes,
            "total_gib": round(self.total_gib, 3),
            "parts": [{"name": p.name, "bytes": p.bytes, "gib": round(p.bytes / GIB, 3), "note": p.note}
                      for p in self.parts],
            "assumptions": list(self.assumptions),
            "fits_tiers_gb": self.fitting_tiers(),
        }


def _resolution(cfg: TrainingConfig) -> tuple[int, int]:
    res = cfg.dataset.resolution
    if isinstance(res, int):
        return res, res
    if len(res) == 1:
        return int(res[0]), int(res[0])
    return int(res[0]), int(res[1])


def _optimizer_bytes(name: str, params: int, rank: int) -> tuple[int, str]:
    per = OPTIMIZER_STATE_BYTES.get(name, 8.0)
    if per < 0:
        # Adafactor keeps one fp32 statistic per row and per column of each matrix. A LoRA pair holds
        # rank * (fan_in + fan_out) params and its two matrices (rank x fan_in, fan_out x rank) have
        # 4 * (fan_in + fan_out + 2 * rank) bytes of statistics: about 4 / rank bytes per param (the
        # 2 * rank is small next to fan_in + fan_out); no first moment (beta1 unset, the default)
        per = 4.0 / max(rank, 1)
        return int(params * per), "factored second moments (row + column statistics)"
    if name.endswith("8bit"):
        return int(params * per), "8-bit states (bitsandbytes)"
    if name == "Prodigy":
        return int(params * per), "four fp32 states per parameter"
    if name == "SGD":
        return 0, "no state (no momentum)"
    return int(params * per), f"{int(per // 4)} fp32 state(s) per parameter"


def _lycoris_count(net, arch: FamilyArch, train_unet: bool, train_te: bool):
    """(NetworkCount, LycorisOptions) for network_module = "lycoris.kohya", else None."""
    if net.network_module != LYCORIS:
        return None
    from loratui.core.errors import LoratuiError

    problems = network_problems(net)
    if problems:
        raise LoratuiError(f"cannot estimate this network: {problems[0]}")
    opts = LycorisOptions.from_network(net)
    return count_lycoris(opts, arch, train_unet=train_unet, train_te=train_te), opts


def _lycoris_rebuilt_bytes(count: NetworkCount, opts: LycorisOptions, weight_bytes: int, master_bytes: int,
                           train_te: bool, checkpointing: bool) -> tuple[int, str]:
    """Memory LyCORIS modules hold for the backward pass beyond kohya LoRA's (by formula, not measured).

    Outside bypass mode each LoCon/LoHa/LoKr module rebuilds its layer's whole weight difference every
    forward and runs the layer's op on it, so autograd keeps that full-size tensor (weight dtype) until the
    backward; DoRA also keeps the merged weight in fp32 for its norm. algo=full keeps the compute-dtype
    copy of its trained weight when that differs from the master's dtype. With gradient checkpointing
    only one checkpointed unit (the largest) is rebuilt with autograd at a time.
    """
    if opts.algo == "full":
        per_elem = weight_bytes if weight_bytes != master_bytes else 0
        what = f"compute-dtype copies of the trained weights ({weight_bytes} bytes each)"
    elif opts.algo == "locon" and opts.bypass:
        return 0, ""
    else:
        per_elem = weight_bytes + (4 if opts.dora else 0)
        what = (f"each module's rebuilt weight difference ({weight_bytes} bytes"
                + (" + the fp32 merged weight for DoRA's norm" if opts.dora else "") + " per element)")
    if not per_elem:
        return 0, ""
    te = count.wrapped_te_weights if train_te else 0
    if checkpointing:
        elems = count.largest_unit_weights + te
        scope = "the largest checkpointed UNet unit" + (" + the text encoder modules" if te else "")
    else:
        elems = count.wrapped_unet_weights + te
        scope = f"all {count.modules} modules"
    return int(elems * per_elem), f"{what}, {scope}: {elems / 1e6:.1f}M elements; by formula, not measured"


def network_size(cfg: TrainingConfig, *, family: str | None = None) -> dict:
    """Trainable parameters of cfg's network on the family's released model (what `loratui steps` shows).

    kohya LoRA/LoCon and every LyCORIS type, from the same shape tables as the VRAM estimate; ``file_mb``
    is the saved file at save_precision (plus one alpha per module, and headers not counted)."""
    assumptions: list[str] = []
    fam = resolve_family(cfg, family, assumptions)
    arch = FAMILIES[fam]
    net = cfg.network
    train_unet = not net.network_train_text_encoder_only
    train_te = not net.network_train_unet_only
    lyco = _lycoris_count(net, arch, train_unet, train_te)
    if lyco is not None:
        count = lyco[0]
        unet, te, modules = count.unet_params, count.te_params, count.modules
        preset = lyco[1].preset
    else:
        unet = unet_lora_params(arch.unet, net.network_dim, net.conv_dim) if train_unet else 0
        te = sum(text_encoder_lora_params(t, net.network_dim) for t in arch.text_encoders) if train_te else 0
        modules, preset = None, None
    save_bytes = 4 if cfg.saving.save_precision in ("float", "fp32") else 2
    return {"kind": network_kind(net), "network_module": net.network_module, "preset": preset,
            "family": fam, "unet_params": unet, "text_encoder_params": te, "params": unet + te,
            "modules": modules, "file_mb": round((unet + te + (modules or 0)) * save_bytes / 1e6, 1),
            "assumptions": assumptions}


def activation_elements(arch: FamilyArch, tokens: int, context_tokens: int, attention: str,
                        checkpointing: bool, frozen_unet: bool = False) -> tuple[float, float]:
    """Stored activation elements per sample of the UNet: (linear-in-tokens part, attention part).

    Without checkpointing everything the backward pass needs is kept. With it only each unit's
    input is kept, plus one unit (a resnet or a transformer block) rebuilt during backward.
    ``frozen_unet``: only the text encoder is trained; its gradient still flows back through the whole
    UNet (the loss is at the UNet output), so every unit keeps its activations, less the inputs LoRA's
    own linears would keep (``te_only_transformer_share`` of a transformer unit's). Checkpointing works the
    same way then (diffusers checkpoints with use_reentrant=False): the unit inputs are kept as they are.
    The attention matrices stay: the softmax output is needed for the gradient to the text's values.
    """
    c = CONSTANTS
    tf_share = c["te_only_transformer_share"] if frozen_unet else 1.0
    layout = unet_layout(arch.unet)

    def level_tokens(level: int) -> float:
        return tokens / (4 ** level)

    def attn_elems(t, n: float) -> float:
        if attention == "none":  # softmax matrices materialised: self (n x n) and cross (n x ctx)
            return c["attn_matrix_copies"] * t.heads * (n * n + n * context_tokens)
        return 2.0 * t.heads * n  # flash / memory-efficient kernels keep only log-sum-exp rows

    units: list[tuple[float, float, float]] = []  # (stored elems, attention elems, input elems)
    for r in layout.resnets:
        n = level_tokens(r.level)
        units.append(((c["resnet_in_elems"] * r.cin + c["resnet_out_elems"] * r.cout) * n, 0.0, r.cin * n))
    for t in layout.transformers:
        n = level_tokens(t.level)
        units.append((tf_share * c["tf_wrapper_elems"] * t.channels * n, 0.0, t.channels * n))
        per_block = tf_share * c["tf_block_elems"] * t.channels * n + 2 * t.channels * context_tokens
        for _ in range(t.depth):
            units.append((per_block, attn_elems(t, n), t.channels * n))
    for s in layout.resamplers:
        n = level_tokens(s.level)
        units.append((s.channels * n, 0.0, s.channels * n))

    if not checkpointing:
        return sum(u[0] for u in units), sum(u[1] for u in units)
    boundaries = sum(u[2] for u in units)
    biggest = max(units, key=lambda u: u[0] + u[1])
    return boundaries + biggest[0], biggest[1]


def estimate_vram(cfg: TrainingConfig, *, family: str | None = None,
                  largest_bucket: int | None = None, scan=None) -> VramEstimate:
    """Estimate the peak VRAM of training ``cfg`` on one GPU. ``largest_bucket``: the most samples
    one bucket of the dataset holds (``largest_bucket_samples``), when the dataset can be read: a
    batch never mixes buckets, so no batch is larger than that. ``scan``: the dataset's scan, to
    work that out here (what `loratui vram`, `presets apply` and the VRAM panel all do, so they agree)."""
    if largest_bucket is None and scan is not None:
        largest_bucket = largest_bucket_samples(cfg, scan)
    assumptions: list[str] = []
    fam = resolve_family(cfg, family, assumptions)
    guessed = bool(assumptions) and assumptions[0].startswith(FAMILY_GUESS_NOTE)
    arch = FAMILIES[fam]
    tr, net, ds = cfg.training, cfg.network, cfg.dataset
    batch = tr.train_batch_size
    if largest_bucket is not None and 0 < largest_bucket < batch:
        assumptions.append(f"batches of {largest_bucket}, not train_batch_size {batch}: the largest bucket holds "
                           f"{largest_bucket} samples and a batch never mixes buckets")
        batch = largest_bucket
    width, height = _resolution(cfg)
    tokens = (width // 8) * (height // 8)
    chunks = max(1, tr.max_token_length // 75)
    context_tokens = 77 * chunks

    weight_bytes = 4 if tr.mixed_precision == "no" else 2
    act_bytes = weight_bytes
    dtype_name = {"no": "fp32", "fp16": "fp16", "bf16": "bf16"}[tr.mixed_precision]
    lora_bytes = 2 if (tr.full_bf16 or tr.full_fp16) else 4
    lora_dtype = "bf16" if tr.full_bf16 else "fp16" if tr.full_fp16 else "fp32"
    attention = "sdpa" if (tr.sdpa or tr.xformers) else "none"

    train_unet = not net.network_train_text_encoder_only
    train_te = not net.network_train_unet_only
    te_cached = tr.cache_text_encoder_outputs and not train_te
    if tr.cache_text_encoder_outputs and train_te:
        assumptions.append("cache_text_encoder_outputs is ignored while the text encoder is trained")
    parts: list[VramPart] = []

    # trainable network: kohya LoRA/LoCon, or a LyCORIS network counted layer by layer
    lyco = _lycoris_count(net, arch, train_unet, train_te)
    if lyco is not None:
        count, opts = lyco
        unet_lora, te_lora = count.unet_params, count.te_params
    else:
        unet_lora = unet_lora_params(arch.unet, net.network_dim, net.conv_dim) if train_unet else 0
        te_lora = sum(text_encoder_lora_params(te, net.network_dim) for te in arch.text_encoders) if train_te else 0
    lora = unet_lora + te_lora
    # algo=full swaps each wrapped layer's frozen weight and bias for the trained copy (counted below)
    replaced_unet = unet_lora if lyco is not None and lyco[1].algo == "full" else 0
    replaced_te = te_lora if lyco is not None and lyco[1].algo == "full" else 0

    # frozen weights
    unet_frozen = arch.unet.params - replaced_unet
    unet_note = f"{unet_frozen / 1e6:.1f}M params, {dtype_name}, frozen"
    if replaced_unet:
        unet_note += f" ({replaced_unet / 1e6:.1f}M more are trained by algo=full: counted as network weights)"
    parts.append(VramPart("UNet weights", unet_frozen * weight_bytes, unet_note))
    te_params = sum(te.params for te in arch.text_encoders) - replaced_te
    te_names = " + ".join(te.name for te in arch.text_encoders)
    if te_cached:
        assumptions.append("text-encoder outputs cached: the text encoder(s) are moved off the GPU")
    else:
        parts.append(VramPart("text encoder weights", te_params * weight_bytes,
                              f"{te_names}, {te_params / 1e6:.1f}M params, {dtype_name}"
                              + (" (frozen part)" if replaced_te else "")))
    if latents_cached(ds):  # cache_latents_to_disk alone caches them too
        assumptions.append("latents cached before training: the VAE is moved off the GPU")
    else:
        parts.append(VramPart("VAE weights", arch.vae_params * weight_bytes,
                              f"{arch.vae_params / 1e6:.1f}M params, {dtype_name} (latents not cached)"))

    trained = [f"UNet {unet_lora / 1e6:.2f}M"] if train_unet else []
    trained += [f"text encoder {te_lora / 1e6:.2f}M"] if train_te else []
    if lyco is not None:
        count, opts = lyco
        what = f"{network_kind(net)}, preset {opts.preset}, {count.modules} modules: {' + '.join(trained)} params"
        if opts.algo != "full":
            what += f", rank {opts.dim}"
            if opts.conv_dim != opts.dim and PRESET_TARGETS[opts.preset].enable_conv:
                what += f", conv rank {opts.conv_dim}" if opts.conv_dim else ", 3x3 convs off"
    else:
        what = f"{' + '.join(trained)} params, rank {net.network_dim}"
        if net.conv_dim:
            what += f", conv rank {net.conv_dim}"
    parts.append(VramPart("LoRA weights", lora * lora_bytes, f"{what}, {lora_dtype}"))
    parts.append(VramPart("LoRA gradients", lora * lora_bytes, lora_dtype))
    rank_for_opt = lyco[1].dim if lyco is not None and lyco[1].algo != "full" else net.network_dim
    opt_bytes, opt_note = _optimizer_bytes(cfg.optimizer.optimizer_type, lora, rank_for_opt)
    parts.append(VramPart("optimizer state", opt_bytes, f"{cfg.optimizer.optimizer_type}: {opt_note}"))

    # activations (the transient peak)
    # the UNet keeps activations whether or not it is trained: text-encoder-only training backprops
    # through it (activation_elements says what it keeps then)
    linear, attn = activation_elements(arch, tokens, context_tokens, attention, tr.gradient_checkpointing,
                                       frozen_unet=not train_unet)
    scale = CONSTANTS["act_scale_ckpt"] if tr.gradient_checkpointing else CONSTANTS["act_scale_full"]
    unet_act = int(scale * batch * (linear + attn) * act_bytes)
    te_act = 0
    if train_te:
        te_act = int(batch * context_tokens * act_bytes * CONSTANTS["te_layer_elems"]
                     * sum(te.hidden * te.layers for te in arch.text_encoders))
    act_note = (f"batch {batch} x {width}x{height} ({tokens} latent tokens), attention "
                f"{'sdpa/flash' if attention == 'sdpa' else 'none (full matrices)'}, "
                f"checkpointing {'on' if tr.gradient_checkpointing else 'off'}")
    if not train_unet:
        act_note += "; UNet frozen but backpropagated through (text encoder only)"
    if attn and attention == "none":
        act_note += f"; attention matrices {scale * batch * attn * act_bytes / GIB:.2f} GiB"
    activations = unet_act + te_act
    if not latents_cached(ds):
        vae_scratch = int(batch * width * height * CONSTANTS["vae_encode_elems_per_pixel"] * act_bytes)
        if vae_scratch > activations:
            act_note += "; VAE encoding dominates"
            activations = vae_scratch
        else:
            act_note += f"; VAE encoding scratch ({vae_scratch / GIB:.2f} GiB) is smaller and freed before"
    parts.append(VramPart("activations", activations, act_note))
    if lyco is not None:
        rebuilt, note = _lycoris_rebuilt_bytes(lyco[0], lyco[1], weight_bytes, lora_bytes, train_te,
                                               tr.gradient_checkpointing)
        if rebuilt:
            parts.append(VramPart("LyCORIS weight rebuilds", rebuilt, note))
            assumptions.append("LyCORIS: parameters counted exactly from the layer shapes; the memory of its "
                               "rebuilt weights is by formula, not measured on a GPU (docs/vram.md)")

    subtotal = sum(p.bytes for p in parts)
    parts.append(VramPart("allocator overhead", int(subtotal * CONSTANTS["allocator_overhead"]),
                          "fragmentation of PyTorch's caching allocator"))
    parts.append(VramPart("CUDA context", int(CONSTANTS["cuda_context_gib"] * GIB),
                          "driver context and kernel workspaces (outside torch's counters)"))

    assumptions.append(f"peak at the largest bucket area ({width}x{height}); sample generation not counted")
    assumptions.append(f"sizes of the released {FAMILY_LABELS.get(fam, fam)} model; the weights file itself is not "
                       "read (a pruned or tiny test model needs less)")
    if attention == "none":
        assumptions.append("no sdpa/xformers: attention matrices grow with the square of the latent tokens")
    total = sum(p.bytes for p in parts)
    return VramEstimate(total_bytes=total, parts=parts, assumptions=assumptions, family=fam, family_guessed=guessed)

def largest_bucket_samples(cfg: TrainingConfig, scan) -> int | None:
    """The most samples (repeats counted) one bucket holds in an epoch; None when the dataset gives
    no schedule (no images, a bad setting: the step calculator says why)."""
    from loratui.core.errors import LoratuiError
    from loratui.core.plan.schedule import plan_epoch

    try:
        buckets = plan_epoch(cfg, scan).buckets
    except LoratuiError:
        return None
    return max(buckets.values()) if buckets else None
