"""Streaming embeddings (`iter_embeddings`, the engine's iteration) and list embeddings on the same
engine; the ordered map under them is tested in test_ordered.py."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import random
import socket
import weakref
from collections.abc import AsyncIterator, Generator, Iterator
from contextlib import asynccontextmanager
from typing import Any, cast

import grpclib.const
import grpclib.server
import numpy as np
import pytest

import textservice
from textservice import Client, errors
from textservice._engine import embed as engine
from textservice._engine.output_formats import Output, strategy
from textservice._engine.recipes import EmbedRecipe, ManyTexts, OneText
from textservice._engine.spec import EmbedSpec
from textservice._proto.google.ai.generativelanguage import v1beta as pb
from textservice._transport.methods import MethodSpec
from textservice._transport.options import RequestOptions
from textservice._transport.status import StatusDetailsCodec
from textservice.client import call_path
from textservice.testing import expected_content_embedding, expected_embedding

# -- iter_embed_texts against a loopback server with random latency ------------------------

MODEL = "models/embedding-test"


def vector_of(text: str) -> list[float]:
    """The servicer's deterministic embedding (exact float32 values)."""
    return [float(len(text)), float(sum(map(ord, text)) % 1000), 0.5]


class SlowService(pb.TextServiceBase):
    """BatchEmbedText/EmbedText with random latency; counts concurrent calls."""

    def __init__(self, seed: int, *, fail_text: str | None = None) -> None:
        self.rng = random.Random(seed)
        self.running = 0
        self.max_running = 0
        self.batch_sizes: list[int] = []
        self.fail_text = fail_text

    async def _slow(self) -> None:
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        try:
            await asyncio.sleep(self.rng.uniform(0, 0.01))
        finally:
            self.running -= 1

    async def batch_embed_text(
        self, message: pb.BatchEmbedTextRequest
    ) -> pb.BatchEmbedTextResponse:
        self.batch_sizes.append(len(message.texts))
        await self._slow()
        if self.fail_text in message.texts:
            raise grpclib.GRPCError(grpclib.const.Status.INVALID_ARGUMENT, "bad text")
        return pb.BatchEmbedTextResponse(
            embeddings=[pb.Embedding(value=vector_of(t)) for t in message.texts]
        )

    async def embed_text(self, message: pb.EmbedTextRequest) -> pb.EmbedTextResponse:
        await self._slow()
        return pb.EmbedTextResponse(embedding=pb.Embedding(value=vector_of(message.text)))


EMBED = MethodSpec(
    "google.ai.generativelanguage.v1beta.TextService",
    "EmbedText",
    pb.EmbedTextRequest,
    pb.EmbedTextResponse,
    default_timeout=10.0,
    default_retry=None,
)
BATCH = MethodSpec(
    "google.ai.generativelanguage.v1beta.TextService",
    "BatchEmbedText",
    pb.BatchEmbedTextRequest,
    pb.BatchEmbedTextResponse,
    default_timeout=10.0,
    default_retry=None,
)
SINGLE_SPEC: OneText[str, str, Any, Any] = OneText(
    method=EMBED,
    request=lambda model, text: pb.EmbedTextRequest(model=model, text=text),
    vector=lambda r: r.embedding.value if r.embedding else [],
)
BATCH_SPEC: ManyTexts[str, str, Any, Any] = ManyTexts(
    method=BATCH,
    request=lambda model, texts: pb.BatchEmbedTextRequest(model=model, texts=texts),
    vectors=lambda r: [e.value for e in r.embeddings],
)

# The engine called as a generated facade calls it (through ``textservice._facade``), with
# the recipe, the model and the output strategy of one call.


async def embed_text(
    client: Client,
    text: str,
    options: RequestOptions,
    *,
    single: OneText[str, str, Any, Any],
    output: Output = "list",
    model: str = MODEL,
) -> Any:
    spec = EmbedSpec(call_path(client), EmbedRecipe(single), model, options, strategy(output))
    return await engine.embed_one(spec, text)


