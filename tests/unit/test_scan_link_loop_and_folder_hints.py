"""A concept-folder link loop is skipped everywhere with one warning naming it (as sd-scripts skips it);
a dataset given one level too high, or a reg concept folder given as the reg folder, gets the folder to
use instead of advice that nests concepts; CJK folder names keep the tables aligned."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from click.testing import CliRunner
from fixtures.tui_dataset import make_dataset
from PIL import Image

from loratui.cli import cli
from loratui.commands.dataset_cmd import cells
from loratui.core.captions import find_caption_images
from loratui.core.dataset import locate_dataset, reg_dir_hint, scan_dataset, train_dir_hint


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def png(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (64, 64), "red").save(path)


def looped(train: Path, name: str = "05_loop") -> Path:
    """train/10_a/a.png and train/NAME -> NAME (a link to itself: ELOOP on every stat)."""
    png(train / "10_a" / "a.png")
    os.symlink(name, train / name)
    return train


def test_a_link_loop_sorting_before_the_real_concept_does_not_stop_locate_or_scan(tmp_path):
    train = looped(tmp_path / "train")  # 05_loop sorts before 10_a: the first entry looked at
    assert locate_dataset(train).kind == "dataset"
    assert train_dir_hint(train) == ""
    scan = scan_dataset(train)
    assert [s.name for s in scan.subsets] == ["10_a"]
    [loop] = [p for p in scan.problems if p.kind == "broken_link"]
    assert loop.message == ("train folder: '05_loop' is a broken link (to '05_loop', a loop of links): sd-scripts "
                            "skips it; point it at the real concept folder or remove it")
    assert find_caption_images(train) == [train / "10_a" / "a.png"]


def test_scan_balance_and_tags_all_skip_the_loop(tmp_path):
    train = looped(tmp_path / "train")
    scan = invoke("dataset", "scan", str(train))
    assert scan.exit_code == 0, scan.output
    assert sum("05_loop" in line for line in scan.output.splitlines()) == 1  # one warning, one line
    assert invoke("dataset", "balance", str(train), "--dry-run").exit_code == 0
    freq = invoke("tags", "freq", str(train))
    assert freq.exit_code == 0, freq.output
    assert invoke("tags", "check", str(train)).exit_code == 0


def test_the_app_store_lists_the_images_beside_a_link_loop(tmp_path):
    from loratui.tui.services.dataset_store import DatasetStore

    root = make_dataset(tmp_path / "proj")
    os.symlink("01_loop", root / "img" / "01_loop")
    rows = DatasetStore(locate_dataset(root)).list_rows()
    assert len(rows) == 6


def test_the_app_opens_a_dataset_with_a_link_loop(tmp_path):
    from loratui.tui.app import LoratuiApp

    root = make_dataset(tmp_path / "proj")
    os.symlink("01_loop", root / "img" / "01_loop")
    app = LoratuiApp(locate_dataset(root), settings_file=tmp_path / "cfg" / "tui.toml",
                     keymap_file=tmp_path / "cfg" / "keymap.toml", themes_dir=tmp_path / "themes", watch=False)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            deadline = time.monotonic() + 10
            while not (app.store.captions_loaded and app.store.scan is not None):
                assert time.monotonic() < deadline, "the dataset never finished loading"
                await pilot.pause(0.05)
            assert len(app.store.rows) == 6
            assert [p.path.name for p in app.store.scan.problems if p.kind == "broken_link"] == ["01_loop"]

    asyncio.run(main())


def test_a_dataset_one_level_too_high_names_the_folder_to_use(tmp_path):
    png(tmp_path / "L4" / "train" / "10_a" / "a.png")
    l4 = tmp_path / "L4"
    scan = scan_dataset(l4)
    messages = {p.kind: p.message for p in scan.problems}
    assert messages["no_repeat_prefix"] == (f"train folder 'train' has no `N_` repeat prefix: sd-scripts skips it (it "
                                            f"holds concept folders itself: use {l4}/train as train_data_dir)")
    assert messages["no_subsets"].endswith(f"(did you mean {l4}/train?)")
    assert train_dir_hint(l4) == f"; {l4}/train holds the concept folders: set train_data_dir to {l4}/train"
    png(tmp_path / "L5" / "train" / "a.png")  # no concept folders below: the rename advice stands
    l5 = {p.kind: p.message for p in scan_dataset(tmp_path / "L5").problems}
    assert l5["no_repeat_prefix"].endswith("(rename it to e.g. '10_train')")


def test_steps_on_a_dataset_one_level_too_high_says_which_folder(tmp_path):
    png(tmp_path / "L4" / "train" / "10_a" / "a.png")
    config = tmp_path / "c.toml"
    config.write_text('[training]\nmax_train_epochs = 2\n[dataset]\ntrain_data_dir = "L4"\n')
    result = CliRunner().invoke(cli, ["steps", str(config)])
    assert result.exit_code != 0
    assert str(result.exception).endswith(f"; {tmp_path}/L4/train holds the concept folders: set train_data_dir "
                                          f"to {tmp_path}/L4/train")


def reg_concept_as_reg(tmp_path: Path) -> Path:
    png(tmp_path / "S1" / "train" / "10_a" / "a.png")
    for i in range(4):
        png(tmp_path / "S1" / "reg" / "3_r" / f"{i}.png")
    return tmp_path / "S1"


def test_a_reg_concept_folder_given_as_reg_folder_names_its_parent(tmp_path):
    s1 = reg_concept_as_reg(tmp_path)
    scan = scan_dataset(s1 / "train", s1 / "reg" / "3_r")
    [loose] = [p for p in scan.problems if p.kind == "loose_images"]
    assert loose.message == (f"4 image(s) directly in reg folder {s1}/reg/3_r are ignored by sd-scripts: {s1}/reg/3_r "
                             f"is itself a concept folder: use the folder that holds it, {s1}/reg, as reg_data_dir")
    assert reg_dir_hint(s1 / "reg" / "3_r") == (f"; {s1}/reg/3_r is one concept folder: set reg_data_dir to the "
                                                f"folder that holds it, {s1}/reg")
    assert reg_dir_hint(s1 / "reg") == ""  # right as it is
    assert reg_dir_hint(s1) == ""  # two children hold concepts (train/, reg/): no guess


def test_steps_says_why_a_reg_folder_gives_no_images(tmp_path):
    s1 = reg_concept_as_reg(tmp_path)
    config = s1 / "c.toml"
    config.write_text('[training]\nmax_train_epochs = 2\n[dataset]\ntrain_data_dir = "train"\n'
                      'reg_data_dir = "reg/3_r"\n')
    result = invoke("steps", str(config))
    assert result.exit_code == 0, result.output
    assert (f"  - reg_data_dir {s1}/reg/3_r: no regularisation images are counted; {s1}/reg/3_r is one concept "
            f"folder: set reg_data_dir to the folder that holds it, {s1}/reg") in result.output
    config.write_text('[training]\nmax_train_epochs = 2\n[dataset]\ntrain_data_dir = "train"\nreg_data_dir = "reg"\n')
    assert "no regularisation images" not in invoke("steps", str(config)).output


def test_cjk_folder_names_keep_the_scan_and_steps_columns_aligned(tmp_path):
    png(tmp_path / "C" / "10_猫猫" / "a.png")
    png(tmp_path / "C" / "5_dog" / "a.png")
    scan = invoke("dataset", "scan", str(tmp_path / "C"))
    rows = [line for line in scan.output.splitlines() if line.startswith(("KIND", "train  "))]
    assert len(rows) == 3
    assert len({cells(line) for line in rows}) == 1, rows
    config = tmp_path / "c.toml"
    config.write_text('[training]\nmax_train_epochs = 2\n[dataset]\ntrain_data_dir = "C"\n')
    steps = invoke("steps", str(config))
    lines = [line for line in steps.output.splitlines() if line.startswith("  train ") and " x " in line]
    assert len(lines) == 2
    assert len({cells(line) for line in lines}) == 1, lines
