"""The h3 hunt (themes and terminal sizes): a theme variable that is no colour crashed the app; good
values with an alpha suffix were refused; loratui's own variables (tag-chip, loss-line...) did nothing;
the tag editor dimmed whole rows; TERM=dumb started the full-screen app."""

from __future__ import annotations

import sys

import pytest
from textual.screen import Screen
from textual.theme import Theme

from fixtures.tui_dataset import make_dataset, run_dataset_app
from loratui.core.errors import LoratuiError
from loratui.tui.services.themes import load_themes, variable_value_problem


def _theme_file(folder, name, variables: str):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(f'name = "{name}"\nprimary = "#ff0000"\n[variables]\n{variables}\n', encoding="utf-8")
    return path


def test_a_variable_textual_cannot_read_skips_the_file_with_one_line_naming_it(tmp_path):
    typo = _theme_file(tmp_path, "typo", 'border = "yelow"')
    muted = _theme_file(tmp_path, "muted", 'text-muted = "blurple"')
    catalog = load_themes(user_dir=tmp_path)
    assert not {"typo", "muted"} & set(catalog.names())
    (typo_line,) = [line for line in catalog.problems if line.startswith(f"{typo}: ")]
    assert "'border'" in typo_line and "yelow" in typo_line and "did you mean 'yellow'" in typo_line
    assert any(line.startswith(f"{muted}: ") and "'text-muted'" in line for line in catalog.problems)
    assert all("\n" not in line for line in catalog.problems)
    assert catalog.skipped == {"typo": typo, "muted": muted}


@pytest.mark.parametrize(("name", "value"), [
    ("text-muted", "#a9b1d6 60%"),  # #5: an alpha suffix, as Textual's CSS reads it
    ("text", "auto 87%"), ("border", "ansi_bright_blue"), ("surface-active", "transparent"),
    ("block-cursor-text-style", "bold reverse"), ("link-style-hover", "not underline"),
])
def test_values_textual_reads_pass(name, value):
    assert variable_value_problem(name, value) is None


@pytest.mark.parametrize(("name", "value"), [
    ("border", "yelow"), ("loss-line", "#12345"), ("border", "auto 50%"),  # auto: text colours only
    ("block-cursor-text-style", "bogus"), ("tag-chip", "red; background: blue"), ("text", ""),
])
def test_values_textual_refuses_fail(name, value):
    assert variable_value_problem(name, value)


def test_the_alpha_theme_loads(tmp_path):
    _theme_file(tmp_path, "alpha", 'text-muted = "#a9b1d6 60%"')
    catalog = load_themes(user_dir=tmp_path)
    assert "alpha" in catalog.names() and catalog.problems == []


def test_tui_toml_naming_that_theme_opens_on_loratui_dark_with_one_line(tmp_path):
    make_dataset(tmp_path)
    _theme_file(tmp_path / "themes", "typo", 'border = "yelow"')
    settings = tmp_path / "cfg" / "tui.toml"
    settings.parent.mkdir()
    settings.write_text('theme = "typo"\n', encoding="utf-8")
    seen = {}

    async def scenario(app, pilot):
        seen["theme"] = app.theme
        seen["lines"] = list(app.startup_problems)

    run_dataset_app(tmp_path, tmp_path / "img", scenario)
    assert seen["theme"] == "loratui-dark"
    (line,) = seen["lines"]
    assert "typo.toml" in line and "'border'" in line and "using 'loratui-dark'" in line
    assert settings.read_text(encoding="utf-8") == 'theme = "typo"\n'  # the user's choice is kept


def test_a_theme_textual_refuses_as_applied_falls_back_instead_of_crashing(tmp_path):
    """What the file check cannot see (a theme registered some other way, a value refused where it is
    used) ends as one line and the previous theme; the refused one is not saved as the choice."""
    make_dataset(tmp_path)
    seen = {}

    async def scenario(app, pilot):
        app.theme = "loratui-light"
        await pilot.pause()
        app.register_theme(Theme(name="sneaky", primary="#ff0000", variables={"border": "auto 50%"}))
        app.theme = "sneaky"  # as the palette's "theme: ..." and Textual's "Theme" picker do
        await pilot.pause()
        await pilot.pause()
        seen["theme"] = app.theme
        seen["said"] = [n.message for n in app._notifications]
        app.theme = "loratui-high-contrast"  # the app still works
        await pilot.pause()
        seen["after"] = app.theme

    run_dataset_app(tmp_path, tmp_path / "img", scenario)
    assert seen["theme"] == "loratui-light"
    assert any("sneaky" in message and "using 'loratui-light'" in message for message in seen["said"])
    assert seen["after"] == "loratui-high-contrast"
    assert 'theme = "loratui-high-contrast"' in (tmp_path / "cfg" / "tui.toml").read_text(encoding="utf-8")


