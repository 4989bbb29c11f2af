"""What Tab and Enter do in the bulk forms (screens.bulk_op), kept beside the form.

A user-tester (hunt s14) lost a tag to Enter: in Replace, Enter in *Old* applied the form with *New*
empty (a removal), and the new name typed next went to the preview, whose ``y`` applied it. And the
box completed a tag faintly while Tab moved on and Enter used the typed prefix. So:

- ``TagSuggesterBox``: a tag box whose Tab (and Enter, through ``enter_step``) takes the suggestion
  shown, as the tag editor's box does; the footer names Tab while a suggestion is shown. Nothing is
  suggested when the typed item is a tag already (any spelling, ``TagVocab.key``): ``hat`` stays
  ``hat`` even when ``hat_ornament`` exists, as the editor's list puts the exact tag first.
- ``enter_step``: Enter in *Old* with *New* empty moves to *New*; a suggestion shown is taken first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from textual.actions import SkipAction
from textual.binding import Binding, BindingType
from textual.widgets import Input

from loratui.core.captions import TagVocab
from loratui.tui.widgets.form_controls import BulkToggle, LastItemSuggester
from loratui.tui.widgets.textual_compat import input_suggestion, watch_input_suggestion

if TYPE_CHECKING:
    from textual.screen import Screen

REMOVE_TOGGLE_ID = "bulk-remove"  # the replace form's explicit "New empty: remove Old" choice


class KnownTagSuggester(LastItemSuggester):
    """LastItemSuggester that offers nothing when the last item is itself a known tag: Enter takes
    what is shown, so a whole tag typed must not grow into a longer one."""

    async def get_suggestion(self, value: str) -> str | None:
        stem = value.rpartition(",")[2].lstrip()
        if not stem:
            return None
        try:
            candidates = self.known_tags(stem)[:50]
        except Exception:  # noqa: BLE001 - a completion source must never break typing
            return None
        key = TagVocab.key(stem)
        if any(TagVocab.key(tag) == key for tag in candidates):
            return None
        for tag in candidates:
            if tag != stem and tag.startswith(stem):
                return value[: len(value) - len(stem)] + tag
        return None


class TagSuggesterBox(Input):
    """A bulk form's tag box: Tab takes the suggestion shown (faint after the cursor), else moves on."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "take_suggestion", "Complete", id="bulk.complete",
                tooltip="Put the suggested tag (shown faint after the cursor) into the box; Enter and Right "
                        "at the end do too. With no suggestion Tab moves to the next field"),
    ]

    def __init__(self, *args, known_tags: Callable[[str], list[str]] | None = None, **kwargs) -> None:
        super().__init__(*args, suggester=KnownTagSuggester(known_tags) if known_tags else None, **kwargs)

    @property
    def suggestion_shown(self) -> bool:
        """A suggestion is drawn after the cursor (what Input draws: focused, longer than the text)."""
        suggestion = input_suggestion(self)
        return (self.has_focus and len(suggestion) > len(self.value) and suggestion.startswith(self.value)
                and self.cursor_at_end and self.selection.is_empty)

    def take_suggestion(self) -> bool:
        """Put the suggestion shown into the box; False when none is shown."""
        if not self.suggestion_shown:
            return False
        self.value = input_suggestion(self)
        self.cursor_position = len(self.value)
        return True

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "take_suggestion":  # hidden from the footer, and Tab moves on, when none is shown
            return self.suggestion_shown
        return super().check_action(action, parameters)

    def action_take_suggestion(self) -> None:
        if not self.take_suggestion():
            raise SkipAction()  # the suggestion went meanwhile: Tab moves on

    def on_mount(self) -> None:
        # the footer's "tab Complete" comes and goes with the suggestion
        watch_input_suggestion(self, self.refresh_bindings)


def enter_step(screen: Screen, kind: str) -> bool:
    """What Enter does in a bulk form before it applies: take the suggestion shown in the focused box,
    or (Replace) go from *Old* to *New* while *New* is empty and removing is not chosen. True: Enter
    did that, the form is not applied."""
    focused = screen.focused
    if isinstance(focused, TagSuggesterBox) and focused.take_suggestion():
        return True
    if kind == "replace" and isinstance(focused, Input) and focused.id == "bulk-old":
        new = screen.query_one("#bulk-new", Input)
        removing = screen.query_one(f"#{REMOVE_TOGGLE_ID}", BulkToggle).value
        if not new.value.strip() and not removing:
            screen.set_focus(new)  # now, not after the refresh (focus()): the keys typed next go to New
            return True
    return False
