"""The governor against the fake's quotas, in real time on a fast quota clock.

A tiny driver (not the client: its tests under the fake's quotas are in
test_client_quotas.py) embeds 5,000 texts in batches of 50 with every batch in its own
task, each call admitted by the governor and reported back to it.

What gets rejected: before the first rejection nothing is known, so the calls sent in the
meantime (at most ``max_concurrency``, in flight together) can all be rejected; after it
the governor knows the limit. With 100 calls that first burst stays well under the 15 %
asked for even on a busy machine; with 50 calls of 100 texts it can reach 8 of 50 (16 %).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from grpclib.const import Status
from grpclib.exceptions import GRPCError
from support.fake_helpers import EMBED_MODEL, module

from textservice._governor import (
    Cost,
    GovernorSettings,
    QuotaKey,
    RateGovernor,
    Refusal,
    Rejection,
)
from textservice._transport.connection import UnaryCall
from textservice._transport.rest.connection import RestConnection
from textservice.errors import ResourceExhausted
from textservice.testing import FakeServer, expected_embedding
from textservice.testing.rest import rest_methods

pytestmark = pytest.mark.slow

V = module("v1beta")
TIME_SCALE = 60.0  # a quota minute lasts one real second
TEXTS = [f"text {i}" for i in range(5_000)]
BATCH = 50
RPM = 40  # 40 calls a second: 100 calls take three quota minutes
DIMENSION = 8
SETTINGS = GovernorSettings(
    max_concurrency=8,
    minute=60.0 / TIME_SCALE,
    backoff=1.0 / TIME_SCALE,
    # The margin covers the time a request takes to reach the server. Time runs 60 times
    # faster here but the event loop's delays do not: 5 % of this 1 s minute (50 ms) plays
    # the part the default 1 % (0.6 s) plays against the API's 60 s minute.
    margin=0.05,
)


Send = Callable[[Any], Awaitable[Any]]
"""One BatchEmbedText call; a quota rejection raises ``Rejected`` with its details."""


class Rejected(Exception):
    """RESOURCE_EXHAUSTED, with the status details (either transport's)."""

    def __init__(self, details: list[Any]) -> None:
        super().__init__("RESOURCE_EXHAUSTED")
        self.details = details


@asynccontextmanager
async def sender(fake: FakeServer, transport: str) -> AsyncIterator[Send]:
    """BatchEmbedText over ``transport``: a grpclib stub, or the REST connection."""
    if transport == "grpc":
        async with fake.in_memory() as channel:
            stub = V.TextServiceStub(channel)

            async def send_grpc(request: Any) -> Any:
                try:
                    return await stub.batch_embed_text(request, timeout=30)
                except GRPCError as exc:
                    if exc.status is not Status.RESOURCE_EXHAUSTED:
                        raise
                    raise Rejected(exc.details or []) from exc

            yield send_grpc
        return
    (spec,) = [s for s in rest_methods("v1beta", "TextService") if s.name == "BatchEmbedText"]
    connection = RestConnection("http://fake", transport=fake.http_transport())

    async def send_rest(request: Any) -> Any:
        try:
            return await connection.unary(
                UnaryCall(spec, request, V.BatchEmbedTextResponse, metadata=[]), timeout=30
            )
        except ResourceExhausted as exc:
            raise Rejected(list(exc.details)) from exc

    try:
        yield send_rest
    finally:
        await connection.aclose()


async def embed_all(
    fake: FakeServer,
    governor: RateGovernor,
    texts: list[str] = TEXTS,
    transport: str = "grpc",
) -> list[list[float]]:
    """Every text's vector, in order; each batch retried through the governor."""
    batches = [texts[i : i + BATCH] for i in range(0, len(texts), BATCH)]
    results: list[list[list[float]]] = [[] for _ in batches]
    key = QuotaKey("BatchEmbedText", EMBED_MODEL)

    async with sender(fake, transport) as send:

        async def one(index: int, batch: list[str]) -> None:
            request = V.BatchEmbedTextRequest(model=EMBED_MODEL, texts=batch)
            while True:
                async with governor.admit(key, Cost.of_texts(batch)) as ticket:
                    try:
                        reply: Any = await send(request)
                    except Rejected as exc:
                        decision = ticket.rejected(Rejection.from_details(exc.details))
                        if isinstance(decision, Refusal):
                            raise AssertionError(decision.message) from exc
                        continue
                    ticket.succeeded()
                    results[index] = [list(e.value) for e in reply.embeddings]
                    return

        await asyncio.gather(*(one(i, b) for i, b in enumerate(batches)))
    return [vector for batch in results for vector in batch]


@pytest.mark.parametrize(
    ("window", "retry_info", "transport"),
    [("fixed", True, "grpc"), ("sliding", False, "grpc"), ("fixed", True, "rest")],
)
def test_5000_texts_under_a_per_minute_quota(window: str, retry_info: bool, transport: str) -> None:
    # Without RetryInfo the QuotaFailure says no limit either (as the API sometimes does),
    # so the governor has to work both out.
    fake = FakeServer(
        embedding_dimension=DIMENSION,
        quotas={
            "requests_per_minute": RPM,
            "time_scale": TIME_SCALE,
            "window": window,
            "retry_info": retry_info,
            "send_quota_value": retry_info,
        },
    )
    fake.faults.delay(0.1)  # latency of an embedding call; over-quota answers come at once
    governor = RateGovernor(SETTINGS)

    vectors = asyncio.run(embed_all(fake, governor, transport=transport))

    assert vectors == [expected_embedding(EMBED_MODEL, text, DIMENSION) for text in TEXTS]
    assert fake.quotas is not None
    accepted, rejected = fake.quotas.accepted(), fake.quotas.rejected()
    assert accepted == len(TEXTS) // BATCH
    assert rejected <= 0.15 * accepted, (accepted, rejected)
    stats = governor.snapshot()
    assert (stats.sent, stats.rejected) == (accepted + rejected, rejected)
    learned = stats.keys[QuotaKey("BatchEmbedText", EMBED_MODEL)].limits.get("requests")
    if retry_info:
        assert learned == RPM  # named by the QuotaFailure, kept ten quota minutes
    else:
        # what got through in a minute, kept one quota minute: gone if the last rejection
        # came earlier than that
        assert learned is None or 0 < learned <= RPM


def test_threads_with_their_own_loops_share_one_governor() -> None:
    fake = FakeServer(
        embedding_dimension=DIMENSION,
        quotas={"requests_per_minute": RPM, "time_scale": TIME_SCALE},
    )
    fake.faults.delay(0.1)
    governor = RateGovernor(SETTINGS)
    parts = [TEXTS[i : i + 1_000] for i in range(0, len(TEXTS), 1_000)]
    results: dict[int, list[list[float]]] = {}
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            results[index] = asyncio.run(embed_all(fake, governor, parts[index]))
        except BaseException as exc:  # reported to the test thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(parts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    vectors = [v for i in range(len(parts)) for v in results[i]]
    assert vectors == [expected_embedding(EMBED_MODEL, text, DIMENSION) for text in TEXTS]
    assert fake.quotas is not None
    accepted, rejected = fake.quotas.accepted(), fake.quotas.rejected()
    assert accepted == len(TEXTS) // BATCH
    assert rejected <= 0.15 * accepted, (accepted, rejected)
    assert governor.snapshot().keys[QuotaKey("BatchEmbedText", EMBED_MODEL)].in_flight == 0
