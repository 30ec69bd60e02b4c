"""The fake's REST face: the API's HTTP/JSON routes, answered by the same handlers as gRPC.

Its routes are the generated facades' ``MethodSpec.http`` bindings (every unary RPC of every
served version), matched as the client's REST transport expands them
(``textservice._transport.rest.http_call``). A matched request is read into the RPC's
request message (strictly: an unknown field is a 400, as the API answers) and handed to
``FakeServer.serve_call``, which logs it, checks the key (``x-goog-api-key`` header),
applies quotas and faults, validates and answers, exactly as for a gRPC call. Failures are
Google's JSON error body with the code's HTTP status (``rest.errors``); a path no RPC has is
a 404 in the same form. ``X-Server-Timeout`` (whole seconds, as python-genai sends it) is the
call's deadline, recorded like a gRPC call's. The key may also come as the ``key`` query
parameter, as Google's REST examples send it (the client never does: it would show in URLs).

Two ways in: ``RestFace.handle`` behind ``http_server`` (TCP) and ``memory_transport`` (an
``httpx.AsyncBaseTransport`` calling it in process, no socket).
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import math
import re
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl, urlsplit

import betterproto2
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from textservice._encoding import json_mapping
from textservice._encoding.codec import embedding_layout
from textservice._transport.callpath import API_KEY_HEADER
from textservice._transport.methods import MethodSpec
from textservice._transport.rest.connection import SERVER_TIMEOUT_HEADER
from textservice._transport.rest.errors import error_body, http_status
from textservice._transport.rest.http_call import request_from_http, route_of
from textservice.testing.incoming import IncomingCall
from textservice.testing.versions import ApiVersion, Service

if TYPE_CHECKING:
    import httpx

__all__ = ["Dropped", "Response", "RestFace", "answer_json", "memory_transport", "rest_methods"]

_JSON_HEADERS = (("content-type", "application/json; charset=UTF-8"),)
_SYSTEM_PARAMETERS = frozenset({"alt", "$alt", "prettyPrint", "$prettyPrint"})
"""Google APIs' system query parameters, which no request message holds (ignored: the face
always answers JSON)."""


class Dropped(Exception):
    """The ``drop_next`` fault: the face closes the connection without an answer."""


@dataclass(frozen=True)
class Response:
    """One HTTP answer."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    stream: AsyncIterator[bytes] | None = None
    """A body sent as it is made (a download), instead of ``body``."""


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@cache
def rest_methods(version: str, service: str) -> tuple[MethodSpec[Any, Any], ...]:
    """The ``MethodSpec``s (with their REST bindings) the generated facade of ``version``
    declares for ``service``: its module's ``MethodSpec`` constants."""
    name = f"textservice.{version}._{_snake(service)}"
    if importlib.util.find_spec(name) is None:
        return ()
    module = importlib.import_module(name)
    return tuple(
        value
        for value in vars(module).values()
        if isinstance(value, MethodSpec) and value.http and value.service.endswith(f".{service}")
    )


def _float32_values() -> Callable[[list[float]], Any]:
    """How an embedding's values are written: with numpy, as float32 (the shortest decimal
    that reads back as that float32, as Google's API writes them: ``0.012345679``), else as
    the doubles they are (``0.012345679104328156``: the same float32 once read back). A
    vector holding NaN or an infinity (``faults.bad_values``) is written as proto3 JSON
    writes them (``"NaN"``...: ``json_mapping.float_to_json``), never as ``null``."""
    try:
        import numpy
    except ImportError:
        return _named_if_not_finite

    def write(values: list[float]) -> Any:
        row = numpy.asarray(values, numpy.float32)
        return row if numpy.isfinite(row).all() else _named_if_not_finite(values)

    return write


def _named_if_not_finite(values: list[float]) -> list[float | str]:
    if all(map(math.isfinite, values)):
        return list(values)
    return [json_mapping.float_to_json(v) for v in values]


def answer_json(answer: betterproto2.Message) -> bytes:
    """A response as JSON; an embedding response written straight from its vectors."""
    layout = embedding_layout(type(answer))
    if layout is None:
        return json_mapping.dumps(json_mapping.to_json(answer))
    field = json_mapping.json_name(layout.field)
    values = json_mapping.json_name(layout.values_field)
    found = getattr(answer, layout.field)
    short = _float32_values()
    if layout.repeated:
        vectors = [{values: short(getattr(e, layout.values_field))} for e in found]
        return json_mapping.dumps({field: vectors})
    if found is None:
        return b"{}"
    return json_mapping.dumps({field: {values: short(getattr(found, layout.values_field))}})


def _error(code: Status, message: str, details: Iterable[Any] = ()) -> Response:
    return Response(http_status(code), _JSON_HEADERS, error_body(code, message, list(details)))


def _grpc_error(exc: GRPCError) -> Response:
    details = exc.details if isinstance(exc.details, list) else []
    return _error(exc.status, exc.message or exc.status.name, details)


def _with_query_key(headers: list[tuple[str, str]], query: str) -> list[tuple[str, str]]:
    """The headers (lowercase keys), with a ``key`` query parameter as the API key header."""
    found = [(key.lower(), value) for key, value in headers]
    found += [
        (API_KEY_HEADER, v) for k, v in parse_qsl(query, keep_blank_values=True) if k == "key"
    ]
    return found


def _timeout(headers: list[tuple[str, str]]) -> float | None:
    for key, value in headers:
        if key == SERVER_TIMEOUT_HEADER:
            try:
                return max(0.0, float(value))
            except ValueError:
                return None
    return None


