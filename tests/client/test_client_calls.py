"""The client against the fake TextService: sync and async calls, lists, metadata, channels."""

from __future__ import annotations

import asyncio
import gc
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from grpclib.const import Status
from support.runtime_specs import (
    MODEL,
    embed_async,
    embed_one_async,
    embed_one_sync,
    embed_sync,
    options,
    single_v1beta2,
)

from textservice import Client, NotFound, Unauthenticated, Unavailable
from textservice._engine.embed import embed_many
from textservice._engine.output_formats import LIST
from textservice._engine.recipes import EmbedRecipe
from textservice._engine.spec import EmbedSpec
from textservice._facade import get_client
from textservice._transport.options import RequestOptions
from textservice.client import call_path, configure
from textservice.testing import FakeServer, expected_embedding

DIM = 32
pytestmark = pytest.mark.fake_server(embedding_dimension=DIM)


def expected(texts: list[str], model: str = MODEL) -> list[list[float]]:
    return [expected_embedding(model, t, DIM) for t in texts]


def test_sync_single_text(fake_client: Client) -> None:
    assert embed_one_sync(fake_client, "hello") == expected(["hello"])[0]


def test_sync_list_in_batches_keeps_order(fake_server: FakeServer, fake_client: Client) -> None:
    texts = [f"text number {i}" for i in range(1050)]
    assert embed_sync(fake_client, texts) == expected(texts)
    batches = [c.request.texts for c in fake_server.calls]
    assert fake_server.count("BatchEmbedText") == 11
    assert sorted(len(b) for b in batches) == [50] + [100] * 10
    assert sorted(t for b in batches for t in b) == sorted(texts)  # each text sent once


def test_async_list_from_a_user_loop(fake_server: FakeServer, fake_client: Client) -> None:
    texts = [f"t{i}" for i in range(250)]

    async def main() -> list[list[float]]:
        return await embed_async(fake_client, texts)

    assert asyncio.run(main()) == expected(texts)
    assert fake_server.count("BatchEmbedText") == 3


def test_list_without_batch_rpc_uses_concurrent_single_calls(
    fake_server: FakeServer, fake_client: Client
) -> None:
    texts = [f"v1beta2 text {i}" for i in range(40)]

    async def main() -> list[list[float]]:
        recipe = EmbedRecipe(single_v1beta2())
        spec = EmbedSpec(call_path(fake_client), recipe, MODEL, RequestOptions(), LIST)
        return await embed_many(spec, texts)

    assert call_path(fake_client).run_sync(main) == expected(texts)
    assert fake_server.count("EmbedText", version="v1beta2") == 40


def test_empty_list_makes_no_call(fake_server: FakeServer, fake_client: Client) -> None:
    assert embed_sync(fake_client, []) == []
    assert fake_server.count() == 0


def test_at_most_max_concurrency_batches_in_flight(fake_server: FakeServer) -> None:
    fake_server.faults.delay(0.05, method="BatchEmbedText")
    texts = [f"c{i}" for i in range(1200)]  # 12 batches
    with Client("k", channel_factory=fake_server.channel, max_concurrency=3) as c:
        assert embed_sync(c, texts) == expected(texts)
    spans = [(call.started, call.finished) for call in fake_server.calls]
    assert len(spans) == 12
    most = max(sum(1 for s, f in spans if s <= t < (f or 0)) for t, _ in spans)
    assert most == 3  # concurrency was used, and bounded


def test_one_connection_per_loop(fake_server: FakeServer) -> None:
    made: list[int] = []

    def factory() -> object:
        made.append(threading.get_ident())
        return fake_server.channel()

    with Client("k", channel_factory=factory) as client:  # type: ignore[arg-type]
        for _ in range(3):
            embed_sync(client, [f"x{i}" for i in range(300)])
        assert len(made) == 1  # the background loop's channel, reused

        async def main() -> None:
            await embed_one_async(client, "a")
            await embed_one_async(client, "b")

        asyncio.run(main())
        assert len(made) == 2  # one more for the user's loop
        assert made[1] == threading.get_ident() != made[0]
        assert (
            len(call_path(client).pool.loops()) == 1
        )  # the user loop's channel went with its loop


