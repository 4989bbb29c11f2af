"""A bulk write says "writing N caption(s)…" in the status line until it ends, even while the
cursor moves (hunt9: 5,000 captions took 4 s with nothing on screen but a changing problem count)."""

from __future__ import annotations

import threading

from loratui.core.captions import AddTags
from tests.tui.test_dataset_screen import run, until


def test_the_status_line_says_a_write_runs_until_it_ends(tmp_path):
    async def scenario(app, pilot, img):
        screen = app.screen
        release = threading.Event()
        original = app.store.apply_entry

        def slow(plan, description=""):
            release.wait(10)
            return original(plan, description)

        app.store.apply_entry = slow
        screen.run_bulk_op(AddTags(["zzz"]), "add a tag", (list(app.store.rows), "all"))
        await until(pilot, lambda: type(app.screen).__name__ == "PlanPreviewScreen")
        await pilot.press("enter")
        status = lambda: str(screen.query_one("#status").render())  # noqa: E731
        await until(pilot, lambda: "writing 6 caption(s)…" in status())
        await pilot.press("down", "down")  # the cursor moves: the line still says it
        await pilot.pause()
        assert status().startswith("writing 6 caption(s)…")
        release.set()
        await until(pilot, lambda: "writing" not in status())
        assert (img / "10_alice" / "a01.txt").read_text().rstrip().endswith(", zzz")

    run(tmp_path, scenario)
