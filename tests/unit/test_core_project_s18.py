"""The CLI's `dataset balance` and `tags` found the live training run through tui/services/live_run.py,
and the config beside a folder through tui/launch.py (lazy imports the layer rule did not read): both now
live in core.project, shared with the app. The commands import nothing of the TUI, a folder without a
.toml costs no core.config import, and the app's pick of a folder's config is the same one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fixtures.live_run_project import project

from loratui.core.project import config_in_folder, folder_configs, is_tag_recipe, live_run_on, project_config
from loratui.core.dataset import locate_dataset
from loratui.tui.launch import resolve_target

TESTS = Path(__file__).resolve().parents[1]

# run in a child: its own pid holds the project's lock, so its run is live; prints what the commands said
# and which loratui.tui / core.config modules the process loaded
CHILD = """
import json, os, sys
from pathlib import Path
from click.testing import CliRunner
from fixtures.live_run_project import project
from loratui.cli import cli

root = Path(sys.argv[1])
project(root / "p")
out = {}
for key, args in (("tags", ["tags", "add", str(root / "p" / "img"), "fixed", "--yes"]),
                  ("balance", ["dataset", "balance", str(root / "p" / "img"), "--yes"])):
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    out[key] = [result.exit_code, result.stderr]
out["tui"] = sorted(m for m in sys.modules if m.startswith("loratui.tui") or m == "textual")
print(json.dumps(out))
"""

BARE = """
import json, sys
from pathlib import Path
from click.testing import CliRunner
from fixtures.tui_dataset import make_dataset
from loratui.cli import cli

root = Path(sys.argv[1]) / "bare"  # a project folder with no .toml in it
make_dataset(root, {"1_x/a.png": "x"})
result = CliRunner().invoke(cli, ["tags", "freq", str(root / "img")], catch_exceptions=False)
print(json.dumps([result.exit_code, "loratui.core.config" in sys.modules,
                  sorted(m for m in sys.modules if m.startswith("loratui.tui"))]))
"""


def _child(code: str, tmp_path: Path):
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True,
                         cwd=TESTS, check=True, env={**os.environ, "PYTHONPATH": str(TESTS)})
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_cli_warns_of_a_live_run_without_importing_the_tui(tmp_path):
    out = _child(CHILD, tmp_path)
    code, err = out["tags"]
    assert code == 0 and "note: training run mochi" in err and "read its captions and config at start" in err
    code, err = out["balance"]
    assert code == 0 and err.startswith("warning: training run mochi") and "trains from these folders" in err
    assert out["tui"] == []  # no loratui.tui module, no textual


def test_a_folder_without_a_config_costs_no_config_import(tmp_path):
    code, config_loaded, tui = _child(BARE, tmp_path)
    assert code == 0 and not config_loaded and tui == []


def test_the_app_and_the_commands_pick_the_same_config(tmp_path):
    config = project(tmp_path / "p", live=False)
    (tmp_path / "p" / "cleanup.toml").write_text('[[op]]\nop = "dedupe"\n')  # a recipe: no config
    assert is_tag_recipe(tmp_path / "p" / "cleanup.toml") and not is_tag_recipe(config)
    assert resolve_target(tmp_path / "p")[1] == config_in_folder(tmp_path / "p") == config
    assert project_config(tmp_path / "p" / "img") == config
    assert project_config(tmp_path / "p" / "img" / "1_b") is None  # a concept folder is no project's img/
    (tmp_path / "p" / "other.toml").write_text('[dataset]\ntrain_data_dir = "img"\n')
    found = folder_configs(locate_dataset(tmp_path / "p"))
    assert [p.name for p in found.configs] == ["config.toml", "other.toml"] and found.config == config
    notes: list[str] = []
    assert resolve_target(tmp_path / "p", notes)[1] == config
    assert notes and notes[0].startswith("2 .toml files in") and "opened config.toml" in notes[0]


def test_live_run_on_is_core_and_names_the_projects_run(tmp_path):
    config = project(tmp_path / "p")
    run = live_run_on(config, tmp_path / "p" / "img")
    assert run is not None and run.name == "mochi" and run.config == config
    assert live_run_on(config, tmp_path) is None  # not a folder it trains from
