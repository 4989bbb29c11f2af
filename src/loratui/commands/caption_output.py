"""How `loratui caption` speaks (commands/caption_cmd.py): the runner's events as JSON lines
(``--json-events``: one object per line on stdout, nothing else), or for a reader a progress bar on a
terminal's stderr (plain progress lines when it is not a TTY), the plan line, the dry run's captions, the
summary, and notes on stderr that a JSON follower reads from ``started`` instead (the run resumed, the reg
images left out: commands/caption_reg.py)."""

from __future__ import annotations

import contextlib
import sys
import time
from typing import Any

import click

from loratui.commands.options import json_line
from loratui.core.errors import LoratuiError
from loratui.core.termline import fit


class CaptionOutput:
    """Turns runner events into JSON lines, a TTY progress bar, or plain lines."""

    @contextlib.contextmanager
    def reporting_errors(self):
        """A one-line LoratuiError also goes out as an ``error`` event (then exits 2 as usual; 1 for a
        PartialWriteError: some captions were written)."""
        try:
            yield
        except LoratuiError as exc:
            if self.json:
                self.emit({"event": "error", "message": str(exc), "exit_code": getattr(exc, "exit_code", 2)})
            raise

    def __init__(self, json_events: bool):
        self.json = json_events
        self.tty = sys.stderr.isatty()
        self.last_plain = 0.0
        self.last_done = -1  # plain mode: the same count is not printed twice
        self.dry_run = False
        self.bar_open = False

    def warning(self, message: str) -> None:
        self.emit({"event": "warning", "message": message})

    def note(self, line: str) -> None:
        """A line for the reader of a terminal (a --json-events follower reads it from ``started``)."""
        if not self.json:
            click.echo(line, err=True)

    def emit(self, event: dict[str, Any]) -> None:
        if self.json:
            click.echo(json_line(event))
            return
        kind = event["event"]
        if kind == "progress":
            self._progress(event)
            return
        if kind in ("skipped", "captioned") and not event.get("dry_run"):
            return  # nothing printed: the bar stays on its line
        self._end_bar()
        if kind == "started":
            self.dry_run = bool(event.get("dry_run"))
            sample = f" (a sample of {event['sample_of']})" if event.get("sample_of") is not None else ""
            resumed = (f" ({event['resumed_skips']} captioned by the run being resumed, {event['resume_of']})"
                       if event.get("resume_of") else "")
            click.echo(f"{event['captioner']}: {event['model']} on {event['provider']} (batch {event['batch_size']}, "
                       f"{event['workers']} decode workers); {event['mode']}: {event['to_caption']} image(s) to caption"
                       f"{sample}, {event['skipped']} skipped{resumed}{' (dry run)' if event['dry_run'] else ''}")
        elif kind == "warning":
            where = f"{event['image']}: " if event.get("image") else ""
            click.echo(f"warning: {where}{event['message']}", err=True)
        elif kind == "image_failed":
            click.echo(f"failed: {event['image']}: {event['reason']}", err=True)
        elif kind == "captioned" and event["dry_run"]:
            click.echo(f"would write {event['caption_file']}: {event['caption']}")
        elif kind == "finished":
            self._summary(event)

    def _progress(self, e: dict[str, Any]) -> None:
        done, total = e["done"], e["total"]
        eta = "--" if e["eta_s"] is None else _duration(e["eta_s"])
        text = f"{done}/{total} images  {e['images_per_s']:.1f} img/s  ETA {eta}"
        if self.tty:
            width = 30
            filled = int(width * done / total) if total else width
            click.echo("\r" + fit(f"[{'#' * filled}{'.' * (width - filled)}] {text}  "), nl=False, err=True)
            self.bar_open = True
        elif (time.monotonic() - self.last_plain >= 5 or done == total) and done != self.last_done:
            self.last_plain, self.last_done = time.monotonic(), done
            click.echo(f"progress: {text}", err=True)

    def _end_bar(self) -> None:
        if self.bar_open:
            click.echo("", err=True)
            self.bar_open = False

    def _summary(self, e: dict[str, Any]) -> None:
        state = "interrupted" if e["interrupted"] else "done"
        verb = "would be captioned (dry run, nothing written)" if self.dry_run else "captioned"
        click.echo(f"{state}: {e['captioned']} {verb}, {e['skipped']} skipped, {len(e['failed'])} failed "
                   f"in {_duration(e['elapsed_s'])} ({e['images_per_s']:.1f} img/s)")
        for item in e["failed"]:
            click.echo(f"  failed {item['image']}: {item['reason']}")
        if e["top_tags"]:
            click.echo("top tags: " + ", ".join(f"{t} ({n})" for t, n in e["top_tags"]))


def _duration(seconds: float) -> str:
    from loratui.core.termline import short_duration  # the app's caption panel prints the same

    return short_duration(seconds)
