"""``network_module`` and ``network_args``: LyCORIS network types the way sd-scripts passes them.

With ``network_module = "lycoris.kohya"`` the ``[network] network_args`` list holds sd-scripts'
``--network_args`` strings (``"algo=loha"``, ``"preset=full"``, ...). The engine hands them to the
lycoris-lora package exactly as sd-scripts does: as strings, with ``dropout`` added from
network_dropout when absent (sd-scripts' "workaround for LyCORIS"). So loratui trains what kohya_ss
trains, quirks included; this module only checks the list first, one line per problem, because
LyCORIS itself reads any value but "false" as true and silently ignores unknown keys.

One rule differs, everywhere alike (check, training, metadata, sd-scripts export): a value in matching
quotes (``'algo="loha"'``, a TOML habit) is read without them. sd-scripts splits on "=" and keeps the
quotes, so LyCORIS would stop on ``"loha"`` (KeyError) or ``int('"4"')``; the export writes the bare value.

Pure Python: no torch, no lycoris import (core must not import them).
"""

from __future__ import annotations

import difflib
import textwrap
from dataclasses import dataclass

NETWORK_MODULES = ("networks.lora", "lycoris.kohya")
LYCORIS = "lycoris.kohya"
ALGOS = ("locon", "loha", "lokr", "full")
ALGO_ALIASES = {"lora": "locon"}  # LyCORIS builds the same LoConModule for both names
ALGO_NAMES = {"locon": "LoCon (LyCORIS)", "loha": "LoHa", "lokr": "LoKr", "full": "full (native fine-tuning)"}
# LyCORIS's built-in presets that apply to SD1/SD2/SDXL UNets ("ia3" is for algo=ia3, not trained here).
PRESETS = ("full", "full-lin", "attn-mlp", "attn-only", "unet-only", "unet-transformer-only",
           "unet-convblock-only")
TRUE_WORDS, FALSE_WORDS = ("true",), ("false",)


@dataclass(frozen=True)
class LycorisArg:
    name: str
    kind: str  # int | float | bool | algo | preset
    default: str
    help: str
    algos: tuple[str, ...] = ALGOS  # the algos that read it
    min: float | None = None
    max: float | None = None

    # Plain data: reading and writing one argument in a network_args list (a Settings field of its own) is
    # network_args_edit.py's, whose EDIT_ARGS (core.config's LYCORIS_ARGS) adds those methods to these.
    @property
    def choices(self) -> tuple[str, ...] | None:
        """The values of a choice (algo, preset); None for the others."""
        return ALGOS if self.kind == "algo" else PRESETS if self.kind == "preset" else None

    def used_by(self, algo: str) -> bool:
        return algo in self.algos

    def problem(self, raw: str) -> str | None:
        """Why ``raw`` is not a value of this argument, one line naming it ("conv_dim=x must be ..."), or None."""
        return _value_problem(self, raw)


