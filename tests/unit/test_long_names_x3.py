"""Names that broke writes and training (hunt h2, items 1 and 2): a file name of 242-255 bytes is written
atomically (its temp file gets a short stand-in name that stale-temp cleanup still knows); an output_name
whose derived names pass the name limit, and a concept folder whose name is not UTF-8, are refused by
`config check` in one line; an event holding such a name is written (escaped), never a crash."""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path

import pytest

from fixtures.bad_inputs import make_project
from loratui.core.config import check_paths, load_config
from loratui.core.config.output_names import output_name_length_problem
from loratui.core.events import EventWriter, read_events
from loratui.core.fsutil import (
    atomic_temp_pattern, atomic_write_bytes, leftover_temp_files, name_max, remove_stale_staging, staging_folder,
    temp_prefix,
)

CAT = "猫"  # 3 bytes in UTF-8


def _aged(path: Path) -> Path:
    past = time.time() - 3600
    os.utime(path, (past, past))
    return path


@pytest.mark.parametrize("name", [CAT * 80 + ".txt", CAT * 78 + ".safetensors", "x" * 241, "x" * 242, "a" * 255,
                                  "b" * 250 + ".toml"])
def test_a_name_up_to_the_limit_is_written_atomically_and_leaves_no_temp(tmp_path, name):
    target = tmp_path / name
    target.write_bytes(b"old")
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert os.listdir(tmp_path) == [name]
    prefix = temp_prefix(target, ".tmp")
    assert len(os.fsencode(prefix)) + 8 + len(".tmp") <= name_max(tmp_path)


def test_a_long_names_temp_is_a_short_stand_in_that_still_says_whose_and_what_kind(tmp_path):
    name = CAT * 80 + ".txt"
    prefix = temp_prefix(tmp_path / name, ".tmp")
    assert prefix.startswith("." + CAT * 10) and prefix.endswith(".txt.") and "~" in prefix
    assert temp_prefix(tmp_path / "a.txt", ".tmp") == ".a.txt."  # a name that fits keeps the usual form
    other = temp_prefix(tmp_path / (CAT * 79 + "x.txt"), ".tmp")
    assert other != prefix  # the hash of the whole name tells two long names with one head apart


def test_stale_temp_cleanup_finds_a_long_names_temp(tmp_path):
    """core.dataset's scan and engine.state's leftovers match with atomic_temp_pattern; core.tomlfile with
    leftover_temp_files: a killed write of a long name is found by each, another file's temp is not."""
    caption = tmp_path / (CAT * 80 + ".txt")
    lora = tmp_path / (CAT * 78 + "-step00000001.safetensors")
    config = tmp_path / ("c" * 250 + ".toml")
    temps = {path: tmp_path / f"{temp_prefix(path, '.tmp')}ab12cd34.tmp" for path in (caption, lora, config)}
    for temp in temps.values():
        temp.write_bytes(b"x")
        _aged(temp)
    beside = lambda: [caption, lora, config]  # noqa: E731 - the targets a caption folder's scan lists
    assert atomic_temp_pattern(r".+\.txt", targets=beside).match(temps[caption].name)
    assert not atomic_temp_pattern(r".+\.txt", targets=beside).match(temps[lora].name)
    # a stand-in counts for a run only when its head is the run's name (test_temp_pattern_scope_w1.py)
    assert atomic_temp_pattern(rf"{CAT * 78}(?:-\d{{6}}|-step\d{{8}})?\.safetensors",
                               owner=f"{CAT * 78}-").match(temps[lora].name)
    assert leftover_temp_files(config) == [temps[config]]
    assert leftover_temp_files(tmp_path / ("c" * 249 + "d.toml")) == []
    assert leftover_temp_files(caption) == [temps[caption]]


