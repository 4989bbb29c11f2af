"""The preview of a bulk change on the Dataset screen, without captions for images that cannot be loaded.

A bulk "add a tag" (a paste, a recipe) over images without a caption makes a caption file for each.
For an image sd-scripts cannot load (0 bytes, a corrupt or cut header) that file would only hide the
problem the scan reports, so, as `loratui tags add` does, such captions are left out of the plan and
the preview names the images. Only images that would get a new caption file are probed (headers only,
in a worker), so a change to captioned images opens its preview as before. The preview with the
note is screens.noted_plan_preview (imported when needed: the Dataset screen's first frame waits for
its imports).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import os

SHOWN_UNREADABLE = 5  # images named in the note (then "and N more")


def unreadable_note(broken: dict[Path, list[Path]], root: Path) -> str:
    """One line: how many unreadable images were left out, a few of them by name, and where to look."""
    images = [image for found in broken.values() for image in found]
    names = []
    for image in images[:SHOWN_UNREADABLE]:
        text = os.path.relpath(image, root) if Path(root) in Path(image).parents else str(image)
        names.append(text if text.isprintable() else text.encode("unicode_escape").decode("ascii"))
    more = f" and {len(images) - SHOWN_UNREADABLE:,} more" if len(images) > SHOWN_UNREADABLE else ""
    return (f"left out {len(images):,} unreadable image(s), no caption file made for them: {', '.join(names)}{more} "
            "(sd-scripts cannot load them; p on the table shows why: fix or remove them)")


class BulkPreview:
    """Mixin of the Dataset screen (needs ``store``, ``start_busy``, ``end_busy``): ``preview_plan``."""

    def preview_plan(self, plan, replan: Callable[[set[Path]], object], title: str,
                     apply: Callable[[object], None]) -> None:
        """Show ``plan`` and call ``apply(plan)`` if the user goes ahead. When it would make new caption
        files, their images are probed first (a worker) and ``replan(left_out)`` plans again without
        the caption files of images that cannot be loaded; the preview names those images."""
        from loratui.tui.screens.noted_plan_preview import NotedPlanPreview
        from loratui.tui.screens.plan_preview import PlanPreviewScreen
        from loratui.tui.services.work import run_in_thread

        def show(out) -> None:
            final, notes = out
            screen = NotedPlanPreview(final, self.store.root, title, notes) if notes else \
                PlanPreviewScreen(final, self.store.root, title)
            self.app.push_screen(screen, lambda go: go and apply(final))

        new_files = sum(1 for edit in plan.edits if edit.new_file)
        if not new_files:
            show((plan, []))
            return

        def work():
            broken = self.store.unreadable_new_captions(plan)
            if not broken:
                return plan, []
            return replan(set(broken)), [unreadable_note(broken, self.store.root)]

        def done(out) -> None:
            self.end_busy()
            show(out)

        def failed(exc: BaseException) -> None:
            from loratui.tui.services.work import report_failure

            self.end_busy()
            report_failure(self.app, title, exc)

        self.start_busy(f"checking the {new_files:,} image(s) that would get a new caption…")
        run_in_thread(self, work, done=done, failed=failed, what=title)
