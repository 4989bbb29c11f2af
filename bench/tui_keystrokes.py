"""Work done per keystroke inside the app, measured in the app (not through the test harness).

- Filter box: 10,000 captions, each prefix of a typical filter typed one key at a time; the time of
  the screen's refilter (core's --where predicate over every caption, plus the table update).
  Target: under 100 ms per keystroke.
- Tag completion: a vocabulary of 20,000 tags (dataset tags + a tagger list); the time of the tag
  box's completion update per keystroke (core.captions.TagVocab.complete + the dropdown). Target:
  under 50 ms per keystroke.
Prints the worst and median per key and the ratio worst/target (below 1 meets the target).

    .venv/bin/python bench/tui_keystrokes.py
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fixtures.tui_dataset import make_many  # noqa: E402

from loratui.core.captions import TagInfo, TagVocab  # noqa: E402
from loratui.core.dataset import locate_dataset  # noqa: E402
from loratui.tui.app import LoratuiApp  # noqa: E402

FILTERS = ["tag:tag5 and not folder:1_*", "long hair trigger", "tags>3 and -tag:solo"]
WORDS = ["long hair", "hair", "blue", "xyz", "tag1"]


def report(name: str, times: list[float], target: float) -> None:
    worst, median = max(times), statistics.median(times)
    print(f"{name}: {len(times)} keystrokes, median {median * 1000:.1f} ms, worst {worst * 1000:.1f} ms; "
          f"target {target * 1000:.0f} ms, ratio worst/target {worst / target:.2f}")


async def measure(root: Path, tmp: Path) -> None:
    app = LoratuiApp(locate_dataset(root), settings_file=tmp / "tui.toml", keymap_file=tmp / "k.toml", watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        while not (app.store.captions_loaded and app.store.scan is not None):
            await pilot.pause(0.05)
        screen = app.screen
        times = []
        for text in FILTERS:
            for end in range(1, len(text) + 1):
                screen.filter_text = text[:end]
                start = time.perf_counter()
                screen.refilter()
                times.append(time.perf_counter() - start)
        report("filter, 10,000 captions", times, 0.100)

        tagger = [TagInfo(f"tagger tag {i}", i % 5, 20000 - i) for i in range(17000)]
        extra = {f"word{i} hair": 1 for i in range(3000)}
        from collections import Counter

        vocab = TagVocab(Counter({**dict(app.store.frequency), **extra}), tagger)
        print(f"vocabulary: {len(vocab):,} tags")
        from loratui.tui.widgets.tag_input import TagInput

        screen.filter_text = ""  # the last filter may show no image, and the editor refuses edits then
        screen.refilter()
        await pilot.pause()
        await pilot.press("e", "a")
        await pilot.pause()
        box = app.focused
        assert isinstance(box, TagInput), box
        box.vocab = vocab
        times = []
        for word in WORDS:
            box.value = ""
            for ch in word:
                start = time.perf_counter()
                box.value += ch          # what a keystroke does to the box...
                box.refresh_completions()  # ...and the completion update it triggers
                times.append(time.perf_counter() - start)
        report("tag completion, 20,000 tags", times, 0.050)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = make_many(Path(tmp) / "img", 10_000)
        asyncio.run(measure(root, Path(tmp)))


if __name__ == "__main__":
    main()
