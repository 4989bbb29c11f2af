"""The Train screen's keys as the run service's lines name them ("r resumes from step 7", "s starts a new
run"): the key keymap.toml binds, through the app's lookup (app.key_for), else the palette command that
does it. A service or run built without the app (a test, a service of its own) names the screen's
default keys. Called from the follower thread too: it only reads the bindings and the keymap.
"""

from __future__ import annotations


class TrainKeys:
    """``key("train.resume")`` -> "r" (or the palette command), ``does("train.start", "starts a new run")``."""

    def __init__(self, app=None):
        self.app = app

    def key(self, binding_id: str) -> str:
        from loratui.tui.screens.train import TrainScreen
        from loratui.tui.screens.train_checkpoints import PALETTE_TITLES

        key_for = getattr(self.app, "key_for", None)
        if callable(key_for):
            key = key_for(binding_id, TrainScreen)
        else:  # no app: the screen's own bindings, no keymap
            from loratui.tui.services.keymap import class_bindings, key_in

            key = key_in(class_bindings(TrainScreen), None, binding_id)
        return key or f"'{PALETTE_TITLES.get(binding_id, binding_id)}' (ctrl+p)"

    def does(self, binding_id: str, does: str) -> str:
        return f"{self.key(binding_id)} {does}"
