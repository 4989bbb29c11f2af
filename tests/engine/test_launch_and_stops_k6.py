"""K6: `train --processes N` for any N (torch's --redirects parser took one-digit ranks only), a CPU launch
of more processes than cores warned about; a SIGTERM after a SIGHUP is the same stop, not a second one
(one process and the launcher); a second stop during a save waits for the save, then stops, naming the
LoRA that save wrote; a bad WORLD_SIZE is bad input naming it (exit 2)."""

from __future__ import annotations

import signal
from types import SimpleNamespace

import pytest

from loratui.core.events import read_events
from loratui.engine import launch as launcher
from loratui.engine.run_controls import RunControls, SavesFinishFirst
from fixtures.cli_run import run_main
from test_train import make_project, of


# ---- 1: any number of processes ---------------------------------------------------------------------------

def test_twelve_processes_get_a_launch_config_with_ranks_1_to_11_logged(tmp_path):
    from torch.distributed.elastic.multiprocessing import Std

    args = launcher.torchrun_args(12, tmp_path, ["c.toml", "--json"])
    assert "--redirects" not in args and args[args.index("--nproc_per_node") + 1] == "12"
    config, entrypoint, entry_args = launcher.launch_config(12, tmp_path, ["c.toml", "--json"])
    assert config.nproc_per_node == 12 and config.rdzv_backend == "c10d"
    assert config.logs_specs._redirects == {rank: Std.ALL for rank in range(1, 12)}  # rank 0 keeps the terminal
    assert config.logs_specs.root_log_dir == str(tmp_path)
    assert entry_args[-4:] == ["loratui", "train", "c.toml", "--json"]


def test_more_cpu_processes_than_cores_is_a_warning_naming_the_option():
    line = launcher.cpu_processes_warning(12, cuda_gpus=None, cpus=2)
    assert line.startswith("warning: --processes 12 on a CPU with 2 core(s)") and "\n" not in line
    assert launcher.cpu_processes_warning(2, cuda_gpus=None, cpus=2) is None
    assert launcher.cpu_processes_warning(12, cuda_gpus=12, cpus=2) is None  # GPUs: processes_problem caps them


def test_the_cli_warns_then_launches(tiny_sd1_dir, tmp_path, capsys, monkeypatch):
    config = make_project(tmp_path, tiny_sd1_dir)
    launched = []
    monkeypatch.setattr(launcher, "cuda_gpu_count", lambda: None)
    monkeypatch.setattr(launcher, "launch", lambda n, args, events_file: launched.append(n) or 0)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    code, _, err = run_main(["train", config, "--processes", "12"], capsys)
    assert code == 0 and launched == [12]
    assert "warning: --processes 12 on a CPU with 2 core(s)" in err


# ---- 2: SIGTERM after SIGHUP; a second stop during a save -----------------------------------------------

def _run(world=1, began=True):
    said = []
    return SimpleNamespace(world=world, training_began=began, signals_seen=0, peer_failed=False, say=said.append,
                           trainer=SimpleNamespace(stop_requested=False), stop_asked_while_loading=None), said


@pytest.mark.parametrize("world", [1, 2])
def test_a_sigterm_after_a_sighup_is_the_same_stop(world):
    run, said = _run(world)
    RunControls._on_signal(run, signal.SIGHUP, None)
    RunControls._on_signal(run, signal.SIGTERM, None)  # logout's, after the hangup: no KeyboardInterrupt
    assert run.trainer.stop_requested and run.signals_seen == 1
    assert "a second SIGHUP or a SIGTERM is ignored; Ctrl-C to stop at once" in said[0]
    with pytest.raises(KeyboardInterrupt):
        RunControls._on_signal(run, signal.SIGINT, None)  # typed at a terminal still there: at once


def test_a_sigterm_after_a_sigint_still_stops_at_once():
    run, _ = _run()
    RunControls._on_signal(run, signal.SIGINT, None)
    with pytest.raises(KeyboardInterrupt):
        RunControls._on_signal(run, signal.SIGTERM, None)


