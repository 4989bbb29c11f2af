"""`loratui tags … --where reg PROJECT` works on the project's reg captions, as the app's Dataset table does
(commands.tags_scope): a read counts them, a change goes to them alone (journaled in the reg folder, and
`tags undo PROJECT` takes it back, in time order with the train folder's changes), a filter matching train
and reg captions both is refused for a change, and no --where (or one not naming reg) is the train images."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from fixtures.cli_run import run_main
from PIL import Image

from loratui.cli import cli
from loratui.commands.tags_scope import names_reg


def concept(folder: Path, tags: str) -> Path:
    folder.mkdir(parents=True)
    for i in range(2):
        Image.new("RGB", (16, 16), (i * 40, 0, 0)).save(folder / f"i{i}.png")
        (folder / f"i{i}.txt").write_text(tags + "\n", encoding="utf-8")
    return folder


def project(tmp_path: Path) -> tuple[Path, Path, Path]:
    root = tmp_path / "proj"
    train = concept(root / "img" / "3_thing", "alice, solo")
    reg = concept(root / "reg" / "1_shape", "person, solo")
    return root, train, reg


def run(*args):
    return CliRunner().invoke(cli, list(map(str, args)), catch_exceptions=False)


def first(folder: Path) -> str:
    return (folder / "i0.txt").read_text(encoding="utf-8").strip()


def test_names_reg():
    assert names_reg("reg") and names_reg("not reg and tag:x") and names_reg("-REG") and names_reg("tag:a or reg")
    assert not names_reg(None) and not names_reg("tag:reg") and not names_reg("folder:*reg*") and not names_reg("")


def test_freq_counts_the_reg_captions_when_where_names_reg(tmp_path):
    root, _, _ = project(tmp_path)
    data = json.loads(run("tags", "freq", root, "--json", "--where", "reg").output)
    assert data["captions"] == 2 and data["tags"] == {"person": 2, "solo": 2}
    data = json.loads(run("tags", "freq", root, "--json", "--where", "reg or tag:alice").output)
    assert data["captions"] == 4 and data["tags"]["solo"] == 4  # both kinds, as the app's tag list counts them
    for where in ("not reg", "tag:solo"):  # not naming reg (or excluding it): the train images, as before
        assert json.loads(run("tags", "freq", root, "--json", "--where", where).output)["tags"] == {"alice": 2, "solo": 2}


def test_a_change_with_where_reg_goes_to_the_reg_captions_and_undo_on_the_project_takes_it_back(tmp_path):
    root, train, reg = project(tmp_path)
    result = run("tags", "add", root, "x", "--where", "reg", "--yes")
    assert result.exit_code == 0, result.output
    assert first(reg) == "person, solo, x" and first(train) == "alice, solo"
    assert "journaled there" in result.output and "regularisation images) is not included" not in result.output
    assert (reg / ".." / ".loratui" / "undo").is_dir()  # the reg folder's own journal
    assert run("tags", "add", root, "z", "--yes").exit_code == 0  # no --where: the train images
    assert first(train) == "alice, solo, z" and first(reg) == "person, solo, x"
    listed = run("tags", "undo", root, "--list").output.splitlines()
    assert "add z" in listed[0] and "add x" in listed[1] and "[reg folder" in listed[1]
    assert run("tags", "undo", root, "--yes").exit_code == 0  # the newest: the train change
    assert first(train) == "alice, solo" and first(reg) == "person, solo, x"
    result = run("tags", "undo", root, "--yes")
    assert result.exit_code == 0 and "(reg folder" in result.output and "0 older change(s)" in result.output
    assert first(reg) == "person, solo"
    result = run("tags", "redo", root, "--yes", "--json")
    data = json.loads(result.output)
    assert data["reg_folder"] and data["remaining"] == 1 and first(reg) == "person, solo, x"


def test_a_filter_matching_train_and_reg_captions_is_refused_for_a_change(tmp_path, capsys):
    root, train, reg = project(tmp_path)
    code, _, err = run_main(["tags", "add", root, "x", "--where", "reg or tag:alice", "--yes"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "2 train and 2 reg caption(s)" in err and "nothing was written" in err
    assert first(train) == "alice, solo" and first(reg) == "person, solo"
    result = run("tags", "add", root, "x", "--where", "not reg", "--yes")  # the train images, no note on reg/
    assert result.exit_code == 0 and first(train) == "alice, solo, x" and "not included" not in result.output


def test_where_reg_follows_the_configs_reg_data_dir(tmp_path):
    root, train, reg = project(tmp_path)
    other = concept(tmp_path / "otherreg" / "2_person", "man")
    (root / "config.toml").write_text('[dataset]\ntrain_data_dir = "img"\nreg_data_dir = "../otherreg"\n')
    data = json.loads(run("tags", "add", root, "x", "--where", "reg", "--dry-run", "--json").output)
    assert Path(data["reg_folder"]).resolve() == other.parent.resolve()
    assert {f["path"] for f in data["files"]} == {"2_person/i0.txt", "2_person/i1.txt"}
    (root / "config.toml").write_text('[dataset]\ntrain_data_dir = "img"\nreg_data_dir = ""\n')
    result = run("tags", "add", root, "x", "--where", "reg", "--yes")  # "" = no reg images: nothing is reg
    assert result.exit_code == 0 and "Nothing to change." in result.output and first(reg) == "person, solo"


def test_to_utf8_with_where_reg_reencodes_the_reg_captions(tmp_path):
    root, train, reg = project(tmp_path)
    (reg / "i0.txt").write_bytes("person, caf\xe9".encode("cp1252"))
    (train / "i0.txt").write_bytes("alice, caf\xe9".encode("cp1252"))
    result = run("tags", "to-utf8", root, "--where", "reg", "--yes")
    assert result.exit_code == 0, result.output
    assert (reg / "i0.txt").read_bytes() == "person, caf\xe9".encode() and "journaled there" in result.output
    assert (train / "i0.txt").read_bytes() == "alice, caf\xe9".encode("cp1252")
    assert run("tags", "undo", root, "--yes").exit_code == 0
    assert (reg / "i0.txt").read_bytes() == "person, caf\xe9".encode("cp1252")
