"""Quotas like the API's, for the fake: over a limit, calls get RESOURCE_EXHAUSTED.

Each (method, model) pair has its own quotas, as the API's ``...PerProjectPerModel``
quotas: requests per minute, texts per minute, input tokens per minute (a text counts
``ceil(UTF-8 bytes / 4)`` tokens, ``textservice._governor.estimate_tokens``) and requests
per day. The method is the RPC's name as served (every RPC of every service and version the
fake serves; versions share one count, as they share the API's quota); the model is the
request's ``model`` field (calls without one count per method). The texts of a request are
the strings in its fields named ``text`` or ``texts``, at any depth (``EmbedText.text``,
``BatchEmbedText.texts``, ``requests[].text``, ``content.parts[].text``), read by
``textservice._encoding.requests`` as the client's rate governor reads them.

An answer over a limit is RESOURCE_EXHAUSTED with the details the API sends: a
``google.rpc.QuotaFailure`` naming every quota the call would exceed (``quota_id`` such as
``BatchEmbedTextRequestsPerMinutePerProjectPerModel``, ``quota_metric``,
``quota_dimensions`` with the model, ``quota_value``: the limit, left out with
``send_quota_value=False``), a ``Help`` link and, when a per-minute quota is exceeded, a
``RetryInfo`` delay until the call would fit (left out with ``retry_info=False``, as the
API sometimes does; never sent for a per-day quota alone).
The quotas are checked when a call arrives, after its API key and before anything else
(fault rules, latency, request checks): an over-quota answer comes back at once, as the
API's do, and every call let through counts, even one that fails later. Rejected calls do
not count against any quota.

Windows. Per-minute quotas count in fixed minutes by default (``window="fixed"``), as
Google Cloud's rate quotas refill at the start of each minute: ``RetryInfo`` says how long
until the next minute starts. ``window="sliding"`` counts the last 60 s instead: the delay
is until enough of the oldest calls leave the window. Per-day quotas count fixed days.
Minutes and days start when the fake is made (or ``reset``).

Time. ``time_scale=60`` runs the quota clock 60 times faster than real time: a minute
window lasts one real second, a day 24 real minutes. Limits stay "per minute"; the
``RetryInfo`` delay is in real seconds (what a client must actually wait).
"""

from __future__ import annotations

import datetime
import math
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal

import betterproto2
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from textservice._checks import is_int, is_number
from textservice._encoding.requests import request_model, request_texts
from textservice._fake_server_options import QUOTA_OPTIONS
from textservice._governor.cost import estimate_tokens
from textservice._proto.google import rpc
from textservice.testing.tally import tally

Window = Literal["fixed", "sliding"]

MINUTE = 60.0
DAY = 86_400.0
SERVICE = "generativelanguage.googleapis.com"
HELP_URL = "https://ai.google.dev/gemini-api/docs/rate-limits"

_LIMIT_FIELDS = ("requests_per_minute", "texts_per_minute", "tokens_per_minute", "requests_per_day")


