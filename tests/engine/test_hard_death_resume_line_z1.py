"""With engine/run_resume.py and run_folder.py patched (h4 hunt, item 1): a resume names a 0-byte sample an
older loratui's killed write left as damaged, not as a sample, and the start names the sample temp it removes."""

from __future__ import annotations

import pytest

from test_resume_samples import _sample_at, _saving
from test_train import of, run

pytestmark = pytest.mark.slow  # trains the tiny model in-process


def test_a_resume_names_a_zero_byte_sample_as_damaged_and_the_sample_temp_it_removes(tiny_sd1_dir, tmp_path,
                                                                                      capsys):
    config = _saving(tmp_path, tiny_sd1_dir)
    out = tmp_path / "out"
    assert run(config)[0] == 0  # samples at 2 and 4, a step save and state at 2
    step4 = _sample_at(out / "sample", 4, False)
    step4.write_bytes(b"")  # what a kill -9 during an older loratui's image.save left
    temp = out / "sample" / f".{step4.name}.ab12cd34.tmp"  # what a kill during this one's write_png leaves
    temp.write_bytes(b"\x89PNG")
    capsys.readouterr()
    code, events = run(config, resume=str(out / "tiny-step00000002-state"))
    assert code == 0 and not temp.exists()
    assert f"(sample/{temp.name}; 0.0 MiB)" in capsys.readouterr().err
    said = [e["message"] for e in of(events, "warning")
            if "moved aside before this run writes them anew" in e["message"]]
    assert len(said) == 1 and "1 damaged image(s), not samples" in said[0], said
    assert f"sample/{step4.name}: 0 bytes" in said[0] and "1 sample image(s)" not in said[0]
    assert len(list(out.glob(f"tiny-kept-*/sample/{step4.name}"))) == 1  # kept, not deleted
