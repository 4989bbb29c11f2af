"""What a resume does once the model, the LoRA and the optimizer are built: the state loaded, this config's
learning rates set, what changed said (the config, and the captions and images: engine/resume_dataset.py),
a state at an epoch's end of a dataset changed since taken on at the next epoch (engine/resume_refit.py), and
the files the resumed run writes anew kept aside first.
(engine/resume_check.py refuses a state that cannot go on, before anything loads.)"""

from __future__ import annotations

from pathlib import Path

from loratui.engine.run_checks import config_digest


class RunResume:
    """Run's resume from --resume STATE_DIR (checked by then: resume_info, resume_changes, state_run_epochs)."""

    def _restore_state(self, tr, base_lrs: list[float]) -> None:
        """Load the state into the trainer's LoRA, optimizer, schedule, scaler, generator and data order.
        After the caches: encoding draws random numbers, the restored RNG must not be consumed by it."""
        from loratui.engine.state import load_state

        data = tr.data
        info = load_state(self.resume, network=tr.network, optimizer=tr.optimizer, scheduler=tr.scheduler,
                          scaler=tr.scaler, generator=tr.generator, rank=self.rank, world_size=self.world)
        tr.step, tr.epoch, tr.batches_done, tr.losses = (info["step"], info["epoch"], info["batches_done"],
                                                         info["losses"])
        accumulation = self.cfg.training.gradient_accumulation_steps
        tr.epoch_loss_sum, tr.epoch_loss_steps = epoch_losses_so_far(info, accumulation)
        # an epoch-end state of a dataset changed since (engine/resume_refit.py): the next epoch, from its start
        refit = (self.resume_info or {}).get("refit")
        data_state = info.get("data_state")
        if refit:
            tr.epoch, tr.batches_done = refit["epochs_done"] + 1, 0
            tr.epoch_loss_sum, tr.epoch_loss_steps = 0.0, 0
            if isinstance(data_state, dict):  # its old batch count is the change the check allowed
                data_state = {**data_state, "batches_per_epoch": getattr(data, "batches_per_epoch", None)}
            self.warn(refit["line"])
        if data_state is not None and hasattr(data, "load_state_dict"):
            data.load_state_dict(data_state)
        if self.is_main:
            self._say_dataset_changes(data)
        if not info.get("rng_restored", True):
            self.warn("this state was saved by another number of processes: training continues from it, "
                      "but not bit-identically to an uninterrupted run")
        learning_rates = apply_learning_rates(tr.optimizer, tr.scheduler, base_lrs)
        if self.resume_changes:  # every changed field named, old -> new (engine/resume_check.py)
            self.warn(self.resume_changes)
        elif learning_rates:  # a state that kept no config: the learning rates still show
            self.warn(f"the learning rate changed since this state was saved ({learning_rates}): the new one "
                      "applies from here, so the resumed run will not match an uninterrupted one")
        elif info.get("config") is None and info.get("config_digest") != config_digest(self.cfg):
            self.warn("the config changed since this state was saved: the resumed run will not match an "
                      "uninterrupted one")
        self.say(f"resumed from {self.resume} at step {tr.step}, epoch {tr.epoch}")
        if self.is_main:
            self._keep_promoted_final()  # first: the checks below read NAME.safetensors as a final LoRA
            # the saves past the state are its run's: their epochs count in that run's steps an epoch
            before = (refit or {}).get("steps_per_epoch_before") or data.steps_per_epoch
            if not self._keep_newer_outputs(int(info["step"]), max(1, before)):
                self._keep_previous_final(info)
        if self.extend_epochs is not None and self.is_main:
            planned = self.state_run_epochs
            self.say(f"extending by {self.extend_epochs} epoch(s) past the {planned} epoch(s) the state's run "
                     f"planned: {data.epochs} epochs, {data.total_steps} steps in all")

    def fit_schedule_to_state(self, data) -> None:
        """A state whose plan has an origin (engine/resume_refit.py: resumed at an epoch's end after the
        batches of an epoch changed, or a later state of such a run): the data's total steps and epochs
        from it, before the LR schedule is built on them and run_started names them."""
        from loratui.engine.resume_refit import shifted_plan

        origin = self.resumed_origin()
        if origin is not None:
            data.total_steps, data.epochs = shifted_plan(self.cfg.training, data.steps_per_epoch, origin)

    def resumed_origin(self) -> tuple[int, int] | None:
        """(E0, S0) of the resumed state's plan (resume_check.py put it in resume_info), or None."""
        if not getattr(self, "resume", None):
            return None
        plan = (getattr(self, "resume_info", None) or {}).get("resumed_origin")
        return (int(plan["epoch"]), int(plan["step"])) if plan else None

    def resumed_schedule_line(self, data, device) -> str | None:
        """The schedule line of a run whose plan has an origin (its total is no whole count of epochs)."""
        from loratui.engine.resume_refit import shifted_schedule_line

        origin = self.resumed_origin()
        return (shifted_schedule_line(data.total_steps, data.epochs, data.steps_per_epoch, origin, device)
                if origin is not None else None)

    def _say_dataset_changes(self, data) -> None:
        """One line when captions or images changed since the state was saved (engine/resume_dataset.py):
        the state's records against the dataset as this run read it. A state that kept none: nothing."""
        from loratui.engine.resume_dataset import changes_line, read_records, records_for, training_images

        kept = ((getattr(self, "resume_info", None) or {}).get("data") or {}).get("dataset")
        if not isinstance(kept, dict) or not hasattr(data, "groups"):
            return
        self.dataset_records = records_for(training_images(data))  # this run's: its state saves keep them
        line = changes_line(read_records(self.resume), self.dataset_records, kept=True)
        if line:
            self.warn(line)

    def _keep_newer_outputs(self, step: int, steps_per_epoch: int) -> bool:
        """Resuming writes NAME.safetensors, NAME-state, the saves and the sample images past the state's
        step anew: what the folder holds of those that is newer than the state (engine/outputs.py; the
        samples past its step, an epoch's samples past the epochs whose end it is past, into
        NAME-kept-<time>/sample/, engine/run_folder.py) is kept aside first, and said. True when the final
        LoRA was (it is not this state's run's, so not its epoch's LoRA)."""
        from loratui.core.runs import SAMPLE_FOLDER, sample_epoch, sample_step, samples_past
        from loratui.engine.outputs import keep_newer_outputs
        from loratui.engine.run_folder import move_samples_aside
        from loratui.engine.sampling import moved_samples_words

        kept = keep_newer_outputs(self.output_dir, self.name, resumed=Path(self.resume), step=step,
                                  saved_at=self.state_saved_at)
        # a sample's name holds its step, an epoch's its epoch (NAME_e000002_...): this run renders those past
        # the state again (an epoch's samples at its end: those of the epochs the state has not ended)
        folder, samples = move_samples_aside(self.output_dir, self.name, None,
                                             samples_past(self.output_dir, self.name, step, step // steps_per_epoch))
        # where it is now, for the checkpoint list: only a save this run made (a session before this
        # resume); another run's file kept aside (the final of the run before it) is none of this run's.
        # Its samples went aside with it: named in the event, so that the list shows those, not the ones
        # this session renders at the same step
        ours = self._saved_by_this_run() if any(item.kind != "state" for item in kept) else set()
        for item in kept:
            if item.kind != "state" and item.source.name in ours:
                # a step save's ss_epoch is the epochs done before it (sd-scripts'): its own event named the
                # epoch its step is in, read from the step (files from before that change hold the latter)
                epoch = item.epoch if item.kind in ("epoch", "final") else -(-item.step // steps_per_epoch)
                # an epoch's samples are those of the save at its end: an epoch save, the final, a step save there
                at_end = item.kind in ("epoch", "final") or item.step == epoch * steps_per_epoch
                its = [str(folder / SAMPLE_FOLDER / p.name) for p in samples if sample_step(p, self.name) == item.step
                       or at_end and sample_epoch(p, self.name) == epoch]
                self.emit("checkpoint_saved", path=str(item.kept), kind="step" if item.kind == "final" else item.kind,
                          step=item.step, epoch=epoch, **({"samples": its} if its else {}))
        for item in (k for k in kept if k.kind in ("final",) or k.source.name == f"{self.name}-state"):
            verb = "kept as" if item.copied else "moved to"
            foreign = item.kind == "final" and item.source.name not in ours
            self.warn(f"{item.source.name} {item.why}: {verb} {item.kept.name} before this run writes it anew"
                      + (" (another run's final LoRA: not one of this run's checkpoints)" if foreign else ""))
        saves = [k for k in kept if k.kind != "final" and k.source.name != f"{self.name}-state"]
        moved = [f"{k.source.name} -> {k.kept.name}" for k in saves]
        if samples:  # a 0-byte / cut-short PNG an older loratui's killed write left: named as damaged, not a sample
            moved.append(moved_samples_words(samples, folder, SAMPLE_FOLDER))
        if moved:
            why = (f"past this state's step {step:,}" if all("past this state's step" in k.why for k in saves) else
                   f"past this state's step {step:,}, or of a run started after this state was saved")
            what = "saves and sample images" if saves and samples else "saves" if saves else "sample images"
            self.warn(f"{what} {why} moved aside before this run writes them anew: {', '.join(moved)}")
        return any(k.kind == "final" for k in kept)

    def _saved_by_this_run(self) -> set[str]:
        """The names of the LoRA files this run's events announce (checkpoint_saved): the file a resume
        appends to holds its earlier sessions; one begun anew (``later_run_events``) holds none yet.
        Names, not paths: a project moved since is the same run."""
        from loratui.core.events import parse_line

        names: set[str] = set()
        try:
            with open(self.events_file, "rb") as handle:
                for line in handle:
                    if b'"checkpoint_saved"' not in line:
                        continue
                    event = parse_line(line.decode("utf-8", "replace"))
                    if event is not None and event["event"] == "checkpoint_saved" and event.get("kind") != "state":
                        names.add(Path(str(event.get("path"))).name)
        except OSError:
            pass
        return names

    def _keep_promoted_final(self) -> None:
        """NAME.safetensors holding a promoted copy of a save (core/promote.py): moved to the next free
        NAME-promoted*.safetensors before this run writes its final LoRA there, and said."""
        from loratui.core.promote import move_promoted_final_aside

        moved = move_promoted_final_aside(self.output_dir, self.name)
        if moved is not None:
            source, now = moved
            self.warn(f"{self.name}.safetensors was a promoted copy of {source.name}: moved to {now.name} before "
                      "this run writes its final LoRA there")

    def _keep_previous_final(self, info: dict) -> None:
        """Continuing a run (resume, --max-steps past its end, --extend-epochs) writes NAME.safetensors anew:
        the one there is kept first (a copy, written whole), under the name of its save point when it is
        the state's run's final (its ss_steps is the state's step): NAME-00000E.safetensors when that run
        ended at the end of epoch E, else NAME-stepNNNNNNNN.safetensors (names loaders and the checkpoint
        list know); any other final as NAME-kept-stepN.safetensors; the copy is on record as one
        (core/promote.py ``record_kept_copy``). Said in one line."""
        from loratui.core.promote import record_kept_copy, same_bytes
        from loratui.engine.outputs import _free, copy_whole, lora_header

        final = self.output_dir / f"{self.name}.safetensors"
        meta = lora_header(final) if final.is_file() else None
        if meta is None:
            return
        step, epoch = int(info["step"]), int(info["epoch"]) - 1  # a state at an epoch's end counts the next
        final_step = meta.get("ss_steps")
        ours = final_step == str(step)
        if ours and not info.get("batches_done") and epoch >= 1:
            keep, kind = self.output_dir / f"{self.name}-{epoch:06d}.safetensors", "epoch"
        elif ours:
            keep, kind = self.output_dir / f"{self.name}-step{step:08d}.safetensors", "step"
        else:
            keep, kind = None, "final"
        save = keep
        if save is not None and save.exists():
            if same_bytes(save, final):
                return  # this step's save holds it already, and the checkpoint list shows that save
            # the save of this step holds other bytes: this final, of the same step, is another run's
            keep, kind = None, "final"
        if keep is None:
            shown = int(final_step) if str(final_step or "").isdigit() else 0
            keep = self.output_dir / (_free(self.output_dir, f"{self.name}-kept-step{shown:08d}", (".safetensors",))
                                      + ".safetensors")
        copy_whole(final, keep)
        # the final's bytes under a save's name: on record, or the next launch takes the final for a promoted
        # copy of this save and moves it aside (core/promote.py)
        record_kept_copy(self.output_dir, self.name, keep)
        if kind != "final":
            self.emit("checkpoint_saved", path=str(keep), kind=kind, step=step, epoch=max(epoch, 0) if
                      kind == "epoch" else int(info["epoch"]))
            self.warn(f"kept the LoRA this run had at step {step:,} as {keep.name} (a copy of {final.name}, which "
                      "this run writes anew)")
            return
        why = (f"step {step:,} as this state, but not the {save.name} this run saved there" if ours else
               f"step {final_step or '?'}, not this state's step {step:,}")
        self.warn(f"{final.name} ({why}) kept as {keep.name} before this run writes it anew (another run's final "
                  "LoRA: not one of this run's checkpoints)")


def apply_learning_rates(optimizer, scheduler, wanted: list[float]) -> str | None:
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


def epoch_losses_so_far(info: dict, accumulation: int) -> tuple[float, int]:
    """(sum, count) of the losses of the state's epoch before it was saved, for that epoch's average
    (epoch_end) once resumed: kept in the state; an older state's from its last losses (the steps of
    batches_done), when it kept that many; (0, 0) at an epoch's start or when they are not known."""
    kept = info.get("epoch_loss")
    if isinstance(kept, dict):
        total, steps = kept.get("sum"), kept.get("steps")
        if isinstance(total, (int, float)) and isinstance(steps, int) and steps >= 0:
            return float(total), steps
    batches = info.get("batches_done") or 0
    losses = info.get("losses") or []
    steps = -(-int(batches) // max(1, accumulation))
    if not steps or steps > len(losses):
        return 0.0, 0
    total = 0.0
    for loss in losses[-steps:]:  # added in order, as the loop adds them
        total += float(loss)
    return total, steps
