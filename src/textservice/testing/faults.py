"""Fault injection: failed calls (with Google-style error details), latency, dropped links,
embeddings holding a value no real one holds (NaN, an infinity).

Rules are added to a ``FaultPlan`` (``FakeServer.faults``) and drawn once per call, in the
order they were added; each can be limited to some RPCs (``method="BatchEmbedContents"``:
any RPC the fake answers, in any service; the RPCs answering ``UNIMPLEMENTED`` take no
faults). A call gets the sum of the matching delays, then at most one failure or drop; an
answer it still gets has every matching value rule applied (``spoil``).
"""

from __future__ import annotations

import datetime
import math
import random
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import betterproto2
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from textservice._checks import is_int, is_number
from textservice._encoding.codec import embedding_layout
from textservice._encoding.requests import request_texts
from textservice._proto.google import rpc
from textservice.testing.answers import implemented_methods

StatusLike = Status | str | int
"""A gRPC status: ``Status.UNAVAILABLE``, ``"UNAVAILABLE"`` or ``14``."""

MethodFilter = str | Iterable[str] | None
"""RPC names a rule applies to (``None``: every RPC)."""


def to_status(value: StatusLike, name: str = "status") -> Status:
    """``value`` as a non-OK ``grpclib.const.Status``; ``ValueError`` naming ``name`` otherwise."""
    if isinstance(value, Status):
        status = value
    elif isinstance(value, str):
        try:
            status = Status[value.upper()]
        except KeyError:
            raise ValueError(f"{name}: unknown gRPC status name {value!r}") from None
    elif isinstance(value, int) and not isinstance(value, bool):
        try:
            status = Status(value)
        except ValueError:
            raise ValueError(f"{name}: unknown gRPC status code {value}") from None
    else:
        raise TypeError(f"{name} must be a Status, a status name or a code, not {value!r}")
    if status is Status.OK:
        raise ValueError(f"{name}: a fault needs an error status, not OK")
    return status


def _methods(
    value: MethodFilter, known: Sequence[str], name: str = "method"
) -> frozenset[str] | None:
    if value is None:
        return None
    names = [value] if isinstance(value, str) else list(value)
    for method in names:
        if method not in known:
            raise ValueError(f"{name}: unknown RPC {method!r}; known: {', '.join(known)}")
    return frozenset(names)


def _count(value: int | None, name: str) -> int | None:
    if value is None:
        return None
    if not is_int(value):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return value


def _seconds(value: float | datetime.timedelta, name: str) -> float:
    if isinstance(value, datetime.timedelta):
        value = value.total_seconds()
    if not is_number(value):
        raise TypeError(f"{name} must be seconds (a number) or a timedelta, not {value!r}")
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return float(value)


def retry_info(delay: float | datetime.timedelta) -> rpc.RetryInfo:
    """A ``google.rpc.RetryInfo`` asking the client to wait ``delay`` (seconds) before retrying."""
    seconds = _seconds(delay, "delay")
    return rpc.RetryInfo(retry_delay=datetime.timedelta(seconds=seconds))


def quota_failure(
    description: str = "Quota exceeded for requests per minute.",
    *,
    subject: str = "project:fake",
    quota_metric: str = "generativelanguage.googleapis.com/generate_requests_per_model",
    quota_id: str = "GenerateRequestsPerMinutePerProjectPerModel",
    quota_value: int = 0,
    quota_dimensions: Mapping[str, str] | None = None,
) -> rpc.QuotaFailure:
    """A ``google.rpc.QuotaFailure`` with one violation, shaped like the API's.

    ``quota_value`` is the limit (0: not said); ``quota_dimensions`` e.g.
    ``{"location": "global", "model": "gemini-embedding-001"}``.
    """
    return rpc.QuotaFailure(
        violations=[
            rpc.QuotaFailureViolation(
                subject=subject,
                description=description,
                quota_metric=quota_metric,
                quota_id=quota_id,
                quota_value=quota_value,
                quota_dimensions=dict(quota_dimensions or {}),
            )
        ]
    )


