"""One unary RPC with metadata, deadline, quota admission and retries; every failure becomes a
typed error.

Every attempt is admitted by the client's rate governor (``CallPath.governor``) before it is
sent, keyed by (method, the request's ``model``) and costed by the texts the request carries,
and reports how it went. RESOURCE_EXHAUSTED is the governor's to handle: it pauses the key
for everyone, lowers the concurrency, and says whether this call is retried (when the pause
ends: ``admit`` holds it) or fails now (a per-day quota, a delay longer than
``Retry.max_retry_delay``: an error naming the quota). Those retries are not counted against
``Retry.max_attempts`` (which bounds the other failures, and RESOURCE_EXHAUSTED answers that
name neither a quota nor a delay: they may not be about a quota at all), and the time spent
waiting for admission does not count against a method's default per-RPC deadline; a timeout
the user gave bounds everything.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import ssl
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar, cast

from grpclib.const import Status
from grpclib.exceptions import GRPCError, StreamTerminatedError

from textservice._encoding.codec import RawReply, decode_quick, decode_slow
from textservice._encoding.requests import request_model, request_texts
from textservice._governor import (
    Cost,
    Decision,
    QuotaKey,
    QuotaRefused,
    Refusal,
    Rejection,
    Ticket,
)
from textservice._transport.connection import Connection, Reply, UnaryCall
from textservice._transport.decoding import off_loop
from textservice._transport.methods import MethodSpec, RequestT
from textservice._transport.options import RequestOptions, ResolvedOptions, RpcPolicy
from textservice._transport.secrets import holds_secret, live_secrets, scrub, scrub_details
from textservice.errors import (
    Cancelled,
    DeadlineExceeded,
    Internal,
    ResourceExhausted,
    TextServiceError,
    Unavailable,
    error_for_status,
)
from textservice.retry import Retry

if TYPE_CHECKING:
    from grpclib.client import Channel, UnaryUnaryMethod

    from textservice._transport.callpath import CallPath

__all__ = ["CallDeadline", "call", "deadline_expired", "invoke", "to_error"]

T = TypeVar("T")


log = logging.getLogger("textservice")

DEFAULT_MAX_WAIT: float = Retry().max_retry_delay or 60.0
"""The longest server-asked wait of a call made without retries (``retry=None``)."""


def _max_retry_delay(retry: Retry | None) -> float | None:
    """The longest server-asked wait a call takes (``None``: any): ``Retry.max_retry_delay``,
    or ``DEFAULT_MAX_WAIT`` without retries. The one home of the maximum-wait rule."""
    return DEFAULT_MAX_WAIT if retry is None else retry.max_retry_delay


def _deadline_of(timeout: float | None) -> str:
    """``the call's deadline of 30 s``: how errors name the deadline that bounds a call."""
    return f"the call's deadline of {timeout:g} s" if timeout is not None else "the call's deadline"


def deadline_expired(timeout: float | None) -> DeadlineExceeded:
    """The error of a call (or RPC) whose deadline, from ``timeout`` seconds, passed."""
    return DeadlineExceeded(f"{_deadline_of(timeout)} expired")


class CallDeadline:
    """The one deadline rule of a call (``call``, a list's ``embed_many``, an iterator's
    batches): what bounds it as a whole, and each RPC's ``RpcPolicy``.

    A timeout the user gave (the call's or the client's) bounds the whole call from now:
    every RPC, retry and wait for quota; ``async with`` the ``CallDeadline`` cancels the
    call's RPCs when it passes and raises ``DeadlineExceeded``. The method's default timeout
    bounds each RPC with its retries, each from when it starts, but not its waits for quota
    (``rpc_policy``: ``waits_count``); so does any timeout of an iterator (``per_rpc``),
    whose length is the consumer's to decide.
    """

    __slots__ = ("_loop", "_timeout", "deadline", "options")

    def __init__(self, options: ResolvedOptions, *, per_rpc: bool = False) -> None:
        self.options = options.per_rpc() if per_rpc else options
        self._loop = asyncio.get_running_loop()
        self.deadline = self.options.call_deadline(self._loop.time())
        """The whole call's deadline (``loop.time()``), or ``None`` when only its RPCs have."""
        self._timeout: asyncio.Timeout | None = None

    def policy(self) -> RpcPolicy:
        """The policy of an RPC starting now."""
        return self.options.rpc_policy(self._loop.time(), self.deadline)

    async def __aenter__(self) -> CallDeadline:
        if self.deadline is not None:  # no timer at all for a call bounded per RPC
            self._timeout = asyncio.timeout_at(self.deadline)
            await self._timeout.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        timeout, self._timeout = self._timeout, None
        if timeout is None:
            return
        try:
            await timeout.__aexit__(*exc_info)
        except TimeoutError:
            raise deadline_expired(self.options.timeout) from None


