"""The captioning pipeline shared by every captioner: decode in parallel, infer in batches, write.

Decode workers (threads: Pillow and numpy release the GIL) load each image with
images.load_image and call ``captioner.prepare``; the calling thread collects prepared items in
order, runs ``captioner.run`` on full batches and writes each caption. At most ``max_inflight``
images are decoded ahead, so memory is bounded whatever the dataset size. A bad image is reported
(``image_failed``) and the run goes on. Events are plain dicts (schema: commands/caption_cmd.py).
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections import Counter, deque
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from loratui.captioners.base import Captioner
from loratui.captioners.images import BadImage, load_image
from loratui.captioners.output import Job, render_result
from loratui.captioners.resume import run_description
from loratui.core.captions import CAPTION_RUN, ChangeWriter, check_separator, write_checked
from loratui.core.errors import LoratuiError
from loratui.core.fsutil import atomic_write_bytes

Emit = Callable[[dict[str, Any]], None]


@dataclass
class RunResult:
    captioned: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (image, reason)
    tag_counts: Counter = field(default_factory=Counter)
    elapsed_s: float = 0.0
    interrupted: bool = False
    captions: dict[str, str] = field(default_factory=dict)  # image -> first line (dry runs and tests)
    journal: Path | None = None  # the undo journal entry holding what the run replaced
    read_only: set[str] = field(default_factory=set)  # failed images whose caption file is read-only


def default_workers() -> int:
    return max(1, min(8, (os.cpu_count() or 2)))


def _decode(job: Job, prepare: Callable[[Any], Any]) -> tuple[Any, str | None, str | None]:
    """(prepared, failure reason, warning) - never raises for a bad image."""
    try:
        image = load_image(job.image)
        warning = image.info.get("loratui_warning")
        return prepare(image), None, warning
    except BadImage as exc:
        return None, str(exc), None
    except Exception as exc:  # noqa: BLE001 - one odd image must not stop 10,000 others
        return None, f"{type(exc).__name__}: {exc}", None


class _DecodePool:
    """Decode threads that never hold the process open.

    ThreadPoolExecutor's threads are joined when the interpreter exits, so after Ctrl-C the
    process would wait for a 100-megapixel decode to finish; these are daemon threads, and a
    cancelled job is skipped without running.
    """

    def __init__(self, workers: int):
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._work, name=f"caption-decode-{i}", daemon=True)
                         for i in range(workers)]
        for thread in self._threads:
            thread.start()

    def _work(self) -> None:
        while True:
            task = self._tasks.get()
            if task is None:
                return
            future, fn, args = task
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
                future.set_exception(exc)

    def submit(self, fn, *args) -> Future:
        future: Future = Future()
        self._tasks.put((future, fn, args))
        return future

    def shutdown(self, wait: bool) -> None:
        for _ in self._threads:
            self._tasks.put(None)
        if wait:
            for thread in self._threads:
                thread.join()


# A model that fails every batch is broken, not unlucky: stop with one line instead of reporting
# the same error for 10,000 images.
FAIL_FIRST_BATCHES = 2
FAIL_BATCHES_IN_A_ROW = 10


def run_captioning(captioner: Captioner, jobs: list[Job], *, mode: str = "overwrite", separator: str = ",",
                   dry_run: bool = False, workers: int | None = None, max_inflight: int | None = None,
                   emit: Emit | None = None, progress_every_s: float = 0.5, keep_captions: bool = False,
                   stop: threading.Event | None = None, journal_root: str | os.PathLike | None = None,
                   force: bool = False, resumed: bool = False,
                   journal_started: Callable[[Path], None] | None = None,
                   journal_locked: bool = False) -> RunResult:
    """Caption ``jobs``; ``stop`` (set by a signal handler) ends the run after the current write.

    With ``journal_root`` (the dataset folder) every caption replaced is journalled there as one
    change, undone by `loratui tags undo DIR` (core.captions.undo_last). A read-only caption file
    is a failed image unless ``force``. ``resumed``: the run continues an interrupted one (its
    journal entry says so, and a resume of it skips what both wrote: captioners.resume).
    ``journal_started(entry)``: called once the run's journal entry exists (its first write), so that
    the run's record names it (captioners.resume.RunAttempt). The run holds the journal's lock from its
    first write to its end (core.captions.ChangeWriter); ``journal_locked``: the caller took it already
    (before the model loaded: core.captions.hold_for_run).
    """
    check_separator(separator)
    emit = emit or (lambda event: None)
    writer = None if dry_run or journal_root is None else ChangeWriter(
        journal_root, run_description(captioner.name, mode, resumed), force=force, note=CAPTION_RUN,
        locked=journal_locked)
    workers = workers or default_workers()
    batch_size = max(1, int(captioner.batch_size))
    max_inflight = max_inflight or (2 * batch_size + 2 * workers)
    result = RunResult()
    total = len(jobs)
    start = time.perf_counter()
    last_progress = 0.0
    done = 0

    def progress(force: bool = False) -> None:
        nonlocal last_progress
        now = time.perf_counter()
        if not force and now - last_progress < progress_every_s:
            return
        last_progress = now
        elapsed = now - start
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else None
        emit({"event": "progress", "done": done, "total": total, "captioned": result.captioned,
              "failed": len(result.failed), "images_per_s": round(rate, 3),
              "eta_s": None if eta is None else round(eta, 1), "elapsed_s": round(elapsed, 2)})

    failed_batches = 0  # in a row

    def infer(items: list[Any]) -> list[Any]:
        """Outputs for ``items``; a failing batch is retried one image at a time (one bad image, or a
        batch too big for the GPU, must not fail its neighbours); failures come back as exceptions."""
        try:
            outputs = list(captioner.run(items))
        except LoratuiError:
            raise
        except Exception as exc:  # noqa: BLE001 - e.g. GPU OOM on one batch
            if len(items) == 1:
                return [exc]
            outputs = []
            for item in items:
                try:
                    outputs.extend(list(captioner.run([item]))[:1] or [RuntimeError("no result")])
                except LoratuiError:
                    raise
                except Exception as single:  # noqa: BLE001
                    outputs.append(single)
        if len(outputs) != len(items):  # a captioner bug: never drop images silently
            outputs = (outputs + [RuntimeError(f"the captioner returned {len(outputs)} result(s) for "
                                               f"{len(items)} image(s)")] * len(items))[:len(items)]
        return outputs

    def flush(batch: list[tuple[Job, Any]]) -> None:
        nonlocal done, failed_batches
        if not batch:
            return
        outputs = infer([item for _, item in batch])
        errors = [out for out in outputs if isinstance(out, Exception)]
        failed_batches = failed_batches + 1 if len(errors) == len(outputs) else 0
        if failed_batches and (failed_batches >= FAIL_BATCHES_IN_A_ROW or
                               (result.captioned == 0 and failed_batches >= FAIL_FIRST_BATCHES)):
            first = errors[0]
            raise LoratuiError(f"{captioner.name}: inference failed on {failed_batches} batch(es) in a row "
                               f"({type(first).__name__}: {str(first).splitlines()[0] if str(first) else ''}); "
                               "stopped: check the model, --batch-size and the device")
        rendered: list[Any] = []  # per job: (line, bytes, expected) or the reason it failed
        for (job, _), out in zip(batch, outputs):
            if isinstance(out, Exception):
                rendered.append(f"inference failed: {type(out).__name__}: "
                                f"{str(out).splitlines()[0] if str(out) else ''}")
                continue
            try:
                rendered.append(render_result(job, out, mode, separator))
            except LoratuiError as exc:
                rendered.append(str(exc))
        written = _write(batch, rendered)
        for (job, _), out, made, outcome in zip(batch, outputs, rendered, written):
            done += 1
            if isinstance(made, str):
                fail(job, made)
                continue
            if isinstance(outcome, Exception):
                fail(job, str(outcome), getattr(outcome, "read_only", False))
                continue
            line = made[0]
            result.captioned += 1
            if isinstance(out, list):
                result.tag_counts.update(out)
            if keep_captions or dry_run:
                result.captions[str(job.image)] = line
            emit({"event": "captioned", "image": str(job.image), "caption_file": str(job.caption),
                  "caption": line, "dry_run": dry_run})
        progress()

    def _write(batch: list[tuple[Job, Any]], rendered: list[Any]) -> list[Any]:
        """Write the batch's captions (journalled as one change with the rest of the run); per job
        None (written, unchanged, or nothing to write) or the error that kept it."""
        items = [(index, job.caption, made[1], made[2]) for index, ((job, _), made) in enumerate(zip(batch, rendered))
                 if not isinstance(made, str)]
        outcomes: list[Any] = [None] * len(batch)
        if dry_run or not items:
            return outcomes
        if writer is not None:  # a journal that cannot be written stops the run (LoratuiError)
            for (index, *_), got in zip(items, writer.write_many([item[1:] for item in items])):
                outcomes[index] = got if isinstance(got, Exception) else None
            if journal_started is not None and writer.entry is not None and writer.entry != told[0]:
                told[0] = writer.entry
                journal_started(writer.entry)
            return outcomes
        for index, path, data, expected in items:
            try:
                if write_checked(path, data, expected, force=force) is not False:
                    atomic_write_bytes(path, data)
            except LoratuiError as exc:
                outcomes[index] = exc
            except OSError as exc:
                outcomes[index] = LoratuiError(f"cannot write {path}: {exc.strerror or exc}")
        return outcomes

    told: list[Path | None] = [None]  # the journal entry journal_started was called with

    def fail(job: Job, reason: str, read_only: bool = False) -> None:
        result.failed.append((str(job.image), reason))
        if read_only:
            result.read_only.add(str(job.image))
        emit({"event": "image_failed", "image": str(job.image), "reason": reason})

    pool = _DecodePool(workers)
    pending: deque[tuple[Job, Future]] = deque()
    it = iter(jobs)
    batch: list[tuple[Job, Any]] = []
    try:
        progress(force=True)
        exhausted = False
        while True:
            while not exhausted and len(pending) < max_inflight:
                job = next(it, None)
                if job is None:
                    exhausted = True
                    break
                pending.append((job, pool.submit(_decode, job, captioner.prepare)))
            if not pending or (stop is not None and stop.is_set()):
                break
            job, future = pending[0]
            try:
                prepared, reason, warning = future.result(timeout=0.2)
            except FutureTimeout:
                continue  # look at the stop flag again
            pending.popleft()
            if warning:
                emit({"event": "warning", "image": str(job.image), "message": warning})
            if reason is not None:
                done += 1
                fail(job, reason)
                progress()
                continue
            batch.append((job, prepared))
            if len(batch) >= batch_size:
                flush(batch)
                batch = []
        if stop is not None and stop.is_set():
            result.interrupted = True  # the prepared images of the last partial batch are not captioned
        else:
            flush(batch)
        batch = []
    except KeyboardInterrupt:
        result.interrupted = True
    finally:
        for _, future in pending:
            future.cancel()
        pool.shutdown(wait=not result.interrupted)
        result.elapsed_s = time.perf_counter() - start
        if writer is not None:
            result.journal = writer.close()
    progress(force=True)
    return result


def summary_event(result: RunResult, skipped: int, top: int = 20) -> dict[str, Any]:
    rate = result.captioned / result.elapsed_s if result.elapsed_s > 0 else 0.0
    return {"event": "finished", "captioned": result.captioned, "skipped": skipped,
            "failed": [{"image": i, "reason": r} for i, r in result.failed],
            "top_tags": [[t, n] for t, n in result.tag_counts.most_common(top)],
            "elapsed_s": round(result.elapsed_s, 2), "images_per_s": round(rate, 3),
            "journal": None if result.journal is None else str(result.journal),
            "interrupted": result.interrupted}
