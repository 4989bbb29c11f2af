"""core/diskspace.py: the size a full-disk message states is what the write holds, not a made-up figure."""

from __future__ import annotations

import errno

from loratui.core.diskspace import _gb, checkpoint_bytes, disk_full_message, tensors_bytes


class _Tensor:
    def __init__(self, numel: int, size: int):
        self._numel, self._size = numel, size

    def numel(self) -> int:
        return self._numel

    def element_size(self) -> int:
        return self._size


def test_sizes_are_the_tensors_bytes_without_a_made_up_megabyte():
    assert checkpoint_bytes(1000) == 2000  # a tiny LoRA said "needs about 1 MB"
    assert tensors_bytes([_Tensor(1000, 2), _Tensor(10, 4)]) == 2040
    assert tensors_bytes([_Tensor(1000, 2)], itemsize=4) == 4000
    assert _gb(512) == "512 bytes"


def test_the_message_names_what_was_being_written_and_no_figure_when_unknown(tmp_path):
    exc = OSError(errno.ENOSPC, "No space left on device")
    line = disk_full_message(exc, tmp_path / "out" / "x-state", 41_000, "the training state")
    assert f"writing {tmp_path / 'out' / 'x-state'}: " in line and "the training state needs about 41 KB" in line
    assert "needs" not in disk_full_message(exc, tmp_path / "out")
