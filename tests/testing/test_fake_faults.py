"""Fault injection: failures with Google-style details, rates, latency, dropped connections."""

from __future__ import annotations

import asyncio
import datetime
import math
import time
from typing import Any

import grpclib.client
import grpclib.exceptions
import pytest
from grpclib.const import Status
from support.fake_helpers import (
    CONTENT_MODEL,
    EMBED_MODEL,
    TEXT_MODEL,
    call,
    module,
    outcome,
    tcp_channel,
)

from textservice._encoding.codec import Codec
from textservice._proto.google import rpc
from textservice._transport.status import StatusDetailsCodec
from textservice.testing import (
    FakeServer,
    FaultPlan,
    expected_embedding,
    quota_failure,
    retry_info,
)

M = module("v1beta")
EMBED = ("EmbedText", M.EmbedTextRequest(model=EMBED_MODEL, text="x"))
COUNT = (
    "CountTextTokens",
    M.CountTextTokensRequest(model=TEXT_MODEL, prompt=M.TextPrompt(text="a")),
)


def _statuses(fake: FakeServer, calls: list[tuple[str, Any]]) -> list[Status]:
    async def go() -> list[Status]:
        async with fake.in_memory() as channel:
            return [(await outcome(channel, "v1beta", m, r))[0] for m, r in calls]

    return asyncio.run(go())


def test_fail_next_with_retry_info_and_quota_failure() -> None:
    fake = FakeServer()
    fake.faults.fail_next(
        2,
        "RESOURCE_EXHAUSTED",
        message="Quota exceeded",
        details=[retry_info(1.5), quota_failure()],
    )

    async def go() -> list[tuple[Status, Any]]:
        async with fake.in_memory() as channel:
            return [await outcome(channel, "v1beta", *EMBED) for _ in range(3)]

    (s1, e1), (s2, _), (s3, response) = asyncio.run(go())
    assert (s1, s2, s3) == (Status.RESOURCE_EXHAUSTED, Status.RESOURCE_EXHAUSTED, Status.OK)
    assert e1.message == "Quota exceeded"
    retry, quota = e1.details
    assert isinstance(retry, rpc.RetryInfo)
    assert retry.retry_delay == datetime.timedelta(seconds=1.5)
    assert isinstance(quota, rpc.QuotaFailure)
    assert quota.violations[0].quota_id == "GenerateRequestsPerMinutePerProjectPerModel"
    assert response.embedding.value == expected_embedding(EMBED_MODEL, "x")
    assert fake.faults.pending == []


class _CapturingDetailsCodec(StatusDetailsCodec):
    """Keeps the raw ``grpc-status-details-bin`` bytes it decodes."""

    def __init__(self) -> None:
        self.raw: list[bytes] = []

    def decode(self, status: Status, message: str | None, data: bytes) -> list[Any]:
        self.raw.append(data)
        return super().decode(status, message, data)


@pytest.mark.network
def test_status_details_travel_as_google_rpc_status() -> None:
    # the trailer holds a google.rpc.Status whose details are Any-packed, type URLs and all
    fake = FakeServer()
    fake.faults.fail_next(1, 14, details=[retry_info(datetime.timedelta(milliseconds=250))])
    capture = _CapturingDetailsCodec()

    async def go(port: int) -> Status:
        channel = grpclib.client.Channel(
            "127.0.0.1", port, codec=Codec(), status_details_codec=capture
        )
        try:
            status, _ = await outcome(channel, "v1beta", *EMBED)
        finally:
            channel.close()
        return status

    with fake.serve() as address:
        assert asyncio.run(go(address.port)) is Status.UNAVAILABLE
    [raw] = capture.raw
    status = rpc.Status.parse(raw)
    assert status.code == 14
    assert [d.type_url for d in status.details] == ["type.googleapis.com/google.rpc.RetryInfo"]
    assert rpc.RetryInfo.parse(status.details[0].value).retry_delay == datetime.timedelta(
        milliseconds=250
    )


def test_faults_target_methods() -> None:
    fake = FakeServer()
    fake.faults.fail_next(1, "UNAVAILABLE", method="CountTextTokens")
    fake.faults.fail_next(1, "INTERNAL", method=["EmbedText", "GenerateText"])
    assert _statuses(fake, [COUNT, COUNT, EMBED, EMBED]) == [
        Status.UNAVAILABLE,
        Status.OK,
        Status.INTERNAL,
        Status.OK,
    ]


