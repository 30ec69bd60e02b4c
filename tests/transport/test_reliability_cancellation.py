"""Cancelling an async call or interrupting a sync one cancels its RPCs; the client lives on."""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from grpclib.const import Status
from support.hostile_server import serve
from support.runtime_specs import MODEL, embed_async, embed_one_async, embed_one_sync, embed_sync
from support.transports import via

import textservice
from textservice import Cancelled, Client
from textservice._proto.google.ai.generativelanguage import v1beta
from textservice.client import call_path
from textservice.testing import FakeServer, expected_embedding

DIM = 8
pytestmark = pytest.mark.fake_server(embedding_dimension=DIM)


def _all_ended_unanswered(fake: FakeServer, timeout: float = 2.0) -> bool:
    """Wait until every call the fake received has ended; True if none was answered OK."""
    stop = time.monotonic() + timeout
    while time.monotonic() < stop:
        if all(c.finished is not None for c in fake.calls):
            return all(c.status is not Status.OK for c in fake.calls)
        time.sleep(0.01)
    return False


def test_cancelling_an_async_list_embedding(transport: str, fake_server: FakeServer) -> None:
    fake_server.faults.delay(5.0, method="BatchEmbedText")
    client = Client("k", **via(fake_server, transport))

    async def main() -> None:
        task = asyncio.create_task(embed_async(client, [f"c{i}" for i in range(1000)]))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert {t for t in asyncio.all_tasks() if not t.done()} == {asyncio.current_task()}

    try:
        started = time.monotonic()
        asyncio.run(main())
        assert time.monotonic() - started < 2
        assert fake_server.count() == 8  # max_concurrency batches were in flight
        assert _all_ended_unanswered(fake_server)
        fake_server.reset()
        assert embed_one_sync(client, "after") == expected_embedding(MODEL, "after", DIM)
    finally:
        client.close()


@pytest.mark.slow  # >= 0.25 s: kept out of make test-fast
def test_keyboard_interrupt_during_a_sync_call(transport: str, fake_server: FakeServer) -> None:
    fake_server.faults.delay(5.0, method="BatchEmbedText")
    client = Client("k", **via(fake_server, transport))
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    try:
        timer.start()
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            embed_sync(client, [f"k{i}" for i in range(500)])
        assert time.monotonic() - started < 3
        assert fake_server.count() == 5
        assert _all_ended_unanswered(fake_server)
        loop = call_path(client).bridge.loop
        assert loop is not None
        assert not [t for t in asyncio.all_tasks(loop) if not t.done()]
        fake_server.reset()
        assert embed_one_sync(client, "after") == expected_embedding(MODEL, "after", DIM)
    finally:
        timer.cancel()
        client.close()


def test_close_cancels_calls_in_other_threads(transport: str, fake_server: FakeServer) -> None:
    fake_server.faults.delay(5.0)
    client = Client("k", **via(fake_server, transport))
    errors: list[BaseException] = []

    def caller() -> None:
        try:
            embed_one_sync(client, "slow")
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=caller)
    thread.start()
    deadline = time.monotonic() + 2
    while fake_server.count() == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    client.close()
    thread.join(3)
    assert not thread.is_alive()
    assert len(errors) == 1 and "closed" in str(errors[0])
    assert _all_ended_unanswered(fake_server)


def test_close_fails_async_calls_in_flight_with_cancelled(
    transport: str,
    fake_server: FakeServer,
) -> None:
    fake_server.faults.delay(5.0)
    client = Client("k", **via(fake_server, transport))

    async def main() -> BaseException | None:
        task = asyncio.create_task(embed_one_async(client, "slow"))
        while fake_server.count() == 0:
            await asyncio.sleep(0.01)
        await client.aclose()
        try:
            await asyncio.wait_for(task, 2)
        except BaseException as exc:
            return exc
        return None

    error = asyncio.run(main())
    assert isinstance(error, Cancelled), repr(error)
    assert "closed" in str(error)


class _AnswersThenHangs(v1beta.TextServiceBase):
    """Answers the first ``answered`` BatchEmbedText calls at once; later ones never finish."""

    def __init__(self, answered: int) -> None:
        self.answered = answered
        self.calls = 0
        self.all_answered = threading.Event()

    async def batch_embed_text(
        self, message: v1beta.BatchEmbedTextRequest
    ) -> v1beta.BatchEmbedTextResponse:
        self.calls += 1
        if self.calls > self.answered:
            await asyncio.sleep(60)
        if self.calls == self.answered:
            # the client reads the answer a moment later: let it, before closing
            asyncio.get_running_loop().call_later(0.2, self.all_answered.set)
        return v1beta.BatchEmbedTextResponse(
            embeddings=[v1beta.Embedding(value=[float(len(t))]) for t in message.texts]
        )


