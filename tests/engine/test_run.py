"""run.py / `loratui train`: the lock, config-time errors, --json events on stdout, fp16 on CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from loratui.commands.train_cmd import train
from loratui.core.errors import LoratuiError
from loratui.core.events import lock_path
from test_train import make_project, of, run


def test_a_live_lock_refuses_a_second_run(tiny_sd1_dir, tmp_path):
    config = make_project(tmp_path, tiny_sd1_dir)
    (tmp_path / "out").mkdir()
    lock_path(tmp_path / "out", "tiny").write_text(f"{os.getpid()}\n")
    with pytest.raises(LoratuiError, match=f"another run \\(pid {os.getpid()}\\)"):
        run(config)
    assert not (tmp_path / "out" / "tiny.events.jsonl").exists()
    assert lock_path(tmp_path / "out", "tiny").read_text() == f"{os.getpid()}\n"  # not ours to remove


def test_cli_json_fp16_max_steps_and_a_stale_lock(tiny_sd1_dir, tmp_path):
    config = make_project(tmp_path, tiny_sd1_dir, **{"training.mixed_precision": "fp16",
                                                      "network.network_train_unet_only": True})
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / "out").mkdir()
    lock_path(tmp_path / "out", "tiny").write_text(dead.stdout)
    events_file = tmp_path / "elsewhere" / "run.jsonl"
    events_file.parent.mkdir()
    result = CliRunner().invoke(train, [str(config), "--json", "--max-steps", "2", "--save-state",
                                        "--events", str(events_file)])
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [e["event"] for e in events][:3] == ["warning", "warning", "run_started"]
    assert "stale lock" in events[0]["message"]
    assert "training on the CPU with mixed_precision = \"fp16\"" in events[1]["message"]  # slow there: said
    assert [e["step"] for e in of(events, "step")] == [1, 2]
    assert of(events, "finished")[0]["reason"] == "completed"
    assert (tmp_path / "out" / "tiny-state" / "state.json").is_file()  # --save-state
    assert not lock_path(tmp_path / "out", "tiny").exists()
    standard = tmp_path / "out" / "tiny.events.jsonl"  # a link, so attach and the app find the run
    assert standard.is_symlink() and standard.resolve() == events_file.resolve()
    with open(events_file, encoding="utf-8") as fh:
        assert [json.loads(x) for x in fh] == events
    from loratui.core.runs import list_runs

    assert [r.name for r in list_runs(tmp_path / "out")] == ["tiny"]


def test_config_time_errors(tiny_sd1_dir, tmp_path):
    config = make_project(tmp_path, tiny_sd1_dir, **{"training.sdpa": False, "training.xformers": True})
    result = CliRunner().invoke(train, [str(config)])
    assert isinstance(result.exception, LoratuiError) and "xformers is not installed" in str(result.exception)
    result = CliRunner().invoke(train, [str(config), "--resume", str(tmp_path / "img")])
    assert isinstance(result.exception, LoratuiError)
    assert not (tmp_path / "out").exists()  # nothing written before the checks pass


def test_bad_input_exits_2_for_real(tmp_path):
    (tmp_path / "config.toml").write_text("[training]\nno_such_key = 1\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "loratui", "train", str(tmp_path / "config.toml")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and "no_such_key" in proc.stderr and "Traceback" not in proc.stderr


def test_out_of_memory_is_an_error_event_with_a_hint(tiny_sd1_dir, tmp_path, monkeypatch):
    import torch

    from loratui.engine import train as train_module

    def oom(tr, hooks):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(train_module, "train_loop", oom)
    config = make_project(tmp_path, tiny_sd1_dir)
    code, events = run(config)
    assert code == 1
    error = of(events, "error")[0]
    assert error["kind"] == "oom" and "sd15-8gb" in error["hint"] and "gradient_checkpointing" in error["hint"]
    assert of(events, "finished")[0]["reason"] == "error"
    assert not lock_path(tmp_path / "out", "tiny").exists()


PREFLIGHT_PROBE = """
import sys
from click.testing import CliRunner
from loratui.commands.train_cmd import train
from loratui.core.errors import LoratuiError
result = CliRunner().invoke(train, [sys.argv[1]])
assert isinstance(result.exception, LoratuiError), repr(result.exception)
heavy = sorted(m for m in ("torch", "diffusers", "transformers") if m in sys.modules)
print(type(result.exception).__name__, "|", result.exception, "|", ",".join(heavy) or "none")
"""


@pytest.mark.parametrize("case", ["missing", "bad_toml", "no_dataset", "live_lock"])
def test_train_refuses_before_importing_the_ml_stack(tiny_sd1_dir, tmp_path, case):
    """A missing config, a config error, a dataset error or a held lock: one line in a fraction of a second,
    before torch / diffusers / transformers are imported (issue 12)."""
    config = make_project(tmp_path, tiny_sd1_dir)
    expected = {"missing": "no such config file", "bad_toml": "not valid TOML", "no_dataset": "img",
                "live_lock": f"another run (pid {os.getpid()})"}[case]
    if case == "missing":
        config = tmp_path / "nope.toml"
    elif case == "bad_toml":
        config.write_text(config.read_text() + "\nx = [\n")
    elif case == "no_dataset":
        import shutil

        shutil.rmtree(tmp_path / "img")
    else:
        (tmp_path / "out").mkdir()
        lock_path(tmp_path / "out", "tiny").write_text(f"{os.getpid()}\n")
    probe = subprocess.run([sys.executable, "-c", PREFLIGHT_PROBE, str(config)], capture_output=True, text=True,
                           timeout=120)
    name, message, heavy = (part.strip() for part in probe.stdout.strip().rsplit("\n", 1)[-1].split("|"))
    assert probe.returncode == 0 and name.endswith("Error"), probe.stdout + probe.stderr
    assert expected in message
    assert heavy == "none"


def test_left_out_images_are_warnings_and_counted(tiny_sd1_dir, tmp_path, capsys):
    """Every image the data leaves out is a warning event and a stderr line; the summary counts them."""
    from test_train import of, run

    config = make_project(tmp_path, tiny_sd1_dir, **{"training.max_train_steps": 1})
    (tmp_path / "img" / "2_shp" / "broken.png").write_bytes(b"")
    code, events = run(config)
    assert code == 0
    warnings = [e["message"] for e in of(events, "warning") if "broken.png" in e["message"]]
    assert len(warnings) == 1 and "empty file" in warnings[0]
    assert of(events, "run_started")[-1]["dataset"]["skipped_images"] == 1
    err = capsys.readouterr().err
    assert "broken.png: empty file" in err and "1 image(s) left out" in err


def test_a_full_disk_during_a_save_is_one_line(tiny_sd1_dir, tmp_path, monkeypatch, capsys):
    import errno

    from loratui.core import fsutil
    from test_train import of, run

    config = make_project(tmp_path, tiny_sd1_dir, **{"training.max_train_steps": 1})

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fsutil, "atomic_write_bytes", full)
    code, events = run(config)
    assert code == 1
    error = of(events, "error")[-1]
    assert error["kind"] == "disk_full" and "no space left on" in error["message"]
    err = capsys.readouterr().err
    assert "Traceback" not in err and "error: no space left on" in err


def test_a_dangling_events_link_from_an_earlier_events_run_is_replaced(tiny_sd1_dir, tmp_path):
    """The link --events leaves made the next plain run fail with FileNotFoundError once its file went."""
    config = make_project(tmp_path, tiny_sd1_dir)
    (tmp_path / "out").mkdir()
    standard = tmp_path / "out" / "tiny.events.jsonl"
    os.symlink(tmp_path / "gone" / "run.jsonl", standard)
    result = CliRunner().invoke(train, [str(config), "--max-steps", "1"])
    assert result.exit_code == 0, result.output
    assert not standard.is_symlink() and '"finished"' in standard.read_text()
