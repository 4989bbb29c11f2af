"""Progress lines fit the terminal, so redrawing with \\r never leaves wrapped copies behind."""

from __future__ import annotations

import os

from loratui.core.termline import fit


def test_fit_cuts_to_one_column_less_than_the_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    assert fit("x" * 39) == "x" * 39
    assert fit("x" * 60) == "x" * 38 + "…" and len(fit("y" * 60)) == 39
    assert os.environ["COLUMNS"] == "40"
