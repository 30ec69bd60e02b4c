"""Connections: endpoint parsing, TLS, and one grpclib ``Channel`` (or REST connection) per
event loop.

A grpclib ``Channel`` belongs to the loop it was made on, so a client keeps one per loop that
uses it: its own background loop (the sync path) and each user loop that awaits it. A channel
is one HTTP/2 connection; concurrent RPCs of a loop share it as HTTP/2 streams.

A user loop may end without the client being closed (``asyncio.run`` per call is common), so
each channel is tied to its loop's shutdown: a parked async generator registered with the loop
is closed by ``loop.shutdown_asyncgens()`` (which ``asyncio.run`` and ``asyncio.Runner`` call
while the loop still runs), and closing it closes the channel, so its socket does not leak.

The REST transport's connection (an httpx client, ``rest.connection.RestConnection``) is
bound to its loop the same way and kept in the same pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import ssl
import threading
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textservice._encoding.codec import Codec
from textservice._transport.status import StatusDetailsCodec

if TYPE_CHECKING:
    # grpclib.client (with h2, its HTTP/2 stack) loads when the first channel opens, not with
    # ``import textservice``: it is ~30 ms of import time (see bench/RESULTS.md).
    from grpclib.client import Channel

    from textservice._transport.connection import Connection

__all__ = [
    "DEFAULT_ENDPOINT",
    "PLAINTEXT_SCHEMES",
    "ChannelPool",
    "Endpoint",
    "is_loopback",
    "open_tcp_channel",
    "parse_endpoint",
    "parse_endpoint_url",
    "tls_context",
]

DEFAULT_ENDPOINT = "generativelanguage.googleapis.com:443"


@dataclass(frozen=True)
class Endpoint:
    """A ``host:port`` to connect to."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_endpoint(endpoint: object, default_port: int = 443) -> Endpoint:
    """``"host"``, ``"host:port"`` or ``"[ipv6]:port"``; the port defaults to ``default_port``."""
    if not isinstance(endpoint, str):
        raise TypeError(f"endpoint must be a str 'host:port', got {type(endpoint).__name__}")
    text = endpoint.strip()
    if "://" in text:
        raise ValueError(f"endpoint must be 'host:port' without a scheme, got {endpoint!r}")
    host, port_text = text, str(default_port)
    if text.startswith("["):
        close = text.find("]")
        if close < 0 or (close + 1 < len(text) and text[close + 1] != ":"):
            raise ValueError(f"endpoint {endpoint!r} is not '[ipv6]:port'")
        host = text[1:close]
        port_text = text[close + 2 :] if close + 1 < len(text) else str(default_port)
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    elif text.count(":") > 1:
        raise ValueError(f"endpoint {endpoint!r}: write an IPv6 address as '[addr]:port'")
    if not host:
        raise ValueError(f"endpoint {endpoint!r} has no host")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"endpoint {endpoint!r} has no valid port")
    return Endpoint(host, int(port_text))


PLAINTEXT_SCHEMES = {"http": True, "https": False}
"""The schemes ``parse_endpoint_url`` takes, and whether each means plaintext (no TLS)."""