def test_sync_call_inside_a_running_loop(fake_client: Client) -> None:
    async def notebook_cell() -> list[float]:
        return embed_one_sync(fake_client, "from a cell")

    assert asyncio.run(notebook_cell()) == expected(["from a cell"])[0]


def test_one_client_from_many_threads_and_loops(
    fake_client: Client,
) -> None:
    def work(i: int) -> bool:
        if i % 2:
            return embed_one_sync(fake_client, f"t{i}") == expected([f"t{i}"])[0]
        got = asyncio.run(embed_one_async(fake_client, f"t{i}"))
        return got == expected([f"t{i}"])[0]

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(work, range(64)))


@pytest.mark.fake_server(api_key="right-key", embedding_dimension=DIM)
def test_api_key_and_user_metadata_travel_together(fake_server: FakeServer) -> None:
    with Client(
        "right-key", channel_factory=fake_server.channel, metadata={"x-team": "search"}
    ) as client:
        embed_one_sync(client, "hello")
    metadata = dict(fake_server.calls[0].metadata)
    assert metadata["x-team"] == "search"
    assert fake_server.calls[0].api_key == "right-key"

    wrong = Client("wrong-key", channel_factory=fake_server.channel)
    with wrong, pytest.raises(Unauthenticated):
        embed_one_sync(wrong, "hello")


@pytest.mark.network
def test_tcp_loopback_client(fake_server: FakeServer, fake_tcp_client: Client) -> None:
    texts = ["over", "tcp"]
    assert embed_sync(fake_tcp_client, texts) == expected(texts)
    assert fake_tcp_client.insecure


def test_server_errors_are_typed(fake_client: Client) -> None:
    with pytest.raises(NotFound, match="models/no-such-model"):
        embed_one_sync(fake_client, "x", model="models/no-such-model")


def test_closed_client_refuses_calls(fake_server: FakeServer) -> None:
    client = Client("k", channel_factory=fake_server.channel)
    embed_one_sync(client, "a")
    client.close()
    client.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        embed_one_sync(client, "a")
    with pytest.raises(RuntimeError, match="closed"):
        asyncio.run(embed_one_async(client, "a"))


def test_async_context_manager(fake_server: FakeServer) -> None:
    async def main() -> list[float]:
        async with Client("k", channel_factory=fake_server.channel) as client:
            vector = await embed_one_async(client, "ctx")
        assert client.closed
        return vector

    assert asyncio.run(main()) == expected(["ctx"])[0]


def test_default_client_from_configure(fake_server: FakeServer) -> None:
    client = configure("k", channel_factory=fake_server.channel)
    try:
        assert get_client(None) is client
        assert embed_one_sync(get_client(None), "default") == expected(["default"])[0]
    finally:
        client.close()
    with pytest.raises(TypeError, match="client must be a Client"):
        get_client("not a client")


def test_request_options_reach_every_batch(fake_server: FakeServer) -> None:
    # With retries disabled, one injected failure fails the whole list (no retry happened).
    fake_server.faults.fail_next(1, "UNAVAILABLE", method="BatchEmbedText")
    client = Client("k", channel_factory=fake_server.channel)
    with client, pytest.raises(Unavailable):
        embed_sync(client, [f"x{i}" for i in range(300)], options(retry=None))
    assert fake_server.count(status=Status.UNAVAILABLE) == 1


@pytest.mark.network
def test_tls_is_the_default(fake_server: FakeServer, fake_server_address: object) -> None:
    # The fake listens in plaintext: a client left at its default speaks TLS and fails the
    # handshake before any request reaches the server.
    target = fake_server_address.target  # type: ignore[attr-defined]
    with Client("k", endpoint=target) as client:
        assert not client.insecure
        with pytest.raises(Unavailable, match="TLS failed"):
            embed_one_sync(client, "x")
    assert fake_server.count() == 0


def test_an_unclosed_client_stops_its_thread_when_collected(
    fake_server: FakeServer,
) -> None:
    client = Client("k", channel_factory=fake_server.channel)
    embed_one_sync(client, "x")
    thread = call_path(client).bridge.thread
    assert thread is not None and thread.is_alive()
    del client
    gc.collect()
    thread.join(5)
    assert not thread.is_alive()
