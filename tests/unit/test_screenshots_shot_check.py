"""tools/screenshots.py refuses to write a shot that shows another screen than the one it is named for
(caption.svg, settings.svg and train.svg showed the Dataset screen's "Remove tags" form: an escape in
the plan preview goes back to its form, and "2" landed in its Patterns field)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

TOOL = Path(__file__).resolve().parents[2] / "tools" / "screenshots.py"


def load_tool():
    spec = importlib.util.spec_from_file_location("screenshots_tool", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class DatasetScreen: ...
class BulkOpScreen: ...
class PlanPreviewScreen: ...
class NotedPlanPreview(PlanPreviewScreen): ...


def app_showing(*stack):
    return SimpleNamespace(screen=stack[-1], screen_stack=list(stack), current_mode="dataset")


def test_a_shot_of_another_screen_is_refused_with_a_line_naming_the_shot():
    tool = load_tool()
    app = app_showing(DatasetScreen(), BulkOpScreen())
    problem = tool.shown_screen_problem(app, "caption.svg", "CaptionScreen")
    assert problem.startswith("caption.svg: expected the CaptionScreen but the app shows BulkOpScreen")
    assert "DatasetScreen > BulkOpScreen" in problem and "SHOTS" in problem


def test_a_subclass_of_the_expected_screen_is_accepted():
    tool = load_tool()
    assert tool.shown_screen_problem(app_showing(DatasetScreen(), NotedPlanPreview()), "bulk-preview.svg",
                                     "PlanPreviewScreen") is None


def test_every_shot_after_a_modal_one_starts_from_the_base_screen():
    """A shot that switches screen (2, 3, 4) after a modal shot starts with BASE, not a fixed escape count."""
    tool = load_tool()
    for (_, _, _, expected_before), (name, _, keys, _) in zip(tool.SHOTS, tool.SHOTS[1:]):
        if expected_before not in ("DatasetScreen", "CaptionScreen", "SettingsScreen", "TrainScreen"):
            assert keys[:1] == [tool.BASE], name
