"""The Settings screen and the disk: the draft of unsaved field values (kept on disk, offered back when the
config opens), temp files a killed save left, and outside changes to the config file.

Mixed into ``SettingsScreen`` (it expects ``self.form``, ``self.path``, ``self.suggested``,
``self.loaded_stat``, ``config_edited()`` and ``show_status()``). While the form holds unsaved
edits, the changed fields (as typed, with the file's value each differs from) are kept in
``.NAME.toml.loratui-draft`` beside the config (core.drafts), written by the app's DraftKeeper at most
every 2 s and at once on SIGHUP/SIGTERM (services.drafts). With no config yet the draft goes beside
the file ctrl+s would create. A save or an explicit discard deletes it.

Each running app keeps its own draft file (``.NAME.toml.loratui-draft-PID-START``, core.drafts), so two
apps on one config never overwrite each other's typing. On opening, every draft of the config whose
writer has ended (or that this app wrote) is gathered and merged (per field the newest wins); restore and
delete act on all of them. A draft of another app still running is not offered (that app still holds the
edits): the status line names its pid instead.

When the screen opens a config with a draft, a dialog names the changed fields and offers to put
them back. If the config changed on disk after the draft was taken it says so, and a key the file
changed too is only put back when asked for ("a"); "r" then restores the others. Esc puts the
decision off (f6 asks again): the draft's fields stay in every later draft of this config until the
user restores or deletes them, so nothing is lost for putting it off.

The same opening names temp files a killed save of the config left (``.NAME.toml.XXXXXXXX.tmp``,
core.tomlfile) and offers to delete them; one that is valid TOML newer than the config is named as
such and only deleted on its own key.

The file itself is watched here too while the screen is shown (services.config_watch polls it each
second): an outside change is loaded when the form holds no edits, else named in the status line (ctrl+s
then merges or asks, as config_actions does for any file changed since it was loaded). A file that cannot
be read shows its problems in place of the form, and its draft is offered once it can be read.
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.text import Text
from textual.widgets import Static

from loratui.core.drafts import (
    FieldDraft, SettingsDraft, draft_path, file_sha256, gather_settings_drafts, remove_draft, write_draft,
)

SOURCE = "settings"
SHOWN = 8  # fields listed in the dialog (then "... and N more")
# imported sample prompts not written yet (config_transfer.PendingPrompts) ride in the draft as this
# entry: typed = their text, file = the prompts file they will go to. No field has a name with a space.
PROMPTS_KEY = "imported sample_prompts"


def fields_only(draft: SettingsDraft) -> SettingsDraft:
    """The draft without its imported-prompts entry: what the form's fields restore and compare."""
    if PROMPTS_KEY not in draft.fields:
        return draft
    fields = {key: f for key, f in draft.fields.items() if key != PROMPTS_KEY}
    return SettingsDraft(draft.config, fields, draft.config_sha256, draft.written)


