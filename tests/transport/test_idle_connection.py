"""A connection the server closes while the client is idle: the next sync call goes out on a
new one, at once (no failed attempt, so no retry and no backoff)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

import textservice
from textservice import Client
from textservice.testing import FakeServer

MODEL = "models/embedding-gecko-001"


class _Relay:
    """A TCP relay in front of a server that can drop every connection through it."""

    def __init__(self, target: str) -> None:
        host, port = target.rsplit(":", 1)
        self._upstream = (host, int(port))
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.target = f"127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = self._listener.accept()
                server = socket.create_connection(self._upstream)
                self._sockets += [client, server]
                for a, b in ((client, server), (server, client)):
                    threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)

    def drop_all(self) -> None:
        """Close both ends of every connection (as a server ending idle connections does)."""
        sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self.drop_all()
        self._listener.close()


@pytest.fixture
def relay() -> Iterator[tuple[FakeServer, _Relay]]:
    fake = FakeServer(embedding_dimension=4)
    with fake.serve() as address:
        relay = _Relay(address.target)
        try:
            yield fake, relay
        finally:
            relay.close()


@pytest.mark.network
def test_a_sync_call_after_the_idle_connection_was_closed(
    relay: tuple[FakeServer, _Relay],
) -> None:
    fake, proxy = relay
    no_retry = {"retry": None}  # a call sent on the dead connection would fail, not retry
    with Client("k", endpoint=proxy.target, insecure=True) as client:
        for text in ("a", "b", "c"):
            textservice.generate_embeddings(MODEL, text, client=client, request_options=no_retry)
            proxy.drop_all()
            time.sleep(0.1)  # the close reaches the client while nothing runs its loop
        assert fake.count() == 3
