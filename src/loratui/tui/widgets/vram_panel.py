"""VramPanel: the peak-VRAM estimate of a config as a bar against the card, with fixes and presets.

The host form calls ``update_config(cfg, scan)`` on every change. The estimate is
``core.plan.estimate_vram`` - the number `loratui vram CONFIG` prints, with the scan of the config's folders
as they are on disk now (no batch is larger than the largest bucket; widgets.followed_scan: the host's
scan at first, then the disk's, checked again every two seconds as the step calculator does) - drawn as
a text bar with its numbers and a word for fits / does not fit (never colour alone) against the detected
GPU's memory (services.gpu, `nvidia-smi` in a thread worker) or, with no GPU found, a card size chosen from a
short list (remembered while the app runs). With model_family = "auto" the family is the one read from the
model's weights (core.config.config_model_family, cached per change of the file, so a keystroke does not
read a 6 GB checkpoint's header again); the summary says when the weights could not be read and it is
only a guess from the model's name.

Keys (binding ids): ``vram.breakdown`` shows the per-part breakdown (weights, LoRA, optimizer,
activations, ...), ``vram.presets`` opens the preset picker (screens.preset_picker), ``vram.fix``
applies the cheapest fix shown, ``vram.card`` moves to the card-size choice. When the estimate does
not fit, the cheapest fixes (core.plan.vram_fixes: each checked with the estimator) are listed with
the fields they change. Applying a preset or a fix posts ``FieldsChanged`` with the new values for the
host form; nothing here writes a file.

While a field of the host form (Settings' ``form``) holds text core refuses, the panel's numbers are the
last valid config's (the screen marks them stale), so p and f ask the form: the preset picker compares
the presets with the form as typed (screens.preset_picker's ``TypedFormPresetPicker``: a preset that sets the invalid field
replaces its text, one that does not is refused with "fix network_dim first"), and f refuses in one line.
"""

from __future__ import annotations

import copy
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Select, Static

from loratui.core.config import TrainingConfig
from loratui.core.dataset import DatasetScan
from loratui.core.errors import LoratuiError
from loratui.core.plan import GIB, USABLE_FRACTION, VramEstimate, VramFix, estimate_vram, vram_fixes
from loratui.tui.palette import PaletteCommand
from loratui.tui.services.gpu import CARD_CHOICES_GB, GPU_STATE
from loratui.tui.services.work import run_in_thread
from loratui.tui.services.terminal_graphics import ascii_only
from loratui.tui.widgets.followed_scan import FollowedScan

BAR_MIN, BAR_MAX = 10, 60


def bar_chars() -> tuple[str, str, str]:
    """(used, free, over the card): block characters, or ASCII on the Linux console."""
    return ("#", "-", "!") if ascii_only() else ("█", "░", "▓")


def vram_bar(total_gib: float, card_gib: float, width: int, chars: tuple[str, str, str] | None = None) -> str:
    """``[████░░░░]`` scaled to the larger of the estimate and the card; the part over the card is
    drawn with its own character, so the bar reads without colour."""
    used, free, over = chars or bar_chars()
    width = max(BAR_MIN, min(BAR_MAX, width))
    scale = max(total_gib, card_gib) or 1.0
    inside = round(min(total_gib, card_gib) / scale * width)
    beyond = round(total_gib / scale * width) - inside if total_gib > card_gib else 0
    return "[" + used * inside + over * beyond + free * (width - inside - beyond) + "]"


def fit_line(estimate: VramEstimate, card_gib: float, card_label: str) -> str:
    usable = card_gib * USABLE_FRACTION
    total = estimate.total_gib
    if estimate.fits(card_gib):
        return (f"{total:.2f} GiB of {card_label} ({total / card_gib:.0%}): fits, "
                f"{usable - total:.1f} GiB to spare of {usable:.1f} usable")
    return f"{total:.2f} GiB of {card_label}: DOES NOT FIT ({total - usable:.1f} GiB over the {usable:.1f} usable)"


def has_cuda_gpu() -> bool:
    """Whether this machine has an NVIDIA GPU: nvidia-smi's answer once detected, else the driver's /proc
    entry (core's check, the one `config new` picks its CPU defaults by; it does not block)."""
    from loratui.core.config import has_nvidia_gpu

    return GPU_STATE.gpu is not None if GPU_STATE.detected else has_nvidia_gpu()


