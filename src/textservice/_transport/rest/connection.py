"""One httpx ``AsyncClient`` per event loop of a call path: the REST transport's connection.

Every attempt of ``textservice._transport.rpc.invoke`` over REST is one HTTP request here:
the method's binding gives verb, path, query and body (``http_call``); the headers carry the
API key (``x-goog-api-key``, never the URL: URLs end up in logs and proxies), the user's
metadata, and the attempt's time limit as ``X-Server-Timeout`` (whole seconds, rounded up,
as python-genai's ``_api_client`` sends it); the attempt, reply read and decoded, ends
locally at the same time (httpx's own timeouts bound each read, not the whole: a server
dripping its reply would outlast them). A ``rest.media.MediaCall`` (the Files API's upload
and download) writes its own request on the same client, with the same headers, deadline and
error mapping. The reply is read as the caller asks
(``decode_reply``), off the event loop when large (``_transport.decoding``). Failures come
out as the typed errors the gRPC transport gives: Google's error body by ``errors``, a
timeout as ``DeadlineExceeded``, a connection that fails or drops (a body cut short
included) as ``Unavailable``, a reply that does not decode as ``Internal``.

httpx keeps connections alive in its pool (up to ``max_connections``); HTTP/2, which needs
the ``h2`` package textservice already depends on, is used when asked for and the server
offers it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import math
import ssl
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, Any

from textservice._encoding import json_mapping
from textservice._transport.connection import UnaryCall
from textservice._transport.decoding import off_loop
from textservice._transport.rest.errors import error_from_response
from textservice._transport.rest.http_call import NoBinding, encode_request
from textservice._transport.rest.media import MediaCall
from textservice.errors import Internal, InvalidArgument, Unavailable

if TYPE_CHECKING:
    import httpx

__all__ = ["SERVER_TIMEOUT_HEADER", "RestConnection", "base_url", "decode_reply"]


SERVER_TIMEOUT_HEADER = "x-server-timeout"
_closing: set[asyncio.Task[None]] = set()

_JSON = "application/json"


def base_url(host: str, port: int, *, insecure: bool) -> str:
    """``https://host:port`` (``http://`` when ``insecure``); IPv6 hosts in brackets."""
    shown = f"[{host}]" if ":" in host else host
    return f"{'http' if insecure else 'https'}://{shown}:{port}"


def decode_reply(reply: Any, data: bytes) -> Any:
    """The reply's JSON bytes as ``reply`` asks: a stand-in with ``FromJson``
    (``_encoding.arrays.ArrayReply``) decodes itself, a message class by the JSON mapping."""
    from_json = getattr(reply, "FromJson", None)
    if from_json is not None:
        return from_json(data)
    return json_mapping.message_from_json(reply, data)


def _header_value(key: str, value: str | bytes) -> str:
    # binary metadata travels base64-encoded, as gRPC's HTTP mappings carry "-bin" keys
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


class RestConnection:
    """The HTTP client of one event loop, for one call path."""

    def __init__(
        self,
        base: str,
        *,
        ssl_context: ssl.SSLContext | None = None,
        http2: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 100,
    ) -> None:
        import httpx

        self._httpx = httpx
        # Large replies (a batch of embeddings: ~4 MB of JSON for 100 x 3,072, about 50 ms)
        # are decoded in this thread. The decoding still holds the GIL; on the loaded 2-core
        # machine the bench ran on, wall times with and without the thread were within the
        # noise. One thread: decodes take the GIL in turn anyway, and only one reply's parsed
        # JSON is alive at a time besides its result (peak memory).
        self._decoder = ThreadPoolExecutor(1, thread_name_prefix="textservice-json")
        self._client = httpx.AsyncClient(
            base_url=base,
            verify=ssl_context if ssl_context is not None else True,
            http2=http2,
            transport=transport,
            timeout=None,  # each request gets its own
            limits=httpx.Limits(max_connections=max_connections),
            headers={"content-type": _JSON, "accept": _JSON},
        )

    async def unary(self, call: UnaryCall[Any], timeout: float | None) -> Any:
        """One attempt: the request sent, the reply decoded as ``call.reply``; typed errors."""
        headers = {key: _header_value(key, value) for key, value in call.metadata}
        if timeout is not None:
            headers[SERVER_TIMEOUT_HEADER] = str(max(1, math.ceil(timeout)))
        deadline = None if timeout is None else asyncio.get_running_loop().time() + timeout
        if isinstance(call.request, MediaCall):
            async with asyncio.timeout_at(deadline), self._mapped():
                return await call.request.exchange(self._client, headers, timeout)
        try:
            http = encode_request(call.method, call.request)
        except NoBinding as exc:
            raise InvalidArgument(str(exc)) from None
        async with asyncio.timeout_at(deadline):  # TimeoutError: the RPC layer names the limit
            async with self._mapped():
                response = await self._client.request(
                    http.verb,
                    http.path,
                    params=http.query or None,
                    content=http.body,
                    headers=headers,
                    timeout=timeout,
                )
            data, status = response.content, response.status_code
            del response  # it holds the request, key header included: not a traceback's local
            if not 200 <= status < 300:
                raise error_from_response(status, data)
            try:
                return await off_loop(partial(decode_reply, call.reply), data, self._decoder)
            except Exception as exc:
                raise Internal(
                    f"the response could not be processed: {type(exc).__name__}: {exc}".rstrip(": ")
                ) from exc

    @contextlib.asynccontextmanager
    async def _mapped(self) -> AsyncIterator[None]:
        """What httpx raises inside as the typed errors of the RPC layer: a timeout as
        ``TimeoutError`` (the layer names the limit), a connection that fails as
        ``Unavailable``, and so does one that drops (a reply cut short, a reset, a broken
        protocol)."""
        httpx = self._httpx
        try:
            yield
        except httpx.TimeoutException:
            raise TimeoutError from None
        except (httpx.ConnectError, httpx.ProxyError) as exc:
            raise Unavailable(f"could not reach the server: {type(exc).__name__}: {exc}") from exc
        except httpx.TransportError as exc:
            raise Unavailable(
                f"the connection was dropped during the call: {type(exc).__name__}: {exc}"
            ) from exc

    def close(self) -> None:
        """Close the pool's connections (on the running loop; the work finishes in a task)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._decoder.shutdown(wait=False)
            return  # no loop left to run it: the sockets go with the garbage collector
        task = loop.create_task(self.aclose())
        _closing.add(task)  # a task only weakly referenced by the loop may be collected
        task.add_done_callback(_closing.discard)

    async def aclose(self) -> None:
        """Close the pool's connections and wait for it."""
        self._decoder.shutdown(wait=False)
        await self._client.aclose()