def test_a_staging_folder_for_a_long_name_fits_and_is_cleaned(tmp_path):
    target = tmp_path / ("y" * 250)
    stage = staging_folder(target)
    assert stage.is_dir() and len(os.fsencode(stage.name)) <= name_max(tmp_path)
    remove_stale_staging(target)
    assert not stage.exists()


def test_the_atomic_writes_of_a_long_caption_go_through_the_writers(tmp_path):
    """`tags add` and wd14 write captions with atomic_write_text: the 80-cat caption of the hunt."""
    from loratui.core.fsutil import atomic_write_text

    caption = tmp_path / (CAT * 80 + ".txt")
    atomic_write_text(caption, "long, solo\n")
    assert caption.read_text(encoding="utf-8") == "long, solo\n"


# ---- output_name too long for the names a run makes from it ---------------------------------------------

def test_config_check_refuses_an_output_name_whose_derived_names_do_not_fit(tmp_path):
    config = make_project(tmp_path, extra=f'[saving]\noutput_name = "{CAT * 78}"')
    problems = [p for p in check_paths(load_config(config)) if p.startswith("output_name")]
    assert len(problems) == 1 and "\n" not in problems[0], problems
    line = problems[0]
    assert "234 bytes" in line and "255 bytes" in line and "at most 218 bytes" in line, line


def test_sample_names_count_only_when_samples_are_made(tmp_path):
    name = "n" * 216
    assert output_name_length_problem(name, tmp_path, sampling=False) is None
    line = output_name_length_problem(name, tmp_path, sampling=True)
    assert line and "a sample image" in line and "at most 214 bytes" in line


def test_a_name_that_fits_passes_and_a_missing_output_dir_asks_its_parent(tmp_path):
    assert output_name_length_problem("n" * 218, tmp_path / "new" / "out", sampling=False) is None
    assert output_name_length_problem("n" * 219, tmp_path / "new" / "out", sampling=False)


def test_config_check_cli_says_it_in_one_line(tmp_path):
    from click.testing import CliRunner

    from loratui.cli import cli

    config = make_project(tmp_path, extra=f'[saving]\noutput_name = "{CAT * 78}"')
    result = CliRunner().invoke(cli, ["config", "check", str(config)])
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if "output_name is 234 bytes" in line]
    assert len(lines) == 1, result.output


# ---- a concept folder whose name is not UTF-8 ----------------------------------------------------------

def _bad_folder(tmp_path: Path) -> tuple[Path, Path]:
    config = make_project(tmp_path)
    bad = Path(os.fsdecode(os.fsencode(tmp_path / "img") + b"/3_bad\xff"))
    try:
        bad.mkdir()
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system refuses names that are not UTF-8")
    (tmp_path / "img" / "10_cat" / "0.png").rename(bad / "0.png")
    return config, bad


def test_config_check_names_a_concept_folder_whose_name_is_not_utf8(tmp_path):
    config, bad = _bad_folder(tmp_path)
    problems = [p for p in check_paths(load_config(config)) if "UTF-8" in p]
    assert len(problems) == 1, problems
    line = problems[0]
    assert line.startswith("train_data_dir: ") and "3_bad\\xff" in line and "rename it" in line
    line.encode("utf-8")  # printable: the name's odd byte is shown as \xff


def test_an_event_holding_a_name_that_is_not_utf8_is_written_escaped(tmp_path):
    path = tmp_path / "run.events.jsonl"
    echo = io.StringIO()
    name = os.fsdecode(b"3_bad\xff")
    writer = EventWriter(path, echo)
    writer.emit("warning", message=f"folder {name} / {CAT}")
    writer.close()
    line = path.read_bytes().decode("utf-8").strip()
    assert "\\udcff" in line and CAT in line  # the rest stays readable
    assert json.loads(line)["message"] == f"folder {name} / {CAT}"  # and reads back as the same name
    assert [e["message"] for e in read_events(path)] == [f"folder {name} / {CAT}"]
    assert json.loads(echo.getvalue())["message"] == f"folder {name} / {CAT}"
