"""keymap.toml keys are checked against the names Textual really reports: "slashh", "ctrl+zz" and
"ctrl+banana" were taken silently, the footer showed "slashh Filter  ^🍌 Edit" and the actions had no
key any press could make. Now such an entry is refused (the default key stays) and named in the
start-up toast with a "did you mean"."""

from __future__ import annotations

import asyncio

import pytest

from fixtures.tui_dataset import make_dataset
from loratui.core.dataset import locate_dataset
from loratui.tui.app import LoratuiApp
from loratui.tui.services.keymap import key_problem, load_keymap, parse_keymap


@pytest.mark.parametrize("key", ["a", "X", "?", "é", "ctrl+s", "ctrl+shift+up", "f1", "f24", "question_mark",
                                 "slash", "plus", "minus", "space", "enter", "escape", "pageup", "shift+tab",
                                 "ctrl+space", "super+a", "section_sign"])
def test_real_key_names_pass(key):
    assert key_problem(key) is None


@pytest.mark.parametrize(("key", "guess"), [("ctrl+zz", "ctrl+z"), ("slashh", "slash"), ("F1", "f1"),
                                            ("esc", "escape"), ("ctlr+s", "ctrl+s"), ("questionmark", "question_mark"),
                                            ("+", "plus"), ("ctrl + s", "ctrl+s")])
def test_typos_are_refused_with_a_guess(key, guess):
    problem = key_problem(key)
    assert problem and f"'{key}' is not a key name (did you mean '{guess}'?)" in problem


def test_modifiers_out_of_textual_order_are_refused():
    problem = key_problem("shift+ctrl+a")
    assert problem and "did you mean 'ctrl+shift+a'?" in problem


def test_a_word_that_is_no_key_gets_the_forms():
    problem = key_problem("ctrl+banana")  # Textual's name for the emoji: the footer showed "^🍌"
    assert problem and "'ctrl+banana' is not a key name: use forms like" in problem and "did you mean" not in problem


def test_a_bad_key_refuses_the_whole_entry():
    keymap, issues = parse_keymap({"keys": {"dataset.filter": "slashh", "dataset.undo": "u,ctrl+zz",
                                            "tags.add": "a"}})
    assert keymap == {"tags.add": "a"}
    assert issues == ["'dataset.filter': 'slashh' is not a key name (did you mean 'slash'?); it keeps its default key",
                      "'dataset.undo': 'ctrl+zz' is not a key name (did you mean 'ctrl+z'?); it keeps its default key"]


def test_the_app_keeps_default_keys_and_tells_the_bad_ones(tmp_path):
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    keymap_file = cfg / "keymap.toml"
    keymap_file.write_text('[keys]\n"dataset.undo" = "ctrl+zz"\n"dataset.filter" = "slashh"\n'
                           '"dataset.edit" = "ctrl+banana"\n', encoding="utf-8")
    assert load_keymap(keymap_file)[0] == {}
    app = LoratuiApp(locate_dataset(make_dataset(tmp_path / "proj")), settings_file=cfg / "tui.toml",
                     keymap_file=keymap_file, themes_dir=tmp_path / "themes", watch=False)
    seen: dict = {}

    async def scenario():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            seen["problems"] = list(app.startup_problems)
            seen["toasts"] = [(n.title, n.message) for n in app._notifications]
            seen["keys"] = {active.binding.id: key for key, active in app.screen.active_bindings.items()
                            if active.binding.id in ("dataset.undo", "dataset.filter", "dataset.edit")}

    asyncio.run(scenario())
    assert seen["keys"] == {"dataset.undo": "ctrl+z", "dataset.filter": "slash", "dataset.edit": "e"}
    [line] = seen["problems"]
    assert line.startswith(f"{keymap_file}: ")
    for fragment in ("'dataset.undo': 'ctrl+zz' is not a key name (did you mean 'ctrl+z'?)",
                     "'dataset.filter': 'slashh' is not a key name (did you mean 'slash'?)",
                     "'dataset.edit': 'ctrl+banana' is not a key name"):
        assert fragment in line
    [(title, message)] = [toast for toast in seen["toasts"] if toast[0].startswith("Start-up problem")]
    assert "slashh" in message and str(keymap_file) in message


def test_every_key_the_app_binds_by_default_passes():
    """The check knows every key loratui and Textual's own widgets bind (else a keymap could not copy them)."""
    from textual.binding import Binding
    from textual.keys import _normalize_key_list

    from loratui.tui.services.keymap import loratui_binding_classes

    refused = set()
    for node_class in loratui_binding_classes():
        for klass in node_class.__mro__:
            for binding in Binding.make_bindings(klass.__dict__.get("BINDINGS") or []):
                refused.update(key for key in _normalize_key_list(binding.key).split(",") if key_problem(key))
    assert refused == set()
