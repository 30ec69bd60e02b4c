"""What a RESOURCE_EXHAUSTED answer tells the governor, read from its ``google.rpc`` details.

The API names the quota it enforced in a ``QuotaFailure`` (``quota_id`` such as
``BatchEmbedContentsRequestsPerMinutePerProjectPerModel``, ``quota_metric``, and often
``quota_value``, the limit) and usually adds a ``RetryInfo`` delay; older answers put the
same facts in an ``ErrorInfo``'s metadata (``quota_limit``, ``quota_metric``,
``quota_limit_value``). ``Rejection.from_details`` reads both into plain values: which period
each violated quota has (minute, day, unknown), what it counts (requests, texts, tokens)
and its limit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from textservice._governor.cost import Unit

Period = Literal["minute", "day"]

_MINUTE = re.compile(r"per[\s_-]*minute", re.IGNORECASE)
_DAY = re.compile(r"per[\s_-]*day|daily", re.IGNORECASE)
# The word before the first "Per" of a quota id says what it counts:
# "BatchEmbedTextRequestsPerMinute..." (requests, though "Text" appears earlier),
# "GenerateContentInputTokensPerModelPerMinute" (tokens).
_ID_UNIT = re.compile(r"(Requests|Tokens|Texts)Per")
_METRIC_UNIT: tuple[tuple[re.Pattern[str], Unit], ...] = (
    (re.compile(r"token", re.IGNORECASE), "tokens"),
    (re.compile(r"texts?$", re.IGNORECASE), "texts"),
    (re.compile(r"requests?$", re.IGNORECASE), "requests"),
)
_ID_UNITS: dict[str, Unit] = {"Requests": "requests", "Tokens": "tokens", "Texts": "texts"}


def quota_period(*texts: str) -> Period | None:
    """``"day"`` if any text names a per-day quota, else ``"minute"`` if one names a
    per-minute quota, else ``None``."""
    if any(_DAY.search(text) for text in texts):
        return "day"
    if any(_MINUTE.search(text) for text in texts):
        return "minute"
    return None


def quota_unit(quota_id: str, quota_metric: str = "") -> Unit | None:
    """What a quota counts, from its id (else its metric), or ``None`` if neither says."""
    found = _ID_UNIT.search(quota_id)
    if found is not None:
        return _ID_UNITS[found.group(1)]
    for pattern, unit in _METRIC_UNIT:
        if pattern.search(quota_metric):
            return unit
    return None


@dataclass(frozen=True)
class Violation:
    """One violated quota as the server named it."""

    quota_id: str = ""
    quota_metric: str = ""
    quota_value: int | None = None
    """The limit, when the server said (a ``QuotaFailure``'s 0 means "not said")."""
    description: str = ""

    @property
    def period(self) -> Period | None:
        """The quota's period, from its id, metric or description."""
        return quota_period(self.quota_id, self.quota_metric, self.description)

    @property
    def unit(self) -> Unit | None:
        """What the quota counts, from its id or metric."""
        return quota_unit(self.quota_id, self.quota_metric)

    def describe(self) -> str:
        """``quota ID (limit N)``, with what is known."""
        name = self.quota_id or self.quota_metric or "unnamed quota"
        limit = f" (limit {self.quota_value})" if self.quota_value is not None else ""
        return f"quota {name}{limit}"


@dataclass(frozen=True)
class Rejection:
    """A RESOURCE_EXHAUSTED answer: the delay the server asked for and the quotas it named."""

    retry_delay: float | None = None
    """Seconds from ``RetryInfo``; ``None`` when the answer had none."""
    violations: tuple[Violation, ...] = ()
    no_quota: bool = False
    """The server said the quota's limit is 0: no amount of waiting gets a call through."""
    details: tuple[Any, ...] = field(default=(), compare=False, repr=False)
    """The ``google.rpc`` details it was read from (for the caller's error)."""

    @classmethod
    def from_details(cls, details: Sequence[Any]) -> Rejection:
        """Read ``RetryInfo``, ``QuotaFailure`` and ``ErrorInfo`` details (others ignored)."""
        # Imported here: the generated google.rpc module is only needed once a call failed.
        from textservice._proto.google.rpc import ErrorInfo, QuotaFailure, RetryInfo

        delay: float | None = None
        violations: list[Violation] = []
        no_quota = False
        for detail in details:
            if isinstance(detail, RetryInfo) and detail.retry_delay is not None:
                delay = max(0.0, detail.retry_delay.total_seconds())
            elif isinstance(detail, QuotaFailure):
                for v in detail.violations:
                    violations.append(
                        Violation(v.quota_id, v.quota_metric, v.quota_value or None, v.description)
                    )
            elif isinstance(detail, ErrorInfo) and "quota_limit" in detail.metadata:
                meta = detail.metadata
                value = _int(meta.get("quota_limit_value", ""))
                no_quota = no_quota or value == 0
                violation = Violation(meta["quota_limit"], meta.get("quota_metric", ""), value)
                if not any(v.quota_id == violation.quota_id for v in violations):
                    violations.append(violation)
        return cls(delay, tuple(violations), no_quota, tuple(details))

    @property
    def daily(self) -> Violation | None:
        """The first violated per-day quota, if any (waiting for it is not worth it)."""
        return next((v for v in self.violations if v.period == "day"), None)

    def describe(self) -> str:
        """The violated quotas in a few words (``"an unnamed quota"`` when none was named)."""
        if not self.violations:
            return "an unnamed quota"
        return ", ".join(v.describe() for v in self.violations)


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None
