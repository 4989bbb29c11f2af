"""`loratui train CONFIG --processes N` (engine/launch.py): N ranks through torch.distributed.run on the CPU
(gloo); rank 0 writes the LoRA once; a rank that dies ends the launch with one line naming it and its log;
Ctrl-C / SIGTERM stop every rank, saved, and exit 0 as one process does (130 / 143 only when nothing was saved:
tests/unit/test_launch_exits_and_words_k2.py); a bad N is refused naming --processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from types import SimpleNamespace

import pytest

from loratui.core.events import read_events
from loratui.engine import launch as launcher
from loratui.engine.run_peers import on_launcher_close
from fixtures.cli_run import run_main
from test_train import make_project, of

# rank 1 fails in train_loop (a sitecustomize on PYTHONPATH: only the process whose RANK is 1)
FAILING_RANK_HOOK = textwrap.dedent("""
    import os, sys
    if os.environ.get("RANK") == "1":
        import importlib.util

        class _FailTraining:
            def find_spec(self, name, path=None, target=None):
                if name != "loratui.engine.train":
                    return None
                sys.meta_path.remove(self)
                spec = importlib.util.find_spec(name)
                run = spec.loader.exec_module

                def exec_module(module):
                    run(module)

                    def train_loop(tr, reporter):
                        raise RuntimeError("injected failure in process 1")
                    module.train_loop = train_loop
                spec.loader.exec_module = exec_module
                return spec

        sys.meta_path.insert(0, _FailTraining())