@dataclass(frozen=True)
class ValueFault:
    """One value put into the embeddings of an answer (see ``FaultPlan.bad_values``)."""

    value: float
    text: str | None = None
    """Only the embedding of the item (a text, or a content's parts) holding this text."""
    at: int = 0
    """Where in each embedding (negative: from its end)."""

    def apply(self, request: Any, answer: Any) -> bool:
        """Put the value into ``answer``'s embeddings of the matching items of ``request``;
        whether any was changed."""
        answer_type: Any = type(answer)
        layout = embedding_layout(answer_type)
        if layout is None:  # not an embedding answer
            return False
        found = getattr(answer, layout.field)
        embeddings = found if layout.repeated else [found] if found is not None else []
        changed = False
        for texts, embedding in zip(_items(request, layout.repeated), embeddings, strict=False):
            values = getattr(embedding, layout.values_field)
            if (self.text is None or self.text in texts) and -len(values) <= self.at < len(values):
                values[self.at] = self.value
                changed = True
        return changed


def _items(request: Any, repeated: bool) -> list[list[str]]:
    """The texts of each item a request embeds, in the order of its answer's embeddings."""
    if not repeated:
        return [list(request_texts(request))]
    inner = getattr(request, "requests", None)
    if inner:  # BatchEmbedContents, v1beta BatchEmbedText with requests: one per request
        return [list(request_texts(item)) for item in inner]
    return [[text] for text in request_texts(request)]  # BatchEmbedText: one per text


@dataclass(frozen=True)
class Injection:
    """What the plan does to one call."""

    delay: float = 0.0
    """Seconds to wait before doing anything else."""
    error: GRPCError | None = None
    """Answer with this error instead of serving the call."""
    drop: bool = False
    """Drop the connection instead of answering."""


@dataclass
class _Rule:
    kind: Literal["error", "delay", "drop", "value"]
    methods: frozenset[str] | None
    remaining: int | None
    """Injections left (``None``: unlimited)."""
    fraction: float | None = None
    rng: random.Random | None = None
    status: Status = Status.UNAVAILABLE
    message: str | None = None
    details: tuple[betterproto2.Message, ...] = ()
    seconds: float = 0.0
    value: ValueFault | None = None
    fired: int = field(default=0)

    def matches(self, method: str) -> bool:
        return self.methods is None or method in self.methods

    def fires(self) -> bool:
        if self.fraction is None:
            return True
        assert self.rng is not None
        return self.rng.random() < self.fraction

    def describe(self) -> str:
        where = "any RPC" if self.methods is None else "/".join(sorted(self.methods))
        left = "unlimited" if self.remaining is None else f"{self.remaining} left"
        if self.kind == "delay":
            what = f"delay {self.seconds:g}s"
        elif self.kind == "drop":
            what = "drop connection"
        elif self.kind == "value":
            assert self.value is not None
            what = f"put {self.value.value!r} into embeddings"
            if self.value.text is not None:
                what += f" of {self.value.text!r}"
        else:
            what = f"fail {self.status.name}"
            if self.fraction is not None:
                what += f" at rate {self.fraction:g}"
        return f"{what} on {where} ({left})"


