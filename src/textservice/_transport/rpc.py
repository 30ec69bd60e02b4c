"""One unary RPC with metadata, deadline and retries; every failure becomes a typed error."""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from grpclib.exceptions import GRPCError, StreamTerminatedError

from textservice._transport.methods import MethodSpec, RequestT
from textservice._transport.options import RequestOptions, RpcPolicy
from textservice._transport.secrets import holds_secret, live_secrets, scrub, scrub_details
from textservice.errors import (
    Cancelled,
    DeadlineExceeded,
    Internal,
    TextServiceError,
    Unavailable,
    error_for_status,
)
from textservice.retry import Retry

if TYPE_CHECKING:
    from grpclib.client import UnaryUnaryMethod

    from textservice._transport.callpath import CallPath

__all__ = ["Reply", "call", "invoke", "to_error"]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Reply(Protocol[T_co]):
    """What an RPC's reply is decoded as: a response message class, or a stand-in for one
    (``textservice._encoding.arrays.ArrayReply``). grpclib's codecs call ``FromString(data)``."""

    def FromString(self, data: bytes, /) -> T_co: ...


log = logging.getLogger("textservice")

_MIN_REDACTED = 6


def to_error(exc: BaseException, *, timeout: float | None = None) -> TextServiceError:
    """The typed error for what an RPC raised (``CancelledError`` is never passed here)."""
    if isinstance(exc, TextServiceError):
        return exc
    if isinstance(exc, GRPCError):
        details = exc.details if isinstance(exc.details, list) else []
        return error_for_status(exc.status, exc.message or "", details)
    if isinstance(exc, TimeoutError):  # grpclib's deadline (before OSError: a subclass)
        limit = f" of {timeout:g} s" if timeout is not None else ""
        return DeadlineExceeded(f"the call's deadline{limit} expired")
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
    resolved = path.resolve(method, options)
    # one RPC is the whole call: whatever its timeout's source, it bounds the RPC's retries
    policy = resolved.per_rpc().rpc_policy(asyncio.get_running_loop().time())
    try:
        async with asyncio.timeout_at(policy.deadline):
            return await invoke(path, method, request, policy, reply)
    except TimeoutError:
        raise DeadlineExceeded(f"the call's deadline of {resolved.timeout:g} s expired") from None


async def invoke(
    path: CallPath,
    method: MethodSpec[RequestT, Any],
    request: RequestT,
    policy: RpcPolicy,
    reply: Reply[T] | type[T],
) -> T:
    """Send ``request``; retry per ``policy.retry`` until success or the deadline.

    The reply is decoded as ``reply`` (``method.response_type``, or a stand-in for it).

    Each pass of the loop below is one attempt: the place where a per-client rate governor
    (issue 13, kept by the ``CallPath``) admits the attempt before ``_unary`` sends it and
    hears how it went after (success, or the rejection that decides the wait).
    """
    loop = asyncio.get_running_loop()
    channel = await path.channel()
    from grpclib.client import UnaryUnaryMethod  # loaded with the first call (import time)

    # grpclib hands ``reply`` to the channel's codec, which calls ``reply.FromString(data)``.
    reply_type: Any = reply
    rpc: UnaryUnaryMethod[RequestT, T] = UnaryUnaryMethod(
        channel, method.route, method.request_type, reply_type
    )
    metadata = path.metadata()
    attempts = 0
    while True:
        attempts += 1
        remaining = None if policy.deadline is None else policy.deadline - loop.time()
        if remaining is not None and remaining <= 0:
            raise DeadlineExceeded(f"the call's deadline{_limit(policy)} expired")
        try:
            return await _unary(rpc, request, timeout=remaining, metadata=metadata)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error = to_error(exc, timeout=policy.timeout)
            if error is not exc:
                error.__cause__ = exc
            error = _redact(error)
        delay = (
            policy.retry.delay(error, attempts)
            if policy.retry is not None and _retryable_transport(error)
            else None
        )
        if delay is None:
            raise _final(error, attempts, policy.retry)
        if path.closed:
            raise Cancelled("the call was cancelled because its TextServiceClient was closed")
        if policy.deadline is not None and loop.time() + delay >= policy.deadline:
            # Waiting would outlast the deadline: fail now rather than sleep in vain.
            raise DeadlineExceeded(
                f"the call's deadline{_limit(policy)} leaves no time for retry {attempts} "
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


async def _unary(
    rpc: UnaryUnaryMethod[RequestT, T],
    request: RequestT,
    *,
    timeout: float | None,
    metadata: list[tuple[str, str | bytes]],
) -> T:
    """``rpc(request, ...)``: one request, one reply. A call the server ends with status OK
    but no reply message (a protocol violation) is a clear ``Internal``; grpclib's own unary
    call fails a bare ``assert`` there."""
    async with rpc.open(timeout=timeout, metadata=metadata) as stream:
        await stream.send_message(request, end=True)
        reply = await stream.recv_message()
    if reply is None:
        raise Internal("the server ended the call with status OK but sent no response message")
    return reply


def _final(error: TextServiceError, attempts: int, retry: Retry | None) -> TextServiceError:
    """``error`` as raised when it is not retried, saying why when retries were involved: how
    many attempts were made, or that a server delay over ``Retry.max_retry_delay`` stopped
    them."""
    notes = []
    if attempts > 1:
        ran_out = retry is not None and attempts >= retry.max_attempts
        notes.append(f"{'gave up ' if ran_out else ''}after {attempts} attempts")
    refused = None if retry is None else retry.refused_delay(error, attempts)
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


def _limit(policy: RpcPolicy) -> str:
    return f" of {policy.timeout:g} s" if policy.timeout is not None else ""
