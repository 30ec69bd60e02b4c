"""The fake holds embedding inputs to their model's token limit, as the API does.

The Gemini API takes no option for it (google-genai refuses ``auto_truncate`` outside Vertex
AI), and Vertex AI's ``autoTruncate`` defaults to cutting silently: the fake cuts an input
over the limit to its first tokens by default, and answers INVALID_ARGUMENT with
``long_inputs="reject"`` (Vertex AI's ``autoTruncate=false``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from textservice import v1beta
from textservice._profiles import profile_for
from textservice.client import Client
from textservice.errors import InvalidArgument
from textservice.testing import FakeServer
from textservice.testing.generation import expected_token_count, first_tokens, within_limit
from textservice.testing.vectors import expected_content_embedding, expected_parts_embedding

ONE = "models/gemini-embedding-001"
TWO = "models/gemini-embedding-2"


def words(count: int) -> str:
    return " ".join(f"w{i}" for i in range(count))


@pytest.fixture
def client() -> Iterator[Client]:
    fake = FakeServer()
    with Client(channel_factory=fake.channel) as made:
        yield made


def test_the_limits_are_the_profiles() -> None:
    assert profile_for(ONE).input_tokens == 2048 and profile_for(TWO).input_tokens == 8192


def test_an_input_over_the_limit_is_cut_to_its_first_tokens_silently(
    client: Client,
) -> None:
    text = words(3000)
    got = v1beta.embed_content(ONE, text, client=client)["embedding"]
    assert got == expected_content_embedding(ONE, first_tokens(text, 2048))
    assert got != expected_content_embedding(ONE, text)
    at_limit = words(2048)  # exactly the limit: as it is
    assert v1beta.embed_content(ONE, at_limit, client=client)["embedding"] == (
        expected_content_embedding(ONE, at_limit)
    )
    # gemini-embedding-2 at 8,192, in a batch
    long, short = words(9000), "short"
    rows = v1beta.embed_content(TWO, [long, short], client=client)["embedding"]
    assert rows == [
        expected_parts_embedding(TWO, [first_tokens(long, 8192)]),
        expected_parts_embedding(TWO, [short]),
    ]


def test_reject_answers_invalid_argument_naming_both_counts() -> None:
    fake = FakeServer(long_inputs="reject")
    with Client(channel_factory=fake.channel) as client:
        with pytest.raises(InvalidArgument, match=r"count \(2049\) exceeds .* \(2048\)"):
            v1beta.embed_content(ONE, words(2049), client=client)
        assert v1beta.embed_content(ONE, words(2048), client=client)["embedding"]
    with pytest.raises(ValueError, match="long_inputs"):
        FakeServer(long_inputs="error")  # type: ignore[arg-type]


def test_within_limit_cuts_text_parts_in_order_and_keeps_media() -> None:
    blob = ("image/png", b"\x89PNG")
    parts, held = within_limit([words(5), blob, words(5)], 7)
    assert held == 10
    assert parts == [words(5), blob, words(2)]
    assert sum(expected_token_count(p) for p in parts if isinstance(p, str)) == 7
    assert within_limit(["a b"], None) == (["a b"], 2)
