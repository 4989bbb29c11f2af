"""`loratui train CONFIG`: config -> checks -> model + LoRA + data -> train_loop -> files and events.

Everything a run writes lives in the config's output_dir:
  NAME.safetensors                 the final LoRA (kohya format, ss_* metadata)
  NAME-000004.safetensors          every save_every_n_epochs; NAME-step00000500.safetensors every N steps
  NAME-state/                      full training state (on stop, at the end if asked); --resume it
  NAME.events.jsonl, NAME.lock     the event stream (core/events.py) and the live run's pid
  NAME.control.jsonl               save / sample / stop requests to the live run (core/run_control.py)
  sample/                          sample images
The output folder deleted while the run goes on (an `rm -rf` of the wrong folder): the run notices at
its next event (at most every OUTPUT_CHECK_EVERY seconds) or save, makes the folder, the lock and the
events file again (the events file starts with the run's run_started again), points a deleted
NAME.log that stdout/stderr went to (the TUI's start) at a new one, says what was lost in a
warning, and goes on: the weights are in memory; the files the folder held are not.
Several processes (torchrun / accelerate launch): every rank trains its shard, only rank 0
writes files and events.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import torch

from loratui.core.errors import LoratuiError
from loratui.core.events import EventWriter, RunLock, events_path, lock_path
from loratui.core.run_control import ControlReader
from loratui.engine.run_checks import (check_config, config_digest, cpu_slow_settings, crash_line, nan_hint,
                                      oom_hint)
from loratui.engine.run_controls import RunControls, SavesFinishFirst
from loratui.engine.run_error_ends import crash_log_words, end_on_bad_file
from loratui.engine.run_events import CacheProgress, Reporter, RunEvents, tell
from loratui.engine.run_folder import RunFolder, reopen_deleted_log
from loratui.engine.run_peers import (is_collective_failure, leave_note, on_launcher_close, report_peer_failure,
                                     under_launcher)
from loratui.engine.run_precision import grad_scaler, run_dtypes
from loratui.engine.run_resume import RunResume
from loratui.engine.run_saves import RunSaves, disk_full_hint, sd_scripts_bucket_info
from loratui.engine.schedule_line import schedule_line

# where they were before run.py was split: other modules and tests import (and patch) them from here
__all__ = ["CacheProgress", "Reporter", "Run", "check_config", "config_digest", "cpu_slow_settings",
           "reopen_deleted_log", "run_training", "sd_scripts_bucket_info"]


class Run(RunEvents, RunFolder, SavesFinishFirst, RunSaves, RunResume, RunControls):
    """One training run (see the module docstring): the checks, the output folder opened, the model, LoRA
    and data built, train_loop, the last saves. What it writes and tells is in the mixins:
    run_events.py (events, console), run_folder.py (the output folder), run_saves.py (LoRAs, states,
    samples), run_resume.py (--resume), run_controls.py (control requests, signals)."""

    def __init__(self, config_path: str, *, resume: str | None = None, save_state: bool = False,
                 events_override: str | None = None, echo_json: bool = False, max_steps: int | None = None,
                 show_progress: bool | None = None, max_epochs: int | None = None,
                 extend_epochs: int | None = None, launched_at: float | None = None):
        from loratui.core.config import cache_latents_note, load_config, resolve_path, with_resolved_paths
        from loratui.core.run_control import launch_time

        self.config_path = config_path
        written = load_config(config_path)
        # what with_resolved_paths' copy no longer shows (cache_latents_to_disk turned cache_latents on):
        # said as a warning after run_started, as sd-scripts logs it
        self.config_notes = [note for note in (cache_latents_note(written),) if note]
        self.cfg = with_resolved_paths(written)
        if max_steps is not None:
            self.cfg.training.max_train_steps = max_steps
            self.cfg.training.max_train_epochs = None
        if max_epochs is not None:
            self.cfg.training.max_train_epochs = max_epochs
            self.cfg.training.max_train_steps = None
        self.extend_epochs = extend_epochs
        self.max_steps_override = max_steps
        self.skipped_images = 0
        self.resume = resume or (resolve_path(self.cfg, self.cfg.saving.resume) if self.cfg.saving.resume else None)
        self.resume = os.path.abspath(self.resume) if self.resume else None  # events and messages: wherever read
        self.state_saved_at = 0.0  # when the resumed state was saved (engine/outputs.py compares with it)
        self.later_run_events = self.history_copied = False
        self.save_state_flag = save_state or self.cfg.saving.save_state
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.is_main = self.rank == 0
        self.output_dir = Path(resolve_path(self.cfg, self.cfg.saving.output_dir))
        self.name = self.cfg.saving.output_name
        self.events_file = Path(events_override) if events_override else events_path(self.output_dir, self.name)
        self.echo_json = echo_json
        self.show_progress = sys.stderr.isatty() if show_progress is None else show_progress
        self.writer: EventWriter | None = None
        self.lock = RunLock(lock_path(self.output_dir, self.name))
        self.trainer = None
        self.prompts = None  # the sample prompts last read well (run_saves.py reads the file at each sampling)
        self.prompts_problem: str | None = None  # what is wrong with the prompt file now, once said
        self.started_at = time.time()
        # control requests made since then are this run's (core/run_control.py ControlReader); run_started says it
        self.launched_at = launched_at or launch_time() or self.started_at
        self.session_id = int.from_bytes(os.urandom(4), "little")
        self.last_line = 0.0
        self.bar_open = False  # a progress line without its newline is on the terminal
        self.model_hashes: dict | None = None  # base-model hashes for the metadata, computed once
        self.signals_seen = 0
        self.training_began = False  # until train_loop starts, a signal stops at the next loading stage
        self.stop_asked_while_loading: str | None = None  # the signal's name (run_controls.py)
        self.controls: ControlReader | None = None  # the first process reads NAME.control.jsonl
        self.waiting: dict[str, list[dict]] = {}  # requests read, answered once done
        self.last_save: tuple[int, Path] | None = None  # (step, LoRA) of the latest save
        self.saved_lora: Path | None = None  # the run's last LoRA (final, or the stop's), once written
        self.started_event: dict | None = None  # run_started as written: a remade events file starts with it
        self._output_checked = 0.0
        self._remaking = False
        self._remake_failed = False
        self.writing: tuple | None = None  # (path, its size: a function, what) of the save under way
        self.peer_failed = False  # another process failed (run_peers.py): nothing more can be saved
        self.peer_closed = False  # `train --processes N`: the launch closed this rank after another ended
        self.device: torch.device | None = None

    # ---- the run --------------------------------------------------------------------------------

    def execute(self) -> int:
        """Run to the end; returns the process exit code (0 finished or stopped, 1 training error).

        Bad input raises LoratuiError before anything is written (the CLI exits 2); one once training
        began (an image deleted mid-run) saves and exits 1 (run_error_ends.py); an OSError naming a
        file (other than a full disk) is raised too, after the events of the end, with the lock released.
        """
        from loratui.core.plan import compute_schedule, scan_for_config

        check_config(self.cfg)
        scan = scan_for_config(self.cfg)
        self.resume_info = resume_note = None
        self.resume_notes: list[str] = []
        self.resume_changes: str | None = None
        self.state_run_epochs: int | None = None
        if self.extend_epochs is not None:
            if not self.resume:
                raise LoratuiError("--extend-epochs needs --resume STATE_DIR: the state of the run to continue")
            if self.extend_epochs < 1:
                raise LoratuiError(f"--extend-epochs must be at least 1, not {self.extend_epochs}")
        if self.resume:
            from loratui.engine.resume_check import check_resume, state_saved_at

            # every refusal here comes before a model loads and before anything is written
            checked = check_resume(self.cfg, scan, self.resume, world=self.world, extend_epochs=self.extend_epochs,
                                   max_steps=self.max_steps_override)
            self.resume, resume_note = str(checked["state"]), checked["note"]  # a kill mid-save: the complete one
            self.resume_info, self.resume_notes = checked["info"], checked["notes"]
            self.resume_changes, self.state_run_epochs = checked["changes"], checked["run_epochs"]
            self.state_saved_at = state_saved_at(self.resume, self.resume_info)
        schedule = compute_schedule(self.cfg, scan, self.world)
        # SIGHUP (the terminal, SSH link or tmux pane closed) stops as SIGTERM does; it never counts as the
        # second signal that stops unsaved: the kernel and the shell may each send one (nor does a SIGTERM after it)
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        started = time.perf_counter()
        # the events of the end (error, finished) go through emit_last: the events file itself may be
        # what failed (a full disk), and that must not hide the error or keep the lock
        try:
            for sig in previous:
                launch_close = sig == signal.SIGTERM and self.world > 1 and under_launcher()
                signal.signal(sig, (lambda s, f: on_launcher_close(self, s, f)) if launch_close else
                              (lambda s, f: self.signals_seen or self._on_signal(s, f)) if sig == signal.SIGHUP
                              else self._on_signal)
            self.count_signals()  # two signals during one long torch call are two (run_controls.SignalCount)
            # several processes meet first: a process that never comes (refused, killed) leaves the first
            # one waiting here, holding no lock and having written no events file for torchrun to strand
            self.device = self._setup_distributed()
            if self.is_main:  # inside: a full disk here still releases the lock it took
                self._open_output(resume_note)
            return self._train(schedule)
        except KeyboardInterrupt:
            if self.peer_closed:  # `train --processes N` closed this rank while loading: another one ended
                self.peer_failed = True
                return report_peer_failure(self, None, started)
            # a signal while loading (nothing trained yet), or a second Ctrl-C: stop without saving more; a
            # LoRA a save finished first (SavesFinishFirst) is named, and the run exits 0 as a stop that saved
            tr, output = self.trainer, self._saved_output()
            self.emit_last("finished", reason="stopped", step=tr.step if tr else 0, epoch=self._epoch_now(),
                           output=output, elapsed_s=round(time.perf_counter() - started, 1))
            self.say(f"stopped; the LoRA saved at step {tr.step}: {output}" if output else "stopped (nothing saved)")
            if output and not self.echo_json:
                tell(output, stream=sys.stdout)
            return 0 if output else 130  # interrupted unsaved: `train && upload` must not go on
        except torch.cuda.OutOfMemoryError:
            step = self.trainer.step if self.trainer else 0
            message = f"out of GPU memory {'while loading / caching' if not self.trainer else f'at step {step + 1}'}"
            if not self.is_main:  # the first process names it (run_peers.py)
                leave_note(self.rank, f"error: {message}")
            hint = oom_hint(self.cfg, getattr(getattr(self, "base", None), "family", None), self.config_path)
            self.emit_last("error", message=message, hint=hint, kind="oom")
            self.emit_last("finished", reason="error", step=step, epoch=self._epoch_now(),
                           output=None, elapsed_s=round(time.perf_counter() - started, 1))
            if self.is_main:
                tell(f"error: {message}\nhint: {hint}")
            return 1
        except Exception as exc:
            if is_collective_failure(exc, self.world):  # another process failed: name it, not a bug here
                self.peer_failed = True  # torchrun's SIGTERM that follows promises nothing (_on_signal)
                return report_peer_failure(self, exc, started)
            full = self._disk_full_line(exc)
            if full:
                step, epoch = (self.trainer.step, self._epoch_now()) if self.trainer else (0, 0)
                self.emit_last("error", message=full, kind="disk_full", hint=disk_full_hint(exc, full))
                self.emit_last("finished", reason="error", step=step, epoch=epoch, output=self._saved_output(),
                               elapsed_s=round(time.perf_counter() - started, 1))
                if self.is_main:
                    saved = f"\nthe LoRA was saved before that: {self.saved_lora}" if self.saved_lora else ""
                    tell(f"error: {full}{saved}")
                return 1
            from loratui.engine.data import DataFileError  # a file the run reads, not the config or the folder

            if isinstance(exc, DataFileError) and self.training_began and self.trainer is not None:
                return end_on_bad_file(self, exc, started)  # an image gone mid-run: save, exit 1
            if isinstance(exc, LoratuiError):
                self.emit_last("error", message=str(exc), hint="fix the config and start again", kind="config")
                self.emit_last("finished", reason="error", step=0, epoch=0, output=None,
                               elapsed_s=round(time.perf_counter() - started, 1))
                raise
            if isinstance(exc, OSError) and exc.filename:
                # a file the run cannot open or write (permissions, an immutable events file, a path that
                # is a folder): the user's to fix, not a bug. The CLI's main says it in one line naming
                # the file and exits 2, as it did before the output was opened inside this try
                from loratui.core.fsutil import describe_os_error

                self.emit_last("error", message=f"{exc.filename}: {describe_os_error(exc)}", kind="file",
                               hint="check that file's permissions (or the path) and start again")
                self.emit_last("finished", reason="error", step=self.trainer.step if self.trainer else 0,
                               epoch=self._epoch_now(), output=self._saved_output(),
                               elapsed_s=round(time.perf_counter() - started, 1))
                raise
            # a bug: the traceback to a crash log (engine/run_checks.py), one line on stderr naming it, as
            # the CLI's main says any other bug; the error event's hint names the log too. Every process
            # says its own (a bug on one of several is that one's alone)
            line = crash_line(exc)
            where = crash_log_words(line)
            if not self.is_main:
                line = f"process {self.rank}: {line}"
                leave_note(self.rank, line)  # the first process names it (run_peers.py)
            self.emit_last("error", message=f"{type(exc).__name__}: {exc}", kind="crash",
                           hint=f"this is a bug in loratui or a broken input file; {where}")
            self.emit_last("finished", reason="error", step=self.trainer.step if self.trainer else 0,
                           epoch=self._epoch_now(), output=self._saved_output(),
                           elapsed_s=round(time.perf_counter() - started, 1))
            tell(line)
            return 1
        finally:
            self.stop_counting_signals()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            try:
                if self.writer is not None:
                    self.writer.close()
            finally:
                self.lock.release()  # whatever else failed: a lock left behind blocks the next run

    def _disk_full_line(self, exc: BaseException) -> str | None:
        """A full disk as one line: the save under way (run_saves.py), or else the file the failed write
        named (the events file), rather than the output folder."""
        from loratui.core.diskspace import disk_full_message
        from loratui.engine.run_saves import with_resume_hint

        filename = getattr(exc, "filename", None)
        if self.writing is None and filename:  # a sample image, the events file: the newest state named too
            return with_resume_hint(disk_full_message(exc, filename), self.output_dir, self.name, self.config_path)
        return self._disk_full(exc)

    def _setup_distributed(self) -> torch.device:
        """One process: cuda:0 or the CPU. Several (torchrun / accelerate launch): accelerate's process group."""
        if self.world > 1:
            from accelerate import Accelerator

            accelerator = Accelerator(cpu=not torch.cuda.is_available())
            self.rank, self.world = accelerator.process_index, accelerator.num_processes
            self.is_main = accelerator.is_main_process
            return accelerator.device
        return torch.device("cuda", torch.cuda.current_device()) if torch.cuda.is_available() else torch.device("cpu")

    def _train(self, schedule) -> int:
        from loratui.core.plan import estimate_vram
        from loratui.engine.data import TrainingData
        from loratui.engine.models import load_base_model
        from loratui.engine.network import inject_lora
        from loratui.engine.optim import build_lr_scheduler, build_optimizer
        from loratui.engine.speed import apply_speed, compile_cache_dir, plan_speed
        from loratui.engine.train import NonFiniteLoss, Trainer, train_loop

        cfg = self.cfg
        device = self.device  # execute: the processes have met
        loaded = self.stop_if_asked_while_loading  # a stop asked while loading ends the run at these points
        loaded()
        weight_dtype, autocast_dtype, lora_dtype = run_dtypes(cfg, device)
        slow = cpu_slow_settings(cfg) if device.type == "cpu" else []
        if slow:
            self.warn(f"training on the CPU with {' and '.join(slow)}, which run about 10x slower there than "
                      f"optimizer_type = \"AdamW\" with mixed_precision = \"no\": set those two for CPU runs")
        self.say(f"loading {cfg.model.pretrained_model_name_or_path} ...")
        base = load_base_model(cfg.model, dtype=weight_dtype, device=device)
        base.vae.to(dtype=torch.float32)  # encode in fp32: the SD/SDXL VAEs overflow in fp16
        self.base = base
        self.say(f"model: {base.source_description}")
        for line in getattr(base, "notes", ()):  # a scheduler that makes the run v-prediction, ...
            self.say(f"note: {line}")
        loaded()
        if base.family == "sdxl" and cfg.training.clip_skip and cfg.training.clip_skip > 1:
            self.warn(f"training.clip_skip = {cfg.training.clip_skip} is ignored for SDXL, which always uses the "
                      "penultimate layer (sd-scripts ignores it too)")
        if cfg.sampling.sample_prompts and self.is_main:
            from loratui.engine.sampling import parse_prompts

            # refused here if bad; each sampling reads it again, 512x512 default too (run_saves.py current_prompts)
            self.prompts = parse_prompts(cfg.sampling.sample_prompts)
        if not cfg.training.sdpa and not cfg.training.xformers:
            from diffusers.models.attention_processor import AttnProcessor

            base.unet.set_attn_processor(AttnProcessor())
        elif cfg.training.xformers:
            base.unet.enable_xformers_memory_efficient_attention()
        torch.manual_seed(cfg.training.seed)  # the LoRA's initial weights: the same on every process
        # network_weights is read where the config says: the last run's files move aside only later
        network = inject_lora(base, cfg.network)
        for line in getattr(network, "notes", ()):  # network_weights' untrained part left out
            self.warn(line)
        network.to(device=device, dtype=lora_dtype)
        self.network = network
        loaded()
        if self.world > 1:
            import torch.distributed as dist

            for p in network.parameters():
                dist.broadcast(p.data, src=0)
        if cfg.training.gradient_checkpointing:
            base.unet.enable_gradient_checkpointing()
            if network.train_te:
                for te in base.text_encoders:
                    # transformers 5.2x renamed it (the old name warns on every run); older 5.x have only the old one
                    enable = getattr(te, "activation_checkpointing_enable", None) or te.gradient_checkpointing_enable
                    enable()
        speed = plan_speed(cfg, device)
        apply_speed(speed, base, network)
        base.unet.train()
        if network.train_te:
            for te in base.text_encoders:
                te.train()
        data = TrainingData(cfg, base, device=device, weight_dtype=weight_dtype, process_index=self.rank,
                            num_processes=self.world)
        data.pinned = speed.pinned_transfers
        self.fit_schedule_to_state(data)  # a resumed plan from an origin (engine/run_resume.py)
        loaded()
        self.skipped_images = len(data.skipped)
        for line in data.skipped + data.caption_notes:  # a warning event and a line naming the file and why
            self.warn(line)
        o = cfg.optimizer
        groups = network.param_groups(o.unet_lr, o.text_encoder_lr, o.learning_rate)
        if not groups:
            raise LoratuiError("nothing to train: unet_lr and text_encoder_lr are 0 (or the network is empty)")
        optimizer = build_optimizer(cfg, groups, fused=speed.fused_optimizer)
        base_lrs = [group["lr"] for group in optimizer.param_groups]  # this config's, before a resume restores
        scheduler = build_lr_scheduler(cfg, optimizer, data.total_steps)
        scaler = grad_scaler(device, full_fp16=cfg.training.full_fp16) if autocast_dtype == torch.float16 else None
        generator = torch.Generator(device=device).manual_seed(cfg.training.seed + 1000 * self.rank)
        tr = Trainer(cfg, base, network, data, optimizer, scheduler, device, autocast_dtype, scaler, generator,
                     world_size=self.world, speed=speed)
        est = estimate_vram(cfg, family=base.family, largest_bucket=max(data.schedule.buckets.values(), default=None))
        self.started_event = self.emit(
            "run_started", config=str(Path(self.config_path).resolve()), output_dir=str(self.output_dir),
            output_name=self.name,
            model={"family": base.family, "v_prediction": base.v_prediction, "source": base.source_description},
            dataset={"samples_per_epoch": schedule.samples_per_epoch,
                     "reg_samples_per_epoch": schedule.reg_samples_per_epoch,
                     "images": len(data.captions), "skipped_images": len(data.skipped),
                     "buckets": schedule.buckets,
                     "folders": [f.to_dict() for f in schedule.folders]},
            schedule={"steps_per_epoch": data.steps_per_epoch, "total_steps": data.total_steps,
                      "epochs": data.epochs, "batch": cfg.training.train_batch_size,
                      "accumulation": cfg.training.gradient_accumulation_steps, "processes": self.world,
                      "batches_per_epoch": schedule.batches_per_epoch},
            vram_estimate_gib=round(est.total_gib, 2), device=str(device),
            gpu_name=torch.cuda.get_device_name(device) if device.type == "cuda" else None,
            dtype=cfg.training.mixed_precision, speed=speed.describe(),
            resumed_from=os.path.abspath(self.resume) if self.resume else None,
            pid=os.getpid(), launched_at=round(self.launched_at, 3))
        for note in self.config_notes:
            self.warn(note)
        if cfg.dataset.cache_latents or data.cache_text:
            data.prepare(progress=CacheProgress(self))
            if cfg.dataset.cache_latents and device.type == "cuda":
                base.vae.to("cpu")
                torch.cuda.empty_cache()
        loaded()
        if self.resume:  # after the caches (encoding draws random numbers): run_resume.py
            self._restore_state(tr, base_lrs)
        else:
            self._last_run_aside_before_writing()
        self.trainer = tr
        self.say(self.resumed_schedule_line(data, device) or schedule_line(
            data.total_steps, data.epochs, data.steps_per_epoch, device,
            limit="--max-steps" if self.max_steps_override is not None else "max_train_steps"))
        if self.world > 1:
            from loratui.engine.launch import processes_line

            self.say(processes_line(schedule))
        if cfg.sampling.sample_at_first and not self.resume:
            self.sample(tr)
        if speed.compile_unet:
            self.say(f"torch.compile: the first step compiles the UNet (a minute or more; kept in "
                     f"{compile_cache_dir()} for later runs)")
        loaded()  # the last point where a stop asked so far (sample_at_first included) saves nothing
        self.training_began = True
        started = time.perf_counter()
        self.first_step_at = started
        try:
            reason = train_loop(tr, Reporter(self))
        except NonFiniteLoss as exc:
            return self._fail(tr, "nan", f"training stopped: {exc}", nan_hint(cfg), started)
        except torch.cuda.OutOfMemoryError:
            return self._fail(tr, "oom", f"out of GPU memory at step {tr.step + 1} (estimated peak "
                                         f"{est.total_gib:.1f} GiB)", oom_hint(cfg, base.family, self.config_path),
                              started)
        self._check_processes_agree(network)
        if reason == "completed":
            output = self.saved_lora = self.save_lora(tr, "final")
            # a run cut short by --max-steps, or one continued from a state, keeps its state current, so
            # it can be continued again from where it stopped
            if cfg.saving.save_state_on_train_end or self.save_state_flag or self.resume or self.max_steps_override:
                self.save_state(tr, self.output_dir / f"{self.name}-state")
        else:
            output = self.saved_lora = self.save_lora(tr, "step")
            self.save_state(tr, self.output_dir / f"{self.name}-state")
        self.emit("finished", reason=reason, step=tr.step, epoch=min(tr.epoch, data.epochs),
                  output=str(output) if output else None, elapsed_s=round(time.perf_counter() - started, 1))
        left_out = f"; {self.skipped_images} image(s) left out (see the warnings)" if self.skipped_images else ""
        self.say(f"{reason}: {tr.step} step(s); LoRA: {output}{left_out}")
        if output and self.is_main and not self.echo_json:  # `lora=$(loratui train c.toml)`: stdout is only this
            tell(str(output), stream=sys.stdout)
        if self.world > 1:
            # leave together, once the first process has written everything: a process that exits
            # while a peer still talks to it aborts inside gloo/NCCL ("terminate called ...")
            import torch.distributed as dist

            dist.barrier()
            dist.destroy_process_group()
        return 0

    def _last_run_aside_before_writing(self) -> None:
        """Move the last run's saves, states and samples aside (run_folder.py) here, after everything that can
        refuse or fail while loading (model, network and network_weights, data, caches) and before this run's
        first sample or save: a run that stops before this point leaves them, and the --resume path printed
        for them, where they were. Every process has read network_weights before the first one moves it."""
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()
        if self.is_main:
            self._move_last_run_aside()

    def _check_processes_agree(self, network) -> None:
        """Several processes must end with the same LoRA (averaged gradients, same steps): check it."""
        if self.world == 1:
            return
        import torch.distributed as dist

        total = torch.stack([p.detach().double().sum() for p in network.parameters()]).sum().reshape(1)
        low, high = total.clone(), total.clone()
        dist.all_reduce(low, op=dist.ReduceOp.MIN)
        dist.all_reduce(high, op=dist.ReduceOp.MAX)
        if not torch.equal(low, high):
            self.warn(f"the {self.world} processes ended with different LoRA weights "
                      f"(checksums {low.item():.6g} .. {high.item():.6g}): please report this")

    def _saved_output(self) -> str | None:
        """The finished event's output for a run that ended in an error after its last LoRA was written
        (the state save after it failed): that LoRA is there, and the record says so."""
        return str(self.saved_lora) if self.saved_lora and self.is_main else None

    def _epoch_now(self) -> int:
        """The trainer's epoch for an event, at most the planned ones (after the last epoch the
        trainer counts the next: a final save that failed said epoch 3 of a 2-epoch run)."""
        tr = self.trainer
        if tr is None:
            return 0
        data = getattr(tr, "data", None)
        return min(tr.epoch, data.epochs) if data is not None else tr.epoch

    def _fail(self, tr, kind: str, message: str, hint: str, started: float) -> int:
        self.emit_last("error", message=message, hint=hint, kind=kind)
        self.emit_last("finished", reason="error", step=tr.step, epoch=self._epoch_now(), output=None,
                       elapsed_s=round(time.perf_counter() - started, 1))
        if self.is_main:
            tell(f"error: {message}\nhint: {hint}")
        return 1


def run_training(config_path: str, **options) -> int:
    from loratui.engine.quiet import quiet_libraries

    quiet_libraries()
    return Run(config_path, **options).execute()
