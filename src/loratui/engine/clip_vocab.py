"""Build a CLIP BPE vocabulary (vocab.json + merges.txt) from a list of merges.

CLIP's vocabulary is fully determined by its merge list: the 256 byte-level characters, the same
characters with the end-of-word marker ``</w>``, one token per merge (the two halves joined), then
``<|startoftext|>`` and ``<|endoftext|>``. Used by tools/make_clip_tokenizer.py (real tokenizer)
and by the tiny test models (a handful of merges).
"""

from __future__ import annotations

import json
from pathlib import Path

START = "<|startoftext|>"
END = "<|endoftext|>"


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible byte -> printable character table."""
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
                 + list(range(ord("®"), ord("ÿ") + 1)))
    chars = list(printable)
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(c) for c in chars)))


def clip_vocab(merges: list[tuple[str, str]]) -> dict[str, int]:
    """Token -> id for a CLIP tokenizer with these merges (ids in CLIP's order)."""
    base = list(bytes_to_unicode().values())
    tokens = base + [c + "</w>" for c in base] + ["".join(pair) for pair in merges] + [START, END]
    return {tok: i for i, tok in enumerate(tokens)}


def write_clip_tokenizer(folder: Path, merges: list[tuple[str, str]], *, pad_token: str = END,
                         max_length: int = 77) -> Path:
    """Write a CLIPTokenizer folder (vocab.json, merges.txt, tokenizer_config.json, special tokens)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = clip_vocab(merges)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    lines = ["#version: 0.2"] + [f"{a} {b}" for a, b in merges]
    (folder / "merges.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = {
        "tokenizer_class": "CLIPTokenizer",
        "model_max_length": max_length,
        "bos_token": START,
        "eos_token": END,
        "unk_token": END,
        "pad_token": pad_token,
        "do_lower_case": True,
        "clean_up_tokenization_spaces": True,
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    special = {"bos_token": START, "eos_token": END, "unk_token": END, "pad_token": pad_token}
    (folder / "special_tokens_map.json").write_text(json.dumps(special, indent=2), encoding="utf-8")
    return folder
