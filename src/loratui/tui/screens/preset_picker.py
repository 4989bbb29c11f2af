"""PresetPicker: choose a VRAM preset, see what it changes and its new estimate, then apply it.

Lists the presets of ``core.config.load_presets`` (shipped 6 / 8 / 12 / 16 / 24 / 48 GB presets for
SD 1.5 and SDXL, plus the user's own folder) filtered to the config's model family (both families
when no model is set). For the highlighted preset it shows, as `loratui presets apply` does, every
field it changes (``preset_changes``: old -> new) and, below that where it is always in view, the
estimated peak VRAM before and after and what core's ``preset_check`` says (the check `loratui presets
apply` refuses with, in its words): a preset that would leave the config invalid shows the extra
changes that fix it (a resolution past max_bucket_reso: the bucket limits raised to fit), which Enter
applies with it, or, with no fix known, Enter refuses it. On a machine with no CUDA GPU a preset that
switches to a GPU-only optimizer or precision (AdamW8bit, fp16) says so in one line. Enter dismisses
with ``(preset id, {(section, key): new value})`` for the host to apply; Escape dismisses with None.
Nothing is written here.
"""

from __future__ import annotations

import copy
import json
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from loratui.core.config import (
    Preset, PresetCatalog, TrainingConfig, config_model_family, cpu_slow_line, load_presets, preset_changes,
    preset_check, preset_problem_line,
)
from loratui.core.errors import LoratuiError
from loratui.core.plan import estimate_vram, largest_bucket_samples, resolve_family
from loratui.tui.services.work import failure_line

PresetChoice = tuple[str, dict[tuple[str, str], object]]


def show_value(value: object) -> str:
    """A config value as the TOML file spells it (resolution 768 for (768, 768))."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple) and len(value) == 2:
        return str(value[0]) if value[0] == value[1] else f"{value[0]},{value[1]}"
    if value is None:
        return "(unset)"
    if isinstance(value, str):
        return json.dumps(value)
    return str(value)


def config_family(cfg: TrainingConfig) -> str | None:
    """"sd15" or "sdxl" for the preset filter; None when nothing says which (no model, family auto). For
    auto, the family read from the model's weights (the name only when they cannot be read)."""
    if (cfg.model.model_family or "auto") == "auto" and not cfg.model.pretrained_model_name_or_path:
        return None
    try:
        return "sdxl" if resolve_family(cfg, None, []) == "sdxl" else "sd15"
    except LoratuiError:
        return None


def family_guessed(cfg: TrainingConfig) -> bool:
    """Whether config_family is only a guess from the model's name (auto, weights not readable)."""
    try:
        return config_model_family(cfg).guessed
    except LoratuiError:
        return False