async def embed_texts(
    client: Client,
    texts: list[str],
    options: RequestOptions,
    *,
    single: OneText[str, str, Any, Any],
    batch: ManyTexts[str, str, Any, Any] | None,
    output: Output = "list",
    model: str = MODEL,
) -> Any:
    recipe = EmbedRecipe(single, batch)
    spec = EmbedSpec(call_path(client), recipe, model, options, strategy(output))
    return await engine.embed_many(spec, texts)


def iter_embed_texts(
    client: Client,
    texts: list[str],
    options: RequestOptions,
    *,
    single: OneText[str, str, Any, Any],
    batch: ManyTexts[str, str, Any, Any] | None,
    batch_size: int | None = None,
    progress: Any = None,
    output: Output = "list",
    model: str = MODEL,
) -> Any:
    recipe = EmbedRecipe(single, batch)
    spec = EmbedSpec(call_path(client), recipe, model, options, strategy(output))
    return engine.iter_embed(spec, texts, batch_size=batch_size, progress=progress)


def iter_embed_texts_sync(
    client: Client,
    texts: list[str],
    options: RequestOptions,
    *,
    single: OneText[str, str, Any, Any],
    batch: ManyTexts[str, str, Any, Any] | None,
    batch_size: int | None = None,
    output: Output = "list",
    model: str = MODEL,
) -> Any:
    batches = iter_embed_texts(
        client,
        texts,
        options,
        single=single,
        batch=batch,
        batch_size=batch_size,
        output=output,
        model=model,
    )
    return engine.iter_embed_sync(call_path(client), batches, total=len(texts))


@asynccontextmanager
async def serving(service: SlowService, concurrency: int) -> AsyncIterator[Client]:
    server = grpclib.server.Server([service], status_details_codec=StatusDetailsCodec())
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    await server.start(sock=sock)
    client = Client(
        "test-key", endpoint=f"127.0.0.1:{port}", insecure=True, max_concurrency=concurrency
    )
    try:
        yield client
    finally:
        await client.aclose()
        server.close()
        await server.wait_closed()


TEXTS = [f"text number {i} " + "x" * (i % 7) for i in range(1037)]


@pytest.mark.network
@pytest.mark.parametrize(
    ("seed", "count", "batch_size", "concurrency"),
    [(0, 1037, 100, 8), (1, 300, 7, 3), (2, 150, 1, 16)],
)
def test_iter_embed_texts_in_order_and_complete_under_random_latency(
    seed: int, count: int, batch_size: int, concurrency: int
) -> None:
    service = SlowService(seed)
    texts = TEXTS[:count]
    progress: list[tuple[int, int]] = []

    async def main() -> list[list[list[float]]]:
        async with serving(service, concurrency) as client:
            return [
                batch
                async for batch in iter_embed_texts(
                    client,
                    texts,
                    RequestOptions(),
                    single=SINGLE_SPEC,
                    batch=BATCH_SPEC,
                    batch_size=batch_size,
                    progress=lambda done, total: progress.append((done, total)),
                )
            ]

    batches = asyncio.run(main())
    assert [len(b) for b in batches] == [
        min(batch_size, len(texts) - i) for i in range(0, len(texts), batch_size)
    ]
    assert [v for b in batches for v in b] == [vector_of(t) for t in texts]
    assert progress == [
        (min(i + batch_size, len(texts)), len(texts)) for i in range(0, len(texts), batch_size)
    ]
    assert sorted(service.batch_sizes) == sorted(len(b) for b in batches)
    assert 1 < service.max_running <= concurrency


@pytest.mark.network
def test_list_embedding_uses_the_same_engine_and_matches() -> None:
    service = SlowService(3)

    async def main() -> list[list[float]]:
        async with serving(service, 4) as client:
            vectors: list[list[float]] = await embed_texts(
                client, TEXTS, RequestOptions(), single=SINGLE_SPEC, batch=BATCH_SPEC
            )
            return vectors

    assert asyncio.run(main()) == [vector_of(t) for t in TEXTS]
    assert service.batch_sizes.count(100) == 10 and 37 in service.batch_sizes
    assert service.max_running <= 4


