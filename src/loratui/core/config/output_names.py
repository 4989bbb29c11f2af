"""Whether the names a run makes from ``output_name`` fit its file system's limit on a name's length.

A name may hold at most NAME_MAX bytes (255 on ext4, XFS, btrfs, APFS, NTFS; UTF-8 bytes, so 85 CJK
characters): a run that could write NAME.safetensors may still fail at its first step save, its state,
its sample images or a resume's keep-aside copy, having trained for hours. `config check` and `train`
(before any model loads) refuse such an output_name in one line.
"""

from __future__ import annotations

import os
from pathlib import Path

# the longest name of each kind a run writes in output_dir ({} is output_name): a step count past 8 digits,
# a resume's kept copy numbered past 9 or a process id past 7 digits are not reckoned with
DERIVED_NAMES = (
    ("{}.safetensors", "the LoRA"),                                        # engine/run_saves.py
    ("{}-000001.safetensors", "an epoch save"),
    ("{}-step00000001.safetensors", "a step save"),
    ("{}-step00000001-state.tmp", "a step save's state while it is written"),  # engine/state.py
    ("{}-kept-step00000001-2-state", "a state a resume keeps aside"),      # engine/outputs.py
    (".{}-kept-step00000001-2.safetensors.tmp", "a save a resume keeps aside, while it is copied"),
    (".{}.copies.json.4194304.tmp", "the record of promoted saves"),       # core/promote.py
    ("{}.events.5.jsonl", "the events file's fifth older copy"),           # core/events.py
)
# engine/sampling.py: NAME_e000001_00_YYYYmmddHHMMSS_SEED.png (a seed of 10 digits: 2**32)
SAMPLE_NAME = ("{}_e000001_00_20250101120000_4294967295.png", "a sample image")


def longest_derived_name(output_name: str, *, sampling: bool) -> tuple[str, str]:
    """(the longest name a run makes from ``output_name``, what it is); sample images only with ``sampling``."""
    forms = DERIVED_NAMES + ((SAMPLE_NAME,) if sampling else ())
    return max(((form.format(output_name), what) for form, what in forms), key=lambda item: len(os.fsencode(item[0])))


def output_name_length_problem(output_name: str, output_dir: str | os.PathLike, *, sampling: bool) -> str | None:
    """One line when a name the run makes from ``output_name`` would pass the name limit of the file system
    ``output_dir`` is on (its nearest existing folder), else None."""
    from loratui.core.fsutil import name_max

    if not output_name:
        return None
    folder = Path(output_dir)
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    limit = name_max(folder)
    longest, what = longest_derived_name(output_name, sampling=sampling)
    size, needed = len(os.fsencode(output_name)), len(os.fsencode(longest))
    if needed <= limit:
        return None
    return (f"output_name is {size} bytes long (UTF-8): {what} would get a name of {needed} bytes, past the file "
            f"system's limit of {limit} bytes a name: shorten output_name to at most {size - (needed - limit)} bytes")
