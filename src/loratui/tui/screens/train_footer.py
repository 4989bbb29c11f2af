"""The Train screen's footer follows the run it shows: a live run offers stop, save now and sample now;
a stopped or crashed run that can go on offers resume; a finished one extend; no run start and the runs.

``FollowedFooter`` is mixed into TrainScreen (screens/train.py), which calls ``follow_footer()`` whenever
the run it shows or that run's snapshot changes. Only the footer changes: a key left out of it still
runs its action (which says in one line why it does not apply now, as x on a crashed run says "not
running"), and the help screen (?) and the command palette still list every key. That is why this
toggles the screen's own copies of its bindings' ``show`` instead of answering False from
``check_action``: Textual's False also refuses the key and drops it from ``active_bindings`` (the help).
"""

from __future__ import annotations

from collections.abc import Callable

from loratui.core.errors import LoratuiError
from loratui.tui.widgets.textual_compat import show_bindings

# what the footer shows in each phase of the shown run (in the BINDINGS order): with 1-4, ? and ctrl+p they
# fit in 80 columns (44 of them for the screen's keys; the footer drops ctrl+p first when more are shown)
FOOTER_KEYS: dict[str, frozenset[str]] = {
    "none": frozenset({"train.pick_run", "train.start"}),  # no run, or one still being read in
    "live": frozenset({"train.pick_run", "train.stop", "train.save_now", "train.sample_now"}),
    "ending": frozenset({"train.pick_run", "train.zoom_in"}),  # wrote `finished`, exits: nothing to control
    "resumable": frozenset({"train.pick_run", "train.start", "train.resume", "train.promote"}),
    "finished": frozenset({"train.pick_run", "train.start", "train.extend", "train.promote"}),
    "ended": frozenset({"train.pick_run", "train.start", "train.zoom_in", "train.promote"}),  # cannot go on
}
FOLLOWS_THE_RUN = frozenset().union(*FOOTER_KEYS.values())  # the others keep the show= of their BINDINGS


def footer_phase(snapshot, resumable: Callable[[object], bool]) -> str:
    """Which keys apply to the run ``snapshot`` shows (None: none followed, or not read yet), a key of
    ``FOOTER_KEYS``. ``resumable(snapshot)``: whether r can continue it (asked only of an ended run)."""
    status = getattr(snapshot, "status", None)
    if status is None or status == "reading":
        return "none"
    if status in ("starting", "live"):
        return "live"
    if status == "ending":
        return "ending"
    if getattr(snapshot, "earlier", 0):  # an earlier run of the name, read-only: only the latest goes on
        return "ended"
    if status == "finished" and snapshot.reason in (None, "completed"):
        return "finished"  # e is shown with or without a state: pressed without one, it says how to keep one
    return "resumable" if resumable(snapshot) else "ended"


class FollowedFooter:
    """TrainScreen's footer, shown as ``FOOTER_KEYS`` says for its run (``self.run``, ``self.snapshot``)."""

    footer_shown: frozenset[str] | None = None

    def follow_footer(self) -> None:
        """Show the keys that apply to the shown run; the footer is redrawn only when they change."""
        snapshot = self.snapshot if self.run is not None else None
        shown = FOOTER_KEYS[footer_phase(snapshot, self.can_resume)]
        if shown == self.footer_shown:
            return
        self.footer_shown = shown
        show_bindings(self, FOLLOWS_THE_RUN, shown)  # this screen's own bindings: no other screen sees it
        self.refresh_bindings()

    def can_resume(self, snapshot) -> bool:
        """Whether r would continue the run (the service's check, whose reason r says when pressed)."""
        try:
            return bool(self.service.check_resumable(snapshot))
        except (LoratuiError, OSError):
            return False
