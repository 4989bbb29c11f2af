"""The Train screen's log pane shows the followed run's own launch (NAME.log holds one section per launch
of the app, headed by its launch time), never an earlier launch's lines: a run started in a shell has
no section and says where its output is. ``LaunchLog`` keeps the sections' places as the log grows."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixtures.pilot_wait import until  # noqa: E402
from test_train_screen import make_app, make_project, pick, run_app, write_recorded  # noqa: E402

from loratui.core.events import events_path, log_path  # noqa: E402
from loratui.tui.screens.train import TrainScreen  # noqa: E402
from loratui.tui.services import followed_run  # noqa: E402
from loratui.tui.services.followed_run import FollowedRun, LaunchLog, log_header  # noqa: E402


def launched_run(tmp_path) -> tuple[Path, Path, float]:
    """The recorded run, its run_started saying when its process was launched (as the engine writes it)."""
    config = make_project(tmp_path)
    out = write_recorded(tmp_path)
    path = events_path(out, "tiny")
    events = [json.loads(line) for line in path.read_text().splitlines()]
    launched = round(events[0]["time"] - 5.0, 3)
    events[0]["launched_at"] = launched
    path.write_text("".join(json.dumps(event) + "\n" for event in events))
    return config, out, launched


def run_log(screen) -> str:
    return str(screen.query_one("#run-log").render())


def test_a_shell_run_says_where_its_output_is_not_an_earlier_launchs_log(tmp_path):
    config, out, launched = launched_run(tmp_path)
    # the app launched a run before this one (stopped at once): its section is the log's last
    log_path(out, "tiny").write_text(log_header(launched - 600, "loratui train config.toml") + "\naborted\n")

    async def scenario(pilot, screen: TrainScreen):
        await pick(pilot, screen.app, "COMPLETED")
        snapshot = await until(pilot, lambda: screen.snapshot and screen.snapshot.caught_up and screen.snapshot,
                               "caught up")
        assert snapshot.log_tail == ()
        assert snapshot.log_note.startswith("started outside the app: its output is in the terminal that ran it")
        text = run_log(screen)
        assert "aborted" not in text and "---" not in text
        lines = text.splitlines()
        assert lines[0].startswith("started outside the app") and lines[-1].startswith("completed at step 48")

    run_app(make_app(tmp_path, config), scenario)


def test_a_run_the_app_launched_shows_its_own_section_not_a_later_launchs(tmp_path):
    config, out, launched = launched_run(tmp_path)
    log_path(out, "tiny").write_text(
        log_header(launched - 900, "loratui train config.toml") + "completed: 13 step(s)\n"
        + log_header(launched, "loratui train config.toml") + "step 48/48\ncompleted: 48 step(s)\n"
        + log_header(launched + 700, "loratui train config.toml") + "\naborted\n")  # refused, no events

    async def scenario(pilot, screen: TrainScreen):
        await pick(pilot, screen.app, "COMPLETED")
        snapshot = await until(pilot, lambda: screen.snapshot and screen.snapshot.caught_up and screen.snapshot,
                               "caught up")
        assert snapshot.log_note is None
        assert snapshot.log_tail[1:] == ("step 48/48", "completed: 48 step(s)")
        text = run_log(screen)
        assert "completed: 48 step(s)" in text and "aborted" not in text and "13 step(s)" not in text

    run_app(make_app(tmp_path, config), scenario)


def test_the_launch_of_the_app_counts_until_the_run_writes_its_own(tmp_path):
    """Launched here (a resume: the events are the last session's until its run_started): this launch's
    section; once a later session's run_started says another launch (a shell's), that one's."""
    log_path(tmp_path, "tiny").write_text(log_header(1000.0, "a") + "old\n" + log_header(5000.2, "b") + "mine\n")
    run = FollowedRun(tmp_path, "tiny")
    run.record.feed({"event": "run_started", "time": 1002.0, "launched_at": 1000.5, "config": "c.toml"})
    assert run.log_lines(20) == ([log_header(1000.0, "a").rstrip(), "old"], None)
    run.launched_at = 5000.25
    assert run.log_lines(20)[0][1:] == ["mine"]
    run.record.feed({"event": "run_started", "time": 9002.0, "launched_at": 9000.0, "config": "c.toml"})
    lines, note = run.log_lines(20)
    assert lines == [] and note.startswith("started outside the app")


def test_launch_log_finds_sections_as_the_log_grows(tmp_path, monkeypatch):
    monkeypatch.setattr(followed_run, "LOG_SCAN_CHUNK", 64)  # lines longer than a chunk, headers across chunks
    path = tmp_path / "tiny.log"
    log = LaunchLog(path)
    assert log.section_of(100.0, 5) is None  # no log yet
    progress = "\r".join(f"[###] step {i}/900" for i in range(1, 40)) + "\n"  # progress redrawn on one line
    path.write_text(log_header(100.0, "first") + progress + "done first\n")
    assert log.section_of(100.9, 5)[1:] == ["[###] step 39/900", "done first"]
    assert log.section_of(300.0, 5) is None
    with path.open("a") as handle:  # the next launch, its last line still being written
        handle.write(log_header(301.0, "second") + "loading\npartial")
    assert log.section_of(300.0, 5) == [log_header(301.0, "second").rstrip(), "loading", "partial"]  # +1 s: old headers
    assert log.section_of(100.0, 5)[-1] == "done first"  # the first ends where the second begins
    with path.open("a") as handle:
        handle.write(" line\n" + log_header(500.0, "third") + "x\n")
    assert log.section_of(301.0, 5)[-1] == "partial line"
    data = path.read_bytes()
    assert [offset for offset, _ in log.headers] == [0, data.index(b"--- ", 10), data.rindex(b"--- ")]
    path.unlink()  # a new log (another inode): read anew
    path.write_text(log_header(700.0, "fourth") + "y\n")
    assert log.section_of(500.0, 5) is None and log.section_of(700.0, 5)[-1] == "y"


def test_a_log_without_the_apps_headers_counts_when_written_since_the_launch(tmp_path):
    path = tmp_path / "tiny.log"
    path.write_text("loratui train c.toml > tiny.log: the user's own redirect\nstep 3/9\n")
    os.utime(path, (2000.0, 2000.0))
    assert LaunchLog(path).section_of(1990.0, 5)[-1] == "step 3/9"
    assert LaunchLog(path).section_of(2100.0, 5) is None  # written before it began: an earlier run's
