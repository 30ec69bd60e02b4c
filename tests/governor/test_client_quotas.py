"""The client under the fake's quotas: big jobs finish at the speed the quota allows.

Every test runs against the fake with a fast quota clock (``time_scale``: a quota minute lasts
two real seconds) and a client whose quota clock runs as fast (``quota_time_scale``). What is
asserted comes from the fake's own accounting, not from a stopwatch: the calls it accepted and
rejected, and how many quota minutes (fixed windows of its clock) the accepted calls spread
over, which is the time the job took counted in the quota's own unit. A client that keeps up
with the quota fills each minute and needs ``ceil(calls / limit)`` of them; a job "within 1.2x
the time the quota allows" needs at most ``ceil(1.2 * calls / limit)``. Wall times are in
bench/ (``make bench``: the quota scenario).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import threading
import time
from collections import Counter
from typing import Any

import pytest
from grpclib.const import Status
from support.content_recipe import RECIPE as CONTENT_RECIPE
from support.content_recipe import ContentParams
from support.runtime_specs import batch, single
from support.transports import BOTH, via

import textservice
from textservice import (
    Client,
    DeadlineExceeded,
    QuotaKey,
    QuotaStats,
    ResourceExhausted,
)
from textservice._engine.embed import embed_many
from textservice._engine.output_formats import LIST
from textservice._engine.recipes import EmbedRecipe
from textservice._engine.spec import EmbedSpec
from textservice._proto.google.ai.generativelanguage import v1beta as pb
from textservice._transport.options import RequestOptions
from textservice.client import call_path
from textservice.testing import FakeServer, expected_content_embedding, expected_embedding

MODEL = "models/embedding-gecko-001"
DIM = 8
TIME_SCALE = 30.0  # a quota minute lasts 2 real seconds (1 s was too short on a loaded machine)
TEXTS = [f"text {i}" for i in range(5_000)]

pytestmark = pytest.mark.slow  # each job lasts a few quota minutes (seconds on the fast clock)
DAY_ID = "BatchEmbedTextRequestsPerDayPerProjectPerModel"


def expected(texts: list[str]) -> list[list[float]]:
    return [expected_embedding(MODEL, t, DIM) for t in texts]


def fake_with(latency: float = 0.05, **quotas: Any) -> FakeServer:
    fake = FakeServer(embedding_dimension=DIM, quotas={"time_scale": TIME_SCALE, **quotas})
    if latency:
        fake.faults.delay(latency)  # an embedding takes a while; over-quota answers are instant
    return fake


def client_of(fake: FakeServer, transport: str = "grpc", **options: Any) -> Client:
    return Client("k", **via(fake, transport), quota_time_scale=TIME_SCALE, **options)


def accepted_per_minute(fake: FakeServer, status: Status = Status.OK) -> list[int]:
    """Accepted calls (``status``) in each quota minute of the fake's clock, from the first
    to the last that saw one."""
    ledger = fake.quotas
    assert ledger is not None
    # RecordedCall.started is time.monotonic(); the ledger's clock starts at its own start
    start = time.monotonic() - ledger.now() / TIME_SCALE
    counts = Counter(
        math.floor((c.started - start) * TIME_SCALE / 60.0)
        for c in fake.calls
        if c.status is status
    )
    return [counts[m] for m in range(min(counts), max(counts) + 1)] if counts else []


IN_FLIGHT = 8
"""The client's ``max_concurrency`` (its default): the calls one burst can send at once."""


