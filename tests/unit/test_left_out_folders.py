"""hunt2 finding 7: the concept folders sd-scripts trains are one list (core.dataset.concept_folders),
`loratui steps` counts exactly those and names every folder it leaves out, with the scan's reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from loratui.cli import cli, main
from loratui.core.config import TrainingConfig, save_config
from loratui.core.dataset import MAX_TRAINABLE_REPEATS, concept_folders, scan_dataset


def images(folder: Path, count: int = 3) -> None:
    folder.mkdir(parents=True)
    for i in range(count):
        Image.new("RGB", (64, 64), (i * 40, 80, 120)).save(folder / f"i{i}.png")
        (folder / f"i{i}.txt").write_text("tag", encoding="utf-8")


def sd_scripts_folders(root: Path) -> dict[str, int]:
    """sd-scripts' own choice (library/config_util.py, generate_dreambooth_subsets_config_by_subdirs),
    copied line for line: every subfolder, hidden ones too; int() of the piece before the first "_"."""
    found = {}
    for subdir in root.iterdir():
        if not subdir.is_dir():
            continue
        tokens = subdir.name.split("_")
        try:
            n_repeats = int(tokens[0])
        except ValueError:
            n_repeats = 0
        if n_repeats < 1:
            continue
        found[subdir.name] = n_repeats
    return found


NAMES = ["0_x", "-1_x", "100000_x", "10000_y", "+5_plus", "05_lead", "7", "3_", ".5_hidden", "x_5", "2_a_b",
         "99999999999999999999_big"]


def test_the_folders_are_the_ones_sd_scripts_trains(tmp_path):
    for name in NAMES:
        (tmp_path / name).mkdir()
    ours = {f.path.name: f.repeats for f in concept_folders(tmp_path)[0]}
    theirs = sd_scripts_folders(tmp_path)
    # the one difference: a folder sd-scripts cannot even list in memory (it never reaches a first step)
    assert ours == {k: v for k, v in theirs.items() if v <= MAX_TRAINABLE_REPEATS}
    assert ours["100000_x"] == 100000 and "99999999999999999999_big" in theirs


def test_each_left_out_entry_has_a_reason(tmp_path):
    for name in NAMES:
        (tmp_path / name).mkdir()
    (tmp_path / ".loratui").mkdir()  # loratui's own journal: not named
    _, problems = concept_folders(tmp_path)
    by_kind = {}
    for p in problems:
        by_kind.setdefault(p.kind, []).append(p)
    assert {p.path.name for p in by_kind["zero_repeats"]} == {"0_x", "-1_x"}
    assert [p.path.name for p in by_kind["no_repeat_prefix"]] == ["x_5"]
    [many] = by_kind["many_repeats"]
    assert many.severity == "warning" and "sd-scripts trains it as written, so it is counted" in many.message
    [absurd] = by_kind["too_many_repeats"]
    assert absurd.severity == "error" and "left out (not counted)" in absurd.message
    [hidden] = by_kind["hidden_folders"]
    assert hidden.severity == "info" and "1 hidden folder(s) skipped: .5_hidden" in hidden.message
    assert ".loratui" not in hidden.message


def test_scan_counts_a_folder_with_many_repeats_and_names_hidden_ones(tmp_path):
    images(tmp_path / "100000_x")
    images(tmp_path / ".5_hidden")
    (tmp_path / "100000_x" / ".secret.png").write_bytes((tmp_path / "100000_x" / "i0.png").read_bytes())
    scan = scan_dataset(tmp_path)
    assert [(s.name, s.samples) for s in scan.subsets] == [("100000_x", 300000)]
    assert not scan.errors
    kinds = {p.kind: p for p in scan.problems}
    assert ".5_hidden" in kinds["hidden_folders"].message
    assert kinds["hidden_images"].severity == "info" and ".secret.png" in kinds["hidden_images"].message


def project(tmp_path: Path, *folders: tuple[str, int]) -> Path:
    for name, count in folders:
        images(tmp_path / "img" / name, count)
    (tmp_path / "img").mkdir(exist_ok=True)
    cfg = TrainingConfig()
    cfg.model.model_family = "sd1"
    cfg.dataset.train_data_dir = "img"
    cfg.dataset.resolution = (64, 64)
    cfg.dataset.min_bucket_reso = 64
    cfg.training.train_batch_size = 2
    cfg.training.max_train_epochs = 1
    path = tmp_path / "c.toml"
    save_config(cfg, path)
    return path


def test_steps_counts_huge_repeats_as_sd_scripts_does(tmp_path):
    config = project(tmp_path, ("100000_x", 3), ("2_y", 2))
    data = json.loads(CliRunner().invoke(cli, ["steps", str(config), "--json"]).output)
    # sd-scripts: 100000 x 3 + 2 x 2 samples, one bucket, batch 2 -> ceil(300004 / 2) steps
    assert data["samples_per_epoch"] == 300004 and data["total_steps"] == 150002
    assert data["left_out_folders"] == []
    assert any("'100000_x' has 100,000 repeats" in n and "the run is 150,002 steps" in n and "counted" in n
               for n in data["notes"])


def test_steps_names_each_folder_it_leaves_out(tmp_path):
    config = project(tmp_path, ("0_x", 3), ("-1_z", 3), ("2_y", 2))
    result = CliRunner().invoke(cli, ["steps", str(config)])
    assert result.exit_code == 0
    assert "left out (not counted): 2" in result.output
    assert "train folder '0_x' has 0 repeats: sd-scripts silently skips it" in result.output
    assert "train folder '-1_z' has -1 repeats" in result.output
    assert "train samples per epoch: 4" in result.output
    data = json.loads(CliRunner().invoke(cli, ["steps", str(config), "--json"]).output)
    assert len(data["left_out_folders"]) == 2


@pytest.mark.parametrize("name, words", [
    ("0_x", "train folder '0_x' has 0 repeats: sd-scripts silently skips it"),
    ("99999999999999999999_x", "asks for 99999999999999999999 repeats"),
])
def test_steps_gives_the_real_reason_when_nothing_is_left(tmp_path, capsys, name, words):
    config = project(tmp_path, (name, 3))
    with pytest.raises(SystemExit) as exc:
        main(["steps", str(config)])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1
    assert "no training images found under" in err and words in err and "loratui dataset scan" in err
    assert "it needs `N_name` folders" not in err


def test_scan_says_the_concept_folders_were_all_left_out(tmp_path):
    images(tmp_path / "0_x")
    message = {p.kind: p.message for p in scan_dataset(tmp_path).problems}["no_subsets"]
    assert "no `N_name` concept folders that train (1 left out, each named with why)" in message


def test_the_sdscripts_export_picks_the_folders_steps_counts(tmp_path):
    """`steps` counted 100000_x while the export... the export and the count now share one list."""
    from PIL import Image

    from loratui.core.config.sdscripts_export import find_subsets

    for name in ("100000_x", "3_y", "0_z", "notrepeats"):
        (tmp_path / name).mkdir()
        Image.new("RGB", (8, 8)).save(tmp_path / name / "a.png")
    subsets, notes = find_subsets(str(tmp_path), is_reg=False)
    assert [(Path(s.image_dir).name, s.num_repeats) for s in subsets] == [("100000_x", 100000), ("3_y", 3)]
    text = "\n".join(notes)
    assert "'0_z' has 0 repeats" in text and "'notrepeats' has no `N_` repeat prefix" in text
