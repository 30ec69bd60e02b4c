"""Retries, deadlines and partial failure against the fake server's fault injection."""

from __future__ import annotations

import asyncio
import datetime
import time
from collections.abc import Iterator

import pytest
from grpclib.const import Status
from support.runtime_specs import (
    FAST_RETRY,
    MODEL,
    embed_one_async,
    embed_one_sync,
    embed_sync,
    options,
)
from support.transports import via

import textservice
from textservice import (
    Client,
    DeadlineExceeded,
    InvalidArgument,
    ResourceExhausted,
    Retry,
    TextServiceError,
    Unavailable,
)
from textservice._proto.google import rpc
from textservice.testing import FakeServer, expected_embedding, quota_failure, retry_info

DIM = 16
pytestmark = pytest.mark.fake_server(embedding_dimension=DIM)


def expected(texts: list[str]) -> list[list[float]]:
    return [expected_embedding(MODEL, t, DIM) for t in texts]


@pytest.fixture
def client(transport: str, fake_server: FakeServer) -> Iterator[Client]:
    c = Client("k", **via(fake_server, transport), retry=FAST_RETRY)
    yield c
    c.close()


def test_unavailable_twice_then_success(fake_server: FakeServer, client: Client) -> None:
    fake_server.faults.fail_next(2, "UNAVAILABLE")
    assert embed_one_sync(client, "hi") == expected(["hi"])[0]
    assert fake_server.count("EmbedText") == 3
    assert fake_server.count(status=Status.UNAVAILABLE) == 2


def test_unavailable_beyond_max_attempts_is_raised(fake_server: FakeServer, client: Client) -> None:
    fake_server.faults.fail_next(10, "UNAVAILABLE", message="backend restarting")
    with pytest.raises(Unavailable, match="backend restarting") as info:
        embed_one_sync(client, "hi")
    assert info.value.code is Status.UNAVAILABLE
    assert fake_server.count("EmbedText") == FAST_RETRY.max_attempts
    # The error says how many attempts were made.
    assert str(info.value) == "UNAVAILABLE: backend restarting (gave up after 5 attempts)"


def test_an_error_without_retries_has_no_attempt_count(
    fake_server: FakeServer, client: Client
) -> None:
    fake_server.faults.fail_next(1, "INVALID_ARGUMENT", message="bad")
    with pytest.raises(InvalidArgument) as info:
        embed_one_sync(client, "hi")
    assert str(info.value) == "INVALID_ARGUMENT: bad"


def test_default_policy_comes_from_the_method(transport: str, fake_server: FakeServer) -> None:
    fake_server.faults.fail_next(1, "UNAVAILABLE")
    # No client or call policy: the MethodSpec's Retry() applies (1 s x 1.3 with full jitter).
    with Client("k", **via(fake_server, transport)) as c:
        assert embed_one_sync(c, "hi") == expected(["hi"])[0]
    assert fake_server.count("EmbedText") == 2


def test_retry_none_disables_retries(fake_server: FakeServer, client: Client) -> None:
    fake_server.faults.fail_next(1, "UNAVAILABLE")
    with pytest.raises(Unavailable):
        embed_one_sync(client, "hi", options(retry=None))
    assert fake_server.count("EmbedText") == 1


@pytest.mark.slow  # >= 0.25 s: kept out of make test-fast
def test_thirty_percent_unavailable_over_ten_thousand_texts(
    fake_server: FakeServer,
) -> None:
    fake_server.faults.fail_fraction(0.3, "UNAVAILABLE", seed=7)
    # 0.3**20 per batch: giving up is practically impossible; backoffs are tiny.
    patient = Retry(max_attempts=20, initial_backoff=0.0005, max_backoff=0.002)
    texts = [f"document {i}: {'lorem ' * (i % 7)}" for i in range(10_000)]
    with Client("k", channel_factory=fake_server.channel, retry=patient) as c:
        vectors = embed_sync(c, texts)
    assert len(vectors) == 10_000
    assert vectors == expected(texts)
    failed = fake_server.count(status=Status.UNAVAILABLE)
    assert failed > 10  # the faults really happened
    assert fake_server.count(status=Status.OK) == 100


