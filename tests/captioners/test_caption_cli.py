"""`loratui caption wd14` end to end: CliRunner (json events, text summary, errors, --download) and one real run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from loratui.commands.caption_cmd import EXIT_SOME_FAILED  # a broken image in the fixture: exit 3
from loratui.commands.caption_cmd import caption


def dataset(tmp_path):
    root = tmp_path / "train"
    (root / "5_girl").mkdir(parents=True)
    Image.new("RGB", (1024, 768), (0, 0, 255)).save(root / "5_girl" / "a.jpg")
    Image.new("RGBA", (300, 500), (255, 0, 0, 255)).save(root / "5_girl" / "b.png")
    (root / "5_girl" / "bad.webp").write_bytes(b"RIFF0000WEBPjunk")
    return root


def test_json_events_schema(tmp_path, wd14_v3):
    root = dataset(tmp_path)
    res = CliRunner().invoke(caption, ["wd14", str(root), "--model", str(wd14_v3), "--json-events", "--rating", "last"])
    assert res.exit_code == EXIT_SOME_FAILED, res.output
    events = [json.loads(line) for line in res.output.splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "started" and kinds[-1] == "finished" and "progress" in kinds
    assert events[0]["provider"] == "CPUExecutionProvider" and events[0]["to_caption"] == 3
    failed = [e for e in events if e["event"] == "image_failed"]
    assert len(failed) == 1 and failed[0]["image"].endswith("bad.webp")
    end = events[-1]
    assert end["captioned"] == 2 and end["skipped"] == 0 and end["top_tags"][0] == ["1girl", 2]
    assert (root / "5_girl" / "a.txt").read_text() == "1girl, solo, blue_theme, ^_^, hatsune_miku_(vocaloid), general\n"


def test_text_summary_skip_mode_and_dry_run(tmp_path, wd14_v2):
    root = dataset(tmp_path)
    (root / "5_girl" / "a.txt").write_text("hand written\n")
    res = CliRunner().invoke(caption, ["wd14", str(root), "--model", str(wd14_v2.parent), "--mode", "skip", "--dry-run",
                                       "--always-first-tags", "sks"])
    assert res.exit_code == EXIT_SOME_FAILED, res.output
    assert "1 skipped" in res.output and "would write" in res.output and "sks, 1girl" in res.output
    assert "top tags:" in res.output and "bad.webp" in res.output
    assert not (root / "5_girl" / "b.txt").exists()
    assert (root / "5_girl" / "a.txt").read_text() == "hand written\n"


def test_errors_are_one_line(tmp_path):
    root = dataset(tmp_path)
    res = CliRunner().invoke(caption, ["wd14", str(root), "--model", str(tmp_path / "nope")])
    assert res.exit_code != 0 and "no such model folder" in str(res.exception)
    res = CliRunner().invoke(caption, ["wd14", str(root)])
    assert "--download REPO_ID" in str(res.exception)


def test_download_into_store_with_fake_hub(tmp_path, monkeypatch, wd14_v3):
    import huggingface_hub

    from loratui.captioners import store

    monkeypatch.setenv("LORATUI_MODEL_STORE", str(tmp_path / "store"))
    calls = []

    def fake_download(repo_id, filename, revision=None, local_dir=None):
        calls.append((repo_id, filename))
        target = Path(local_dir) / filename
        target.write_bytes((wd14_v3 / filename).read_bytes())
        return str(target)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.HfApi, "model_info", lambda self, repo_id, **kw: type(
        "Info", (), {"siblings": [type("S", (), {"rfilename": n}) for n in ("model.onnx", "selected_tags.csv")]}))
    path = store.download_wd14("SmilingWolf/wd-tiny")
    assert path == tmp_path / "store" / "wd14" / "SmilingWolf__wd-tiny"
    assert calls == [("SmilingWolf/wd-tiny", "model.onnx"), ("SmilingWolf/wd-tiny", "selected_tags.csv")]
    root = dataset(tmp_path)
    res = CliRunner().invoke(caption, ["wd14", str(root), "--download", "SmilingWolf/wd-tiny"])
    assert res.exit_code == EXIT_SOME_FAILED and len(calls) == 2  # already in the store: no second download


def test_offline_download_says_which_files_go_where(tmp_path, monkeypatch):
    from loratui.captioners import store
    from loratui.core.errors import LoratuiError

    monkeypatch.setenv("LORATUI_MODEL_STORE", str(tmp_path / "store"))
    try:
        store.download_wd14("SmilingWolf/wd-swinv2-tagger-v3")
    except LoratuiError as exc:
        msg = str(exc)
    assert "\n" not in msg and "model.onnx and selected_tags.csv" in msg
    assert str(tmp_path / "store" / "wd14" / "SmilingWolf__wd-swinv2-tagger-v3") in msg


def test_real_subprocess(tmp_path, wd14_v3):
    root = dataset(tmp_path)
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    proc = subprocess.run([sys.executable, "-m", "loratui", "caption", "wd14", str(root), "--model", str(wd14_v3),
                           "--remove-underscore", "--character-tags-first"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == EXIT_SOME_FAILED, proc.stderr
    assert "2 captioned, 0 skipped, 1 failed" in proc.stdout
    assert "progress:" in proc.stderr  # not a TTY: plain lines
    assert (root / "5_girl" / "a.txt").read_text() == "hatsune miku (vocaloid), 1girl, solo, blue theme, ^_^\n"


def test_download_fails_fast_without_network(tmp_path, monkeypatch):
    """No network: one metadata request fails at once; hf_hub_download (which retries for ~25 s) is never called."""
    import huggingface_hub

    from loratui.captioners import store
    from loratui.core.errors import LoratuiError

    monkeypatch.setenv("LORATUI_MODEL_STORE", str(tmp_path / "store"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)

    def unreachable(self, repo_id, **kw):
        raise OSError("[Errno -2] Name or service not known")

    def never(*args, **kwargs):
        raise AssertionError("hf_hub_download was called")

    monkeypatch.setattr(huggingface_hub.HfApi, "model_info", unreachable)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", never)
    with pytest.raises(LoratuiError, match="offline or the hub cannot be reached.*model.onnx and selected_tags.csv"):
        store.download_wd14("SmilingWolf/wd-swinv2-tagger-v3")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(LoratuiError, match="HF_HUB_OFFLINE is set"):
        store.download_wd14("SmilingWolf/wd-swinv2-tagger-v3")