_RANK_ALGOS = ("locon", "loha", "lokr")
ARGS: dict[str, LycorisArg] = {a.name: a for a in (
    LycorisArg("algo", "algo", "lora (= locon)",
               "LyCORIS algorithm: locon (low-rank like LoRA, also on the 3x3 convs), loha (Hadamard product of "
               "two low-rank pairs: more expressive at the same rank), lokr (Kronecker product: small files), "
               "full (trains the full weight difference: large files).", ),
    LycorisArg("preset", "preset", "full",
               "Which layers are trained: full (attention, MLP, resnets, up/down samplers; on SD1/SD2 also "
               "conv_in, conv_out and the time embedding), full-lin (full without 3x3 convs), attn-mlp "
               "(transformer blocks), attn-only (attention only), unet-only (full, no text encoder), "
               "unet-transformer-only, unet-convblock-only. One of " + ", ".join(PRESETS) + "."),
    LycorisArg("conv_dim", "int", "network_dim",
               "Rank for the 3x3 convs (LoCon/LoHa/LoKr). Absent means network_dim; 0 turns the convs off.",
               _RANK_ALGOS, 0, 100000),
    LycorisArg("conv_alpha", "float", "network_alpha", "Alpha for the 3x3 convs. Absent means network_alpha.",
               _RANK_ALGOS, 0, 100000),
    LycorisArg("dropout", "float", "network_dropout",
               "Dropout on the update's output (LoCon: after lora_up; LoHa/LoKr: on the update times the "
               "input). lycoris-lora 4.1 applies it in bypass mode only: it works with bypass_mode=true and "
               "does nothing otherwise, nor with algo=full (config check refuses it there; rank_dropout and "
               "module_dropout work in both modes). Absent means network_dropout, as sd-scripts passes it.",
               _RANK_ALGOS, 0, 1),
    LycorisArg("rank_dropout", "float", "0", "Probability of dropping each rank (row of the update) per step.",
               ALGOS, 0, 1),
    LycorisArg("module_dropout", "float", "0", "Probability of skipping a whole module's update per step.",
               ALGOS, 0, 1),
    LycorisArg("rank_dropout_scale", "bool", "false",
               "Rescale after rank dropout. lycoris.kohya does not pass it on (kohya_ss writes it anyway): "
               "it changes nothing.", ALGOS),
    LycorisArg("use_tucker", "bool", "false",
               "Tucker decomposition of the 3x3 conv updates (an extra small core tensor: hada_t1/hada_t2, "
               "lokr_t2, lora_mid).", _RANK_ALGOS),
    LycorisArg("use_scalar", "bool", "false",
               "Train an extra scalar per module (the update starts from a non-zero direction scaled by 0).",
               _RANK_ALGOS),
    LycorisArg("dora_wd", "bool", "false",
               "DoRA: weight decomposition. Each module also learns the magnitude of the weight's rows "
               "(dora_scale); works with locon (DoRA), loha and lokr.", _RANK_ALGOS),
    LycorisArg("wd_on_output", "bool", "true",
               "With dora_wd: normalise over the output dimension (true, LyCORIS's default) or the input.",
               _RANK_ALGOS),
    LycorisArg("factor", "int", "-1",
               "LoKr: the Kronecker factor of each dimension (-1 = the most balanced split). Larger factors "
               "give smaller w1 and larger w2.", ("lokr",), -1, 100000),
    LycorisArg("decompose_both", "bool", "(off)",
               "LoKr: also factor w1 into lokr_w1_a x lokr_w1_b. lycoris.kohya tests the string, so any "
               "value, even false, turns it on: leave the key out to keep it off.", ("lokr",)),
    LycorisArg("full_matrix", "bool", "false", "LoKr: keep w2 a full matrix (no lokr_w2_a/lokr_w2_b).",
               ("lokr",)),
    LycorisArg("unbalanced_factorization", "bool", "false",
               "LoKr: swap the output factors (larger w1, smaller w2).", ("lokr",)),
    LycorisArg("train_norm", "bool", "false",
               "Also train the GroupNorm/LayerNorm layers inside the targeted blocks (w_norm, b_norm).", ALGOS),
    LycorisArg("bypass_mode", "bool", "false",
               "Add the update to the layer's output (W x + dW x) instead of rebuilding the weight ((W + dW) x); "
               "meant for quantised models. Mostly the same result at another speed/memory, except: DoRA "
               "(dora_wd) is skipped in bypass mode (refused together), dropout works only in bypass mode, "
               "LoCon's rank_dropout drops ranks instead of output rows, LoKr's rank_dropout does nothing "
               "(refused), and algo=full does not support it (refused).", _RANK_ALGOS),
    LycorisArg("rs_lora", "bool", "false", "rsLoRA: scale by alpha / sqrt(rank) instead of alpha / rank.",
               _RANK_ALGOS),
)}
# sd-scripts / kohya_ss spellings LyCORIS reads as use_tucker.
ALIASES = {"use_cp": "use_tucker", "use_conv_cp": "use_tucker"}
# Presets whose text_encoder_target_* are empty in lycoris-lora: they train the U-Net alone.
UNET_ONLY_PRESETS = ("unet-only", "unet-transformer-only", "unet-convblock-only")
# Arguments that change no parameter, only how a step trains (like network_dropout): a resume may change them.
# rank_dropout_scale is among them: lycoris.kohya does not pass it on.
DROPOUT_ARGS = ("dropout", "rank_dropout", "module_dropout", "rank_dropout_scale")