_MIN_REDACTED = 6


def to_error(exc: BaseException, *, timeout: float | None = None) -> TextServiceError:
    """The typed error for what an RPC raised (``CancelledError`` is never passed here)."""
    if isinstance(exc, TextServiceError):
        return exc
    if isinstance(exc, GRPCError):
        details = exc.details if isinstance(exc.details, list) else []
        return error_for_status(exc.status, exc.message or "", details)
    if isinstance(exc, TimeoutError):  # grpclib's deadline (before OSError: a subclass)
        return deadline_expired(timeout)
    if isinstance(exc, StreamTerminatedError):
        return Unavailable(f"the connection was dropped during the call ({exc})")
    if isinstance(exc, ssl.SSLError):
        return Unavailable(f"TLS failed: {exc}")
    if isinstance(exc, OSError):  # ConnectionError, refused, DNS failures, resets
        return Unavailable(f"could not reach the server: {exc}")
    return Internal(
        f"the response could not be processed: {type(exc).__name__}: {exc}".rstrip(": ")
    )


def _retryable_transport(error: TextServiceError) -> bool:
    # A certificate or TLS-version mismatch does not heal by waiting.
    return not isinstance(error.__cause__, ssl.SSLError)


def _redact(error: TextServiceError) -> TextServiceError:
    """Remove API keys from the error's text and details; drop the chained cause if it held one.

    Keys of every live client are removed (a server may echo any of them, in its message or
    in a ``google.rpc`` detail such as ``ErrorInfo``); what pickling keeps (message, details,
    partial) is then free of them too. Keys shorter than ``_MIN_REDACTED`` (never real API
    keys) are left alone: blanking one or two letters everywhere would garble messages
    without protecting anything.
    """
    secrets = [s for s in live_secrets() if len(s) >= _MIN_REDACTED]
    if not secrets:
        return error
    texts = [str(error), repr(error)]
    details = [error.details]
    cause = error.__cause__
    while cause is not None:
        texts.append(str(cause))
        texts.append(repr(cause))
        cause_details = getattr(cause, "details", None)
        details.append(cause_details if isinstance(cause_details, list) else [])
        cause = cause.__cause__ or cause.__context__
    if not any(secret in text for secret in secrets for text in texts) and not any(
        holds_secret(detail, secrets) for group in details for detail in group
    ):
        return error
    clean = type(error)(
        scrub(error.message, secrets),
        code=error.code,
        details=scrub_details(error.details, secrets),
        partial=error.partial,
    )
    clean.__cause__ = None
    clean.__suppress_context__ = True
    return clean


async def call(
    path: CallPath,
    method: MethodSpec[RequestT, Any],
    request: RequestT,
    options: RequestOptions,
    reply: Reply[T] | type[T],
) -> T:
    """One unary RPC with the client's metadata, the deadline and retry policy; typed errors.

    The reply is decoded as ``reply`` (``method.response_type``, or a stand-in for it). The
    timeout bounds the RPC with all its retries; on expiry ``DeadlineExceeded`` is raised and
    the RPC in flight is cancelled.
    """
    async with CallDeadline(path.resolve(method, options)) as deadline:
        return await invoke(path, method, request, deadline.policy(), reply)