def test_faults_target_generative_and_model_service_rpcs() -> None:
    fake = FakeServer()
    fake.faults.fail_next(1, "RESOURCE_EXHAUSTED", method="BatchEmbedContents")
    fake.faults.fail_next(1, "UNAVAILABLE", method="ListModels")
    content = M.Content(parts=[M.Part(text="x")])
    one = M.EmbedContentRequest(model=CONTENT_MODEL, content=content)
    batch = ("BatchEmbedContents", M.BatchEmbedContentsRequest(model=CONTENT_MODEL, requests=[one]))
    single = ("EmbedContent", one)
    listing = ("ListModels", M.ListModelsRequest())
    assert _statuses(fake, [single, listing, batch, batch, listing, single]) == [
        Status.OK, Status.UNAVAILABLE, Status.RESOURCE_EXHAUSTED, Status.OK, Status.OK, Status.OK,
    ]  # fmt: skip


def test_faults_name_only_rpcs_the_fake_answers() -> None:
    with pytest.raises(ValueError, match=r"unknown RPC 'GenerateContent'; known: .*EmbedContent"):
        FakeServer().faults.fail_next(1, method="GenerateContent")
    only_text = FakeServer(versions=["v1beta3"])
    with pytest.raises(ValueError, match="unknown RPC 'EmbedContent'"):
        only_text.faults.fail_next(1, method="EmbedContent")
    assert set(FaultPlan().methods) == set(FakeServer().methods)


def test_rules_apply_in_order_one_failure_per_call() -> None:
    fake = FakeServer()
    fake.faults.fail_next(1, "UNAVAILABLE")
    fake.faults.fail_next(1, "ABORTED")
    assert _statuses(fake, [EMBED, EMBED, EMBED]) == [
        Status.UNAVAILABLE,
        Status.ABORTED,
        Status.OK,
    ]


def test_fail_fraction_is_reproducible() -> None:
    def pattern(seed: int) -> list[Status]:
        fake = FakeServer()
        fake.faults.fail_fraction(0.5, "UNAVAILABLE", seed=seed)
        return _statuses(fake, [EMBED] * 40)

    first = pattern(7)
    assert first == pattern(7)
    assert first != pattern(8)
    assert 5 < first.count(Status.UNAVAILABLE) < 35

    fake = FakeServer()
    fake.faults.fail_fraction(1.0, "UNAVAILABLE", times=3)
    assert _statuses(fake, [EMBED] * 5) == [Status.UNAVAILABLE] * 3 + [Status.OK] * 2


def test_delay_is_applied() -> None:
    fake = FakeServer()
    fake.faults.delay(0.2, method="EmbedText", times=1)
    started = time.monotonic()
    assert _statuses(fake, [EMBED]) == [Status.OK]
    assert time.monotonic() - started >= 0.2
    assert fake.faults.pending == []


def test_delay_past_the_deadline() -> None:
    fake = FakeServer()
    fake.faults.delay(5.0)

    async def go() -> None:
        async with fake.in_memory() as channel:
            await call(channel, "v1beta", *EMBED, timeout=0.2)

    started = time.monotonic()
    with pytest.raises(asyncio.TimeoutError):
        asyncio.run(go())
    assert time.monotonic() - started < 4  # the client gave up; it did not wait for the fake
    # the fake's handler was interrupted, not left running: by its own copy of the deadline,
    # or by the client's cancel when that arrives first (the server's deadline starts later)
    assert fake.calls[-1].status in (Status.DEADLINE_EXCEEDED, Status.CANCELLED)


@pytest.mark.network
@pytest.mark.parametrize("transport", ["memory", "tcp"])
def test_drop_connection_then_recover(transport: str) -> None:
    fake = FakeServer()
    fake.faults.drop_next(1, method="EmbedText")

    async def go(channel: grpclib.client.Channel) -> tuple[str, Any]:
        try:
            await call(channel, "v1beta", *EMBED)
        except (grpclib.exceptions.StreamTerminatedError, OSError) as exc:
            first = type(exc).__name__
        else:
            first = "answered"
        second = await call(channel, "v1beta", *EMBED)  # the channel reconnects
        return first, second

    async def run_memory() -> tuple[str, Any]:
        async with fake.in_memory() as channel:
            return await go(channel)

    async def run_tcp(port: int) -> tuple[str, Any]:
        channel = tcp_channel("127.0.0.1", port)
        try:
            return await go(channel)
        finally:
            channel.close()

    if transport == "memory":
        first, second = asyncio.run(run_memory())
    else:
        with fake.serve() as address:
            first, second = asyncio.run(run_tcp(address.port))
    assert first == "StreamTerminatedError"
    assert second.embedding.value == expected_embedding(EMBED_MODEL, "x")
    dropped, answered = fake.calls
    assert dropped.dropped and dropped.status is None
    assert answered.status is Status.OK and not answered.dropped