def test_resource_exhausted_with_retry_info_waits(transport: str, fake_server: FakeServer) -> None:
    fake_server.faults.fail_next(1, "RESOURCE_EXHAUSTED", details=[retry_info(0.2)])
    started = time.monotonic()
    # a quota clock 10 times faster: the backoff, the floor under RetryInfo, is 0.1 s
    with Client(
        "k", **via(fake_server, transport), retry=FAST_RETRY, quota_time_scale=10
    ) as client:
        assert embed_one_sync(client, "quota") == expected(["quota"])[0]
    assert time.monotonic() - started >= 0.2
    first, second = fake_server.calls
    assert first.status is Status.RESOURCE_EXHAUSTED and second.status is Status.OK
    assert first.finished is not None and second.started - first.finished >= 0.2


def test_a_server_delay_over_max_retry_delay_fails_at_once_naming_it(
    transport: str,
    fake_server: FakeServer,
) -> None:
    # With no timeout, a RetryInfo of an hour made the call sleep for an hour.
    fake_server.faults.fail_next(1, "RESOURCE_EXHAUSTED", details=[retry_info(3600)])
    with Client("k", **via(fake_server, transport)) as client:
        started = time.monotonic()
        with pytest.raises(ResourceExhausted) as info:
            embed_one_sync(client, "quota", options(timeout=None))
        assert time.monotonic() - started < 5
    assert "server asked to wait 3600 s, longer than Retry.max_retry_delay of 60 s" in str(
        info.value
    )
    assert info.value.retry_delay == 3600
    assert fake_server.count("EmbedText") == 1


@pytest.mark.slow  # >= 0.25 s: kept out of make test-fast
def test_max_retry_delay_is_configurable(transport: str, fake_server: FakeServer) -> None:
    fake_server.faults.fail_next(1, "RESOURCE_EXHAUSTED", details=[retry_info(0.3)])
    strict = Client("k", **via(fake_server, transport), retry=Retry(max_retry_delay=0.1))
    with strict, pytest.raises(ResourceExhausted, match=r"longer than Retry\.max_retry_delay"):
        embed_one_sync(strict, "quota")
    fake_server.faults.fail_next(1, "RESOURCE_EXHAUSTED", details=[retry_info(0.3)])
    patient = Client(
        "k",
        **via(fake_server, transport),
        retry=Retry(max_retry_delay=None),
        quota_time_scale=10,  # the floor under RetryInfo: 0.1 s
    )
    with patient:
        assert embed_one_sync(patient, "quota") == expected(["quota"])[0]


def test_resource_exhausted_without_retry_info_is_retried_after_a_backoff(
    transport: str,
    fake_server: FakeServer,
) -> None:
    # Issue 13: without RetryInfo the call used to fail at once (a whole job died of one
    # 429); now the client's governor pauses the key for its backoff (1 s on the API's clock,
    # 1/60 s on a quota clock 60 times faster) and sends the call again.
    fake_server.faults.fail_next(1, "RESOURCE_EXHAUSTED")
    with Client(
        "k", **via(fake_server, transport), retry=FAST_RETRY, quota_time_scale=60
    ) as client:
        assert embed_one_sync(client, "quota") == expected(["quota"])[0]
        stats = client.quota_stats()
    assert fake_server.count("EmbedText") == 2
    assert (stats.sent, stats.rejected) == (2, 1)
    assert stats.waited > 0


@pytest.mark.slow  # >= 0.25 s: kept out of make test-fast
def test_quota_rejections_are_not_counted_against_max_attempts(
    transport: str,
    fake_server: FakeServer,
) -> None:
    # seven 429s naming a per-minute quota, with max_attempts=5: waited out, not given up
    fake_server.faults.fail_next(7, "RESOURCE_EXHAUSTED", details=[quota_failure()])
    with Client(
        "k", **via(fake_server, transport), retry=FAST_RETRY, quota_time_scale=600
    ) as client:
        assert embed_one_sync(client, "quota") == expected(["quota"])[0]
    assert fake_server.count("EmbedText") == 8


def test_a_bare_resource_exhausted_is_retried_at_most_max_attempts_times(
    transport: str,
    fake_server: FakeServer,
) -> None:
    # no QuotaFailure, no RetryInfo: perhaps no quota at all (a message too big for the
    # server is RESOURCE_EXHAUSTED too), so it is not retried forever
    fake_server.faults.fail_next(10, "RESOURCE_EXHAUSTED")
    with (
        Client(
            "k", **via(fake_server, transport), retry=FAST_RETRY, quota_time_scale=600
        ) as client,
        pytest.raises(ResourceExhausted, match="gave up after 5 attempts"),
    ):
        embed_one_sync(client, "quota")
    assert fake_server.count("EmbedText") == 5