@pytest.mark.network
@pytest.mark.parametrize("how", ["list", "iter"])
def test_sync_close_during_a_call_keeps_what_was_received(how: str) -> None:
    # 48 batches answered, then close() from another thread: the cancelled sync call's error
    # keeps them (.partial), as aclose() does for async calls.
    service = _AnswersThenHangs(48)
    texts = [f"t{i:05d}" for i in range(6000)]
    outcome: list[BaseException] = []
    got: list[list[float]] = []

    def caller(client: Client) -> None:
        try:
            if how == "list":
                textservice.generate_embeddings(MODEL, texts, client=client)
            else:
                for batch in textservice.iter_embeddings(MODEL, texts, client=client):
                    got.extend(batch)
        except BaseException as exc:
            outcome.append(exc)

    with serve([service]) as port:
        client = Client("k", endpoint=f"127.0.0.1:{port}", insecure=True)
        thread = threading.Thread(target=caller, args=(client,))
        thread.start()
        assert service.all_answered.wait(10)
        client.close()
        thread.join(10)
    assert not thread.is_alive()
    (error,) = outcome
    assert isinstance(error, Cancelled), repr(error)
    assert "closed" in str(error)
    partial = error.partial
    assert partial is not None and partial.total == 6000
    assert len(partial.succeeded_indices) == 4800
    assert partial.succeeded_indices == list(range(4800))
    if how == "list":
        assert partial.delivered == 0
        assert all(partial.embeddings[i] == [6.0] for i in range(4800))
    else:  # the iterator yielded what it could in order; it holds back nothing here
        assert partial.delivered == len(got) == 4800


def test_a_call_on_a_closed_client_raises_client_closed_error(
    transport: str,
    fake_server: FakeServer,
) -> None:
    client = Client("k", **via(fake_server, transport))
    assert embed_one_sync(client, "before") == expected_embedding(MODEL, "before", DIM)
    client.close()
    calls: dict[str, Callable[[], object]] = {
        "sync": lambda: embed_one_sync(client, "after"),
        "iter": lambda: list(textservice.iter_embeddings(MODEL, ["a", "b"], client=client)),
        "async": lambda: asyncio.run(embed_one_async(client, "after")),
    }
    for how, call in calls.items():
        with pytest.raises(textservice.ClientClosedError) as info:
            call()
        error = info.value
        # a TextServiceError like every failure, a Cancelled like the calls close() cancels,
        # and a RuntimeError as it was before
        assert isinstance(error, textservice.TextServiceError), how
        assert isinstance(error, Cancelled) and isinstance(error, RuntimeError), how
        assert error.code is Status.CANCELLED
        assert str(error) == "CANCELLED: the Client is closed: make a new one", how
        assert type(pickle.loads(pickle.dumps(error))) is textservice.ClientClosedError
    assert fake_server.count() == 1  # nothing was sent after close()


OPEN_ITERATORS = """
import contextlib, gc, sys
import textservice
from textservice import Client
from textservice.testing import FakeServer

how, transport = sys.argv[1], sys.argv[2]
fake = FakeServer(embedding_dimension=4)


def inputs(prefix):  # a module-level function: a cycle through the module's globals, so the
    # iterators are collected late in the shutdown, as in most programs
    return [f"{prefix} {i}" for i in range(500)]


served = {"tcp": fake.serve, "rest tcp": fake.serve_rest}.get(transport, contextlib.nullcontext)
with served() as address:
    if transport == "tcp":
        client = Client("k", endpoint=address.target, insecure=True)
    elif transport == "rest tcp":  # httpx's pool over real sockets
        client = Client("k", endpoint=address.target, insecure=True, transport="rest")
    else:
        client = Client("k", channel_factory=fake.channel)
    iterators = [
        textservice.iter_embed_content(
            "models/gemini-embedding-001", inputs("a"), client=client, batch_size=10
        ),
        textservice.iter_embeddings(
            "models/embedding-gecko-001", inputs("b"), client=client, batch_size=10
        ),
    ]
    for iterator in iterators:
        next(iterator)
    if how == "dropped":
        del client  # collected without close(): its finalizer stops it
    else:
        client.close()
    if how == "closed after":
        for iterator in iterators:
            iterator.close()
    gc.collect()
print("ok")
# the iterators live on until the interpreter shuts down
"""


@pytest.mark.subprocess
@pytest.mark.network
@pytest.mark.parametrize("transport", ["tcp", "memory", "rest tcp"])
@pytest.mark.parametrize("how", ["kept", "closed after", "dropped"])
def test_closing_a_client_with_sync_iterators_open_prints_nothing(
    how: str, transport: str, tmp_path: Path
) -> None:
    # Before: "Exception ignored in: <generator object iter_embed_sync>" (an ImportError as
    # Python shut down) on stderr. -W error: any ResourceWarning ("Unclosed connection")
    # would print too.
    import subprocess
    import sys

    script = tmp_path / "open_iterators.py"
    script.write_text(OPEN_ITERATORS, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-W", "error", str(script), how, transport],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "ok\n", "")


def test_closing_sync_iterators_of_a_closed_client_asks_nothing_of_it(
    transport: str, fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc
    import sys
    import warnings

    unraisable: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client = Client("k", **via(fake_server, transport))
        texts = [f"text {i}" for i in range(300)]
        iterators = [
            textservice.iter_embeddings(MODEL, texts, client=client, batch_size=10),
            textservice.iter_embed_content(
                "models/gemini-embedding-001", texts, client=client, output="numpy"
            ),
        ]
        for iterator in iterators:
            next(iterator)
        client.close()
        path = call_path(client)
        asked: list[object] = []
        monkeypatch.setattr(path, "run_sync", lambda make: asked.append(make))
        for iterator in iterators:
            iterator.close()  # type: ignore[attr-defined]  # a generator: the client closed it
        del iterators, iterator
        gc.collect()
    assert asked == []
    assert unraisable == []
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []
