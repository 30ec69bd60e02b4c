"""A server that breaks the gRPC protocol or sends garbage, on both embedding paths
(``embed_content`` on gemini-embedding-001 through GenerativeService, ``generate_embeddings``
on the TextService):

- 2 MiB of zero bytes as a reply fails at once (a zero key is not protobuf), not after a
  minute of betterproto2 on the loop every call of the client shares;
- a large reply only betterproto2 can read is decoded off that loop: other calls go on, and
  the call's deadline holds;
- a response that ends without ``grpc-status`` is ``UNKNOWN`` at once, not at the deadline;
- ``grpc-status-details-bin`` that cannot be read keeps the status (``UNAVAILABLE`` stays
  retried);
- a unary reply of two messages is refused.

The servicer answers through grpclib's low-level stream, so it can send what grpclib's own
server never would.
"""

from __future__ import annotations

import base64
import struct
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from grpclib.const import Cardinality, Handler, Status
from grpclib.server import Stream
from support.hostile_server import serve

import textservice
from textservice import Internal, TextServiceClient, Unavailable, Unknown
from textservice._proto.google.ai.generativelanguage import v1beta
from textservice.errors import DeadlineExceeded

pytestmark = pytest.mark.network

GEMINI = "models/gemini-embedding-001"
GECKO = "models/embedding-gecko-001"
GENERATIVE = "/google.ai.generativelanguage.v1beta.GenerativeService/"
TEXT = "/google.ai.generativelanguage.v1beta.TextService/"

Behaviour = Callable[[Stream[Any, Any], bytes], Awaitable[None]]
"""Answers one call, given the stream and the valid reply's bytes."""


def _valid(route: str, request: Any) -> bytes:
    """The bytes of a well-formed answer to ``request``: one vector per text."""
    if route.endswith("BatchEmbedContents"):
        n = len(request.requests)
        return bytes(
            v1beta.BatchEmbedContentsResponse(
                embeddings=[v1beta.ContentEmbedding(values=[1.0, 2.0])] * n
            )
        )
    if route.endswith("EmbedContent"):
        return bytes(
            v1beta.EmbedContentResponse(embedding=v1beta.ContentEmbedding(values=[1.0, 2.0]))
        )
    if route.endswith("BatchEmbedText"):
        n = len(request.texts)
        return bytes(
            v1beta.BatchEmbedTextResponse(embeddings=[v1beta.Embedding(value=[1.0, 2.0])] * n)
        )
    return bytes(v1beta.EmbedTextResponse(embedding=v1beta.Embedding(value=[1.0, 2.0])))


async def send_headers(stream: Stream[Any, Any], *, end: bool = False) -> None:
    await stream._stream.send_headers(
        [(":status", "200"), ("content-type", "application/grpc+proto")], end_stream=end
    )
    stream._send_initial_metadata_done = True
    stream._send_trailing_metadata_done = end  # grpclib's server must not add its own


async def send_message(stream: Stream[Any, Any], data: bytes, *, end: bool = False) -> None:
    await stream._stream.send_data(b"\0" + struct.pack(">I", len(data)) + data, end_stream=end)
    stream._send_trailing_metadata_done = end


async def send_trailers(stream: Stream[Any, Any], *pairs: tuple[str, str]) -> None:
    await stream._stream.send_headers(list(pairs), end_stream=True)
    stream._send_trailing_metadata_done = True


async def well(stream: Stream[Any, Any], valid: bytes) -> None:
    await send_headers(stream)
    await send_message(stream, valid)
    await send_trailers(stream, ("grpc-status", "0"))


ROUTES = {
    GENERATIVE + "EmbedContent": v1beta.EmbedContentRequest,
    GENERATIVE + "BatchEmbedContents": v1beta.BatchEmbedContentsRequest,
    TEXT + "EmbedText": v1beta.EmbedTextRequest,
    TEXT + "BatchEmbedText": v1beta.BatchEmbedTextRequest,
}


