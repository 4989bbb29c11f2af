"""K2: the run service's lines, the run status and the app's opening notes name the keys keymap.toml binds
(they said r, s, a, 3 and ctrl+o whatever the keymap); an action left without a key is named by its
palette command. The app's Start of several processes is `loratui train ... --processes N`."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest

from loratui.core.errors import LoratuiError
from loratui.tui.launch import resolve_target
from loratui.tui.services.followed_run import FollowedRun
from loratui.tui.services.run_following import RunFollowing
from loratui.tui.services.runs import RunService
from loratui.tui.services.train_keys import TrainKeys
from loratui.tui.widgets.run_status import RunStatus, status_lines
from test_keys_follow_keymap_h5 import make_app, run
from test_train_refused_and_newest_state import write_state
from test_train_stopped_early import stand_in_launch

# train.stop takes s and ctrl+r from train.start: Start is then left without a key (Textual drops the default
# owner's)
KEYMAP = '[keys]\n"train.resume" = "f5"\n"train.pick_run" = "f7"\n"train.stop" = "s,ctrl+r"\n'
START_PALETTE = "'train: start a new run from the config' (ctrl+p)"


def _text(parts) -> str:
    return "".join(part for part, _ in parts)


def _stopped_unsaved(tmp_path) -> FollowedRun:
    """A run of this app stopped in its first seconds (exit 130, no event): nothing to resume."""
    run = FollowedRun(tmp_path, "tiny")
    stand_in_launch(run, 130, resume=False)
    run.status = RunService._status(run, None)
    return run


def test_without_an_app_the_default_keys_are_named(tmp_path):
    keys = TrainKeys()
    assert (keys.key("train.resume"), keys.key("train.start"), keys.key("train.pick_run")) == ("r", "s", "a")
    assert TrainKeys(SimpleNamespace()).does("train.start", "starts") == "s starts"  # a stand-in app: defaults
    assert TrainKeys(SimpleNamespace(key_for=lambda binding_id, node: "")).key("train.start") == START_PALETTE


def test_the_run_lines_name_the_keymaps_keys(tmp_path):
    app = make_app(tmp_path, KEYMAP)
    out = tmp_path / "out"
    out.mkdir()

    async def scenario(pilot):
        service = RunService(app)
        assert service.keys.key("train.resume") == "f5" and service.keys.key("train.start") == START_PALETTE
        # the crash line of a followed run: the service hands its keys to each run it follows
        run = service.follow(out, "tiny")
        try:
            assert run.keys is service.keys
            write_state(out / "tiny-state", 7)
            run.exit_code = -9
            line = RunFollowing._crash_line(run)
            assert line.endswith("; f5 resumes from step 7") and "; r resumes" not in line
            (out / "tiny-state").rename(out / "gone")
            assert RunFollowing._crash_line(run).endswith(f"no state was saved to resume from: {START_PALETTE} "
                                                          "starts it again")
        finally:
            service.shutdown()
        # a stopped run with nothing saved: its note, its status line and the refusal of r
        stopped = _stopped_unsaved(tmp_path)
        stopped.keys = service.keys
        snapshot = stopped.snapshot(None)
        assert snapshot.notes == (f"stopped before anything was saved (exit code 130): {START_PALETTE} starts a "
                                  "new run",)
        assert f"stopped before anything was saved ({START_PALETTE} starts a new run)" in \
            _text(status_lines(snapshot, service.keys))
        with pytest.raises(LoratuiError) as refused:
            service.check_resumable(snapshot)
        assert str(refused.value).endswith(f"nothing to resume: {START_PALETTE} starts a new run")
        earlier = SimpleNamespace(earlier=1, title="tiny (earlier run 1)", name="tiny")
        with pytest.raises(LoratuiError, match=r"follow the latest tiny \(f7 lists the runs\) to resume"):
            service.check_resumable(earlier)
        # a refused launch's hint
        stopped.status = "refused"
        (tmp_path / "tiny.log").write_text("--- now loratui train c.toml\nerror: no\n")
        assert snapshot_hint(stopped).endswith(f"then press f5 or {START_PALETTE} again")
        # the status line of a crashed run with a state, as the mounted widget shows it
        crashed = SimpleNamespace(status="crashed", reason=None, name="x", step=9, total_steps=78, epoch=1,
                                  epochs=6, loss=0.5, avg_loss=0.5, lr=1e-3, images_per_s=2.0, eta_s=None,
                                  elapsed_s=9, peak_vram_gib=None, vram_estimate_gib=None, pid=None, caching=None,
                                  device="cpu", checkpoints=(), log_tail=(), state_step=7,
                                  ended_by="killed by signal 9")
        status = RunStatus()
        await app.screen.mount(status)
        status.show(crashed)
        assert status.plain.endswith("killed by signal 9: f5 resumes from step 7")
        resumed = SimpleNamespace(**{**vars(crashed), "status": "stopped", "state": out / "tiny-state"})
        status.show(resumed)
        assert "stopped while starting: nothing new saved (f5 resumes)" in status.plain

    run(app, scenario)


def snapshot_hint(run: FollowedRun) -> str:
    return run.snapshot(None).error["hint"]


def test_the_start_of_several_processes_is_loratui_train_processes(tmp_path):
    from loratui.core.config import TrainingConfig, save_config

    config = tmp_path / "c.toml"
    save_config(TrainingConfig(), config)
    command = RunService(app=None).command(config, processes=3, max_steps=5)
    assert command.argv == (sys.executable, "-m", "loratui", "train", str(config.resolve()), "--max-steps", "5",
                            "--processes", "3")
    assert command.display == f"loratui train {config.resolve()} --max-steps 5 --processes 3"
    assert "--processes" not in RunService(app=None).command(config).argv


# ---- the opening notes (before the app exists: keymap.toml read with services/keymap.py) ----------------

def test_the_opening_notes_name_the_keymaps_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    (tmp_path / "xdg" / "loratui").mkdir(parents=True)
    (tmp_path / "xdg" / "loratui" / "keymap.toml").write_text('[keys]\n"app.settings" = "f3"\n'
                                                               '"settings.open" = "ctrl+t"\n')
    (tmp_path / "p" / "img" / "2_x").mkdir(parents=True)
    config = tmp_path / "p" / "c.toml"
    config.write_text('[dataset]\ntrain_data_dir = "img"\n[saving]\nextra = 1\n')
    notes: list[str] = []
    resolve_target(config, notes)
    assert notes[0].endswith("; Settings (f3) says how to fix it"), notes
    config.rename(tmp_path / "p" / "config.toml")
    (tmp_path / "p" / "other.toml").write_text('[dataset]\ntrain_data_dir = "img"\n')
    notes.clear()
    resolve_target(tmp_path / "p", notes)
    assert notes[0].endswith("`loratui NAME.toml` opens another (Settings: ctrl+t)"), notes
    # the app's screen key given to another action: its palette command
    (tmp_path / "xdg" / "loratui" / "keymap.toml").write_text('[keys]\n"app.dataset" = "3"\n')
    notes.clear()
    resolve_target(tmp_path / "p" / "config.toml", notes)
    resolve_target(tmp_path / "p", notes)
    assert notes[0].endswith("; Settings ('app: show Settings screen' (ctrl+p)) says how to fix it"), notes
    assert notes[1].endswith("(Settings: ctrl+o)"), notes
