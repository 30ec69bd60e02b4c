"""``IncomingCall``: one call as a face of the fake (gRPC, REST) hands it to ``FakeServer``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from textservice.testing.versions import ApiVersion, Service

__all__ = ["IncomingCall"]


@dataclass(frozen=True)
class IncomingCall:
    """One call, as a face (gRPC, REST) hands it to ``FakeServer.serve_call``: its route, what
    came with it, and the face's ways to read its request, answer it and drop it."""

    version: ApiVersion
    service: Service
    method: str
    """The RPC's name, e.g. ``"EmbedContent"``."""
    metadata: Sequence[tuple[str, Any]]
    """What came with it (gRPC metadata, HTTP headers), the API key among it."""
    timeout: float | None
    """Seconds left of its deadline on arrival; ``None``: it has none."""
    read: Callable[[], Awaitable[Any]]
    """Its request message; raises ``GRPCError`` when the request cannot be read."""
    send: Callable[[Any], Awaitable[None]]
    """Sends the answer (a response message)."""
    drop: Callable[[], None]
    """Drops the connection without an answer (the ``drop_next`` fault)."""
    expired: Callable[[], bool]
    """Whether its deadline has passed (tells a deadline from a client that went away)."""