@dataclass(frozen=True)
class Quotas:
    """The fake's quotas: every limit applies to each (method, model) pair; ``None``: none.

    Example: ``FakeServer(quotas=Quotas(requests_per_minute=10, time_scale=60))``, or a
    dict of these fields (``quotas={"requests_per_minute": 10}``, e.g. in the pytest marker).
    """

    requests_per_minute: int | None = None
    texts_per_minute: int | None = None
    tokens_per_minute: int | None = None
    """Input tokens per minute; a text counts ``ceil(UTF-8 bytes / 4)``."""
    requests_per_day: int | None = None
    retry_info: bool = True
    """Send a ``RetryInfo`` delay with per-minute rejections."""
    send_quota_value: bool = True
    """Name the limit in each violation's ``quota_value`` (the API does not always)."""
    window: Window = "fixed"
    """``"fixed"`` minutes or a ``"sliding"`` 60 s window for per-minute quotas."""
    time_scale: float = 1.0
    """How much faster than real time the quota clock runs."""
    methods: frozenset[str] | None = None
    """RPC names the quotas apply to (``None``: every RPC)."""

    def __post_init__(self) -> None:
        for name in _LIMIT_FIELDS:
            value = getattr(self, name)
            if value is None:
                continue
            if not is_int(value):
                raise TypeError(f"{name} must be an int or None, not {type(value).__name__}")
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        for flag in ("retry_info", "send_quota_value"):
            if not isinstance(getattr(self, flag), bool):
                raise TypeError(f"{flag} must be a bool, not {type(getattr(self, flag)).__name__}")
        if self.window not in ("fixed", "sliding"):
            raise ValueError(f"window must be 'fixed' or 'sliding', got {self.window!r}")
        scale = self.time_scale
        if not is_number(scale):
            raise TypeError(f"time_scale must be a number, not {type(scale).__name__}")
        if not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"time_scale must be a finite number > 0, got {scale}")
        object.__setattr__(self, "time_scale", float(scale))
        if self.methods is not None:
            names = [self.methods] if isinstance(self.methods, str) else list(self.methods)
            for method in names:
                if not isinstance(method, str):
                    raise TypeError(f"methods: RPC names are str, not {type(method).__name__}")
            object.__setattr__(self, "methods", frozenset(names))
        if not self.limited:
            raise ValueError(
                "quotas need at least one limit: requests_per_minute, texts_per_minute, "
                "tokens_per_minute or requests_per_day"
            )

    @property
    def limited(self) -> bool:
        """Whether any limit is set."""
        return any(getattr(self, name) is not None for name in _LIMIT_FIELDS)

    @classmethod
    def of(cls, value: Quotas | Mapping[str, Any] | None) -> Quotas | None:
        """``value`` as ``Quotas``: a ``Quotas``, a dict of its fields, or ``None``."""
        if value is None or isinstance(value, Quotas):
            return value
        if isinstance(value, Mapping):
            known = {f.name for f in fields(cls)}
            unknown = sorted(set(value) - known)
            if unknown:
                raise TypeError(f"quotas: unknown option(s) {unknown}; known: {sorted(known)}")
            return cls(**value)
        raise TypeError(f"quotas must be a Quotas, a dict or None, not {type(value).__name__}")

    def describe(self) -> str:
        """A one-line summary, e.g. ``10 requests/min per method and model``."""
        parts = []
        for name, label in (
            ("requests_per_minute", "requests/min"),
            ("texts_per_minute", "texts/min"),
            ("tokens_per_minute", "tokens/min"),
            ("requests_per_day", "requests/day"),
        ):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{value} {label}")
        text = ", ".join(parts) + " per method and model"
        text += f" ({self.window} minutes"
        if self.time_scale != 1.0:
            text += f", clock x{self.time_scale:g}"
        if not self.retry_info:
            text += ", no RetryInfo"
        if not self.send_quota_value:
            text += ", no quota_value"
        return text + ")"


# -- command-line options ---------------------------------------------------------------------


def quotas_from_arguments(values: Mapping[str, Any]) -> Quotas | None:
    """The ``Quotas`` the parsed quota options ask for (``None`` if none was given), from
    either command's values (``textservice._fake_server_options``, by ``dest``).

    ``ValueError``/``TypeError`` when the values are invalid, or when options such as
    ``--time-scale`` are given without any limit.
    """
    given: dict[str, Any] = {}
    for option in QUOTA_OPTIONS:
        value = values.get(option.dest)
        if value is None or value is False:
            continue
        assert option.field is not None
        given[option.field] = False if option.kind == "flag" else value
    if not given:
        return None
    if not any(name in given for name in _LIMIT_FIELDS):
        flags = ", ".join(o.flag for o in QUOTA_OPTIONS if o.field in _LIMIT_FIELDS)
        raise ValueError(f"quota options need at least one limit ({flags})")
    try:
        return Quotas(**given)
    except (TypeError, ValueError) as exc:  # say it with the option the user typed
        message = str(exc)
        for option in QUOTA_OPTIONS:
            assert option.field is not None
            message = message.replace(option.field, option.flag)
        raise type(exc)(message) from None