def breakdown_lines(estimate: VramEstimate) -> list[str]:
    width = max(len(p.name) for p in estimate.parts)
    lines = [f"{p.name:<{width}} {p.bytes / GIB:6.2f} GiB  {p.note}" for p in estimate.parts]
    lines.append(f"{'total':<{width}} {estimate.total_gib:6.2f} GiB")
    lines += [f"- {a}" for a in estimate.assumptions]
    return lines


class VramPanel(Widget, can_focus=True):
    """Peak VRAM estimate against the card; see the module docstring."""

    BINDING_GROUP_TITLE = "VRAM"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("b", "toggle_breakdown", "Breakdown", id="vram.breakdown",
                tooltip="Show or hide the estimate part by part (weights, LoRA, optimizer, activations, ...)"),
        Binding("p", "presets", "Presets", id="vram.presets",
                tooltip="Pick a VRAM preset for a card size: see what it changes, then apply it"),
        Binding("f", "apply_fix", "Apply fix", id="vram.fix",
                tooltip="Apply the cheapest change that makes the estimate fit the card"),
        Binding("c", "choose_card", "Card size", id="vram.card",
                tooltip="Choose the card size to compare with (when no GPU was detected)"),
    ]

    DEFAULT_CSS = """
    VramPanel {
        height: auto;
        padding: 0 1 0 0;
        border-left: blank;
        /* focused: a bar down its left side, not only a tint (its keys b/p/f/c work then) */
        &:focus { background: $boost; border-left: outer $accent; }
        #vram-summary, #vram-bar, #vram-card, #vram-breakdown, #vram-warning { height: auto; }
        #vram-card { color: $text-muted; }
        #vram-card-size { width: 24; }
        #vram-breakdown { margin-top: 1; display: none; }
        #vram-warning { margin-top: 1; }
        &.-too-big #vram-summary { color: $text-error; text-style: bold; }
    }
    """

    class FieldsChanged(Message):
        """New values for the host form: {(section, key): value}; ``origin`` says why (a preset id, "fix")."""

        def __init__(self, changes: dict[tuple[str, str], object], origin: str = "",
                     panel: VramPanel | None = None) -> None:
            super().__init__()
            self.changes = changes
            self.origin = origin
            self.panel = panel

        @property
        def control(self) -> VramPanel | None:
            return self.panel

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.estimate: VramEstimate | None = None
        self.fixes: list[VramFix] = []
        self.error: str | None = None
        self.show_breakdown = False
        self._cfg: TrainingConfig | None = None
        self._scan: DatasetScan | None = None  # the dataset's scan the estimate, fixes and presets size batches by
        self._host_scan: DatasetScan | None = None  # the host's, until mounted (then followed on disk)
        self._disk = FollowedScan(self, self._scan_came, group="vram")
        self._ready = False  # mounted: the parts exist

    def compose(self) -> ComposeResult:
        yield Static("no config yet", id="vram-summary")
        yield Static(id="vram-bar")
        yield Static("looking for a GPU ...", id="vram-card")
        yield Select([(f"{gb} GB", gb) for gb in CARD_CHOICES_GB], prompt="card size", id="vram-card-size",
                     value=GPU_STATE.chosen_gb if GPU_STATE.chosen_gb else Select.NULL)
        yield Static(id="vram-breakdown")
        yield Static(id="vram-warning")

    def on_mount(self) -> None:
        self._ready = True
        self._disk.start_polling()
        if self._cfg is not None:  # update_config came before the widget was mounted
            self.update_config(self._cfg, self._host_scan)
        self.query_one("#vram-card-size", Select).display = False
        if GPU_STATE.detected:
            self._refresh_all()
        else:
            run_in_thread(self, GPU_STATE.detect, done=lambda _gpus: self._refresh_all(),
                          failed=lambda _exc: self._refresh_all(), what="GPU detection", group="vram-gpu")

    def on_resize(self) -> None:
        self._show_bar()

    # ---- the contract -------------------------------------------------------------------------

    def update_config(self, cfg: TrainingConfig, scan: DatasetScan | None = None) -> None:
        """Estimate ``cfg``; with the dataset's scan (``scan`` when it is of the config's folders, until
        they are scanned as they are now), no batch is larger than its largest bucket."""
        self._cfg, self._host_scan = copy.deepcopy(cfg), scan
        self._estimate_with(self._disk.follow(self._cfg, scan) if self._ready else scan)

    def _scan_came(self, result: DatasetScan | LoratuiError) -> None:
        """The scan of the disk now (after a change there, or for a config whose scan was not cached)."""
        if self._cfg is not None:
            self._estimate_with(result)

    def _estimate_with(self, scan: DatasetScan | LoratuiError | None) -> None:
        # a folder that cannot be scanned: the estimate stands without it, as `loratui vram` does
        self._scan = scan if isinstance(scan, DatasetScan) else None  # the fixes and presets size batches so too
        scan = self._scan
        try:
            self.estimate, self.error = estimate_vram(self._cfg, scan=scan), None
        except LoratuiError as exc:
            self.estimate, self.error = None, str(exc)
        self._refresh_all()

    @property
    def card_gib(self) -> float | None:
        return GPU_STATE.card_gib()

    @property
    def fits(self) -> bool | None:
        if self.estimate is None or self.card_gib is None:
            return None
        return self.estimate.fits(self.card_gib)

    def palette_commands(self) -> list[PaletteCommand]:
        return [
            PaletteCommand("vram: show breakdown", "Show or hide the estimate part by part", self.action_toggle_breakdown),
            PaletteCommand("vram: presets", "Pick a VRAM preset and see what it changes", self.action_presets),
            PaletteCommand("vram: apply cheapest fix", "Change the fields that make the run fit", self.action_apply_fix),
            PaletteCommand("vram: card size", "Choose the card size to compare with", self.action_choose_card),
        ]

    # ---- actions --------------------------------------------------------------------------------

    def action_toggle_breakdown(self) -> None:
        self.show_breakdown = not self.show_breakdown
        self.query_one("#vram-breakdown", Static).display = self.show_breakdown

    def form_as_typed(self) -> tuple[TrainingConfig, dict[tuple[str, str], str]] | None:
        """While a field of the host form holds text core refuses: (the form as typed, each such field
        at its last valid value as a stand-in; {(section, key): the text typed}). None when every field
        is valid, or with no such form (the panel outside Settings)."""
        form = getattr(self.screen, "form", None)
        invalid = form.invalid_fields() if form is not None and hasattr(form, "invalid_fields") else []
        if not invalid or self._cfg is None:
            return None
        from loratui.tui.widgets.config_field import INVALID
        from loratui.tui.widgets.config_form import build_config

        values = {key: getattr(getattr(self._cfg, key[0]), key[1]) if f.value is INVALID else f.value
                  for key, f in form.fields.items()}
        return build_config(form.base, values), {f.key: f.text for f in invalid}

    def action_presets(self) -> None:
        if self._cfg is None:
            self.app.notify("no config to apply a preset to yet", severity="warning")
            return

        def chosen(result: tuple[str, dict[tuple[str, str], object]] | None) -> None:
            if result is None:
                return
            preset_id, changes = result
            if not changes:
                self.app.notify(f"the config already has every setting of {preset_id}")
                return
            self.post_message(self.FieldsChanged(changes, preset_id, self))

        from loratui.tui.screens.preset_picker import PresetPicker, TypedFormPresetPicker  # a screen: at first use

        options = {"card_gib": self.card_gib, "scan": getattr(self, "_scan", None), "has_gpu": has_cuda_gpu()}
        typed = self.form_as_typed()  # self._cfg is stale then: compare with what the form holds now
        picker = PresetPicker(self._cfg, **options) if typed is None else \
            TypedFormPresetPicker(typed[0], typed=typed[1], **options)
        self.app.push_screen(picker, chosen)

    def action_apply_fix(self) -> None:
        typed = self.form_as_typed()
        if typed is not None:  # the fixes were worked out for the last valid config, not the form as typed
            self.app.notify(f"fix {', '.join(key for _, key in typed[1])} first: the VRAM fixes shown are from "
                            "before it became invalid", severity="warning")
            return
        fix = next((f for f in self.fixes if f.fits), None)
        if fix is None:
            self.app.notify("nothing to fix: the estimate fits (or no change is enough)")
            return
        self.post_message(self.FieldsChanged(dict(fix.changes), "fix", self))

    def action_choose_card(self) -> None:
        select = self.query_one("#vram-card-size", Select)
        if GPU_STATE.gpu is not None:
            self.app.notify(f"using the detected {GPU_STATE.gpu.name}")
            return
        select.display = True
        select.focus()

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id != "vram-card-size":
            return
        event.stop()
        GPU_STATE.chosen_gb = event.value if isinstance(event.value, int) else None
        self._refresh_all()

    # ---- rendering ------------------------------------------------------------------------------

    def _card_label(self) -> str:
        gpu = GPU_STATE.gpu
        if gpu is not None:
            return f"{gpu.name} ({gpu.memory_gib:.1f} GiB)"
        return f"a {GPU_STATE.chosen_gb} GB card" if GPU_STATE.chosen_gb else "no card"

    def _refresh_all(self) -> None:
        if not self._ready:
            return
        gpu, card = GPU_STATE.gpu, self.card_gib
        select = self.query_one("#vram-card-size", Select)
        if gpu is not None:
            others = f" (+{len(GPU_STATE.gpus) - 1} more; training uses the first)" if len(GPU_STATE.gpus) > 1 else ""
            card_text = f"GPU: {gpu.name}, {gpu.memory_gib:.1f} GiB (nvidia-smi){others}"
            select.display = False
        elif not GPU_STATE.detected:
            card_text = "looking for a GPU ..."
        else:
            card_text = ("no GPU found (nvidia-smi): comparing with the card size chosen below" if card else
                         "no GPU found (nvidia-smi): choose a card size below (c)")
            select.display = True
        self.query_one("#vram-card", Static).update(Content(card_text))
        summary = self.query_one("#vram-summary", Static)
        if self.error or self.estimate is None:
            summary.update(Content(self.error or "no config yet"))
            self.fixes = []
            self.set_class(False, "-too-big")
            self._show_bar()
            self.query_one("#vram-warning", Static).update("")
            self.query_one("#vram-breakdown", Static).update("")
            return
        est = self.estimate
        named = bool(self._cfg and self._cfg.model.pretrained_model_name_or_path)  # no model: nothing to guess from
        family = f"{est.family}, guessed from the name" if est.family_guessed and named else est.family
        if est.family == "sd1" and self._cfg is not None and self._cfg.model.model_family == "sd2":
            family = "sd2: counted with SD 1.5's shapes"  # as `loratui vram` says it: the estimator has no SD2 table
        if card is None:
            tiers = est.fitting_tiers()
            fits = f"fits {', '.join(f'{gb} GB' for gb in tiers)} cards" if tiers else "fits none of 6-48 GB"
            summary.update(Content(f"Peak VRAM (estimate): {est.total_gib:.2f} GiB ({family}); {fits}"))
        else:
            summary.update(Content(f"Peak VRAM (estimate, {family}): {fit_line(est, card, self._card_label())}"))
        self.set_class(card is not None and not est.fits(card), "-too-big")
        self.fixes = vram_fixes(self._cfg, card, scan=getattr(self, "_scan", None)) if card is not None else []
        self._show_bar()
        self.query_one("#vram-breakdown", Static).update(Content("\n".join(breakdown_lines(est))))
        self._show_warning(card)

    def _show_bar(self) -> None:
        if not self._ready:
            return
        bar = self.query_one("#vram-bar", Static)
        card = self.card_gib
        if self.estimate is None or card is None:
            bar.update("")
            return
        width = self.size.width - 4 if self.size.width else 40
        bar.update(Content(vram_bar(self.estimate.total_gib, card, width)))

    def _fix_keys_line(self) -> str:
        """"f applies fix 1 - p picks a preset for the card" with the keys keymap.toml gives them."""
        from loratui.tui.services.keymap import bound_key

        parts = [f"{key} {does}" for key, does in ((bound_key(self, "vram.fix"), "applies fix 1"),
                                                   (bound_key(self, "vram.presets"), "picks a preset for the card"))
                 if key]
        return " - ".join(parts) or "'vram: apply cheapest fix' (ctrl+p) applies fix 1"

    def _show_warning(self, card: float | None) -> None:
        warning = self.query_one("#vram-warning", Static)
        if card is None or self.estimate is None or self.estimate.fits(card):
            warning.update("")
            return
        lines = [Content.styled(f"Will not fit on {self._card_label()}. Cheapest fixes, checked with the estimator:",
                                "$text-error bold")]
        if not self.fixes:
            lines.append(Content("no change found: a bigger card is needed"))
        for number, fix in enumerate(self.fixes, 1):
            verdict = "fits" if fix.fits else "still does not fit"
            lines.append(Content(f"{number}. {fix.describe()} -> {fix.estimate_gib:.2f} GiB, {verdict}"))
            lines.append(Content.styled(f"   {fix.fields_text()}", "$text-muted"))
        if any(f.fits for f in self.fixes):
            lines.append(Content.styled(self._fix_keys_line(), "$text-muted"))
        else:
            lines.append(Content.styled("even all of these together do not fit: choose a bigger card or a preset",
                                        "$text-muted"))
        warning.update(Content("\n").join(lines))



def __getattr__(name: str):
    """``TypedFormPresetPicker`` lives in screens.preset_picker (a screen); still importable from here, lazily."""
    if name == "TypedFormPresetPicker":
        from loratui.tui.screens.preset_picker import TypedFormPresetPicker

        return TypedFormPresetPicker
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