class ChartScreen(Screen):
    def compose(self):
        from loratui.tui.widgets.loss_chart import LossChart

        yield LossChart()


def test_loss_line_and_tag_chip_colour_the_widgets_and_default_to_their_look(tmp_path):
    make_dataset(tmp_path)
    _theme_file(tmp_path / "themes", "mine",
                'loss-line = "#ff0000"\nloss-smoothed = "#00ff00"\ntag-chip-selected = "#123456"')
    seen = {}

    async def scenario(app, pilot):
        from loratui.tui.widgets.loss_chart import LossChart
        from loratui.tui.widgets.tag_editor import EditorTagList

        for theme in ("mine", "textual-dark"):  # a built-in theme sets none of them: no crash, the old look
            app.theme = theme
            await pilot.pause()
            await pilot.press("e")
            await pilot.pause()
            tags = app.screen.query_one(EditorTagList)
            seen[theme, "chip"] = tags.get_component_rich_style("option-list--option-highlighted").bgcolor
            await pilot.press("escape")
            await app.push_screen(ChartScreen())
            chart = app.screen.query_one(LossChart)
            seen[theme, "raw"] = chart.get_component_rich_style("loss-chart--raw").color
            seen[theme, "ema"] = chart.get_component_rich_style("loss-chart--ema").color
            seen[theme, "variables"] = dict(app.theme_variables)
            app.pop_screen()
            await pilot.pause()

    run_dataset_app(tmp_path, tmp_path / "img", scenario)
    assert seen["mine", "raw"].triplet == (255, 0, 0) and seen["mine", "ema"].triplet == (0, 255, 0)
    assert seen["mine", "chip"].triplet == (0x12, 0x34, 0x56)
    builtin = seen["textual-dark", "variables"]
    assert builtin["loss-smoothed"] == builtin["accent"] and builtin["loss-line"] == builtin["text-muted"]
    assert builtin["tag-chip-selected"] == builtin["block-cursor-background"]


def test_the_tag_editor_dims_the_number_not_the_tag(tmp_path):
    """High contrast: every tag but the current one was grey (white dimmed), the current one olive on yellow."""
    make_dataset(tmp_path)
    rows = {}

    async def scenario(app, pilot):
        from loratui.tui.widgets.tag_editor import EditorTagList

        app.theme = "loratui-high-contrast"
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        tags = app.screen.query_one(EditorTagList)
        for y in (0, 1):
            rows[y] = [(segment.text, bool(segment.style and segment.style.dim)) for segment in tags.render_line(y)
                       if segment.text.strip()]

    run_dataset_app(tmp_path, tmp_path / "img", scenario)
    assert not any(dim for _text, dim in rows[0]), rows[0]  # the current tag: nothing faded into the cursor
    assert [text.strip() for text, dim in rows[1] if dim] == ["2."], rows[1]  # another: only its number
    assert any(not dim and text.strip() not in ("", "2.") for text, dim in rows[1])


class Tty:
    def isatty(self) -> bool:
        return True


def test_term_dumb_is_one_line_before_the_app_starts(tmp_path, monkeypatch):
    from loratui.tui.launch import run_app

    make_dataset(tmp_path)
    monkeypatch.setenv("TERM", "dumb")
    monkeypatch.setattr(sys, "stdin", Tty())
    monkeypatch.setattr(sys, "stdout", Tty())
    with pytest.raises(LoratuiError) as caught:
        run_app(tmp_path)
    line = str(caught.value)
    assert "\n" not in line and "TERM=dumb" in line and "full-screen" in line and "TERM=xterm-256color" in line


def test_term_dumb_demo_refuses_before_it_builds_the_project(tmp_path, monkeypatch):
    from loratui.commands.demo_cmd import demo

    monkeypatch.setenv("TERM", "dumb")
    monkeypatch.setattr(sys, "stdin", Tty())
    monkeypatch.setattr(sys, "stdout", Tty())
    with pytest.raises(LoratuiError, match=r"TERM=dumb.*loratui demo --headless"):
        demo.callback(folder=tmp_path / "demo", fresh=False, headless=False, no_train=False)
    assert not (tmp_path / "demo").exists()  # nothing built
