"""Per-call options: what ``request_options`` may say, and what a call finally runs with.

Three places can set a call's timeout and retry policy; the first that sets one wins: the
call's ``request_options``, the client (``Client(timeout=..., retry=...)``), the
method's defaults from the service config (``MethodSpec``). ``resolve`` reads them in that
order into one ``ResolvedOptions``, which also knows how the timeout bounds the call: a
timeout the user gave bounds the whole call (every RPC, retry and wait); the method's default
bounds each RPC with its retries, but not the time the RPC waits for quota before it is sent
(the rate governor's admission), so a long job held back by a quota is not failed by it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import EllipsisType
from typing import Any

from textservice._checks import check_seconds, kind
from textservice._transport.methods import MethodSpec
from textservice.retry import Retry

__all__ = [
    "NO_RETRY",
    "RequestOptions",
    "ResolvedOptions",
    "RpcPolicy",
    "check_request_options",
    "check_retry",
    "resolve",
]

_REQUEST_OPTION_KEYS = frozenset({"timeout", "retry"})

NO_RETRY = Retry(max_attempts=1)
"""The policy of a method whose service config names none: no failure is retried, but a
RESOURCE_EXHAUSTED of a quota is still waited out by the client's rate governor (which
``Retry.max_attempts`` does not bound). Only ``retry=None``, given by the user, turns that
off too."""


@dataclass(frozen=True)
class RequestOptions:
    """Validated ``request_options``; ``...`` (Ellipsis) means "not given, use the default"."""

    timeout: float | EllipsisType | None = ...
    """Seconds for the whole call, retries and every batch included; ``None``: no deadline."""
    retry: Retry | EllipsisType | None = ...
    """Retry policy for every RPC of the call; ``None`` disables retries."""


@dataclass(frozen=True)
class RpcPolicy:
    """How one RPC is run: its absolute deadline (``loop.time()``) and retry policy."""

    deadline: float | None
    timeout: float | None
    """The timeout the deadline came from, for messages."""
    retry: Retry | None
    waits_count: bool = True
    """Whether time waiting for quota admission counts against ``deadline`` (a timeout the
    user gave); else (the method's default) each wait moves the deadline back by as much."""


@dataclass(frozen=True)
class ResolvedOptions:
    """The options a call runs with, from the call, the client or the method."""

    timeout: float | None
    """Seconds; ``None``: no deadline."""
    whole_call: bool
    """Whether ``timeout`` bounds the whole call (the user gave it) rather than each RPC with
    its retries (the method's default)."""
    retry: Retry | None
    user_timeout: bool | None = None
    """Whether ``timeout`` came from the user (the call or the client), not the method's
    default: only a user's timeout counts time spent waiting for quota. ``None`` (not
    given): ``whole_call``, which says the same until ``per_rpc`` makes a copy."""

    def __post_init__(self) -> None:
        if self.user_timeout is None:
            object.__setattr__(self, "user_timeout", self.whole_call)

    def call_deadline(self, now: float) -> float | None:
        """The deadline of the whole call started at ``now`` (``None``: none)."""
        if self.whole_call and self.timeout is not None:
            return now + self.timeout
        return None

    def rpc_policy(self, now: float, call_deadline: float | None = None) -> RpcPolicy:
        """The policy of one RPC started at ``now`` within a call bounded by ``call_deadline``.

        A whole-call timeout gives every RPC the call's deadline; a per-RPC one gives each
        RPC its own from ``now``.
        """
        deadline = call_deadline
        if not self.whole_call and self.timeout is not None:
            deadline = now + self.timeout
        return RpcPolicy(
            deadline=deadline,
            timeout=self.timeout,
            retry=self.retry,
            waits_count=bool(self.user_timeout),
        )

    def per_rpc(self) -> ResolvedOptions:
        """These options with the timeout bounding each RPC instead of the whole call (an
        iterator's length is the consumer's to decide, so no deadline may cover it)."""
        return ResolvedOptions(
            timeout=self.timeout,
            whole_call=False,
            retry=self.retry,
            user_timeout=self.user_timeout,
        )


def resolve(
    method: MethodSpec[Any, Any],
    options: RequestOptions,
    *,
    timeout: float | None,
    retry: Retry | EllipsisType | None,
) -> ResolvedOptions:
    """The options of a call of ``method``: ``options`` first, then the client's ``timeout``
    and ``retry``, then the method's defaults (``NO_RETRY`` when it names no policy)."""
    if not isinstance(options.timeout, EllipsisType):
        resolved_timeout, whole = options.timeout, True
    elif timeout is not None:
        resolved_timeout, whole = timeout, True
    else:
        resolved_timeout, whole = method.default_timeout, False
    if not isinstance(options.retry, EllipsisType):
        resolved_retry = options.retry
    elif not isinstance(retry, EllipsisType):
        resolved_retry = retry
    else:
        resolved_retry = method.default_retry if method.default_retry is not None else NO_RETRY
    return ResolvedOptions(timeout=resolved_timeout, whole_call=whole, retry=resolved_retry)


def check_retry(retry: object, name: str = "retry") -> Retry | None:
    """A :class:`Retry` or ``None`` (no retries); else ``TypeError``."""
    if retry is None or isinstance(retry, Retry):
        return retry
    raise TypeError(
        f"{name} must be a textservice.Retry or None (no retries), got {type(retry).__name__}"
    )


def check_request_options(request_options: object) -> RequestOptions:
    """Validate ``{"timeout": seconds, "retry": Retry | None}``; unknown keys -> ``TypeError``."""
    if request_options is None:
        return RequestOptions()
    if not isinstance(request_options, Mapping):
        raise TypeError(
            "request_options must be a mapping such as {'timeout': 30, 'retry': None}, "
            f"got {kind(request_options)}"
        )
    unknown = sorted(repr(k) for k in request_options if k not in _REQUEST_OPTION_KEYS)
    if unknown:
        raise TypeError(
            f"request_options has unknown keys {', '.join(unknown)}; allowed: 'timeout', 'retry'"
        )
    timeout: float | EllipsisType | None = ...
    retry: Retry | EllipsisType | None = ...
    if "timeout" in request_options:
        timeout = check_seconds(request_options["timeout"], "request_options['timeout']")
    if "retry" in request_options:
        retry = check_retry(request_options["retry"], "request_options['retry']")
    return RequestOptions(timeout=timeout, retry=retry)
