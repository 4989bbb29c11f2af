"""The training part of the kohya_ss GUI JSON import: the optimizer (DAdaptation, paged and Nesterov variants
mapped, Adafactor's own step sizes left out with a warning), the learning-rate schedule and warmup, the
training length (max_train_epochs / max_train_steps / the GUI's epoch), resolution and Min-SNR, and the
attention kernel. A mixin of kohya_import's importer (the decisions are listed there)."""

from __future__ import annotations

import shlex

from loratui.core.config import packages
from loratui.core.config.fields import FIELDS, optimizer_name
from loratui.core.config.kohya_keys import SD_SCRIPTS_DEFAULT_STEPS
from loratui.core.config.optimizer_args import literal_word
from loratui.core.config.kohya_values import (
    bool_word as _bool_word, empty as _empty, is_number as _is_number, number as _number,
    positive_count as _positive_count, shown as _shown, whole_number as _whole_number,
)
from loratui.core.errors import LoratuiError
from loratui.core.config.kohya_parts import ImporterPart


class TrainingKeys(ImporterPart):
    """The optimizer, schedule and attention keys of a kohya_ss JSON (a part of the importer: kohya_parts)."""

    def _optimizer(self) -> None:
        name = str(self.get("optimizer", "AdamW8bit"))
        args = self.get("optimizer_args", "")
        try:
            arg_list = shlex.split(str(args)) if args else []
        except ValueError:
            arg_list = str(args).split()
        arg_list = self._literal_args(arg_list)
        low = name.lower()
        canonical, note = optimizer_name(name), ""
        if canonical is None:
            if low.startswith("dadapt"):
                canonical, note = "Prodigy", f"{name} is not available; Prodigy (its successor, also " \
                                             "learning_rate 1) used instead"
                arg_list = self._prodigy_args(name, arg_list)
            elif low in ("pagedadamw8bit", "pagedadamw", "pagedadamw32bit"):
                canonical = "AdamW8bit" if low.endswith("8bit") else "AdamW"
                note = f"{name}: paged optimizers are not supported; {canonical} has the same update"
            elif low == "pagedlion8bit":
                canonical, note = "Lion8bit", "paged optimizers are not supported; Lion8bit has the same update"
            elif low in ("sgdnesterov", "sgdnesterov8bit"):
                canonical, note = "SGD", f"{name} = SGD with momentum 0.9 and nesterov"
                keys = {a.split("=", 1)[0] for a in arg_list}
                arg_list += [a for a in ("momentum=0.9", "nesterov=True") if a.split("=")[0] not in keys]
            else:
                canonical, note = "AdamW8bit", f"optimizer {name!r} is not supported: AdamW8bit used; check " \
                                               "learning_rate and optimizer_args"
                self.report.warnings.append(note)
        if canonical == "Adafactor":
            arg_list = self._adafactor_args(arg_list)
        self.set("optimizer", "optimizer_type", canonical, note)
        if args or canonical == "SGD":
            self.set("optimizer_args", "optimizer_args", arg_list)
        self.ignore("optimizer_args", "empty")

    def _literal_args(self, arg_list: list[str]) -> list[str]:
        """``amsgrad=false`` (the GUI passes the text on; sd-scripts' literal_eval stops on it, loratui refuses it) is
        written as ``amsgrad=False``, what it means, with one warning naming each element changed."""
        written, changed = [], []
        for arg in arg_list:
            key, sep, value = arg.partition("=")
            literal = literal_word(value) if sep else None
            written.append(f"{key}={literal}" if literal else arg)
            if literal:
                changed.append(f"{arg.strip()} as {key.strip()}={literal}")
        if changed:
            self.report.warnings.append(f"optimizer_args: written {', '.join(changed)} (values are Python literals, as "
                                        "sd-scripts reads them: it stops on these words, and read as text a 'false' "
                                        "would count as on)")
        return written

    def _prodigy_args(self, name: str, arg_list: list[str]) -> list[str]:
        """A D-Adaptation optimizer trains as Prodigy: a warning says so (the run is not the one kohya_ss made), and
        the arguments Prodigy has no parameter for (DAdaptSGD's momentum, log_every...) are left out, named."""
        from loratui.core.config.load import PRODIGY_ARGS

        kept = [a for a in arg_list if a.split("=", 1)[0].strip() in PRODIGY_ARGS]
        dropped = [a for a in arg_list if a not in kept]
        left_out = f"; optimizer_args {' '.join(dropped)} left out (Prodigy has no such argument)" if dropped else ""
        self.report.warnings.append(f"optimizer {name} is not available: trained with Prodigy (its successor, "
                                    f"learning_rate around 1) instead, which adapts its step size differently{left_out}")
        return kept

    def _adafactor_args(self, arg_list: list[str]) -> list[str]:
        """sd-scripts turns Adafactor's relative_step on when the args do not say (and with warmup_init):
        its own step-size schedule in place of learning_rate. loratui trains Adafactor at learning_rate with
        lr_scheduler, so those args are left out with a warning naming what changes."""
        given = {a.split("=", 1)[0].strip(): a.split("=", 1)[1].strip() if "=" in a else "" for a in arg_list}
        relative = given.get("relative_step", "").lower() == "true" or "relative_step" not in given
        warmup = given.get("warmup_init", "").lower() == "true"
        if not (relative or warmup):
            return arg_list
        how = ("relative_step is not set, so sd-scripts would use Adafactor's own step sizes (relative_step=True)"
               if "relative_step" not in given else "relative_step=True / warmup_init=True (Adafactor's own step "
               "sizes)")
        self.report.warnings.append(f"optimizer Adafactor: {how}, which loratui does not offer: trained at "
                                    "learning_rate with lr_scheduler (relative_step=False, warmup_init=False); "
                                    "check learning_rate")
        return [a for a in arg_list if a.split("=", 1)[0].strip() not in ("relative_step", "warmup_init")]

    def _schedule(self) -> None:
        d = self.data
        sched = str(self.get("lr_scheduler", "cosine"))
        steps = _number(self.get("lr_warmup_steps", 0))  # set() reads a count of 1 or more as a whole number
        pct = _number(self.get("lr_warmup", 0))
        wants_warmup = (_is_number(steps) and steps > 0) or (_is_number(pct) and pct > 0)
        if sched.lower() == "adafactor":
            self.set("lr_scheduler", "lr_scheduler", "constant",
                     "the adafactor scheduler is Adafactor's own constant rate")
        elif sched.lower() in ("constant", "constant_with_warmup", "linear", "cosine", "cosine_with_restarts",
                               "polynomial"):
            self.set("lr_scheduler", "lr_scheduler", sched)
        elif "lr_scheduler" in d:
            self.report.warnings.append(f"lr_scheduler {sched!r} is not supported: cosine used")
            self.set("lr_scheduler", "lr_scheduler", "cosine", f"{sched!r} is not supported")
        if wants_warmup and self.values.get("lr_scheduler") == "constant":
            # one warning for the warmup, whichever keys hold it (the ignored lines point to it)
            given = [k for k, v in (("lr_warmup", pct), ("lr_warmup_steps", steps))
                     if _is_number(v) and v > 0]
            for key in given:
                self.ignore(key, "not applied (see the warning below)")
            named = f"the {sched} scheduler" + (" (imported as constant)" if sched.lower() != "constant" else "")
            self.report.warnings.append(f"{' and '.join(given)} not applied: {named} has no warmup; set lr_scheduler "
                                        "= \"constant_with_warmup\" to warm up")
            steps = pct = 0
        if _is_number(steps) and steps > 0:
            self.set("lr_warmup_steps", "lr_warmup_steps", steps)
            self.ignore("lr_warmup", "lr_warmup_steps is set and wins")
        elif _is_number(pct) and pct > 0:
            ratio = min(pct / 100.0, 0.99)
            self.set("lr_warmup", "lr_warmup_steps", ratio, f"{pct}% of the steps -> ratio {ratio:g}")
        self._cycles()
        self.ignore("lr_warmup", "0: no warmup")
        self.ignore("lr_warmup_steps", "0: no warmup")
        # counts written as decimals (10.0) read as set() reads them; its fraction warning only for the one used
        epochs = _whole_number(self.get("max_train_epochs", 0))[0]
        epoch = _whole_number(self.get("epoch", 0))[0]
        has_steps = _positive_count(_whole_number(self.get("max_train_steps", 0))[0])
        if _positive_count(epochs):
            self.set("max_train_epochs", "max_train_epochs", d["max_train_epochs"])
            self.ignore("epoch", "max_train_epochs is set and wins")
        elif has_steps:
            self.ignore("epoch", "max_train_steps is set and wins: kohya_ss uses epoch only to compute "
                                 "max_train_steps when that is 0")
        elif "dataset_config" in self.done:
            note = (f"0 with a dataset_config: kohya_ss does not compute steps from epoch then, so sd-scripts "
                    f"trains its default {SD_SCRIPTS_DEFAULT_STEPS} steps")
            if "max_train_steps" in d:
                self.set("max_train_steps", "max_train_steps", SD_SCRIPTS_DEFAULT_STEPS, note)
            else:
                self.values["max_train_steps"] = SD_SCRIPTS_DEFAULT_STEPS
                self.report.warnings.append(f"max_train_steps is not set: {note}")
            self.ignore("epoch", f"not used with a dataset_config: sd-scripts trains {SD_SCRIPTS_DEFAULT_STEPS} steps "
                                 "(set max_train_epochs in the imported config to train by epochs)")
        elif _positive_count(epoch):
            self._gui_steps(epoch)
        if "max_train_epochs" in self.values and has_steps:
            self.report.warnings.append(
                "both epochs and max_train_steps are set: epochs win (as in kohya_ss and sd-scripts); "
                "remove max_train_epochs from the config to train by steps")
        for key, value in (("max_train_epochs", epochs), ("epoch", epoch)):
            if (not isinstance(value, int) or isinstance(value, bool)) and key not in self.done:
                self.ignore(key, f"must be a whole number of epochs, got {value!r}")
                self.report.warnings.append(f"{key} {value!r} is not a whole number of epochs: ignored; check "
                                            "[training] max_train_epochs in the imported config")
            elif key not in self.done and (value < 0 or _whole_number(self.get(key))[1] is not None):
                written = _number(self.get(key))  # unused, and not simply empty or 0: -1, or 0.5 (int() makes it 0)
                if written < 0:
                    self.ignore(key, f"{written:g} is below 0, not a number of epochs: unset")
                else:  # one line: the fraction warning of whole() would say "0 used" of a value not used
                    self.ignore(key, f"{written:g} reads as {_whole_number(written)[0]} (its whole part): unset")
                    length = ("" if "max_train_epochs" in self.values or has_steps else
                              "; set [training] max_train_epochs or max_train_steps in the imported config")
                    self.report.warnings.append(f"{key} {written:g} is less than one epoch: not used{length}")
        self.ignore("max_train_epochs", "empty or 0: unset")
        self.ignore("epoch", "empty or 0")
        if not _empty(d.get("max_resolution")):
            self.set("max_resolution", "resolution", str(d["max_resolution"]))  # unreadable: a warning
        else:
            self.ignore("max_resolution", self.locked.get("resolution") or "empty in the file: loratui's default "
                        f"{_shown(FIELDS[('dataset', 'resolution')].default)} kept")
        gamma = _number(self.get("min_snr_gamma", 0))
        if gamma:
            self.set("min_snr_gamma", "min_snr_gamma", gamma)
        self.ignore("min_snr_gamma", "0: Min-SNR weighting off")

    def _gui_steps(self, epoch: int) -> None:
        """max_train_steps 0 and an epoch count: kohya_ss computes max_train_steps from the images (kohya_steps.py)
        and sd-scripts trains exactly that many steps, so that count is imported; whole epochs only when the
        images are not here to count."""
        from loratui.core.config.kohya_steps import gui_max_train_steps

        gui = gui_max_train_steps(self.data, epoch, self.source_dir)
        if gui.steps is None:
            self.set("epoch", "max_train_epochs", self.data["epoch"],
                     f"kohya_ss turns epochs into max_train_steps from the images, but {gui.why}: whole epochs "
                     "imported, which may train a few more steps than kohya_ss did (`loratui steps` shows both)")
            return
        self.set("epoch", "max_train_steps", gui.steps,
                 f"max_train_steps is 0, so kohya_ss computed ceil({gui.formula}) = {gui.steps} and sd-scripts "
                 f"trained {gui.steps} steps: imported as max_train_steps = {gui.steps}")
        self.ignore("max_train_steps", f"0 in the file: kohya_ss computes it from epoch (see epoch: {gui.steps})")

    def _cycles(self) -> None:
        """cosine_with_restarts with lr_scheduler_num_cycles empty or missing: kohya_ss passes ``epoch`` as the
        number of cycles (lora_gui.py: ``int(lr_scheduler_num_cycles) if != "" else int(epoch)``)."""
        if self.values.get("lr_scheduler") != "cosine_with_restarts" or self.get("lr_scheduler_num_cycles") is not None:
            return
        epoch = _whole_number(self.get("epoch", 1))[0]
        if _positive_count(epoch) and epoch > 1:
            self.set("lr_scheduler_num_cycles", "lr_scheduler_num_cycles", epoch,
                     f"empty: kohya_ss passes epoch ({epoch}) as the number of restarts' cycles")

    def _attention(self) -> None:
        d = self.data
        raw = d.get("xformers", None)
        if raw is None:
            return
        text = raw if isinstance(raw, bool) else str(raw).strip().lower()
        flag = raw if isinstance(raw, bool) else None if text in ("xformers", "sdpa", "none", "") else _bool_word(raw)
        if flag is not None:
            mode = "xformers" if flag else "none"
        elif text in ("xformers", "sdpa", "none", ""):
            mode = text or "none"
        else:
            raise LoratuiError(f"kohya_ss key 'xformers' must be \"xformers\", \"sdpa\", \"none\" or true or false, "
                               f"got {raw!r}: fix it in the JSON")
        note = f"{raw!r}"
        if mode == "none" and d.get("mem_eff_attn") is True:
            mode, note = "sdpa", "mem_eff_attn -> sdpa (memory-efficient kernels)"
            self.done.add("mem_eff_attn")
        if mode == "xformers" and not packages.installed("xformers"):
            mode = "sdpa"
            note = (f"{raw!r}: xformers replaced by sdpa (as fast): the xformers package is not installed; "
                    "install it and set xformers = true, sdpa = false to use it")
        self.values["xformers"] = mode == "xformers"
        self.values["sdpa"] = mode == "sdpa"
        self.report.mapped.append(("xformers", "training.xformers" if mode == "xformers" else "training.sdpa",
                                   note if mode != "none" else f"{note}: neither sdpa nor xformers"))
        self.done.add("xformers")

    def _noise(self) -> None:
        """The noise and loss-weight options as kohya_ss' lora_gui.py passes them to sd-scripts: noise_offset,
        noise_offset_random_strength and adaptive_noise_scale with noise_offset_type Original only, the multires
        pair with Multires only, the rest always; a value at its off setting is passed as "not given"."""
        kind = str(self.get("noise_offset_type", "Original")).strip()
        original, multires = kind == "Original", kind == "Multires"
        self.ignore("noise_offset_type", f"{kind}: " + ("plain noise offset" if original else "multires noise" if
                                                         multires else "kohya_ss passes no noise option for it"))
        for key, used in (("noise_offset", original), ("noise_offset_random_strength", original),
                          ("adaptive_noise_scale", original), ("multires_noise_iterations", multires),
                          ("multires_noise_discount", multires)):
            if not used:
                self.ignore(key, f"kohya_ss uses it only with noise_offset_type "
                                 f"{'Original' if key.startswith(('noise', 'adaptive')) else 'Multires'} "
                                 f"(this file: {kind})")
        offset = _number(self.get("noise_offset", 0)) if original else 0
        if offset:
            self.set("noise_offset", "noise_offset", offset)
        self.ignore("noise_offset", "0: off")
        if self._flag("noise_offset_random_strength") and offset:
            self.set("noise_offset_random_strength", "noise_offset_random_strength", True)
        self.ignore("noise_offset_random_strength", "off, or noise_offset is 0 (nothing to draw a strength for)")
        adaptive = _number(self.get("adaptive_noise_scale", 0)) if original else 0
        if adaptive and _is_number(adaptive) and not offset:
            self.ignore("adaptive_noise_scale", "set, without noise_offset (see the warning)")
            self.report.warnings.append(f"adaptive_noise_scale {adaptive:g} not imported: kohya_ss passes it without "
                                        "noise_offset (0), which sd-scripts refuses; set [training] noise_offset and "
                                        "adaptive_noise_scale in the imported config to use it")
        elif adaptive:
            self.set("adaptive_noise_scale", "adaptive_noise_scale", adaptive)
        self.ignore("adaptive_noise_scale", "0: off")
        iterations = _number(self.get("multires_noise_iterations", 0)) if multires else 0
        if iterations:
            self.set("multires_noise_iterations", "multires_noise_iterations", iterations)
            if self.get("multires_noise_discount") is not None:
                self.set("multires_noise_discount", "multires_noise_discount", self.get("multires_noise_discount"))
        self.ignore("multires_noise_iterations", "0: no multires noise")
        self.ignore("multires_noise_discount", "used only with multires_noise_iterations above 0")
        gamma = _number(self.get("ip_noise_gamma", 0))
        if gamma:
            self.set("ip_noise_gamma", "ip_noise_gamma", gamma)
            if self._flag("ip_noise_gamma_random_strength"):
                self.set("ip_noise_gamma_random_strength", "ip_noise_gamma_random_strength", True)
        self.ignore("ip_noise_gamma", "0: no input-perturbation noise")
        self.ignore("ip_noise_gamma_random_strength", "off, or ip_noise_gamma is 0 (nothing to draw a strength for)")
        self._loss_weights()

    def _loss_weights(self) -> None:
        """debiased_estimation_loss, and the two v-prediction options sd-scripts accepts only with (or without)
        v_parameterization: a file that sets one the other way is one sd-scripts refuses, so it is not imported."""
        v_pred = self._flag("v_parameterization")
        if self._flag("debiased_estimation_loss"):
            self.set("debiased_estimation_loss", "debiased_estimation_loss", True)
        self.ignore("debiased_estimation_loss", "off")
        if self._flag("scale_v_pred_loss_like_noise_pred"):
            if v_pred:
                self.set("scale_v_pred_loss_like_noise_pred", "scale_v_pred_loss_like_noise_pred", True)
            else:
                self.ignore("scale_v_pred_loss_like_noise_pred", "set, without v_parameterization (see the warning)")
                self.report.warnings.append("scale_v_pred_loss_like_noise_pred not imported: sd-scripts refuses it "
                                            "without v_parameterization, which this file does not set")
        self.ignore("scale_v_pred_loss_like_noise_pred", "off")
        like = _number(self.get("v_pred_like_loss", 0))
        if like and _is_number(like) and v_pred:
            self.ignore("v_pred_like_loss", "set, with v_parameterization (see the warning)")
            self.report.warnings.append(f"v_pred_like_loss {like:g} not imported: sd-scripts refuses it with "
                                        "v_parameterization, which this file sets")
        elif like:
            self.set("v_pred_like_loss", "v_pred_like_loss", like)
        self.ignore("v_pred_like_loss", "0: off")

    def _flag(self, key: str) -> bool:
        """A kohya boolean ("True", 1, true...); anything unreadable counts as off, as kohya_ss' checkbox."""
        value = self.data.get(key, False)
        return value if isinstance(value, bool) else bool(_bool_word(value))
