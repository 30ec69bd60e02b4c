"""A bounded soak: 1,000 sync calls from 16 threads with random faults, then no leaks."""

from __future__ import annotations

import contextlib
import gc
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from grpclib.const import Status
from support.runtime_specs import MODEL, embed_one_sync, embed_sync

from textservice import Client, Retry
from textservice.client import call_path
from textservice.testing import FakeServer, expected_embedding, retry_info

DIM = 8
pytestmark = [
    pytest.mark.fake_server(embedding_dimension=DIM),
    pytest.mark.network,
    pytest.mark.slow,
]

CALLS = 1_000
THREADS = 16


def open_sockets() -> int:
    """Sockets this process holds open (Linux: /proc/self/fd)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
    return count


def python_threads() -> set[threading.Thread]:
    """The threads Python started. A thread started elsewhere (Ray's, say, in this pytest
    worker) gets a ``_DummyThread`` entry when it first calls into Python, which is never
    removed: not a thread this client could leak."""
    return {t for t in threading.enumerate() if not isinstance(t, threading._DummyThread)}


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts sockets via /proc")
def test_soak_sync_calls_from_threads_with_faults(fake_server: FakeServer) -> None:
    gc.collect()
    threads_before = python_threads()
    sockets_before = open_sockets()

    faults = fake_server.faults
    faults.fail_fraction(0.15, "UNAVAILABLE", seed=1)
    faults.fail_fraction(0.05, "RESOURCE_EXHAUSTED", seed=2, details=[retry_info(0.001)])
    faults.drop_next(20)
    patient = Retry(max_attempts=12, initial_backoff=0.0005, max_backoff=0.002)

    with fake_server.serve() as address:  # real TCP on loopback
        # A RESOURCE_EXHAUSTED pauses the key for the governor's backoff (1 s of its quota
        # clock, its floor under the 1 ms RetryInfo, doubling while rejections go on): at the
        # API's clock those pauses were 80 % of the soak's time. A 60x faster quota clock
        # keeps every path and makes the backoff 17 ms.
        client = Client(
            "k", endpoint=address.target, insecure=True, retry=patient, quota_time_scale=60
        )

        def work(i: int) -> bool:
            if i % 10 == 0:  # some list calls too
                texts = [f"s{i}-{j}" for j in range(150)]
                return embed_sync(client, texts) == [
                    expected_embedding(MODEL, t, DIM) for t in texts
                ]
            return embed_one_sync(client, f"s{i}") == expected_embedding(MODEL, f"s{i}", DIM)

        with ThreadPoolExecutor(THREADS) as pool:
            results = list(pool.map(work, range(CALLS)))
        client.close()

    assert results == [True] * CALLS
    assert fake_server.count(status=Status.UNAVAILABLE) > 20  # faults were injected
    assert fake_server.count(status=Status.RESOURCE_EXHAUSTED) > 0
    assert sum(c.dropped for c in fake_server.calls) == 20

    # No leaks: the client's loop thread ended, its loop closed with no task left, and
    # every socket (client and server side) is closed.
    bridge = call_path(client).bridge
    assert bridge.thread is not None and not bridge.thread.is_alive()
    assert bridge.loop is None
    gc.collect()
    assert python_threads() == threads_before
    assert open_sockets() == sockets_before
