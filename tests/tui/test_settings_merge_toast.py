"""At 80x24 the "config.toml changed on disk" toast covered the merge dialog's key line ("m keep mine
t keep theirs r re▌"): the toasts are cleared before the dialog opens, as for the Train dialogs."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from fixtures.tui_dataset import make_dataset
from textual.widgets._toast import Toast

from loratui.core.dataset import locate_dataset
from loratui.tui.app import LoratuiApp
from loratui.tui.screens.config_dialogs import ChoiceDialog

GOOD = "[network]\nnetwork_dim = 16\n\n[training]\nmax_train_epochs = 2\n"


async def _until(pilot, test, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not test():
        assert time.monotonic() < deadline, "condition never became true"
        await pilot.pause(0.05)


def test_merge_dialog_opens_without_the_changed_on_disk_toast(tmp_path, monkeypatch):
    root = make_dataset(tmp_path / "proj")
    path = root / "proj.toml"
    path.write_text(GOOD, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    app = LoratuiApp(locate_dataset(root), config_path=Path("proj/proj.toml"), settings_file=tmp_path / "tui.toml",
                     keymap_file=tmp_path / "k.toml", watch=False)
    seen: dict = {}

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            await app.switch_mode("settings")
            await pilot.pause()
            screen = app.settings_screen()
            screen.form.field("network_dim").user_sets(24)  # an unsaved edit ...
            await pilot.pause()
            path.write_text(GOOD.replace("16", "32"), encoding="utf-8")  # ... and the file's own change
            await _until(pilot, lambda: any("changed on disk" in n.message for n in app._notifications))
            await pilot.press("ctrl+s")
            await _until(pilot, lambda: isinstance(app.screen, ChoiceDialog))
            await pilot.pause()
            seen["title"] = app.screen.dialog_title
            seen["toasts"] = [n.message for n in app._notifications]
            seen["toast_widgets"] = len(app.screen.query(Toast))
            keys = app.screen.query_one(".choice-keys")
            seen["keys"] = str(keys.render())
            seen["keys_fit"] = keys.region.width >= len(seen["keys"]) and keys.region.bottom <= 24
            await pilot.press("m")
            await _until(pilot, lambda: "network_dim = 24" in path.read_text(encoding="utf-8"))

    asyncio.run(main())
    assert seen["title"] == "changed on disk: 1 key(s) changed on both sides"
    assert seen["toasts"] == [] and seen["toast_widgets"] == 0
    assert "m  keep mine   t  keep theirs   r  reload" in seen["keys"] and seen["keys_fit"]
