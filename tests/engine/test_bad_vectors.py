"""Vectors no embedding can be, from a broken server: NaN, +Inf or -Inf is an ``Internal``
error naming the text's index, never a result (lists, numpy arrays, unit-length vectors, the
iterators; today's model through GenerativeService, ``embed_content``, and the legacy
TextService, ``generate_embeddings``, a version without BatchEmbedText too); and numpy
batches of one call changing length is ``Internal`` for the iterators as for lists. The
fake's ``faults.bad_values`` and ``embedding_dimension`` play the broken server, over each
transport (over REST the fake writes them as proto3 JSON does: ``"NaN"``, ``"Infinity"``,
``"-Infinity"``); REST replies that spell them otherwise (bare ``NaN``, numbers past float32
or a double) are refused the same way."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from support.transports import via

import textservice
import textservice.v1beta2
from textservice import Client, Internal
from textservice._engine.embed import _first_not_finite, length_change
from textservice.testing import FakeServer, expected_content_embedding, expected_embedding

GEMINI = "models/gemini-embedding-001"
GECKO = "models/embedding-gecko-001"
TEXTS = [f"text {i}" for i in range(250)]
FLOAT32_MAX = 3.4028234663852886e38
NON_FINITE = [math.nan, math.inf, -math.inf]


@pytest.fixture
def fake() -> FakeServer:
    return FakeServer(embedding_dimension=16)


@pytest.fixture
def client(fake: FakeServer, transport: str) -> Iterator[Client]:
    with Client(**via(fake, transport), max_concurrency=4) as client:
        yield client


def _iterate(
    call: Callable[..., Any], model: str, texts: list[str], **kw: Any
) -> Callable[..., Any]:
    return lambda c: [batch for batch in call(model, texts, client=c, **kw)]


CASES: list[tuple[str, str, Callable[[Client], Any], str]] = [
    # (what, the text the server breaks, the call, what the error names)
    (
        "embed_content, one text",
        "text 3",
        lambda c: textservice.embed_content(GEMINI, "text 3", client=c),
        "for the text (EmbedContent",
    ),
    (
        "embed_content, one text, numpy",
        "text 3",
        lambda c: textservice.embed_content(GEMINI, "text 3", client=c, output="numpy"),
        "for the text (EmbedContent",
    ),
    (
        "embed_content, a list",
        "text 137",
        lambda c: textservice.embed_content(GEMINI, TEXTS, client=c),
        "for the text at index 137 (BatchEmbedContents",
    ),
    (
        "embed_content, a list, numpy",
        "text 137",
        lambda c: textservice.embed_content(GEMINI, TEXTS, client=c, output="numpy"),
        "for the text at index 137 (BatchEmbedContents",
    ),
    (
        "embed_content, a list, unit length",
        "text 137",
        lambda c: textservice.embed_content(GEMINI, TEXTS, client=c, normalize=True),
        "for the text at index 137 (BatchEmbedContents",
    ),
    (
        "embed_content, a list, numpy, unit length",
        "text 137",
        lambda c: textservice.embed_content(
            GEMINI, TEXTS, client=c, output="numpy", normalize=True
        ),
        "for the text at index 137 (BatchEmbedContents",
    ),
    (
        "iter_embed_content",
        "text 210",
        _iterate(textservice.iter_embed_content, GEMINI, TEXTS),
        "for the text at index 210 (BatchEmbedContents",
    ),
    (
        "iter_embed_content, numpy",
        "text 210",
        _iterate(textservice.iter_embed_content, GEMINI, TEXTS, output="numpy"),
        "for the text at index 210 (BatchEmbedContents",
    ),
    (
        "generate_embeddings, one text",
        "text 3",
        lambda c: textservice.generate_embeddings(GECKO, "text 3", client=c),
        "for the text (EmbedText",
    ),
    (
        "generate_embeddings, a list",
        "text 137",
        lambda c: textservice.generate_embeddings(GECKO, TEXTS, client=c),
        "for the text at index 137 (BatchEmbedText",
    ),
    (
        "generate_embeddings, a list, numpy",
        "text 137",
        lambda c: textservice.generate_embeddings(GECKO, TEXTS, client=c, output="numpy"),
        "for the text at index 137 (BatchEmbedText",
    ),
    (
        "iter_embeddings",
        "text 210",
        _iterate(textservice.iter_embeddings, GECKO, TEXTS),
        "for the text at index 210 (BatchEmbedText",
    ),
    (
        "iter_embeddings, numpy",
        "text 210",
        _iterate(textservice.iter_embeddings, GECKO, TEXTS, output="numpy"),
        "for the text at index 210 (BatchEmbedText",
    ),
    (
        "v1beta2 list (EmbedText per text)",
        "text 1",
        lambda c: textservice.v1beta2.generate_embeddings(GECKO, TEXTS[:3], client=c),
        "for the text at index 1 (EmbedText",
    ),
    (
        "v1beta2 iter_embeddings, numpy",
        "text 2",
        _iterate(textservice.v1beta2.iter_embeddings, GECKO, TEXTS[:3], output="numpy"),
        "for the text at index 2 (EmbedText",
    ),
    (
        # the text's first place, not its place among the distinct texts sent
        "a list with repeated texts",
        "text 7",
        lambda c: textservice.embed_content(GEMINI, ["text 0", "text 0", *TEXTS[:10]], client=c),
        "for the text at index 9 (BatchEmbedContents",
    ),
    (
        "an iterator with repeated texts",
        "text 7",
        _iterate(textservice.iter_embed_content, GEMINI, ["text 0", "text 0", *TEXTS[:10]]),
        "for the text at index 9 (BatchEmbedContents",
    ),
]


@pytest.mark.parametrize("value", NON_FINITE, ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize(("what", "text", "call", "names"), CASES, ids=[c[0] for c in CASES])
def test_a_non_finite_value_is_internal_naming_the_index(
    fake: FakeServer,
    client: Client,
    value: float,
    what: str,
    text: str,
    call: Callable[[Client], Any],
    names: str,
) -> None:
    fake.faults.bad_values(value, text=text, at=-1)  # the last value: a sum finds it too
    with pytest.raises(Internal, match="holding NaN or an infinity") as info:
        call(client)
    assert names in str(info.value)


def test_the_batches_before_it_are_still_delivered(fake: FakeServer, client: Client) -> None:
    fake.faults.bad_values(text="text 210")
    got: list[list[float]] = []
    with pytest.raises(Internal) as info:
        for batch in textservice.iter_embed_content(GEMINI, TEXTS, client=client):
            got.extend(batch)
    assert got == [expected_content_embedding(GEMINI, t, dimension=16) for t in TEXTS[:200]]
    partial = info.value.partial
    assert partial is not None and partial.delivered == 200 and 210 in partial.failed_indices
    assert all(math.isfinite(v) for vector in partial.embeddings.values() for v in vector)


@pytest.mark.parametrize("output", ["list", "numpy"])
def test_huge_finite_values_pass(fake: FakeServer, client: Client, output: Any) -> None:
    for at, value in enumerate([FLOAT32_MAX, -FLOAT32_MAX, FLOAT32_MAX, 1e-45]):
        fake.faults.bad_values(value, at=at)
    got = textservice.generate_embeddings(GECKO, TEXTS, client=client, output=output)
    rows = np.asarray(got["embedding"], dtype=np.float64)
    assert rows.shape == (250, 16)
    assert (rows[:, :3] == [FLOAT32_MAX, -FLOAT32_MAX, FLOAT32_MAX]).all()
    assert rows[0, 4:].tolist() == expected_embedding(GECKO, TEXTS[0], 16)[4:]


def test_the_row_check_finds_the_first_bad_row_in_either_form() -> None:
    big = [FLOAT32_MAX] * 3072  # 3,072 of the largest float32: the sum stays finite
    cases: list[tuple[list[list[float]], int | None]] = [
        ([big, [-x for x in big], [0.5] * 3072], None),
        ([big, [*big[:-1], math.nan]], 1),
        ([[0.0, math.inf], [math.nan, 1.0]], 0),
        ([[1.0, -math.inf]], 0),
        ([[1.0, 2.0], [math.inf, -math.inf]], 1),  # +Inf and -Inf together: NaN
        ([[FLOAT32_MAX, -FLOAT32_MAX, math.nan]], 0),
        ([[5e-324, -0.0]], None),
    ]
    for rows, expected in cases:
        assert _first_not_finite(rows) == expected, rows
        array = np.asarray(rows, dtype=np.float32)
        assert _first_not_finite(array) == expected, rows


@pytest.mark.parametrize(
    ("iterate", "model"),
    [(textservice.iter_embed_content, GEMINI), (textservice.iter_embeddings, GECKO)],
    ids=["iter_embed_content", "iter_embeddings"],
)
def test_numpy_iteration_refuses_a_length_change_across_batches(
    fake: FakeServer, iterate: Callable[..., Any], model: str, transport: str
) -> None:
    got: list[Any] = []
    with (
        Client(**via(fake, transport), max_concurrency=1) as client,
        pytest.raises(Internal, match=r"different lengths \(16, 24\)") as info,
    ):
        for batch in iterate(model, TEXTS, client=client, output="numpy", batch_size=50):
            got.append(batch)
            fake.embedding_dimension = 24  # the server changes its mind mid-call
    assert got and got[0].shape == (50, 16)
    assert all(b.shape[1] == 16 for b in got)  # nothing of another width was yielded
    assert info.value.partial is not None and info.value.partial.delivered == 50 * len(got)
    assert length_change(info.value) == (16, 24)  # for code that says it in its own words
    assert length_change(Internal("something else")) is None


@pytest.mark.parametrize("output", ["list", "numpy"])
@pytest.mark.parametrize(
    "spelling", ["NaN", "Infinity", "-Infinity", "1e39", "-1e400", '"NaN"', '"-Infinity"']
)
def test_a_rest_reply_spelling_them_otherwise_is_refused_too(spelling: str, output: Any) -> None:
    # bare words (Python's json.dumps writes them), numbers past float32 or a double, and
    # proto3 JSON's strings: the reply is read, and its vector refused by the text's index
    import httpx

    def answer(request: httpx.Request) -> httpx.Response:
        rows = ["[0.5, 0.25]", f"[0.5, {spelling}]", "[1, 2]"]
        body = '{"embeddings": [' + ", ".join('{"values": ' + r + "}" for r in rows) + "]}"
        return httpx.Response(200, content=body.encode())

    with (
        Client(transport="rest", channel_factory=lambda: httpx.MockTransport(answer)) as client,
        pytest.raises(Internal, match="holding NaN or an infinity") as info,
    ):
        textservice.embed_content(GEMINI, TEXTS[:3], client=client, output=output)
    assert "for the text at index 1 (BatchEmbedContents" in str(info.value)
