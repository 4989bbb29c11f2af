"""The Caption screen's hint line: what the focused field is for, or what is wrong with its value.

A mixin of CaptionScreen (screens.caption), kept apart so each file stays readable: it expects the
screen's ``#caption-help`` line, its ``OptionsForm`` parts, ``#caption-form`` and ``sample_problem()``.
Keys are named as keymap.toml binds them (``hint_keys``), in the hints and in the run panel.
"""

from __future__ import annotations

import re
from pathlib import Path

from textual.widgets import Input, Static

from loratui.tui.widgets.caption_form import OptionsForm

# The hint line under the form: at most 3 lines at 80 columns, the Esc note of a text field included
# (a test checks every field).
# {screens} and the like: the keys of the user's keymap (``hint_keys``; ``DEFAULT_HINT_KEYS`` without one).
MODEL_HELP = {
    "caption-form": "Up/Down go on from the field you left; {screens} switch screens, {help} lists every key.",
    "captioner": "WD14: booru tags from an ONNX tagger (onnxruntime). BLIP / BLIP-2 / GIT: sentences "
                 "(transformers and torch). {switch}.",
    "found-models": "Models in loratui's model store ({store}), the project's models/ folder and the Hugging "
                    "Face cache; choosing one fills the folder. {find}.",
    "model-folder": "WD14: a folder with model.onnx + selected_tags.csv. BLIP / BLIP-2 / GIT: a Hugging Face "
                    "model folder (config.json, weights, tokenizer). {model}.",
    "model-download": "A Hugging Face repo id, downloaded when it is not on disk yet (needs the network); "
                      "used instead of the folder only when filled.",
    "dry-sample": "How many images a dry run ({dry_run}) captions, shown next to their current caption; "
                  "empty for all. A dry run writes nothing.",
}
ESC_NOTE_TEMPLATE = "{leave} leaves the field, so that {screens} switch screens."
DEFAULT_HINT_KEYS = {"screens": "1-4", "help": "?", "switch": "ctrl+b switches", "find": "ctrl+l looks again",
                     "model": "ctrl+o comes here", "dry_run": "ctrl+t", "leave": "Esc"}
ESC_NOTE = ESC_NOTE_TEMPLATE.format(**DEFAULT_HINT_KEYS)


# "/path/to/model.onnx: what is wrong: what to do": a path (absolute, ~, ./, or a drive) before the first ": "
_LEADING_PATH = re.compile(r"(?P<path>(?:~|/|\.{1,2}/|[A-Za-z]:[\\/])[^\n]*?): (?=\S)")


def problem_first(line: str) -> str:
    """A model check problem with the path it starts with moved to a line of its own at the end: at 80x24
    the check line has ~57 columns, and a long model path first left no room for what is wrong and what
    to do (hunt h4). Lines that do not start with a path are kept as they are."""
    from loratui.tui.services.caption_models import short_path

    match = _LEADING_PATH.match(line)
    if match is None or not line[match.end():].strip():
        return line
    return f"{line[match.end():]}\n{short_path(Path(match.group('path')))}"


class CaptionHints:
    """The hint line under the Caption form (see the module doc)."""

    def hint(self, widget) -> str:
        """The hint line for a focused widget: its help (or what is wrong with its value), and for a
        text field how to leave it (number keys type digits there)."""
        while widget is not None and widget is not self and not widget.id:
            widget = widget.parent
        wid = getattr(widget, "id", None) or ""
        keys = self.hint_keys()
        text = MODEL_HELP.get(wid, "")
        if wid == "found-models":
            from loratui.captioners.store import store_root
            from loratui.tui.services.caption_models import short_path

            text = text.format(store=short_path(store_root()), **keys)
        else:
            text = text.format(**keys)
        for form in self.query(OptionsForm):
            field = form.by_widget_id.get(wid)
            if field is not None:
                text = field.help
        problem = self._value_problem(widget)
        text = f"{problem}." if problem else text
        if isinstance(widget, Input):
            esc_note = ESC_NOTE_TEMPLATE.format(**keys)
            text = f"{text} {esc_note}" if text else esc_note
        return text

    def hint_keys(self) -> dict[str, str]:
        """The keys the hints name, as the user's keymap binds them (a palette command for a key it left
        none): the MODEL_HELP and ESC_NOTE_TEMPLATE fields."""
        app = self.app

        def does(binding_id: str, what: str, title: str) -> str:
            return app.key_does(self, binding_id, what, title)

        leave = app.key_for("caption.leave_field", self)
        return {"screens": app.screen_keys(), "help": app.keys_words("app.help") or "'app: help' (ctrl+p)",
                "switch": does("caption.switch_captioner", "switches", "caption: switch WD14 / BLIP"),
                "find": does("caption.find_models", "looks again", "caption: find models again"),
                "model": does("caption.model", "comes here", "caption: choose the model folder"),
                "dry_run": app.key_for("caption.dry_run", self) or "'caption: dry run' (ctrl+p)",
                "leave": "Esc" if leave in ("esc", "") else leave}

    def run_panel_keys(self) -> dict[str, str]:
        """The keys the run panel names (widgets.caption_progress ``DEFAULT_KEYS``), from the user's keymap."""
        app = self.app

        def key(binding_id: str, title: str) -> str:
            return app.key_for(binding_id, self) or f"'{title}' (ctrl+p)"

        hints = self.hint_keys()
        return {"start": key("caption.start", "caption: start"), "dry_run": hints["dry_run"],
                "cancel": key("caption.cancel", "caption: cancel"), "leave": hints["leave"],
                "screens": hints["screens"], "undo_in_app": app.dataset_undo()}

    def _show_hint(self, widget) -> None:
        """The hint line for ``widget``, in the error colour when it names a problem with the value."""
        help_line = self.query_one("#caption-help", Static)
        help_line.update(self.hint(widget))
        help_line.set_class(self._value_problem(widget) is not None, "bad")

    def _value_problem(self, widget) -> str | None:
        """What is wrong with the value typed in ``widget`` (one line naming the field), or None."""
        wid = getattr(widget, "id", None) or ""
        if wid == "dry-sample":
            return self.sample_problem()
        for form in self.query(OptionsForm):
            field = form.by_widget_id.get(wid)
            if field is not None:
                return form.check(field)
        return None

    def on_descendant_focus(self, event) -> None:
        self._show_hint(event.widget)
        self.call_after_refresh(self._keep_focused_in_view)

    def _keep_focused_in_view(self) -> None:
        """Scroll the focused field into view once the layout settles: Textual scrolls to it at the
        moment of focus, before anything the focus changes (the hint line) has been laid out."""
        focused = self.focused
        if focused is not None and self.query_one("#caption-form") in focused.ancestors:
            focused.scroll_visible(animate=False)

    def refresh_hint(self, changed: Input) -> None:
        """Values are checked as they are typed: the field is marked and the hint line says why."""
        if changed.id == "dry-sample":
            changed.set_class(self.sample_problem() is not None, "bad")
        elif not any(changed.id in form.by_widget_id for form in self.query(OptionsForm)):
            return
        if changed.has_focus:
            self._show_hint(changed)
