"""HTTP statuses and Google's JSON error body: the REST face's side of the one error model.

A failed REST call answers an HTTP status and ``{"error": {"code": 429, "message": ...,
"status": "RESOURCE_EXHAUSTED", "details": [{"@type": "type.googleapis.com/google.rpc.
QuotaFailure", ...}, {"@type": ".../google.rpc.RetryInfo", "retryDelay": "38s"}]}}`` (Google's
API design guide, "Errors"; python-genai's ``errors.APIError`` reads the same fields). It
becomes the very error a gRPC call gets: the class of its ``status`` (else of its HTTP code,
by ``HTTP_STATUS``), the message, and the details decoded by ``@type`` into the same
``google.rpc`` messages (``RetryInfo``, ``QuotaFailure``, ``ErrorInfo``, ``Help``,
``BadRequest``...). A page that is not such a body (a proxy's HTML, an empty 502) is
``Unavailable`` for the statuses that mean "try again" (429, 502, 503, 504) and ``Unknown``
otherwise, its message naming the HTTP status: never a crash.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from grpclib.const import Status

from textservice._encoding import json_mapping
from textservice.errors import TextServiceError, Unavailable, Unknown, error_for_status

__all__ = ["HTTP_STATUS", "error_body", "error_from_response", "http_status"]

HTTP_STATUS: Mapping[Status, int] = {
    Status.OK: 200,
    Status.INVALID_ARGUMENT: 400,
    Status.FAILED_PRECONDITION: 400,
    Status.OUT_OF_RANGE: 400,
    Status.UNAUTHENTICATED: 401,
    Status.PERMISSION_DENIED: 403,
    Status.NOT_FOUND: 404,
    Status.ALREADY_EXISTS: 409,
    Status.ABORTED: 409,
    Status.RESOURCE_EXHAUSTED: 429,
    Status.CANCELLED: 499,
    Status.INTERNAL: 500,
    Status.UNKNOWN: 500,
    Status.DATA_LOSS: 500,
    Status.UNIMPLEMENTED: 501,
    Status.UNAVAILABLE: 503,
    Status.DEADLINE_EXCEEDED: 504,
}
"""Each gRPC code's HTTP status, as google/rpc/code.proto documents them: the one table. Read
backwards (an error body that names no ``status``), a status stands for the first code listed
with it."""

_CODE_OF_HTTP: Mapping[int, Status] = {
    status: code for code, status in reversed(list(HTTP_STATUS.items()))
}

_TRANSIENT = frozenset({429, 502, 503, 504})
"""HTTP statuses of a page that is not Google's error body which are worth retrying."""

_SHOWN = 200
"""Characters of a non-JSON error page quoted in the error."""


def http_status(code: Status) -> int:
    """The HTTP status of a gRPC code (``HTTP_STATUS``)."""
    return HTTP_STATUS[code]


def error_body(code: Status, message: str, details: Sequence[Any] = ()) -> bytes:
    """Google's JSON error body for ``code`` (the fake's side); details are ``google.rpc``
    messages (written as JSON ``Any``s)."""
    error: dict[str, Any] = {"code": http_status(code), "message": message, "status": code.name}
    if details:
        error["details"] = [json_mapping.any_to_json(detail) for detail in details]
    return json_mapping.dumps({"error": error})


def _reason(status: int) -> str:
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def _not_google(status: int, body: bytes, why: str) -> TextServiceError:
    text = body[:_SHOWN].decode("utf-8", "replace").strip()
    page = f": {text!r}" if text else " with an empty body"
    error_class = Unavailable if status in _TRANSIENT else Unknown
    return error_class(f"{_reason(status)} ({why}){page}")


def error_from_response(status: int, body: bytes) -> TextServiceError:
    """The typed error of a failed REST call (``status`` not 2xx) from its body."""
    try:
        parsed = json_mapping.loads(body)
    except ValueError:
        return _not_google(status, body, "not a JSON error body")
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if not isinstance(error, dict):
        return _not_google(status, body, "no error object in the body")
    name = error.get("status")
    code = Status.__members__.get(name) if isinstance(name, str) else None
    if code is None:
        code = _CODE_OF_HTTP.get(status, Status.UNKNOWN)
    message = error.get("message")
    details = []
    raw = error.get("details")
    for item in raw if isinstance(raw, list) else ():
        try:
            details.append(json_mapping.any_from_json(item))
        except (ValueError, TypeError, KeyError):
            details.append(item)  # kept as sent rather than lost
    return error_for_status(code, message if isinstance(message, str) else _reason(status), details)
