"""EventWriter's echo (train --json's stdout) closed by its reader: echoing stops, the events file
goes on, and stderr says so once (core/events.py ``EventWriter._echo_closed``)."""

from __future__ import annotations

import io
import os

from loratui.core.events import EventWriter, read_events


class ClosedPipe(io.StringIO):
    """A stream whose reader went away: every write raises, as a pipe after `| head -1` does."""

    def __init__(self):
        super().__init__()
        self.writes = 0

    def write(self, text):
        self.writes += 1
        raise BrokenPipeError(32, "Broken pipe")


def test_a_broken_echo_stops_echoing_and_the_file_goes_on(tmp_path, capsys):
    echo = ClosedPipe()
    writer = EventWriter(tmp_path / "run.events.jsonl", echo)
    for step in (1, 2, 3):
        writer.emit("warning", message=f"step {step}")
    writer.close()
    assert [e["message"] for e in read_events(tmp_path / "run.events.jsonl")] == ["step 1", "step 2", "step 3"]
    assert echo.writes == 1 and writer.echo is None  # tried once, then no more
    err = capsys.readouterr().err
    assert err.count("stdout closed: the run goes on; its events are in") == 1 and "run.events.jsonl" in err


def test_a_closed_descriptor_is_pointed_at_the_null_device(tmp_path, capsys):
    """What the stream's buffer still holds is flushed at exit: to /dev/null, not into the pipe again."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone
    stream = open(write_end, "w", buffering=1)
    try:
        writer = EventWriter(tmp_path / "e.events.jsonl", stream)
        writer.emit("warning", message="one")
        writer.emit("warning", message="two")
        stream.write("left in the buffer\n")
        stream.flush()  # would raise BrokenPipeError without the redirect
    finally:
        stream.close()
    assert len(read_events(tmp_path / "e.events.jsonl")) == 2
    assert "stdout closed" in capsys.readouterr().err