def test_the_launcher_ignores_a_sigterm_after_a_sighup():
    relay = launcher.SignalRelay()
    relay._on_signal(signal.SIGHUP, None)
    relay._on_signal(signal.SIGTERM, None)
    assert relay.received == [signal.SIGHUP]  # one stop: the ranks get one SIGINT, and save
    relay._on_signal(signal.SIGINT, None)
    assert relay.received == [signal.SIGHUP, signal.SIGINT]
    other = launcher.SignalRelay()
    other._on_signal(signal.SIGINT, None)
    other._on_signal(signal.SIGTERM, None)
    assert other.received == [signal.SIGINT, signal.SIGTERM]


class _Saves:
    """Stands in for RunSaves: the LoRA is written in two halves, a signal arriving between them."""

    def save_lora(self, tr, kind):
        path = self.out / f"step{tr.step}.safetensors"
        self.last_save = (tr.step, path)
        path.write_text("first half ")
        for signum in self.signals_mid_save:
            self._on_signal(signum, None)
        with path.open("a") as f:
            f.write("second half")
        if self.save_state_flag:
            self.save_state(tr, path.with_suffix(".state"))
        return path

    def save_state(self, tr, folder):
        folder.write_text("state")


class _Run(SavesFinishFirst, _Saves, RunControls):
    def __init__(self, out, signals, save_state_flag=False):
        self.out, self.signals_mid_save, self.save_state_flag = out, signals, save_state_flag
        self.world, self.training_began, self.signals_seen, self.peer_failed = 1, True, 0, False
        self.trainer, self.stop_asked_while_loading = SimpleNamespace(stop_requested=False), None
        self.is_main, self.last_save, self.saved_lora, self.said = True, None, None, []

    def say(self, text):
        self.said.append(text)


def test_a_second_ctrl_c_during_a_save_waits_for_it_then_stops(tmp_path):
    run = _Run(tmp_path, [signal.SIGINT, signal.SIGINT, signal.SIGTERM], save_state_flag=True)
    tr = SimpleNamespace(step=3)
    with pytest.raises(KeyboardInterrupt):
        run.save_lora(tr, "step")
    assert (tmp_path / "step3.safetensors").read_text() == "first half second half"  # written whole
    assert (tmp_path / "step3.state").read_text() == "state"  # the state that save writes with it, too
    assert run.saved_lora == tmp_path / "step3.safetensors" and run.saves_under_way == 0
    assert run.said[-1].lstrip().startswith("SIGINT: the save under way ends first, then the run stops")
    # outside a save the second signal stops at once, as before
    plain = _Run(tmp_path, [])
    plain._on_signal(signal.SIGINT, None)
    with pytest.raises(KeyboardInterrupt):
        plain._on_signal(signal.SIGINT, None)


def test_a_run_stopped_twice_during_a_save_names_that_lora_and_exits_0(tiny_sd1_dir, tmp_path, capsys,
                                                                      monkeypatch):
    import os

    from loratui.engine import network

    config = make_project(tmp_path, tiny_sd1_dir, **{"saving.save_every_n_steps": 1})
    real = network.save_lora

    def save_with_two_ctrl_cs(path, *args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)  # the first: stop after this step
        os.kill(os.getpid(), signal.SIGINT)  # the second, mid-save: the save ends first
        return real(path, *args, **kwargs)

    monkeypatch.setattr(network, "save_lora", save_with_two_ctrl_cs)
    code, out, err = run_main(["train", config, "--max-steps", "3"], capsys)
    saved = tmp_path / "out" / "tiny-step00000001.safetensors"
    assert code == 0, err
    assert out.strip() == str(saved) and saved.stat().st_size > 0
    assert f"stopped; the LoRA saved at step 1: {saved}" in err
    finished = of(read_events(tmp_path / "out" / "tiny.events.jsonl"), "finished")[-1]
    assert finished["reason"] == "stopped" and finished["output"] == str(saved) and finished["step"] == 1


# ---- 3: WORLD_SIZE ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("extra", [[], ["--processes", "2"]])
def test_a_bad_world_size_is_bad_input_naming_it(tiny_sd1_dir, tmp_path, capsys, monkeypatch, extra):
    config = make_project(tmp_path, tiny_sd1_dir)
    monkeypatch.setenv("WORLD_SIZE", "two")
    code, _, err = run_main(["train", config, *extra], capsys)
    assert code == 2 and err.count("\n") == 1, err
    assert "WORLD_SIZE='two'" in err and "not a whole number" in err and "internal error" not in err
    assert not (tmp_path / "out").exists()