class PresetPicker(ModalScreen[PresetChoice | None]):
    """Pick a preset for ``cfg``; dismisses with (id, changes) or None."""

    BINDING_GROUP_TITLE = "VRAM presets"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "apply", "Apply", id="presets.apply",
                tooltip="Apply the highlighted preset's settings to the form (nothing is saved yet)"),
        Binding("escape", "cancel", "Cancel", id="presets.cancel", tooltip="Close without changing anything"),
    ]

    DEFAULT_CSS = """
    PresetPicker {
        align: center middle;
        & > #picker-box {
            width: 90; max-width: 100%; height: auto; max-height: 100%;
            border: round $accent; padding: 0 1; background: $surface;
        }
        #picker-help, #picker-keys { color: $text-muted; }
        #picker-keys { dock: bottom; height: 1; }  /* the keys never cut off, however short the screen */
        /* 80x24: the list, the diff (scrolls) and the estimate and warnings below it, never cut off; the
           diff's max-height is set to the room the screen leaves (fit_detail), 8 until that is measured */
        #picker-list { height: auto; max-height: 6; }
        #picker-detail { height: auto; max-height: 8; }
        #picker-more { color: $text-muted; height: 1; display: none; }
        #picker-problems { color: $text-warning; height: auto; }
        #picker-summary { height: auto; }
    }
    """

    def __init__(self, cfg: TrainingConfig, *, card_gib: float | None = None,
                 catalog: PresetCatalog | None = None, scan=None, has_gpu: bool | None = None) -> None:
        super().__init__()
        self.has_gpu = has_gpu  # False: no CUDA GPU here (a GPU-only optimizer or precision is named)
        self.cfg = copy.deepcopy(cfg)
        self.scan = scan  # the dataset's: no batch is sized past its largest bucket, as on the VRAM panel
        self.card_gib = card_gib
        self.family = config_family(cfg)
        self.catalog = catalog
        self.presets: list[Preset] = []
        self.problems: list[str] = []
        self._done = False

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box") as box:
            box.border_title = "VRAM presets"
            yield Static(id="picker-help")
            yield OptionList(id="picker-list")
            with VerticalScroll(id="picker-detail"):
                yield Static(id="picker-diff")
            yield Static(id="picker-more")
            yield Static(id="picker-summary")
            yield Static(id="picker-problems")
            yield Static(self._keys_line(), id="picker-keys")

    def _keys_line(self) -> str:
        """"Enter apply to the form - Esc cancel", with the keys the user's keymap gives them."""
        from loratui.tui.services.keymap import bound_key

        apply, cancel = (bound_key(self, binding_id) for binding_id in ("presets.apply", "presets.cancel"))
        apply, cancel = ("Enter" if apply == "⏎" else apply), ("Esc" if cancel == "esc" else cancel)
        return " - ".join(f"{key} {what}" for key, what in ((apply, "apply to the form"), (cancel, "cancel")) if key)

    def on_mount(self) -> None:
        if self.catalog is None:
            try:
                self.catalog = load_presets()
            except (LoratuiError, OSError) as exc:  # a broken shipped preset is a bug: say it in one line
                self.catalog = PresetCatalog(problems=[failure_line("presets", exc)[0]])
        self.presets = self.catalog.list(self.family)
        self.problems = list(self.catalog.problems)
        which = {"sd15": "SD 1.5", "sdxl": "SDXL"}.get(self.family or "", "both families (no model set yet)")
        if self.family and family_guessed(self.cfg):
            which += " (guessed from the model's name: set model_family to be sure)"
        self.query_one("#picker-help", Static).update(Content(
            f"Presets for {which}; each sets the memory-relevant fields for one card size."))
        options = self.query_one("#picker-list", OptionList)
        for preset in self.presets:
            mark = " (user)" if preset.source == "user" else ""
            label = f"{preset.vram_gb:>3} GB  {preset.family:<5} {preset.id}{mark}"
            options.add_option(Option(label, id=preset.id))
        problems = [f"skipped: {p}" for p in self.problems]
        self.query_one("#picker-problems", Static).update(Content("\n".join(problems)))
        self.query_one("#picker-problems", Static).display = bool(problems)
        if self.presets:
            options.highlighted = self._initial_index()
            self._show(self.presets[options.highlighted])
        else:
            self.query_one("#picker-diff", Static).update("no presets for this model family")
        options.focus()
        self.watch(self.query_one("#picker-detail"), "scroll_y", lambda _: self._show_more(), init=False)

    def on_resize(self) -> None:
        self.call_after_refresh(self.fit_detail)

    def fit_detail(self, passes: int = 2) -> None:
        """Give the change list the rows the screen leaves (the estimate and keys stay in view; on a short
        screen the preset list gives up rows first, down to one preset in view); when it must cut, the line
        below it says how many rows are hidden and how to see them."""
        box, detail, diff = (self.query_one(s) for s in ("#picker-box", "#picker-detail", "#picker-diff"))
        more, listing = self.query_one("#picker-more", Static), self.query_one("#picker-list", OptionList)
        others = sum(child.outer_size.height for child in box.children
                     if child.display and child not in (detail, more, listing))
        room = self.size.height - (box.outer_size.height - box.size.height) - others  # less the border
        content = diff.outer_size.height
        full_list = min(6, listing.option_count + 2)  # its rows and its border
        wanted = min(content, 2) + (1 if content > room - full_list else 0)  # the diff's least, and "more"
        list_rows = max(3, min(full_list, room - wanted))
        if listing.styles.max_height != list_rows:
            listing.styles.max_height = list_rows
            self.call_after_refresh(listing.scroll_to_highlight)
        room -= list_rows
        cut = content > room
        more.display = cut
        room = max(2, room - 1 if cut else room)
        self._detail_room = min(room, content)
        if detail.styles.max_height != room:
            detail.styles.max_height = room
            if passes > 1:  # a scrollbar may rewrap the lines: measure again once laid out
                self.call_after_refresh(self.fit_detail, passes - 1)
        self._show_more()

    def _show_more(self) -> None:
        detail, diff = self.query_one("#picker-detail"), self.query_one("#picker-diff")
        hidden = diff.outer_size.height - round(detail.scroll_y) - getattr(self, "_detail_room", 0)
        more = self.query_one("#picker-more", Static)
        if more.display:
            more.update(Content(f"… {hidden} more line(s): Tab, then ↓ to scroll" if hidden > 0 else
                                "(the end of the changes; ↑ scrolls back)"))

    def _initial_index(self) -> int:
        """The biggest preset that fits the card (the smallest one without a card)."""
        if self.card_gib is None:
            return 0
        fitting = [i for i, p in enumerate(self.presets) if p.vram_gb <= self.card_gib + 0.5]
        return max(fitting, key=lambda i: self.presets[i].vram_gb) if fitting else 0

    # ---- showing a preset -----------------------------------------------------------------------

    def changes_for(self, preset: Preset) -> dict[tuple[str, str], object]:
        """What Enter applies: the preset's changes and the fixes that keep the config valid."""
        check = preset_check(self.cfg, preset)
        return {tuple(c.key.split(".", 1)): c.new for c in [*check.changes, *check.fixes]}

    def _estimate_family(self, preset: Preset) -> str | None:
        # like `loratui presets apply`: with no model to guess from, estimate for the preset's family
        unknown = (self.cfg.model.model_family or "auto") == "auto" and not self.cfg.model.pretrained_model_name_or_path
        return preset.estimator_family if unknown else None

    def _show(self, preset: Preset) -> None:
        check = preset_check(self.cfg, preset)
        changes = check.changes
        lines = [Content.styled(preset.description, "bold")]
        if not changes:
            lines.append(Content("the config already has every setting of this preset: nothing to change"))
        else:
            width = max(len(c.key) for c in changes)
            lines.append(Content(f"changes {len(changes)} field(s):"))
            lines += [Content(f"  {c.key:<{width}}  {show_value(c.old)} -> {show_value(c.new)}") for c in changes]
        self.query_one("#picker-diff", Static).update(Content("\n").join(lines))
        self.query_one("#picker-summary", Static).update(Content("\n").join(self._summary(preset, check)))
        self.query_one("#picker-detail").scroll_home(animate=False)
        self.call_after_refresh(self.fit_detail)

    def _summary(self, preset: Preset, check) -> list[Content]:
        """The estimate, then what the preset would break and its fix, then a GPU-only setting on a CPU."""
        family = self._estimate_family(preset)
        lines = []
        try:
            old, new = (estimate_vram(c, family=family, largest_bucket=largest_bucket_samples(c, self.scan)
                                      if self.scan is not None else None) for c in (self.cfg, check.after))
            fits = ""
            if self.card_gib is not None:
                fits = "; fits the card" if new.fits(self.card_gib) else "; still does NOT fit the card"
            lines.append(Content(f"estimated peak VRAM: {old.total_gib:.2f} GiB -> {new.total_gib:.2f} GiB{fits}"))
        except LoratuiError as exc:
            lines.append(Content(f"no estimate: {exc}"))
        if check.problems:
            lines.append(Content.styled(preset_problem_line(preset.id, "the config", check.problems), "$text-warning"))
            if check.fixes:
                fixes = ", ".join(f"{c.key} {show_value(c.old)} -> {show_value(c.new)}" for c in check.fixes)
                lines.append(Content.styled(f"Enter also sets {fixes} to fix it", "$text-warning bold"))
            else:
                lines.append(Content.styled("Enter refuses it: change that field first, or pick another preset",
                                            "$text-warning bold"))
        slow = cpu_slow_line(self.cfg, check.after) if self.has_gpu is False else None
        if slow:  # the same line `presets apply` prints on a machine without a CUDA GPU
            lines.append(Content.styled(slow, "$text-warning"))
        return lines

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if event.option_index is not None and 0 <= event.option_index < len(self.presets):
            self._show(self.presets[event.option_index])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._choose(event.option_index)

    # ---- actions --------------------------------------------------------------------------------

    def action_apply(self) -> None:
        self._choose(self.query_one("#picker-list", OptionList).highlighted)

    def action_cancel(self) -> None:
        if not self._done:
            self._done = True
            self.dismiss(None)

    def _choose(self, index: int | None) -> None:
        if self._done or index is None or not 0 <= index < len(self.presets):
            return
        preset = self.presets[index]
        check = preset_check(self.cfg, preset)
        if check.refused:  # never hand over a config training refuses
            self.app.notify(f"{preset_problem_line(preset.id, 'the config', check.problems)}: nothing applied; "
                            "change that field first, or pick another preset", severity="error", timeout=10)
            return
        self._done = True
        self.dismiss((preset.id, self.changes_for(preset)))


