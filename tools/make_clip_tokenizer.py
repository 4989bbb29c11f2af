"""Regenerate src/loratui/engine/model_configs/clip_merges.txt.gz from CLIP's BPE file.

CLIP's tokenizer (SD1's, SD2's and both of SDXL's) is fully defined by its first 48,894 merges
(49408 tokens = 2 * 256 byte tokens + merges + 2 specials). The source is ``bpe_simple_vocab_16e6.txt.gz``,
shipped inside the open_clip_torch wheel. Get it without installing the package (it pulls torchvision):

    pip download --no-deps open_clip_torch -d /tmp/ocw
    unzip -o /tmp/ocw/open_clip_torch-*.whl 'open_clip/bpe_simple_vocab_16e6.txt.gz' -d /tmp/ocw
    python tools/make_clip_tokenizer.py /tmp/ocw/open_clip/bpe_simple_vocab_16e6.txt.gz

vocab.json is rebuilt from the merges at first use (loratui.engine.model_configs).
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

N_MERGES = 49152 - 256 - 2
TARGET = Path(__file__).resolve().parent.parent / "src/loratui/engine/model_configs/clip_merges.txt.gz"


def main(source: str) -> None:
    with gzip.open(source, "rt", encoding="utf-8") as fh:
        lines = fh.read().split("\n")
    merges = lines[1:1 + N_MERGES]  # line 0 is the "#version" header
    assert len(merges) == N_MERGES and all(len(m.split(" ")) == 2 for m in merges)
    text = "#version: 0.2\n" + "\n".join(merges) + "\n"
    # mtime=0 keeps the file byte-identical between runs.
    with open(TARGET, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=9) as gz:
        gz.write(text.encode("utf-8"))
    print(f"wrote {TARGET} ({TARGET.stat().st_size} bytes, {len(merges)} merges)")


if __name__ == "__main__":
    main(sys.argv[1])