def check_speed(fake: FakeServer, calls: int, limit: int, *, told: bool = True) -> None:
    """All ``calls`` accepted, no quota minute over ``limit``, and the job within 1.2x the
    quota minutes it needs at least. Rejections: at most 15 % of the accepted calls when the
    server ``told`` its limit (``quota_value``); when it did not, the client learns what gets
    through, which costs a burst of rejections (the calls in flight when the first came
    back) when the quota is first met and when a guess expires, once a quota minute: then at
    most ``IN_FLIGHT`` in any quota minute (how many are in flight depends on how fast the
    machine answers; on a loaded one 15 % of 50 calls was too few)."""
    ledger = fake.quotas
    assert ledger is not None
    accepted, rejected = ledger.accepted(), ledger.rejected()
    per_minute = accepted_per_minute(fake)
    assert accepted == calls
    assert max(per_minute) <= limit  # the fake enforces it: a check of the counting
    if told:
        assert rejected <= 0.15 * accepted, (accepted, rejected, per_minute)
    else:
        rejected_per_minute = accepted_per_minute(fake, Status.RESOURCE_EXHAUSTED)
        assert max(rejected_per_minute, default=0) <= IN_FLIGHT, (rejected_per_minute, per_minute)
    assert len(per_minute) <= math.ceil(1.2 * calls / limit), per_minute


# -- 5,000 texts under a per-minute quota --------------------------------------------------------


@pytest.mark.parametrize(
    ("retry_info", "window"),
    [(True, "fixed"), (False, "fixed"), (False, "sliding")],
    ids=["retry-info", "no-retry-info", "no-retry-info-sliding"],
)
def test_5000_texts_in_a_list(retry_info: bool, window: str) -> None:
    # Without RetryInfo the QuotaFailure names no limit either (as the API sometimes does):
    # the governor backs off on its own and learns what gets through.
    fake = fake_with(
        requests_per_minute=20,
        retry_info=retry_info,
        send_quota_value=retry_info,
        window=window,
    )
    with client_of(fake) as client:
        result = textservice.generate_embeddings(MODEL, TEXTS, client=client)
        stats = client.quota_stats()
    assert result["embedding"] == expected(TEXTS)
    check_speed(fake, calls=50, limit=20, told=retry_info)
    assert fake.quotas is not None
    assert (stats.sent, stats.rejected) == (50 + fake.quotas.rejected(), fake.quotas.rejected())
    assert stats.throttled_for > 0 and not stats.throttled


@pytest.mark.parametrize(
    ("transport", "retry_info"),
    [("grpc", True), ("grpc", False), ("rest", True)],
    ids=["grpc-retry-info", "grpc-no-retry-info", "rest-retry-info"],
)
def test_5000_texts_through_an_iterator(transport: str, retry_info: bool) -> None:
    fake = fake_with(requests_per_minute=40, retry_info=retry_info, send_quota_value=retry_info)
    with client_of(fake, transport) as client:
        batches = list(textservice.iter_embeddings(MODEL, TEXTS, client=client, batch_size=50))
    assert [v for batch in batches for v in batch] == expected(TEXTS)
    check_speed(fake, calls=100, limit=40, told=retry_info)


def test_a_limit_given_to_the_client_is_never_exceeded() -> None:
    fake = fake_with(requests_per_minute=20)
    with client_of(fake, requests_per_minute=20) as client:
        result = textservice.generate_embeddings(MODEL, TEXTS, client=client)
    assert result["embedding"] == expected(TEXTS)
    check_speed(fake, calls=50, limit=20)
    assert fake.quotas is not None and fake.quotas.rejected() <= 1  # (a call's transit)


def test_a_share_of_the_quota_leaves_the_rest_to_other_machines() -> None:
    # one of two machines: this client takes half of the 40 a minute the server allows
    fake = fake_with(requests_per_minute=40)
    with client_of(fake, requests_per_minute=40, quota_share=0.5) as client:
        textservice.generate_embeddings(MODEL, TEXTS[:4_000], client=client)
    per_minute = accepted_per_minute(fake)
    assert sum(per_minute) == 40 and max(per_minute) <= 20
    assert fake.quotas is not None and fake.quotas.rejected() == 0


def test_throttling_start_and_end_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    fake = fake_with(requests_per_minute=10)
    with caplog.at_level(logging.INFO, logger="textservice"), client_of(fake) as client:
        textservice.generate_embeddings(MODEL, TEXTS[:2_000], client=client)
    lines = [r.getMessage() for r in caplog.records if r.name == "textservice.governor"]
    assert any(line.startswith("textservice: throttling BatchEmbedText") for line in lines), lines
    assert any("throttling of BatchEmbedText" in line and "ended" in line for line in lines)