class Misbehaving:
    """The four embedding RPCs of v1beta; each call is answered by ``behaviour`` (a call
    past ``bad_calls`` of them by ``well``)."""

    def __init__(self) -> None:
        self.behaviour: Behaviour = well
        self.bad_calls: int | None = None
        self.calls = 0
        self._lock = threading.Lock()

    def _handler(self, route: str) -> Callable[[Stream[Any, Any]], Awaitable[None]]:
        async def handle(stream: Stream[Any, Any]) -> None:
            request = await stream.recv_message()
            with self._lock:
                self.calls += 1
                bad = self.bad_calls is None or self.calls <= self.bad_calls
            await (self.behaviour if bad else well)(stream, _valid(route, request))

        return handle

    def __mapping__(self) -> dict[str, Handler]:
        return {
            route: Handler(self._handler(route), Cardinality.UNARY_UNARY, request, bytes)
            for route, request in ROUTES.items()
        }


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Misbehaving, int]]:
    servicer = Misbehaving()
    with serve([servicer]) as port:
        yield servicer, port


@pytest.fixture
def misbehaving(server: tuple[Misbehaving, int]) -> Iterator[tuple[Misbehaving, int]]:
    servicer, port = server
    servicer.behaviour, servicer.bad_calls, servicer.calls = well, None, 0
    yield servicer, port
    servicer.behaviour, servicer.bad_calls = well, None


def _client(port: int, **options: Any) -> TextServiceClient:
    return TextServiceClient("key-123456", endpoint=f"127.0.0.1:{port}", insecure=True, **options)


CALLS: list[tuple[str, Callable[[TextServiceClient], Any]]] = [
    ("embed_content, a list", lambda c: textservice.embed_content(GEMINI, ["a", "b"], client=c)),
    ("embed_content, one text", lambda c: textservice.embed_content(GEMINI, "a", client=c)),
    (
        "generate_embeddings, a list, numpy",
        lambda c: textservice.generate_embeddings(GECKO, ["a", "b"], client=c, output="numpy"),
    ),
    (
        "generate_embeddings, one text",
        lambda c: textservice.generate_embeddings(GECKO, "a", client=c),
    ),
]
IDS = [name for name, _ in CALLS]


@pytest.mark.parametrize(("name", "call"), CALLS, ids=IDS)
def test_the_servicer_answers_well_by_default(
    misbehaving: tuple[Misbehaving, int], name: str, call: Callable[[TextServiceClient], Any]
) -> None:
    _, port = misbehaving
    with _client(port) as client:
        result = call(client)
    assert len(result["embedding"]) == 2  # two texts, or one vector of two values


@pytest.mark.parametrize(("name", "call"), CALLS, ids=IDS)
def test_megabytes_of_zeros_fail_at_once(
    misbehaving: tuple[Misbehaving, int], name: str, call: Callable[[TextServiceClient], Any]
) -> None:
    servicer, port = misbehaving

    async def zeros(stream: Stream[Any, Any], valid: bytes) -> None:
        await send_headers(stream)
        await send_message(stream, b"\0" * (2 << 20))
        await send_trailers(stream, ("grpc-status", "0"))

    servicer.behaviour = zeros
    with _client(port, timeout=5) as client:
        started = time.monotonic()
        with pytest.raises(Internal, match="field number 0 at byte 0") as info:
            call(client)
        assert time.monotonic() - started < 2.5  # 15.8 s before, past the 5 s timeout
        assert "could not be processed" in str(info.value)
        servicer.behaviour = well
        assert len(call(client)["embedding"]) == 2  # still usable


