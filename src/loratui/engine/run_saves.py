"""What a run writes as it trains: LoRA files (kohya format, ss_* metadata), training states, sample
images, the pruning of older saves, and one line naming the file being written when the disk is full."""

from __future__ import annotations

import shlex
import time
from pathlib import Path

import torch

from loratui.engine.run_checks import config_digest


class RunSaves:
    """Run's saves. Every process calls save_lora and save_state at the same points; the first writes."""

    sampling_problem: str | None = None  # what kept prompts from rendering at the last sampling, once said
    dataset_records: dict | None = None  # the dataset as this run read it (engine/resume_dataset.py), once made

    def metadata(self, tr, *, final: bool, kind: str | None = None) -> dict:
        """The save's metadata; ``kind`` is save_lora's ("final", "epoch", "step"; from ``final`` when None)."""
        from loratui.engine.metadata import build_metadata

        scan, sched = tr.data.scan, tr.data.schedule
        dirs = {s.name: {"n_repeats": s.repeats, "img_count": len(s.images)} for s in scan.subsets if not s.is_reg}
        reg_dirs = {s.name: {"n_repeats": s.repeats, "img_count": len(s.images)} for s in scan.subsets if s.is_reg}
        # ss_num_reg_images as sd-scripts counts it: every reg image times its folder's repeats (not the
        # reg samples an epoch uses, which are padded or cut to the train count)
        reg_images = sum(s.repeats * len(s.images) for s in scan.subsets if s.is_reg)
        # ss_num_batches_per_epoch: sd-scripts writes len(train_dataloader) after accelerator.prepare, which
        # shards it: one process's batches
        meta = build_metadata(
            self.cfg, self.base.family, session_id=self.session_id, training_started_at=self.started_at,
            steps=tr.step, epochs=saved_epoch(tr, kind or ("final" if final else "step")),
            num_train_images=sched.samples_per_epoch,
            num_reg_images=reg_images, tag_frequency=tr.data.tag_frequency(), dataset_dirs=dirs,
            reg_dataset_dirs=reg_dirs,
            bucket_info=sd_scripts_bucket_info(sched) if self.cfg.dataset.enable_bucket else None,
            num_batches_per_epoch=sched.batches_per_process, num_epochs=tr.data.epochs,
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

        if kind == "step" and self.last_save is not None and self.last_save[0] == tr.step:
            # a stop or a save request right after this step's save (save_every_n_steps, an epoch save): the
            # LoRA of this step is written already. Decided on what every process knows alike (no file check)
            return self.last_save[1] if self.is_main else None
        if kind == "epoch":
            path = self.output_dir / f"{self.name}-{tr.epoch:06d}.safetensors"
        elif kind == "step":
            path = self.output_dir / f"{self.name}-step{tr.step:08d}.safetensors"
        else:
            path = self.output_dir / f"{self.name}.safetensors"
        self.last_save = (tr.step, path)
        self.check_output()  # a save into a deleted folder fails: make it again first (and say so)
        if self.is_main:
            meta = self.metadata(tr, final=kind == "final", kind=kind)
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
        try:
            save_state(folder, network=self.network, optimizer=tr.optimizer, scheduler=tr.scheduler,
                       scaler=tr.scaler, generator=tr.generator, step=tr.step, epoch=tr.epoch,
                       batches_done=tr.batches_done, losses=tr.losses, config_digest=config_digest(self.cfg),
                       data_state=tr.data.state_dict() if hasattr(tr.data, "state_dict") else None,
                       rank_rngs=rank_rngs, config=config_to_dict(self.cfg), extra=self._state_extra(tr))
        except BaseException:
            remove_partial_state(folder)
            raise
        self.writing = None
        self._write_dataset_records(folder)
        self.emit("checkpoint_saved", path=str(folder), kind="state", step=tr.step, epoch=min(tr.epoch, tr.data.epochs))
        # quoted: a folder with spaces, quotes or a leading ~ pastes into a shell as one word
        self.say(f"saved training state {folder} (resume with --resume {shlex.quote(str(folder))})")

    def _state_extra(self, tr) -> dict:
        """state.json's keys for a resume's checks before anything loads (engine/resume_check.py): when
        and where (the project folder) it was saved, and the batches of an epoch its place counts in;
        and the current epoch's loss sum and step count so far (for its epoch_end after a resume)."""
        extra = {"saved_at": time.time(), "config_dir": str(Path(self.cfg.config_dir or Path.cwd()).absolute()),
                 # the epoch's average after a resume mid-epoch counts the steps before it (train.py)
                 "epoch_loss": {"sum": tr.epoch_loss_sum, "steps": tr.epoch_loss_steps}}
        batches = getattr(tr.data, "batches_per_epoch", None)
        if isinstance(batches, int):
            extra["data"] = {"batches_per_epoch": batches, "num_processes": self.world}
            folders = getattr(getattr(tr.data, "schedule", None), "folders", None)
            if folders is not None:  # a resume refused for a batch count that changed names the folders that did
                extra["data"]["folders"] = state_folders(folders)
            origin = self.resumed_origin() if hasattr(self, "resumed_origin") else None
            if origin is not None:  # this run's plan counts from there (engine/resume_refit.py)
                extra["data"]["origin"] = {"epoch": origin[0], "step": origin[1]}
            records = self._dataset_records(tr)
            if records is not None:  # written beside state.json (_write_dataset_records); said here how many
                from loratui.engine.resume_dataset import summary

                extra["data"]["dataset"] = summary(records)
        return extra

    def _dataset_records(self, tr) -> dict | None:
        """The dataset's records (engine/resume_dataset.py) as this run read it: made at the first state
        save (a stat an image, its caption from memory) and kept for the later ones."""
        if self.dataset_records is None and hasattr(tr.data, "groups") and hasattr(tr.data, "captions"):
            from loratui.engine.resume_dataset import records_for, training_images

            self.dataset_records = records_for(training_images(tr.data))
        return self.dataset_records

    def _write_dataset_records(self, folder: Path) -> None:
        """dataset.json into the state folder just saved. A failed write leaves a state a resume still
        takes (it says it cannot tell what changed), so it never ends the run."""
        if self.dataset_records is None:
            return
        from loratui.core.fsutil import atomic_write_bytes
        from loratui.engine.resume_dataset import FILE, encode

        try:
            atomic_write_bytes(folder / FILE, encode(self.dataset_records))
        except OSError:
            pass

    def current_prompts(self, tr) -> list | None:
        """sampling.sample_prompts read again now, as sd-scripts reads it at every sampling: prompts edited
        while the run goes on apply from the next sample on. A file that became unreadable, empty or
        invalid is said in one line (once until it changes or is fixed) and the last good prompts are
        used: a typo made overnight never ends the run. The first read, at the start, is checked."""
        from loratui.core.errors import LoratuiError
        from loratui.engine.sampling import parse_prompts

        path = self.cfg.sampling.sample_prompts
        if not path or not self.prompts:
            return self.prompts
        try:
            prompts = parse_prompts(path)  # a prompt without --w/--h: 512x512, as sd-scripts
        except (LoratuiError, OSError, ValueError) as exc:
            problem = str(exc)
            if problem != self.prompts_problem:
                self.prompts_problem = problem
                self.warn(f"{problem}: the samples at step {tr.step:,} (and later, until it is fixed) use the "
                          f"{len(self.prompts)} prompt(s) last read from it")
            return self.prompts
        if self.prompts_problem is not None or prompts != self.prompts:
            self.say(f"sample prompts: {len(prompts)} prompt(s) read again from {path}"
                     + (" (changed)" if prompts != self.prompts else ""))
        self.prompts, self.prompts_problem = prompts, None
        return prompts

    def sampling_stop_asked(self, tr) -> bool:
        """A stop asked (a signal: run_controls.py, a stop request): sampling ends at its next denoising step."""
        return bool(getattr(tr, "stop_requested", False) or getattr(self, "stop_asked_while_loading", None)
                    or getattr(self, "signals_seen", 0))

    def sample(self, tr, epoch_end: bool = False) -> None:
        """Render the prompts now, named as sd-scripts names them: by epoch at an epoch's end
        (``epoch_end``) and at sample_at_first (epoch 0), else by step. A prompt that cannot render (its
        sampler's package missing, ...) is a warning, said once until it changes: the run goes on."""
        if not self.is_main or not self.prompts:
            return
        from loratui.engine.sampling import RENDER_ERRORS, generate_samples, prompt_seed

        prompts = self.current_prompts(tr)
        by_epoch = epoch_end or tr.step == 0
        epoch = 0 if tr.step == 0 else tr.epoch
        self.say(f"generating {len(prompts)} sample image(s) at step {tr.step:,}"
                 + (f" (epoch {epoch})" if by_epoch else ""))
        self.check_output()
        # with cached latents the VAE waits on the CPU: the pipeline decodes on the training device
        vae_device = next(self.base.vae.parameters()).device
        self.base.vae.to(tr.device)
        problems: dict[int, str] = {}
        paths = []
        try:
            paths = generate_samples(self.base, prompts, self.output_dir / "sample", output_name=self.name,
                                     step=tr.step, epoch=epoch, device=tr.device,
                                     dtype=tr.autocast_dtype or torch.float32, seed=self.cfg.training.seed,
                                     sampler=self.cfg.sampling.sample_sampler, network=self.network,
                                     clip_skip=self.cfg.training.clip_skip,
                                     max_token_length=self.cfg.training.max_token_length, by_epoch=by_epoch,
                                     problems=problems, stop=lambda: self.sampling_stop_asked(tr))
        except RENDER_ERRORS as exc:  # the pipeline itself failed: no prompt rendered
            problems = {index: str(exc) for index in range(len(prompts))}
        finally:
            if vae_device != tr.device:
                self.base.vae.to(vae_device)
                if tr.device.type == "cuda":
                    torch.cuda.empty_cache()
        if self.sampling_stop_asked(tr) and len(paths) + len(problems) < len(prompts):
            # a stop during sampling: the rest is left, and the stop goes on as between two steps
            self.say(f"sampling stopped for the stop: {len(paths)} of {len(prompts)} sample image(s) rendered")
        self._say_sampling_problems(tr, prompts, problems)
        rendered = [index for index in range(len(prompts)) if index not in problems][:len(paths)]
        if paths:
            about = [{"prompt": prompts[i].prompt, "seed": prompt_seed(prompts[i], i, self.cfg.training.seed)}
                     for i in rendered]
            self.emit("sample_saved", paths=[str(p) for p in paths], step=tr.step, epoch=tr.epoch, prompts=about)

    def _say_sampling_problems(self, tr, prompts: list, problems: dict[int, str]) -> None:
        """One warning for the prompts that did not render (the same ones again are not said again)."""
        if not problems:
            self.sampling_problem = None
            return
        reasons = sorted(set(problems.values()))
        which = ", ".join(str(index + 1) for index in sorted(problems))
        problem = f"sample prompt(s) {which} of {len(prompts)} did not render: {'; '.join(reasons)}"
        if problem != self.sampling_problem:
            self.sampling_problem = problem
            self.warn(f"{problem}. Training goes on (step {tr.step:,}); later samplings that fail the same way "
                      "are not said again")

    def _disk_full(self, exc: BaseException) -> str | None:
        """One line for a full disk (torch / safetensors / OSError forms), else None: during a save it
        names the file or state folder being written and what that holds (its tensors); else the file
        the failed write named (a latent cache beside the images may sit on another disk than
        output_dir), the output folder only when nothing names one."""
        from loratui.core.diskspace import disk_full_message, failed_file, is_disk_full

        path, size, what = self.writing or (failed_file(exc) or self.output_dir, None, "the save")
        try:
            needed = size() if size is not None and is_disk_full(exc) else None  # only once it failed
        except Exception:  # the error handler's helper: no figure rather than another error
            needed = None
        line = disk_full_message(exc, path, needed, what)
        name = getattr(self, "name", None)  # the run's; a host without one (a test's) gets no resume hint
        if name is None:
            return line
        return with_resume_hint(line, self.output_dir, name, getattr(self, "config_path", None))

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


def state_folders(folders) -> list[dict]:
    """The run's concept folders as state.json keeps them (core/plan FolderLine: name, reg, repeats, images):
    engine/resume_check.py names the ones renamed, added, gone or with other image counts since."""
    return [{"name": f.name, "reg": bool(f.is_reg), "repeats": f.repeats, "images": f.images} for f in folders]


def remove_partial_state(folder: Path) -> None:
    """A state save that failed (a full disk) leaves its NAME-state.tmp/ half-written, taking the room the
    user frees next: removed, unless the old state was moved aside already (NAME-state.old/, no
    NAME-state/): the .tmp is complete then, and a resume finds it (engine/state.py find_resume_state)."""
    import shutil

    tmp, old = folder.with_name(folder.name + ".tmp"), folder.with_name(folder.name + ".old")
    if tmp.exists() and not (old.exists() and not folder.exists()):
        shutil.rmtree(tmp, ignore_errors=True)


AGAIN = " and run it again"  # how core.diskspace's full-disk line ends


def with_resume_hint(line: str | None, output_dir: Path, name: str, config: str | None) -> str | None:
    """A full disk's ``line`` ending with the command that resumes the run's newest complete state, when it
    has one: "run it again" would start a long run over from step 0 (the h4 hunt). As it was otherwise."""
    from loratui.core.run_states import resume_hint

    if not line:
        return line
    try:
        hint = resume_hint(output_dir, name, config)
    except OSError:  # the error handler's helper: the line as it was rather than another error
        hint = None
    if hint is None:
        return line
    return f"{line.removesuffix(AGAIN)}, then {hint}" if line.endswith(AGAIN) else f"{line}; {hint}"


def disk_full_hint(exc: BaseException, line: str) -> str:
    """The error event's hint for ``_disk_full``'s ``line``: a file-size limit (EFBIG, `ulimit -f`) is raised,
    a file system's largest file is left for another disk, a full disk is freed."""
    from loratui.core.diskspace import file_size_limit, is_file_too_large

    if is_file_too_large(exc) or line.startswith("the file size limit") or "larger than its file system" in line:
        if file_size_limit() is not None:
            return "raise the file size limit (ulimit -f) and start again"
        return "choose an output_dir on another disk (FAT32 holds at most 4 GB a file)"
    return "free some space or use another output_dir"


def saved_epoch(tr, kind: str) -> int:
    """ss_epoch as sd-scripts writes it (train_network.py save_model's epoch_no): an epoch save its epoch
    (epoch + 1, :1697), the final the run's epochs (:1727), a step save the 0-based epoch its step is in
    (:1501), i.e. the epochs completed before it. A stop or a save request is a step save; a stop at an
    epoch's end comes after the trainer counted the next epoch, and that one is completed then too."""
    if kind == "step":
        return max(0, min(tr.epoch - 1, tr.data.epochs))
    return min(tr.epoch, tr.data.epochs)


def sd_scripts_bucket_info(sched) -> dict:
    """ss_bucket_info as sd-scripts writes it: {"buckets": {i: {"resolution": [w, h], "count": n}},
    "mean_img_ar_error": x}, counts with repeats, buckets in (w, h) order."""
    buckets = {}
    for index, (key, count) in enumerate(sched.buckets.items()):
        width, height = (int(v) for v in key.split("x"))
        buckets[str(index)] = {"resolution": [width, height], "count": count}
    return {"buckets": buckets, "mean_img_ar_error": sched.mean_img_ar_error}