# -- quotas that waiting does not help ------------------------------------------------------------


@BOTH
def test_a_per_day_quota_fails_at_once_naming_it_and_keeps_what_finished(transport: str) -> None:
    fake = fake_with(latency=0, requests_per_day=10)
    with client_of(fake, transport) as client:
        started = time.monotonic()
        with pytest.raises(ResourceExhausted) as info:
            textservice.generate_embeddings(MODEL, TEXTS, client=client)
        elapsed = time.monotonic() - started
        stats = client.quota_stats()
    error = info.value
    assert (error.quota_id, error.quota_value) == (DAY_ID, 10)
    assert f"per-day quota {DAY_ID} (limit 10) is exhausted" in str(error)
    assert error.is_daily_quota
    # nothing waited for: only calls already in flight were rejected, then none was sent
    assert stats.waited == 0
    assert fake.quotas is not None
    assert fake.quotas.rejected() <= client.max_concurrency
    assert elapsed < 1.0
    partial = error.partial
    assert partial is not None and partial.total == 5_000
    assert len(partial.embeddings) == 10 * 100  # the ten batches that got through
    assert all(partial.embeddings[i] == expected([TEXTS[i]])[0] for i in partial.embeddings)
    assert len(partial.failed_indices) == 4_000


def test_a_day_refused_is_refused_for_later_calls_without_asking_the_server() -> None:
    fake = fake_with(latency=0, requests_per_day=1)
    with client_of(fake) as client:
        textservice.generate_embeddings(MODEL, "first", client=client)
        for _ in range(2):
            with pytest.raises(ResourceExhausted, match=r"not sent|exhausted"):
                textservice.generate_embeddings(MODEL, "again", client=client)
        stats = client.quota_stats()
    assert fake.quotas is not None and fake.quotas.rejected() == 1  # asked once
    assert stats.refused == 1  # the second failed without a call


@BOTH
def test_a_delay_longer_than_max_retry_delay_fails_at_once(transport: str) -> None:
    # a minute of the fake lasts 60 real seconds here: its RetryInfo says ~60 s
    fake = FakeServer(embedding_dimension=DIM, quotas={"requests_per_minute": 1})
    retry = textservice.Retry(max_retry_delay=5.0)
    with Client("k", **via(fake, transport), retry=retry) as client:
        textservice.generate_embeddings(MODEL, "first", client=client)
        started = time.monotonic()
        with pytest.raises(ResourceExhausted, match=r"longer than Retry\.max_retry_delay of 5 s"):
            textservice.generate_embeddings(MODEL, "second", client=client)
        # the key stays paused: the next call is refused without asking the server
        with pytest.raises(ResourceExhausted, match="held for another"):
            textservice.generate_embeddings(MODEL, "third", client=client)
        assert time.monotonic() - started < 5.0
    assert fake.quotas is not None and fake.quotas.rejected() == 1


@BOTH
def test_a_users_timeout_bounds_the_wait_for_quota(transport: str) -> None:
    fake = FakeServer(embedding_dimension=DIM, quotas={"requests_per_minute": 1})
    with Client("k", **via(fake, transport)) as client:
        textservice.generate_embeddings(MODEL, "first", client=client)
        with pytest.raises(DeadlineExceeded, match="no time"):
            textservice.generate_embeddings(
                MODEL, "second", client=client, request_options={"timeout": 2.0}
            )


def test_waiting_for_quota_does_not_count_against_the_methods_per_rpc_deadline() -> None:
    # A method whose default deadline is 0.5 s per RPC; a quota of 2 calls a (1 s) minute:
    # the sixth of six batches waits about 2 s for quota before it is sent. Waiting is not
    # failing: the deadline bounds each RPC's own time, not its wait for admission.
    short = dataclasses.replace(batch().method, default_timeout=0.5)
    recipe = EmbedRecipe(single(), dataclasses.replace(batch(), method=short))
    texts = TEXTS[:600]
    fake = fake_with(latency=0, requests_per_minute=2)
    with client_of(fake, requests_per_minute=2) as client:
        path = call_path(client)

        async def run() -> list[list[float]]:
            return await embed_many(EmbedSpec(path, recipe, MODEL, RequestOptions(), LIST), texts)

        assert path.run_sync(run) == expected(texts)
        stats = client.quota_stats()
    assert stats.waited > 2 * 0.5  # batches waited longer than their deadline, in all
    assert len(accepted_per_minute(fake)) == 3