async def invoke(
    path: CallPath,
    method: MethodSpec[RequestT, Any],
    request: RequestT,
    policy: RpcPolicy,
    reply: Reply[T] | type[T],
    texts: Iterable[str] | None = None,
) -> T:
    """Send ``request``; retry per ``policy.retry`` (and the governor) until success or the
    deadline.

    The reply is decoded as ``reply`` (``method.response_type``, or a stand-in for it).
    ``texts`` are what the request carries, for its cost against quotas (default: read from
    the request; the engine, knowing its chunk, passes them: no walk over the request).

    Each pass of the loop is one attempt, admitted by the client's governor before it is
    sent; RESOURCE_EXHAUSTED goes back to the governor, which decides the wait (see the
    module docstring).
    """
    loop = asyncio.get_running_loop()
    send = _sender(await path.channel(), UnaryCall(method, request, reply, path.metadata()))
    governor = path.governor
    key = QuotaKey(method.name, request_model(request))
    cost = Cost.of_texts(request_texts(request) if texts is None else texts)
    retry = policy.retry
    deadline = policy.deadline
    attempts = 0  # every attempt sent
    failures = 0  # the attempts that count against Retry.max_attempts (not quota rejections)
    while True:
        max_wait = _max_wait(retry, deadline if policy.waits_count else None, loop.time())
        decision: Decision | None = None
        named = False
        try:
            async with governor.admit(key, cost, max_wait=max_wait) as ticket:
                if not policy.waits_count and deadline is not None:
                    deadline += ticket.waited  # waiting for quota is not this RPC's time
                remaining = None if deadline is None else deadline - loop.time()
                if remaining is not None and remaining <= 0:
                    raise deadline_expired(policy.timeout)
                attempts += 1
                try:
                    result: T = await send(remaining)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    error = to_error(exc, timeout=policy.timeout)
                    if error is not exc:
                        error.__cause__ = exc
                    error = _redact(error)
                else:
                    ticket.succeeded()
                    return result
                decision, named = _report(ticket, error, retry)
        except QuotaRefused as refused:
            raise _refused(refused.refusal, policy, deadline, loop.time()) from None
        if decision is not None:  # RESOURCE_EXHAUSTED, the governor's to decide
            if isinstance(decision, Refusal):
                raise _rejected(error, decision, retry)
            if retry is None:
                raise _final(error, attempts, failures, retry)
            if not named:
                # Neither a quota nor a delay named: maybe no quota at all (a message too big
                # for the server is RESOURCE_EXHAUSTED too), so these count as failures.
                failures += 1
                if failures >= retry.max_attempts:
                    raise _final(error, attempts, failures, retry)
            if path.closed:
                raise Cancelled("the call was cancelled because its Client was closed")
            if (
                policy.waits_count
                and deadline is not None
                and loop.time() + decision.delay >= deadline
            ):
                raise DeadlineExceeded(
                    f"{_deadline_of(policy.timeout)} leaves no time for retry {attempts} "
                    f"(waiting {decision.delay:.3g} s for quota) after {error}"
                ) from error
            log.debug(
                "textservice: %s got RESOURCE_EXHAUSTED (attempt %d); sent again when the "
                "quota allows (in %.3f s or later)",
                method.name,
                attempts,
                decision.delay,
            )
            continue  # admission holds the call until the key's pause ends
        failures += 1
        delay = (
            retry.delay(error, failures)
            if retry is not None and _retryable_transport(error)
            else None
        )
        if delay is None:
            raise _final(error, attempts, failures, retry)
        if path.closed:
            raise Cancelled("the call was cancelled because its Client was closed")
        if deadline is not None and loop.time() + delay >= deadline:
            # Waiting would outlast the deadline: fail now rather than sleep in vain.
            raise DeadlineExceeded(
                f"{_deadline_of(policy.timeout)} leaves no time for retry {attempts} "
                f"(waiting {delay:.3g} s) after {error}"
            ) from error
        log.debug(
            "textservice: %s failed with %s (attempt %d), retrying in %.3f s",
            method.name,
            error.code.name,
            attempts,
            delay,
        )
        await asyncio.sleep(delay)


