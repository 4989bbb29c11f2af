"""NFC and NFD spellings of one tag are one tag (CLIP's tokenizer NFC-normalises captions), while the
bytes of a tag no operation was asked to change stay as written (macOS copies files as NFD)."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

from click.testing import CliRunner

from loratui.cli import cli
from loratui.core.captions import (
    AddTags, Caption, Dedupe, EditContext, MoveToFront, RemoveTags, ReplaceTag, SortTags, StripUnderscores,
    TagVocab, parse_where, plan_edits, tag_frequency, tag_matcher,
)
from loratui.core.captions import nfc, tag_key
from loratui.core.captions.tagkey import non_nfc_tags

CAFE = "café"                                   # composed (NFC), as typed on Linux
CAFE_NFD = unicodedata.normalize("NFD", CAFE)   # e + U+0301, as macOS writes it
assert CAFE != CAFE_NFD


def caption(tags: list[str], name: str = "a") -> Caption:
    return Caption(path=Path(f"/d/10_x/{name}.txt"), tags=tags, raw=b"x")


def test_the_key_and_nfc():
    assert tag_key(CAFE_NFD) == tag_key(CAFE) == tag_key("CAFÉ")
    assert nfc(CAFE_NFD) == CAFE and nfc("solo") == "solo"
    assert non_nfc_tags(["solo", CAFE, CAFE_NFD, CAFE_NFD]) == [CAFE_NFD]


def test_matching_exact_glob_regex_either_way():
    for pattern in (CAFE, CAFE_NFD, "caf*", "/caf./", f"/{CAFE_NFD}/", "/caf[é]/"):
        for tag in (CAFE, CAFE_NFD):
            assert tag_matcher([pattern])(tag), (pattern, tag)
            assert tag_matcher([pattern], ignore_case=True)(tag.upper()), (pattern, tag)
    for pattern in ("cafe", "cafe*", "/cafe.*/"):  # a pattern finds both spellings or neither
        assert not any(tag_matcher([pattern])(tag) for tag in (CAFE, CAFE_NFD)), pattern


def test_where_finds_both_spellings():
    where = parse_where(f"tag:{CAFE}", image_names=lambda c: (), is_reg=lambda c: False)
    assert where(caption([CAFE_NFD])) and where(caption([CAFE]))


def test_add_sees_the_decomposed_twin_and_says_so():
    add = AddTags([CAFE])
    tags = ["1girl", CAFE_NFD]
    run = add.compile(EditContext())
    assert run(tags) is tags  # not added beside its twin: the caption's bytes stay as they are
    assert "decomposed Unicode, NFD" in run.notes()[0]


def test_dedupe_merges_twins_keeping_the_first_spelling():
    assert Dedupe().run([CAFE_NFD, "x", CAFE]) == [CAFE_NFD, "x"]
    assert Dedupe(ignore_case=False).run([CAFE, "x", CAFE_NFD, CAFE]) == [CAFE, "x"]
    assert Dedupe(ignore_case=False).run(["Solo", "solo"]) == ["Solo", "solo"]


def test_remove_replace_move_hit_both_and_leave_others_alone():
    assert RemoveTags([CAFE]).run([CAFE_NFD, "x"]) == ["x"]
    assert ReplaceTag(CAFE, "coffee").run([CAFE_NFD, "x"]) == ["coffee", "x"]
    assert ReplaceTag(CAFE, CAFE).run(["x", CAFE_NFD]) == ["x", CAFE]  # the asked-for respelling: NFC
    assert ReplaceTag(CAFE, CAFE).run([CAFE, "x", CAFE_NFD]) == [CAFE, "x"]  # merged
    assert ReplaceTag("caf(.)", r"bar \1", mode="regex").run([CAFE_NFD]) == ["bar é"]  # matched composed
    every = ReplaceTag("(.+)", r"\1", mode="regex")  # respells every decomposed tag, leaves the rest
    tags = ["solo", "(a, b:1.2)"]
    assert every.run([CAFE_NFD, "solo"]) == [CAFE, "solo"] and every.compile(EditContext())(tags) is tags
    assert MoveToFront([CAFE]).run(["x", CAFE_NFD]) == [CAFE_NFD, "x"]
    assert StripUnderscores(keep_tags=["é_x_y"]).run([unicodedata.normalize("NFD", "é_x_y")]) == [
        unicodedata.normalize("NFD", "é_x_y")]


def test_frequency_is_one_row_and_sorts_and_categories_follow():
    captions = [caption(["1girl", CAFE_NFD], "a"), caption([CAFE, "solo"], "b"), caption([CAFE, CAFE_NFD], "c")]
    counts = tag_frequency(captions)
    assert counts == {CAFE: 3, "1girl": 1, "solo": 1}
    ctx = EditContext(frequency=counts, categories={CAFE: 4})
    assert ctx.category(CAFE_NFD) == 4
    assert SortTags("frequency").run(["1girl", CAFE_NFD], ctx) == [CAFE_NFD, "1girl"]
    # as its NFC spelling sorts ("é" after "f"), not as "e" + an accent
    assert SortTags("alpha").run([CAFE_NFD, "caff"], EditContext(frequency=counts)) == ["caff", CAFE_NFD]


def test_plan_summary_counts_twins_once():
    captions = [caption(["1girl", CAFE_NFD], "a"), caption([CAFE, "solo"], "b"), caption([CAFE, CAFE_NFD], "c")]
    removed = plan_edits(captions, [RemoveTags([CAFE])]).summary()
    assert removed["changed"] == 3 and removed["tags_removed"] == {CAFE: 3}
    deduped = plan_edits(captions, [Dedupe()]).summary()  # a twin dropped is a duplicate, not a lost tag
    assert deduped["changed"] == 1 and deduped["tags_removed"] == {} and deduped["duplicates_removed"] == {CAFE: 1}
    respelled = plan_edits(captions[:1], [ReplaceTag(CAFE, CAFE)]).summary()
    assert respelled["tags_added"] == {CAFE: 1} and respelled["tags_removed"] == {CAFE: 1}


def test_vocab_is_one_entry_offered_composed():
    vocab = TagVocab(tag_frequency([caption([CAFE_NFD], "a"), caption([CAFE], "b")]))
    assert len(vocab) == 1 and CAFE_NFD in vocab and vocab.lookup(CAFE_NFD).tag == CAFE
    assert [c.tag for c in vocab.complete("caf")] == [CAFE]
    assert vocab.complete(CAFE_NFD, exclude=[CAFE]) == []
    assert TagVocab.key(CAFE_NFD) == TagVocab.key(CAFE)


# ---- end to end: the hunt's repro ---------------------------------------------------------------

def _dataset(tmp_path: Path) -> Path:
    folder = tmp_path / "img" / "10_x"
    folder.mkdir(parents=True)
    for name, line in (("a", f"1girl, {CAFE_NFD}, solo"), ("b", f"{CAFE}, solo"), ("c", "solo")):
        (folder / f"{name}.png").write_bytes(b"x")
        (folder / f"{name}.txt").write_bytes((line + "\n").encode())
    return tmp_path / "img"


def _run(*args):
    return CliRunner().invoke(cli, list(map(str, args)), catch_exceptions=False)


def _bytes(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / "10_x").glob("*.txt"))}


def test_cli_freq_add_dedupe_remove(tmp_path):
    root = _dataset(tmp_path)
    before = _bytes(root)
    data = json.loads(_run("tags", "freq", root, "--json").output)
    assert data["tags"] == {"solo": 3, CAFE: 2, "1girl": 1} and data["distinct"] == 3
    assert "2 caption(s)" in _run("tags", "freq", root, "--where", f"tag:{CAFE}").output

    out = _run("tags", "add", root, CAFE, "--yes").output
    assert "1 of 3 caption(s) change" in out
    after = _bytes(root)
    assert after["a.txt"] == before["a.txt"] and after["b.txt"] == before["b.txt"]  # untouched, byte for byte
    assert after["c.txt"] == f"solo, {CAFE}\n".encode()

    out = _run("tags", "remove", root, CAFE, "--yes").output
    assert "3 of 3 caption(s) change" in out
    assert _bytes(root) == {"a.txt": b"1girl, solo\n", "b.txt": b"solo\n", "c.txt": b"solo\n"}


def test_cli_dedupe_merges_a_caption_holding_both(tmp_path):
    root = _dataset(tmp_path)
    (root / "10_x" / "b.txt").write_bytes(f"{CAFE}, solo, {CAFE_NFD}\n".encode())
    before = _bytes(root)
    out = _run("tags", "dedupe", root, "--yes").output
    assert "1 of 3 caption(s) change" in out
    after = _bytes(root)
    assert after["b.txt"] == f"{CAFE}, solo\n".encode() and after["a.txt"] == before["a.txt"]
