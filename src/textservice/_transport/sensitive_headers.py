"""A grpclib ``Channel`` whose HTTP/2 connections send credential headers "never indexed".

HPACK (RFC 7541) compresses headers by keeping them in a dynamic table shared by both ends of
a connection; a credential in that table can be probed by compression side channels (CRIME,
RFC 7541 section 7.1), outlives the request in memory, and ``hpack`` logs such a header in full
at DEBUG. A header sent as "literal never indexed" stays out of both ends' tables (and of any
proxy's), and ``hpack`` logs its value as ``SENSITIVE_REDACTED``.

``h2`` marks ``authorization`` this way only when it normalizes outbound headers, which grpclib
turns off, and grpclib turns metadata into plain tuples, so a marked header cannot be passed
through its API. The one hook left is the HPACK encoder of each connection: this channel's
protocol gives every new connection an encoder that marks the credential headers before
encoding. It relies on grpclib's ``Channel._protocol_factory`` and on the h2 connection being
``H2Protocol.connection._connection`` (grpclib 0.4, which the package pins); a test checks the
bytes on the wire.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from grpclib.client import Channel
from grpclib.protocol import H2Protocol
from h2.connection import H2Connection
from hpack import Encoder, HeaderTuple, NeverIndexedHeaderTuple

if TYPE_CHECKING:
    from asyncio import BaseTransport

__all__ = ["SENSITIVE_HEADERS", "KeySafeChannel", "NeverIndexingEncoder"]

SENSITIVE_HEADERS = frozenset({"x-goog-api-key", "authorization", "proxy-authorization"})
"""Header names sent "never indexed" (lower case)."""

_SENSITIVE_BYTES = frozenset(name.encode() for name in SENSITIVE_HEADERS)

# What ``hpack.Encoder.encode`` takes: header tuples, (name, value) or (name, value, sensitive).
_Header = (
    HeaderTuple | tuple[bytes | str, bytes | str] | tuple[bytes | str, bytes | str, bool | None]
)


class NeverIndexingEncoder(Encoder):
    """An hpack ``Encoder`` that sends ``SENSITIVE_HEADERS`` as never-indexed literals."""

    def encode(
        self,
        headers: Iterable[_Header] | dict[bytes | str, bytes | str],
        huffman: bool = True,
    ) -> bytes:
        """Encode ``headers`` (see ``hpack.Encoder.encode``), credentials never indexed."""
        if isinstance(headers, dict):  # pseudo-headers first, as hpack orders a dict
            headers = sorted(headers.items(), key=lambda item: not _is_pseudo(item[0]))
        return super().encode([_marked(header) for header in headers], huffman)


def _is_pseudo(name: bytes | str) -> bool:
    return name.startswith(b":") if isinstance(name, bytes) else name.startswith(":")


def _marked(header: _Header) -> _Header:
    name = header[0]
    sensitive = (
        name.lower() in _SENSITIVE_BYTES
        if isinstance(name, bytes)
        else name.lower() in SENSITIVE_HEADERS
    )
    if not sensitive or isinstance(header, NeverIndexedHeaderTuple):
        return header
    return NeverIndexedHeaderTuple(name, header[1])


class _KeySafeProtocol(H2Protocol):
    def connection_made(self, transport: BaseTransport) -> None:
        super().connection_made(transport)
        # Before any header is sent: a fresh encoder has the same (empty) table and settings.
        h2_connection = getattr(self.connection, "_connection", None)
        if isinstance(h2_connection, H2Connection):
            h2_connection.encoder = NeverIndexingEncoder()


class KeySafeChannel(Channel):
    """A grpclib ``Channel`` whose connections send ``SENSITIVE_HEADERS`` never indexed."""

    def _protocol_factory(self) -> H2Protocol:
        base = super()._protocol_factory()
        return _KeySafeProtocol(base.handler, base.config, base.h2_config)