def test_resource_exhausted_is_not_retried_without_retries(
    transport: str,
    fake_server: FakeServer,
) -> None:
    fake_server.faults.fail_next(1, "RESOURCE_EXHAUSTED", details=[retry_info(0.01)])
    with (
        Client("k", **via(fake_server, transport), retry=None) as client,
        pytest.raises(ResourceExhausted) as info,
    ):
        embed_one_sync(client, "quota")
    assert info.value.retry_delay == pytest.approx(0.01)
    assert fake_server.count("EmbedText") == 1


def test_daily_quota_is_not_retried(fake_server: FakeServer, client: Client) -> None:
    daily = quota_failure(
        "Quota exceeded for requests per day.",
        quota_id="GenerateRequestsPerDayPerProjectPerModel",
    )
    fake_server.faults.fail_next(1, "RESOURCE_EXHAUSTED", details=[retry_info(0.01), daily])
    with pytest.raises(ResourceExhausted) as info:
        embed_one_sync(client, "quota")
    assert info.value.is_daily_quota
    assert info.value.retry_delay == pytest.approx(0.01)
    assert fake_server.count("EmbedText") == 1


def test_per_minute_quota_with_retry_info_is_retried(
    transport: str, fake_server: FakeServer
) -> None:
    fake_server.faults.fail_next(
        1, "RESOURCE_EXHAUSTED", details=[retry_info(0.01), quota_failure()]
    )
    with Client(
        "k", **via(fake_server, transport), retry=FAST_RETRY, quota_time_scale=100
    ) as client:
        assert embed_one_sync(client, "quota") == expected(["quota"])[0]
    assert fake_server.count("EmbedText") == 2


@pytest.mark.slow  # waits out the backoff: seconds
@pytest.mark.parametrize(
    ("model", "asked", "transport"),
    [
        (MODEL, 0.0, "grpc"),
        ("models/gemini-embedding-001", -3.0, "grpc"),
        ("models/gemini-embedding-001", 1e-9, "grpc"),
        # over REST the delay is JSON's "0s": the same floor (one case: the wait is the time)
        ("models/gemini-embedding-001", 0.0, "rest"),
    ],
)
def test_a_zero_retry_info_makes_no_storm(
    fake_server: FakeServer, model: str, asked: float, transport: str
) -> None:
    # Every answer RESOURCE_EXHAUSTED with RetryInfo 0 s (or negative, or 1 ns) and a stated
    # limit of 100 a minute: 6,877 calls in 10 s before; now the backoff's floor, 1 s then
    # 2 s (jittered by up to a fifth), lets 3 through in the call's 3.5 s.
    delay = rpc.RetryInfo(retry_delay=datetime.timedelta(seconds=asked))
    fake_server.faults.fail_fraction(
        1.0, "RESOURCE_EXHAUSTED", details=[delay, quota_failure(quota_value=100)]
    )
    with Client("k", **via(fake_server, transport)) as client:
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded):
            if model == MODEL:
                textservice.generate_embeddings(
                    model, ["a", "b"], client=client, request_options={"timeout": 3.5}
                )
            else:
                textservice.embed_content(
                    model, ["a", "b"], client=client, request_options={"timeout": 3.5}
                )
        assert time.monotonic() - started < 5
    assert 2 <= fake_server.count() <= 3


def test_dropped_connection_is_retried_as_unavailable(
    fake_server: FakeServer, client: Client
) -> None:
    fake_server.faults.drop_next(1)
    assert embed_one_sync(client, "drop") == expected(["drop"])[0]
    assert [c.dropped for c in fake_server.calls] == [True, False]


def test_dropped_connection_without_retries_raises_unavailable(
    fake_server: FakeServer, client: Client
) -> None:
    fake_server.faults.drop_next(1)
    with pytest.raises(Unavailable):
        embed_one_sync(client, "drop", options(retry=None))
    assert embed_one_sync(client, "after") == expected(["after"])[0]  # reconnects


def test_dropped_connection_mid_list(fake_server: FakeServer, client: Client) -> None:
    fake_server.faults.drop_next(2, method="BatchEmbedText")
    texts = [f"m{i}" for i in range(500)]
    assert embed_sync(client, texts) == expected(texts)


@pytest.mark.network
def test_dropped_connection_over_tcp(fake_server: FakeServer, fake_server_address: object) -> None:
    fake_server.faults.drop_next(1)
    target = fake_server_address.target  # type: ignore[attr-defined]
    with Client("k", endpoint=target, insecure=True, retry=FAST_RETRY) as c:
        assert embed_one_sync(c, "tcp drop") == expected(["tcp drop"])[0]


