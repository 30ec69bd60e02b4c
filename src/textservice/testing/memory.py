"""An in-memory connection between a grpclib client and server: HTTP/2 with no socket.

grpclib's own ``grpclib.testing.ChannelFor`` shows the technique (two protocols wired by
transports that hand bytes over on the event loop) but gives one channel inside an
``async with``; the fake needs a factory: any number of channels, on whatever loop calls it,
each reconnecting in memory (not over TCP) after a dropped connection. Hence this module.
It relies on grpclib's ``Channel._create_connection`` and ``Server._protocol_factory``
(stable across grpclib 0.4, which the package pins).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import grpclib.server
from grpclib.protocol import H2Protocol

from textservice._encoding.codec import Codec
from textservice._transport.sensitive_headers import KeySafeChannel
from textservice._transport.status import StatusDetailsCodec

MEMORY_HOST = "in-memory.textservice.invalid"
"""The ``:authority`` host in-memory channels send (never resolved)."""


class MemoryTransport(asyncio.Transport):
    """One end of an in-memory link; bytes written here reach the other end's protocol."""

    def __init__(self, loop: asyncio.AbstractEventLoop, protocol: asyncio.Protocol) -> None:
        super().__init__()
        self._loop = loop
        self._protocol = protocol
        self._closing = False
        self.peer: MemoryTransport | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Queue ``data`` for the other end (delivered in order on the loop)."""
        if data and not self._closing and self.peer is not None:
            self._loop.call_soon(self.peer._receive, bytes(data))

    def _receive(self, data: bytes) -> None:
        if not self._closing:
            self._protocol.data_received(data)

    def is_closing(self) -> bool:
        """True once either end closed the link."""
        return self._closing

    def close(self) -> None:
        """Close both ends (each protocol hears ``connection_lost``)."""
        self.abort()

    def abort(self) -> None:
        """Drop the link at once, as a lost TCP connection would."""
        self._shut()
        if self.peer is not None:
            self.peer._shut()

    def _shut(self) -> None:
        if self._closing:
            return
        self._closing = True
        self._loop.call_soon(self._protocol.connection_lost, None)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """Transport details: there is no socket, peer name or TLS object."""
        return default


def connect(client: H2Protocol, server: H2Protocol) -> None:
    """Wire ``client`` and ``server`` protocols together on the running loop."""
    loop = asyncio.get_running_loop()
    client_end = MemoryTransport(loop, client)
    server_end = MemoryTransport(loop, server)
    client_end.peer, server_end.peer = server_end, client_end
    client.connection_made(client_end)
    server.connection_made(server_end)


class MemoryChannel(KeySafeChannel):
    """A grpclib ``Channel`` whose connections go to an in-process server, not a socket.

    Like the client's TCP channels, it sends the API key header never indexed by HPACK.

    ``make_server`` is called on the channel's loop for every (re)connection and gives the
    grpclib ``Server`` (never started) whose handlers answer.
    """

    def __init__(self, make_server: Callable[[], grpclib.server.Server]) -> None:
        super().__init__(MEMORY_HOST, 443, codec=Codec(), status_details_codec=StatusDetailsCodec())
        self._make_server = make_server

    async def _create_connection(self) -> H2Protocol:
        server_protocol = self._make_server()._protocol_factory()
        client_protocol = self._protocol_factory()
        connect(client_protocol, server_protocol)
        return client_protocol
