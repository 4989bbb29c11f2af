"""keymap.toml's key check leans on Textual's private key tables (textual._keyboard_protocol,
textual.keys._character_to_key): when they are not there, load_keymap still never raises and names are
checked by their shape. And "ctrl+S" is refused: Textual reports that press as ctrl+shift+s, so the
binding would never run."""

from __future__ import annotations

import builtins
import sys

import pytest

import loratui.tui.services.keymap as keymap_module
from loratui.tui.services.keymap import key_problem, load_keymap, parse_keymap, textual_key_names


@pytest.fixture
def no_private_tables(monkeypatch):
    """Textual without ``_keyboard_protocol`` (an upgrade that moved it)."""
    real_import = builtins.__import__

    def refuse(name, *args, **kw):
        if name == "textual._keyboard_protocol":
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kw)

    monkeypatch.delitem(sys.modules, "textual._keyboard_protocol", raising=False)
    monkeypatch.setattr(builtins, "__import__", refuse)
    textual_key_names.cache_clear()
    yield
    monkeypatch.undo()
    textual_key_names.cache_clear()


def test_without_textuals_private_tables_a_keymap_still_loads(no_private_tables, tmp_path):
    assert textual_key_names() is None
    path = tmp_path / "keymap.toml"
    path.write_text('[keys]\n"tags.add" = "i"\n"app.help" = "f1,question_mark"\n"dataset.undo" = "ctrl+zz z"\n'
                    '"dataset.redo" = "Ctrl+y"\n', encoding="utf-8")
    keymap, problems = load_keymap(path)
    assert keymap == {"tags.add": "i", "app.help": "f1,question_mark"}
    [line] = problems
    assert line.startswith(f"{path}: ") and "'dataset.undo'" in line and "'dataset.redo'" in line
    assert "did you mean 'ctrl+y'?" in line  # the guess still works from the shape


def test_a_missing_private_function_is_caught_too(monkeypatch):
    import textual.keys

    monkeypatch.delattr(textual.keys, "_character_to_key")
    textual_key_names.cache_clear()
    try:
        assert textual_key_names() is None and key_problem("ctrl+s") is None and key_problem("pageup") is None
    finally:
        monkeypatch.undo()
        textual_key_names.cache_clear()
    assert "question_mark" in textual_key_names()


@pytest.mark.parametrize(("key", "guess"), [("ctrl+S", "ctrl+shift+s"), ("ctrl+shift+S", "ctrl+shift+s"),
                                            ("alt+X", "alt+shift+x"), ("shift+S", "S")])
def test_an_upper_case_letter_after_a_modifier_is_refused(key, guess):
    problem = key_problem(key)
    assert problem and f"'{key}' is not a key Textual reports (did you mean '{guess}'?)" in problem


def test_upper_case_letters_alone_and_lower_case_after_modifiers_pass():
    assert key_problem("S") is None and key_problem("ctrl+shift+s") is None and key_problem("ctrl+s") is None
    keymap, issues = parse_keymap({"keys": {"app.save": "ctrl+S", "tags.add": "T"}})
    assert keymap == {"tags.add": "T"}
    assert issues == ["'app.save': 'ctrl+S' is not a key Textual reports (did you mean 'ctrl+shift+s'?): a shifted "
                      "letter is 'S' alone, 'ctrl+shift+s' with another modifier; it keeps its default key"]


def test_the_module_imports_without_textuals_private_normalizer():
    import subprocess

    code = ("import textual.keys; del textual.keys._normalize_key_list; "
            "from loratui.tui.services.keymap import load_keymap, normalize_keymap; "
            "print(normalize_keymap({'app.help': 'f1, question_mark'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "{'app.help': 'f1,question_mark'}"
    assert keymap_module.normalize_keymap({"app.help": "?, f1"}) == {"app.help": "question_mark,f1"}
