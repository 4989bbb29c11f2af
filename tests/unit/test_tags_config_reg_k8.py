"""`tags` on a project reads its reg folder from the config beside it (as `dataset scan`, `train` and the app
do): the note about the reg folder left out names the config's reg_data_dir (none when it is ""), and
`--where reg` is a caption in that folder, not a folder named reg/ (k8 item 3)."""

from __future__ import annotations

from pathlib import Path

from fixtures.cli_run import run_main
from PIL import Image

from loratui.commands.config_beside import reg_test
from loratui.commands.tags_run import _locate, reg_note
from loratui.core.captions import load_captions


def concept(folder: Path, name: str, images: int) -> Path:
    path = folder / name
    path.mkdir(parents=True)
    for i in range(images):
        Image.new("RGB", (16, 16), (i * 30, 0, 0)).save(path / f"i{i}.png")
        (path / f"i{i}.txt").write_text("tag\n", encoding="utf-8")
    return path


def project(tmp_path: Path, reg_data_dir: str | None) -> Path:
    root = tmp_path / "proj"
    concept(root / "img", "3_thing", 2)
    concept(root / "reg", "1_shape", 2)
    if reg_data_dir is not None:
        (root / "config.toml").write_text(f'[dataset]\ntrain_data_dir = "img"\nreg_data_dir = "{reg_data_dir}"\n')
    return root


def found(root: Path):
    """(location, config): what reg_test takes, as _locate found them."""
    beside = _locate(root)
    return beside.location, beside.config


def test_reg_note_names_the_configs_reg_folder(tmp_path, capsys):
    root = project(tmp_path, "../otherreg")
    other = concept(tmp_path / "otherreg", "2_person", 2).parent
    notes = reg_note(_locate(root).location, root)
    assert len(notes) == 1 and "otherreg" in notes[0] and "/reg " not in notes[0]
    code, out, err = run_main(["tags", "add", str(root), "x", "--dry-run"], capsys)
    assert code == 0, err
    assert "otherreg" in out and f"{root / 'reg'} " not in out
    assert Path(_locate(root).location.reg_dir).resolve() == other.resolve()


def test_no_reg_note_when_the_config_has_no_reg_folder(tmp_path, capsys):
    root = project(tmp_path, "")
    assert reg_note(_locate(root).location, root) == []
    code, out, err = run_main(["tags", "add", str(root), "x", "--dry-run"], capsys)
    assert code == 0, err
    assert "regularisation" not in out


def test_without_a_config_the_projects_reg_is_named_as_before(tmp_path):
    root = project(tmp_path, None)
    notes = reg_note(_locate(root).location, root)
    assert len(notes) == 1 and "reg" in notes[0]
    assert reg_test(*found(root)) is None  # core's reg_folders: told from the layout


def test_where_reg_is_a_caption_in_the_configs_reg_folder(tmp_path):
    root = project(tmp_path, "../otherreg")
    other = concept(tmp_path / "otherreg", "2_person", 2).parent
    is_reg = reg_test(*found(root))
    assert all(is_reg(c) for c in load_captions(other, ".txt"))
    assert not any(is_reg(c) for c in load_captions(root / "reg", ".txt"))  # reg/ is not what trains
    assert not any(is_reg(c) for c in load_captions(root / "img", ".txt"))
    empty = project(tmp_path / "b", "")
    assert not any(reg_test(*found(empty))(c) for c in load_captions(empty / "reg", ".txt"))


def test_tags_finds_and_reads_the_config_beside_once(tmp_path, capsys, monkeypatch):
    """r2 item 3: `tags` looked for the config twice (_locate, then reg_test) and parsed it twice."""
    import tomllib

    import loratui.core.project as project_pkg

    root = project(tmp_path, "../otherreg")
    concept(tmp_path / "otherreg", "2_person", 2)
    looks, parses = [], []
    real_look, real_loads = project_pkg.config_in_folder, tomllib.loads
    monkeypatch.setattr(project_pkg, "config_in_folder", lambda *a, **k: looks.append(a) or real_look(*a, **k))
    code, out, err = run_main(["tags", "add", str(root), "x", "--where", "reg", "--dry-run"], capsys)
    assert code == 0, err
    assert len(looks) == 1  # _locate's: where_of uses the config it found
    beside = _locate(root)
    monkeypatch.setattr(project_pkg, "config_in_folder", lambda *a, **k: beside.config)
    monkeypatch.setattr(tomllib, "loads", lambda text: parses.append(text) or real_loads(text))
    assert _locate(root).location.reg_dir == beside.location.reg_dir
    assert len(parses) == 1  # the [dataset] table read once gives the reg folder too (config_reg_dir's dataset=)
