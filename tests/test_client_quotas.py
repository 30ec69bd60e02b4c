"""The client under the fake's quotas: big jobs finish at the speed the quota allows.

Every test runs against the fake with a fast quota clock (``time_scale``: a quota minute lasts
a fraction of a second) and a client whose quota clock runs as fast. What is asserted is read
from the fake's own accounting, not from wall time: the calls it accepted and rejected, and
how many quota minutes (fixed windows of its clock) the accepted calls were spread over, which
a client keeping up with the quota fills one after the other. Wall times are in bench/.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from grpclib.const import Status

import textservice
from textservice import ResourceExhausted, TextServiceClient
from textservice.testing import FakeTextService, expected_embedding

MODEL = "models/embedding-gecko-001"
DIM = 8
TIME_SCALE = 60.0  # a quota minute lasts one real second
TEXTS = [f"text {i}" for i in range(5_000)]


def expected(texts: list[str]) -> list[list[float]]:
    return [expected_embedding(MODEL, t, DIM) for t in texts]


def fake_with(**quotas: Any) -> FakeTextService:
    fake = FakeTextService(
        embedding_dimension=DIM, quotas={"time_scale": TIME_SCALE, **quotas}
    )
    fake.faults.delay(0.05)  # an embedding call takes a while; over-quota answers come at once
    return fake


def client_of(fake: FakeTextService, **options: Any) -> TextServiceClient:
    return TextServiceClient(
        "k", channel_factory=fake.channel, quota_time_scale=TIME_SCALE, **options
    )


def minutes_used(fake: FakeTextService) -> int:
    """How many quota minutes (fixed windows of the fake's clock) saw accepted calls, from the
    first to the last."""
    ledger = fake.quotas
    assert ledger is not None
    start = min(c.started for c in fake.calls)
    minutes = {
        math.floor((c.started - start) * TIME_SCALE / 60.0)
        for c in fake.calls
        if c.status is Status.OK
    }
    return max(minutes) - min(minutes) + 1


def accepted_per_minute(fake: FakeTextService) -> list[int]:
    start = min(c.started for c in fake.calls)
    counts = Counter(
        math.floor((c.started - start) * TIME_SCALE / 60.0)
        for c in fake.calls
        if c.status is Status.OK
    )
    return [counts[m] for m in range(max(counts) + 1)]


@pytest.mark.parametrize("retry_info", [True, False])
def test_5000_texts_list(retry_info: bool) -> None:
    fake = fake_with(requests_per_minute=20, retry_info=retry_info, send_quota_value=retry_info)
    with client_of(fake) as client:
        result = textservice.generate_embeddings(MODEL, TEXTS, client=client)
        stats = client.quota_stats()
    assert result["embedding"] == expected(TEXTS)
    assert fake.quotas is not None
    accepted, rejected = fake.quotas.accepted(), fake.quotas.rejected()
    print(retry_info, accepted, rejected, accepted_per_minute(fake), stats)
    assert accepted == 50


@pytest.mark.parametrize("retry_info", [True, False])
def test_5000_texts_iter(retry_info: bool) -> None:
    fake = fake_with(requests_per_minute=40, retry_info=retry_info, send_quota_value=retry_info)
    with client_of(fake) as client:
        batches = list(textservice.iter_embeddings(MODEL, TEXTS, client=client, batch_size=50))
        stats = client.quota_stats()
    assert [v for b in batches for v in b] == expected(TEXTS)
    assert fake.quotas is not None
    accepted, rejected = fake.quotas.accepted(), fake.quotas.rejected()
    print(retry_info, accepted, rejected, accepted_per_minute(fake), stats)
    assert accepted == 100