@pytest.mark.network
def test_iter_without_batch_rpc_yields_one_text_per_batch() -> None:
    service = SlowService(4)

    async def main() -> list[list[list[float]]]:
        async with serving(service, 4) as client:
            return [
                b
                async for b in iter_embed_texts(
                    client, TEXTS[:40], RequestOptions(), single=SINGLE_SPEC, batch=None
                )
            ]

    batches = asyncio.run(main())
    assert batches == [[vector_of(t)] for t in TEXTS[:40]]
    assert service.batch_sizes == []


@pytest.mark.network
def test_iter_failure_keeps_the_yielded_prefix_and_reports_partial() -> None:
    service = SlowService(5, fail_text=TEXTS[530])
    got: list[list[float]] = []

    async def main() -> None:
        async with serving(service, 4) as client:
            async for batch in iter_embed_texts(
                client, TEXTS, RequestOptions(), single=SINGLE_SPEC, batch=BATCH_SPEC
            ):
                got.extend(batch)

    with pytest.raises(errors.InvalidArgument) as info:
        asyncio.run(main())
    assert got == [vector_of(t) for t in TEXTS[:500]]
    partial = info.value.partial
    assert partial is not None and partial.total == len(TEXTS)
    # The yielded texts are counted, not kept: the consumer has their vectors already.
    assert partial.delivered == 500
    assert all(index >= 600 for index in partial.embeddings)
    assert partial.succeeded_indices[:500] == list(range(500))
    assert set(range(500, 600)) <= set(partial.failed_indices)
    assert "500 yielded (indices 0-499)" in str(info.value)


class SlowFailService(SlowService):
    """The batch holding ``TEXTS[100]`` fails once ``others`` other batches were answered
    (then 0.1 s later, for the client, on the same loop, to take in the answers already
    sent); every other batch answers at once.

    Not after a fixed time: on a loaded machine 0.3 s did not always see batches 2-8 answered.
    If the engine never lets ``others`` batches start, it fails after ``patience`` seconds.
    """

    def __init__(self, others: int = 8, patience: float = 20.0) -> None:
        super().__init__(0)
        self.others = others
        self.patience = patience
        self.answered = 0
        self.enough = asyncio.Event()

    async def batch_embed_text(
        self, message: pb.BatchEmbedTextRequest
    ) -> pb.BatchEmbedTextResponse:
        if TEXTS[100] in message.texts:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.enough.wait(), self.patience)
            await asyncio.sleep(0.1)
            raise grpclib.GRPCError(grpclib.const.Status.INVALID_ARGUMENT, "bad text")
        self.answered += 1
        if self.answered >= self.others:
            self.enough.set()
        return pb.BatchEmbedTextResponse(
            embeddings=[pb.Embedding(value=vector_of(t)) for t in message.texts]
        )


@pytest.mark.network
@pytest.mark.parametrize("output", ["list", "numpy"])
def test_iter_failure_hands_over_the_batches_held_back_for_order(output: Any) -> None:
    got: list[Any] = []

    async def main() -> None:
        async with serving(SlowFailService(), 4) as client:
            async for batch in iter_embed_texts(
                client, TEXTS, RequestOptions(), single=SINGLE_SPEC, batch=BATCH_SPEC, output=output
            ):
                got.append(batch)

    with pytest.raises(errors.InvalidArgument) as info:
        asyncio.run(main())
    assert [len(b) for b in got] == [100]
    partial = info.value.partial
    assert partial is not None and partial.delivered == 100
    # While batch 1 was slow, batches 2-8 finished and were held back for order (the engine
    # keeps at most 8 batches started and not yet yielded: 4 in flight + 4 waiting; batch 1
    # fails once batches 0 and 2-8 were answered).
    assert sorted(partial.embeddings) == list(range(200, 900))
    assert all(list(partial.embeddings[i]) == vector_of(TEXTS[i]) for i in range(200, 900))
    assert partial.failed_indices == [*range(100, 200), *range(900, len(TEXTS))]
    assert partial.succeeded_indices == [*range(100), *range(200, 900)]
    message = "800 of 1037 texts embedded: 100 yielded (indices 0-99), 700 held back"
    assert message in str(info.value)


