"""Undecodable responses (random or truncated bytes) surface as a clean ``Internal`` error.

A real grpclib server on loopback sends arbitrary bytes as the response message; the client
decodes them with its codec. Whatever the bytes, the call either returns a message or raises
``textservice.Internal``, and the client stays usable.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from grpclib.const import Cardinality, Handler
from grpclib.encoding.base import CodecBase
from grpclib.server import Server, Stream
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.hostile_server import serve

import textservice
from textservice import Client, Internal
from textservice._proto.google.ai.generativelanguage import v1beta
from textservice._transport.methods import MethodSpec
from textservice._transport.options import RequestOptions
from textservice._transport.rpc import call
from textservice.client import call_path

pytestmark = pytest.mark.network

ROUTE_SERVICE = "google.ai.generativelanguage.v1beta.TextService"

BATCH = MethodSpec(
    ROUTE_SERVICE,
    "BatchEmbedText",
    v1beta.BatchEmbedTextRequest,
    v1beta.BatchEmbedTextResponse,
    default_timeout=10.0,
    default_retry=None,
)


class _RawCodec(CodecBase):
    """Server side: messages are raw bytes, passed through untouched."""

    __content_subtype__ = "proto"

    def encode(self, message: Any, message_type: Any) -> bytes:
        return bytes(message)

    def decode(self, data: bytes, message_type: Any) -> Any:
        return data


class _RawReplies:
    """Answers BatchEmbedText with whatever bytes ``payload`` holds."""

    def __init__(self) -> None:
        self.payload = b""

    async def _handle(self, stream: Stream[bytes, bytes]) -> None:
        await stream.recv_message()
        await stream.send_message(self.payload)

    def __mapping__(self) -> dict[str, Handler]:
        return {BATCH.route: Handler(self._handle, Cardinality.UNARY_UNARY, bytes, bytes)}


@pytest.fixture(scope="module")
def raw_server() -> Iterator[tuple[_RawReplies, Client]]:
    service = _RawReplies()
    loop = asyncio.new_event_loop()

    async def start() -> Server:
        server = Server([service], codec=_RawCodec())  # made on the loop it serves on
        await server.start("127.0.0.1", 0)
        return server

    server = loop.run_until_complete(start())
    port = server._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    client = Client(endpoint=f"127.0.0.1:{port}", insecure=True, retry=None)
    try:
        yield service, client
    finally:
        client.close()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()


def _embed(client: Client) -> v1beta.BatchEmbedTextResponse:
    request = v1beta.BatchEmbedTextRequest(model="models/m", texts=["a"])
    path = call_path(client)
    reply = v1beta.BatchEmbedTextResponse
    return path.run_sync(lambda: call(path, BATCH, request, RequestOptions(), reply))


def _valid_response(vectors: list[list[float]]) -> bytes:
    return bytes(
        v1beta.BatchEmbedTextResponse(embeddings=[v1beta.Embedding(value=v) for v in vectors])
    )


def test_a_valid_payload_decodes(raw_server: tuple[_RawReplies, Client]) -> None:
    service, client = raw_server
    service.payload = _valid_response([[1.0, 2.5], [-3.0]])
    reply = _embed(client)
    assert [e.value for e in reply.embeddings] == [[1.0, 2.5], [-3.0]]


def test_a_known_bad_payload_is_internal(raw_server: tuple[_RawReplies, Client]) -> None:
    service, client = raw_server
    service.payload = _valid_response([[1.0] * 8])[:-3]  # cut inside the packed floats
    with pytest.raises(Internal, match="could not be processed"):
        _embed(client)


floats = st.floats(width=32, allow_nan=False)
vectors = st.lists(st.lists(floats, max_size=8), max_size=4)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=64))
def test_random_bytes_decode_or_raise_internal(
    raw_server: tuple[_RawReplies, Client], data: bytes
) -> None:
    service, client = raw_server
    service.payload = data
    try:
        reply = _embed(client)
    except Internal:
        pass
    else:
        assert isinstance(reply, v1beta.BatchEmbedTextResponse)
    service.payload = _valid_response([[0.5]])
    assert [e.value for e in _embed(client).embeddings] == [[0.5]]  # still usable


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(vecs=vectors, cut=st.integers(min_value=1, max_value=200))
def test_truncated_responses_decode_or_raise_internal(
    raw_server: tuple[_RawReplies, Client], vecs: list[list[float]], cut: int
) -> None:
    service, client = raw_server
    whole = _valid_response(vecs)
    service.payload = whole[: max(0, len(whole) - cut)]
    try:
        reply = _embed(client)
    except Internal:
        pass
    else:
        # A cut on a field boundary is a valid, shorter message: a prefix of the vectors.
        got = [e.value for e in reply.embeddings]
        assert len(got) <= len(vecs)


class _OkWithoutMessage:
    """Ends every EmbedText call with status OK and no response message. (Registered as
    unary-stream: grpclib's server refuses to send that for a unary method, but the client
    cannot tell the difference, as with a misbehaving server.)"""

    async def _handle(self, stream: Stream[Any, Any]) -> None:
        await stream.recv_message()

    def __mapping__(self) -> dict[str, Handler]:
        route = f"/{ROUTE_SERVICE}/EmbedText"
        return {
            route: Handler(
                self._handle,
                Cardinality.UNARY_STREAM,
                v1beta.EmbedTextRequest,
                v1beta.EmbedTextResponse,
            )
        }


def test_status_ok_without_a_message_is_a_clear_internal_error() -> None:
    with (
        serve([_OkWithoutMessage()]) as port,
        Client("key-123456", endpoint=f"127.0.0.1:{port}", insecure=True) as client,
        pytest.raises(Internal) as info,
    ):
        textservice.generate_embeddings("models/m", "hi", client=client)
    assert str(info.value) == (
        "INTERNAL: the server ended the call with status OK but sent no response message"
    )