def _max_wait(retry: Retry | None, deadline: float | None, now: float) -> float | None:
    """The longest server-asked wait for quota a call takes: ``Retry.max_retry_delay``
    (``None``: any; without retries ``DEFAULT_MAX_WAIT``), and no longer than what is left
    of a deadline that counts waits."""
    limit = _max_retry_delay(retry)
    if deadline is not None:
        left = max(0.0, deadline - now)
        limit = left if limit is None else min(limit, left)
    return limit


def _report(
    ticket: Ticket, error: TextServiceError, retry: Retry | None
) -> tuple[Decision | None, bool]:
    """Tell the governor how the attempt ended: its decision for RESOURCE_EXHAUSTED (else
    ``None``: the attempt failed otherwise), and whether the answer named a quota or a delay.
    A delay over ``Retry.max_retry_delay`` is a refusal; one that outlasts the deadline is the
    caller's to tell (``DeadlineExceeded``)."""
    if error.code is not Status.RESOURCE_EXHAUSTED:
        ticket.failed()
        return None, False
    rejection = Rejection.from_details(error.details)
    named = bool(rejection.violations) or rejection.retry_delay is not None
    if retry is not None and not retry.retry_info:  # RetryInfo not honoured: our backoff
        rejection = dataclasses.replace(rejection, retry_delay=None)
    return ticket.rejected(rejection, max_wait=_max_retry_delay(retry)), named


def _rejected(error: TextServiceError, refusal: Refusal, retry: Retry | None) -> TextServiceError:
    """``error`` (RESOURCE_EXHAUSTED) saying why it is not retried, naming the quota."""
    if refusal.kind == "too_long" and retry is not None and retry.max_retry_delay is not None:
        why = (
            f"not retried: the server asked to wait {refusal.delay:g} s, longer than "
            f"Retry.max_retry_delay of {retry.max_retry_delay:g} s"
        )
        if refusal.violation is not None:
            why += f"; {refusal.violation.describe()}"
    else:
        why = f"not retried: {refusal.message}"
    return _reworded(error, f"{error.message} ({why})")


def _refused(
    refusal: Refusal, policy: RpcPolicy, deadline: float | None, now: float
) -> TextServiceError:
    """The error of a call the governor refused before sending it: ``ResourceExhausted``
    naming the quota (with the server's details, when a server answer taught the refusal),
    or ``DeadlineExceeded`` when the wait would outlast the user's deadline."""
    details = refusal.rejection.details if refusal.rejection is not None else ()
    retry = policy.retry
    allowed = _max_retry_delay(retry)
    if refusal.kind == "too_long":
        left = None if deadline is None or not policy.waits_count else deadline - now
        if left is not None and (allowed is None or left < allowed):
            return DeadlineExceeded(
                f"{_deadline_of(policy.timeout)} leaves no time to wait for quota: "
                f"{refusal.message}"
            )
        setting = "Retry.max_retry_delay" if retry is not None else "without retries, at most"
        limit = f" ({setting} {allowed:g} s)" if allowed is not None else ""
        return ResourceExhausted(f"{refusal.message}{limit}; not sent", details=details)
    return ResourceExhausted(f"{refusal.message}; not sent", details=details)


_Send = Callable[[float | None], Awaitable[Any]]


def _sender(connection: Channel | Connection, call: UnaryCall[Any]) -> _Send:
    """One attempt of ``call`` (given the time it may take) over the call path's connection:
    a REST ``Connection`` sends it itself, a grpclib ``Channel`` through a unary method (the
    one place grpclib's call API is used)."""
    from grpclib.client import Channel, UnaryUnaryMethod  # loaded with the first call

    # a class check, not ``isinstance(connection, Connection)``: a runtime protocol's check
    # walks its members on every call (typing, Python 3.11), a cost on every attempt
    if not isinstance(connection, Channel):
        return partial(connection.unary, call)
    # grpclib's codec calls ``RawReply.FromString(data)``: the reply's bytes as they are
    # (``_unary`` decodes them)
    raw: Any = RawReply
    method = call.method
    rpc: UnaryUnaryMethod[Any, bytes] = UnaryUnaryMethod(
        connection, method.route, method.request_type, raw
    )
    return partial(_unary, rpc, call)


