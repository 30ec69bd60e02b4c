"""What the fake received: one ``RecordedCall`` per request, and per-method counters.

API keys never appear in a printed form: the ``x-goog-api-key`` (and ``authorization``)
values are kept as ``Secret`` (the client's own class), which compares equal to the real string
but prints redacted.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from grpclib.const import Status

from textservice._checks import is_int
from textservice._transport.callpath import API_KEY_HEADER
from textservice._transport.secrets import Secret
from textservice.testing.tally import tally

SECRET_HEADERS = frozenset({API_KEY_HEADER, "authorization"})
"""Metadata keys whose values are recorded as ``Secret``."""

MetadataValue = str | bytes


def redact(metadata: Iterable[tuple[str, MetadataValue]]) -> tuple[tuple[str, Any], ...]:
    """Metadata pairs with the values of ``SECRET_HEADERS`` wrapped in ``Secret``."""
    return tuple(
        (key, Secret(value) if key.lower() in SECRET_HEADERS else value) for key, value in metadata
    )


@dataclass
class RecordedCall:
    """One request the fake received, and how it ended."""

    version: str
    """API version of the route, e.g. ``"v1beta"``."""
    method: str
    """RPC name, e.g. ``"BatchEmbedContents"``."""
    request: Any
    """The decoded request message (``None`` if its bytes were malformed)."""
    metadata: tuple[tuple[str, Any], ...]
    """Request metadata as received, API key values as ``Secret``."""
    started: float = field(default_factory=time.monotonic, repr=False)
    """``time.monotonic()`` when the request arrived."""
    status: Status | None = None
    """How the call ended: a gRPC status, or ``None`` while running or if dropped."""
    status_message: str | None = None
    dropped: bool = False
    """True when a fault dropped the connection instead of answering."""
    finished: float | None = field(default=None, repr=False)
    timeout: float | None = None
    """Seconds left of the client's deadline (``grpc-timeout``) on arrival; ``None``: none."""
    service: str = ""
    """Service of the route, e.g. ``"GenerativeService"``."""

    @property
    def api_key(self) -> Secret | None:
        """The ``x-goog-api-key`` sent, if any (compare it with ``==``)."""
        for key, value in self.metadata:
            if key.lower() == API_KEY_HEADER:
                return value if isinstance(value, Secret) else Secret(value)
        return None


class RequestLog:
    """Thread-safe record of calls; counters stay exact when old records are evicted."""

    def __init__(self, limit: int | None = None) -> None:
        if limit is not None and not is_int(limit):
            raise TypeError(f"limit must be an int or None, not {type(limit).__name__}")
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")
        self._lock = threading.Lock()
        self._calls: deque[RecordedCall] = deque(maxlen=limit)
        self._received: Counter[tuple[str, str]] = Counter()
        self._ended: Counter[tuple[str, str, Status | None]] = Counter()

    def start(
        self,
        version: str,
        method: str,
        request: Any,
        metadata: Iterable[tuple[str, MetadataValue]],
        timeout: float | None = None,
        *,
        service: str = "",
    ) -> RecordedCall:
        """Record a call that just arrived (``timeout``: seconds left of its deadline)."""
        call = RecordedCall(
            version, method, request, redact(metadata), timeout=timeout, service=service
        )
        with self._lock:
            self._calls.append(call)
            self._received[version, method] += 1
        return call

    def finish(
        self,
        call: RecordedCall,
        status: Status | None,
        message: str | None = None,
        *,
        dropped: bool = False,
    ) -> None:
        """Record how ``call`` ended."""
        with self._lock:
            call.status = status
            call.status_message = message
            call.dropped = dropped
            call.finished = time.monotonic()
            self._ended[call.version, call.method, status] += 1

    @property
    def calls(self) -> list[RecordedCall]:
        """The recorded calls, oldest first (a copy)."""
        with self._lock:
            return list(self._calls)

    def count(
        self,
        method: str | None = None,
        *,
        version: str | None = None,
        status: Status | None = None,
    ) -> int:
        """How many calls arrived (or, with ``status``, ended with that status)."""
        with self._lock:
            if status is None:
                return tally(self._received, version, method)
            return tally(self._ended, version, method, status)

    def counts(self) -> dict[str, int]:
        """Calls received per RPC name, e.g. ``{"BatchEmbedText": 3}``."""
        with self._lock:
            out: Counter[str] = Counter()
            for (_, method), n in self._received.items():
                out[method] += n
            return dict(out)

    def clear(self) -> None:
        """Forget every call and reset the counters."""
        with self._lock:
            self._calls.clear()
            self._received.clear()
            self._ended.clear()

    def __repr__(self) -> str:
        return f"RequestLog({self.counts()!r})"
