"""Identical texts in one call are embedded once and fanned back out in input order."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import numpy
import pytest
from grpclib.const import Status

import textservice
from textservice import Client, ResourceExhausted
from textservice._engine.dedupe import Window, distinct
from textservice.testing import FakeServer, expected_embedding

MODEL = "models/embedding-gecko-001"
DIM = 8


def expected(texts: list[str]) -> list[list[float]]:
    return [expected_embedding(MODEL, t, DIM) for t in texts]


def sent_texts(fake: FakeServer) -> list[str]:
    """Every text the fake received in a successful embedding call, in arrival order."""
    out: list[str] = []
    for call in fake.calls:
        if call.status is Status.OK:
            request = call.request
            out += list(request.texts) if call.method == "BatchEmbedText" else [request.text]
    return out


@pytest.fixture
def fake() -> FakeServer:
    return FakeServer(embedding_dimension=DIM)


def with_repeats(distinct_count: int, total: int, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    pool = [f"text {i}" for i in range(distinct_count)]
    texts = pool + [rng.choice(pool) for _ in range(total - distinct_count)]
    rng.shuffle(texts)
    return texts


def test_distinct() -> None:
    assert distinct(["a", "b", "c"]) == (["a", "b", "c"], None)
    assert distinct(["b", "a", "b", "b", "c", "a"]) == (["b", "a", "c"], [0, 1, 0, 0, 2, 1])
    assert distinct([]) == ([], None)


def test_a_list_sends_each_distinct_text_once(fake: FakeServer) -> None:
    texts = with_repeats(250, 1_000)
    with Client("k", channel_factory=fake.channel) as client:
        result = textservice.generate_embeddings(MODEL, texts, client=client)
        arrays = textservice.generate_embeddings(MODEL, texts, client=client, output="numpy")
    assert result["embedding"] == expected(texts)
    numpy.testing.assert_array_equal(arrays["embedding"], numpy.asarray(expected(texts), "f4"))
    sent = sent_texts(fake)
    assert Counter(sent) == Counter(set(texts)) + Counter(set(texts))  # once per call
    assert fake.count("BatchEmbedText") == 2 * 3  # 250 distinct texts: 3 full batches a call


def test_fanned_out_vectors_are_each_their_own(fake: FakeServer) -> None:
    with Client("k", channel_factory=fake.channel) as client:
        vectors = textservice.generate_embeddings(MODEL, ["a", "b", "a"], client=client)[
            "embedding"
        ]
        batches = list(textservice.iter_embeddings(MODEL, ["a", "a", "b"], client=client))
    assert vectors[0] == vectors[2] and vectors[0] is not vectors[2]
    vectors[0][0] = 123.0
    assert vectors[2][0] != 123.0
    (batch,) = batches
    assert batch[0] == batch[1] and batch[0] is not batch[1]


def test_a_failed_list_keeps_every_place_of_a_text_that_was_embedded() -> None:
    # 150 distinct texts, each twice: two batches; a per-day quota of one call fails the second
    fake = FakeServer(embedding_dimension=DIM, quotas={"requests_per_day": 1})
    pool = [f"t{i}" for i in range(150)]
    texts = pool + pool[::-1]
    with (
        Client("k", channel_factory=fake.channel, max_concurrency=1) as client,
        pytest.raises(ResourceExhausted) as info,
    ):
        textservice.generate_embeddings(MODEL, texts, client=client)
    partial = info.value.partial
    assert partial is not None and partial.total == 300
    done = {i for i, t in enumerate(texts) if t in pool[:100]}  # the first batch's texts
    assert len(done) == 200
    assert set(partial.embeddings) == done
    assert all(partial.embeddings[i] == expected([texts[i]])[0] for i in done)
    assert partial.failed_indices == sorted(set(range(300)) - done)


@pytest.mark.parametrize("output", ["list", "numpy"])
def test_an_iterator_sends_a_text_once_while_it_is_in_the_window(
    fake: FakeServer, output: str
) -> None:
    texts = with_repeats(40, 300)  # all within the window: 2 x 8 chunks of 10 texts
    with Client("k", channel_factory=fake.channel) as client:
        batches = list(
            textservice.iter_embeddings(
                MODEL,
                texts,
                client=client,
                batch_size=10,
                output=output,  # type: ignore[call-overload]
            )
        )
    assert [len(b) for b in batches] == [10] * 30
    got = numpy.asarray([list(v) for b in batches for v in b], numpy.float32)
    numpy.testing.assert_array_equal(got, numpy.asarray(expected(texts), numpy.float32))
    sent = sent_texts(fake)
    # each distinct text sent once while its chunk is in the window; at most once more
    # per window after that (the window moves on)
    assert set(sent) == set(texts)
    assert len(sent) < len(texts) // 2


def test_an_iterator_forgets_texts_that_left_the_window(fake: FakeServer) -> None:
    # "x" comes back only after far more chunks than the window holds: sent again
    texts = ["x"] + [f"u{i}" for i in range(100)] + ["x"]
    with Client("k", channel_factory=fake.channel, max_concurrency=1) as client:
        batches = list(textservice.iter_embeddings(MODEL, texts, client=client, batch_size=5))
    assert [v for b in batches for v in b] == expected(texts)
    assert Counter(sent_texts(fake))["x"] == 2


def test_the_window_plans_chunks_and_forgets_them() -> None:
    async def scenario() -> None:
        window: Window[list[str]] = Window()
        plans = list(window.plan([(0, ["a", "b", "a"]), (3, ["b", "c"])]))
        first, second = plans
        assert (first.send, first.picks, first.plain) == (
            ["a", "b"],
            [(0, 0), (0, 1), (0, 0)],
            False,
        )
        assert (second.send, second.picks) == (["c"], [(0, 1), (1, 0)])
        assert set(second.sources) == {0}
        assert window.size == 3
        window.forget(0)
        assert window.size == 1  # "c", still in chunk 1
        (third,) = window.plan([(5, ["a"])])
        assert third.send == ["a"]  # chunk 0 left the window: sent again
        for plan in plans:
            assert plan.rows is not None
            plan.rows.cancel()
        assert third.rows is not None
        third.rows.cancel()

    asyncio.run(scenario())
