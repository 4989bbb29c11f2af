"""Earlier runs of a name (hunt s9, finding 12): a new run moves NAME.events.jsonl to NAME.events.1.jsonl;
`loratui attach --list` and the runs picker list those too, after NAME, newest first, never live, and
their checkpoints are found where they are now (NAME-kept-<time>/), or marked gone. Also finding 13:
a save-now at an epoch's end is told apart from the epoch save."""

from __future__ import annotations

import json
import os


from click.testing import CliRunner

from loratui.core import runs
from loratui.core.events import _process_start, events_path, lock_path, make_event


def _lines(out, name, steps, *, finished=True, saves=(), began_ago=0.0) -> str:
    events = [make_event("run_started", config="/p/config.toml", output_dir=str(out), output_name=name, model={},
                         dataset={}, schedule={"total_steps": steps, "epochs": 2}, resumed_from=None, pid=1)]
    events[0]["time"] = round(events[0]["time"] - began_ago, 3)  # its files are taken as its own from then on
    for step in range(1, steps + 1):
        events.append(make_event("step", step=step, total_steps=steps, epoch=1, loss=1.0 / step, avg_loss=0.5,
                                 lr=1e-3, images_per_s=2.0, eta_s=1.0))
        for kind, path in saves:
            if step == steps // 2:
                events.append(make_event("checkpoint_saved", path=str(out / path), kind=kind, step=step, epoch=1))
    if finished:
        events.append(make_event("finished", reason="completed", step=steps, epoch=2, output=None, elapsed_s=3.0))
    return "".join(json.dumps(e) + "\n" for e in events)


def _three_runs(out):
    """shapes: the latest (39 steps, live), .1 (26 steps, completed), .2 (10 steps, crashed); other: one run."""
    out.mkdir(parents=True, exist_ok=True)
    events_path(out, "shapes").write_text(_lines(out, "shapes", 39, finished=False))
    lock_path(out, "shapes").write_text(f"{os.getpid()} {_process_start(os.getpid()) or '-'}\n")
    (out / "shapes.events.1.jsonl").write_text(_lines(out, "shapes", 26))
    (out / "shapes.events.2.jsonl").write_text(_lines(out, "shapes", 10, finished=False))
    events_path(out, "other").write_text(_lines(out, "other", 4))
    (out / "only.events.1.jsonl").write_text(_lines(out, "only", 6))  # its latest file is gone: listed all the same


def test_earlier_runs_are_listed_after_their_name_newest_first_and_never_live(tmp_path):
    out = tmp_path / "out"
    _three_runs(out)
    listed = runs.list_runs(out)
    assert [(r.name, r.earlier) for r in listed] == [("shapes", 0), ("shapes", 1), ("shapes", 2), ("other", 0),
                                                      ("only", 1)]
    latest, first, second = listed[:3]
    assert latest.status == "live" and first.status == "finished" and second.status == "crashed"
    assert first.pid is None and first.state is None  # the lock and NAME-state are the latest run's
    assert first.events_file == out / "shapes.events.1.jsonl"
    assert first.describe() == "shapes (earlier run 1): completed, step 26/26, epoch 1"
    assert second.describe() == "shapes (earlier run 2): crashed, step 10/10, epoch 1"
    assert [r.name for r in runs.list_runs(out, earlier=False)] == ["shapes", "other"]
    # a crashed earlier run's "log" is its own story, not the end of NAME.log (the latest run's)
    (out / "shapes.log").write_text("the latest run's line\n")
    assert "the latest run's line" not in runs.last_log_lines(out, "shapes", 5, earlier=2)


