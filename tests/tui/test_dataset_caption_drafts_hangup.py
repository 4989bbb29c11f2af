"""The real `loratui PROJECT` in a pseudo-terminal, its link dropped (the pty's master closed: SIGHUP,
as sshd does) while a tag is typed in the Dataset screen's add box and before the draft's 2 s timer:
the typed tag must be in the dataset's caption draft, the caption file untouched, the process gone
with 128 + SIGHUP, well before the exit watchdog."""

from __future__ import annotations

import json
import signal
import sys
import time

import pytest
from fixtures.tui_dataset import make_dataset
from test_settings_drafts_hangup import CONFIG, Terminal  # the pty helpers of the Settings draft test

from loratui.core.drafts import draft_files, file_sha256
from loratui.tui.screens.dataset_drafts import caption_draft_base
from loratui.tui.services.drafts import EXIT_GRACE_S

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="needs a Linux pseudo-terminal")


def test_a_dropped_link_keeps_the_tag_being_typed(tmp_path):
    root = make_dataset(tmp_path / "proj")
    (root / "proj.toml").write_text(CONFIG, encoding="utf-8")
    caption = root / "img" / "10_alice" / "a01.txt"
    before = caption.read_bytes()
    term = Terminal(root)
    term.wait_for(b"Screens")  # the footer: the first frame (the Dataset screen) is drawn
    time.sleep(1.0)  # the captions are read (the editor shows a01's tags)
    mark = len(term.output)
    term.send("e", "a", *"blue eyes")
    term.wait_for(b"eyes", since=mark)
    term.hang_up()
    hung_up = time.monotonic()
    assert term.exit_status() == 128 + signal.SIGHUP
    assert time.monotonic() - hung_up < EXIT_GRACE_S  # a clean exit, not the watchdog's os._exit
    found = draft_files(caption_draft_base(root / "img"))
    assert len(found) == 1 and found[0].pid == term.pid, f"not one draft of the ended app: {found}"
    draft = found[0].path
    [entry] = json.loads(draft.read_text(encoding="utf-8"))["entries"]
    assert (entry["what"], entry["typed"]) == ("add", "blue eyes")
    assert entry["caption"].endswith("10_alice/a01.txt") and entry["sha256"] == file_sha256(caption)
    assert caption.read_bytes() == before  # nothing written behind the user's back