""")


def _env(tmp_path, **more) -> dict:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "XDG_CACHE_HOME": str(tmp_path / "cache"), **more}


def _train(config, cwd, env, *args, timeout=300):
    return subprocess.run([sys.executable, "-m", "loratui", "train", str(config), "--processes", "2", *args],
                          cwd=cwd, capture_output=True, text=True, env=env, timeout=timeout)


@pytest.mark.slow
def test_two_processes_write_one_lora_that_loads(tiny_sd1_dir, tmp_path):
    from safetensors.torch import load_file

    config = make_project(tmp_path, tiny_sd1_dir)
    proc = _train(config, tmp_path, _env(tmp_path), "--max-steps", "2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "out"
    events = read_events(out / "tiny.events.jsonl")
    assert len(of(events, "run_started")) == 1 and of(events, "run_started")[0]["schedule"]["processes"] == 2
    assert [e["step"] for e in of(events, "step")] == [1, 2]
    assert of(events, "finished")[0]["reason"] == "completed"
    assert len([e for e in of(events, "checkpoint_saved") if e.get("path", "").endswith("tiny.safetensors")]) <= 1
    lora = load_file(str(out / "tiny.safetensors"))
    assert any(k.startswith("lora_unet_") and k.endswith(".alpha") for k in lora)
    # the per-process arithmetic, said once (rank 0), as `loratui steps --num-processes 2` says it
    assert proc.stderr.count("2 processes: steps per epoch = ceil(") == 1
    assert not list((tmp_path / "cache" / "loratui").glob("train-launch-*")), "a launch that ended well keeps no logs"


@pytest.mark.slow
def test_a_dying_rank_ends_the_launch_with_one_line_naming_it_and_its_log(tiny_sd1_dir, tmp_path):
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(FAILING_RANK_HOOK)
    config = make_project(tmp_path / "p", tiny_sd1_dir)
    path = os.pathsep.join(p for p in (str(hook), os.environ.get("PYTHONPATH", "")) if p)
    proc = _train(config, tmp_path / "p", _env(tmp_path, PYTHONPATH=path), "--max-steps", "2")
    assert proc.returncode == 1, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: process 1 of 2 exited with code 1: failed before the first step: "
                           "internal error: RuntimeError: injected failure in process 1"), last
    log = last.rsplit("its log: ", 1)[1].rstrip(")")
    assert "injected failure in process 1" in open(log, encoding="utf-8").read()
    assert "Traceback" not in proc.stderr and "ChildFailedError" not in proc.stderr  # no torchrun summary
    assert "SIGTERM: stopping" not in proc.stderr  # the agent closing rank 0 is no stop promising a save
    assert not (tmp_path / "p" / "out" / "tiny.safetensors").exists()
    assert not (tmp_path / "p" / "out" / "tiny.lock").exists()


@pytest.mark.slow
def test_sigterm_stops_every_rank_saved_and_exits_0(tiny_sd1_dir, tmp_path):
    config = make_project(tmp_path, tiny_sd1_dir, **{"training.max_train_epochs": 200})
    proc = subprocess.Popen([sys.executable, "-m", "loratui", "train", str(config), "--processes", "2"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(tmp_path))
    events_file = tmp_path / "out" / "tiny.events.jsonl"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not (events_file.exists() and of(read_events(events_file), "step")):
        assert proc.poll() is None, proc.stderr.read()[-3000:]
        time.sleep(0.5)
    ranks = _children(proc.pid)
    assert len(ranks) == 2
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-3000:]  # the LoRA was saved: `train && upload` goes on, as with one process
    last = err.strip().splitlines()[-1]
    assert last.startswith("interrupted (SIGTERM): all 2 processes stopped after their step; the LoRA saved at step ")
    finished = of(read_events(events_file), "finished")[-1]
    assert finished["reason"] == "stopped" and out.strip() == finished["output"]  # stdout: the LoRA's path
    assert (tmp_path / "out" / "tiny-state").is_dir()
    assert not [pid for pid in ranks if _alive(pid)]


def _children(pid: int) -> list[int]:
    import psutil

    return [child.pid for child in psutil.Process(pid).children()]


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


# ---- without a launch -------------------------------------------------------------------------------

def test_bad_process_counts_are_refused_naming_the_option(tiny_sd1_dir, tmp_path, capsys, monkeypatch):
    config = make_project(tmp_path, tiny_sd1_dir)
    for bad in ("0", "-2"):
        code, _, err = run_main(["train", config, "--processes", bad], capsys)
        assert code == 2 and err.count("\n") == 1 and "--processes: must be at least 1" in err, err
    monkeypatch.setattr(launcher, "cuda_gpu_count", lambda: 2)
    code, _, err = run_main(["train", config, "--processes", "3"], capsys)
    assert code == 2 and err.count("\n") == 1, err
    assert "--processes: 3: this machine has 2 CUDA GPU(s)" in err and "at most --processes 2" in err
    monkeypatch.setenv("WORLD_SIZE", "2")  # already a rank of torchrun: no launch inside a launch
    code, _, err = run_main(["train", config, "--processes", "2"], capsys)
    assert code == 2 and "--processes: this process is already one of 2" in err, err
    assert not (tmp_path / "out").exists()


def test_processes_problem():
    assert launcher.processes_problem(2, cuda_gpus=None) is None  # the CPU: gloo, any number
    assert launcher.processes_problem(2, cuda_gpus=2) is None
    assert launcher.processes_problem(0, cuda_gpus=None) == "--processes must be at least 1, not 0"
    assert launcher.processes_problem(4, cuda_gpus=1).startswith("--processes 4: this machine has 1 CUDA GPU(s)")


def test_the_ranks_forward_the_options_and_quiet_ranks_log_to_the_launch_folder(tmp_path):
    args = launcher.torchrun_args(3, tmp_path, ["c.toml", "--max-steps", "5", "--json"])
    assert "--redirects" not in args  # set in launch_config: torch parses one-digit ranks only (K6)
    assert args[args.index("--signals-to-handle") + 1] == "SIGQUIT"  # SIGHUP: the launcher itself passes it on as one stop
    assert args[args.index("-m"):] == ["-m", "loratui", "train", "c.toml", "--max-steps", "5", "--json"]


def test_the_failure_line_names_the_rank_that_failed_first(tmp_path):
    log = tmp_path / "run_x" / "attempt_0" / "1" / "stderr.log"
    log.parent.mkdir(parents=True)
    log.write_text("process 1: internal error: boom\n")
    fail = lambda code: SimpleNamespace(exitcode=code)  # noqa: E731
    named = {"event": "error", "kind": "process", "message": "process 1 failed at step 3: internal error: boom"}
    line = launcher.failure_line({0: fail(1), 1: fail(1)}, 2, tmp_path, named)
    assert line == (f"process 1 of 2 exited with code 1: failed at step 3: internal error: boom; the launch "
                    f"stopped (its log: {log})")
    # killed outright (the OOM killer); rank 0, closed while loading, exited 130: not the cause
    line = launcher.failure_line({0: fail(130), 1: fail(-signal.SIGKILL)}, 2, tmp_path, None)
    assert line.startswith("process 1 of 2 was killed by SIGKILL (the OOM killer, or `kill -9`)")
    # rank 0 failed itself (its own error event); rank 1 then stopped with it
    own = {"event": "error", "kind": "oom", "message": "out of GPU memory at step 2"}
    line = launcher.failure_line({0: fail(1), 1: fail(1)}, 2, tmp_path, own)
    assert line == ("process 0 of 2 exited with code 1: out of GPU memory at step 2; the launch stopped (its lines "
                    "above, and the run's events file)")


def test_stopped_line_says_what_was_saved():
    finished = {"event": "finished", "reason": "stopped", "step": 4, "output": "/o/tiny-step00000004.safetensors"}
    assert launcher.stopped_line([signal.SIGINT], 2, finished) == (
        "interrupted (SIGINT): all 2 processes stopped after their step; the LoRA saved at step 4: "
        "/o/tiny-step00000004.safetensors")
    assert launcher.stopped_line([signal.SIGINT, signal.SIGINT], 2, None).endswith("stopped at once; nothing saved")


def test_the_relay_carries_a_stop_to_every_rank_as_sigint(tmp_path, monkeypatch):
    """Ctrl-C or SIGTERM reaches a rank once as SIGINT (its graceful stop); a SIGTERM a rank gets is the agent's."""
    script = ("import signal, sys, time\n"
              "signal.signal(signal.SIGINT, lambda s, f: (open(sys.argv[1], 'a').write('INT\\n'), sys.exit(0)))\n"
              "print('ready', flush=True)\ntime.sleep(30)\n")
    child = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "got")], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        monkeypatch.setattr(launcher, "_children", lambda: [child.pid])
        relay = launcher.SignalRelay()
        relay.received.append(signal.SIGTERM)
        relay.forward()
        relay.forward()  # once per signal received, not once per look
        assert child.wait(timeout=20) == 0
        assert (tmp_path / "got").read_text() == "INT\n"
    finally:
        child.kill()


def test_a_rank_closed_by_the_launch_stops_quietly(capsys):
    trainer = SimpleNamespace(stop_requested=False)
    run = SimpleNamespace(peer_failed=False, peer_closed=False, training_began=True, trainer=trainer,
                          stop_asked_while_loading=None)
    on_launcher_close(run, signal.SIGTERM, None)
    assert trainer.stop_requested and run.peer_closed and capsys.readouterr().err == ""
    loading = SimpleNamespace(peer_failed=False, peer_closed=False, training_began=False, trainer=None,
                              stop_asked_while_loading=None)
    on_launcher_close(loading, signal.SIGTERM, None)
    assert loading.stop_asked_while_loading == "SIGTERM"

