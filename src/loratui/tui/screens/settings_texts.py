"""What the Settings screen shows in words: the section line, the focused field's help, the status line,
its palette commands and the keys its texts name (the user's keymap applied). ``SettingsTexts`` is
mixed into SettingsScreen (screens/settings.py), which owns the form, the file and the panels; it
expects ``self.form``, ``self.path``, ``self.broken``/``broken_lines``/``broken_foreign``,
``self.suggested``, ``self.family``, ``self.outside_note`` and ``draft_status()``.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from loratui.core.config import SECTIONS
from loratui.tui.palette import PaletteCommand
from loratui.tui.widgets.config_field import ConfigField
from loratui.tui.widgets.config_form import SECTION_TITLES
from loratui.tui.widgets.section_line import SectionLine

PATH_PICKS = {  # key -> (what may be picked, file suffixes, picker title)
    "pretrained_model_name_or_path": ("any", (".safetensors", ".ckpt"), "Base model (a file or diffusers folder)"),
    "vae": ("any", (".safetensors", ".ckpt", ".pt", ".bin"), "VAE (a file or diffusers folder)"),
    "network_weights": ("file", (".safetensors",), "LoRA to continue from"),
    "train_data_dir": ("folder", None, "Training images folder (N_concept subfolders)"),
    "reg_data_dir": ("folder", None, "Regularisation images folder"),
    "output_dir": ("folder", None, "Output folder"),
    "resume": ("folder", None, "Saved state folder to resume from"),
    # the prompt files sd-scripts reads (load_prompts, by suffix; core/config/prompts.py)
    "sample_prompts": ("file", (".txt", ".toml", ".json"), "Sample prompts file (.txt, .toml or .json)"),
}
MODEL_KEYS = {"pretrained_model_name_or_path", "vae", "network_weights"}
HELP_ROWS = 6  # the help box's height at most (settings.tcss max-height), for a box without one
PALETTE = (  # (title, binding id, what its help says after the key, action): every key of the screen
    ("config: save", "settings.save", ": in place, keeping comments and order", "save"),
    ("config: save as a new file", "settings.save_as", "", "save_as"),
    ("config: reload from disk", "settings.reload", "", "reload"),
    ("config: open another config", "settings.open", "", "open"),
    ("config: unsaved draft (restore or delete)", "settings.draft", ": what a closed app left unsaved", "draft"),
    ("config: import kohya_ss JSON", "settings.import_kohya", ": shows what was dropped and why", "import_kohya"),
    ("config: export sd-scripts TOML", "settings.export", ": config.toml + dataset.toml", "export"),
    ("config: start training", "settings.train", ": save, then start a run on the Train screen (its command "
     "shown first)", "train"),
    ("config: go to field", "settings.goto", "", "goto"),
    ("config: next section", "settings.next_section", "", "next_section"),
    ("config: previous section", "settings.previous_section", "", "previous_section"),
    ("config: pick a file for this field", "settings.pick_file", "", "pick_file"),
    ("config: revert this field to the file", "settings.revert_field", "", "revert_field"),
    ("config: drop network_args keys the algo does not read", "settings.drop_unread_args",
     ": hidden LyCORIS keys that block training", "drop_unread_args"),
    ("config: scroll the field's help (more lines)", "settings.help_down", ": a help longer than its box",
     "help_down"),
    ("config: scroll the field's help back", "settings.help_up", "", "help_up"),
    ("config: leave the field (keys {screens} switch screens)", "settings.leave_field", "", "leave_field"),
    ("vram: go to the panel", "settings.vram", " with no field focused", "vram_panel"),
    ("steps: target steps", "settings.target_steps", " with no field focused: type a step count, enter sets the "
     "epochs that reach it", "target_steps"),
)


class SettingsTexts:
    """The Settings screen's words: sections, help, status line, palette and the keys they name."""

    # ---- sections, help, status -----------------------------------------------------------------

    def show_sections(self, current: str) -> None:
        """The section line (widgets.section_line); a click on a name shows that section, as ctrl+down steps
        to it (on_section_line_picked)."""
        self.query_one("#settings-sections", SectionLine).show(current)

    def on_section_line_picked(self, event: SectionLine.Picked) -> None:
        event.stop()
        if not self.refuse_while_broken("show a section"):
            self.form.show_section(event.section)

    def show_help(self, field: ConfigField | None) -> None:
        text = Text()
        focused = self.focused
        if self.broken:
            text.append(self.keys_named([("settings.reload", "reads the file again"), ("settings.open", "opens "
                                         "another config")]) + f"; {self.app.screen_keys()} switch screens")
        elif field is None and focused is not None and focused.id == "calc-target":
            text.append("Target steps\n", style="bold")
            text.append("Type a step count: the calculator shows the epochs that reach it; enter sets "
                        f"max_train_epochs to them ({self.key_does('settings.save', 'saves')}), esc leaves the box.")
        elif field is None:
            moves = self.keys_named([("settings.next_section", "to the next section"),
                                     ("settings.goto", "goes to a field by name")])
            panels = self.keys_named([("settings.vram", "the VRAM panel"), ("settings.vram_presets", "VRAM presets"),
                                      ("settings.target_steps", "target steps")])
            text.append(f"tab moves between fields, {moves}; with no field focused ("
                        f"{self.key_for('settings.leave_field') or 'esc'}): {self.app.screen_keys()} switch screens, "
                        f"{panels}")
        else:
            head, body = field.describe()  # a LyCORIS network_args field: its own text (lycoris_fields.py)
            text.append(head + "\n", style="bold")
            text.append(body)
            if field.spec.name in PATH_PICKS:
                text.append(f"  ({self.key_does('settings.pick_file', 'picks')})", style="italic")
        self.show_help_text(text)

    def show_help_text(self, text: Text) -> None:
        """``text`` in the help box, from its top; when it has more lines than the box shows (a LyCORIS
        argument's help at 80x24), its first line says how many more and the key that scrolls to them."""
        box = self.query_one("#settings-help-box")
        rows = int(box.styles.max_height.value) if box.styles.max_height is not None else HELP_ROWS
        width = box.content_region.width - 2  # the Static's padding
        if width > 0 and len(text.wrap(self.app.console, width)) > rows:
            head = len(text.plain.partition("\n")[0])  # the hint goes after it: seen before anything scrolls

            def with_hint(more: int) -> Text:
                hint = Text(f"  ({more} more line{'s' if more > 1 else ''}: "
                            f"{self.key_does('settings.help_down', 'scrolls')})", style="italic")
                return text[:head] + hint + text[head:]

            # counted with the hint in (it may take a row) and the scrollbar's column; as many digits: same rows
            text = with_hint(max(1, len(with_hint(9).wrap(self.app.console, width - 1)) - rows))
        self.query_one("#settings-help", Static).update(text)
        box.scroll_home(animate=False, immediate=True)

    def action_help_down(self) -> None:
        self.scroll_help(1)

    def action_help_up(self) -> None:
        self.scroll_help(-1)

    def scroll_help(self, step: int) -> None:
        """Page the help box (shift+down / shift+up): the next lines, back to its top after its end."""
        box = self.query_one("#settings-help-box")
        if not box.max_scroll_y:
            return
        page = max(1, box.scrollable_content_region.height - 1)  # one line kept: the reader's place
        if step > 0 and box.scroll_y >= box.max_scroll_y:
            box.scroll_home(animate=False, immediate=True)
        else:
            box.scroll_to(y=box.scroll_y + step * page, animate=False, immediate=True)

    def show_status(self) -> None:
        parts = []
        if self.path is None:
            parts.append(f"no config yet: {self.key_does('settings.save', 'creates')} {self.suggested.name} (as "
                         "`loratui config new`)")
        elif self.broken:  # the form holds defaults, not the file: nothing else to count
            more = f" (and {len(self.broken_lines) - 1} more, listed above)" if len(self.broken_lines) > 1 else ""
            prefix = f"{self.path}, "
            first = self.broken_lines[0] if self.broken_lines else self.broken
            first = first[len(prefix):] if first.startswith(prefix) else first
            fix = (self.key_does("settings.open", "opens a loratui config") if self.broken_foreign else
                   f"fix it in an editor: reloaded when saved ({self.key_does('settings.reload', 'now')})")
            self.query_one("#settings-status", Static).update(Text(
                f"{self.path.name} cannot be read: {first}{more} · {fix}"))
            return
        else:
            parts.append(self.path.name)
        changed, invalid = len(self.form.changed_fields()), len(self.form.invalid_fields())
        if invalid:
            parts.append(f"{invalid} invalid")
        problems = self.form.all_problems()
        if problems:  # the keys: each field shows its problem in full
            keys = self.form.problem_keys()
            parts.append(f"{len(problems)} problem(s) training refuses" + (f": {', '.join(keys)}" if keys else ""))
        if changed:
            parts.append(f"* {changed} changed")
        if self.family:
            parts.append(f"family {self.family}")
        if self.outside_note:  # after the counts: at 80x24 the two status lines cut its end, not them
            parts.append(self.outside_note)
        if self.draft_status():
            parts.append(self.draft_status())
        self.query_one("#settings-status", Static).update(Text(" · ".join(parts)))


    # ---- commands -------------------------------------------------------------------------------

    def palette_commands(self) -> list[PaletteCommand]:
        cmds = [PaletteCommand(title.format(screens=self.app.screen_keys()), self.key_note(binding_id, note),
                               getattr(self, f"action_{action}")) for title, binding_id, note, action in PALETTE]
        cmds += [PaletteCommand(f"config: show section {SECTION_TITLES.get(s, s)}", f"[{s}]",
                                lambda s=s: self.form.show_section(s)) for s in SECTIONS]
        return cmds

    # ---- keys named in texts: the user's keymap applied (the app's key_does) ----------------------

    def key_for(self, binding_id: str) -> str:
        return self.app.key_for(binding_id, self)

    def key_does(self, binding_id: str, does: str) -> str:
        return self.app.key_does(self, binding_id, does, next((t for t, b, *_ in PALETTE if b == binding_id),
                                                                       binding_id))

    def key_note(self, binding_id: str, note: str) -> str:
        """A palette command's help: its key, then ``note`` (": in place, ...")."""
        key = self.key_for(binding_id)
        return f"{key}{note}" if key else note.removeprefix(": ").strip() or "no key (keymap.toml)"

    def keys_named(self, pairs: list[tuple[str, str]]) -> str:
        return self.app.keys_named(self, pairs)