@pytest.mark.slow  # >= 0.25 s: kept out of make test-fast
def test_deadline_shorter_than_server_latency(fake_server: FakeServer, client: Client) -> None:
    fake_server.faults.delay(1.0)
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded, match=r"0\.2 s"):
        embed_one_sync(client, "slow", options(timeout=0.2))
    assert time.monotonic() - started < 0.9
    time.sleep(0.05)  # let the server notice the cancelled stream
    assert fake_server.calls[0].status in (Status.CANCELLED, Status.DEADLINE_EXCEEDED)


@pytest.mark.slow  # >= 0.25 s: kept out of make test-fast
def test_deadline_bounds_a_list_and_cancels_its_rpcs(
    fake_server: FakeServer, client: Client
) -> None:
    fake_server.faults.delay(0.5, method="BatchEmbedText")
    texts = [f"d{i}" for i in range(2000)]  # 20 batches, 8 at a time
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded) as info:
        embed_sync(client, texts, options(timeout=0.3))
    assert time.monotonic() - started < 0.5
    assert info.value.partial is not None
    assert info.value.partial.succeeded_indices == []
    received = fake_server.count()
    time.sleep(0.7)  # nothing keeps running: no new calls, none left open
    assert fake_server.count() == received == 8
    assert all(c.status is not Status.OK for c in fake_server.calls)
    assert all(c.finished is not None for c in fake_server.calls)


def test_deadline_leaves_no_time_for_a_retry(fake_server: FakeServer, client: Client) -> None:
    fake_server.faults.fail_next(1, "RESOURCE_EXHAUSTED", details=[retry_info(5.0)])
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded, match="no time for retry") as info:
        embed_one_sync(client, "x", options(timeout=1.0))
    assert time.monotonic() - started < 0.9  # failed at once instead of sleeping in vain
    assert isinstance(info.value.__cause__, ResourceExhausted)


def test_partial_failure_keeps_what_succeeded(transport: str, fake_server: FakeServer) -> None:
    fake_server.faults.fail_fraction(0.3, "INVALID_ARGUMENT", seed=5, method="BatchEmbedText")
    texts = [f"p{i}" for i in range(1000)]
    with (
        Client("k", **via(fake_server, transport), max_concurrency=1) as c,
        pytest.raises(InvalidArgument) as info,
    ):
        embed_sync(c, texts)
    partial = info.value.partial
    assert partial is not None and partial.total == 1000
    ok_texts = {
        t for call in fake_server.calls if call.status is Status.OK for t in call.request.texts
    }
    assert {texts[i] for i in partial.succeeded_indices} == ok_texts
    assert partial.succeeded_indices, "seed 5 lets some batches through first"
    assert all(partial.embeddings[i] == expected([texts[i]])[0] for i in partial.succeeded_indices)
    assert sorted(partial.succeeded_indices + partial.failed_indices) == list(range(1000))
    assert f"{len(partial.succeeded_indices)} of 1000 texts embedded" in str(info.value)


def test_partial_failure_with_concurrency(transport: str, fake_server: FakeServer) -> None:
    fake_server.faults.fail_fraction(0.2, "INTERNAL", seed=11, method="BatchEmbedText")
    texts = [f"q{i}" for i in range(3000)]
    client = Client("k", **via(fake_server, transport))
    with client, pytest.raises(TextServiceError) as info:
        embed_sync(client, texts)
    partial = info.value.partial
    assert partial is not None
    done = partial.succeeded_indices
    assert all(partial.embeddings[i] == expected([texts[i]])[0] for i in done)
    assert set(done).isdisjoint(partial.failed_indices)
    assert len(done) + len(partial.failed_indices) == 3000
    # batches are all-or-nothing: a succeeded index means its whole batch succeeded
    assert all(
        all(j in partial.embeddings for j in range(i // 100 * 100, i // 100 * 100 + 100))
        for i in done
    )


def test_async_retries_behave_like_sync(fake_server: FakeServer, client: Client) -> None:
    fake_server.faults.fail_next(2, "UNAVAILABLE")
    assert asyncio.run(embed_one_async(client, "async")) == expected(["async"])[0]
    # a quota that waiting does not help (issue 13: a per-minute one is waited out)
    daily = quota_failure(quota_id="EmbedTextRequestsPerDayPerProjectPerModel")
    fake_server.faults.fail_next(1, "RESOURCE_EXHAUSTED", details=[daily])
    with pytest.raises(ResourceExhausted):
        asyncio.run(embed_one_async(client, "async"))
