"""The Caption screen's model check names a cut-short weight file (hunt h3, finding 2): it used to show
"✓ …: BLIP-2 model" and the run then failed with transformers' "incomplete metadata" naming no file."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from fixtures.pilot_wait import until
from fixtures.tui_dataset import make_dataset

from loratui.core.dataset import locate_dataset
from loratui.tui.app import LoratuiApp
from loratui.tui.screens.caption import CaptionScreen


def _blip2_folder(folder: Path, shard_sizes: tuple[int, ...]) -> list[Path]:
    """A BLIP-2 folder whose weights are hand-written safetensors shards (the check never loads them)."""
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"model_type": "blip-2",
                                                    "architectures": ["Blip2ForConditionalGeneration"]}))
    (folder / "preprocessor_config.json").write_text("{}")
    (folder / "tokenizer.json").write_text("{}")
    shards, weight_map = [], {}
    for number, size in enumerate(shard_sizes, start=1):
        name = f"model-{number:05d}-of-{len(shard_sizes):05d}.safetensors"
        header = json.dumps({f"w{number}": {"dtype": "U8", "shape": [size], "data_offsets": [0, size]}}).encode()
        (folder / name).write_bytes(len(header).to_bytes(8, "little") + header + bytes(size))
        weight_map[f"w{number}"] = name
        shards.append(folder / name)
    (folder / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    return shards


def test_the_model_check_names_a_cut_short_shard(tmp_path, monkeypatch):
    monkeypatch.setenv("LORATUI_MODEL_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    make_dataset(tmp_path / "proj")
    whole = tmp_path / "models" / "whole"
    _blip2_folder(whole, (1000, 1000, 500))
    cut = tmp_path / "models" / "trunc_shard"
    shard = _blip2_folder(cut, (1000, 1000, 500))[1]
    with open(shard, "r+b") as fh:
        fh.truncate(shard.stat().st_size - 400)
    app = LoratuiApp(locate_dataset(tmp_path / "proj"), settings_file=tmp_path / "tui.toml",
                     keymap_file=tmp_path / "k.toml", watch=False)

    async def main():
        from textual import events

        async with app.run_test(size=(80, 24)) as pilot:
            app.add_mode("caption2", CaptionScreen)
            await app.switch_mode("caption2")
            screen = app.screen
            await until(pilot, lambda: screen.model_ok or screen.model_problem, "model check")
            await pilot.press("ctrl+b")
            assert screen.captioner == "blip"
            async def check(folder: Path) -> None:
                await pilot.press("ctrl+o", "ctrl+u")
                app.focused.post_message(events.Paste(str(folder)))
                await pilot.pause()
                assert screen.query_one("#model-folder").value == str(folder)

            await check(whole)
            await until(pilot, lambda: screen.model_ok and str(whole) in screen.model_ok, "the whole one passes")
            await check(cut)
            await until(pilot, lambda: screen.model_problem, "the cut shard's check")
            problem = screen.model_problem
            assert problem.startswith(f"{shard}: shard 2 of 3: cut short at 675 of 1,075 bytes") and "\n" not in problem
            assert problem.endswith("(an unfinished copy or download); copy or download it again")
            shown = str(screen.query_one("#model-check").render())
            assert "shard 2 of 3: cut short" in shown and "copy or download it again" in shown

    asyncio.run(main())
