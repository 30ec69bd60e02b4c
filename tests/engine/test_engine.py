"""The embedding engine on its own: driven through the ``CallPath`` protocol (no client), over
inputs of unknown length read lazily, with the output strategies chosen once."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator
from types import EllipsisType
from typing import Any, TypeVar, get_args

import pytest
from grpclib.client import Channel
from support.runtime_specs import MODEL, batch, single

import textservice
from textservice import Client, errors
from textservice._engine import embed as engine
from textservice._engine.output_formats import (
    LIST,
    NUMPY,
    OUTPUTS,
    ListOutput,
    Output,
    check_output,
    strategy,
    unit_lists,
)
from textservice._engine.recipes import EmbedRecipe, ManyTexts
from textservice._engine.spec import EmbedSpec
from textservice._governor import GovernorSettings, RateGovernor
from textservice._transport.callpath import CallPath, Metadata
from textservice._transport.methods import MethodSpec
from textservice._transport.options import RequestOptions, ResolvedOptions, resolve
from textservice.retry import Retry
from textservice.testing import FakeServer, expected_content_embedding, expected_embedding

T = TypeVar("T")
DIM = 8
KEY = "engine-key"
RECIPE = EmbedRecipe(single(), batch())


class MinimalPath:
    """A ``CallPath`` that is not a client: one in-memory channel to a fake, a fixed key."""

    def __init__(self, fake: FakeServer, max_concurrency: int) -> None:
        self.fake = fake
        self.closed = False
        self.max_concurrency = max_concurrency
        self.governor = RateGovernor(GovernorSettings(max_concurrency=max_concurrency))
        self.retry: Retry | EllipsisType | None = None
        self._channel: Channel | None = None

    async def channel(self) -> Channel:
        if self._channel is None:
            self._channel = self.fake.channel()
        return self._channel

    def metadata(self) -> Metadata:
        return [("x-goog-api-key", KEY)]

    def resolve(self, method: MethodSpec[Any, Any], options: RequestOptions) -> ResolvedOptions:
        return resolve(method, options, timeout=None, retry=self.retry)

    def run_sync(self, make: Callable[[], Awaitable[T]]) -> T:
        raise AssertionError("async only")

    def track(self, generator: AsyncGenerator[Any, None]) -> None:
        raise AssertionError("async only")

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()


def _path(fake: FakeServer, max_concurrency: int) -> CallPath:
    return MinimalPath(fake, max_concurrency)  # type-checked against the protocol here


def expected(texts: list[str]) -> list[list[float]]:
    return [expected_embedding(MODEL, t, DIM) for t in texts]


def test_the_engine_needs_only_the_call_path_protocol() -> None:
    fake = FakeServer(api_key=KEY, embedding_dimension=DIM)
    texts = [f"t{i}" for i in range(250)]

    async def main() -> tuple[list[list[float]], list[float]]:
        path = MinimalPath(fake, 3)
        try:
            spec = EmbedSpec(path, RECIPE, MODEL, RequestOptions(), LIST)
            many = await engine.embed_many(spec, texts)
            one = await engine.embed_one(spec, "one")
            return many, one
        finally:
            path.close()

    many, one = asyncio.run(main())
    assert many == expected(texts)
    assert one == expected(["one"])[0]
    assert fake.count("BatchEmbedText") == 3 and fake.count("EmbedText") == 1
    assert all(call.api_key == KEY for call in fake.calls)  # the path's metadata was sent


class Source:
    """An input of unknown length (a generator), recording how many texts were read."""

    def __init__(self, count: int, on_read: Callable[[int], None] | None = None) -> None:
        self.count = count
        self.read = 0
        self.on_read = on_read

    def __iter__(self) -> Iterator[str]:
        for i in range(self.count):
            self.read = i + 1
            if self.on_read is not None:
                self.on_read(i)
            yield f"line {i}"


@pytest.mark.parametrize("output", ["list", "numpy"])
def test_iter_embed_reads_an_input_of_unknown_length_one_chunk_at_a_time(output: Output) -> None:
    fake = FakeServer(api_key=KEY, embedding_dimension=DIM)
    source = Source(1000)
    size, concurrency = 10, 2
    window = concurrency + concurrency  # RPCs in flight + finished batches held back
    ahead: list[int] = []
    progress: list[tuple[int, int]] = []

    async def main() -> list[Any]:
        path = MinimalPath(fake, concurrency)
        batches: list[Any] = []
        try:
            async for rows in engine.iter_embed(
                EmbedSpec(path, RECIPE, MODEL, RequestOptions(), OUTPUTS[output]),
                iter(source),
                batch_size=size,
                progress=lambda done, total: progress.append((done, total)),
            ):
                batches.append(rows)
                delivered = sum(len(b) for b in batches)
                ahead.append(source.read - delivered)
        finally:
            path.close()
        return batches

    batches = asyncio.run(main())
    vectors = [list(map(float, row)) for b in batches for row in b]
    assert vectors == expected([f"line {i}" for i in range(1000)])
    assert [len(b) for b in batches] == [size] * 100
    # never more read than the window holds, however long the input: memory stays bounded
    assert max(ahead) <= window * size, max(ahead)
    assert progress == []  # no total to report against


def test_iter_embed_failure_on_an_input_of_unknown_length_counts_the_texts_read() -> None:
    fake = FakeServer(api_key=KEY, embedding_dimension=DIM)

    def on_read(index: int) -> None:
        if index == 300:  # the call carrying this text fails (calls go one at a time)
            fake.faults.fail_next(1, "INVALID_ARGUMENT", method="BatchEmbedText")

    source = Source(1000, on_read)
    delivered: list[int] = []

    async def main() -> None:
        path = MinimalPath(fake, 1)
        try:
            spec = EmbedSpec(path, RECIPE, MODEL, RequestOptions(), LIST)
            async for rows in engine.iter_embed(spec, iter(source), batch_size=10):
                delivered.append(len(rows))
        finally:
            path.close()

    with pytest.raises(errors.InvalidArgument) as info:
        asyncio.run(main())
    partial = info.value.partial
    assert partial is not None
    assert partial.total == source.read < 1000  # what was read, not the unknown length
    assert partial.delivered == sum(delivered) <= 300
    assert 300 in partial.failed_indices
    assert partial.failed_indices == [
        i for i in range(partial.delivered, partial.total) if i not in partial.embeddings
    ]


def test_output_strategies_are_one_table() -> None:
    assert set(OUTPUTS) == set(get_args(Output))
    assert strategy("list") is OUTPUTS["list"] is LIST
    assert strategy("numpy") is OUTPUTS["numpy"] is NUMPY
    assert check_output("list") == "list"
    with pytest.raises(ValueError, match="output must be 'list' or 'numpy', got 'csv'"):
        check_output("csv")
    with pytest.raises(ValueError, match="got None"):
        check_output(None)
    assert LIST.empty() == [] and NUMPY.empty().shape == (0, 0)
    assert LIST.join([[[1.0]], [[2.0]]]) == [[1.0], [2.0]]


def test_a_recipe_holds_at_least_one_text_per_batch_rpc() -> None:
    many = batch()
    with pytest.raises(ValueError, match="max_texts must be >= 1, got 0"):
        ManyTexts(many.method, many.request, many.vectors, max_texts=0)
    # a version without a batch RPC embeds a list one text per RPC
    assert EmbedRecipe(single()).chunk_rpc(MODEL, 50).size == 1
    assert RECIPE.chunk_rpc(MODEL).size == 100 and RECIPE.chunk_rpc(MODEL, 7).size == 7


class _TupleOutput(ListOutput):
    """A third output format (vectors as tuples), to show a row in ``OUTPUTS`` is all a
    format needs."""

    name: Any = "tuples"

    def rows(self, raw: Any) -> Any:
        return [tuple(vector) for vector in raw]

    def unit(self, rows: Any) -> Any:
        return [tuple(vector) for vector in unit_lists([list(v) for v in rows])]

    def gather(self, picks: Any, owned: Any = None) -> Any:
        return [rows[i] for rows, i in picks]


def test_a_new_output_format_is_one_row_in_the_table(
    monkeypatch: pytest.MonkeyPatch, fake_client: Client
) -> None:
    # every embedding function reaches its output through OUTPUTS, and nowhere branches on it
    table: Any = OUTPUTS
    monkeypatch.setitem(table, "tuples", _TupleOutput())
    gecko, gemini = "models/embedding-gecko-001", "models/gemini-embedding-001"
    got: Any = textservice.generate_embeddings(gecko, "a", fake_client, output="tuples")  # type: ignore[call-overload]
    assert got["embedding"] == tuple(expected_embedding(gecko, "a"))
    got = textservice.generate_embeddings(gecko, ["a", "b", "a"], fake_client, output="tuples")  # type: ignore[call-overload]
    assert got["embedding"] == [tuple(expected_embedding(gecko, t)) for t in "aba"]
    batches = textservice.iter_embeddings(gecko, ["a", "b"], client=fake_client, output="tuples")  # type: ignore[call-overload]
    assert [v for batch in batches for v in batch] == [
        tuple(expected_embedding(gecko, t)) for t in "ab"
    ]
    one: Any = textservice.embed_content(gemini, "a", client=fake_client, output="tuples")  # type: ignore[call-overload]
    assert one["embedding"] == tuple(expected_content_embedding(gemini, "a"))
    unit: Any = textservice.embed_content(
        gemini,
        ["a", "b"],
        client=fake_client,
        output="tuples",
        normalize=True,  # type: ignore[call-overload]
    )
    assert all(isinstance(v, tuple) for v in unit["embedding"])
    assert all(abs(math.hypot(*v) - 1) < 1e-9 for v in unit["embedding"])
    rows = textservice.iter_embed_content(gemini, ["a"], client=fake_client, output="tuples")  # type: ignore[call-overload]
    assert list(rows) == [[tuple(expected_content_embedding(gemini, "a"))]]
