"""A grpclib server on 127.0.0.1 in a background thread, for answers the fake never gives.

``serve(services)`` starts the servicers (betterproto2 ``*Base`` subclasses, or anything with
a grpclib ``__mapping__``) on their own event loop thread and yields the port; sync facade
calls from the test thread then reach it through a client's loop thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from grpclib.server import Server

from textservice._transport.status import StatusDetailsCodec


@contextmanager
def serve(services: Sequence[Any]) -> Iterator[int]:
    """Serve ``services`` on a free 127.0.0.1 port until the block ends; yields the port."""
    loop = asyncio.new_event_loop()

    async def start() -> Server:
        server = Server(list(services), status_details_codec=StatusDetailsCodec())
        await server.start("127.0.0.1", 0)
        return server

    server = loop.run_until_complete(start())
    port: int = server._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()
