"""BalanceDialog: pick repeats so every concept gives about the same samples per epoch.

The plan comes from core (`balance_plan`, `plan_conflicts`) and is shown before anything moves: each
folder rename (`10_alice -> 4_alice`) with its samples before and after, the total (and the reg samples
sd-scripts adds to match it, when there are reg images), and any conflict.
Typing another target re-plans at once. Enter records the balance, so ctrl+z can rename the folders
back (a full disk refuses here, before anything moves), then renames the folders all or nothing (core's
`record_and_rename`, as the CLI does) and lets the undo journals follow (`follow_folder_renames`),
then dismisses with True;
Escape dismisses with False. Errors stay in the dialog as one line.
The key line is docked at the box's bottom and the rest scrolls (Up/Down, PageUp/PageDown): with many
concept folders and a live-run warning at 80x24, or at 60x20, the Enter/Esc line was cut off, and the
dialog has its own footer (the Dataset screen's "⏎ Next problem" showed behind it).
A training run live on the app's config that trains from these folders is named in a warning line
(core.project): the new repeats apply from its next run, and a run without cached latents stops at
the first image of a renamed folder. Enter still renames: the user decides.

The renames run on the UI thread: a handful of `os.rename` calls in one folder.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, Static

from loratui.core.captions import follow_folder_renames, newest_entry_name
from loratui.core.dataset import (
    BalanceNotRecordedError, DatasetScan, Rename, balance_plan, balance_target, nothing_to_balance_line,
    plan_conflicts, record_and_rename, reg_balance_refusal, samples_change_line,
)
from loratui.core.errors import LoratuiError
from loratui.tui.screens.choice_dialogs import fit_scroll_body
from loratui.tui.widgets.dataset_summary import default_marks


def one_line(error: BaseException) -> str:
    """An exception as one line of text for the dialog (never a traceback)."""
    if isinstance(error, OSError) and error.strerror:
        where = f": {error.filename}" if error.filename else ""
        text = f"{error.strerror}{where}"
    else:
        text = str(error) or type(error).__name__
    return " ".join(text.split())


class BalanceDialog(ModalScreen[bool]):
    """Shows the balance plan for `scan`; Enter renames the folders (True), Escape cancels (False)."""

    BINDING_GROUP_TITLE = "Balance repeats"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "apply", "Rename folders", id="balance.apply",
                tooltip="Rename the concept folders as planned (nothing is overwritten)"),
        Binding("escape", "cancel", "Cancel", id="balance.cancel", tooltip="Close without renaming anything"),
        Binding("down", "scroll_body(1)", "Scroll down", show=False, id="balance.scroll_down"),
        Binding("up", "scroll_body(-1)", "Scroll up", show=False, id="balance.scroll_up"),
        Binding("pagedown", "scroll_body(0, 1)", "Page down", show=False, id="balance.page_down"),
        Binding("pageup", "scroll_body(0, -1)", "Page up", show=False, id="balance.page_up"),
    ]

    DEFAULT_CSS = """
    BalanceDialog {
        align: center middle;
        & > #balance-box {
            width: 76; max-width: 100%; height: auto; max-height: 100%;
            border: round $accent; border-title-style: bold; padding: 0 1; background: $surface;
        }
        /* the keys stay at the bottom; the body above them scrolls (its max-height: fit_body) */
        #balance-body { height: auto; scrollbar-size-vertical: 1; }
        #balance-help { color: $text-muted; }
        #balance-target-row { height: 3; }
        #balance-target-row > Label { padding: 1 1 0 0; }
        #balance-target { width: 14; }
        #balance-plan { height: auto; }
        #balance-total { margin-top: 1; }
        #balance-conflicts, #balance-error { color: $text-error; height: auto; }
        #balance-live { color: $text-warning; height: auto; margin-top: 1; }
        #balance-keys { dock: bottom; height: auto; color: $text-muted; border-top: hkey $panel-lighten-2; }
    }
    """

    def __init__(self, scan: DatasetScan, target: int | None = None, *, name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.scan = scan
        self.default_target = balance_target(scan)
        self.target: int | None = target if target is not None else self.default_target
        self.plan: list[Rename] = []
        self.conflicts: list[str] = []
        self._problem = ""  # why Enter cannot apply (bad target), shown as one line
        self._done = False
        self._marks = default_marks()
        self.live_run = None  # core.project.LiveRun: a run training from these folders (on_mount)

    def compose(self) -> ComposeResult:
        with Vertical(id="balance-box") as box:
            box.border_title = "Balance repeats"
            yield Static(id="balance-keys")  # docked at the bottom: never cut off
            with VerticalScroll(id="balance-body", can_focus=False):
                yield Static("Each concept gets about the same samples per epoch (repeats × images). "
                             "Reg folders are left alone.", id="balance-help")
                with Horizontal(id="balance-target-row"):
                    yield Label("Target samples per concept:")
                    yield Input(str(self.target) if self.target else "", placeholder=str(self.default_target),
                                type="integer", id="balance-target", select_on_focus=False)
                with Vertical(id="balance-plan"):
                    yield Static(id="balance-rows")
                yield Static(id="balance-total")
                yield Static(id="balance-conflicts")
                yield Static(id="balance-error")
                yield Static(id="balance-live")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#balance-target", Input).focus()
        # looked up before the first frame (a config read and a lock): Enter never comes before the warning
        self.live_run = self._find_live_run()
        live = self.query_one("#balance-live", Static)
        live.update(Content(f"{self._marks['warning']} {self.live_run.balance_warning()}" if self.live_run else ""))
        live.display = self.live_run is not None
        self._replan()

    def _find_live_run(self):
        """The run live on the app's config that trains from this train folder, or None."""
        from loratui.core.project import live_run_on

        try:
            return live_run_on(getattr(self.app, "config_path", None), self.scan.train_data_dir)
        except Exception:  # noqa: BLE001 - only a warning: the balance itself does not depend on it
            return None

    # ---- events and actions -----------------------------------------------------------------

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        text = event.value.strip()
        if not text:
            self.target = self.default_target
        else:
            try:
                self.target = int(text)
            except ValueError:
                self.target = None
        self._replan()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_apply()

    def action_apply(self) -> None:
        if self._done:  # a second Enter queued before the dialog closed
            return
        if self._problem:
            self._show_error(self._problem)
            return
        if not self.plan:  # already balanced: nothing was renamed
            self._done = True
            self.dismiss(False)
            return
        plan = list(self.plan)
        if plan_conflicts(plan):  # checked again: the folders may have changed since the last key
            self._replan()
            count = len(self.conflicts)
            self._show_error(f"nothing renamed: {count} conflict{'s' if count > 1 else ''} above; "
                             "pick another target or fix the folders")
            return
        train = self.scan.train_data_dir
        try:  # recorded first: a balance ctrl+z could not undo (a full disk) is refused before any folder moves
            record_and_rename(train, plan, newest_entry_name(train))  # renames all or nothing
        except BalanceNotRecordedError as exc:
            self._show_error(one_line(exc))  # names the record, the free space and the fix
            return
        except (LoratuiError, OSError) as exc:  # the renames failed: the record was dropped again
            text = one_line(exc)  # core's line for a folder not writable already says "nothing was renamed"
            self._show_error(text if "nothing was renamed" in text else f"nothing renamed: {text}")
            return
        self._done = True
        try:
            follow_folder_renames((rename.source, rename.dest) for rename in plan)
        except (LoratuiError, OSError) as exc:  # the folders did move: report, and still say so
            self.app.notify(f"Folders renamed, but the undo journal could not follow: {one_line(exc)}",
                            severity="warning", timeout=10)
        self.dismiss(True)

    def action_scroll_body(self, lines: int, pages: int = 0) -> None:
        body = self.query_one("#balance-body", VerticalScroll)
        step = lines or pages * max(body.scrollable_content_region.height - 1, 1)
        body.scroll_to(y=body.scroll_y + step, animate=False)

    def on_resize(self) -> None:
        self.call_after_refresh(self._fit_body)

    def _fit_body(self) -> None:
        """The body gets what the screen leaves the box's border, the keys and the footer."""
        box = self.query_one("#balance-box")
        fit_scroll_body(self, box, box.query_one("#balance-body"))

    def action_cancel(self) -> None:
        if not self._done:
            self._done = True
            self.dismiss(False)

    # ---- internals --------------------------------------------------------------------------

    def _replan(self) -> None:
        self.plan, self.conflicts, self._problem = [], [], ""
        concepts = [s for s in self.scan.train_subsets if s.images]
        unreadable = next((p for p in self.scan.problems if p.kind == "unreadable_folder"), None)
        if unreadable is not None:  # its repeats and images are unknown: as `dataset balance`, refused
            self._problem = unreadable.message
        elif self.scan.reg_only:  # a reg folder on its own: the summary's `b` says so; this is the backstop
            self._problem = reg_balance_refusal(self.scan.train_data_dir)
        elif not concepts:
            self._problem = nothing_to_balance_line(self.scan)
        elif self.target is None or self.target < 1:
            self._problem = "type a target of at least 1 sample per epoch"
        else:
            try:
                self.plan = balance_plan(self.scan, self.target, target_field="'Target samples per concept'")
                self.conflicts = plan_conflicts(self.plan)
            except (LoratuiError, OSError) as exc:
                self._problem = one_line(exc)
        self._render_plan(concepts)

    def _render_plan(self, concepts) -> None:
        changes = {rename.source: rename for rename in self.plan}
        labels = {s.path: str(changes[s.path]) if s.path in changes else s.name for s in concepts}
        width = max((len(label) for label in labels.values()), default=0)
        lines: list[Content] = []
        for subset in concepts:
            rename = changes.get(subset.path)
            label = labels[subset.path].ljust(width)
            if rename is None:
                numbers = f" {subset.repeats} × {subset.num_images} = {subset.samples}"
                lines.append(Content.assemble(f"{label}  ", ("unchanged:", "$text-muted"), numbers))
            else:
                lines.append(Content.assemble(
                    (label, "bold"), f"  {rename.old_repeats} × {rename.images} = {rename.old_samples}"
                    f" -> {rename.new_repeats} × {rename.images} = {rename.new_samples}"))
        self.query_one("#balance-rows", Static).update(Content("\n").join(lines))

        before = sum(s.samples for s in concepts)
        if self._problem:
            total = Content("")
        else:
            after = before + sum(r.new_samples - r.old_samples for r in self.plan)
            total = Content(samples_change_line(self.scan, before, after))  # with the reg fill, if any
            if not self.plan:
                total = Content.assemble(total, "  ", ("already balanced: nothing to rename", "bold"))
        self.query_one("#balance-total", Static).update(total)
        self._show_conflicts()
        self._show_error(self._problem)
        # Enter is the target box's own (it submits); the cancel and undo keys are keymap.toml's
        cancel_key = self._key("balance.cancel")
        cancel = f"{cancel_key} cancel" if cancel_key else ""
        if self.conflicts:
            keys = f"{cancel} (fix the conflicts or pick another target)".strip()
        elif self.plan:
            count = len(self.plan)
            anyway = " anyway" if self.live_run is not None else ""
            keys = " · ".join(filter(None, [f"Enter rename {count} folder{'s' if count > 1 else ''}{anyway}", cancel]))
            keys += f"\n({self._undo_key()} on the Dataset screen renames them back)"
        else:
            keys = cancel if self._problem else " · ".join(filter(None, ["Enter close", cancel]))
        self.query_one("#balance-keys", Static).update(keys)
        self.call_after_refresh(self._fit_body)  # the key line may take more or fewer rows now

    def _key(self, binding_id: str) -> str:
        """The key keymap.toml binds to ``binding_id`` here, as the hints spell it ("Esc"); "" for none."""
        from loratui.tui.services.keymap import bound_key

        key = bound_key(self, binding_id)
        return {"escape": "Esc", "esc": "Esc"}.get(key, key)

    def _undo_key(self) -> str:
        """The Dataset screen's undo key ("ctrl+z"), or its palette command where the keymap left none."""
        undo_key = getattr(self.app, "dataset_undo_key", None)  # the app's (LoratuiApp); a bare App: the default
        return undo_key() if undo_key is not None else "ctrl+z"

    def _show_conflicts(self) -> None:
        mark = self._marks["error"]
        conflicts = self.query_one("#balance-conflicts", Static)
        conflicts.update("\n".join(f"{mark} {' '.join(conflict.split())}" for conflict in self.conflicts))
        conflicts.display = bool(self.conflicts)

    def _show_error(self, text: str) -> None:
        error = self.query_one("#balance-error", Static)
        error.update(f"{self._marks['error']} {text}" if text else "")
        error.display = bool(text)