def test_clear_and_pending() -> None:
    fake = FakeServer()
    fake.faults.fail_next(2, "UNAVAILABLE", method="EmbedText")
    fake.faults.fail_fraction(0.25, "INTERNAL")
    fake.faults.delay(0.5)
    fake.faults.drop_next()
    assert fake.faults.pending == [
        "fail UNAVAILABLE on EmbedText (2 left)",
        "fail INTERNAL at rate 0.25 on any RPC (unlimited)",
        "delay 0.5s on any RPC (unlimited)",
        "drop connection on any RPC (1 left)",
    ]
    fake.faults.clear()
    assert fake.faults.pending == []
    assert _statuses(fake, [EMBED]) == [Status.OK]


def test_bad_values_go_into_the_embeddings_of_the_texts_named() -> None:
    fake = FakeServer(embedding_dimension=4)
    fake.faults.bad_values(text="b", method="BatchEmbedText", times=1)
    fake.faults.bad_values(float("-inf"), at=-1, method="BatchEmbedContents")
    assert fake.faults.pending == [
        "put nan into embeddings of 'b' on BatchEmbedText (1 left)",
        "put -inf into embeddings on BatchEmbedContents (unlimited)",
    ]
    G = module("v1beta")
    texts = M.BatchEmbedTextRequest(model=EMBED_MODEL, texts=["a", "b", "c"])
    contents = G.BatchEmbedContentsRequest(
        model=CONTENT_MODEL,
        requests=[
            G.EmbedContentRequest(
                model=CONTENT_MODEL, content=G.Content(parts=[G.Part(text=t) for t in parts])
            )
            for parts in (["x"], ["y", "b"])
        ],
    )

    others = M.BatchEmbedTextRequest(model=EMBED_MODEL, texts=["a", "c"])

    async def go() -> list[Any]:
        async with fake.in_memory() as channel:
            untouched = await call(channel, "v1beta", "BatchEmbedText", others)
            assert [e.value for e in untouched.embeddings][1] == expected_embedding(
                EMBED_MODEL, "c", 4
            )
            return [
                await call(channel, "v1beta", "BatchEmbedText", texts),  # "b": changed
                await call(channel, "v1beta", "BatchEmbedText", texts),  # rule used up
                await call(channel, "v1beta", "BatchEmbedContents", contents),
            ]

    first, second, third = asyncio.run(go())
    got = [e.value for e in first.embeddings]
    assert got[0] == expected_embedding(EMBED_MODEL, "a", 4)
    assert math.isnan(got[1][0]) and got[1][1:] == expected_embedding(EMBED_MODEL, "b", 4)[1:]
    assert [e.value for e in second.embeddings][1] == expected_embedding(EMBED_MODEL, "b", 4)
    assert [e.values[-1] for e in third.embeddings] == [float("-inf")] * 2  # every item


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda f: f.fail_next(0), ValueError, "n must be >= 1"),
        (lambda f: f.fail_next(1, "OK"), ValueError, "error status, not OK"),
        (lambda f: f.fail_next(1, "NOPE"), ValueError, "unknown gRPC status name"),
        (lambda f: f.fail_next(1, 99), ValueError, "unknown gRPC status code"),
        (lambda f: f.fail_next(1, 1.5), TypeError, "status must be"),
        (lambda f: f.fail_next(1, method="Embed"), ValueError, "unknown RPC 'Embed'"),
        (lambda f: f.fail_next(1, details=["x"]), TypeError, r"details\[0\]"),
        (lambda f: f.fail_fraction(1.5), ValueError, "between 0 and 1"),
        (lambda f: f.delay(-1), ValueError, "seconds must be a finite number"),
        (lambda f: f.delay(float("nan")), ValueError, "seconds must be a finite number"),
        (lambda f: f.drop_next(n=True), TypeError, "n must be an int"),
        (lambda f: f.bad_values("nan"), TypeError, "value must be a float"),
        (lambda f: f.bad_values(at=0.5), TypeError, "at must be an int"),
        (lambda f: f.bad_values(text=b"a"), TypeError, "text must be a str"),
    ],
)
def test_bad_fault_arguments(make: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        make(FakeServer().faults)


def test_retry_info_helper() -> None:
    assert retry_info(2).retry_delay == datetime.timedelta(seconds=2)
    with pytest.raises(ValueError, match="delay"):
        retry_info(-1)
