"""The runner when the model fails, misbehaves, or a stop is asked for."""

from __future__ import annotations

import threading

import pytest

from loratui.captioners.output import find_images, plan
from loratui.captioners.runner import run_captioning
from loratui.captioners.wd14 import WD14Captioner
from loratui.core.errors import LoratuiError
from tests.captioners.test_caption_runner import make_dataset


class Flaky:
    """Wraps a captioner: batches containing a chosen image fail; ``short`` drops one output."""

    def __init__(self, inner, bad_index=None, always=False, short=False):
        self.inner, self.bad_index, self.always, self.short = inner, bad_index, always, short
        self.name, self.batch_size, self.provider = inner.name, inner.batch_size, inner.provider
        self.calls = []

    def prepare(self, image):
        return (image.size, self.inner.prepare(image))

    def run(self, batch):
        self.calls.append(len(batch))
        if self.always:
            raise RuntimeError("[ONNXRuntimeError] : 2 : INVALID_ARGUMENT : dims")
        if any(size[0] == 64 + self.bad_index for size, _ in batch if self.bad_index is not None):
            raise RuntimeError("CUDA out of memory")
        out = self.inner.run([item for _, item in batch])
        return out[:-1] if self.short else out


def _jobs(tmp_path, n=6):
    make_dataset(tmp_path, n=n, bad=False)
    return plan(find_images(tmp_path), ".txt", "overwrite")[0]


def test_a_failing_batch_is_retried_image_by_image(tmp_path, wd14_v3):
    cap = Flaky(WD14Captioner(wd14_v3, batch_size=3), bad_index=1)
    result = run_captioning(cap, _jobs(tmp_path), workers=2)
    assert result.captioned == 5 and len(result.failed) == 1  # only the culprit fails, not its batchmates
    assert result.failed[0][0].endswith("img01.png") and "CUDA out of memory" in result.failed[0][1]
    assert cap.calls[:4] == [3, 1, 1, 1]


def test_a_model_failing_every_batch_stops_with_one_line(tmp_path, wd14_v3):
    cap = Flaky(WD14Captioner(wd14_v3, batch_size=2), always=True)
    with pytest.raises(LoratuiError, match=r"inference failed on 2 batch\(es\) in a row .*INVALID_ARGUMENT"):
        run_captioning(cap, _jobs(tmp_path, n=10), workers=2)


def test_missing_outputs_are_failures_not_silence(tmp_path, wd14_v3):
    cap = Flaky(WD14Captioner(wd14_v3, batch_size=3), short=True)
    result = run_captioning(cap, _jobs(tmp_path), workers=2)
    assert result.captioned + len(result.failed) == 6 and "returned 2 result(s) for 3" in result.failed[0][1]


def test_stop_flag_ends_after_the_current_write(tmp_path, wd14_v3):
    jobs = _jobs(tmp_path, n=8)
    stop = threading.Event()
    seen = []

    def emit(event):
        if event["event"] == "captioned":
            seen.append(event["image"])
            if len(seen) == 3:
                stop.set()

    result = run_captioning(WD14Captioner(wd14_v3, batch_size=1), jobs, workers=2, emit=emit, stop=stop)
    assert result.interrupted and result.captioned == len(seen) == 3
    assert len(list((tmp_path / "3_cat").glob("*.txt"))) == 3