@pytest.mark.network
def test_iter_keeps_no_reference_to_yielded_batches() -> None:
    # Bounded memory: once a batch is yielded and the consumer drops it, nothing in the
    # engine (a partial result "just in case") keeps it alive.
    service = SlowService(11)
    refs: list[weakref.ref[Any]] = []
    # gc.collect() after each batch finds a batch kept alive only by a reference cycle too.
    # The worker's objects from before the test are frozen out of it: a full collection over
    # a test process's whole heap took 0.2-1 s (11 of them, on the loop the calls share).
    gc.collect()
    gc.freeze()

    async def main() -> None:
        async with serving(service, 4) as client:
            async for batch in iter_embed_texts(
                client,
                TEXTS,
                RequestOptions(),
                single=SINGLE_SPEC,
                batch=BATCH_SPEC,
                output="numpy",
            ):
                refs.append(weakref.ref(batch))
                del batch
                gc.collect()
                alive = [i for i, ref in enumerate(refs[:-1]) if ref() is not None]
                assert alive == [], f"yielded batches {alive} are still referenced"

    try:
        asyncio.run(main())
    finally:
        gc.unfreeze()
    assert len(refs) == 11


@pytest.mark.parametrize(("value", "error"), [(0, ValueError), (101, ValueError), ("5", TypeError)])
def test_iter_rejects_bad_batch_size(value: Any, error: type[Exception]) -> None:
    async def main() -> None:
        client = Client("k", endpoint="127.0.0.1:1", insecure=True)
        try:
            async for _ in iter_embed_texts(
                client,
                ["a"],
                RequestOptions(),
                single=SINGLE_SPEC,
                batch=BATCH_SPEC,
                batch_size=value,
            ):
                pass
        finally:
            await client.aclose()

    with pytest.raises(error, match="batch_size"):
        asyncio.run(main())


# -- the public iter_embeddings / iter_embeddings_async (v1beta, against the fake) ---------

FAKE_MODEL = "models/embedding-gecko-001"


def test_iter_embeddings_sync_matches_list_embedding_and_reports_progress() -> None:
    import threading

    from textservice import iter_embeddings, v1beta
    from textservice.testing import FakeServer, expected_embedding

    fake = FakeServer(embedding_dimension=16)
    texts = TEXTS[:250]
    seen: list[tuple[int, int, str]] = []
    with Client(channel_factory=fake.channel, max_concurrency=3) as client:
        batches = list(
            iter_embeddings(
                FAKE_MODEL,
                texts,
                client=client,
                batch_size=40,
                progress=lambda d, t: seen.append((d, t, threading.current_thread().name)),
            )
        )
        whole = v1beta.generate_embeddings(FAKE_MODEL, texts, client=client)["embedding"]
    assert [len(b) for b in batches] == [40] * 6 + [10]
    flat = [v for b in batches for v in b]
    assert flat == whole == [expected_embedding(FAKE_MODEL, t, 16) for t in texts]
    assert [(d, t) for d, t, _ in seen] == [(min(40 * k, 250), 250) for k in range(1, 8)]
    assert {name for _, _, name in seen} == {threading.current_thread().name}


def test_iter_embeddings_async_yields_in_order() -> None:
    from textservice import iter_embeddings_async
    from textservice.testing import FakeServer, expected_embedding

    fake = FakeServer(embedding_dimension=8)

    async def main() -> list[list[list[float]]]:
        client = Client(channel_factory=fake.channel, max_concurrency=4)
        try:
            return [b async for b in iter_embeddings_async(FAKE_MODEL, TEXTS, client=client)]
        finally:
            await client.aclose()

    batches = asyncio.run(main())
    assert [len(b) for b in batches] == [100] * 10 + [37]
    assert [v for b in batches for v in b] == [expected_embedding(FAKE_MODEL, t, 8) for t in TEXTS]


