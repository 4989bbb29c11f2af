"""The network part of the kohya_ss GUI JSON import: LoRA_type (plain LoRA / LoCon, or the LyCORIS types as
lycoris.kohya with kohya_ss' own network_args), the options a type does not use, the starting weights, and the
learning rates with the train-only flags kohya_ss derives from them. A mixin of kohya_import's importer."""

from __future__ import annotations

from typing import Any

from loratui.core.config.fields import FIELDS
from loratui.core.config.kohya_keys import (
    EXACT_TYPES, LYCORIS_ARG_ORDER, LYCORIS_GUI_DEFAULTS, LYCORIS_OPTION_KEYS, LYCORIS_TYPES,
)
from loratui.core.config.kohya_values import (
    bool_word as _bool_word, empty as _empty, number as _number, whole_number as _whole_number,
)
from loratui.core.errors import LoratuiError
from loratui.core.config.kohya_parts import ImporterPart

_UNET_ONLY, _TE_ONLY = "network_train_unet_only", "network_train_text_encoder_only"


class NetworkKeys(ImporterPart):
    """The network keys of a kohya_ss JSON (a part of the importer: kohya_parts.ImporterPart, and as_lora)."""

    as_lora: bool

    def _network(self) -> None:
        d = self.data
        if "LoRA_type" not in d and "network_dim" not in d:
            raise LoratuiError("this kohya_ss config has no LoRA_type or network_dim: it is not a LoRA "
                               "config (Dreambooth/fine-tune configs cannot be imported)")
        lora_type = str(d.get("LoRA_type") or "Standard")
        if lora_type in LYCORIS_TYPES and not self.as_lora:
            self._lycoris(lora_type)
            return
        kind = EXACT_TYPES.get(lora_type)
        if kind is None and not self.as_lora:
            raise LoratuiError(f"LoRA_type {lora_type!r} cannot be trained equivalently by loratui (it trains "
                               "Standard, LoCon and the LyCORIS LoCon, LoHa, LoKr and Native Fine-Tuning types); use "
                               "--as-lora to import it as a plain LoRA anyway")
        note = {None: f"{lora_type} imported as a plain LoRA (--as-lora)", 0: "",
                1: "LoCon: conv_dim/conv_alpha train the 3x3 convs"}[kind]
        if lora_type == "LyCORIS/LoCon":
            note = "LyCORIS LoCon imported as kohya LoCon (same update, kohya file format)"
        if "LoRA_type" not in d:
            note = "; ".join(part for part in ("not in the file: kohya_ss's default (Standard)", note) if part)
        self.report.mapped.append(("LoRA_type", "network (kind)", note))
        self.done.add("LoRA_type")
        extras = [k for k in ("use_tucker", "dora_wd") if _bool_word(d.get(k)) or d.get(k) is True]
        if extras and lora_type in LYCORIS_TYPES:  # imported --as-lora: kohya_ss trained them
            self.report.warnings.append(f"{' and '.join(extras)} set: --as-lora trains a plain LoRA without them; "
                                        "import without --as-lora to keep them")
        if kind == 1:
            for key in ("conv_dim", "conv_alpha"):
                if not _empty(d.get(key)):
                    self.set(key, key, d[key])
        for key in ("conv_dim", "conv_alpha"):
            self.ignore(key, "--as-lora trains a plain LoRA (no conv layers)" if kind is None else
                        f"LoRA_type {lora_type!r} does not train conv layers in kohya_ss")
        self._unused_options(lora_type)
        self._network_weights()

    def _unused_options(self, lora_type: str) -> None:
        """LyCORIS options (and DyLoRA's unit) that ``lora_type`` does not use, or that --as-lora drops."""
        is_dylora = "dylora" in lora_type.lower()
        is_lycoris = lora_type in LYCORIS_TYPES or lora_type.startswith("LyCORIS/")
        for key in LYCORIS_OPTION_KEYS:
            kind = "DyLoRA" if key == "unit" else "LyCORIS"
            if self.as_lora and (is_dylora if kind == "DyLoRA" else is_lycoris):
                self.ignore(key, f"{kind} option: --as-lora trains a plain LoRA")
            else:  # the kind is obvious for a LyCORIS option of a LyCORIS type
                what = "" if kind == "LyCORIS" and is_lycoris else f"{kind} option: "
                self.ignore(key, f"{what}not used by LoRA_type {lora_type!r} in kohya_ss")

    def _network_weights(self) -> None:
        """lora_network_weights / network_weights: the LoRA to start from (empty: from scratch)."""
        d = self.data
        weights = self.get("lora_network_weights") or self.get("network_weights")
        if weights:
            self.set("lora_network_weights" if "lora_network_weights" in d else "network_weights",
                     "network_weights", weights)
        for key in ("lora_network_weights", "network_weights"):
            self.ignore(key, "empty: training starts from scratch")

    def _lycoris(self, lora_type: str) -> None:
        """A LyCORIS type: network_args built as kohya_ss' lora_gui.py builds them for lycoris.kohya (same keys,
        same order, the GUI's defaults for absent keys), so sd-scripts and loratui get the same strings."""
        d = self.data
        algo = LYCORIS_TYPES[lora_type]

        def word(key: str) -> str:
            value = d.get(key, LYCORIS_GUI_DEFAULTS[key])
            flag = value if isinstance(value, bool) else _bool_word(value)
            if key in ("conv_dim", "factor"):  # LyCORIS int()s them: the GUI's 4.0 is 4
                return str(self.whole(key, value))
            if flag is not None and key not in ("conv_alpha", "rank_dropout", "module_dropout"):
                return str(bool(flag))
            return str(_number(value))

        args, notes = [], {}
        for key in dict.fromkeys(LYCORIS_ARG_ORDER[algo]):  # once each, in order
            kohya_key = {"preset": "LyCORIS_preset", "use_cp": "use_cp"}.get(key, key)
            value = word(kohya_key)
            if key == "decompose_both" and value == "False":
                value = "True"
                notes[kohya_key] = ("kohya_ss passes the string 'False', which LyCORIS reads as on: imported as "
                                    "decompose_both=True, what kohya_ss trains")
            args.append(f"{key}={value}")
            if kohya_key in d and kohya_key not in self.done:
                self.report.mapped.append((kohya_key, "network.network_args", notes.get(kohya_key, "")))
                self.done.add(kohya_key)
        args.append(f"algo={algo}")
        if algo != "full":
            args.append(f"train_norm={word('train_norm')}")
            if "train_norm" in d:
                self.report.mapped.append(("train_norm", "network.network_args", ""))
                self.done.add("train_norm")
        dropout = _number(d.get("network_dropout", 0))
        if isinstance(dropout, (int, float)) and dropout:  # sd-scripts passes it to LyCORIS as its dropout
            self.ignore("network_dropout", f"LyCORIS's {algo} applies dropout only with bypass_mode, which kohya_ss "
                                           "does not set: it had no effect in kohya_ss")
        if algo == "lokr":
            self._lokr_full_matrix(args, lora_type)
        self.values["network_module"] = "lycoris.kohya"
        self.values["network_args"] = args
        dora = " with DoRA (dora_wd)" if algo != "full" and word("dora_wd") == "True" else ""
        self.report.mapped.append(("LoRA_type", "network.network_module",
                                   f"{lora_type}{dora}: lycoris.kohya with algo={algo}, as kohya_ss runs it"))
        self.done.add("LoRA_type")
        for key in ("conv_dim", "conv_alpha"):
            self.ignore(key, "algo=full trains whole weights (no rank)")
        self._unused_options(lora_type)
        self._network_weights()

    def _lokr_full_matrix(self, args: list[str], lora_type: str) -> None:
        """A LoKr network_dim over loratui's limit: kohya_ss users set 100000 on purpose, LyCORIS then keeps every
        factor a full matrix ("using full matrix mode"); its full_matrix=true does that at any dim (and with both
        factors full LyCORIS scales by 1, so network_dim and network_alpha no longer matter)."""
        dim = _whole_number(self.data.get("network_dim"))[0]
        limit = FIELDS[("network", "network_dim")].max
        if not isinstance(dim, int) or isinstance(dim, bool) or limit is None or dim <= limit:
            return
        given = dict(a.split("=", 1) for a in args)
        conv = _whole_number(given.get("conv_dim", "0"))[0]
        low_rank_convs = isinstance(conv, int) and 0 < conv < dim
        self.done.add("network_dim")
        if low_rank_convs and given.get("factor") == "-1":
            # with the balanced split (factor -1) no SD layer's Kronecker factor passes 2048, so dim 1024 keeps
            # every linear factor full while the 3x3 convs keep their own conv_dim: kohya_ss's network exactly
            self.values["network_dim"] = limit
            self.report.mapped.append(("network_dim", "network.network_dim",
                                       f"{dim} is LyCORIS LoKr's full-matrix mode (a dim at least each layer's size): "
                                       f"with factor -1 that is every layer from {limit} on, imported as {limit} "
                                       f"(the 3x3 convs keep conv_dim {conv}, as in kohya_ss)"))
            return
        args.append("full_matrix=true")
        self.report.mapped.append(("network_dim", "network.network_args",
                                   f"{dim} is LyCORIS LoKr's full-matrix mode (a dim at least each layer's size): "
                                   f"imported as full_matrix=true, which does the same at any dim; network_dim keeps "
                                   f"loratui's default, unused with full_matrix"))
        if low_rank_convs:  # kohya_ss's 3x3 convs had their own small rank: now full too
            self.report.warnings.append(
                f"{lora_type} network_dim {dim} imported as full_matrix=true, which also trains the 3x3 convs as full "
                f"matrices: kohya_ss trained them at conv_dim {conv} (low-rank where a layer's Kronecker factor is "
                f"over {2 * conv}; with factor {given.get('factor')} no network_dim matches it exactly)")

    def _learning_rates(self) -> None:
        """unet_lr / text_encoder_lr, and what a 0 in one of them means (kohya_ss derives the train-only flags from
        them); an explicit network_train_unet_only / network_train_text_encoder_only key wins, with a warning
        when it disagrees with the rates."""
        explicit = {k: self.data[k] for k in (_UNET_ONLY, _TE_ONLY) if isinstance(self.data.get(k), bool)}
        for key, value in explicit.items():
            self.set(key, key, value)
        for key in (_UNET_ONLY, _TE_ONLY):
            self.ignore(key, "empty in the file: follows unet_lr and text_encoder_lr")
        te = _number(self.get("text_encoder_lr", 0))
        unet = _number(self.get("unet_lr", 0))
        if not isinstance(te, (int, float)) or not isinstance(unet, (int, float)):
            self._unreadable_rates(unet, te)
            return
        if te == 0 and unet != 0:
            self.set("unet_lr", "unet_lr", unet)
            self._train_only("text_encoder_lr", _UNET_ONLY, "text_encoder_lr 0 with unet_lr set", explicit)
        elif unet == 0 and te != 0:
            self.set("text_encoder_lr", "text_encoder_lr", te)
            self._train_only("unet_lr", _TE_ONLY, "unet_lr 0 with text_encoder_lr set", explicit)
        elif te != 0:
            self.set("unet_lr", "unet_lr", unet)
            self.set("text_encoder_lr", "text_encoder_lr", te)
        for key in ("unet_lr", "text_encoder_lr"):
            self.ignore(key, "0 or empty: learning_rate is used")

    def _unreadable_rates(self, unet: Any, te: Any) -> None:
        """One rate (or both) is no number ("0,0001" from a v21 GUI's text box): the readable one is still mapped
        (a 0 there keeps its meaning only beside a readable rate, so it is left unset), and each unreadable one
        gets a warning: it trains at learning_rate instead."""
        for key, value in (("unet_lr", unet), ("text_encoder_lr", te)):
            if isinstance(value, (int, float)):
                if value != 0:
                    self.set(key, key, value, "the other rate cannot be read (see the warning)")
                continue
            guess = _number(str(value).replace(",", ".")) if isinstance(value, str) else None
            meant = f" (did you mean {guess:g}?)" if isinstance(guess, (int, float)) else ""
            part = "the UNet" if key == "unet_lr" else "the text encoder"
            self.ignore(key, f"must be a number, got {value!r}: learning_rate is used (see the warning)")
            self.report.warnings.append(f"{key} {value!r} is not a number{meant}: {part} trains at learning_rate; "
                                        f"set [optimizer] {key} in the imported config")
        for key in ("unet_lr", "text_encoder_lr"):
            self.ignore(key, "0 or empty: learning_rate is used")

    def _train_only(self, lr_key: str, flag: str, why: str, explicit: dict[str, bool]) -> None:
        """Set ``flag`` from a 0 learning rate, as kohya_ss does, unless the file's explicit keys say otherwise."""
        other = _TE_ONLY if flag == _UNET_ONLY else _UNET_ONLY
        what = "UNet only" if flag == _UNET_ONLY else "text encoder only"
        if explicit.get(flag) is False:
            self.report.warnings.append(f"{flag} is false in the file, but {why} means {what} in kohya_ss: the "
                                        f"explicit key wins (UNet and text encoder train); set {flag} = true to "
                                        "train as kohya_ss did")
        elif explicit.get(other) is True:
            self.report.warnings.append(f"{other} is true in the file, but {why} means {what} in kohya_ss: the "
                                        f"explicit key wins ({'text encoder' if flag == _UNET_ONLY else 'UNet'} only); "
                                        f"set {other} = false and {flag} = true to train as kohya_ss did")
        elif flag in explicit:
            self.ignore(lr_key, f"0: {what}, as {flag} says")
        else:
            self.set(lr_key, flag, True, f"{why} means {what} in kohya_ss")
