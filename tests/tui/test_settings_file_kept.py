"""tui.toml is never written over when it cannot be read, and a rewrite keeps the lines it does not
change (user hunt: a broken file was replaced with the defaults when a theme was picked)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from fixtures.tui_dataset import make_dataset

from loratui.core.dataset import locate_dataset
from loratui.tui.app import LoratuiApp
from loratui.tui.services.user_settings import SettingsNotSaved, UserSettings, load_settings, update_settings

BROKEN = 'wd14_model_folder = "/tmp/x"\nimage_preview = halfblock\n'


def test_a_broken_file_is_left_as_it_is_and_said_once(tmp_path):
    path = tmp_path / "tui.toml"
    path.write_text(BROKEN)
    with pytest.raises(SettingsNotSaved) as caught:
        update_settings(path, theme="loratui-light")
    line = str(caught.value)
    assert str(path) in line and "not valid TOML" in line and "this session only" in line and "\n" not in line
    assert caught.value.settings.theme == "loratui-light"
    assert isinstance(caught.value, OSError)  # what every caller already catches and warns about
    # the second change: not said again, still not written
    assert update_settings(path, image_preview="off") == UserSettings(theme="loratui-light", image_preview="off")
    assert path.read_text() == BROKEN
    # fixed by hand: saved again, from the file's values
    path.write_text('wd14_model_folder = "/tmp/x"\n')
    assert update_settings(path, theme="loratui-light") == UserSettings(theme="loratui-light", wd14_model_folder="/tmp/x")
    assert load_settings(path) == (UserSettings(theme="loratui-light", wd14_model_folder="/tmp/x"), [])


def test_an_unreadable_file_is_not_written_over(tmp_path, monkeypatch):
    path = tmp_path / "tui.toml"
    path.write_text('theme = "loratui-light"\n')
    real_open = open

    def refuse(file, *args, **kwargs):  # as for a file without read permission (root reads those anyway)
        if Path(file) == path:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", refuse)
    with pytest.raises(SettingsNotSaved, match="cannot be read"):
        update_settings(path, image_preview="off")
    monkeypatch.undo()
    assert path.read_text() == 'theme = "loratui-light"\n'


def test_not_utf8_is_a_problem_not_a_crash(tmp_path):
    path = tmp_path / "tui.toml"
    path.write_bytes(b'theme = "\xff"\n')
    settings, (line,) = load_settings(path)
    assert settings == UserSettings() and line.startswith(f"{path}: not valid TOML")
    with pytest.raises(SettingsNotSaved):
        update_settings(path, theme="loratui-light")
    assert path.read_bytes() == b'theme = "\xff"\n'


def test_a_rewrite_keeps_bad_values_and_unknown_keys_as_written(tmp_path):
    path = tmp_path / "tui.toml"
    path.write_text('wd14_model_folder = "/tmp/x"\nimage_preview = "hologram"\nthem = "typo"\n')
    updated = update_settings(path, theme="loratui-light")
    assert updated == UserSettings(theme="loratui-light", wd14_model_folder="/tmp/x")
    text = path.read_text()
    assert 'image_preview = "hologram"' in text and 'them = "typo"' in text and 'wd14_model_folder = "/tmp/x"' in text
    # still reported at the next start, for the user to fix
    settings, (line,) = load_settings(path)
    assert settings.theme == "loratui-light" and "hologram" in line and "them" in line
    # a setting the user now sets replaces the bad value
    update_settings(path, image_preview="off")
    assert 'image_preview = "off"' in path.read_text() and load_settings(path)[0].image_preview == "off"


def test_changing_back_to_the_default_is_saved(tmp_path):
    path = tmp_path / "tui.toml"
    path.write_text('theme = "loratui-light"\n')
    update_settings(path, theme="loratui-dark")
    assert load_settings(path) == (UserSettings(), [])


def test_picking_a_theme_with_a_broken_file_keeps_the_file(tmp_path):
    """Pilot: the start-up toast says "not valid TOML"; the theme picked from the palette applies, the
    file keeps every line, and one warning names the file; a second change says nothing more."""
    settings_file = tmp_path / "cfg" / "tui.toml"
    settings_file.parent.mkdir()
    settings_file.write_text(BROKEN)
    img = make_dataset(tmp_path / "proj") / "img"
    app = LoratuiApp(locate_dataset(img), settings_file=settings_file, keymap_file=tmp_path / "cfg" / "keymap.toml",
                     themes_dir=tmp_path / "themes", watch=False)

    def messages() -> list[str]:
        return [str(n.message) for n in app._notifications]

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            deadline = time.monotonic() + 10
            while not app.store.captions_loaded:
                assert time.monotonic() < deadline
                await pilot.pause(0.05)
            await pilot.pause(0.2)
            assert any("not valid TOML" in m for m in messages())
            theme = next(c for c in app.palette_commands() if c.title == "theme: loratui-light")
            theme.run()
            await pilot.pause(0.2)
            assert app.theme == "loratui-light"
            warned = [m for m in messages() if "this session only" in m]
            assert len(warned) == 1 and str(settings_file) in warned[0] and "fix the file" in warned[0]
            next(c for c in app.palette_commands() if c.title == "theme: loratui-dark").run()
            next(c for c in app.palette_commands() if c.title == "preview: halfblock").run()  # another writer
            await pilot.pause(0.2)
            assert len([m for m in messages() if "this session only" in m]) == 1
            assert not [m for m in messages() if "could not save" in m.lower()][1:]
        assert settings_file.read_text() == BROKEN

    asyncio.run(main())


def test_the_file_is_written_atomically_in_its_folder(tmp_path, monkeypatch):
    """The rewrite goes through the shared atomic writer (temp file in the same folder, then rename)."""
    import loratui.core.fsutil as fsutil

    seen: list[Path] = []
    real = fsutil.atomic_write_text
    monkeypatch.setattr(fsutil, "atomic_write_text", lambda p, t, *a, **k: (seen.append(Path(p)), real(p, t, *a, **k)))
    path = tmp_path / "tui.toml"
    update_settings(path, theme="loratui-light")
    assert seen == [path]


def test_the_first_change_to_a_broken_file_holds_for_the_session(tmp_path):
    """The first change (the one that warns) is kept in app.settings too, not only the later ones:
    screens made afterwards read it."""
    settings_file = tmp_path / "cfg" / "tui.toml"
    settings_file.parent.mkdir()
    settings_file.write_text(BROKEN)
    img = make_dataset(tmp_path / "proj") / "img"
    app = LoratuiApp(locate_dataset(img), settings_file=settings_file, keymap_file=tmp_path / "cfg" / "keymap.toml",
                     themes_dir=tmp_path / "themes", watch=False)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.2)
            app.set_preview_mode("off")
            await pilot.pause(0.1)
            assert app.settings.image_preview == "off"
        assert settings_file.read_text() == BROKEN

    asyncio.run(main())