class Serving(Protocol):
    """What the REST face needs of a ``FakeServer``: its call handling, whatever the face."""

    async def serve_call(self, incoming: IncomingCall) -> None: ...

    async def serve_media(
        self, verb: str, path: str, query: str, metadata: list[tuple[str, Any]], body: bytes
    ) -> Response | None: ...


class RestFace:
    """The REST routes of one fake (its served versions), answered by its handlers."""

    def __init__(self, fake: Serving, versions: Iterable[ApiVersion]) -> None:
        self._fake = fake
        self._routes: list[tuple[MethodSpec[Any, Any], ApiVersion, Service]] = [
            (spec, version, service)
            for version in versions
            for service in version.services
            for spec in rest_methods(version.name, service.name)
        ]
        self._specs = [spec for spec, _, _ in self._routes]

    async def handle(
        self, verb: str, target: str, headers: list[tuple[str, str]], body: bytes
    ) -> Response:
        """The answer to one HTTP request (``target``: path and query); raises ``Dropped``
        for the ``drop_next`` fault."""
        parts = urlsplit(target)
        media = await self._fake.serve_media(
            verb.upper(), parts.path, parts.query, _with_query_key(headers, parts.query), body
        )
        if media is not None:  # the Files API's upload or download: not an RPC
            return media
        found = route_of(self._specs, verb.upper(), parts.path)
        if found is None:
            return _error(Status.NOT_FOUND, f"no route for {verb} {parts.path}")
        spec, rule, values = found
        _, version, service = next(r for r in self._routes if r[0] is spec)
        metadata = _with_query_key(headers, parts.query)
        timeout = _timeout(metadata)
        # the API key as a query parameter is in the metadata (Google's REST docs show it)
        query = [
            (name, value)
            for name, value in parse_qsl(parts.query, keep_blank_values=True)
            if name != "key" and name not in _SYSTEM_PARAMETERS
        ]

        async def read() -> Any:
            try:
                parsed = json_mapping.loads(body) if body.strip() else None
                return request_from_http(spec, rule, values, query, parsed)
            except (ValueError, TypeError, KeyError) as exc:
                raise GRPCError(
                    Status.INVALID_ARGUMENT, f"Invalid JSON payload received. {exc}"
                ) from None

        answered: list[bytes] = []
        dropped = False

        async def send(answer: Any) -> None:
            answered.append(answer_json(answer))

        def drop() -> None:
            nonlocal dropped
            dropped = True

        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        incoming = IncomingCall(
            version,
            service,
            spec.name,
            metadata,
            timeout,
            read=read,
            send=send,
            drop=drop,
            expired=lambda: deadline is not None and loop.time() >= deadline,
        )
        try:
            await self._fake.serve_call(incoming)
        except GRPCError as exc:
            return _grpc_error(exc)
        if dropped:
            raise Dropped
        return Response(200, _JSON_HEADERS, answered[0])


def _memory_transport_class() -> type[httpx.AsyncBaseTransport]:
    import httpx

    class _Stream(httpx.AsyncByteStream):
        def __init__(self, chunks: AsyncIterator[bytes]) -> None:
            self._chunks = chunks

        async def __aiter__(self) -> AsyncIterator[bytes]:
            try:
                async for chunk in self._chunks:
                    yield chunk
            except Dropped:  # as a dropped socket reads
                raise httpx.RemoteProtocolError("the server dropped the connection") from None

        async def aclose(self) -> None:
            aclose = getattr(self._chunks, "aclose", None)
            if aclose is not None:
                await aclose()

    class _MemoryTransport(httpx.AsyncBaseTransport):
        def __init__(self, face: Callable[[], RestFace]) -> None:
            self._face = face
            self._in_flight: set[asyncio.Task[Response]] = set()
            self._closed = False

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if self._closed:
                raise httpx.ConnectError("the transport is closed", request=request)
            body = await request.aread()
            target = request.url.raw_path.decode("ascii")
            headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
            timeouts = request.extensions.get("timeout", {})
            limit = timeouts.get("read") if isinstance(timeouts, dict) else None
            task = asyncio.ensure_future(self._face().handle(request.method, target, headers, body))
            self._in_flight.add(task)
            try:
                async with asyncio.timeout(limit):
                    answer = await asyncio.shield(task)
            except TimeoutError:
                task.cancel()
                raise httpx.ReadTimeout("timed out", request=request) from None
            except asyncio.CancelledError:
                task.cancel()
                if self._closed and not _cancelling():
                    # the client closed its connections under the request, as on a socket
                    raise httpx.ReadError("the connection was closed", request=request) from None
                raise
            except Dropped:
                raise httpx.RemoteProtocolError(
                    "Server disconnected without sending a response.", request=request
                ) from None
            finally:
                self._in_flight.discard(task)
            if answer.stream is not None:
                return httpx.Response(
                    answer.status,
                    headers=list(answer.headers),
                    stream=_Stream(answer.stream),
                    request=request,
                )
            return httpx.Response(
                answer.status, headers=list(answer.headers), content=answer.body, request=request
            )

        async def aclose(self) -> None:
            """Close the connection: requests in flight fail as on a closed socket."""
            self._closed = True
            for task in list(self._in_flight):
                task.cancel()

    return _MemoryTransport


def _cancelling() -> bool:
    """Whether the running task itself is being cancelled (not only what it waits for)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def memory_transport(face: Callable[[], RestFace]) -> httpx.AsyncBaseTransport:
    """An ``httpx.AsyncBaseTransport`` whose requests ``face()`` answers in process (no
    socket); it honours httpx's read timeout as a network transport would."""
    made: Any = _memory_transport_class()
    transport: httpx.AsyncBaseTransport = made(face)
    return transport
