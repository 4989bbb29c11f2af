"""The filter box's matching in the store: plain words search the whole caption, and a filter that
finds nothing because of an unquoted tag with spaces says how to quote it."""

from __future__ import annotations

from fixtures.tui_dataset import make_dataset

from loratui.core.dataset import locate_dataset
from loratui.tui.services.dataset_store import DatasetStore


def _store(tmp_path, captions):
    root = make_dataset(tmp_path / "proj", captions)
    store = DatasetStore(locate_dataset(root))
    store.adopt_rows(store.list_rows())
    store.adopt_captions(store.read_captions().captions)
    return store


def test_plain_words_search_the_whole_caption(tmp_path):
    long = ", ".join(f"tag{i:03d}" for i in range(60)) + ", needle"  # past the 200-character preview
    store = _store(tmp_path, {"10_a/a.png": long, "10_a/b.png": "solo"})
    assert [r.name for r in store.filter("needle").rows] == ["a.png"]


def test_an_unquoted_tag_with_spaces_gets_the_quoting_hint_when_nothing_matches(tmp_path):
    store = _store(tmp_path, {"10_a/a.png": "long hair, solo", "10_a/b.png": "solo"})
    result = store.filter("tag:long hair")
    assert result.rows == [] and 'tag:"long hair"' in (result.error or "")
    assert [r.name for r in store.filter('tag:"long hair"').rows] == ["a.png"]