# -- counting -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Quota:
    """One limit: what it counts, over which period, and how the API names it."""

    field: str
    unit: Literal["requests", "texts", "tokens"]
    period: float
    id_template: str
    metric_template: str

    def quota_id(self, method: str) -> str:
        return self.id_template.format(method=method)

    def metric(self, method: str) -> str:
        return f"{SERVICE}/" + self.metric_template.format(method=_snake(method))


_QUOTAS = (
    _Quota(
        "requests_per_minute",
        "requests",
        MINUTE,
        "{method}RequestsPerMinutePerProjectPerModel",
        "{method}_requests",
    ),
    _Quota(
        "texts_per_minute",
        "texts",
        MINUTE,
        "{method}TextsPerMinutePerProjectPerModel",
        "{method}_texts",
    ),
    _Quota(
        "tokens_per_minute",
        "tokens",
        MINUTE,
        "{method}InputTokensPerMinutePerProjectPerModel",
        "{method}_input_token_count",
    ),
    _Quota(
        "requests_per_day",
        "requests",
        DAY,
        "{method}RequestsPerDayPerProjectPerModel",
        "{method}_requests",
    ),
)


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))


class _Usage:
    """What one (method, model) used of one quota: fixed windows or a sliding log."""

    def __init__(self, period: float, sliding: bool) -> None:
        self._period = period
        self._sliding = sliding
        self._window = -1
        self._used = 0
        self._log: deque[tuple[float, int]] = deque()

    def _roll(self, now: float) -> None:
        if self._sliding:
            while self._log and self._log[0][0] + self._period <= now:
                self._used -= self._log.popleft()[1]
            return
        window = math.floor(now / self._period)
        if window != self._window:
            self._window, self._used = window, 0

    def wait(self, now: float, amount: int, limit: int) -> float | None:
        """Quota seconds until ``amount`` more fits (0: now); ``None``: it fits now."""
        self._roll(now)
        if self._used + amount <= limit:
            return None
        if not self._sliding:
            return (self._window + 1) * self._period - now
        excess = self._used + amount - limit
        freed = 0
        for at, used in self._log:
            freed += used
            if freed >= excess:
                return at + self._period - now
        # more than the whole limit: it never fits; the window empties at the latest here
        return (self._log[-1][0] + self._period - now) if self._log else self._period

    def add(self, now: float, amount: int) -> None:
        self._roll(now)
        self._used += amount
        if self._sliding:
            self._log.append((now, amount))


@dataclass(frozen=True)
class _Violated:
    quota: _Quota
    limit: int
    wait: float


