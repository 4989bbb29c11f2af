"""The Train screen's footer shows the keys that apply to the run it shows (80x24): no run: a Runs, s Start;
a live run: x Stop, w Save now, k Sample now (no r, e or s); a stopped or crashed run that can go on:
r Resume (no x); a finished run: e Extend. A key left out of the footer still says why it does not apply
when pressed, and the help screen (?) still lists every key of the screen."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent))

from textual.widgets import Footer  # noqa: E402
from textual.widgets._footer import FooterKey  # noqa: E402

from fixtures.pilot_wait import until  # noqa: E402
from test_train_refused_and_newest_state import write_state  # noqa: E402
from test_train_screen import make_app, make_project, pick, run_app, said, write_recorded  # noqa: E402

from loratui.core.events import _process_start, events_path, lock_path, make_event  # noqa: E402
from loratui.tui.screens.help import HelpScreen, collect_help  # noqa: E402
from loratui.tui.screens.run_picker import RunPicker  # noqa: E402
from loratui.tui.screens.train import TrainScreen  # noqa: E402
from loratui.tui.screens.train_footer import FOLLOWS_THE_RUN, FOOTER_KEYS, footer_phase  # noqa: E402

SCREEN_KEYS = {"a", "s", "x", "w", "k", "r", "e", "plus", "p"}  # those the footer may show
GLOBAL_KEYS = ["1", "2", "3", "4", "question_mark", "ctrl+p"]


def footer_keys(screen: TrainScreen) -> list[str] | None:
    """The keys the footer shows, left to right; None while one is not laid out whole inside 80 columns."""
    footer = screen.query_one(Footer)
    shown = [key for key in footer.query(FooterKey) if key.display]
    if not all(key.region.width and key.region.right <= footer.region.right == 80 for key in shown):
        return None
    return [key.key for key in shown]


async def footer_is(pilot, screen: TrainScreen, *keys: str) -> None:
    """The footer shows ``keys`` of the screen's (in this order), then the app's own, all of them."""
    expected = [*keys, *GLOBAL_KEYS]
    await until(pilot, lambda: footer_keys(screen) == expected, f"footer {expected}", timeout=10)


def live_run(out: Path, name: str, config: Path) -> None:
    """A run training now (this process holds its lock), at step 1 of 8, of ``config``."""
    out.mkdir(parents=True, exist_ok=True)
    events = [make_event("run_started", config=str(config), output_dir=str(out), output_name=name, model={},
                         dataset={}, schedule={"total_steps": 8, "epochs": 2}, resumed_from=None, pid=os.getpid()),
              make_event("step", step=1, total_steps=8, epoch=1, loss=0.5, avg_loss=0.5, lr=1e-3, images_per_s=2.0,
                         eta_s=1.0)]
    events_path(out, name).write_text("".join(json.dumps(e) + "\n" for e in events))
    lock_path(out, name).write_text(f"{os.getpid()} {_process_start(os.getpid()) or '-'}\n")


def test_no_run_shows_runs_and_start_only(tmp_path):
    config = make_project(tmp_path)

    async def scenario(pilot, screen: TrainScreen):
        await until(pilot, lambda: screen.offered, "arrived")
        await footer_is(pilot, screen, "a", "s")
        await pilot.press("x")  # not in the footer: still says why, as before
        await said(pilot, screen.app, lambda n: n.startswith("no run followed: a lists the runs"), "no run")

    run_app(make_app(tmp_path, config), scenario)


def test_a_live_run_shows_stop_save_sample_then_resume_once_it_stops(tmp_path):
    config = make_project(tmp_path)
    out = tmp_path / "out"
    live_run(out, "tiny", config.resolve())

    async def scenario(pilot, screen: TrainScreen):
        await until(pilot, lambda: screen.snapshot is not None and screen.snapshot.status == "live", "live")
        await footer_is(pilot, screen, "a", "x", "w", "k")
        await pilot.press("r")  # hidden, not dead: the reason is said
        await said(pilot, screen.app, lambda n: n == "cannot resume: tiny is still running", "still running")
        # the run stops gracefully: it saves its state, writes `finished` and lets go of its lock
        write_state(out / "tiny-state", 1)
        with events_path(out, "tiny").open("a") as events:
            events.write(json.dumps(make_event("checkpoint_saved", path=str(out / "tiny-state"), kind="state", step=1,
                                               epoch=1)) + "\n")
            events.write(json.dumps(make_event("finished", reason="stopped", step=1, epoch=1)) + "\n")
        lock_path(out, "tiny").unlink()
        await until(pilot, lambda: screen.snapshot.status == "finished", "stopped", timeout=10)
        await footer_is(pilot, screen, "a", "s", "r", "p")

    try:
        run_app(make_app(tmp_path, config), scenario)
    finally:
        lock_path(out, "tiny").unlink(missing_ok=True)


def test_a_finished_run_shows_extend_and_x_still_says_not_running(tmp_path):
    config = make_project(tmp_path)
    write_recorded(tmp_path)

    async def scenario(pilot, screen: TrainScreen):
        await pick(pilot, screen.app, "COMPLETED")
        await until(pilot, lambda: screen.snapshot and screen.snapshot.caught_up, "followed")
        await footer_is(pilot, screen, "a", "s", "e", "p")
        class_shown = {b.id for bound in TrainScreen._merged_bindings.key_to_bindings.values() for b in bound if b.show}
        assert class_shown & FOLLOWS_THE_RUN == FOOTER_KEYS["none"]  # another Train screen's footer is its own
        await pilot.press("x")
        await said(pilot, screen.app, lambda n: n == "tiny is not running", "not running")

        # ? lists every key of the screen, the ones the footer leaves out too
        await pilot.press("question_mark")
        help_screen = await until(pilot, lambda: isinstance(screen.app.screen, HelpScreen), "help")
        assert help_screen
        listed = {entry.binding_id for group in collect_help(screen) for entry in group.entries}
        assert {binding.id for binding in TrainScreen.BINDINGS} <= listed

    run_app(make_app(tmp_path, config), scenario)


def test_a_crashed_run_shows_resume_only_when_it_can(tmp_path):
    config = make_project(tmp_path)
    out = write_recorded(tmp_path, lines=20)  # steps, no `finished`, no lock: crashed

    async def scenario(pilot, screen: TrainScreen):
        await pick(pilot, screen.app, "CRASHED")
        await until(pilot, lambda: screen.snapshot and screen.snapshot.status == "crashed", "crashed")
        await footer_is(pilot, screen, "a", "s", "plus", "p")  # no state saved yet: r could not go on
        write_state(out / "tiny-state", 4)
        await pilot.press("a")  # followed again: the state is seen
        await pick(pilot, screen.app, "CRASHED")
        await until(pilot, lambda: screen.snapshot and screen.snapshot.state is not None, "the state read")
        await footer_is(pilot, screen, "a", "s", "r", "p")

    run_app(make_app(tmp_path, config), scenario)


def test_a_key_moved_by_the_keymap_is_the_one_the_footer_shows(tmp_path):
    config = make_project(tmp_path)
    write_recorded(tmp_path)
    (tmp_path / "k.toml").write_text('[keys]\n"train.extend" = "E"\n')

    async def scenario(pilot, screen: TrainScreen):
        await pick(pilot, screen.app, "COMPLETED")
        await until(pilot, lambda: screen.snapshot and screen.snapshot.caught_up, "followed")
        # Textual's keymap puts a moved key after the others
        await footer_is(pilot, screen, "a", "s", "p", "E")

    run_app(make_app(tmp_path, config), scenario)


def test_the_phases():
    never = lambda snapshot: False  # noqa: E731
    always = lambda snapshot: True  # noqa: E731
    run = lambda status, reason=None, earlier=0: SimpleNamespace(status=status, reason=reason,  # noqa: E731
                                                                 earlier=earlier)
    assert footer_phase(None, always) == "none" and footer_phase(run("reading"), always) == "none"
    assert footer_phase(run("starting"), always) == footer_phase(run("live"), always) == "live"
    assert footer_phase(run("ending"), always) == "ending"
    assert footer_phase(run("finished", "completed"), never) == "finished"
    assert footer_phase(run("finished", "completed", earlier=1), always) == "ended"  # read-only
    for ended in (run("finished", "stopped"), run("finished", "error"), run("crashed"), run("refused"),
                  run("stopped")):
        assert footer_phase(ended, always) == "resumable" and footer_phase(ended, never) == "ended"


def test_the_footer_fits_and_bindings_start_as_with_no_run():
    ids_to_keys = {binding.id: binding.key.split(",")[0] for binding in TrainScreen.BINDINGS}
    assert {ids_to_keys[i] for i in FOLLOWS_THE_RUN} == SCREEN_KEYS
    assert all(len(shown) <= 4 for shown in FOOTER_KEYS.values())
    # before the screen mounts, the class's bindings show what a screen with no run shows
    assert {b.id for b in TrainScreen.BINDINGS if b.show} == FOOTER_KEYS["none"]
