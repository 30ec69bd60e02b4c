"""The rules of a call stated once (issue 21): its deadline (``rpc.CallDeadline``), the most
it waits for quota (``rpc._max_retry_delay``), its cost against quotas (``rpc.invoke``) and
its concurrency (the governor's settings)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from support.runtime_specs import BATCH_EMBED_TEXT, MODEL

from textservice._proto.google.ai.generativelanguage import v1beta
from textservice._transport import rpc
from textservice._transport.options import ResolvedOptions
from textservice.client import TextServiceClient, call_path
from textservice.errors import DeadlineExceeded, ResourceExhausted
from textservice.retry import Retry
from textservice.testing import FakeServer

USER = ResolvedOptions(timeout=5.0, whole_call=True, retry=None)
"""A timeout the user gave: it bounds the whole call."""
DEFAULT = ResolvedOptions(timeout=60.0, whole_call=False, retry=Retry())
"""The method's default timeout: it bounds each RPC, not its waits for quota."""


async def _now() -> float:
    return asyncio.get_running_loop().time()


def test_a_users_timeout_bounds_the_whole_call_and_its_waits() -> None:
    async def main() -> None:
        before = await _now()
        deadline = rpc.CallDeadline(USER)
        assert deadline.deadline is not None
        assert before + 5.0 <= deadline.deadline <= await _now() + 5.0
        policy = deadline.policy()
        assert (policy.deadline, policy.timeout, policy.waits_count) == (
            deadline.deadline,
            5.0,
            True,
        )
        await asyncio.sleep(0.01)
        assert deadline.policy().deadline == deadline.deadline  # later RPCs: the same deadline

    asyncio.run(main())


def test_a_default_timeout_bounds_each_rpc_from_its_start() -> None:
    async def main() -> None:
        deadline = rpc.CallDeadline(DEFAULT)
        assert deadline.deadline is None
        first = deadline.policy()
        await asyncio.sleep(0.01)
        second = deadline.policy()
        assert first.deadline is not None and second.deadline is not None
        assert second.deadline > first.deadline  # each RPC's own, from when it starts
        assert (second.timeout, second.waits_count, second.retry) == (60.0, False, Retry())

    asyncio.run(main())


def test_an_iterators_timeout_bounds_each_batch_never_the_iteration() -> None:
    async def main() -> None:
        deadline = rpc.CallDeadline(USER, per_rpc=True)
        assert deadline.deadline is None
        policy = deadline.policy()
        assert policy.deadline is not None and policy.deadline <= await _now() + 5.0
        assert policy.waits_count  # a user's timeout still counts the waits for quota

    asyncio.run(main())


def test_an_expired_deadline_cancels_the_call_and_raises_deadline_exceeded() -> None:
    cancelled = []

    async def main() -> None:
        short = ResolvedOptions(timeout=0.05, whole_call=True, retry=None)
        async with rpc.CallDeadline(short):
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                cancelled.append(True)
                raise

    started = time.monotonic()
    with pytest.raises(DeadlineExceeded, match=r"the call.s deadline of 0\.05 s expired$"):
        asyncio.run(main())
    assert cancelled == [True] and time.monotonic() - started < 5


def test_a_call_bounded_per_rpc_arms_no_timer() -> None:
    async def main() -> tuple[int, int]:
        loop: Any = asyncio.get_running_loop()
        before = len(loop._scheduled)  # asyncio internals: the loop's pending timers
        async with rpc.CallDeadline(DEFAULT):
            during = len(loop._scheduled)
        return before, during

    before, during = asyncio.run(main())
    assert during == before


def test_one_wording_for_an_expired_deadline() -> None:
    assert rpc.deadline_expired(30.0).message == "the call's deadline of 30 s expired"
    assert rpc.deadline_expired(None).message == "the call's deadline expired"
    # grpclib's deadline, as the RPC layer reports it
    assert (
        rpc.to_error(TimeoutError(), timeout=2.5).message == "the call's deadline of 2.5 s expired"
    )


def test_the_longest_wait_for_quota() -> None:
    assert rpc._max_retry_delay(None) == rpc.DEFAULT_MAX_WAIT == 60.0
    assert rpc._max_retry_delay(Retry(max_retry_delay=5.0)) == 5.0
    assert rpc._max_retry_delay(Retry(max_retry_delay=None)) is None
    # and what is left of a deadline that counts waits shortens it
    assert rpc._max_wait(Retry(max_retry_delay=5.0), 102.0, 100.0) == 2.0
    assert rpc._max_wait(None, None, 0.0) == 60.0


def _refusal(texts: list[str] | None, request_texts: int) -> str:
    """What a client allowing 2 texts a minute says of a call: "" when it went through."""
    fake = FakeServer()

    async def main() -> str:
        client = TextServiceClient("k", channel_factory=fake.channel, texts_per_minute=2)
        path = call_path(client)
        request = v1beta.BatchEmbedTextRequest(model=MODEL, texts=["t"] * request_texts)
        policy = rpc.CallDeadline(DEFAULT).policy()
        try:
            await rpc.invoke(
                path, BATCH_EMBED_TEXT, request, policy, v1beta.BatchEmbedTextResponse, texts
            )
        except ResourceExhausted as exc:
            return str(exc)
        finally:
            await client.aclose()
        return ""

    return asyncio.run(main())


def test_the_cost_is_read_from_the_request_unless_the_texts_are_given() -> None:
    assert "one call of 3 texts exceeds the limit of 2 texts" in _refusal(None, 3)
    assert _refusal(None, 2) == ""
    # the engine passes its chunk's texts: they are what the call costs
    assert "one call of 3 texts" in _refusal(["a", "b", "c"], 1)
    assert _refusal(["a"], 3) == ""


def test_one_home_for_max_concurrency() -> None:
    client = TextServiceClient("k", endpoint="127.0.0.1:1", insecure=True, max_concurrency=3)
    try:
        path = call_path(client)
        assert path.governor.settings.max_concurrency == 3
        assert path.max_concurrency == client.max_concurrency == 3
        assert not hasattr(path, "_max_concurrency")
    finally:
        client.close()
