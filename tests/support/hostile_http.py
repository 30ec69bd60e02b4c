"""An HTTP/1.1 server on 127.0.0.1 in a background thread that writes its answers as raw
bytes, for the REST answers no well-behaved server gives: a body cut short, dripped, garbage.

``serve_http(answer)`` yields the port. Each request (keep-alive: many per connection) is read
as a request line, headers and a ``content-length`` body, then handed to ``answer(path, body,
writer)``, which writes the whole answer (``response(...)`` builds a plain one) and may close
the connection.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

Answer = Callable[[str, bytes, asyncio.StreamWriter], Awaitable[None]]
"""Writes the answer to a request for ``path`` (its query left out) carrying ``body``."""

REASONS = {200: "OK", 400: "Bad Request", 500: "Internal Server Error", 503: "Unavailable"}


def response(status: int, body: bytes, *, length: int | None = None) -> bytes:
    """A JSON answer: status line, headers (``content-length`` is ``length``, else the body's
    own) and ``body``."""
    size = len(body) if length is None else length
    head = (
        f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}\r\n"
        f"content-type: application/json\r\ncontent-length: {size}\r\n\r\n"
    )
    return head.encode("ascii") + body


async def _connection(
    answer: Answer,
    open_writers: set[asyncio.StreamWriter],
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
) -> None:
    open_writers.add(writer)
    try:
        while not writer.is_closing():
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1].split("?")[0]
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            body = await reader.readexactly(length)
            await answer(path, body, writer)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        open_writers.discard(writer)
        writer.close()


@contextmanager
def serve_http(answer: Answer) -> Iterator[int]:
    """Serve ``answer`` on a free 127.0.0.1 port until the block ends; yields the port."""
    loop = asyncio.new_event_loop()
    open_writers: set[asyncio.StreamWriter] = set()

    async def start() -> asyncio.Server:
        return await asyncio.start_server(
            lambda r, w: _connection(answer, open_writers, r, w), "127.0.0.1", 0
        )

    server = loop.run_until_complete(start())
    port: int = server.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        server.close()
        for writer in list(open_writers):  # clients' keep-alive connections
            writer.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()