def split_network_args(items: list[str]) -> tuple[dict[str, str], list[str]]:
    """``key=value`` strings -> {key: value} the way sd-scripts splits them (first '='; last one wins)."""
    out: dict[str, str] = {}
    problems = []
    for item in items or []:
        pair = split_item(item)
        if pair is None:
            problems.append(f"network_args: {str(item).strip()!r} must be key=value, e.g. \"algo=loha\"")
            continue
        key, value = pair
        if key in out and out[key] != value:
            problems.append(f"network_args: {key} is given twice ({out[key]!r} and {value!r}); keep one")
        out[key] = value
    return out, problems


def split_item(item) -> tuple[str, str] | None:
    """One ``key=value`` item as sd-scripts splits it (the first '='; spaces and one pair of quotes around
    each side dropped): (key as written, no alias resolved; value), or None when it holds no '='."""
    text = str(item).strip()
    if "=" not in text:
        return None
    key, value = text.split("=", 1)
    return unquoted(key.strip()), unquoted(value.strip())


def unquoted(text: str) -> str:
    """``"loha"`` / ``'loha'`` -> ``loha`` (one pair of matching quotes around the whole value)."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1].strip()
    return text


def algo_of(args: dict[str, str]) -> str:
    algo = (args.get("algo") or "lora").strip().lower()
    return ALGO_ALIASES.get(algo, algo)


def _value_problem(arg: LycorisArg, raw: str) -> str | None:
    value = raw.strip()
    if arg.kind == "bool":
        if value.lower() not in TRUE_WORDS + FALSE_WORDS:
            return f"{arg.name}={raw} must be true or false (LyCORIS reads every value but \"false\" as true)"
        return None
    if arg.kind in ("int", "float"):
        try:
            number = int(value) if arg.kind == "int" else float(value)
        except ValueError:
            return f"{arg.name}={raw} must be {'an integer' if arg.kind == 'int' else 'a number'}"
        if (arg.min is not None and number < arg.min) or (arg.max is not None and number > arg.max):
            return f"{arg.name}={raw} must be from {arg.min:g} to {arg.max:g}"
        if arg.name == "factor" and number == 0:
            return "factor=0 is not a factor: use -1 (balanced) or a positive integer"
        return None
    if arg.kind == "algo":
        algo = ALGO_ALIASES.get(value.lower(), value.lower())
        if algo not in ALGOS:
            return (f"algo={raw} is not one loratui trains (one of {', '.join(ALGOS)}; "
                    "ia3, dylora, glora, diag-oft and boft are not supported)")
        return None
    if value not in PRESETS:
        close = difflib.get_close_matches(value, PRESETS, n=1)
        hint = f"did you mean {close[0]!r}?" if close else "preset files are not supported"
        return f"preset={raw} is not a LyCORIS built-in preset ({hint}; one of {', '.join(PRESETS)})"
    return None


def network_problems(network) -> list[str]:
    """Problems of [network] network_module / network_args (a NetworkSection); empty when fine."""
    module = network.network_module
    args, problems = split_network_args(network.network_args)
    if module != LYCORIS:
        return problems + [_lora_arg_problem(key, raw) for key, raw in args.items()]
    algo = algo_of(args)
    for key in ("conv_dim", "conv_alpha"):  # [network]'s own, read by networks.lora only
        value = getattr(network, key)
        if value and (key == "conv_dim" or value != 1.0):  # conv_alpha = 1.0 is the default every config has
            problems.append(f"{key} = {value:g}: with network_module = \"{LYCORIS}\" give it in network_args "
                            f"(\"{key}={value:g}\"), as sd-scripts reads it; [network] {key} is not read")
    for key, raw in args.items():
        name = ALIASES.get(key, key)
        arg = ARGS.get(name)
        if arg is None:
            problems.append(_unknown_lycoris_arg(key, raw))
            continue
        problem = _value_problem(arg, raw)
        if problem:
            problems.append("network_args: " + problem)
            continue
        if name == "decompose_both" and _is_false(raw) and algo == "lokr":
            problems.append("network_args: decompose_both=false turns it ON (lycoris.kohya tests the string, "
                            "as kohya_ss passes it): leave the key out to keep w1 whole, or write true")
            continue
        harmless = _is_false(raw) or (arg.kind in ("int", "float") and float(raw.strip()) == 0)
        if name == "bypass_mode" and algo == "full" and not harmless:
            problems.append("network_args: bypass_mode=true is not supported with algo=full (lycoris-lora stops "
                            "after the model loads: \"bypass mode is not supported in Full algo\"): remove it")
        elif algo in ALGOS and algo not in arg.algos and not harmless:
            problems.append(f"network_args: {key} does nothing with algo={algo} (it is read by "
                            f"{', '.join(arg.algos)}): remove it from network_args")
        elif name in ("dropout", "rank_dropout") and algo in ALGOS and not harmless:
            problems += _mode_dropout_problems(name, algo, args, f"network_args: {key}")
    preset = args.get("preset") or "full"
    if preset in UNET_ONLY_PRESETS and network.network_train_text_encoder_only:
        problems.append(f"network_args: preset={preset} trains no text-encoder layer and "
                        "network_train_text_encoder_only = true leaves the U-Net out: nothing would be trained; "
                        "unset network_train_text_encoder_only, or use a preset that reaches the text encoder "
                        "(full, full-lin, attn-mlp, attn-only)")
    if "dropout" not in args and network.network_dropout and algo in ALGOS:
        # sd-scripts passes network_dropout on as LyCORIS's dropout (sdscripts_network_kwargs)
        problems += _mode_dropout_problems("dropout", algo, args, f"network_dropout = {network.network_dropout:g}")
    if _is_true(args.get("dora_wd", "false")) and _is_true(args.get("bypass_mode", "false")) and algo in _RANK_ALGOS:
        problems.append("network_args: dora_wd=true with bypass_mode=true trains no DoRA (lycoris-lora's bypass "
                        "forward skips the weight decomposition: every dora_scale stays the base weight's norm); "
                        "remove bypass_mode=true to train DoRA, or dora_wd=true to train in bypass mode")
    if "wd_on_output" in args and not _is_true(args.get("dora_wd", "false")):
        problems.append("network_args: wd_on_output only matters with dora_wd=true: remove it from network_args, "
                        "or add \"dora_wd=true\" to train DoRA")
    return problems


def dropout_applies(algo: str, args: dict[str, str]) -> bool:
    """lycoris-lora 4.1 applies ``dropout`` in bypass_forward_diff only (LoCon, LoHa, LoKr); the rebuild
    forward and FullModule never call it."""
    return algo in _RANK_ALGOS and _is_true(args.get("bypass_mode", "false"))


def _mode_dropout_problems(name: str, algo: str, args: dict[str, str], said: str) -> list[str]:
    """``dropout`` (or network_dropout passed on as it) and ``rank_dropout`` where this algo and mode ignore
    them, read from each module's forward in lycoris-lora 4.1."""
    bypass = _is_true(args.get("bypass_mode", "false"))
    if name == "rank_dropout":  # LoKr's bypass forward never builds the weight its rank dropout masks
        if algo == "lokr" and bypass:
            return [f"{said} does nothing with algo=lokr and bypass_mode=true (its bypass forward has no rank "
                    "dropout): use module_dropout or dropout, or remove bypass_mode=true"]
        return []
    if dropout_applies(algo, args):
        return []
    undo = "set it to 0" if said.startswith("network_dropout") else "remove it"
    if algo == "full":
        return [f"{said} does nothing with algo=full: {undo} or use rank_dropout / module_dropout"]
    where = (f"{said} does nothing with algo={algo} without bypass_mode=true (lycoris-lora applies it in bypass "
             "mode only)")
    if _is_true(args.get("dora_wd", "false")):
        return [f"{where}: {undo} or use rank_dropout / module_dropout (DoRA cannot train in bypass mode)"]
    return [f"{where}: {undo}, add \"bypass_mode=true\" to network_args, or use rank_dropout / module_dropout"]


