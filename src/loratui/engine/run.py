"""`loratui train CONFIG`: config -> checks -> model + LoRA + data -> train_loop -> files and events.

Everything a run writes lives in the config's output_dir:
  NAME.safetensors                 the final LoRA (kohya format, ss_* metadata)
  NAME-000004.safetensors          every save_every_n_epochs; NAME-step00000500.safetensors every N steps
  NAME-state/                      full training state (on stop, at the end if asked); --resume it
  NAME.events.jsonl, NAME.lock     the event stream (core/events.py) and the live run's pid
  NAME.control.jsonl               save / sample / stop requests to the live run (core/events.py)
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

import dataclasses
import hashlib
import json
import os
import signal
import sys
import time
from pathlib import Path

import torch

from loratui.core.errors import LoratuiError
from loratui.core.events import (ControlReader, EventWriter, RunLock, control_path, events_path, lock_path,
                                 log_path, rotate_events)



def reopen_deleted_log(path: Path, fds: tuple[int, ...] = (1, 2)) -> bool:
    """Point those of ``fds`` that write into ``path`` after it was deleted (the TUI sends a run's stdout and
    stderr to NAME.log; an `rm -rf` of the output folder unlinks it under the run) at a new file there.
    Linux only (/proc names a descriptor's file); True when one was moved."""
    import stat

    wanted = str(Path(path).resolve())
    moved, fresh = False, None
    for fd in fds:
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_nlink:
                continue
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.removesuffix(" (deleted)") != wanted:
            continue
        if fresh is None:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except (OSError, ValueError, AttributeError):
                    pass
            fresh = os.open(wanted, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.dup2(fresh, fd)
        moved = True
    if fresh is not None:
        os.close(fresh)
    return moved


def _oom_hint(cfg, family: str | None, config_path: str) -> str:
    preset = f"{'sdxl' if family == 'sdxl' else 'sd15'}-8gb"
    return (f"try the 8 GB preset (`loratui presets apply {preset} {config_path}`) or gradient_checkpointing = "
            f"true; a smaller train_batch_size or resolution and cache_latents = true also help")


def _nan_hint(cfg) -> str:
    if cfg.training.mixed_precision == "fp16":
        return ("fp16 overflowed: use mixed_precision = \"bf16\" (RTX 30xx and newer) or \"no\", "
                f"or lower learning_rate (now {cfg.optimizer.learning_rate})")
    return (f"lower the learning rate (now {cfg.optimizer.learning_rate}), set max_grad_norm = 1.0, "
            "or check the base model (a broken VAE gives NaN latents)")


def config_digest(cfg) -> str:
    from loratui.core.config import config_to_dict

    data = config_to_dict(cfg)
    for volatile in ("saving", "sampling"):
        data.pop(volatile, None)
    data.get("training", {}).pop("max_train_epochs", None)
    data.get("training", {}).pop("max_train_steps", None)
    return hashlib.sha1(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


def check_config(cfg) -> None:
    """Everything that can be wrong before a model is loaded; raises LoratuiError."""
    from loratui.core.config import check_paths, validate
    from loratui.engine.data import check_data_config
    from loratui.engine.optim import check_optimizer

    problems = validate(cfg) + check_paths(cfg)
    if problems:
        raise LoratuiError(problems[0] + (f" (and {len(problems) - 1} more: `loratui config check`)"
                                          if len(problems) > 1 else ""))
    check_optimizer(cfg)
    check_data_config(cfg)
    if cfg.training.xformers:
        import importlib.util

        if importlib.util.find_spec("xformers") is None:
            raise LoratuiError("training.xformers is true but xformers is not installed: pip install xformers, "
                               "or use sdpa = true")


def cpu_slow_settings(cfg) -> list[str]:
    """Settings that are right on a GPU and slow on a CPU (8-bit optimizers, bf16/fp16 autocast)."""
    slow = []
    if cfg.optimizer.optimizer_type in ("AdamW8bit", "Lion8bit"):
        slow.append(f"optimizer_type = \"{cfg.optimizer.optimizer_type}\"")
    if cfg.training.mixed_precision in ("bf16", "fp16"):
        slow.append(f"mixed_precision = \"{cfg.training.mixed_precision}\"")
    return slow


def _dtypes(cfg, device: torch.device):
    mp = cfg.training.mixed_precision
    weight = {"no": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[mp]
    autocast = None if mp == "no" else weight
    lora = torch.bfloat16 if cfg.training.full_bf16 else torch.float16 if cfg.training.full_fp16 else torch.float32
    return weight, autocast, lora


class Reporter:
    """Events (rank 0), a progress line, checkpoints and samples: the hooks train_loop calls."""

    def __init__(self, run: "Run"):
        self.run = run

    def on_step(self, tr, *, loss, avg_loss, images_per_s, eta_s):
        run = self.run
        if getattr(run, "first_step_at", None) is not None:
            if tr.speed.compile_unet:
                run.say(f"torch.compile: first step done in {time.perf_counter() - run.first_step_at:.0f} s")
            run.first_step_at = None
        lr = tr.optimizer.param_groups[0]["lr"]
        vram = torch.cuda.max_memory_allocated() / 1024 ** 3 if tr.device.type == "cuda" else None
        run.emit("step", step=tr.step, total_steps=tr.data.total_steps, epoch=tr.epoch, loss=round(loss, 6),
                 avg_loss=round(avg_loss, 6), lr=lr, images_per_s=round(images_per_s, 3),
                 eta_s=None if eta_s is None else round(eta_s, 1),
                 peak_vram_gib=None if vram is None else round(vram, 3))
        run.progress(tr, avg_loss, images_per_s, eta_s)
        s = run.cfg.saving
        if s.save_every_n_steps and tr.step % s.save_every_n_steps == 0 and tr.step < tr.data.total_steps:
            run.save_lora(tr, "step")
        sp = run.cfg.sampling
        if sp.sample_every_n_steps and tr.step % sp.sample_every_n_steps == 0:
            run.sample(tr)
        # control requests: one process acts at once; several agree on them at the next step first
        if run.world == 1:
            run.poll_controls(tr)
        run.handle_requests(tr)
        if run.world > 1:
            run.poll_controls(tr)

    def on_epoch_end(self, tr, *, avg_loss):
        run = self.run
        run.emit("epoch_end", epoch=tr.epoch, step=tr.step, avg_loss=round(avg_loss, 6))
        s = run.cfg.saving
        last = tr.epoch >= tr.data.epochs or tr.step >= tr.data.total_steps
        if s.save_every_n_epochs and tr.epoch % s.save_every_n_epochs == 0 and not last:
            run.save_lora(tr, "epoch")
        sp = run.cfg.sampling
        if sp.sample_every_n_epochs and tr.epoch % sp.sample_every_n_epochs == 0:
            run.sample(tr)


class CacheProgress:
    """The data code's progress hook while latents / text-encoder outputs are cached: cache_progress
    events (at most twice a second, and each phase's last), a bar on a terminal, a line every 10 s
    otherwise; the ETA counts from the phase's start."""

    EVENT_EVERY = 0.5
    LINE_EVERY = 10.0

    def __init__(self, run: "Run"):
        self.run, self.phase, self.started, self.last_event, self.last_line = run, None, 0.0, 0.0, 0.0

    def __call__(self, done: int, total: int, what: str) -> None:
        run, now = self.run, time.monotonic()
        if what != self.phase:
            self.phase, self.started, self.last_event, self.last_line = what, now, 0.0, now
        elapsed = now - self.started
        eta = (total - done) * elapsed / done if done and elapsed > 0 else None
        last = done >= total
        if last or now - self.last_event >= self.EVENT_EVERY:
            self.last_event = now
            run.emit("cache_progress", what=what, done=done, total=total,
                     eta_s=None if eta is None else round(eta, 1))
        if not run.is_main or run.echo_json:
            return
        from loratui.core.termline import fit

        eta_text = "?" if eta is None else time.strftime("%H:%M:%S", time.gmtime(eta))
        filled = int(20 * done / max(total, 1))
        line = f"[{'#' * filled}{'.' * (20 - filled)}] {what} {done}/{total} ETA {eta_text}"
        if run.show_progress:
            print("\r" + fit(line), end="\n" if last else "", file=sys.stderr, flush=True)
            run.bar_open = not last
        elif last or now - self.last_line >= self.LINE_EVERY or done == 1:
            self.last_line = now
            print(line, file=sys.stderr, flush=True)


class Run:
    """One training run (see the module docstring)."""

    OUTPUT_CHECK_EVERY = 2.0  # seconds between two looks at the output folder (one stat each), besides saves

    def __init__(self, config_path: str, *, resume: str | None = None, save_state: bool = False,
                 events_override: str | None = None, echo_json: bool = False, max_steps: int | None = None,
                 show_progress: bool | None = None, max_epochs: int | None = None,
                 extend_epochs: int | None = None):
        from loratui.core.config import load_config, resolve_path, with_resolved_paths

        self.config_path = config_path
        self.cfg = with_resolved_paths(load_config(config_path))
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
        self.prompts = None
        self.started_at = time.time()
        self.session_id = int.from_bytes(os.urandom(4), "little")
        self.last_line = 0.0
        self.bar_open = False  # a progress line without its newline is on the terminal
        self.model_hashes: dict | None = None  # base-model hashes for the metadata, computed once
        self.signals_seen = 0
        self.controls: ControlReader | None = None  # the first process reads NAME.control.jsonl
        self.waiting: dict[str, list[dict]] = {}  # requests read, answered once done
        self.last_save: tuple[int, Path] | None = None  # (step, LoRA) of the latest save
        self.started_event: dict | None = None  # run_started as written: a remade events file starts with it
        self._output_checked = 0.0
        self._remaking = False
        self._remake_failed = False
        self.weights_from: Path | None = None  # where network_weights is read from, when moved aside
        self.writing: tuple | None = None  # (path, its size: a function, what) of the save under way

    # ---- output helpers -------------------------------------------------------------------------

    def emit(self, kind: str, /, **fields) -> dict | None:
        if self.writer is None:
            return None
        self.check_output(force=False)
        return self.writer.emit(kind, **fields)

    def check_output(self, force: bool = True) -> None:
        """The output folder, the events file or the lock deleted while the run goes on: make them again
        and say so (the module docstring). ``force``: look now (before a save); else at most every
        OUTPUT_CHECK_EVERY seconds. The first process only (it holds the writer)."""
        if self.writer is None or self._remaking or self._remake_failed:
            return
        now = time.monotonic()
        if not force and now - self._output_checked < self.OUTPUT_CHECK_EVERY:
            return
        self._output_checked = now
        missing = [path for path in (self.output_dir, self.events_file, self.lock.path) if not os.path.lexists(path)]
        if missing:
            self._remaking = True
            try:
                self._remake_output(missing)
            except (OSError, LoratuiError):
                self._remake_failed = True  # once: the error it becomes is emitted without another try
                raise
            finally:
                self._remaking = False

    def _remake_output(self, missing: list[Path]) -> None:
        folder_gone = self.output_dir in missing
        self.output_dir.mkdir(parents=True, exist_ok=True)
        if self.lock.path in missing:
            self.lock.held = False
            self.lock.acquire()  # another run took the output meanwhile: its LoratuiError ends this one
        if self.events_file in missing:
            old, echo = self.writer, self.writer.echo
            old.close()
            self.writer = EventWriter(self.events_file)  # the run_started again, not echoed twice on --json
            if self.started_event is not None:
                self.writer.emit("run_started", **{k: v for k, v in self.started_event.items() if k != "event"})
            self.writer.echo = echo
        reopen_deleted_log(log_path(self.output_dir, self.name))
        if folder_gone:
            self._link_standard_events()  # --events elsewhere: the link went with the folder
        step = self.trainer.step if self.trainer is not None else 0
        when = f"at step {step:,}" if step else "before the first step"
        if folder_gone:
            what = (f"the output folder {self.output_dir} was deleted while the run was going ({when}): "
                    "made it again and the run goes on, but what it held (earlier saves, samples and states, "
                    "the events and the log so far) is gone")
        else:
            names = ", ".join(path.name for path in missing)
            what = (f"{names} deleted from {self.output_dir} while the run was going ({when}): "
                    "made again, and the run goes on")
        self.warn(what)

    def _link_standard_events(self) -> None:
        """With --events elsewhere, OUTPUT_DIR/NAME.events.jsonl becomes a link to that file, so that
        `loratui attach` and the app find this run as the output's latest. The file it replaces moves
        aside as usual (NAME.events.1.jsonl); on a resume its history was copied into the new file
        first (``_carry_history``), so that file holds the whole run."""
        standard = events_path(self.output_dir, self.name)
        target = self.events_file.resolve()
        if standard.resolve() == target:
            return
        if standard.is_symlink():
            standard.unlink()
        elif standard.exists():
            rotated = rotate_events(standard)
            if rotated is not None and getattr(self, "history_copied", False):
                self.say(f"the run's events so far are copied into {self.events_file}, which {standard.name} now "
                         f"links to (the file itself is kept as {rotated.name})")
            elif rotated is not None:
                self.say(f"the previous run's events are now in {rotated.name}")
        try:
            os.symlink(target, standard)
        except OSError as exc:  # a file system without links: the run is still followed by its --events path
            self.say(f"could not link {standard.name} to {target} ({exc.strerror or exc}): `loratui attach` "
                     "will not list this run")

    def _remove_leftovers(self) -> None:
        """Temp files of our own naming that killed saves left (the run lock is held: none is live)."""
        from loratui.engine.state import leftovers, remove_leftovers

        d = self.cfg.dataset
        folders = [Path(p) for p in (d.train_data_dir, d.reg_data_dir) if p]
        count, size = remove_leftovers(leftovers(self.output_dir, self.name, folders, d.caption_extension))
        if count:
            self.say(f"removed {count} leftover temp file(s) of interrupted saves ({size / 2**20:.1f} MiB)")

    def say(self, text: str) -> None:
        if self.is_main and not self.echo_json:
            if self.bar_open:  # end the progress bar's line first
                print(file=sys.stderr)
                self.bar_open = False
            print(text.lstrip("\n"), file=sys.stderr, flush=True)

    def warn(self, message: str) -> None:
        self.emit("warning", message=message)
        self.say(f"warning: {message}")

    def progress(self, tr, avg_loss, images_per_s, eta_s) -> None:
        if not self.is_main or self.echo_json:
            return
        from loratui.core.termline import fit

        now = time.monotonic()
        total = tr.data.total_steps
        if not self.show_progress and now - self.last_line < 10 and tr.step not in (1, total):
            return
        self.last_line = now
        eta = "?" if eta_s is None else time.strftime("%H:%M:%S", time.gmtime(eta_s))
        width = 20
        filled = int(width * tr.step / max(total, 1))
        # most useful first: on a narrow terminal fit() cuts from the right
        line = (f"[{'#' * filled}{'.' * (width - filled)}] step {tr.step}/{total} epoch {tr.epoch}/{tr.data.epochs} "
                f"ETA {eta} loss {avg_loss:.4f} {images_per_s:.2f} img/s")
        if self.show_progress:
            print("\r" + fit(line), end="\n" if tr.step == total else "", file=sys.stderr, flush=True)
            self.bar_open = tr.step != total
        else:
            print(line, file=sys.stderr, flush=True)

    # ---- saving ---------------------------------------------------------------------------------

    def metadata(self, tr, *, final: bool) -> dict:
        from loratui.engine.metadata import build_metadata

        scan, sched = tr.data.scan, tr.data.schedule
        dirs = {s.name: {"n_repeats": s.repeats, "img_count": len(s.images)} for s in scan.subsets if not s.is_reg}
        reg_dirs = {s.name: {"n_repeats": s.repeats, "img_count": len(s.images)} for s in scan.subsets if s.is_reg}
        meta = build_metadata(
            self.cfg, self.base.family, session_id=self.session_id, training_started_at=self.started_at,
            steps=tr.step, epochs=min(tr.epoch, tr.data.epochs), num_train_images=sched.samples_per_epoch,
            num_reg_images=sched.reg_samples_per_epoch, tag_frequency=tr.data.tag_frequency(), dataset_dirs=dirs,
            reg_dataset_dirs=reg_dirs, bucket_info=sd_scripts_bucket_info(sched),
            num_batches_per_epoch=sched.batches_per_epoch, num_epochs=tr.data.epochs,
            max_train_steps=tr.data.total_steps,
            total_batch_size=self.cfg.training.train_batch_size * self.world * self.cfg.training.gradient_accumulation_steps,
            training_finished_at=time.time() if final else None, v_prediction=self.base.v_prediction,
            hash_base_model=self.model_hashes is None)
        # hashing a multi-GB base model takes seconds: once per run, not once per save
        if self.model_hashes is None:
            self.model_hashes = {k: v for k, v in meta.items() if k.endswith("_hash")}
        meta.update(self.model_hashes)
        return meta

    def save_lora(self, tr, kind: str) -> Path | None:
        """Called by every process at the same points; only the first writes (the others take part in
        gathering their random streams for the state)."""
        from loratui.engine.network import save_lora

        if kind == "epoch":
            path = self.output_dir / f"{self.name}-{tr.epoch:06d}.safetensors"
        elif kind == "step":
            path = self.output_dir / f"{self.name}-step{tr.step:08d}.safetensors"
        else:
            path = self.output_dir / f"{self.name}.safetensors"
        self.last_save = (tr.step, path)
        self.check_output()  # a save into a deleted folder fails: make it again first (and say so)
        if self.is_main:
            meta = self.metadata(tr, final=kind == "final")
            self.writing = (path, lambda: self._lora_bytes(meta), "the LoRA")  # named if the disk is full
            save_lora(path, self.network, meta, self.cfg.saving.save_precision)
            self.writing = None
            self.emit("checkpoint_saved", path=str(path), kind=kind, step=tr.step,
                      epoch=min(tr.epoch, tr.data.epochs))
            self.say(f"saved {path}")
        if self.save_state_flag and kind in ("epoch", "step"):
            self.save_state(tr, path.with_name(path.stem + "-state"))
        if not self.is_main:
            return None
        self.prune(kind, tr)
        return path

    def prune(self, kind: str, tr) -> None:
        """save_last_n_epochs / save_last_n_steps: delete older intermediate saves (and their states)."""
        import shutil

        s = self.cfg.saving
        doomed = []
        if kind == "epoch" and s.save_last_n_epochs:
            saves = sorted(self.output_dir.glob(f"{self.name}-[0-9][0-9][0-9][0-9][0-9][0-9].safetensors"))
            doomed = saves[:-s.save_last_n_epochs]
        # sd-scripts prunes at each step save; the final save stands in for the step save it would
        # make when the last step falls on save_every_n_steps, and prunes only then
        final_on_step = kind == "final" and s.save_every_n_steps and tr.step % s.save_every_n_steps == 0
        if (kind == "step" or final_on_step) and s.save_last_n_steps:
            for old in self.output_dir.glob(f"{self.name}-step[0-9]*.safetensors"):
                step = int(old.stem.rsplit("step", 1)[1])
                if step < tr.step - s.save_last_n_steps:  # as sd-scripts: keeps saves of the last N steps, inclusive
                    doomed.append(old)
        for old in doomed:
            old.unlink(missing_ok=True)
            state = old.with_name(old.stem + "-state")
            if state.is_dir():
                shutil.rmtree(state, ignore_errors=True)

    def save_state(self, tr, folder: Path) -> None:
        """Every process calls this at the same point: their random streams are gathered, the first writes."""
        from loratui.core.config import config_to_dict
        from loratui.engine.state import rng_state, save_state

        rank_rngs = None
        if self.world > 1:
            import torch.distributed as dist

            rank_rngs = [None] * self.world
            dist.all_gather_object(rank_rngs, rng_state(tr.generator))
        if not self.is_main:
            return
        self.check_output()
        self.writing = (folder, lambda: self._state_bytes(tr), "the training state")  # named if the disk is full
        save_state(folder, network=self.network, optimizer=tr.optimizer, scheduler=tr.scheduler, scaler=tr.scaler,
                   generator=tr.generator, step=tr.step, epoch=tr.epoch, batches_done=tr.batches_done,
                   losses=tr.losses, config_digest=config_digest(self.cfg),
                   data_state=tr.data.state_dict() if hasattr(tr.data, "state_dict") else None, rank_rngs=rank_rngs,
                   config=config_to_dict(self.cfg),
                   extra=self._state_extra(tr))
        self.writing = None
        self.emit("checkpoint_saved", path=str(folder), kind="state", step=tr.step, epoch=min(tr.epoch, tr.data.epochs))
        self.say(f"saved training state {folder} (resume with --resume {folder})")

    def _state_extra(self, tr) -> dict:
        """state.json's keys for a resume's checks before anything loads (engine/resume_check.py): when
        and where (the project folder) it was saved, and the batches of an epoch its place counts in."""
        extra = {"saved_at": time.time(), "config_dir": str(Path(self.cfg.config_dir or Path.cwd()).absolute())}
        batches = getattr(tr.data, "batches_per_epoch", None)
        if isinstance(batches, int):
            extra["data"] = {"batches_per_epoch": batches, "num_processes": self.world}
        return extra

    def sample(self, tr) -> None:
        if not self.is_main or not self.prompts:
            return
        from loratui.engine.sampling import generate_samples

        self.check_output()
        # with cached latents the VAE waits on the CPU: the pipeline decodes on the training device
        vae_device = next(self.base.vae.parameters()).device
        self.base.vae.to(tr.device)
        try:
            paths = generate_samples(self.base, self.prompts, self.output_dir / "sample", output_name=self.name,
                                     step=tr.step, epoch=tr.epoch, device=tr.device,
                                     dtype=tr.autocast_dtype or torch.float32, seed=self.cfg.training.seed,
                                     sampler=self.cfg.sampling.sample_sampler, network=self.network,
                                     clip_skip=self.cfg.training.clip_skip)
        finally:
            if vae_device != tr.device:
                self.base.vae.to(vae_device)
                if tr.device.type == "cuda":
                    torch.cuda.empty_cache()
        self.emit("sample_saved", paths=[str(p) for p in paths], step=tr.step, epoch=tr.epoch)

    # ---- the run --------------------------------------------------------------------------------

    def execute(self) -> int:
        """Run to the end; returns the process exit code (0 finished or stopped, 1 training error).

        Bad input raises LoratuiError before anything is written (the CLI exits 2).
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
        if self.is_main:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            stale = self.lock.acquire()
            self.controls = ControlReader(control_path(self.output_dir, self.name))
            if self.events_file.is_symlink() and not self.events_file.exists():
                self.events_file.unlink()  # an earlier --events run's link, its file gone since
            standard = events_path(self.output_dir, self.name)
            # a resume appends to the history of the run it continues; not to a file a later run began
            self.later_run_events = bool(self.resume) and self._begun_after_the_state(standard)
            fresh_file = not self.resume or (self.later_run_events and self.events_file == standard)
            rotated = rotate_events(self.events_file) if fresh_file else None  # one training per file
            self.history_copied = self._carry_history(standard)
            self.writer = EventWriter(self.events_file, sys.stdout if self.echo_json else None)
            if rotated is not None:
                what = ("the events of a run started after this state was saved" if self.resume
                        else "the previous run's events")
                self.say(f"{what} are now in {rotated.name}")
            self._link_standard_events()
            for note in (stale, resume_note):
                if note:
                    self.warn(note)
            for note in self.resume_notes:
                self.say(note)
            self._remove_leftovers()
            if not self.resume:
                self._move_last_run_aside()
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        started = time.perf_counter()
        try:
            for sig in previous:
                signal.signal(sig, self._on_signal)
            return self._train(schedule)
        except KeyboardInterrupt:
            # a signal while loading (nothing trained yet), or a second Ctrl-C: stop without saving
            tr = self.trainer
            self.emit("finished", reason="stopped", step=tr.step if tr else 0, epoch=self._epoch_now(),
                      output=None, elapsed_s=round(time.perf_counter() - started, 1))
            self.say("stopped (nothing saved)")
            return 130  # interrupted: `train && upload` must not go on
        except torch.cuda.OutOfMemoryError:
            step = self.trainer.step if self.trainer else 0
            message = f"out of GPU memory {'while loading / caching' if not self.trainer else f'at step {step + 1}'}"
            hint = _oom_hint(self.cfg, getattr(getattr(self, "base", None), "family", None), self.config_path)
            self.emit("error", message=message, hint=hint, kind="oom")
            self.emit("finished", reason="error", step=step, epoch=self._epoch_now(),
                      output=None, elapsed_s=round(time.perf_counter() - started, 1))
            if self.is_main:
                print(f"error: {message}\nhint: {hint}", file=sys.stderr, flush=True)
            return 1
        except Exception as exc:
            full = self._disk_full(exc)
            if full:
                step, epoch = (self.trainer.step, self._epoch_now()) if self.trainer else (0, 0)
                self.emit("error", message=full, kind="disk_full", hint="free some space or use another output_dir")
                self.emit("finished", reason="error", step=step, epoch=epoch, output=None,
                          elapsed_s=round(time.perf_counter() - started, 1))
                if self.is_main:
                    print(f"error: {full}", file=sys.stderr, flush=True)
                return 1
            if isinstance(exc, LoratuiError):
                self.emit("error", message=str(exc), hint="fix the config and start again", kind="config")
                self.emit("finished", reason="error", step=0, epoch=0, output=None,
                          elapsed_s=round(time.perf_counter() - started, 1))
                raise
            import traceback

            self.emit("error", message=f"{type(exc).__name__}: {exc}", kind="crash",
                      hint="this is a bug in loratui or a broken input file; the traceback is on stderr")
            self.emit("finished", reason="error", step=self.trainer.step if self.trainer else 0,
                      epoch=self._epoch_now(), output=None,
                      elapsed_s=round(time.perf_counter() - started, 1))
            traceback.print_exc()
            return 1
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if self.writer is not None:
                self.writer.close()
            self.lock.release()

    def _disk_full(self, exc: BaseException) -> str | None:
        """One line for a full disk (torch / safetensors / OSError forms), else None: during a save it
        names the file or state folder being written and what that holds (its tensors)."""
        from loratui.core.diskspace import disk_full_message, is_disk_full

        path, size, what = self.writing or (self.output_dir, None, "the save")
        try:
            needed = size() if size is not None and is_disk_full(exc) else None  # only once it failed
        except Exception:  # the error handler's helper: no figure rather than another error
            needed = None
        return disk_full_message(exc, path, needed, what)

    def _lora_bytes(self, meta: dict) -> int:
        """The LoRA file's size as save_lora writes it (less its two hashes): serialised again in memory,
        which is done only after a save failed."""
        from safetensors.torch import save

        from loratui.engine.network import SAVE_DTYPES

        dtype = SAVE_DTYPES.get(self.cfg.saving.save_precision, torch.float16)
        return len(save({k: v.contiguous() for k, v in self.network.kohya_state_dict(dtype).items()}, metadata=meta))

    def _state_bytes(self, tr) -> int:
        """A state folder's size: the fp32 LoRA and the optimizer's tensors (the rest is a few KB)."""
        from loratui.core.diskspace import tensors_bytes

        optimizer = [v for s in tr.optimizer.state.values() for v in s.values() if isinstance(v, torch.Tensor)]
        return tensors_bytes(self.network.parameters(), itemsize=4) + tensors_bytes(optimizer)

    def _keep_newer_outputs(self, step: int) -> bool:
        """Resuming writes NAME.safetensors, NAME-state and the saves past the state's step anew: what the
        folder holds of those that is newer than the state (engine/outputs.py) is kept aside first, and
        said. True when the final LoRA was (it is not this state's run's, so not its epoch's LoRA)."""
        from loratui.engine.outputs import keep_newer_outputs

        kept = keep_newer_outputs(self.output_dir, self.name, resumed=Path(self.resume), step=step,
                                  saved_at=self.state_saved_at)
        for item in kept:
            if item.kind != "state":
                self.emit("checkpoint_saved", path=str(item.kept), kind="step" if item.kind == "final" else item.kind,
                          step=item.step, epoch=item.epoch)
        for item in (k for k in kept if k.kind in ("final",) or k.source.name == f"{self.name}-state"):
            verb = "kept as" if item.copied else "moved to"
            self.warn(f"{item.source.name} {item.why}: {verb} {item.kept.name} before this run writes it anew")
        saves = [k for k in kept if k.kind != "final" and k.source.name != f"{self.name}-state"]
        if saves:
            moved = ", ".join(f"{k.source.name} -> {k.kept.name}" for k in saves)
            why = (f"past this state's step {step:,}" if all("past this state's step" in k.why for k in saves) else
                   f"past this state's step {step:,}, or of a run started after this state was saved")
            self.warn(f"saves {why} moved aside before this run writes them anew: {moved}")
        return any(k.kind == "final" for k in kept)

    def _begun_after_the_state(self, events_file: Path) -> bool:
        from loratui.engine.outputs import begun_after_state

        return begun_after_state(events_file, Path(self.resume), self.state_saved_at)

    def _carry_history(self, standard: Path) -> bool:
        """--events elsewhere on a resume of this output's run: its history so far goes into that file."""
        from loratui.engine.outputs import carry_history

        if not self.resume or self.later_run_events:
            return False
        return carry_history(standard, self.events_file)

    def _move_last_run_aside(self) -> None:
        """A fresh run: the last run's states and intermediate saves go into NAME-kept-<time>/ (see
        engine/outputs.py); its final LoRA is overwritten when this one completes. Said either way.
        network_weights among them goes along (a copy when it is the final): this run loads it there."""
        from loratui.core.config import resolve_path
        from loratui.engine.outputs import move_last_run_aside

        weights = (self.cfg.network.network_weights or "").strip()
        weights = resolve_path(self.cfg, weights) if weights else None
        aside = move_last_run_aside(self.output_dir, self.name, starting_weights=weights)
        folder, moved = aside.folder, aside.moved
        final = self.output_dir / f"{self.name}.safetensors"
        overwrite = (f"its {final.name} is overwritten when this one completes (another saving.output_name "
                     "keeps it)") if final.exists() else ""
        if aside.weights is not None:
            self.weights_from = aside.weights
            if aside.weights_was == "final":
                self.warn(f"network.network_weights {weights} is the last run's final LoRA, which this run "
                          f"overwrites when it completes: a copy is kept as {aside.weights}, and this run starts "
                          "from it")
            else:
                self.warn(f"network.network_weights {weights} was among the last run's files, which this run "
                          f"writes over: it moved with them to {aside.weights}, and this run starts from it there "
                          "(point network_weights there for later runs)")
        if moved:
            names = ", ".join(p.name for p in moved[:3]) + (f" and {len(moved) - 3} more" if len(moved) > 3 else "")
            self.warn(f"a new run named {self.name}: the last run's states and intermediate saves ({names}) moved "
                      f"to {folder} (a state belongs to its own run; resume or delete them there)"
                      + (f"; {overwrite}" if overwrite else ""))
        elif overwrite:
            self.warn(f"a new run named {self.name}: the last run's {final.name} in {self.output_dir} is "
                      f"overwritten when this one completes (another saving.output_name keeps it)")

    def _apply_learning_rates(self, optimizer, scheduler, wanted: list[float]) -> str | None:
        """The restored optimizer and schedule keep the learning rates they were saved with: set this
        config's (each group's base value, and the current one from the schedule's factor at this
        step). Returns "unet 0.001 -> 0.01, ..." when one changed; nothing is touched otherwise, so an
        unchanged resume stays bit-identical."""
        saved = list(getattr(scheduler, "base_lrs", []))
        factors = getattr(scheduler, "lr_lambdas", None)
        if not factors or len(saved) != len(wanted) or saved == wanted:
            return None
        scheduler.base_lrs = list(wanted)
        for group, lr, factor in zip(optimizer.param_groups, wanted, factors):
            group["initial_lr"] = lr
            group["lr"] = lr * factor(scheduler.last_epoch)
        scheduler._last_lr = [group["lr"] for group in optimizer.param_groups]
        return ", ".join(f"{group.get('name', index)} {old:g} -> {new:g}" for index, (group, old, new)
                         in enumerate(zip(optimizer.param_groups, saved, wanted)) if old != new)

    def _keep_previous_final(self, info: dict) -> None:
        """Extending a finished run writes NAME.safetensors anew: keep the one it had under the name of
        its epoch (a copy; only when its metadata says it is the state's step), so no epoch is lost."""
        import shutil

        from safetensors import safe_open

        final = self.output_dir / f"{self.name}.safetensors"
        if info.get("batches_done") or not final.is_file():
            return
        with safe_open(str(final), "pt") as handle:
            steps = (handle.metadata() or {}).get("ss_steps")
        epoch = int(info["epoch"]) - 1
        keep = self.output_dir / f"{self.name}-{epoch:06d}.safetensors"
        if steps != str(info["step"]) or keep.exists():
            return
        tmp = keep.with_name(keep.name + ".tmp")
        shutil.copyfile(final, tmp)
        os.replace(tmp, keep)
        self.emit("checkpoint_saved", path=str(keep), kind="epoch", step=int(info["step"]), epoch=epoch)
        self.say(f"kept the LoRA of epoch {epoch} as {keep.name} (a copy of {final.name})")

    # ---- control requests (core/events.py) ------------------------------------------------------

    def answer(self, request: dict, status: str, message: str) -> None:
        self.emit("control", request=request["request"], id=request.get("id"), status=status, message=message)
        self.say(f"{request['request']} request: {message}")

    def poll_controls(self, tr) -> None:
        """The first process reads new requests: stop at once (the stop flag), save/sample at this step
        (one process) or the next (several: agreed with the others first)."""
        if self.controls is None:
            return
        for request in self.controls.poll():
            kind = request["request"]
            if kind == "stop":
                tr.stop_requested = True
                self.answer(request, "done", "stopping after this step: the LoRA and the state will be saved")
            else:
                tr.requests.add(kind)
                self.waiting.setdefault(kind, []).append(request)

    def handle_requests(self, tr) -> None:
        requests, tr.requests = tr.requests, set()
        if "save" in requests:
            saved = self.last_save[1] if self.last_save and self.last_save[0] == tr.step else None
            saved = saved or self.save_lora(tr, "step")
            for request in self.waiting.pop("save", []):
                self.answer(request, "done", f"saved {saved} at step {tr.step}")
        if "sample" in requests:
            waiting = self.waiting.pop("sample", [])
            if not self.prompts:
                for request in waiting:
                    self.answer(request, "refused", "no sample prompts: set sampling.sample_prompts in the config")
            else:
                self.sample(tr)
                for request in waiting:
                    self.answer(request, "done", f"sampled at step {tr.step}")

    def _on_signal(self, signum, frame) -> None:
        self.signals_seen += 1
        if self.trainer is None or self.signals_seen > 1:
            raise KeyboardInterrupt  # still loading (nothing to save), or asked twice: stop now
        self.trainer.stop_requested = True
        self.say(f"\n{signal.Signals(signum).name}: finishing the current step, then saving the LoRA and the "
                 f"state (again to stop at once, without saving)")

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
        device = self._setup_distributed()
        weight_dtype, autocast_dtype, lora_dtype = _dtypes(cfg, device)
        slow = cpu_slow_settings(cfg) if device.type == "cpu" else []
        if slow:
            self.warn(f"training on the CPU with {' and '.join(slow)}, which run about 10x slower there than "
                      f"optimizer_type = \"AdamW\" with mixed_precision = \"no\": set those two for CPU runs")
        self.say(f"loading {cfg.model.pretrained_model_name_or_path} ...")
        base = load_base_model(cfg.model, dtype=weight_dtype, device=device)
        base.vae.to(dtype=torch.float32)  # encode in fp32: the SD/SDXL VAEs overflow in fp16
        self.base = base
        self.say(f"model: {base.source_description}")
        if base.family == "sdxl" and cfg.training.clip_skip and cfg.training.clip_skip > 1:
            self.warn(f"training.clip_skip = {cfg.training.clip_skip} is ignored for SDXL, which always uses the "
                      "penultimate layer (sd-scripts ignores it too)")
        if cfg.sampling.sample_prompts and self.is_main:
            from loratui.engine.sampling import parse_prompts

            self.prompts = parse_prompts(cfg.sampling.sample_prompts, tuple(cfg.dataset.resolution))
        if not cfg.training.sdpa and not cfg.training.xformers:
            from diffusers.models.attention_processor import AttnProcessor

            base.unet.set_attn_processor(AttnProcessor())
        elif cfg.training.xformers:
            base.unet.enable_xformers_memory_efficient_attention()
        torch.manual_seed(cfg.training.seed)  # the LoRA's initial weights: the same on every process
        if self.world > 1 and cfg.network.network_weights:  # the first process moved it aside (or not): all follow
            import torch.distributed as dist

            moved_to = [str(self.weights_from or "")]
            dist.broadcast_object_list(moved_to, src=0)
            self.weights_from = Path(moved_to[0]) if moved_to[0] else None
        # network_weights the last run's files held is read where it was kept (engine/outputs.py)
        network = inject_lora(base, dataclasses.replace(cfg.network, network_weights=str(self.weights_from))
                              if self.weights_from else cfg.network)
        network.to(device=device, dtype=lora_dtype)
        self.network = network
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
        scaler = _grad_scaler(device, full_fp16=cfg.training.full_fp16) if autocast_dtype == torch.float16 else None
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
            pid=os.getpid())
        if cfg.dataset.cache_latents or data.cache_text:
            data.prepare(progress=CacheProgress(self))
            if cfg.dataset.cache_latents and device.type == "cuda":
                base.vae.to("cpu")
                torch.cuda.empty_cache()
        if self.resume:
            # after the caches: encoding draws random numbers, the restored RNG must not be consumed by it
            from loratui.engine.state import load_state

            info = load_state(self.resume, network=network, optimizer=optimizer, scheduler=scheduler, scaler=scaler,
                              generator=generator, rank=self.rank, world_size=self.world)
            tr.step, tr.epoch, tr.batches_done, tr.losses = (info["step"], info["epoch"], info["batches_done"],
                                                             info["losses"])
            if info.get("data_state") is not None and hasattr(data, "load_state_dict"):
                data.load_state_dict(info["data_state"])
            if not info.get("rng_restored", True):
                self.warn("this state was saved by another number of processes: training continues from it, "
                          "but not bit-identically to an uninterrupted run")
            learning_rates = self._apply_learning_rates(optimizer, scheduler, base_lrs)
            if self.resume_changes:  # every changed field named, old -> new (engine/resume_check.py)
                self.warn(self.resume_changes)
            elif learning_rates:  # a state that kept no config: the learning rates still show
                self.warn(f"the learning rate changed since this state was saved ({learning_rates}): the new one "
                          "applies from here, so the resumed run will not match an uninterrupted one")
            elif info.get("config") is None and info.get("config_digest") != config_digest(cfg):
                self.warn("the config changed since this state was saved: the resumed run will not match an "
                          "uninterrupted one")
            self.say(f"resumed from {self.resume} at step {tr.step}, epoch {tr.epoch}")
            final_kept = self._keep_newer_outputs(int(info["step"])) if self.is_main else False
            if self.extend_epochs is not None and self.is_main:
                if not final_kept:
                    self._keep_previous_final(info)
                planned = self.state_run_epochs
                self.say(f"extending by {self.extend_epochs} epoch(s) past the {planned} epoch(s) the state's run "
                         f"planned: {data.epochs} epochs, {data.total_steps} steps in all")
        self.trainer = tr
        self.say(f"training {data.total_steps} steps ({data.epochs} epoch(s) x {data.steps_per_epoch}) on {device}")
        if cfg.sampling.sample_at_first and not self.resume:
            self.sample(tr)
        if speed.compile_unet:
            self.say(f"torch.compile: the first step compiles the UNet (a minute or more; kept in "
                     f"{compile_cache_dir()} for later runs)")
        started = time.perf_counter()
        self.first_step_at = started
        try:
            reason = train_loop(tr, Reporter(self))
        except NonFiniteLoss as exc:
            return self._fail(tr, "nan", f"training stopped: {exc}", _nan_hint(cfg), started)
        except torch.cuda.OutOfMemoryError:
            return self._fail(tr, "oom", f"out of GPU memory at step {tr.step + 1} (estimated peak "
                                         f"{est.total_gib:.1f} GiB)", _oom_hint(cfg, base.family, self.config_path),
                              started)
        self._check_processes_agree(network)
        if reason == "completed":
            output = self.save_lora(tr, "final")
            # a run cut short by --max-steps, or one continued from a state, keeps its state current, so
            # it can be continued again from where it stopped
            if cfg.saving.save_state_on_train_end or self.save_state_flag or self.resume or self.max_steps_override:
                self.save_state(tr, self.output_dir / f"{self.name}-state")
        else:
            output = self.save_lora(tr, "step")
            self.save_state(tr, self.output_dir / f"{self.name}-state")
        self.emit("finished", reason=reason, step=tr.step, epoch=min(tr.epoch, data.epochs),
                  output=str(output) if output else None, elapsed_s=round(time.perf_counter() - started, 1))
        left_out = f"; {self.skipped_images} image(s) left out (see the warnings)" if self.skipped_images else ""
        self.say(f"{reason}: {tr.step} step(s); LoRA: {output}{left_out}")
        if self.world > 1:
            # leave together, once the first process has written everything: a process that exits
            # while a peer still talks to it aborts inside gloo/NCCL ("terminate called ...")
            import torch.distributed as dist

            dist.barrier()
            dist.destroy_process_group()
        return 0

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

    def _epoch_now(self) -> int:
        """The trainer's epoch for an event, at most the planned ones (after the last epoch the
        trainer counts the next: a final save that failed said epoch 3 of a 2-epoch run)."""
        tr = self.trainer
        if tr is None:
            return 0
        data = getattr(tr, "data", None)
        return min(tr.epoch, data.epochs) if data is not None else tr.epoch

    def _fail(self, tr, kind: str, message: str, hint: str, started: float) -> int:
        self.emit("error", message=message, hint=hint, kind=kind)
        self.emit("finished", reason="error", step=tr.step, epoch=self._epoch_now(), output=None,
                  elapsed_s=round(time.perf_counter() - started, 1))
        if self.is_main:
            print(f"error: {message}\nhint: {hint}", file=sys.stderr, flush=True)
        return 1


def sd_scripts_bucket_info(sched) -> dict:
    """ss_bucket_info as sd-scripts writes it: {"buckets": {i: {"resolution": [w, h], "count": n}},
    "mean_img_ar_error": x}, counts with repeats, buckets in (w, h) order."""
    buckets = {}
    for index, (key, count) in enumerate(sched.buckets.items()):
        width, height = (int(v) for v in key.split("x"))
        buckets[str(index)] = {"resolution": [width, height], "count": count}
    return {"buckets": buckets, "mean_img_ar_error": sched.mean_img_ar_error}


def _grad_scaler(device: torch.device, *, full_fp16: bool):
    """fp16 loss scaling; with full_fp16 the LoRA's own gradients are fp16, which torch refuses to unscale
    unless told (sd-scripts patches accelerate for the same reason)."""
    scaler = torch.amp.GradScaler(device.type)
    if full_fp16:
        unscale = scaler._unscale_grads_
        scaler._unscale_grads_ = lambda opt, inv, found, allow_fp16: unscale(opt, inv, found, True)
    return scaler


def run_training(config_path: str, **options) -> int:
    from loratui.engine.quiet import quiet_libraries

    quiet_libraries()
    return Run(config_path, **options).execute()
