"""`dataset scan PROJECT` reads reg images from the config the app opens on that folder (h6 item 3): its
reg_data_dir elsewhere, or none when it is "" beside a reg/ folder, as `train`, `steps` and the app's table do.
And each LyCORIS argument an algo does not read names the fix (h6 item 5)."""

from __future__ import annotations

import json
from pathlib import Path

from fixtures.cli_run import run_main
from PIL import Image

from loratui.core.config import NetworkSection, network_problems


def concept(folder: Path, name: str, images: int, captioned: int = 0) -> Path:
    path = folder / name
    path.mkdir(parents=True)
    for i in range(images):
        Image.new("RGB", (16, 16), (i * 30, 0, 0)).save(path / f"i{i}.png")
        if i < captioned:
            (path / f"i{i}.txt").write_text("tag\n", encoding="utf-8")
    return path


def project_with_reg(tmp_path: Path, reg_data_dir: str) -> Path:
    project = tmp_path / "proj"
    concept(project / "img", "3_thing", 4, 4)
    concept(project / "reg", "1_shape", 5, 3)
    (project / "config.toml").write_text(f'[dataset]\ntrain_data_dir = "img"\nreg_data_dir = "{reg_data_dir}"\n')
    return project


def test_scan_of_a_project_uses_its_configs_reg_folder(tmp_path, capsys):
    project = project_with_reg(tmp_path, "../otherreg")
    other = concept(tmp_path / "otherreg", "2_person", 3, 2).parent
    code, out, err = run_main(["dataset", "scan", project], capsys)
    assert code == 0, err
    assert "2_person" in out and "1_shape" not in out
    assert f"reg:   {other.resolve()}" in out
    code, out, _ = run_main(["dataset", "scan", project, "--json"], capsys)
    data = json.loads(out)
    assert Path(data["reg_data_dir"]).resolve() == other.resolve()


def test_scan_of_a_project_whose_config_has_no_reg_leaves_reg_out(tmp_path, capsys):
    project = project_with_reg(tmp_path, "")
    code, out, err = run_main(["dataset", "scan", project], capsys)
    assert code == 0, err
    assert "1_shape" not in out and "reg:" not in out
    assert "reg_data_dir is empty" in err and 'reg_data_dir = "reg"' in err  # the reg/ left out, and how to use it


def test_scan_without_a_config_still_counts_the_projects_reg(tmp_path, capsys):
    project = project_with_reg(tmp_path, "reg")
    (project / "config.toml").unlink()
    code, out, err = run_main(["dataset", "scan", project], capsys)
    assert code == 0, err
    assert "1_shape" in out and err == ""


def test_a_config_reg_data_dir_that_is_no_folder_is_named(tmp_path, capsys):
    project = project_with_reg(tmp_path, "../missing")
    code, out, err = run_main(["dataset", "scan", project], capsys)
    assert code == 0
    assert "1_shape" not in out
    assert "dataset.reg_data_dir = '../missing' is not a folder" in err


def test_an_argument_the_algo_does_not_read_says_remove_it():
    for args, name in ((["algo=full", "conv_dim=4"], "conv_dim"), (["algo=loha", "factor=4"], "factor"),
                       (["algo=full", "use_tucker=true"], "use_tucker")):
        problems = network_problems(NetworkSection(network_module="lycoris.kohya", network_args=args))
        line = next(p for p in problems if p.startswith(f"network_args: {name} does nothing"))
        assert line.endswith(": remove it from network_args"), line


def test_every_network_args_problem_names_a_fix():
    fixes = ("remove it", "write", "use ", "keep one", "must be", "set ", "did you mean", "e.g.", "fix its name",
             "add ", "unset ", "leave ")
    cases = [["algo=full", "conv_dim=4"], ["algo=locon", "wd_on_output=false"], ["algo=loha", "use_tuker=true"],
             ["algo=loha", "zzzzzz=1"], ["algo=full", "bypass_mode=true"], ["algo=loha", "dropout=0.1"],
             ["algo=lokr", "decompose_both=false"], ["algo"], ["algo=loha", "algo=lokr"]]
    for args in cases:
        for problem in network_problems(NetworkSection(network_module="lycoris.kohya", network_args=args)):
            assert any(fix in problem for fix in fixes), problem
