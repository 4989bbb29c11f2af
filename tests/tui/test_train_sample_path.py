"""Over SSH a sample image is found by its path: the Train screen shows the shown sample's path (relative
to the output folder), its prompt and seed, and keys that stay visible at 80 columns; y copies the path
(Y the LoRA's) to the terminal's clipboard and says which."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixtures.pilot_wait import until  # noqa: E402
from test_train_screen import make_app, make_project, pick, run_app, said, write_recorded  # noqa: E402

from loratui.tui.screens.train import TrainScreen  # noqa: E402
from loratui.tui.screens.train_checkpoints import left_cut, sample_words, shown_path  # noqa: E402
from loratui.tui.widgets.checkpoint_list import CheckpointList  # noqa: E402


def detail(screen) -> list[str]:
    return str(screen.query_one("#checkpoint-detail").render()).splitlines()


def second_prompt(root: Path) -> dict:
    """A second sample of the final checkpoint (step 48; the recorded run has its prompt 1, seed 1)."""
    return {"event": "sample_saved", "time": 1796032100.0, "step": 48, "epoch": 12,
            "paths": [str(root / "out" / "sample" / "tiny_000048_01_12345.png")]}


def test_the_sample_path_prompt_seed_and_keys_show_at_80_columns_and_y_copies_it(tmp_path):
    config = make_project(tmp_path)
    out = write_recorded(tmp_path, extra=[second_prompt(tmp_path)])

    async def scenario(pilot, screen: TrainScreen):
        app = screen.app
        await pick(pilot, app, "COMPLETED")
        await until(pilot, lambda: screen.snapshot and screen.snapshot.caught_up, "caught up")
        listed = screen.query_one(CheckpointList)
        await until(pilot, lambda: listed.highlighted == 2 and detail(screen)[:1] == ["sample/tiny_000048_00_1.png"],
                    "the final's first sample")
        box = screen.query_one("#checkpoint-detail")
        lines = detail(screen)
        assert lines[1:3] == ["prompt 1 · seed 1 · 1/2", "y copy path · v next"]
        assert lines[3].startswith("tiny.safetensors · 2 sample(s)")
        assert box.size.height == len(lines) == 4 and all(len(line) <= box.size.width for line in lines[:3])

        await pilot.press("v")
        await until(pilot, lambda: detail(screen)[1] == "prompt 2 · seed 12345 · 2/2", "the next sample")
        assert detail(screen)[0] == "…/tiny_000048_01_12345.png"  # 31 characters in 29: cut at its start
        await pilot.press("y")
        copied = str(out / "sample" / "tiny_000048_01_12345.png")
        await said(pilot, app, lambda n: n.startswith(f"copied {copied} (") and "OSC 52" in n, "copy said")
        assert app.clipboard == copied
        await pilot.press("Y")
        await until(pilot, lambda: app.clipboard == str(out / "tiny.safetensors"), "the LoRA's path copied")

        await pilot.press("up")  # epoch 8: one sample, no "v next"
        await until(pilot, lambda: detail(screen)[0] == "sample/tiny_000032_00_1.png", "epoch 8's sample")
        assert detail(screen)[1:3] == ["prompt 1 · seed 1", "y copy path · Y the LoRA's"]

    run_app(make_app(tmp_path, config), scenario)


def test_a_checkpoint_without_samples_copies_its_lora_and_the_wide_side_shows_more(tmp_path):
    config = make_project(tmp_path)
    out = write_recorded(tmp_path, lines=22)  # up to the epoch 4 save (its sample comes later)

    async def scenario(pilot, screen: TrainScreen):
        app = screen.app
        await pick(pilot, app, "tiny")
        await until(pilot, lambda: screen.snapshot and screen.snapshot.caught_up, "caught up")
        await until(pilot, lambda: detail(screen) and detail(screen)[0] == "y copy path", "no sample: the key")
        assert detail(screen)[1].startswith("tiny-000004.safetensors · no samples")
        await pilot.press("y")
        await until(pilot, lambda: app.clipboard == str(out / "tiny-000004.safetensors"), "the LoRA's path copied")

    run_app(make_app(tmp_path, config), scenario, size=(120, 40))


def test_paths_are_shown_as_typed_and_cut_at_their_start():
    out = Path("/data/out")
    assert shown_path(out / "sample" / "a_000001_00_3.png", out) == "sample/a_000001_00_3.png"
    assert shown_path(Path.home() / "x" / "b.png", out) == "~/x/b.png"
    assert shown_path("/elsewhere/c.png", None) == "/elsewhere/c.png"
    assert left_cut("/tmp/s11/h4/d2/model/sample/p_000005_00_3.png", 29) == "…/sample/p_000005_00_3.png"
    assert left_cut("sample/p.png", 29) == "sample/p.png"
    assert len(left_cut("x" * 60 + ".png", 20)) == 20
    assert sample_words("my_lora_v2_000005_03_-1.png") == "prompt 4 · seed -1"
    assert sample_words("picture.png") is None
