"""``tally``: counts per key, read back with parts of the key left open."""

from __future__ import annotations

from collections import Counter

from textservice.testing.tally import tally


def test_none_leaves_a_part_of_the_key_open() -> None:
    counts = Counter({("v1", "EmbedContent"): 2, ("v1beta", "EmbedContent"): 3, ("v1", "Get"): 1})
    assert tally(counts, None, None) == 6
    assert tally(counts, "v1", None) == 3
    assert tally(counts, None, "EmbedContent") == 5
    assert tally(counts, "v1beta", "Get") == 0