class TypedFormPresetPicker(PresetPicker):
    """The preset picker for a form with fields core refuses: ``typed`` {(section, key): text typed}; ``cfg``
    is the form as typed with those fields at a stand-in value (their last valid one).

    A preset that sets every such field is compared with the form as typed: those fields show their text
    ("0" (invalid) -> 32) and Enter sets them with the rest, so the form is valid again. A preset that
    leaves one unset is refused in one line ("fix network_dim first: ..."). No estimate stands for the
    form as typed, so only the estimate with the preset applied is shown, and none for a refused preset.
    """

    def __init__(self, cfg: TrainingConfig, *, typed: dict[tuple[str, str], str], **options: Any) -> None:
        super().__init__(cfg, **options)
        self.typed = dict(typed)

    def refusal(self, preset) -> str | None:
        unset = [key for (section, key) in self.typed if key not in preset.settings.get(section, {})]
        if not unset:
            return None
        return f"fix {', '.join(unset)} first: {preset.id} does not set {'it' if len(unset) == 1 else 'them'}"

    def changes_for(self, preset) -> dict[tuple[str, str], object]:
        changes = super().changes_for(preset)
        for section, key in self.typed:  # also where the stand-in equals the preset's value: the text goes
            changes[(section, key)] = preset.settings[section][key]
        return changes

    def _show(self, preset) -> None:
        from loratui.core.config import preset_check

        check = preset_check(self.cfg, preset)
        typed = [] if self.refusal(preset) else [
            (f"{section}.{key}", f"{json.dumps(text)} (invalid)", show_value(preset.settings[section][key]))
            for (section, key), text in self.typed.items()]
        rows = typed + [(c.key, show_value(c.old), show_value(c.new)) for c in check.changes
                        if tuple(c.key.split(".", 1)) not in self.typed]
        lines = [Content.styled(preset.description, "bold")]
        if rows:
            width = max(len(key) for key, _, _ in rows)
            lines.append(Content(f"changes {len(rows)} field(s) of the form as typed:"))
            lines += [Content(f"  {key:<{width}}  {old} -> {new}") for key, old, new in rows]
        else:
            lines.append(Content("the form already has every other setting of this preset"))
        self.query_one("#picker-diff", Static).update(Content("\n").join(lines))
        self.query_one("#picker-summary", Static).update(Content("\n").join(self._summary(preset, check)))
        self.query_one("#picker-detail").scroll_home(animate=False)
        self.call_after_refresh(self.fit_detail)

    def _summary(self, preset, check) -> list[Content]:
        # the base's first line is always its before -> after estimate (or "no estimate"): the "before"
        # would be the stand-in's, so it is replaced; its problem and GPU lines are kept
        rest = super()._summary(preset, check)[1:]
        refusal = self.refusal(preset)
        if refusal:
            return [Content.styled(f"{refusal}; Enter refuses it (no estimate while it is invalid)",
                                   "$text-warning bold"), *rest]
        names = ", ".join(key for _, key in self.typed)
        try:
            after = estimate_vram(check.after, family=self._estimate_family(preset), scan=self.scan)
        except LoratuiError as exc:
            return [Content(f"no estimate: {exc}"), *rest]
        fits = ""
        if self.card_gib is not None:
            fits = "; fits the card" if after.fits(self.card_gib) else "; still does NOT fit the card"
        return [Content(f"estimated peak VRAM with it: {after.total_gib:.2f} GiB{fits} (none for the form "
                        f"as typed: {names} is invalid)"), *rest]

    def _choose(self, index: int | None) -> None:
        if not self._done and index is not None and 0 <= index < len(self.presets):
            refusal = self.refusal(self.presets[index])
            if refusal:
                self.app.notify(f"{refusal}: nothing applied", severity="error", timeout=10)
                return
        super()._choose(index)
