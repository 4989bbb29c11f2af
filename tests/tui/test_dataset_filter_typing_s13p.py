"""Typing in the Dataset filter box never waits for a filter on a big dataset (s13 hunt h14: 20,000 images,
110-214 ms of filtering on the UI thread per key): the filter runs in a worker after a pause in the
typing, the newest text winning, and its rows are exactly what the filter gives at once on a small one."""

from __future__ import annotations

from test_dataset_screen import run, until

from loratui.tui.screens import dataset as dataset_screen


def test_a_big_dataset_filters_after_the_typing_pauses_with_the_same_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(dataset_screen, "SYNC_FILTER_ROWS", 0)  # every dataset counts as big here

    async def scenario(app, pilot, img):
        scr = app.screen
        calls = []
        real = app.store.filter
        app.store.filter = lambda text, concept=None: calls.append(text) or real(text, concept)
        await pilot.press("slash", *"tag:solo")
        assert calls == [] or calls == ["tag:solo"]  # no filter per key: one, once the typing paused
        await until(pilot, lambda: not scr.filter_pending)
        assert calls == ["tag:solo"]
        expected = [id(r) for r in real("tag:solo").rows]
        assert [id(r) for r in scr.shown] == expected and len(expected) < len(app.store.rows)
        assert [id(r) for r in scr.table.rows] == expected

        # a result that arrives after more typing is dropped: the newest text wins
        scr.filter_text = "tag:solo"
        scr.filter_typed()
        scr.filter_text = "missing"  # typed on before the worker started
        scr.filter_typed()
        await until(pilot, lambda: not scr.filter_pending)
        assert [id(r) for r in scr.shown] == [id(r) for r in real("missing").rows]
        scr.filter_text = "tag:solo"  # put back as the box says it

        # Enter applies what the box says at once: the keys after it are for the table
        await pilot.press("backspace", "backspace", "backspace", *"olo")
        await pilot.press("enter")
        assert not scr.filter_pending and [id(r) for r in scr.shown] == expected

    run(tmp_path, scenario)


def test_the_filter_sees_a_caption_changed_on_its_row(tmp_path):
    async def scenario(app, pilot, img):
        store = app.store
        row = store.rows[0]
        assert not store.filter("zzz-new-word").rows
        row.caption = store.reread([row.caption_file])[row.caption_file]  # the same text, a new object
        (row.caption_file).write_text("zzz-new-word, solo\n", encoding="utf-8")
        row.caption = store.reread([row.caption_file])[row.caption_file]  # swapped in place, as a conflict does
        assert store.filter("zzz-new-word").rows == [row]
        assert store.filter(f"{row.folder}/{row.name[:3]}".upper()).rows[0] is store.rows[0]

    run(tmp_path, scenario)
