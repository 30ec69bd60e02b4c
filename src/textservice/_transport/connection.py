"""One unary RPC as a transport sends it (``UnaryCall``), and what a call path's per-loop
connection may be besides a grpclib ``Channel`` (``Connection``).

The gRPC transport hands ``rpc.invoke`` a grpclib ``Channel``; any other transport (REST:
``textservice._transport.rest.connection.RestConnection``) hands it an object with this
protocol, which sends one attempt itself and raises what the RPC layer turns into typed
errors (``TextServiceError``, ``TimeoutError``, ``OSError``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from textservice._transport.methods import MethodSpec

__all__ = ["Connection", "Reply", "UnaryCall"]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Reply(Protocol[T_co]):
    """What an RPC's reply is decoded as: a response message class, or a stand-in for one
    (``textservice._encoding.arrays.ArrayReply``). grpclib's codecs call ``FromString(data)``."""

    def FromString(self, data: bytes, /) -> T_co: ...


@dataclass(frozen=True, slots=True)
class UnaryCall(Generic[T]):
    """One unary RPC, made once by ``rpc.invoke``: every attempt sends the same (each with
    the time then left of its deadline)."""

    method: MethodSpec[Any, Any]
    request: Any
    """The request message (or a ``rest.media.MediaCall``, which writes its own)."""
    reply: Reply[T] | type[T]
    """What the reply is decoded as (``method.response_type``, or a stand-in for it)."""
    metadata: Sequence[tuple[str, str | bytes]]
    """The client's metadata, the API key among it."""


@runtime_checkable
class Connection(Protocol):
    """A connection that sends one RPC attempt itself."""

    async def unary(self, call: UnaryCall[Any], timeout: float | None) -> Any:
        """Send one attempt of ``call``, within ``timeout`` seconds; the reply decoded as
        ``call.reply`` asks."""
        ...

    def close(self) -> None:
        """Close it (on its own loop)."""
        ...
