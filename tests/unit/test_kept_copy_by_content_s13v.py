"""A kept copy of the final LoRA is on record by size and sha256 (core/promote.py), so a copied output
folder (cp -a, rsync, a backup restore: new inodes) never takes the real final for a promoted copy;
records of older loratuis ([inode, size, mtime_ns]) are still honoured."""

from __future__ import annotations

import json
import shutil

from loratui.core.promote import COPIES, kept_copies, promoted_final_source, record_kept_copy


def _folder_with_kept_final(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "NAME.safetensors").write_bytes(b"final-lora-bytes" * 10)
    shutil.copy2(out / "NAME.safetensors", out / "NAME-000002.safetensors")  # the final kept by a resume
    return out


def test_a_copied_folder_still_knows_its_kept_copy(tmp_path):
    out = _folder_with_kept_final(tmp_path)
    record_kept_copy(out, "NAME", out / "NAME-000002.safetensors")
    assert promoted_final_source(out, "NAME") is None
    copy = tmp_path / "out_copy"
    shutil.copytree(out, copy)  # new inodes, as after a backup restore
    assert promoted_final_source(copy, "NAME") is None
    [record] = kept_copies(copy, "NAME")
    assert record["size"] == 160 and len(record["sha256"]) == 64


def test_a_real_promoted_copy_is_still_found(tmp_path):
    out = _folder_with_kept_final(tmp_path)
    record_kept_copy(out, "NAME", out / "NAME-000002.safetensors")
    (out / "NAME-000003.safetensors").write_bytes(b"epoch-3-save" * 10)
    shutil.copy2(out / "NAME-000003.safetensors", out / "NAME.safetensors")  # promoted by hand
    assert promoted_final_source(out, "NAME") == out / "NAME-000003.safetensors"


def test_recording_twice_keeps_one_record(tmp_path):
    out = _folder_with_kept_final(tmp_path)
    record_kept_copy(out, "NAME", out / "NAME-000002.safetensors")
    record_kept_copy(out, "NAME", out / "NAME-000002.safetensors")
    assert len(kept_copies(out, "NAME")) == 1


def test_an_older_inode_record_is_still_honoured(tmp_path):
    out = _folder_with_kept_final(tmp_path)
    info = (out / "NAME-000002.safetensors").stat()
    (out / COPIES.format(name="NAME")).write_text(json.dumps({"kept": [[info.st_ino, info.st_size,
                                                                         info.st_mtime_ns]]}))
    assert promoted_final_source(out, "NAME") is None
    assert promoted_final_source(out, "OTHER") is None  # no final of that name
    record_kept_copy(out, "NAME", out / "NAME-000002.safetensors")  # an old record stays beside a new one
    assert len(kept_copies(out, "NAME")) == 2
