"""Helpers of the governor's tests: a governor on a manual clock, rejections like the API's."""

from __future__ import annotations

import asyncio
import datetime
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from textservice._governor import (
    Cost,
    GovernorSettings,
    ManualClock,
    QuotaKey,
    QuotaRefused,
    RateGovernor,
    Rejection,
    Ticket,
)
from textservice._proto.google import rpc

T = TypeVar("T")

KEY = QuotaKey("BatchEmbedText", "models/embedding-gecko-001")
MINUTE_ID = "BatchEmbedTextRequestsPerMinutePerProjectPerModel"
DAY_ID = "BatchEmbedTextRequestsPerDayPerProjectPerModel"
METRIC = "generativelanguage.googleapis.com/batch_embed_text_requests"


def governor(seed: int = 0, **settings: Any) -> tuple[RateGovernor, ManualClock]:
    """A governor on a ``ManualClock`` at 0, jitter drawn from ``random.Random(seed)``."""
    clock = ManualClock()
    return RateGovernor(GovernorSettings(**settings), clock=clock, rng=random.Random(seed)), clock


def details(
    delay: float | None = None,
    quota_id: str = MINUTE_ID,
    quota_value: int = 0,
    metric: str = METRIC,
) -> list[Any]:
    """``google.rpc`` details of a RESOURCE_EXHAUSTED answer (RetryInfo only with ``delay``)."""
    violation = rpc.QuotaFailureViolation(
        quota_metric=metric, quota_id=quota_id, quota_value=quota_value
    )
    out: list[Any] = [rpc.QuotaFailure(violations=[violation])]
    if delay is not None:
        out.append(rpc.RetryInfo(retry_delay=datetime.timedelta(seconds=delay)))
    return out


def rejection(delay: float | None = None, **kwargs: Any) -> Rejection:
    """A ``Rejection`` read from ``details(delay, **kwargs)``."""
    return Rejection.from_details(details(delay, **kwargs))


def run(scenario: Callable[[], Awaitable[T]]) -> T:
    """Run an async scenario on a fresh loop."""

    async def main() -> T:
        return await scenario()

    return asyncio.run(main())


async def settle() -> None:
    """Let every callback already scheduled on this loop run (no time passes)."""
    for _ in range(10):
        await asyncio.sleep(0)


class Waiting:
    """One ``acquire`` running as a task: ``ticket`` once admitted, ``error`` if refused."""

    def __init__(
        self,
        gov: RateGovernor,
        cost: Cost | None = None,
        key: QuotaKey = KEY,
        max_wait: float | None = None,
    ) -> None:
        self.task: asyncio.Task[Ticket] = asyncio.ensure_future(
            gov.acquire(key, cost if cost is not None else Cost(), max_wait)
        )

    @property
    def ticket(self) -> Ticket | None:
        if self.task.done() and not self.task.cancelled() and self.task.exception() is None:
            return self.task.result()
        return None

    @property
    def error(self) -> QuotaRefused | None:
        if self.task.done() and not self.task.cancelled():
            exc = self.task.exception()
            assert exc is None or isinstance(exc, QuotaRefused), exc
            return exc
        return None


async def admitted_now(gov: RateGovernor, cost: Cost | None = None, key: QuotaKey = KEY) -> Ticket:
    """A ticket that must be granted without waiting."""
    waiting = Waiting(gov, cost, key)
    await settle()
    assert waiting.ticket is not None, "expected admission without waiting"
    return waiting.ticket