class SettingsDrafts:
    """Draft keeping and offering for the Settings screen (see the module doc)."""

    draft_offer: SettingsDraft | None = None   # a draft found on opening, not restored or deleted yet
    draft_offer_for: Path | None = None        # the config it belongs to
    draft_checked_for: Path | None = None
    draft_offer_files: list[Path] = []         # the draft files merged into draft_offer (ours among them maybe)
    draft_offer_moved = False                  # the config had changed since the draft when it was offered
    draft_live_note = ""                       # another running app's draft of this config (status line)

    # ---- keeping ----------------------------------------------------------------------------------

    def draft_target(self) -> Path:
        return self.path or self.suggested

    def start_drafts(self) -> None:
        self.app.drafts.register(SOURCE, path=lambda: draft_path(self.draft_target()), snapshot=self.draft_text,
                                 safe=self.draft_safe_words())

    def draft_safe_words(self) -> str:
        """How to keep the form's text when no draft can be kept: "ctrl+s saves the config (f2 elsewhere)"."""
        save_as = self.key_for("settings.save_as")
        return self.key_does("settings.save", "saves the config") + (f" ({save_as} elsewhere)" if save_as else "")

    def draft_text(self, *, offer_only: bool = False) -> str | None:
        """The draft of the form now (None: nothing unsaved). A draft put off is kept inside it;
        ``offer_only``: that one alone, for its own config (the form's edits were saved or dropped)."""
        target = self.draft_offer_for if offer_only else self.draft_target()
        offer = self.draft_offer if self.draft_offer is not None and self.draft_offer_for == target else None
        fields = dict(offer.fields) if offer is not None else {}
        if not offer_only:
            fields.update(self.form.draft_fields())
            pending = getattr(self, "pending_prompts", None)
            if pending is not None and pending.report.prompts_text is not None and fields:
                fields[PROMPTS_KEY] = FieldDraft(pending.report.prompts_text, str(pending.planned))
        if not fields or target is None:
            return None
        if offer_only:
            sha = offer.config_sha256
        else:
            sha = self.loaded_stat[3] if self.form.has_file and len(self.loaded_stat) > 3 else None
        return SettingsDraft(config=str(target), fields=fields, config_sha256=sha).to_text()

    def forget_form_draft(self) -> None:
        """The form's edits were saved or thrown away on purpose: their draft goes. A draft put off stays
        as it was found (written again now, without the form's edits)."""
        keeper = self.app.drafts
        if self.draft_offer is None:
            keeper.discard(SOURCE)
            return
        self._rebase_offer()
        text = self.draft_text(offer_only=True)
        keeper.forget_written(SOURCE)
        if text is not None and self.draft_offer_for is not None:
            own = draft_path(self.draft_offer_for)
            try:
                write_draft(own, text)
            except OSError as exc:
                self.notify(f"{own}: could not keep the draft ({exc.strerror or exc})", severity="warning")
            else:  # our file holds all of it now: the ended sessions' files it came from go
                self._remove_offer_files(keep=own)
                self.draft_offer_files = [own]
        if self.draft_offer_for != self.draft_target():  # saved under a new name: it stays with its config
            self.draft_offer = self.draft_offer_for = None

    draft_settled = forget_form_draft  # after a save: the same

    def _rebase_offer(self) -> None:
        """After a save (or a discard) with a draft put off: when the config was as the draft knew it until
        now, the only change since is this app's own save, so the draft now compares with the saved file.
        The keys the save changed keep their old "file" value: a key saved with another value than the
        draft's is still a conflict the user decides. A config changed outside before stays changed."""
        offer = self.draft_offer
        if offer is None or self.draft_offer_moved or self.draft_offer_for != self.path or self.path is None:
            return
        sha = file_sha256(self.path)
        if sha is not None:
            offer.config_sha256 = sha

    def _remove_offer_files(self, keep: Path | None = None) -> None:
        """Delete the gathered draft files (their writers ended), all but ``keep``."""
        for path in self.draft_offer_files:
            if path == keep:
                continue
            try:
                remove_draft(path)
            except OSError as exc:
                self.notify(f"{path}: could not delete this draft ({exc.strerror or exc})", severity="warning")

    # ---- offering ---------------------------------------------------------------------------------

    def check_draft_and_leftovers(self, *, force: bool = False) -> None:
        """On opening a config (or f6): offer its draft back, then name leftover temp files. Not while the
        config cannot be read: its draft is offered once it can (the form shows no values to restore into)."""
        if getattr(self, "broken", None):
            return
        target = self.draft_target()
        if self.draft_offer is not None and self.draft_offer_for != target:
            self.forget_form_draft()  # the one put off stays on disk for its own config
            self.draft_offer = self.draft_offer_for = None
        if target == self.draft_checked_for and not force:
            return
        self.draft_checked_for = target
        gathered = gather_settings_drafts(target)
        for problem in gathered.problems:
            self.notify(problem, severity="warning", timeout=10)
        self.draft_live_note = ""
        if gathered.live:
            pids = ", ".join(str(pid) for pid in gathered.live)
            self.draft_live_note = f"another loratui (pid {pids}) has unsaved edits to this config"
            self.notify(self.draft_live_note + ": they stay with it", severity="warning", timeout=10)
        draft = gathered.draft
        if draft is None or not draft.fields:
            self.draft_offer = self.draft_offer_for = None
            self.draft_offer_files = []
            if force:
                self.notify(f"no unsaved draft of {target.name}")
            self.show_status()
            self.offer_leftovers()
            return
        self.draft_offer, self.draft_offer_for, self.draft_offer_files = draft, target, gathered.files
        self.draft_offer_moved = draft.changed_on_disk(target)
        self.show_status()
        self.offer_draft(draft, target)

    def offer_draft(self, draft: SettingsDraft, target: Path) -> None:
        from loratui.tui.screens.config_dialogs import OfferDialog

        prompts = draft.fields.get(PROMPTS_KEY)
        draft = fields_only(draft)
        file_now = self.form.file_texts()
        conflicts = draft.conflicts(file_now)
        moved = draft.changed_on_disk(target)
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(draft.written)) if draft.written else "earlier"
        lines = [f"Settings changes to {target.name} that were never saved, kept {when} (the app was closed "
                 "without saving: a dropped connection or a kill):"]
        lines += self._field_lines(draft, file_now, conflicts)
        if prompts is not None:
            lines.append(f"   and the sample prompts imported from a kohya_ss JSON, for {Path(prompts.file or '').name} "
                         "(written when you save)")
        if conflicts:
            lines.append(f"{target.name} changed on disk after this draft was taken: the keys marked ! were "
                         "changed in the file too (the file's value then -> now).")
        elif moved:
            lines.append(f"{target.name} changed on disk after this draft was taken, but none of these keys.")
        if conflicts:
            safe = len(draft.fields) - len(conflicts)
            choices = ([("r", f"restore the {safe} the file did not change (drop the rest)")] if safe else []) + \
                [("a", "restore all, over the file's values"), ("d", "delete the draft")]
        else:
            choices = [("r", f"restore them ({self.key_does('settings.save', 'saves')})"), ("d", "delete the draft")]
        cancel = self.app.key_for("settings.dialog_cancel", OfferDialog)
        later = "Esc" if cancel == "esc" else cancel or "A click on cancel"
        lines.append(f"{later} decides later ({self.key_does('settings.draft', 'asks again')}; "
                     "the draft is kept meanwhile).")
        self.app.clear_notifications()  # the start-up toast naming this draft would cover the dialog at 80x24
        # opened unasked at start: keys typed ahead for Settings (`3 ctrl+g dim`) are dropped, and a d typed
        # just after it opened (blind, still typing for Settings) asks y before the draft goes
        self.app.push_screen(OfferDialog("unsaved draft", "\n".join(lines), choices,
                                         confirm={"d": "delete the draft"}),
                             lambda choice: self._draft_answer(choice, draft, target, conflicts, prompts))

    def restore_pending_prompts(self, prompts: FieldDraft | None) -> None:
        """Imported prompts kept in the draft wait for the next save again (config_transfer.place_prompts
        writes them only while sample_prompts still names their file)."""
        if prompts is None or not prompts.file:
            return
        from loratui.core.config import ImportReport
        from loratui.tui.screens.config_transfer import PendingPrompts

        self.pending_prompts = PendingPrompts(ImportReport(prompts_text=prompts.typed), Path(prompts.file))

    def _field_lines(self, draft: SettingsDraft, file_now: dict, conflicts: list[str]) -> list[str]:
        lines = []
        for name, field in list(draft.fields.items())[:SHOWN]:
            then = field.file if field.file is not None else "(no file)"
            if name in conflicts:
                now = file_now.get(name)
                lines.append(f" ! {name}: the file had {then or '(unset)'} -> now "
                             f"{now or '(unset)' if now is not None else '(no file)'}; the draft has "
                             f"{field.typed or '(unset)'}")
            else:
                lines.append(f"   {name}: {then or '(unset)'} -> {field.typed or '(unset)'}")
        if len(draft.fields) > SHOWN:
            lines.append(f"   ... and {len(draft.fields) - SHOWN} more")
        return lines

    def _draft_answer(self, choice: str | None, draft: SettingsDraft, target: Path, conflicts: list[str],
                      prompts=None) -> None:
        if choice in ("r", "a"):
            texts = {name: f.typed for name, f in draft.fields.items() if choice == "a" or name not in conflicts}
            unknown = self.form.restore_typed(texts)
            self.restore_pending_prompts(prompts)
            kept_back = [name for name in draft.fields if name not in texts]
            self.draft_offer = self.draft_offer_for = None
            self.config_edited()
            self.app.drafts.write_now(SOURCE)  # the draft now holds what the form does (our file) ...
            self._remove_offer_files(keep=self.app.drafts.written_path(SOURCE))  # ... the gathered ones go
            self.draft_offer_files = []
            note = (f"restored {len(texts) - len(unknown)} field(s) from the draft: "
                    f"{self.key_does('settings.save', 'saves them')}")
            if kept_back:
                note += f"; left out (changed in the file): {', '.join(kept_back)} (the draft no longer holds them)"
            if unknown:
                note += f"; no such field now: {', '.join(unknown)}"
            self.notify(note, timeout=10)
        elif choice == "d":
            self.draft_offer = self.draft_offer_for = None
            self.app.drafts.discard(SOURCE)
            self._remove_offer_files()
            self.draft_offer_files = []
            self.app.drafts.changed(SOURCE)  # edits made meanwhile are kept again
            self.notify(f"deleted the draft of {target.name}")
        else:
            where = self.draft_offer_files[0] if len(self.draft_offer_files) == 1 else target.parent
            self.notify(f"the draft stays in {where}: {self.key_does('settings.draft', 'offers it again')}", timeout=8)
        self.show_status()
        self.offer_leftovers()

    def action_draft(self) -> None:
        """f6: offer the draft of this config again (or say there is none)."""
        if self.refuse_while_broken("restore a draft"):
            return
        if self.draft_offer is not None and self.draft_offer_for == self.draft_target():
            self.offer_draft(self.draft_offer, self.draft_offer_for)
        else:
            self.check_draft_and_leftovers(force=True)

    def draft_status(self) -> str:
        """The status line's word about a draft put off ("" when none)."""
        again = self.key_for("settings.draft") or "ctrl+p 'config: unsaved draft'"
        words = [f"unsaved draft: {again}"] if self.draft_offer is not None else []
        if self.draft_live_note and self.draft_checked_for == self.draft_target():
            words.append(self.draft_live_note)
        return "; ".join(words)

    # ---- the file changed outside, or cannot be read -------------------------------------------------

    def poll_config_file(self) -> bool:
        """The file changed outside (another program, an editor): loaded when the form holds no edits
        (a broken file fixed by hand too), else named in the status line. True when it changed."""
        if self.path is None or not self.is_current or self.file_work_running():
            return False
        state = self.watch.poll(self.path, self.loaded_stat)
        if state is None:
            return False
        if not state:
            self.outside_note = (f"{self.path.name} is gone from disk: "
                                 f"{self.key_does('settings.save', 'writes it again')}")
        elif self.broken or not self.form.unsaved_edits():
            self.load_file(self.path, note=f"{self.path.name} changed on disk: reloaded", outside=True)
            return True
        else:
            # the status line keeps it short (the counts must fit 80 columns); the toast says it in full
            self.outside_note = (f"changed on disk: {self.key_for('settings.save') or 'save'} merges, "
                                 f"{self.key_for('settings.reload') or 'reload'} reloads (loses yours)")
            self.notify(f"{self.path.name} changed on disk: {self.key_does('settings.save', 'merges')} your changes "
                        "into it (asking about a key changed on both sides); "
                        f"{self.key_does('settings.reload', 'reloads')} it (your changes are lost)",
                        severity="warning", timeout=8)
        self.show_status()
        return True

    def file_settled(self) -> None:
        """The form now shows the file as it is (loaded, saved, or why it cannot be read)."""
        self.outside_note = ""
        self.watch.forget()
        self.show_broken()

    def show_broken(self) -> None:
        """A file that cannot be read: its problems in place of the form (whose defaults are not its values)."""
        broken = bool(self.broken)
        # inline "none" or no inline rule (not "block"): the stylesheet's narrow-terminal rule still hides
        # the column the focus is not in (screens.focus_in_view)
        self.form.styles.display = None if not broken else "none"
        self.query_one("#settings-panels").styles.display = None if self.panels and not broken else "none"
        box = self.query_one("#settings-broken", Static)
        box.display = broken
        if broken:
            prefix = f"{self.path}, "
            text = Text(f"{self.path.name} cannot be read, so no setting is shown (the defaults are not its "
                        "values):\n\n", style="bold")
            for line in self.broken_lines:
                text.append("  " + (line[len(prefix):] if line.startswith(prefix) else line) + "\n")
            if getattr(self, "broken_foreign", None):  # an sd-scripts file: editing it into a loratui one breaks it
                text.append(f"\n{self.key_does('settings.open', 'opens a loratui config')}.")
            else:
                text.append(f"\nFix it in an editor ({self.path}) and save it: Settings reloads it then "
                            f"({self.key_does('settings.reload', 'at once')}). "
                            f"{self.key_does('settings.open', 'opens another config')}.")
            box.update(text)
            if self.focused is not None and self.focused is not box:
                self.set_focus(None)
        self.show_help(None)

    # ---- temp files a killed save left --------------------------------------------------------------

    def offer_leftovers(self) -> None:
        from loratui.core.tomlfile import leftover_toml_temps
        from loratui.tui.screens.config_dialogs import OfferDialog

        if self.path is None:
            return
        found = leftover_toml_temps(self.path)
        if not found:
            return
        safe = [item for item in found if not (item.valid_toml and item.newer)]
        body = "\n".join(["A save of this config was killed part-way and left:", *(item.line() for item in found)])
        choices = []
        if safe:
            choices.append(("x", f"delete the {len(safe)} unfinished or older one(s)"))
        if len(safe) < len(found):
            choices.append(("a", f"delete all {len(found)}, the newer valid one(s) too"))

        def answer(choice: str | None) -> None:
            gone = safe if choice == "x" else found if choice == "a" else []
            failed = []
            for item in gone:
                try:
                    item.path.unlink()
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    failed.append(f"{item.path}: {exc.strerror or exc}")
            if failed:
                self.notify(f"could not delete {failed[0]}", severity="warning")
            elif gone:
                self.notify(f"deleted {len(gone)} leftover temp file(s) of {self.path.name}")

        self.app.clear_notifications()  # start-up toasts would cover the dialog's keys at 80x24
        # unasked at start: keys typed ahead are dropped; a newer valid one (maybe the only copy of a save) asks y
        self.app.push_screen(OfferDialog("left over by a killed save", body, choices,
                                         confirm={"a": f"delete all {len(found)}, the newer valid one(s) too"}),
                             answer)