class QuotaLedger:
    """The fake's quota counts, shared by every channel and thread serving it.

    ``check`` admits a call (and counts it) or returns the RESOURCE_EXHAUSTED error to send.
    ``accepted``/``rejected`` count calls per method, model and (for rejections) quota.
    """

    def __init__(self, quotas: Quotas, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._quotas = quotas
        self._clock = clock
        self._lock = threading.Lock()
        self._start = clock()
        self._usage: dict[tuple[str, str, str], _Usage] = {}
        self._accepted: Counter[tuple[str, str]] = Counter()
        self._rejected: Counter[tuple[str, str, str]] = Counter()
        self._rejected_calls: Counter[tuple[str, str]] = Counter()

    @property
    def quotas(self) -> Quotas:
        """The quotas enforced."""
        return self._quotas

    def now(self) -> float:
        """Quota-clock seconds since the start (real seconds times ``time_scale``)."""
        return (self._clock() - self._start) * self._quotas.time_scale

    def reset(self) -> None:
        """Forget all use and counts; windows start again now."""
        with self._lock:
            self._start = self._clock()
            self._usage.clear()
            self._accepted.clear()
            self._rejected.clear()
            self._rejected_calls.clear()

    def applies_to(self, method: str) -> bool:
        """Whether ``method`` is limited."""
        return self._quotas.methods is None or method in self._quotas.methods

    def check(self, method: str, request: Any) -> GRPCError | None:
        """Count the call if every quota has room for it; else the error to answer with."""
        if not self.applies_to(method):
            return None
        model = request_model(request)
        texts = list(request_texts(request))
        amounts = {
            "requests": 1,
            "texts": len(texts),
            "tokens": sum(estimate_tokens(text) for text in texts),
        }
        with self._lock:
            now = self.now()
            active = [
                (quota, limit)
                for quota in _QUOTAS
                if (limit := getattr(self._quotas, quota.field)) is not None
            ]
            violated: list[_Violated] = []
            for quota, limit in active:
                wait = self._usage_of(method, model, quota).wait(now, amounts[quota.unit], limit)
                if wait is not None:
                    violated.append(_Violated(quota, limit, wait))
            if not violated:
                for quota, _ in active:
                    self._usage_of(method, model, quota).add(now, amounts[quota.unit])
                self._accepted[method, model] += 1
                return None
            self._rejected_calls[method, model] += 1
            for v in violated:
                self._rejected[method, model, v.quota.quota_id(method)] += 1
        return self._error(method, model, violated)

    def _usage_of(self, method: str, model: str, quota: _Quota) -> _Usage:
        key = (method, model, quota.field)
        usage = self._usage.get(key)
        if usage is None:
            sliding = quota.period == MINUTE and self._quotas.window == "sliding"
            usage = self._usage[key] = _Usage(quota.period, sliding)
        return usage

    def _error(self, method: str, model: str, violated: Sequence[_Violated]) -> GRPCError:
        short_model = model.removeprefix("models/")
        dimensions = {"location": "global"} | ({"model": short_model} if short_model else {})
        violations = [
            rpc.QuotaFailureViolation(
                description=f"{v.limit} {v.quota.unit} per "
                f"{'minute' if v.quota.period == MINUTE else 'day'}",
                quota_metric=v.quota.metric(method),
                quota_id=v.quota.quota_id(method),
                quota_dimensions=dict(dimensions),
                quota_value=v.limit if self._quotas.send_quota_value else 0,
            )
            for v in violated
        ]
        details: list[betterproto2.Message] = [
            rpc.QuotaFailure(violations=violations),
            rpc.Help(links=[rpc.HelpLink(description="Gemini API rate limits", url=HELP_URL)]),
        ]
        per_minute = [v.wait for v in violated if v.quota.period == MINUTE]
        if per_minute and self._quotas.retry_info:
            seconds = math.ceil(max(per_minute) / self._quotas.time_scale * 1000) / 1000
            details.append(rpc.RetryInfo(retry_delay=datetime.timedelta(seconds=seconds)))
        first = violated[0]
        message = (
            f"Quota exceeded for quota metric '{first.quota.metric(method)}' and limit "
            f"'{first.quota.quota_id(method)}' ({first.limit}) of service '{SERVICE}'"
            + (f" for model {model}" if model else "")
            + f". See {HELP_URL}"
        )
        return GRPCError(Status.RESOURCE_EXHAUSTED, message, details)

    # -- observations ----------------------------------------------------------------------

    def accepted(self, method: str | None = None, *, model: str | None = None) -> int:
        """Calls counted against the quotas (of ``method``/``model``)."""
        with self._lock:
            return tally(self._accepted, method, model)

    def rejected(
        self,
        method: str | None = None,
        *,
        model: str | None = None,
        quota_id: str | None = None,
    ) -> int:
        """Calls answered RESOURCE_EXHAUSTED (of ``method``/``model``; with ``quota_id``,
        those over that quota: a call over several quotas counts for each)."""
        with self._lock:
            if quota_id is None:
                return tally(self._rejected_calls, method, model)
            return tally(self._rejected, method, model, quota_id)

    def __repr__(self) -> str:
        return f"QuotaLedger({self._quotas.describe()})"


def known_methods(names: Iterable[str], quotas: Quotas) -> None:
    """``ValueError`` if ``quotas.methods`` names an RPC not in ``names`` (the served ones)."""
    served = set(names)
    if quotas.methods is None:
        return
    unknown = sorted(quotas.methods - served)
    if unknown:
        raise ValueError(f"quotas.methods: unknown RPC(s) {unknown}; served: {sorted(served)}")
