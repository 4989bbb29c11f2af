"""Tags selected in the Dataset screen's tag list are what d and Enter act on; r refuses several; `*`
selects tags there as ctrl+a does (s12 navigation user-test: both acted on the cursor tag only, and `*`
selected every image)."""

from __future__ import annotations

from fixtures.pilot_wait import until
from fixtures.tui_dataset import make_dataset, run_dataset_app

from loratui.tui.screens.plan_preview import PlanPreviewScreen


def _captions(img) -> dict[str, str]:
    return {p.relative_to(img).as_posix(): p.read_text(encoding="utf-8") for p in sorted(img.rglob("*.txt"))}


async def _tag_list(app, pilot):
    await pilot.press("t")
    await until(pilot, lambda: app.focused is not None and app.focused.id == "freq-table", "the tag list")
    return app.screen.query_one("#tags-pane")


async def _select(pilot, pane, tags: list[str]) -> None:
    for tag in tags:
        pane.table.move_cursor_to_key(tag)
        await pilot.press("space")
    await pilot.pause()


def test_d_removes_every_selected_tag_in_one_preview_and_one_undo(tmp_path):
    img = make_dataset(tmp_path / "proj") / "img"
    before = _captions(img)

    async def scenario(app, pilot):
        pane = await _tag_list(app, pilot)
        await _select(pilot, pane, ["glasses", "smile"])
        assert sorted(pane.selected_tags) == ["glasses", "smile"]
        summary = str(pane.query_one("#freq-summary").render())
        assert "2 selected: d and ⏎ act on them" in summary
        pane.table.move_cursor_to_key("solo")  # the cursor elsewhere: the selection is what d removes
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, PlanPreviewScreen), "one preview")
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, PlanPreviewScreen), "applied")
        await until(pilot, lambda: "glasses" not in _captions(img)["5_bob/b01.txt"], "written")
        after = _captions(img)
        assert after["5_bob/b01.txt"] == "bob, 1boy, solo, simple background\n"
        assert after["10_alice/a01.txt"] == "alice, 1girl, solo, long hair, outdoors\n"
        assert all("solo" in text for name, text in after.items() if "solo" in before[name])
        app.screen.table.focus()
        await pilot.press("ctrl+z")  # one undo puts both back
        await until(pilot, lambda: _captions(img) == before, "undone in one step")

    run_dataset_app(tmp_path, img.parent, scenario)


def test_enter_shows_images_with_any_selected_tag_and_r_refuses_several(tmp_path):
    img = make_dataset(tmp_path / "proj") / "img"

    async def scenario(app, pilot):
        pane = await _tag_list(app, pilot)
        await _select(pilot, pane, ["glasses", "long hair"])
        await pilot.press("r")
        await pilot.pause()
        assert type(app.screen).__name__ == "DatasetScreen"  # no rename form
        assert any(n.message == "rename takes one tag and 2 are selected: ctrl+d clears the selection, then rename one "
                   "at a time, or d removes all 2"
                   for n in app._notifications)
        pane.table.focus()
        await pilot.press("enter")
        await until(pilot, lambda: sorted(r.name for r in app.screen.shown) == ["a01.png", "b01.png"],
                    "images holding either tag")
        assert app.screen.query_one("#filter").value == 'tag:glasses or tag:"long hair"'

    run_dataset_app(tmp_path, img.parent, scenario)


def test_star_in_the_tag_list_selects_tags_not_images(tmp_path):
    img = make_dataset(tmp_path / "proj") / "img"

    async def scenario(app, pilot):
        pane = await _tag_list(app, pilot)
        await pilot.press("asterisk")
        await pilot.pause()
        assert pane.table.selected_count == len(pane.table.rows) > 1
        assert app.screen.table.selected_count == 0  # the image table is untouched
        await pilot.press("ctrl+d")
        await pilot.press("ctrl+a")
        await pilot.pause()
        assert pane.table.selected_count == len(pane.table.rows)

    run_dataset_app(tmp_path, img.parent, scenario)


def test_one_selected_tag_is_the_one_d_acts_on(tmp_path):
    img = make_dataset(tmp_path / "proj") / "img"

    async def scenario(app, pilot):
        pane = await _tag_list(app, pilot)
        await _select(pilot, pane, ["glasses"])
        pane.table.move_cursor_to_key("solo")
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, PlanPreviewScreen), "the preview")
        await pilot.press("enter")
        await until(pilot, lambda: "glasses" not in _captions(img)["5_bob/b01.txt"], "glasses removed")
        assert "solo" in _captions(img)["5_bob/b01.txt"]

    run_dataset_app(tmp_path, img.parent, scenario)