# sd-scripts' networks/lora.py network_args that loratui's networks.lora has no setting for, and what it does
_EVERY_BLOCK_LR = "every block trains at the same learning rate"
_LORA_PLUS = "lora_up trains at the same learning rate as lora_down"
_LORA_UNSUPPORTED = {
    "block_dims": "every block trains with network_dim", "block_alphas": "every block trains with network_alpha",
    "conv_block_dims": "every 3x3 conv trains with conv_dim",
    "conv_block_alphas": "every 3x3 conv trains with conv_alpha",
    **dict.fromkeys(["down_lr_weight", "mid_lr_weight", "up_lr_weight", "block_lr_zero_threshold"], _EVERY_BLOCK_LR),
    **dict.fromkeys(["rank_dropout", "module_dropout"], "network_dropout is supported; network_module = "
                    f"\"{LYCORIS}\" has rank_dropout and module_dropout"),
    **dict.fromkeys(["loraplus_lr_ratio", "loraplus_unet_lr_ratio", "loraplus_text_encoder_lr_ratio"], _LORA_PLUS),
}
# read by lycoris.kohya's create_network, but not by anything loratui trains or passes on
_LYCORIS_UNSUPPORTED = {
    **dict.fromkeys(["loraplus_lr_ratio", "loraplus_unet_lr_ratio", "loraplus_text_encoder_lr_ratio"],
                    "LoRA+: " + _LORA_PLUS),
    **dict.fromkeys(["constraint", "rescaled", "block_size"], "an option of algo=diag-oft/boft/dylora, which "
                    "loratui does not train"),
    **dict.fromkeys(["train_t5xxl", "train_llm_adapter"], "FLUX/SD3/LLM-adapter models are not supported"),
}


