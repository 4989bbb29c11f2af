"""The command palette (hunt s9, findings 8 and 9): the Settings VRAM panel's b/p/f/c are listed
wherever the focus is; every screen's main commands are offered on the others ("... (on Caption)"),
switching there first; `?` lists the commands that only the palette runs."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixtures.pilot_wait import until  # noqa: E402
from test_train_screen import make_app, make_project  # noqa: E402

from loratui.tui.palette import ELSEWHERE, LoratuiCommands, commands_for, elsewhere_commands, own_commands  # noqa: E402
from loratui.tui.screens.help import PALETTE_TITLE, collect_help  # noqa: E402


def run(tmp_path, scenario, size=(80, 24)) -> None:
    app = make_app(tmp_path, make_project(tmp_path))

    async def main():
        async with app.run_test(size=size) as pilot:
            await scenario(app, pilot)

    asyncio.run(main())


async def show(app, pilot, mode: str):
    await app.switch_mode(mode)
    await pilot.pause()
    await pilot.pause()
    return app.screen


async def search(app, query: str) -> list[str]:
    """The titles the palette's provider finds for ``query`` on the current screen, best first."""
    provider = LoratuiCommands(app.screen)
    hits = [hit async for hit in provider.search(query)]
    return [hit.text for hit in sorted(hits, key=lambda hit: -hit.score)]


def test_the_vram_panels_keys_are_in_the_settings_palette_though_it_is_not_focused(tmp_path):
    from loratui.tui.widgets.vram_panel import VramPanel

    async def scenario(app, pilot):
        screen = await show(app, pilot, "settings")
        panel = screen.query_one(VramPanel)
        assert not panel.has_focus
        commands = {c.title: c for c in commands_for(screen, app)}
        for binding in VramPanel.BINDINGS:  # every key of the panel has its command here
            assert any(getattr(c.run, "__name__", "") == f"action_{binding.action}" for c in commands.values()), \
                binding.action
        assert "vram: presets" in await search(app, "preset")
        assert {"vram: show breakdown", "vram: apply cheapest fix", "vram: card size"} <= set(await search(app, "vram"))
        assert len([t for t in commands if t == "steps: target steps"]) == 1  # screen and widget: listed once
        assert commands["vram: presets"].run == panel.action_presets  # the panel's own action, as p runs it
        commands["vram: show breakdown"].run()
        assert panel.show_breakdown

    run(tmp_path, scenario)


def test_each_screens_main_commands_are_offered_on_the_others_and_exist_there(tmp_path):
    async def scenario(app, pilot):
        for mode, titles in ELSEWHERE.items():
            screen = await show(app, pilot, mode)
            own = {c.title for c in own_commands(screen)}
            assert set(titles) <= own, set(titles) - own
            offered = {c.title for c in elsewhere_commands(app, mode)}
            assert not any(t.startswith(tuple(f"{x} (on" for x in titles)) for t in offered)  # not its own
        await show(app, pilot, "settings")
        found = await search(app, "resume")
        assert "caption: resume (on Caption)" in found
        assert found.index("train: resume the stopped run (on Train)") >= 0
        # the current screen's own commands rank before another screen's for the same text
        assert (await search(app, "config: save"))[0] == "config: save"

    run(tmp_path, scenario)


def test_a_command_of_another_screen_switches_there_then_runs(tmp_path):
    async def scenario(app, pilot):
        await show(app, pilot, "settings")
        command = next(c for c in elsewhere_commands(app, "settings")
                       if c.title == "caption: resume (on Caption)")
        ran = []
        from loratui.tui.screens.caption import CaptionScreen

        original = CaptionScreen.action_resume
        CaptionScreen.action_resume = lambda self: ran.append(self)
        try:
            await command.run()
            await until(pilot, lambda: ran, "caption: resume ran")
        finally:
            CaptionScreen.action_resume = original
        assert app.current_mode == "caption" and ran[0] is app.screen

    run(tmp_path, scenario)


def test_help_lists_the_commands_only_the_palette_runs(tmp_path):
    async def scenario(app, pilot):
        screen = await show(app, pilot, "caption")
        groups = {g.title: g for g in collect_help(screen)}
        assert PALETTE_TITLE in groups
        entries = {e.description: e for e in groups[PALETTE_TITLE].entries}
        assert "caption: resume" in entries and entries["caption: resume"].keys == "ctrl+p"
        assert "caption: start" not in entries  # ctrl+r runs it: listed with its key, not here
        assert list(groups)[-1] != PALETTE_TITLE  # the app's keys ("Everywhere") stay last
        screen = await show(app, pilot, "dataset")
        groups = {g.title: g for g in collect_help(screen)}
        assert "recipes: save the operations applied so far" in {e.description for e in groups[PALETTE_TITLE].entries}

    run(tmp_path, scenario)