@BOTH
def test_the_governor_knows_no_method_by_name_batch_embed_contents_too(transport: str) -> None:
    # GenerativeService's BatchEmbedContents (issue 12's embed_content) through the same
    # engine and governor: keyed by its own name and model, costed by its texts. (Not a speed
    # test: its messages go through betterproto2's pure-Python coding, which on a busy machine
    # can be slower than the quota.)
    params = ContentParams("models/gemini-embedding-001", pb.TaskType.RETRIEVAL_QUERY, None, 8)

    def embed(fake: FakeServer, texts: list[str]) -> tuple[list[list[float]], QuotaStats]:
        with client_of(fake, transport) as client:
            path = call_path(client)

            async def run() -> list[list[float]]:
                spec = EmbedSpec(path, CONTENT_RECIPE, params, RequestOptions(), LIST)
                return await embed_many(spec, texts)

            return path.run_sync(run), client.quota_stats()

    texts = TEXTS[:3_000]
    fake = fake_with(requests_per_minute=10)
    vectors, stats = embed(fake, texts)
    assert vectors == [
        expected_content_embedding(params.model, t, "RETRIEVAL_QUERY", dimension=8) for t in texts
    ]
    assert fake.quotas is not None
    assert fake.quotas.accepted() == 30
    assert max(accepted_per_minute(fake)) <= 10
    # before the first rejection nothing is known: the calls then in flight (at most
    # max_concurrency, 8) can all be rejected; after it, the learned limit holds
    assert fake.quotas.rejected() <= 8 + 2
    (key,) = stats.keys
    assert key == QuotaKey("BatchEmbedContents", "models/gemini-embedding-001")
    assert stats.keys[key].limits == {"requests": 10.0}  # learned from its QuotaFailure


# -- many callers sharing one client ---------------------------------------------------------------


def test_16_threads_share_one_client_under_a_quota() -> None:
    fake = fake_with(requests_per_minute=40)
    parts = [TEXTS[i : i + 5_000 // 16 + 1] for i in range(0, 5_000, 5_000 // 16 + 1)]
    assert len(parts) == 16
    results: dict[int, list[list[float]]] = {}
    errors: list[BaseException] = []

    with client_of(fake) as client:

        def worker(index: int) -> None:
            try:
                # batches of 20 texts: every thread has several calls to make
                for start in range(0, len(parts[index]), 20):
                    chunk = parts[index][start : start + 20]
                    got = textservice.generate_embeddings(MODEL, chunk, client=client)
                    results.setdefault(index, []).extend(got["embedding"])
            except BaseException as exc:  # reported to the test thread
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        stats = client.quota_stats()
    assert not errors
    for index, part in enumerate(parts):
        assert results[index] == expected(part)
    calls = sum(math.ceil(len(p) / 20) for p in parts)
    check_speed(fake, calls=calls, limit=40)
    assert fake.quotas is not None
    assert stats.sent == calls + fake.quotas.rejected()  # one governor saw every call


def test_200_async_tasks_share_one_client_under_a_quota() -> None:
    fake = fake_with(requests_per_minute=40)
    parts = [TEXTS[i : i + 25] for i in range(0, 5_000, 25)]

    async def main(client: Client) -> list[Any]:
        return await asyncio.gather(
            *(textservice.generate_embeddings_async(MODEL, p, client=client) for p in parts)
        )

    with client_of(fake) as client:
        results = asyncio.run(main(client))
    assert [r["embedding"] for r in results] == [expected(p) for p in parts]
    check_speed(fake, calls=200, limit=40)