def _lora_arg_problem(key: str, raw: str) -> str:
    """One network_args key with network_module = "networks.lora": where it belongs, or why it is refused."""
    if key in ("conv_dim", "conv_alpha"):
        return f"network_args: {key}={raw}: write {key} = {raw} in [network] (networks.lora reads it there)"
    if key == "dropout":
        return f"network_args: dropout={raw}: write network_dropout = {raw} in [network]"
    if key in _LORA_UNSUPPORTED:
        return f"network_args: {key}: not supported ({_LORA_UNSUPPORTED[key]}); remove it"
    if key in ARGS or key in ALIASES:
        return (f"network_args: {key}={raw} is only read with network_module = \"{LYCORIS}\": set that in "
                "[network] to train a LyCORIS network, or remove it")
    return (f"network_args: {key!r} is not an argument networks.lora reads here (conv_dim and conv_alpha are keys "
            "of [network] of their own); remove it")


def _unknown_lycoris_arg(key: str, raw: str) -> str:
    if key in _LYCORIS_UNSUPPORTED:
        return (f"network_args: {key} is read by lycoris.kohya but not supported by loratui "
                f"({_LYCORIS_UNSUPPORTED[key]}); remove it")
    close = difflib.get_close_matches(key, list(ARGS) + list(ALIASES), n=1)
    if close:
        return f"network_args: unknown LyCORIS argument {key!r} (did you mean {close[0]!r}?): fix its name or remove it"
    return (f"network_args: unknown LyCORIS argument {key!r}: remove it (`loratui config explain network_args` "
            "lists the arguments)")


def lokr_full_matrix_hint(network_dim) -> str | None:
    """For a network_dim past its range: LyCORIS LoKr's full-matrix mode (kohya_ss users write 100000) is
    network_args full_matrix=true here, as the kohya_ss import maps it. None for other values."""
    from loratui.core.config.fields import field_spec

    limit = field_spec("network_dim", "network").max
    if isinstance(network_dim, bool) or not isinstance(network_dim, (int, float)) or limit is None \
            or network_dim <= limit:
        return None
    return (f"a network_dim past {limit:g} is LyCORIS LoKr's full-matrix mode in kohya_ss: with algo=lokr write "
            f"\"full_matrix=true\" in network_args instead (it keeps every factor whole at any network_dim)")


