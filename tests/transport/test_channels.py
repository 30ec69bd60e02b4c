"""``textservice._transport.channels``: endpoint parsing, loopback hosts, the TLS context, and
the pool of one channel per event loop (closed with its loop, or by the client). The pool is
driven with stand-in channels: no socket is opened. (Clients over real channels:
test_client_calls.py, test_client_config.py.)"""

from __future__ import annotations

import asyncio
import ssl
import threading
from typing import Any

import pytest

from textservice._transport.channels import (
    DEFAULT_ENDPOINT,
    ChannelPool,
    Endpoint,
    is_loopback,
    parse_endpoint,
    tls_context,
)


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        (DEFAULT_ENDPOINT, "generativelanguage.googleapis.com", 443),
        ("example.com", "example.com", 443),
        ("  example.com:8443 ", "example.com", 8443),
        ("127.0.0.1:50051", "127.0.0.1", 50051),
        ("[::1]:50051", "::1", 50051),
        ("[2001:db8::1]", "2001:db8::1", 443),
        ("h:65535", "h", 65535),
    ],
)
def test_endpoints_parse_to_host_and_port(text: str, host: str, port: int) -> None:
    endpoint = parse_endpoint(text)
    assert endpoint == Endpoint(host, port)
    assert parse_endpoint(str(endpoint)) == endpoint  # str() writes it back, IPv6 bracketed


def test_an_ipv6_endpoint_prints_bracketed() -> None:
    assert str(Endpoint("::1", 50051)) == "[::1]:50051"
    assert str(Endpoint("localhost", 443)) == "localhost:443"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("https://example.com", "without a scheme"),
        ("::1", "as '\\[addr\\]:port'"),
        ("[::1", "is not '\\[ipv6\\]:port'"),
        ("[::1]x", "is not '\\[ipv6\\]:port'"),
        (":443", "has no host"),
        ("", "has no host"),
        ("host:", "no valid port"),
        ("host:http", "no valid port"),
        ("host:0", "no valid port"),
        ("host:65536", "no valid port"),
        ("host:-1", "no valid port"),
    ],
)
def test_bad_endpoints_are_refused_naming_the_problem(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_endpoint(text)


@pytest.mark.parametrize("value", [None, 443, b"host:443", ("host", 443)])
def test_an_endpoint_must_be_a_string(value: object) -> None:
    with pytest.raises(TypeError, match="endpoint must be a str"):
        parse_endpoint(value)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("LOCALHOST", True),
        ("localhost.", True),
        ("ip6-localhost", True),
        ("127.0.0.1", True),
        ("127.255.0.9", True),
        ("::1", True),
        ("0.0.0.0", False),
        ("10.0.0.1", False),
        ("192.168.1.1", False),
        ("::", False),
        ("localhost.example.com", False),
        ("generativelanguage.googleapis.com", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_tls_verifies_the_server_and_needs_tls_1_2() -> None:
    context = tls_context()
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert context.minimum_version is ssl.TLSVersion.TLSv1_2


# -- the pool, with stand-in channels ------------------------------------------------------


class StandInChannel:
    """Counts how often it is closed, and on which thread."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.closed = 0
        self.closed_on: list[int] = []

    def close(self) -> None:
        self.closed += 1
        self.closed_on.append(threading.get_ident())


class Opener:
    """The pool's ``open_channel``: a new numbered stand-in on each call."""

    def __init__(self) -> None:
        self.opened: list[StandInChannel] = []

    def __call__(self) -> Any:
        channel = StandInChannel(len(self.opened))
        self.opened.append(channel)
        return channel


async def got(pool: ChannelPool) -> StandInChannel:
    """``pool.get()``, which hands out the opener's stand-ins."""
    channel = await pool.get()
    assert isinstance(channel, StandInChannel)
    return channel


def test_one_channel_per_loop_reused_within_it_and_closed_when_its_loop_ends() -> None:
    opener = Opener()
    pool = ChannelPool(opener)

    async def twice() -> tuple[Any, Any]:
        first = await got(pool)
        assert pool.loops() == [asyncio.get_running_loop()]
        return first, await got(pool)

    a, b = asyncio.run(twice())
    assert a is b is opener.opened[0]
    assert a.closed == 1  # asyncio.run shut its async generators down: the channel closed
    assert pool.loops() == []
    c, _ = asyncio.run(twice())
    assert c is opener.opened[1] and c.closed == 1  # a new loop, a new channel


def test_a_loop_closed_without_shutting_down_is_pruned() -> None:
    opener = Opener()
    pool = ChannelPool(opener)
    loop = asyncio.new_event_loop()
    channel = loop.run_until_complete(got(pool))
    loop.close()  # no shutdown_asyncgens(): nothing closed the channel
    assert channel.closed == 0 and pool.loops() == [loop]

    async def another() -> Any:
        return await got(pool)

    assert asyncio.run(another()) is opener.opened[1]
    assert loop not in pool.loops()


def test_close_current_closes_the_running_loops_channel_and_keeps_the_pool_open() -> None:
    opener = Opener()
    pool = ChannelPool(opener)

    async def main() -> tuple[Any, Any]:
        first = await got(pool)
        await pool.close_current()
        assert first.closed == 1 and pool.loops() == []
        await pool.close_current()  # nothing open: nothing to do
        return first, await got(pool)

    first, second = asyncio.run(main())
    assert first.closed == 1  # once: the loop's shutdown does not close it again
    assert second is opener.opened[1] and second.closed == 1


def test_closing_the_pool_closes_each_live_loops_channel_on_that_loop() -> None:
    opener = Opener()
    pool = ChannelPool(opener)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever)
    thread.start()
    try:
        other = asyncio.run_coroutine_threadsafe(got(pool), loop).result(timeout=10)
        skipped_loop = asyncio.new_event_loop()
        skipped = skipped_loop.run_until_complete(got(pool))

        async def close_from_a_running_loop() -> Any:
            mine = await got(pool)
            pool.close(skip=skipped_loop)
            assert mine.closed == 1  # the running loop's channel: closed at once
            with pytest.raises(RuntimeError, match="closed"):
                await got(pool)
            return mine

        asyncio.run(close_from_a_running_loop())
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0), loop).result(timeout=10)
        assert other.closed == 1 and other.closed_on == [thread.ident]  # on its own loop
        assert skipped.closed == 0  # left to its owner
        assert pool.loops() == [skipped_loop]
        skipped_loop.close()
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def test_closing_the_pool_outside_any_loop() -> None:
    opener = Opener()
    pool = ChannelPool(opener)
    closed_loop = asyncio.new_event_loop()
    stale = closed_loop.run_until_complete(got(pool))
    closed_loop.close()
    pool.close()  # a closed loop cannot run a callback: its channel is left to the collector
    assert stale.closed == 0 and pool.loops() == []

    async def after() -> None:
        await got(pool)

    with pytest.raises(RuntimeError, match="the Client is closed"):
        asyncio.run(after())
    assert len(opener.opened) == 1