def test_stopping_a_sync_iteration_early_leaves_the_client_usable() -> None:
    from textservice import iter_embeddings
    from textservice.testing import FakeServer

    fake = FakeServer(embedding_dimension=4)
    fake.faults.delay(0.02, method="BatchEmbedText")
    with Client(channel_factory=fake.channel, max_concurrency=2) as client:
        # typed as an Iterator; it is a generator, whose close() is what `break` does
        iterator = cast(
            "Generator[list[list[float]]]",
            iter_embeddings(FAKE_MODEL, TEXTS, client=client, batch_size=10),
        )
        first = next(iterator)
        iterator.close()  # cancels the calls in flight
        calls_at_close = fake.count("BatchEmbedText")
        again = list(iter_embeddings(FAKE_MODEL, TEXTS[:5], client=client))
    assert len(first) == 10
    assert calls_at_close < 104 // 10  # far from every batch was asked for
    assert len(again) == 1 and len(again[0]) == 5


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"texts": "one string"}, TypeError, "texts"),
        ({"model": "no/gecko"}, ValueError, "model"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"batch_size": 101}, ValueError, "batch_size"),
        ({"progress": 5}, TypeError, "progress"),
    ],
)
def test_arguments_are_checked_before_iterating(
    kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    from textservice import iter_embeddings, iter_embeddings_async

    args: dict[str, Any] = {"model": FAKE_MODEL, "texts": ["a"], **kwargs}
    client = Client("k", endpoint="127.0.0.1:1", insecure=True)
    try:
        for function in (iter_embeddings, iter_embeddings_async):
            with pytest.raises(error, match=match):
                function(args.pop("model"), args.pop("texts"), client=client, **args)
            args = {"model": FAKE_MODEL, "texts": ["a"], **kwargs}
    finally:
        client.close()


# -- output="numpy" on the same engine ------------------------------------------------------


@pytest.mark.network
def test_numpy_list_embedding_writes_every_batch_at_its_rows_under_random_latency() -> None:
    service = SlowService(6)

    async def main() -> Any:
        async with serving(service, 6) as client:
            return await embed_texts(
                client,
                TEXTS,
                RequestOptions(),
                single=SINGLE_SPEC,
                batch=BATCH_SPEC,
                output="numpy",
            )

    array = asyncio.run(main())
    assert isinstance(array, np.ndarray) and array.dtype == np.float32
    assert array.shape == (len(TEXTS), 3)
    assert array.tolist() == [vector_of(t) for t in TEXTS]
    assert service.max_running > 1  # batches finished out of order, rows still in order


@pytest.mark.network
def test_numpy_failure_keeps_the_rows_received_as_arrays() -> None:
    service = SlowService(7, fail_text=TEXTS[530])

    async def main() -> None:
        async with serving(service, 4) as client:
            await embed_texts(
                client,
                TEXTS,
                RequestOptions(),
                single=SINGLE_SPEC,
                batch=BATCH_SPEC,
                output="numpy",
            )

    with pytest.raises(errors.InvalidArgument) as info:
        asyncio.run(main())
    partial = info.value.partial
    assert partial is not None and partial.total == len(TEXTS)
    assert partial.embeddings  # at least the batches that finished before the failure
    assert not set(range(500, 600)) & set(partial.embeddings)
    for index, row in partial.embeddings.items():
        assert isinstance(row, np.ndarray) and row.dtype == np.float32
        assert row.tolist() == vector_of(TEXTS[index])


class RaggedService(SlowService):
    """Answers the batch holding ``longer`` with 4 values per text instead of 3."""

    def __init__(self, longer: str) -> None:
        super().__init__(8)
        self.longer = longer

    async def batch_embed_text(
        self, message: pb.BatchEmbedTextRequest
    ) -> pb.BatchEmbedTextResponse:
        extra = [9.0] if self.longer in message.texts else []
        return pb.BatchEmbedTextResponse(
            embeddings=[pb.Embedding(value=vector_of(t) + extra) for t in message.texts]
        )


@pytest.mark.network
def test_numpy_refuses_embeddings_of_different_lengths_across_batches() -> None:
    service = RaggedService(longer=TEXTS[250])

    async def main(output: Any) -> Any:
        async with serving(service, 1) as client:
            return await embed_texts(
                client,
                TEXTS[:300],
                RequestOptions(),
                single=SINGLE_SPEC,
                batch=BATCH_SPEC,
                output=output,
            )

    with pytest.raises(errors.Internal, match=r"different lengths \(3, 4\)") as info:
        asyncio.run(main("numpy"))
    assert info.value.partial is not None
    assert sorted(info.value.partial.embeddings) == list(range(200))  # one batch at a time
    listed = asyncio.run(main("list"))  # the list output returns them as they are
    assert [len(v) for v in listed] == [3] * 200 + [4] * 100


@pytest.mark.network
def test_numpy_iteration_without_batch_rpc_groups_single_calls() -> None:
    service = SlowService(9)
    progress: list[tuple[int, int]] = []

    async def main() -> list[Any]:
        async with serving(service, 4) as client:
            return [
                b
                async for b in iter_embed_texts(
                    client,
                    TEXTS[:45],
                    RequestOptions(),
                    single=SINGLE_SPEC,
                    batch=None,
                    batch_size=20,
                    progress=lambda done, total: progress.append((done, total)),
                    output="numpy",
                )
            ]

    batches = asyncio.run(main())
    assert [b.shape for b in batches] == [(20, 3), (20, 3), (5, 3)]
    assert np.concatenate(batches).tolist() == [vector_of(t) for t in TEXTS[:45]]
    assert progress == [(20, 45), (40, 45), (45, 45)]
    assert service.batch_sizes == []  # EmbedText only


def test_sync_iteration_of_arrays_matches_the_async_one() -> None:
    from textservice.testing import FakeServer, expected_embedding

    fake = FakeServer(embedding_dimension=5)
    batch = BATCH_SPEC
    with Client(channel_factory=fake.channel, max_concurrency=3) as client:
        batches = list(
            iter_embed_texts_sync(
                client,
                TEXTS[:230],
                RequestOptions(),
                single=SINGLE_SPEC,
                batch=batch,
                batch_size=100,
                output="numpy",
                model=FAKE_MODEL,
            )
        )
    assert [b.shape for b in batches] == [(100, 5), (100, 5), (30, 5)]
    expected = [expected_embedding(FAKE_MODEL, t, 5) for t in TEXTS[:230]]
    assert np.concatenate(batches).tolist() == expected


@pytest.mark.network
def test_numpy_output_of_a_response_layout_the_codec_does_not_know(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A future proto may give the responses another field: arrays are then made from the
    # decoded messages (through the specs' readers) instead of from the bytes.
    from textservice._encoding import arrays as _arrays

    monkeypatch.setattr(_arrays, "array_reply", lambda message_type: None)
    service = SlowService(10)

    async def main() -> tuple[Any, Any, Any]:
        async with serving(service, 4) as client:
            options = RequestOptions()
            one = await embed_text(client, "abc", options, single=SINGLE_SPEC, output="numpy")
            many = await embed_texts(
                client, TEXTS[:150], options, single=SINGLE_SPEC, batch=BATCH_SPEC, output="numpy"
            )
            singles = await embed_texts(
                client, TEXTS[:7], options, single=SINGLE_SPEC, batch=None, output="numpy"
            )
            return one, many, singles

    one, many, singles = asyncio.run(main())
    assert one.dtype == np.float32 and one.tolist() == vector_of("abc")
    assert many.shape == (150, 3) and many.tolist() == [vector_of(t) for t in TEXTS[:150]]
    assert singles.dtype == np.float32 and singles.tolist() == [vector_of(t) for t in TEXTS[:7]]


def test_closing_the_client_with_a_sync_iteration_open_closes_it_cleanly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # next(it); client.close() printed "aclose(): asynchronous generator is already running"
    # (asyncio closed the nested generators of the iteration all at once).
    from textservice.testing import FakeServer

    fake = FakeServer(embedding_dimension=4)
    fake.faults.delay(0.05, method="BatchEmbedText")  # calls still in flight at close()
    client = Client(channel_factory=fake.channel, max_concurrency=4)
    batch = BATCH_SPEC
    with caplog.at_level(logging.ERROR):
        it = iter_embed_texts_sync(
            client,
            TEXTS,
            RequestOptions(),
            single=SINGLE_SPEC,
            batch=batch,
            batch_size=100,
            model=FAKE_MODEL,
        )
        assert len(next(it)) == 100
        client.close()
        with pytest.raises(RuntimeError, match="closed"):
            next(it)
        del it
        gc.collect()
    assert [r.getMessage() for r in caplog.records] == []
    assert all(call.finished is not None for call in fake.calls)  # nothing left running


# -- streams: any iterable is read as it is embedded, never held whole -------------------------

GECKO = "models/embedding-gecko-001"
GEMINI = "models/gemini-embedding-001"


def _counted(items: Iterator[Any], read: list[int]) -> Iterator[Any]:
    for index, item in enumerate(items):
        read.append(index)
        yield item


@pytest.mark.fake_server(embedding_dimension=8)
@pytest.mark.parametrize("function", ["iter_embeddings", "iter_embed_content"])
def test_a_stream_is_read_only_as_far_as_the_calls_in_flight(
    fake_client: Client, function: str
) -> None:
    embed = getattr(textservice, function)
    model = GECKO if function == "iter_embeddings" else GEMINI

    def expected(model: str, text: str) -> list[float]:
        if function == "iter_embeddings":
            return expected_embedding(model, text, 8)
        return expected_content_embedding(model, text, dimension=8)

    read: list[int] = []
    total = 3000
    stream = _counted((f"text {i}" for i in range(total)), read)
    batches = embed(model, stream, client=fake_client, batch_size=10)
    assert read == []  # nothing is read before the first batch is asked for
    first = next(batches)
    assert first == [expected(model, f"text {i}") for i in range(10)]
    # what is in flight and held back for order: max_concurrency RPCs and as many batches
    window = 2 * call_path(fake_client).max_concurrency * 10
    assert 10 < len(read) <= window + 10
    rest = [vector for batch in batches for vector in batch]
    assert len(rest) == total - 10 and len(read) == total
    assert rest[-1] == expected(model, f"text {total - 1}")


@pytest.mark.fake_server(embedding_dimension=8)
@pytest.mark.parametrize("function", ["iter_embeddings", "iter_embed_content"])
def test_a_bad_item_in_a_stream_ends_it_after_the_batches_before_it(
    fake_client: Client, function: str
) -> None:
    embed = getattr(textservice, function)
    model = GECKO if function == "iter_embeddings" else GEMINI
    stream = (item for item in [*(["a"] * 25), 3, "b"])
    got: list[Any] = []
    with pytest.raises(TypeError, match=r"(texts|contents)\[25\] must be a str"):
        for batch in embed(model, stream, client=fake_client, batch_size=10):
            got.extend(batch)
    assert len(got) == 20  # the batches read before it; the one holding it was never sent


@pytest.mark.fake_server(embedding_dimension=8)
def test_an_async_stream_of_content_with_progress_unknown(fake_client: Client) -> None:
    seen: list[tuple[int, int]] = []

    async def main() -> list[Any]:
        batches = textservice.iter_embed_content_async(
            GEMINI,
            ({"text": f"t{i}", "title": "T"} for i in range(25)),
            task_type="retrieval_document",
            client=fake_client,
            batch_size=10,
            progress=lambda done, total: seen.append((done, total)),
        )
        return [v async for batch in batches for v in batch]

    got = asyncio.run(main())
    assert got == [
        expected_content_embedding(
            GEMINI, f"t{i}", task_type="RETRIEVAL_DOCUMENT", title="T", dimension=8
        )
        for i in range(25)
    ]
    assert seen == []  # a stream's length is unknown: no progress calls


@pytest.mark.fake_server(embedding_dimension=8)
def test_a_sized_collection_is_checked_at_once_and_its_progress_counted(
    fake_client: Client,
) -> None:
    # a numpy array (or a pandas Series) has a length but is no Sequence: held as a list,
    # as before streams were read, so progress knows the total
    seen: list[tuple[int, int]] = []
    texts = np.array([f"t{i}" for i in range(25)])
    batches = textservice.iter_embeddings(
        GECKO,
        texts,
        client=fake_client,
        batch_size=10,
        progress=lambda done, total: seen.append((done, total)),
    )
    got = [v for batch in batches for v in batch]
    assert got == [expected_embedding(GECKO, f"t{i}", 8) for i in range(25)]
    assert seen == [(10, 25), (20, 25), (25, 25)]