def _is_false(raw: str) -> bool:
    return raw.strip().lower() == "false"


def _is_true(raw: str) -> bool:
    return raw.strip().lower() == "true"


def _normal_value(name: str, value: str) -> str:
    """One spelling per meaning ("True" = "true", "4" = "4.0" for a number), as LyCORIS reads it."""
    arg = ARGS.get(name)
    if arg is None:
        return value
    if name == "decompose_both":
        return "on"  # any value turns it on (see its help)
    try:
        if arg.kind == "bool":
            return value.lower()
        if arg.kind in ("int", "float"):
            text = repr(float(value))
            return text.removesuffix(".0")
    except ValueError:
        return value
    if arg.kind == "algo":
        return ALGO_ALIASES.get(value.lower(), value.lower())
    return value


# what an absent key means to LyCORIS (a bool's default is false): network_identity leaves these out, and the
# Settings form shows them for an absent choice or true/false field (network_args_edit.shown_default)
LYCORIS_DEFAULTS = {"algo": "locon", "preset": "full", "wd_on_output": "true", "factor": "-1"}


def network_identity(items: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """(the arguments that decide the network's modules and parameters, the dropout ones) of a
    network_args list, normalised: aliases to their names, one spelling per value, defaults left out.
    Two lists with the same first dict build the same network (order, spacing and quotes aside)."""
    args, _ = split_network_args(items)
    shape: dict[str, str] = {}
    dropouts: dict[str, str] = {}
    for key, value in args.items():
        name = ALIASES.get(key, key)
        value = _normal_value(name, value)
        if name in DROPOUT_ARGS:
            dropouts[name] = value
        elif LYCORIS_DEFAULTS.get(name, "false" if ARGS.get(name) and ARGS[name].kind == "bool" else None) != value:
            shape[name] = value
    return dict(sorted(shape.items())), dict(sorted(dropouts.items()))


def sdscripts_network_kwargs(network) -> dict[str, object]:
    """What sd-scripts' train_network passes to create_network as keyword arguments (and writes as
    ss_network_args): the network_args strings, plus ``dropout`` = network_dropout when absent. An
    unset network_dropout is None in sd-scripts (``"dropout": null`` in its metadata; LyCORIS reads
    None as 0): 0 here, the same."""
    args, _ = split_network_args(network.network_args)
    if network.network_module == LYCORIS and "dropout" not in args:
        args["dropout"] = float(network.network_dropout) if network.network_dropout else None
    return args


def network_kind(network) -> str:
    """A short name for reports: LoRA, LoCon, LoHa, LoKr, DoRA (LoCon/LoHa/LoKr), full."""
    if network.network_module != LYCORIS:
        return "LoCon" if network.conv_dim else "LoRA"
    args, _ = split_network_args(network.network_args)
    algo = algo_of(args)
    name = {"locon": "LoCon", "loha": "LoHa", "lokr": "LoKr", "full": "full"}.get(algo, algo)
    if _is_true(args.get("dora_wd", "false")) and algo != "full":
        return "DoRA" if algo == "locon" else f"{name}+DoRA"
    return f"LyCORIS {name}"


def explain_arg(name: str) -> str | None:
    """`loratui config explain KEY` text of one LyCORIS argument (None when there is no such one)."""
    arg = ARGS.get(ALIASES.get(name, name))
    if arg is None:
        return None
    algos = "all algos" if arg.algos == ALGOS else "algo " + "/".join(arg.algos)
    alias = f"; also spelled {', '.join(k for k, v in ALIASES.items() if v == arg.name)}" \
        if arg.name in ALIASES.values() else ""
    return (f"[network] network_args \"{arg.name}=...\"  ({arg.kind}, default {arg.default}; {algos}; "
            f"network_module = \"{LYCORIS}\"{alias})\n"
            + textwrap.fill(arg.help, 96, initial_indent="    ", subsequent_indent="    "))
