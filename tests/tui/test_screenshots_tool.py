"""tools/screenshots.py (the README screenshots) runs headless and writes five SVG files."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / "tools" / "screenshots.py"
EXPECTED = {
    "dataset.svg": "loratui: Dataset screen",
    "dataset-tags.svg": "loratui: Dataset screen, tag list (t)",
    "dataset-summary.svg": "loratui: Dataset screen, summary (i)",
    "bulk-preview.svg": "loratui: remove tags, plan preview",
    "help.svg": "loratui: help (?)",
    "caption.svg": "loratui: Caption screen (2)",
    "settings.svg": "loratui: Settings screen (3)",
    "train.svg": "loratui: Train screen (4), a recorded run",
}


@pytest.mark.slow
def test_screenshots_tool_writes_the_svgs(tmp_path):
    out = tmp_path / "shots"
    env = dict(os.environ, TMPDIR=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"))
    result = subprocess.run([sys.executable, str(TOOL), "--out", str(out)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(EXPECTED)
    for name, title in EXPECTED.items():
        svg = (out / name).read_text(encoding="utf-8")
        root = ET.fromstring(svg)  # well-formed XML
        assert root.tag.endswith("svg"), name
        assert title.replace(" ", "&#160;") in svg, name
        if name.startswith("dataset"):  # help and the plan preview cover the header
            assert "loratui-demo" in svg, name  # the header names the demo project
        assert str(tmp_path) not in svg, name  # no temporary path is left
    assert "shp_demo" in (out / "dataset.svg").read_text(encoding="utf-8")  # the demo's concept folder
    assert "background" in (out / "bulk-preview.svg").read_text(encoding="utf-8")
    assert f"{len(EXPECTED)} screenshots" in result.stderr