def test_an_earlier_runs_checkpoints_are_found_where_they_are_now(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    saves = [("epoch", "s-000001.safetensors"), ("step", "s-step00000005.safetensors")]
    (out / "s.events.1.jsonl").write_text(_lines(out, "s", 10, saves=saves, began_ago=3600))
    record = runs.read_summary(out, "s", 1).record
    ended = record.last_time
    kept = out / "s-kept-20250101-000000"
    kept.mkdir()
    (kept / "s-000001.safetensors").write_bytes(b"old epoch 1")  # moved aside by the next run: its old mtime
    os.utime(kept / "s-000001.safetensors", (ended - 60, ended - 60))
    (out / "s-000001.safetensors").write_bytes(b"the new run's epoch 1")  # same name, written later
    os.utime(out / "s-000001.safetensors", (ended + 600, ended + 600))
    found = runs.earlier_checkpoints(record.listed(), out, "s", ended)
    by_name = {c.path.name: c for c in found}
    assert by_name["s-000001.safetensors"].path == kept / "s-000001.safetensors"
    assert not by_name["s-000001.safetensors"].gone
    assert by_name["s-step00000005.safetensors"].gone  # nowhere any more: listed, marked gone
    (out / "s-step00000005.safetensors").write_bytes(b"still here")
    os.utime(out / "s-step00000005.safetensors", (ended - 5, ended - 5))
    found = runs.earlier_checkpoints(record.listed(), out, "s", ended)
    assert [c.gone for c in found] == [False, False]


def test_a_save_now_at_an_epochs_end_is_told_from_the_epoch_save(tmp_path):
    from loratui.tui.widgets.checkpoint_list import checkpoint_detail, checkpoint_label

    record = runs.RunRecord(tmp_path, "s")
    step_file, epoch_file = tmp_path / "s-step00000013.safetensors", tmp_path / "s-000001.safetensors"
    record.feed(make_event("step", step=13, total_steps=39, epoch=1, loss=1.2, avg_loss=1.1589, lr=1e-3,
                           images_per_s=1.0, eta_s=1.0))
    record.feed(make_event("checkpoint_saved", path=str(step_file), kind="step", step=13, epoch=1))
    record.feed(make_event("control", request="save", id="a", status="done", message=f"saved {step_file} at step 13"))
    record.feed(make_event("checkpoint_saved", path=str(epoch_file), kind="epoch", step=13, epoch=1))
    asked, epoch = record.listed()
    assert asked.asked and not epoch.asked
    assert checkpoint_label(asked, shared=True) == "e1 s13 1.1589 save now"
    assert checkpoint_label(epoch, shared=True) == "e1 s13 1.1589 epoch"
    assert checkpoint_label(epoch) == "e1 s13 1.1589"  # alone at its step: as before
    assert checkpoint_detail(asked).startswith("s-step00000013.safetensors (save now) · ")


def test_attach_lists_earlier_runs_and_opens_one_by_earlier(tmp_path, monkeypatch):
    from loratui.commands.attach_cmd import attach as command
    from loratui.core.errors import LoratuiError
    from loratui.tui import launch

    def attach(args):
        return CliRunner().invoke(command, args)

    def refused(result) -> str:  # `loratui` turns a LoratuiError into "error: ..." and exit 2
        assert isinstance(result.exception, LoratuiError), result.output
        return str(result.exception)

    out = tmp_path / "out"
    _three_runs(out)
    result = attach([str(out), "--list"])
    assert result.exit_code == 0, result.output
    rows = result.output.splitlines()
    assert "shapes: live" in rows[0] and "shapes (earlier run 1): completed, step 26/26" in rows[1]
    assert "shapes (earlier run 2): crashed" in rows[2]
    result = attach([str(out), "--list", "--json", "--run", "shapes", "--earlier", "1"])
    assert result.exit_code == 0, result.output
    row = json.loads(result.output)
    assert (row["name"], row["earlier"], row["step"], row["events"]) == ("shapes", 1, 26,
                                                                        str(out / "shapes.events.1.jsonl"))
    result = attach([str(out), "--earlier", "1"])
    assert "several runs here" in refused(result) and "--run NAME" in refused(result)
    result = attach([str(out), "--run", "other", "--earlier", "1"])
    assert "no earlier run 1 of 'other'" in refused(result)
    result = attach([str(out), "--run", "shapes", "--earlier", "4", "--list"])
    assert "its earlier runs here: --earlier 1, 2" in refused(result)
    opened = []
    monkeypatch.setattr(launch, "run_app", lambda target, **kw: opened.append(kw))
    result = attach([str(out), "--run", "shapes", "--earlier", "2"])
    assert result.exit_code == 0, result.output
    assert (opened[-1]["attach_run"], opened[-1]["attach_earlier"]) == ("shapes", 2)  # follows shapes.events.2.jsonl
    # one name with earlier runs, no terminal: its latest opens, as before there were earlier runs
    single = tmp_path / "single"
    single.mkdir()
    events_path(single, "a").write_text(_lines(single, "a", 3))
    (single / "a.events.1.jsonl").write_text(_lines(single, "a", 2))
    result = attach([str(single)])
    assert result.exit_code == 0, result.output
    assert (opened[-1]["attach_run"], opened[-1]["attach_earlier"]) == ("a", 0)


def test_a_key_set_twice_in_a_toml_file_is_named_with_both_lines(tmp_path):
    import pytest

    from loratui.core.errors import LoratuiError
    from loratui.core.tomlfile import read_toml

    path = tmp_path / "preset.toml"
    path.write_text("[network]\nnetwork_dim = 4\n# more\nnetwork_dim = 8\n")
    with pytest.raises(LoratuiError) as caught:
        read_toml(path, "preset")
    assert str(caught.value) == (f"{path}, line 4: network_dim is set twice in [network] (first on line 2): remove "
                                 "one of them (keep the value you mean)")
    path.write_text("[network]\na = 1\n[training]\nb = 2\n[network]\n")
    with pytest.raises(LoratuiError, match=r"line 5: the table \[network\] is declared twice \(first on line 1\)"):
        read_toml(path, "preset")
    path.write_text("a = [\n")  # any other syntax error: where and what, as before
    with pytest.raises(LoratuiError, match=r"preset.toml, at the end: not valid TOML: "):
        read_toml(path, "preset")
