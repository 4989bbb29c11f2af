"""README-vs-behaviour mismatches (user test h15): `vram` and `steps` print the family the config sets
(sd2, not the sd1 whose shapes stand in for it, which they say; the numbers stay SD 1.5's), and
`tags remove-category` finds the tagger's selected_tags.csv as the app does (README step 3)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from loratui.cli import cli, main
from loratui.core.config import TrainingConfig, save_config


@pytest.fixture(autouse=True)
def isolated_user_dirs(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("LORATUI_MODEL_STORE", str(tmp_path / "store"))  # the user's own taggers stay out


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def write_config(root: Path, family: str) -> Path:
    folder = root / "img" / "2_shp"
    folder.mkdir(parents=True)
    for i in range(2):
        Image.new("RGB", (64, 64), (40 * i, 90, 200)).save(folder / f"{i}.png")
        (folder / f"{i}.txt").write_text("red, no_humans, circle", encoding="utf-8")
    cfg = TrainingConfig()
    cfg.model.model_family = family
    cfg.dataset.train_data_dir = "img"
    cfg.dataset.resolution = (64, 64)
    cfg.dataset.min_bucket_reso = 64
    cfg.training.max_train_epochs = 2
    path = root / f"{family}.toml"
    save_config(cfg, path)
    return path


# ---- 1. sd2 is said as sd2 ----------------------------------------------------------------------

def test_vram_says_sd2_and_that_sd15_shapes_stand_in(tmp_path):
    sd2, sd1 = write_config(tmp_path, "sd2"), tmp_path / "sd1.toml"
    save_config(_same_as(sd2, "sd1"), sd1)
    out = run("vram", sd2).output
    assert f"Estimated peak VRAM for {sd2} (sd2: counted with SD 1.5's shapes):" in out
    data, base = json.loads(run("vram", sd2, "--json").output), json.loads(run("vram", sd1, "--json").output)
    assert data["family"] == "sd2" and data["counted_as"] == "sd1"
    assert data["total_bytes"] == base["total_bytes"]  # the numbers are SD 1.5's, unchanged
    assert base["family"] == "sd1" and "counted_as" not in base
    assert "(sd2: counted with SD 1.5's shapes):" in run("vram", sd1, "--family", "sd2").output
    assert f"Estimated peak VRAM for {sd1} (sd1):" in run("vram", sd1).output


def _same_as(path: Path, family: str):
    from loratui.core.config import load_config

    cfg = load_config(path)
    cfg.model.model_family = family
    return cfg


def test_steps_says_sd2_and_keeps_sd15_counts(tmp_path):
    sd2 = write_config(tmp_path, "sd2")
    sd1 = tmp_path / "sd1.toml"
    save_config(_same_as(sd2, "sd1"), sd1)
    net, base = (json.loads(run("steps", p, "--json").output)["network"] for p in (sd2, sd1))
    assert net["family"] == "sd2" and net["counted_as"] == "sd1" and net["params"] == base["params"]
    assert base["family"] == "sd1" and "counted_as" not in base
    line = next(x for x in run("steps", sd2).output.splitlines() if x.startswith("Network:"))
    assert "on the SD 2.x model (counted with SD 1.5's shapes), a file of about" in line
    assert "on the SD 1.5 model, a file of about" in run("steps", sd1).output


# ---- 3. remove-category finds the tagger's csv ------------------------------------------------------

CSV = "tag_id,name,category,count\n1,general,9,1\n2,red,0,1\n3,no_humans,0,1\n4,circle,0,1\n"


def test_remove_category_uses_the_projects_tagger_csv_and_names_it(tmp_path):
    write_config(tmp_path, "sd1")
    csv = tmp_path / "wd14_tagger_model" / "demo-tagger" / "selected_tags.csv"
    csv.parent.mkdir(parents=True)
    csv.write_text(CSV, encoding="utf-8")
    result = run("tags", "remove-category", tmp_path, "general", "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"note: tag categories from {csv} (--tags-csv PATH to use another)" in result.stderr
    assert "2 of 2 caption(s) change" in result.stdout and "-red" in result.stdout
    rating = run("tags", "remove-category", tmp_path, "rating", "--dry-run")  # needs no csv: none named
    assert rating.exit_code == 0 and "tag categories from" not in rating.stderr


def test_remove_category_without_a_csv_says_where_it_looked(tmp_path, capsys):
    write_config(tmp_path, "sd1")
    with pytest.raises(SystemExit) as exit_info:
        main(["tags", "remove-category", str(tmp_path), "general", "--yes"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: remove general tags: categories other than rating need --tags-csv PATH")
    for place in (str(tmp_path / "wd14_tagger_model"), str(tmp_path / "models"), str(tmp_path / "store" / "wd14")):
        assert place in error
    assert (tmp_path / "img" / "2_shp" / "0.txt").read_text(encoding="utf-8") == "red, no_humans, circle"


def test_the_app_and_the_cli_share_the_lookup(tmp_path):
    from loratui.commands.tagger_csv import find_tagger_csv

    older, newer = (tmp_path / top / "t" / "selected_tags.csv" for top in ("models", "wd14_tagger_model"))
    for path, when in ((older, 1_000_000), (newer, 2_000_000)):
        path.parent.mkdir(parents=True)
        path.write_text(CSV, encoding="utf-8")
        os.utime(path, (when, when))
    assert find_tagger_csv(tmp_path, tmp_path / "img") == newer  # the newest of the project's tagger folders
    (tmp_path / "selected_tags.csv").write_text(CSV, encoding="utf-8")
    assert find_tagger_csv(tmp_path, tmp_path / "img") == tmp_path / "selected_tags.csv"  # the project's own first
    store = tmp_path / "store" / "wd14" / "repo" / "selected_tags.csv"
    store.parent.mkdir(parents=True)
    store.write_text(CSV, encoding="utf-8")
    assert find_tagger_csv(None, tmp_path / "flat") == store
