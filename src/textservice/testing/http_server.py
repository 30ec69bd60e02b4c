"""A small HTTP/1.1 server for the fake's REST face: asyncio streams and h11.

The fake ships in the package, so what it runs on matters: h11 (a pure-Python HTTP/1.1
state machine, no I/O of its own) already comes with httpx, which the REST transport needs,
and asyncio is the standard library; an ASGI server (uvicorn, hypercorn) would add a
dependency and its own event-loop policy for a server that answers JSON to tests. h11 does
the protocol (parsing, keep-alive, framing); this module only moves bytes.

Each connection serves requests one after another (keep-alive); a handler's ``Dropped``
aborts the connection (the ``drop_next`` fault), a client that goes away cancels its
handler, and an unreadable request gets h11's 400. A ``Response`` with a ``stream`` (a
download) is sent chunked as it is made.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import h11

from textservice.testing.rest import Dropped, Response

__all__ = ["Handler", "serve_http"]

Handler = Callable[[str, str, list[tuple[str, str]], bytes], Awaitable[Response]]
"""``(verb, target, headers, body) -> Response``: ``RestFace.handle``."""

_READ = 65536
_MAX_BODY = 64 * 1024 * 1024


async def _request(
    connection: h11.Connection, reader: asyncio.StreamReader
) -> tuple[h11.Request, bytes] | None:
    """The next request with its body (``None``: the client closed the connection)."""
    request: h11.Request | None = None
    body = bytearray()
    while True:
        event = connection.next_event()
        if event is h11.NEED_DATA:
            data = await reader.read(_READ)
            connection.receive_data(data)
            continue
        if isinstance(event, h11.Request):
            request = event
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > _MAX_BODY:
                raise h11.RemoteProtocolError("request body too large", error_status_hint=413)
        elif isinstance(event, h11.EndOfMessage):
            assert request is not None
            return request, bytes(body)
        elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
            return None


def _send(connection: h11.Connection, writer: asyncio.StreamWriter, response: Response) -> None:
    headers = [*response.headers, ("content-length", str(len(response.body)))]
    writer.write(connection.send(h11.Response(status_code=response.status, headers=headers)))
    writer.write(connection.send(h11.Data(data=response.body)))
    writer.write(connection.send(h11.EndOfMessage()))


async def _send_stream(
    connection: h11.Connection,
    writer: asyncio.StreamWriter,
    response: Response,
    stream: AsyncIterator[bytes],
) -> None:
    """A body as it is made: chunked (h11 frames it), each piece drained before the next."""
    writer.write(
        connection.send(h11.Response(status_code=response.status, headers=list(response.headers)))
    )
    try:
        async for data in stream:
            if data:
                writer.write(connection.send(h11.Data(data=data)))
                await writer.drain()
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
    writer.write(connection.send(h11.EndOfMessage()))


async def _serve_connection(
    handler: Handler, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    connection = h11.Connection(h11.SERVER)
    try:
        while True:
            try:
                received = await _request(connection, reader)
            except h11.RemoteProtocolError as exc:
                if connection.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                    status = exc.error_status_hint
                    _send(connection, writer, Response(status, (), str(exc).encode()))
                break
            if received is None:
                break
            request, body = received
            headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers]
            try:
                response = await handler(
                    request.method.decode("ascii"), request.target.decode("ascii"), headers, body
                )
            except Dropped:
                writer.transport.abort()
                return
            if response.stream is not None:
                try:
                    await _send_stream(connection, writer, response, response.stream)
                except Dropped:  # the body stops halfway: the connection goes
                    writer.transport.abort()
                    return
            else:
                _send(connection, writer, response)
            await writer.drain()
            if connection.our_state is not h11.DONE or connection.their_state is not h11.DONE:
                break
            connection.start_next_cycle()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


@asynccontextmanager
async def serve_http(handler: Handler, host: str, port: int) -> AsyncIterator[int]:
    """Serve ``handler`` on ``host:port`` (``0``: a free one) while inside; yields the port.

    Leaving closes the listener and every open connection."""
    tasks: set[asyncio.Task[None]] = set()

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await _serve_connection(handler, reader, writer)
        except asyncio.CancelledError:
            # the server is stopping (below): asyncio reports a connection task that ends
            # cancelled as an error, so this one ends quietly
            writer.transport.abort()
        finally:
            tasks.discard(task)

    server = await asyncio.start_server(on_connection, host, port)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()