async def _unary(rpc: UnaryUnaryMethod[Any, bytes], call: UnaryCall[T], timeout: float | None) -> T:
    """``rpc(call.request, ...)``: one request, one reply, decoded as ``call.reply``.

    Written out, rather than grpclib's own unary call, to hold a server to the protocol:

    - status OK with no reply message is a clear ``Internal`` (grpclib fails a bare
      ``assert``), and so is a second reply message (grpclib takes the first);
    - a response that ends without ``grpc-status`` is ``UNKNOWN`` at once (grpclib waits for
      trailers that never come, until the deadline);
    - ``grpc-status-details-bin`` that cannot be read is dropped, keeping the status and
      message (grpclib raises a ``ValueError``, which would lose them);
    - the reply is decoded here, after the call (grpclib hands over its bytes): quickly on
      the loop, or on a worker thread when only betterproto2 can read it and it is large.
    """
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    async with rpc.open(timeout=timeout, metadata=call.metadata) as stream:
        await stream.send_message(call.request, end=True)
        try:
            data = await stream.recv_message()
            if data is not None and await stream.recv_message() is not None:
                raise Internal("the server sent more than one response message to a unary call")
            # grpclib-internal (0.4, pinned): trailers-only, or trailers received
            if not stream._trailers_only and stream._stream.trailers is None:
                raise GRPCError(Status.UNKNOWN, "the server ended the call without a grpc-status")
            await stream.recv_trailing_metadata()
        except ValueError as exc:  # grpc-status-details-bin unreadable (base64, protobuf)
            raise _without_details(stream, exc) from None
    if data is None:
        raise Internal("the server ended the call with status OK but sent no response message")
    # quickly on the loop, else (slow and large: ``decoding.OFF_LOOP_BYTES``) on a worker
    # thread, within the deadline; ``WireError`` for bytes that are not protobuf
    quick = decode_quick(data, call.reply)
    if quick is not None:
        return cast("T", quick)
    async with asyncio.timeout_at(deadline):
        return cast("T", await off_loop(partial(decode_slow, reply=call.reply), data))


def _without_details(stream: Any, exc: ValueError) -> GRPCError:
    """The call's status and message without the details that could not be read."""
    # grpclib-internal (0.4, pinned): the raw headers of a trailers-only response, else the
    # trailers; grpclib's own reading of them, minus the details.
    raw = stream._stream.trailers if not stream._trailers_only else stream._stream.headers
    headers = {k: v for k, v in dict(raw or ()).items() if k != "grpc-status-details-bin"}
    status, message, _ = stream._process_grpc_status(headers)
    log.debug(
        "textservice: dropped the %s answer's grpc-status-details-bin, which could not be read: %s",
        status.name,
        exc,
    )
    return GRPCError(status, message)


def _final(
    error: TextServiceError, attempts: int, failures: int, retry: Retry | None
) -> TextServiceError:
    """``error`` as raised when it is not retried, saying why when retries were involved: how
    many attempts were made (``failures`` of them counted against ``Retry.max_attempts``), or
    that a server delay over ``Retry.max_retry_delay`` stopped them."""
    notes = []
    if attempts > 1:
        ran_out = retry is not None and failures >= retry.max_attempts
        notes.append(f"{'gave up ' if ran_out else ''}after {attempts} attempts")
    refused = None if retry is None else retry.refused_delay(error, failures)
    if refused is not None and retry is not None and retry.max_retry_delay is not None:
        notes.append(
            f"not retried: the server asked to wait {refused:g} s, longer than "
            f"Retry.max_retry_delay of {retry.max_retry_delay:g} s"
        )
    if not notes:
        return error
    return _reworded(error, f"{error.message} ({'; '.join(notes)})")


def _reworded(error: TextServiceError, message: str) -> TextServiceError:
    """A copy of ``error`` (same class, code, details, partial, cause) with ``message``."""
    copy = type(error)(message, code=error.code, details=error.details, partial=error.partial)
    copy.__cause__ = error.__cause__
    copy.__suppress_context__ = error.__suppress_context__
    return copy
