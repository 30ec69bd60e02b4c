"""An empty or missing embedding from the server is an ``Internal`` error naming the text's
index, never a result: lists, numpy arrays, the iterator, and versions without BatchEmbedText.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from support.hostile_server import serve

import textservice
import textservice.v1beta2
from textservice import Client, Internal
from textservice._proto.google.ai.generativelanguage import v1beta, v1beta2

pytestmark = pytest.mark.network

MODEL = "models/embedding-gecko-001"
HOLE = "the text the server answers with no values"
TEXTS = [f"text {i}" for i in range(250)]


def _vector(text: str) -> list[float]:
    return [float(len(text)), 0.5, -1.0]


class HoleyV1beta(v1beta.TextServiceBase):
    """Answers ``HOLE`` with an empty ``Embedding`` (in a batch) or none at all (EmbedText)."""

    async def embed_text(self, message: v1beta.EmbedTextRequest) -> v1beta.EmbedTextResponse:
        if message.text == HOLE:
            return v1beta.EmbedTextResponse()
        return v1beta.EmbedTextResponse(embedding=v1beta.Embedding(value=_vector(message.text)))

    async def batch_embed_text(
        self, message: v1beta.BatchEmbedTextRequest
    ) -> v1beta.BatchEmbedTextResponse:
        if "all empty" in message.texts:
            return v1beta.BatchEmbedTextResponse(embeddings=[v1beta.Embedding()] * 100)
        return v1beta.BatchEmbedTextResponse(
            embeddings=[
                v1beta.Embedding(value=[] if t == HOLE else _vector(t)) for t in message.texts
            ]
        )


class HoleyV1beta2(v1beta2.TextServiceBase):
    async def embed_text(self, message: v1beta2.EmbedTextRequest) -> v1beta2.EmbedTextResponse:
        if message.text == HOLE:
            return v1beta2.EmbedTextResponse()
        return v1beta2.EmbedTextResponse(embedding=v1beta2.Embedding(value=_vector(message.text)))


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with (
        serve([HoleyV1beta(), HoleyV1beta2()]) as port,
        Client("k", endpoint=f"127.0.0.1:{port}", insecure=True) as client,
    ):
        yield client


def _with_hole(at: int) -> list[str]:
    texts = list(TEXTS)
    texts[at] = HOLE
    return texts


def _iterate(texts: list[str], **kw: Any) -> Callable[[Client], Any]:
    return lambda c: [b for b in textservice.iter_embeddings(MODEL, texts, client=c, **kw)]


CASES: list[tuple[str, Callable[[Client], Any], str]] = [
    (
        "one text, EmbedText without an embedding",
        lambda c: textservice.generate_embeddings(MODEL, HOLE, client=c),
        "for the text (EmbedText",
    ),
    (
        "one text, numpy",
        lambda c: textservice.generate_embeddings(MODEL, HOLE, client=c, output="numpy"),
        "for the text (EmbedText",
    ),
    (
        "list, one empty Embedding in a batch",
        lambda c: textservice.generate_embeddings(MODEL, _with_hole(137), client=c),
        "for the text at index 137 (BatchEmbedText",
    ),
    (
        "list, numpy, one empty Embedding in a batch",
        lambda c: textservice.generate_embeddings(MODEL, _with_hole(137), client=c, output="numpy"),
        "for the text at index 137 (BatchEmbedText",
    ),
    (
        "list, numpy, a batch of empty Embeddings",
        lambda c: textservice.generate_embeddings(
            MODEL, [*TEXTS[:100], "all empty", *TEXTS[101:200]], client=c, output="numpy"
        ),
        "for the text at index 100 (BatchEmbedText",
    ),
    (
        "list, a batch of empty Embeddings",
        lambda c: textservice.generate_embeddings(
            MODEL, [*TEXTS[:100], "all empty", *TEXTS[101:200]], client=c
        ),
        "for the text at index 100 (BatchEmbedText",
    ),
    ("iter_embeddings", _iterate(_with_hole(210)), "index 210 (BatchEmbedText"),
    ("iter_embeddings, numpy", _iterate(_with_hole(210), output="numpy"), "index 210"),
    (
        "v1beta2 list (EmbedText per text)",
        lambda c: textservice.v1beta2.generate_embeddings(MODEL, ["a", HOLE, "c"], client=c),
        "for the text at index 1 (EmbedText",
    ),
    (
        "v1beta2 iter_embeddings, numpy",
        lambda c: list(
            textservice.v1beta2.iter_embeddings(
                MODEL, ["a", "b", HOLE], client=c, batch_size=3, output="numpy"
            )
        ),
        "for the text at index 2 (EmbedText",
    ),
]


@pytest.mark.parametrize(("what", "call", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_an_empty_or_missing_embedding_is_internal_naming_the_index(
    client: Client, what: str, call: Callable[[Client], Any], fragment: str
) -> None:
    with pytest.raises(Internal, match="empty or missing embedding") as info:
        call(client)
    assert fragment in str(info.value)


def test_the_batches_before_it_are_still_delivered(client: Client) -> None:
    got: list[list[float]] = []
    with pytest.raises(Internal) as info:
        for batch in textservice.iter_embeddings(MODEL, _with_hole(210), client=client):
            got.extend(batch)
    assert got == [_vector(t) for t in TEXTS[:200]]
    assert info.value.partial is not None and info.value.partial.delivered == 200
    assert 210 in info.value.partial.failed_indices
