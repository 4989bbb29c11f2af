"""The keys the app names in its texts, mixed into LoratuiApp: hints, toasts, the help screen and the
palette say the key the user's keymap.toml binds (any of them may be moved), or the palette command
that does the same where the keymap left no key."""

from __future__ import annotations

from loratui.tui.palette import PaletteCommand

SCREEN_TITLES = {"dataset": "Dataset", "caption": "Caption", "settings": "Settings", "train": "Train"}


def screen_command_title(mode: str) -> str:
    """The palette command that shows screen ``mode`` (named where the keymap left it no key)."""
    return f"app: show {SCREEN_TITLES[mode]} screen"


class AppKeys:
    """Mixin for LoratuiApp (an App with ``_bindings``, the applied ``_keymap`` and the actions the
    palette commands run)."""

    def key_for(self, binding_id: str, node=None) -> str:
        """The key that runs ``binding_id`` among ``node``'s bindings (the app's own by default; a screen or
        widget class for one not built yet); "" when the keymap left it none. Hints and messages name keys
        through this, so a moved key is the one named."""
        return next(iter(self.keys_for(binding_id, node)), "")

    def keys_for(self, binding_id: str, node=None) -> list[str]:
        """Every key that runs ``binding_id`` (as ``key_for``): ["?", "f1"] for the help."""
        from loratui.tui.services.keymap import class_bindings, keys_in

        node = self if node is None else node
        bindings = class_bindings(node) if isinstance(node, type) else node._bindings
        return keys_in(bindings, getattr(self, "_keymap", None), binding_id)

    def keys_words(self, binding_id: str, node=None) -> str:
        """"? or f1": every key of ``binding_id`` in words; "" without one."""
        from loratui.tui.services.keymap import or_words

        return or_words(self.keys_for(binding_id, node))

    def key_does(self, node, binding_id: str, does: str, title: str) -> str:
        """"ctrl+s saves" with the bound key; without one, the palette command ``title`` that does it."""
        key = self.key_for(binding_id, node)
        return f"{key} {does}" if key else f"'{title}' (ctrl+p) {does}"

    def dataset_undo(self) -> str:
        """How to undo the last caption change from another screen, with the keymap's keys: "1 (Dataset)
        then ctrl+z"; a palette command stands for a key the keymap left none."""
        dataset = self.key_for("app.dataset") or f"'{screen_command_title('dataset')}' (ctrl+p)"
        return f"{dataset} (Dataset) then {self.dataset_undo_key()}"

    def dataset_undo_key(self) -> str:
        """The Dataset screen's undo key ("ctrl+z"), or its palette command where the keymap left none."""
        from loratui.tui.screens.dataset import DatasetScreen

        return self.key_for("dataset.undo", DatasetScreen) or "'tags: undo the last change' (ctrl+p)"

    def screen_key_does(self, mode: str, does: str) -> str:
        """"3 opens Settings" with the key that shows screen ``mode``; else its palette command."""
        return self.key_does(self, f"app.{mode}", does, screen_command_title(mode))

    def keys_named(self, node, pairs) -> str:
        """"v the VRAM panel, p VRAM presets" from (binding id, what it does), for the actions with a key."""
        return ", ".join(f"{key} {what}" for key, what in ((self.key_for(b, node), what) for b, what in pairs)
                         if key)

    def screen_keys(self) -> str:
        """"1-4" as the keys that show the four screens (the user's keymap may move them)."""
        keys = [self.key_for(f"app.{mode}") for mode in SCREEN_TITLES]
        return "1-4" if keys == ["1", "2", "3", "4"] else "/".join(key or "-" for key in keys)

    def palette_commands(self) -> list[PaletteCommand]:
        """The app's commands, each with the key keymap.toml gives it (or "no key")."""
        def key_note(binding_id: str, prefix: str = "") -> str:
            keys = self.keys_words(binding_id)
            return f"{prefix}{keys}" if keys else "no key (keymap.toml)"

        cmds = [PaletteCommand(screen_command_title(mode), key_note(f"app.{mode}", "key "),
                               lambda m=mode: self.action_show_screen(m)) for mode in SCREEN_TITLES]
        cmds += [
            PaletteCommand("app: help (keys of this screen)", key_note("app.help"), self.action_help),
            PaletteCommand("app: quit", key_note("app.quit"), self.action_quit),
        ]
        cmds += [PaletteCommand(f"preview: {mode}", "image preview mode, remembered",
                                lambda m=mode: self.set_preview_mode(m))
                 for mode in ("auto", "kitty", "sixel", "halfblock", "off")]
        return cmds + self._theme_commands()