class FaultPlan:
    """The fault rules of one fake; safe to change from any thread while it serves.

    ``methods``: the RPC names a rule may name (the fake's: those it answers); ``None``:
    those the fake answers in every generated version.
    """

    def __init__(self, methods: Iterable[str] | None = None) -> None:
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._known = None if methods is None else tuple(methods)

    @property
    def methods(self) -> tuple[str, ...]:
        """The RPC names a rule may be limited to."""
        if self._known is None:
            self._known = implemented_methods()
        return self._known

    def _add(self, rule: _Rule) -> None:
        with self._lock:
            self._rules.append(rule)

    def _add_error(
        self,
        method: MethodFilter,
        count: int | None,
        status: StatusLike,
        message: str | None,
        details: Sequence[betterproto2.Message],
        chance: tuple[float, random.Random] | None = None,
    ) -> None:
        """An error rule (``fail_next``, ``fail_fraction``: ``chance`` is its fraction and
        random source)."""
        fraction, rng = chance if chance is not None else (None, None)
        self._add(
            _Rule(
                "error",
                _methods(method, self.methods),
                count,
                fraction=fraction,
                rng=rng,
                status=to_status(status),
                message=message,
                details=_details(details),
            )
        )

    def fail_next(
        self,
        n: int = 1,
        status: StatusLike = Status.UNAVAILABLE,
        *,
        method: MethodFilter = None,
        message: str | None = None,
        details: Sequence[betterproto2.Message] = (),
    ) -> None:
        """Fail the next ``n`` matching calls with ``status``.

        ``details`` (e.g. ``retry_info(2.0)``, ``quota_failure()``) travel in
        ``grpc-status-details-bin`` as a ``google.rpc.Status``, as Google's servers send them.
        """
        self._add_error(method, _count(n, "n"), status, message, details)

    def fail_fraction(
        self,
        fraction: float,
        status: StatusLike = Status.UNAVAILABLE,
        *,
        seed: int = 0,
        method: MethodFilter = None,
        message: str | None = None,
        details: Sequence[betterproto2.Message] = (),
        times: int | None = None,
    ) -> None:
        """Fail each matching call with probability ``fraction`` (reproducible: ``seed``).

        ``times`` caps how many calls fail (``None``: no cap).
        """
        if not is_number(fraction):
            raise TypeError(f"fraction must be a number, not {fraction!r}")
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"fraction must be between 0 and 1, got {fraction}")
        if not is_int(seed):
            raise TypeError(f"seed must be an int, not {seed!r}")
        chance = (float(fraction), random.Random(seed))
        self._add_error(method, _count(times, "times"), status, message, details, chance)

    def delay(
        self,
        seconds: float | datetime.timedelta,
        *,
        method: MethodFilter = None,
        times: int | None = None,
    ) -> None:
        """Wait ``seconds`` before answering each matching call (``times`` calls, or all)."""
        self._add(
            _Rule(
                "delay",
                _methods(method, self.methods),
                _count(times, "times"),
                seconds=_seconds(seconds, "seconds"),
            )
        )

    def drop_next(self, n: int = 1, *, method: MethodFilter = None) -> None:
        """Drop the connection, after receiving the request, on the next ``n`` matching calls."""
        self._add(_Rule("drop", _methods(method, self.methods), _count(n, "n")))

    def bad_values(
        self,
        value: float = math.nan,
        *,
        text: str | None = None,
        at: int = 0,
        method: MethodFilter = None,
        times: int | None = None,
    ) -> None:
        """Answer matching calls with ``value`` (NaN by default; ``math.inf``, ``-math.inf``)
        at position ``at`` of the embedding of each item holding ``text`` (default: every
        item), as a broken server might; in ``times`` answers (those it changed), or all."""
        if not is_number(value):
            raise TypeError(f"value must be a float, not {value!r}")
        if not is_int(at):
            raise TypeError(f"at must be an int, not {at!r}")
        if text is not None and not isinstance(text, str):
            raise TypeError(f"text must be a str or None, not {text!r}")
        self._add(
            _Rule(
                "value",
                _methods(method, self.methods),
                _count(times, "times"),
                value=ValueFault(float(value), text, at),
            )
        )

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self._rules.clear()

    @property
    def pending(self) -> list[str]:
        """A description of each rule still active."""
        with self._lock:
            return [rule.describe() for rule in self._rules]

    def draw(self, method: str) -> Injection:
        """Decide what happens to one call of ``method`` (and use up the rules that fire)."""
        delay = 0.0
        error: GRPCError | None = None
        drop = False
        with self._lock:
            for rule in self._rules:
                if not rule.matches(method) or rule.kind == "value":  # values: ``spoil``
                    continue
                if rule.kind == "delay":
                    delay += rule.seconds
                elif error is not None or drop or not rule.fires():
                    continue
                elif rule.kind == "drop":
                    drop = True
                else:
                    message = rule.message or f"fault injected by the fake: {rule.status.name}"
                    error = GRPCError(rule.status, message, list(rule.details) or None)
                rule.fired += 1
                if rule.remaining is not None:
                    rule.remaining -= 1
            self._rules = [rule for rule in self._rules if rule.remaining != 0]
        return Injection(delay=delay, error=error, drop=drop)

    def spoil(self, method: str, request: Any, answer: Any) -> None:
        """Apply the ``bad_values`` rules matching ``method`` to ``answer`` (of ``request``);
        a rule's ``times`` counts the answers it changed."""
        with self._lock:
            for rule in self._rules:
                if rule.kind != "value" or not rule.matches(method):
                    continue
                assert rule.value is not None
                if rule.value.apply(request, answer):
                    rule.fired += 1
                    if rule.remaining is not None:
                        rule.remaining -= 1
            self._rules = [rule for rule in self._rules if rule.remaining != 0]

    def __repr__(self) -> str:
        return f"FaultPlan({self.pending!r})"


def _details(details: Sequence[betterproto2.Message]) -> tuple[betterproto2.Message, ...]:
    out = tuple(details)
    for index, detail in enumerate(out):
        if not isinstance(detail, betterproto2.Message):
            raise TypeError(
                f"details[{index}] must be a google.rpc message such as retry_info(...), "
                f"not {type(detail).__name__}"
            )
    return out
