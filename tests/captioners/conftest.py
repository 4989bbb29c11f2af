"""Shared WD14 fixtures: the tiny tagger (v3 dynamic batch, v2 fixed batch 1), built once."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fixtures.wd14_tiny import make_wd14_model  # noqa: E402


@pytest.fixture(scope="session")
def wd14_v3(tmp_path_factory) -> Path:
    return make_wd14_model(tmp_path_factory.mktemp("wd14") / "wd-tiny-v3", dynamic_batch=True)


@pytest.fixture(scope="session")
def wd14_v2(tmp_path_factory) -> Path:
    return make_wd14_model(tmp_path_factory.mktemp("wd14") / "wd-tiny-v2", dynamic_batch=False)
