"""Hunt s14 (keyboard caption cleaning): dedupe merges every spelling the caption check calls a repeat
(the "repeats tags" hint names D), and add does not add a tag a caption has under another spelling
(as the inline editor refuses it); the CLI's `tags dedupe` and `tags add` do the same."""

from __future__ import annotations

import json

from fixtures.cli_run import run_main
from fixtures.tui_dataset import make_dataset

from loratui.core.captions import AddTags, Dedupe, TagVocab, load_captions, plan_edits
from loratui.core.dataset import tag_variant_key

ESCAPED = "hatsune miku \\(cosplay\\)"
PLAIN = "hatsune miku (cosplay)"


def test_dedupe_folds_the_variants_the_check_reports_and_keeps_the_first_spelling():
    tags = ["mikuchan", PLAIN, "long_hair", ESCAPED, "Long Hair", "long hair", "^_^", "^ ^", "solo"]
    assert Dedupe().run(tags) == ["mikuchan", PLAIN, "long_hair", "^_^", "^ ^", "solo"]
    # the escaped spelling first: it is the one kept
    assert Dedupe().run([ESCAPED, "x", PLAIN]) == [ESCAPED, "x"]
    # exact repeats only, as asked
    assert Dedupe(ignore_case=False).run(["long_hair", "long hair", "long_hair"]) == ["long_hair", "long hair"]
    # what dedupe merges is exactly what the check groups (one key)
    assert tag_variant_key(PLAIN) == tag_variant_key(ESCAPED) and tag_variant_key("^_^") != tag_variant_key("^ ^")


def test_add_skips_a_tag_held_under_another_spelling_and_says_how_many(tmp_path):
    root = make_dataset(tmp_path / "p", {
        "1_a/i1.png": f"mikuchan, long_hair, {PLAIN}",
        "1_a/i2.png": "mikuchan, Long Hair",
        "1_a/i3.png": "mikuchan, solo",
    }) / "img"
    plan = plan_edits(load_captions(root), [AddTags(["long hair", ESCAPED])])
    changed = {edit.path.name: edit.new for edit in plan.edits}
    assert changed == {"i2.txt": ["mikuchan", "Long Hair", ESCAPED],
                       "i3.txt": ["mikuchan", "solo", "long hair", ESCAPED]}
    assert plan.notes == [
        "'long hair': not added to 2 caption(s) that have it already as 'long_hair' or 'Long Hair' (the same tag)",
        f"'{ESCAPED}': not added to 1 caption(s) that have it already as '{PLAIN}' (the same tag)",  # as typed (s18)
    ]
    assert plan.summary()["notes"] == plan.notes
    # moving an existing tag to the front keeps the caption's spelling, in any of them
    assert AddTags(["long hair"], 0, True).run(["a", "long_hair"]) == ["long_hair", "a"]
    # the inline editor's key is the same one
    assert TagVocab.key(ESCAPED) == TagVocab.key(PLAIN) and TagVocab.key(" Long_Hair ") == "long hair"


def test_cli_dedupe_and_add_merge_and_skip_variants(tmp_path, capsys):
    root = make_dataset(tmp_path / "p", {"1_a/i1.png": f"mikuchan, {PLAIN}, long_hair, {ESCAPED}, long hair"})
    code, out, err = run_main(["tags", "add", root, "long hair", ESCAPED, "--dry-run", "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["changed"] == 0
    code, out, err = run_main(["tags", "dedupe", root, "--yes"], capsys)
    assert code == 0, err
    caption = (root / "img" / "1_a" / "i1.txt").read_text(encoding="utf-8").strip()
    assert caption == f"mikuchan, {PLAIN}, long_hair"
