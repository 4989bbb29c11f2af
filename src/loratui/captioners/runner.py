"""The captioning pipeline shared by every captioner: decode in parallel, infer in batches, write.

Decode workers (threads: Pillow and numpy release the GIL) load each image with
images.load_image and call ``captioner.prepare``; the calling thread collects prepared items in
order, runs ``captioner.run`` on full batches and writes each caption. At most ``max_inflight``
images are decoded ahead, so memory is bounded whatever the dataset size. A bad image is reported
(``image_failed``) and the run goes on. Events are plain dicts (schema: commands/caption_cmd.py).
"""

from __future__ import annotations

import os
import time
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

from loratui.captioners.base import Captioner
from loratui.captioners.images import BadImage, load_image
from loratui.captioners.output import Job, write_result
from loratui.core.errors import LoratuiError

Emit = Callable[[dict[str, Any]], None]


@dataclass
class RunResult:
    captioned: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (image, reason)
    tag_counts: Counter = field(default_factory=Counter)
    elapsed_s: float = 0.0
    interrupted: bool = False
    captions: dict[str, str] = field(default_factory=dict)  # image -> first line (dry runs and tests)


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


def run_captioning(captioner: Captioner, jobs: list[Job], *, mode: str = "overwrite", separator: str = ",",
                   dry_run: bool = False, workers: int | None = None, max_inflight: int | None = None,
                   emit: Emit | None = None, progress_every_s: float = 0.5, keep_captions: bool = False) -> RunResult:
    emit = emit or (lambda event: None)
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

    def flush(batch: list[tuple[Job, Any]]) -> None:
        nonlocal done
        if not batch:
            return
        try:
            outputs = captioner.run([item for _, item in batch])
        except LoratuiError:
            raise
        except Exception as exc:  # noqa: BLE001 - e.g. GPU OOM on one batch: report those images, go on
            outputs = [exc] * len(batch)
        for (job, _), out in zip(batch, outputs):
            done += 1
            if isinstance(out, Exception):
                fail(job, f"inference failed: {type(out).__name__}: {str(out).splitlines()[0] if str(out) else ''}")
                continue
            try:
                line = write_result(job, out, mode, separator, dry_run)
            except LoratuiError as exc:
                fail(job, str(exc))
                continue
            except OSError as exc:
                fail(job, f"cannot write {job.caption}: {exc.strerror or exc}")
                continue
            result.captioned += 1
            if isinstance(out, list):
                result.tag_counts.update(out)
            if keep_captions or dry_run:
                result.captions[str(job.image)] = line
            emit({"event": "captioned", "image": str(job.image), "caption_file": str(job.caption),
                  "caption": line, "dry_run": dry_run})
        progress()

    def fail(job: Job, reason: str) -> None:
        result.failed.append((str(job.image), reason))
        emit({"event": "image_failed", "image": str(job.image), "reason": reason})

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="caption-decode")
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
            if not pending:
                break
            job, future = pending.popleft()
            prepared, reason, warning = future.result()
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
        flush(batch)
        batch = []
    except KeyboardInterrupt:
        result.interrupted = True
    finally:
        for _, future in pending:
            future.cancel()
        pool.shutdown(wait=not result.interrupted, cancel_futures=True)
        result.elapsed_s = time.perf_counter() - start
    progress(force=True)
    return result


def summary_event(result: RunResult, skipped: int, top: int = 20) -> dict[str, Any]:
    rate = result.captioned / result.elapsed_s if result.elapsed_s > 0 else 0.0
    return {"event": "finished", "captioned": result.captioned, "skipped": skipped,
            "failed": [{"image": i, "reason": r} for i, r in result.failed],
            "top_tags": [[t, n] for t, n in result.tag_counts.most_common(top)],
            "elapsed_s": round(result.elapsed_s, 2), "images_per_s": round(rate, 3),
            "interrupted": result.interrupted}
