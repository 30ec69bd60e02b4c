"""What a call path's per-loop connection may be besides a grpclib ``Channel``.

The gRPC transport hands ``rpc.invoke`` a grpclib ``Channel``; any other transport (REST:
``textservice._transport.rest.connection.RestConnection``) hands it an object with this
protocol, which sends one attempt itself and raises what the RPC layer turns into typed
errors (``TextServiceError``, ``TimeoutError``, ``OSError``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from textservice._transport.methods import MethodSpec

__all__ = ["Connection"]


@runtime_checkable
class Connection(Protocol):
    """A connection that sends one RPC attempt itself."""

    async def unary(
        self,
        method: MethodSpec[Any, Any],
        request: Any,
        reply: Any,
        *,
        timeout: float | None,
        metadata: Sequence[tuple[str, str | bytes]],
    ) -> Any:
        """Send ``request`` as ``method``; the reply decoded as ``reply`` asks."""
        ...

    def close(self) -> None:
        """Close it (on its own loop)."""
        ...
