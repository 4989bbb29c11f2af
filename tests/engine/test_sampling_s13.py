"""Sample images during training: sd-scripts' file names (by step, by epoch, the time, the seed only with
--d, a second sampling of a step keeping the first), a prompt that cannot render warning while training
goes on, one headless line per sampling, the prompts in the sample_saved event, and ss_num_batches_per_epoch
counted per process as sd-scripts counts it."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from fixtures.torch_threads import one_torch_thread  # noqa: F401 - autouse: one torch thread
from loratui.core.config import TrainingConfig
from loratui.core.errors import LoratuiError
from loratui.engine import run_saves, sampling
from loratui.engine.sampling import SamplePrompt, generate_samples


def test_samples_are_named_as_sd_scripts_names_them(tmp_path, tiny_sd1_dir):
    from loratui.engine.models import load_base_model

    base = load_base_model(SimpleNamespace(pretrained_model_name_or_path=str(tiny_sd1_dir), model_family="auto",
                                           v_parameterization=False, vae=""))
    prompts = [SamplePrompt("a red circle", width=64, height=64, steps=1, seed=5),
               SamplePrompt("a square", width=64, height=64, steps=1, sampler="ddim")]
    common = dict(output_name="tiny", device="cpu", dtype=torch.float32, seed=42)
    steps = generate_samples(base, prompts, tmp_path, step=12, epoch=1, **common)
    again = generate_samples(base, prompts, tmp_path, step=12, epoch=1, **common)  # "sample now" at that step
    epochs = generate_samples(base, prompts[:1], tmp_path, step=16, epoch=2, by_epoch=True, **common)
    assert re.fullmatch(r"tiny_000012_00_\d{14}_5\.png", steps[0].name)
    assert re.fullmatch(r"tiny_000012_01_\d{14}\.png", steps[1].name)  # no --d: no seed in the name
    assert re.fullmatch(r"tiny_e000002_00_\d{14}_5\.png", epochs[0].name)
    assert all(p.is_file() for p in steps + again) and len({*steps, *again}) == 4  # the first sampling kept


def test_a_prompt_that_cannot_render_is_said_and_the_others_render(tmp_path, monkeypatch):
    made = []

    def pipeline(base, sampler):
        if sampler == "lms":
            raise LoratuiError("sampler 'lms' needs the scipy package")
        made.append(sampler)
        raise RuntimeError("stop here")  # not a render problem: raised as before

    monkeypatch.setattr(sampling, "make_pipeline", pipeline)
    base = SimpleNamespace(unet=torch.nn.Linear(1, 1), text_encoders=[], family="sd1")
    problems: dict[int, str] = {}
    with pytest.raises(RuntimeError, match="stop here"):
        generate_samples(base, [SamplePrompt("a", sampler="lms"), SamplePrompt("b")], tmp_path, output_name="t",
                         step=1, epoch=1, device="cpu", dtype=torch.float32, seed=1, problems=problems)
    assert problems == {0: "sampler 'lms' needs the scipy package"} and made == ["euler_a"]
    with pytest.raises(LoratuiError, match="scipy"):  # without problems: raised
        generate_samples(base, [SamplePrompt("a", sampler="lms")], tmp_path, output_name="t", step=1, epoch=1,
                         device="cpu", dtype=torch.float32, seed=1)


class FakeRun(run_saves.RunSaves):
    """RunSaves with what Run gives it, its events and lines recorded."""

    def __init__(self, tmp_path: Path, prompts_file: Path):
        self.cfg = TrainingConfig()
        self.cfg.sampling.sample_prompts = str(prompts_file)
        self.cfg.training.seed = 40
        self.is_main, self.world, self.name, self.output_dir = True, 1, "t", tmp_path
        self.prompts = sampling.parse_prompts(prompts_file)
        self.prompts_problem = None
        self.base = SimpleNamespace(vae=torch.nn.Linear(1, 1))
        self.network = None
        self.events, self.lines = [], []

    def emit(self, kind, **fields):
        self.events.append((kind, fields))

    def say(self, text):
        self.lines.append(text)

    def warn(self, message):
        self.emit("warning", message=message)
        self.say(f"warning: {message}")

    def check_output(self, force=True):
        pass


def test_a_sampler_that_cannot_run_warns_once_and_the_run_goes_on(tmp_path, monkeypatch):
    prompts_file = tmp_path / "p.txt"
    prompts_file.write_text("red circle --w 64 --d 7 --ss k_lms\nblue square --w 64\n")
    run = FakeRun(tmp_path, prompts_file)

    def render(base, prompts, out, *, step, epoch, by_epoch, problems, **kw):
        problems[0] = "sampler 'lms' needs the scipy package, which is not installed"
        name = f"e{epoch:06d}" if by_epoch else f"{step:06d}"
        return [Path(out) / f"t_{name}_01_20260216080729.png"]

    monkeypatch.setattr(sampling, "generate_samples", render)
    tr = SimpleNamespace(step=3, epoch=1, device=torch.device("cpu"), autocast_dtype=None)
    run.sample(tr)
    tr.step = 4
    run.sample(tr, epoch_end=True)
    assert run.lines[0] == "generating 2 sample image(s) at step 3"
    assert run.lines[1].startswith("warning: sample prompt(s) 1 of 2 did not render: sampler 'lms' needs the scipy")
    assert run.lines[2] == "generating 2 sample image(s) at step 4 (epoch 1)"  # the same problem: not said again
    warnings = [f for kind, f in run.events if kind == "warning"]
    assert len(warnings) == 1 and "Training goes on (step 3)" in warnings[0]["message"]
    saved = [f for kind, f in run.events if kind == "sample_saved"]
    assert [Path(s["paths"][0]).name for s in saved] == ["t_000003_01_20260216080729.png",
                                                          "t_e000001_01_20260216080729.png"]
    assert saved[0]["prompts"] == [{"prompt": "blue square", "seed": 41}]  # the training seed + its index


def test_the_pipeline_failing_as_a_whole_is_a_warning_too(tmp_path, monkeypatch):
    prompts_file = tmp_path / "p.txt"
    prompts_file.write_text("red circle\n")
    run = FakeRun(tmp_path, prompts_file)

    def render(*args, **kw):
        raise ValueError("this scheduler refuses that config")

    monkeypatch.setattr(sampling, "generate_samples", render)
    run.sample(SimpleNamespace(step=0, epoch=1, device=torch.device("cpu"), autocast_dtype=None))
    assert run.lines[0] == "generating 1 sample image(s) at step 0 (epoch 0)"  # sample_at_first: epoch 0
    assert [kind for kind, _ in run.events] == ["warning"]


def test_num_batches_per_epoch_is_one_process_batches_as_sd_scripts_writes_it(monkeypatch):
    import loratui.engine.metadata as metadata

    seen = {}
    monkeypatch.setattr(metadata, "build_metadata", lambda *a, **kw: seen.update(kw) or {})
    run = run_saves.RunSaves()
    run.cfg, run.base, run.world, run.model_hashes = TrainingConfig(), SimpleNamespace(family="sd1",
                                                                                       v_prediction=False), 2, {}
    run.session_id, run.started_at = 1, 0.0
    schedule = SimpleNamespace(batches_per_epoch=9, batches_per_process=5, samples_per_epoch=18,
                               buckets={"64x64": 18}, mean_img_ar_error=0.0)
    data = SimpleNamespace(scan=SimpleNamespace(subsets=[]), schedule=schedule, epochs=1, total_steps=5,
                           tag_frequency=lambda: {})
    run.metadata(SimpleNamespace(data=data, step=5, epoch=1), final=True)
    assert seen["num_batches_per_epoch"] == 5