def test_a_large_slow_reply_is_decoded_off_the_loop(misbehaving: tuple[Misbehaving, int]) -> None:
    servicer, port = misbehaving
    # 384 KiB of unknown varint fields: valid protobuf, which betterproto2 keeps by appending
    # bytes, in time quadratic in their number (seconds of CPU)
    garbage = b"\x78\x00" * (192 * 1024)

    async def slow_for_batches(stream: Stream[Any, Any], valid: bytes) -> None:
        await send_headers(stream)
        await send_message(stream, garbage if len(valid) > 100 else valid)  # batches: garbage
        await send_trailers(stream, ("grpc-status", "0"))

    servicer.behaviour = slow_for_batches
    outcome: list[BaseException] = []
    with _client(port) as client:

        def slow_call() -> None:
            try:
                textservice.generate_embeddings(
                    GECKO,
                    [f"text {i}" for i in range(30)],
                    client=client,
                    request_options={"timeout": 1.0},
                )
            except BaseException as exc:
                outcome.append(exc)

        started = time.monotonic()
        thread = threading.Thread(target=slow_call)
        thread.start()
        time.sleep(0.3)  # the garbage is being decoded now
        latencies = []
        for _ in range(5):
            t = time.monotonic()
            textservice.embed_content(GEMINI, "quick", client=client)  # 1 text: a small reply
            latencies.append(time.monotonic() - t)
        thread.join(10)
        elapsed = time.monotonic() - started
    assert max(latencies) < 0.5, latencies  # the loop was free meanwhile
    assert len(outcome) == 1 and isinstance(outcome[0], DeadlineExceeded), outcome
    assert elapsed < 3.0  # the deadline held, not the decoding's seconds


@pytest.mark.parametrize("how", ["trailers-only", "message, no trailers"])
@pytest.mark.parametrize(("name", "call"), CALLS, ids=IDS)
def test_an_end_without_grpc_status_is_unknown_at_once(
    misbehaving: tuple[Misbehaving, int],
    name: str,
    call: Callable[[TextServiceClient], Any],
    how: str,
) -> None:
    servicer, port = misbehaving

    async def no_status(stream: Stream[Any, Any], valid: bytes) -> None:
        if how == "trailers-only":
            await send_headers(stream, end=True)
        else:
            await send_headers(stream)
            await send_message(stream, valid, end=True)

    servicer.behaviour = no_status
    with _client(port, timeout=10) as client:
        started = time.monotonic()
        with pytest.raises(Unknown, match="ended the call without a grpc-status"):
            call(client)
        assert time.monotonic() - started < 2.0  # not the 10 s deadline


@pytest.mark.parametrize("details", ["garbage protobuf", "bad base64"])
@pytest.mark.parametrize(("name", "call"), CALLS, ids=IDS)
def test_unreadable_details_keep_unavailable_retried(
    misbehaving: tuple[Misbehaving, int],
    name: str,
    call: Callable[[TextServiceClient], Any],
    details: str,
) -> None:
    servicer, port = misbehaving
    # valid base64 of a google.rpc.Status cut inside its details (betterproto2 raises), or
    # one character, which is no base64 at all (grpclib's decoding raises)
    encoded = (
        base64.b64encode(b"\x1a\x02\x0a\xff").decode() if details == "garbage protobuf" else "a"
    )

    async def unavailable(stream: Stream[Any, Any], valid: bytes) -> None:
        await send_headers(stream)
        await send_trailers(
            stream,
            ("grpc-status", str(Status.UNAVAILABLE.value)),
            ("grpc-message", "try%20later"),
            ("grpc-status-details-bin", encoded),
        )

    servicer.behaviour, servicer.bad_calls = unavailable, 2
    retry = textservice.Retry(initial_backoff=0.01, max_backoff=0.02)
    with _client(port, retry=retry) as client:
        assert len(call(client)["embedding"]) == 2  # two UNAVAILABLE, then the answer
    assert servicer.calls == 3
    servicer.calls = 0
    with _client(port, retry=None) as client, pytest.raises(Unavailable) as info:
        call(client)
    assert info.value.message == "try later" and info.value.details == []


@pytest.mark.parametrize(("name", "call"), CALLS, ids=IDS)
def test_two_reply_messages_are_refused(
    misbehaving: tuple[Misbehaving, int], name: str, call: Callable[[TextServiceClient], Any]
) -> None:
    servicer, port = misbehaving

    async def twice(stream: Stream[Any, Any], valid: bytes) -> None:
        await send_headers(stream)
        await send_message(stream, valid)
        await send_message(stream, valid)
        await send_trailers(stream, ("grpc-status", "0"))

    servicer.behaviour = twice
    with _client(port) as client, pytest.raises(Internal, match="more than one response message"):
        call(client)
