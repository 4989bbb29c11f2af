"""services.drafts.DraftKeeper on its own: what it writes, what it deletes (only its own drafts, or on
discard), and that a slow older write never lands after a newer state."""

from __future__ import annotations

from pathlib import Path

from loratui.tui.services.drafts import DraftKeeper


class NoApp:
    def notify(self, *args, **kwargs) -> None:
        raise AssertionError(args)


def keeper_with(tmp_path: Path, texts: list) -> tuple[DraftKeeper, Path]:
    keeper = DraftKeeper(NoApp())
    path = tmp_path / ".a.txt.loratui-draft"
    keeper.register("editor", path=lambda: path, snapshot=lambda: texts[-1])
    return keeper, path


def test_write_now_writes_and_a_clean_state_removes_only_its_own_draft(tmp_path):
    texts = ["typed"]
    keeper, path = keeper_with(tmp_path, texts)
    assert keeper.write_now() == []
    assert path.read_text() == "typed"
    texts.append(None)
    keeper.write_now("editor")
    assert not path.exists()
    path.write_text("left by an earlier session")
    keeper.write_now("editor")
    assert path.read_text() == "left by an earlier session"  # not ours: it waits for its offer
    keeper.discard("editor")
    assert not path.exists()


def test_an_older_write_landing_late_is_skipped(tmp_path):
    texts = ["old"]
    keeper, path = keeper_with(tmp_path, texts)
    slow = keeper._take(keeper.sources["editor"])  # taken, its thread not run yet
    texts.append("new")
    keeper.write_now()
    keeper._land(*slow)
    assert path.read_text() == "new"
    late = keeper._take(keeper.sources["editor"])
    keeper.discard("editor")
    keeper._land(*late)
    assert not path.exists()


def test_forget_written_keeps_the_file_from_a_clean_state(tmp_path):
    texts = ["typed"]
    keeper, path = keeper_with(tmp_path, texts)
    keeper.write_now()
    keeper.forget_written("editor")
    texts.append(None)
    keeper.write_now()
    assert path.read_text() == "typed"


def test_a_draft_that_cannot_be_kept_says_what_is_at_stake_and_the_sources_own_way_out(tmp_path):
    """In a read-only folder the toast said "save with ctrl+s" on the Dataset screen too (Enter there)."""
    said = []

    class Told:
        def notify(self, message, **kwargs) -> None:
            said.append(message)

    keeper = DraftKeeper(Told())
    keeper.register("caption", path=lambda: tmp_path / "gone" / "d.json", snapshot=lambda: "x",
                    safe="Enter writes it to the caption")
    source = keeper.sources["caption"]
    keeper._landed(source, OSError(30, "Read-only file system"))
    keeper._landed(source, OSError(30, "Read-only file system"))  # said once, not every 2 s
    assert len(said) == 1
    assert "what you typed is lost" in said[0] and said[0].endswith("Enter writes it to the caption")
    assert "ctrl+s" not in said[0]