def parse_endpoint_url(value: str) -> tuple[Endpoint, bool | None]:
    """An endpoint written for an environment variable: ``"host:port"``, or with a scheme that
    also says whether to use TLS: ``"http://host:port"`` (plaintext; port 80 if none) or
    ``"https://host:port"`` (TLS; port 443 if none). Returns the endpoint and whether it is
    plaintext (``None``: no scheme, not said); a trailing ``/`` is allowed, a path is not."""
    if not isinstance(value, str):
        return parse_endpoint(value), None  # its TypeError
    scheme, found, rest = value.strip().partition("://")
    if not found:
        return parse_endpoint(value), None
    plaintext = PLAINTEXT_SCHEMES.get(scheme.lower())
    if plaintext is None:
        raise ValueError(
            f"endpoint {value!r}: the scheme must be http:// (plaintext) or https:// (TLS)"
        )
    address = rest[:-1] if rest.endswith("/") else rest
    if not address or any(c in address for c in "/?#@"):
        raise ValueError(f"endpoint {value!r} must be SCHEME://host:port, with no path")
    return parse_endpoint(address, 80 if plaintext else 443), plaintext


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host.lower() in ("localhost", "localhost.", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def tls_context() -> ssl.SSLContext:
    """TLS 1.2+ verified against the system's CA store, offering HTTP/2 by ALPN."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["h2"])
    return context


def open_tcp_channel(endpoint: Endpoint, context: ssl.SSLContext | None) -> Channel:
    """A grpclib channel to ``endpoint`` on the running loop (TLS when ``context`` is given).

    Its connections send the API key header "never indexed" by HPACK (``sensitive_headers``).
    """
    from textservice._transport.sensitive_headers import KeySafeChannel

    return KeySafeChannel(
        endpoint.host,
        endpoint.port,
        ssl=context,
        codec=Codec(),
        status_details_codec=StatusDetailsCodec(),
    )


async def _close(channel: Channel | Connection) -> None:
    """Close a channel on its loop: a REST connection's pool is awaited (``aclose``), a
    grpclib channel gets one loop pass to finish closing its socket."""
    aclose = getattr(channel, "aclose", None)
    if aclose is not None:
        await aclose()
        return
    channel.close()
    await asyncio.sleep(0)


class _Entry:
    __slots__ = ("channel", "loop", "watcher")

    def __init__(self, loop: asyncio.AbstractEventLoop, channel: Channel | Connection) -> None:
        self.loop = loop
        self.channel = channel
        self.watcher: AsyncGenerator[None, None] | None = None


class ChannelPool:
    """One channel per event loop, made by ``open_channel`` on that loop when first needed."""

    def __init__(self, open_channel: Callable[[], Channel | Connection]) -> None:
        self._open_channel = open_channel
        self._lock = threading.Lock()
        self._entries: dict[asyncio.AbstractEventLoop, _Entry] = {}
        self._closed = False

    async def get(self) -> Channel | Connection:
        """The channel of the running loop, opened on first use."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._closed:
                raise RuntimeError("the Client is closed")
            self._prune()
            entry = self._entries.get(loop)
            if entry is not None:
                return entry.channel
            entry = _Entry(loop, self._open_channel())
            self._entries[loop] = entry
        watcher = self._watch(entry)
        entry.watcher = watcher
        await anext(watcher)  # registers the generator with the loop's shutdown_asyncgens
        return entry.channel

    async def _watch(self, entry: _Entry) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            # The loop is shutting down (or the generator was collected): close our channel.
            if self._discard(entry):
                await _close(entry.channel)

    def _discard(self, entry: _Entry) -> bool:
        with self._lock:
            if self._entries.get(entry.loop) is entry:
                del self._entries[entry.loop]
                return True
            return False

    def _prune(self) -> None:
        # Loops that closed without shutting down their async generators; their sockets are
        # left to the garbage collector (a closed loop can no longer close a transport).
        for loop in [loop for loop in self._entries if loop.is_closed()]:
            del self._entries[loop]

    def renewed(self) -> ChannelPool:
        """An empty pool opening channels the same way (for a child process after a fork:
        this one's channels belong to the parent's connections)."""
        return ChannelPool(self._open_channel)

    def loops(self) -> list[asyncio.AbstractEventLoop]:
        """Loops that currently have a channel."""
        with self._lock:
            return list(self._entries)

    async def close_current(self) -> None:
        """Close the running loop's channel, if any (the pool stays open)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            entry = self._entries.pop(loop, None)
        if entry is not None:
            await _close(entry.channel)
            if entry.watcher is not None:
                await entry.watcher.aclose()

    def close(self, *, skip: asyncio.AbstractEventLoop | None = None) -> None:
        """Refuse new channels and close every channel whose loop is alive.

        The running loop's channel is closed here; another live loop's by a callback on that
        loop; ``skip``'s is left alone (its owner closes it on its own loop).
        """
        with self._lock:
            self._closed = True
            entries = [e for loop, e in self._entries.items() if loop is not skip]
            for entry in entries:
                del self._entries[entry.loop]
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        for entry in entries:
            if entry.loop is running:
                entry.channel.close()
            elif not entry.loop.is_closed():
                with contextlib.suppress(RuntimeError):  # closed meanwhile
                    entry.loop.call_soon_threadsafe(entry.channel.close)
