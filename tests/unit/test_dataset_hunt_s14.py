"""Hunt h6 (s14): `loratui dataset` and core.dataset findings 2-8.

An unreadable folder is simulated by making os.scandir refuse it (PermissionError), so the tests also
run as root, whom chmod does not stop; a folder that cannot be written, by making os.rename refuse.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from loratui.cli import cli
from loratui.core.dataset import (
    apply_renames, balance_plan, init_project, locate_config, locate_dataset, no_balance_undo_line, scan_dataset,
)
from loratui.core.errors import LoratuiError


def concept(root: Path, name: str, count: int, captions: bool = True, stem: str = "i") -> Path:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        Image.new("RGB", (16, 16), (i * 30, 60, 90)).save(folder / f"{stem}{i}.png")
        if captions:
            (folder / f"{stem}{i}.txt").write_text(f"tag{i}\n")
    return folder


def refuse_listing(monkeypatch, folder: Path) -> None:
    """os.scandir of ``folder`` fails as for a chmod 000 folder read by a user other than root."""
    real, bad = os.scandir, os.path.abspath(folder)

    def scandir(path="."):
        if os.path.abspath(os.fspath(path)) == bad:
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)


def refuse_renames(monkeypatch) -> None:
    """os.rename fails as in a train folder without write permission (a non-root user)."""
    def rename(src, dst):
        raise PermissionError(errno.EACCES, "Permission denied", os.fspath(src), os.fspath(dst))

    monkeypatch.setattr(os, "rename", rename)


class Ran:
    def __init__(self, exit_code: int, output: str):
        self.exit_code, self.output = exit_code, output


def run(*args: str, code: int = 0, input: str | None = None) -> Ran:
    """`loratui dataset ARGS` as cli.main ends it: a LoratuiError is its one line and exit code 2."""
    result = CliRunner().invoke(cli, ["dataset", *args], input=input)
    ran = Ran(result.exit_code, result.output)
    if isinstance(result.exception, LoratuiError):
        ran = Ran(2, f"{result.output}error: {result.exception}\n")
    elif result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert ran.exit_code == code, ran.output
    return ran


# ---- 2. one unreadable concept folder ------------------------------------------------------------

def test_scan_names_an_unreadable_concept_folder_and_scans_the_others(tmp_path, monkeypatch):
    train = tmp_path / "img"
    concept(train, "10_a", 2)
    concept(train, "1_b", 3)
    refuse_listing(monkeypatch, train / "1_b")
    scan = scan_dataset(train, unreadable_as_problem=True)
    assert [s.name for s in scan.subsets] == ["10_a"] and scan.num_train_images == 2
    [problem] = [p for p in scan.problems if p.kind == "unreadable_folder"]
    assert problem.severity == "error" and problem.path == train / "1_b"
    assert "chmod u+rx" in problem.message and str(train / "1_b") in problem.message
    assert "\n" not in problem.message
    assert problem in scan.skipped_folders  # `steps` names it among the folders that train nothing

    result = run("scan", str(train), code=1)  # errors found: 1, as --help says (2 is bad input)
    assert "10_a" in result.output and "unreadable_folder" in result.output and "chmod u+rx" in result.output
    assert "2 training image(s)" in result.output


def test_balance_refuses_while_a_concept_folder_cannot_be_read(tmp_path, monkeypatch):
    concept(tmp_path, "10_a", 2)
    concept(tmp_path, "1_b", 5)
    refuse_listing(monkeypatch, tmp_path / "1_b")
    with pytest.raises(LoratuiError, match="chmod u\\+rx"):  # its repeats and images are unknown
        scan_dataset(tmp_path)  # as steps and training read it: stopped, as sd-scripts would be
    result = run("balance", str(tmp_path), "--yes", code=2)
    assert "1_b" in result.output and "chmod u+rx" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["10_a", "1_b"]


# ---- 3. undo a balance from the CLI --------------------------------------------------------------

def test_balance_undo_renames_the_folders_back(tmp_path):
    concept(tmp_path, "10_a", 2)
    concept(tmp_path, "1_b", 5)
    result = run("balance", str(tmp_path), "--undo", "--yes", code=2)
    assert "no balance to undo" in result.output and "nothing was renamed" in result.output

    run("balance", str(tmp_path), "--yes")
    assert (tmp_path / "4_b").is_dir()
    result = run("balance", str(tmp_path), "--undo", "--dry-run")
    assert "4_b -> 1_b" in result.output and (tmp_path / "4_b").is_dir()
    result = run("balance", str(tmp_path), "--undo", code=2)  # not a terminal: asks for --yes
    assert "--yes" in result.output and (tmp_path / "4_b").is_dir()
    result = run("balance", str(tmp_path), "--undo", "--yes")
    assert "renamed 1 folder(s) back" in result.output
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["10_a", "1_b"]
    assert "no balance to undo" in run("balance", str(tmp_path), "--undo", "-y", code=2).output


def test_balance_undo_refuses_when_the_folders_changed_since(tmp_path):
    concept(tmp_path, "10_a", 2)
    concept(tmp_path, "1_b", 5)
    run("balance", str(tmp_path), "--yes")
    (tmp_path / "4_b").rename(tmp_path / "3_b")  # renamed by hand since
    result = run("balance", str(tmp_path), "--undo", "--yes", code=2)
    assert "changed since the last balance" in result.output and "4_b" in result.output
    assert (tmp_path / "3_b").is_dir() and not (tmp_path / "1_b").exists()
    (tmp_path / "3_b").rename(tmp_path / "4_b")
    (tmp_path / "1_b").mkdir()  # the old name taken
    assert "1_b exists again" in no_balance_undo_line(tmp_path)
    assert "--target" in run("balance", str(tmp_path), "--undo", "--target", "4", code=2).output


# ---- 4. a train folder that cannot be written ----------------------------------------------------

def test_a_refused_rename_names_the_train_folder_and_chmod_u_w(tmp_path, monkeypatch):
    concept(tmp_path, "10_a", 2)
    concept(tmp_path, "1_b", 5)
    plan = balance_plan(scan_dataset(tmp_path))
    refuse_renames(monkeypatch)
    with pytest.raises(LoratuiError) as info:
        apply_renames(plan)
    message = str(info.value)
    assert message.startswith(f"{tmp_path}: ") and f"chmod u+w {tmp_path}" in message
    assert "nothing was renamed" in message and "1_b" not in message
    result = run("balance", str(tmp_path), "--yes", code=2)
    assert f"chmod u+w {tmp_path}" in result.output


# ---- 5. a concept folder keeps the project's reg/ -------------------------------------------------

def test_a_concept_folder_of_a_project_finds_its_reg_folder(tmp_path):
    project = tmp_path / "p"
    concept(project / "img", "10_a", 2)
    concept(project / "img", "1_style", 3)
    concept(project / "reg", "1_person", 2, captions=False)
    where = locate_dataset(project / "img" / "1_style")
    assert where.kind == "concept" and where.reg_dir == project / "reg" and where.project_dir == project
    assert locate_dataset(project).reg_dir == where.reg_dir
    result = run("balance", str(project / "img" / "1_style"), "--dry-run", "--target", "30")
    assert "(+ as many reg samples" in result.output


# ---- 6. a config .toml ---------------------------------------------------------------------------

def test_dataset_commands_take_a_config(tmp_path):
    project = tmp_path / "p"
    concept(project / "img", "10_a", 2)
    concept(project / "img", "1_b", 5)
    concept(project / "regs", "1_person", 2, captions=False)
    (project / "img" / "1_b" / "i0.caption").write_text("by caption\n")
    config = project / "cfg.toml"
    config.write_text('[dataset]\ntrain_data_dir = "img"\nreg_data_dir = "regs"\ncaption_extension = ".caption"\n'
                      'unknown_key = 1\n')
    where, extension = locate_config(config)
    assert where.train_dir == project / "img" and where.reg_dir == project / "regs" and extension == ".caption"
    result = run("scan", str(config), "--json")
    assert '"caption_extension": ".caption"' in result.output and "1_person" in result.output
    assert '"caption_extension": ".txt"' in run("scan", str(config), "--json", "--caption-extension", ".txt").output
    assert "1_b -> 4_b" in run("balance", str(config), "--dry-run").output

    config.write_text('[dataset]\ntrain_data_dir = "nowhere"\n')
    result = run("scan", str(config), code=2)
    assert "dataset.train_data_dir = 'nowhere'" in result.output and "is not a folder" in result.output
    config.write_text('[training]\nepochs = 1\n')
    assert "dataset.train_data_dir is not set" in run("balance", str(config), code=2).output
    other = tmp_path / "notes.txt"
    other.write_text("x")
    result = run("scan", str(other), code=2)
    assert "not a folder" in result.output and ".toml" not in result.output


# ---- 7. init names captions whose extension differs in case ----------------------------------------

def test_init_names_captions_whose_extension_differs_in_case(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for stem in ("x", "y", "z"):
        Image.new("RGB", (8, 8)).save(src / f"{stem}.png")
    (src / "x.TXT").write_text("x\n")
    (src / "y.Caption").write_text("y\n")
    (src / "z.txt").write_text("z\n")
    result = init_project(tmp_path / "i", "c", 2, src)
    assert [p.name for p in result.skipped_case_captions] == ["x.TXT"]
    assert [p.name for p in result.skipped_other_ext_captions] == ["y.Caption"]
    out = run("init", str(tmp_path / "j"), "--concept", "c", "--repeats", "2", "--images", str(src)).output
    assert "x.TXT" in out and "rename them to '.txt'" in out and "y.Caption" in out


# ---- 8. wording ----------------------------------------------------------------------------------

def test_shared_caption_names_the_caption_extension(tmp_path):
    folder = concept(tmp_path, "1_a", 1, captions=False)
    Image.new("RGB", (8, 8)).save(folder / "i0.jpg")
    [problem] = [p for p in scan_dataset(tmp_path, caption_extension=".caption").problems if p.kind == "duplicate_stem"]
    assert "(i0.caption)" in problem.message and ".txt" not in problem.message


def test_too_large_a_target_names_the_field_it_was_typed_in(tmp_path):
    concept(tmp_path, "1_a", 1)
    concept(tmp_path, "1_b", 3)
    scan = scan_dataset(tmp_path)
    with pytest.raises(LoratuiError, match="pick a smaller --target"):
        balance_plan(scan, 10**9)
    with pytest.raises(LoratuiError, match="pick a smaller 'Target samples'"):
        balance_plan(scan, 10**9, target_field="'Target samples'")


def test_a_train_concept_folder_given_as_reg_is_named_as_such(tmp_path):
    concept(tmp_path / "img", "1_style", 2)
    result = run("scan", str(tmp_path / "img"), "--reg", str(tmp_path / "img" / "1_style"))
    assert "one of the training concept folders" in result.output
    assert "as reg_data_dir" not in result.output


def test_apple_double_files_are_named_as_macos_metadata(tmp_path):
    folder = concept(tmp_path, "1_a", 1)
    Image.new("RGB", (8, 8)).save(folder / "._i0.png", format="PNG")
    Image.new("RGB", (8, 8)).save(folder / ".secret.png", format="PNG")
    kinds = {p.kind: p for p in scan_dataset(tmp_path).problems}
    assert "macOS metadata" in kinds["macos_metadata"].message and "deleted" in kinds["macos_metadata"].message
    assert "._i0.png" not in kinds["hidden_images"].message and ".secret.png" in kinds["hidden_images"].message

    src = tmp_path / "src"
    src.mkdir()
    Image.new("RGB", (8, 8)).save(src / "a.png")
    Image.new("RGB", (8, 8)).save(src / "._a.png", format="PNG")
    out = run("init", str(tmp_path / "p"), "--concept", "c", "--repeats", "1", "--images", str(src)).output
    assert "macOS metadata" in out and "remove the dot" not in out and "without the dot" not in out


def test_a_zero_repeats_folder_scanned_on_its_own_names_its_repeats(tmp_path):
    concept(tmp_path / "img", "0_x", 1)
    result = run("scan", str(tmp_path / "img" / "0_x"), code=1)
    assert "0 repeats" in result.output and "1_x" in result.output


def test_balance_on_a_flat_folder_says_what_to_do_next(tmp_path):
    for i in range(2):
        Image.new("RGB", (8, 8)).save(tmp_path / f"{i}.png")
    result = run("balance", str(tmp_path), code=2)
    assert "loratui dataset init" in result.output and "--images" in result.output
