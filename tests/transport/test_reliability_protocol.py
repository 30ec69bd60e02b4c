"""A server that breaks the protocol or sends garbage, on both embedding paths
(``embed_content`` on gemini-embedding-001 through GenerativeService, ``generate_embeddings``
on the TextService), over each transport where the break exists in it:

- 2 MiB of zero bytes as a reply fails at once (a zero key is not protobuf, nor JSON), not
  after a minute of betterproto2 on the loop every call of the client shares;
- a large reply only betterproto2 can read is decoded off that loop: other calls go on, and
  the call's deadline holds;
- gRPC: a response that ends without ``grpc-status`` is ``UNKNOWN`` at once, not at the
  deadline;
- error details that cannot be read keep the status (``UNAVAILABLE`` stays retried);
- a unary reply of two messages (two JSON documents) is refused;
- REST: a body cut short is ``Unavailable`` (retried), and one dripped slower than the
  deadline ends at the deadline.

The gRPC servicer answers through grpclib's low-level stream, the REST one writes raw HTTP
(``support.hostile_http``), so each can send what a well-behaved server never would.
"""

from __future__ import annotations

import asyncio
import base64
import json
import struct
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from grpclib.const import Cardinality, Handler, Status
from grpclib.server import Stream
from support.hostile_http import response, serve_http
from support.hostile_server import serve

import textservice
from textservice import Client, Internal, Unavailable, Unknown
from textservice._proto.google.ai.generativelanguage import v1beta
from textservice._transport.connection import UnaryCall
from textservice._transport.rest.connection import RestConnection
from textservice.errors import DeadlineExceeded
from textservice.testing.rest import rest_methods

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


# -- the REST servicer ------------------------------------------------------------------------

HttpBehaviour = Callable[[str, bytes, asyncio.StreamWriter], Awaitable[None]]
"""Answers one REST call, given its path, the valid reply's JSON and the connection."""


def _valid_json(path: str, body: bytes) -> bytes:
    """The JSON of a well-formed answer to a REST request: one vector per text."""
    request = json.loads(body) if body else {}
    answer: dict[str, Any] = {}  # ListModels: no models
    if path.endswith(":batchEmbedContents"):
        answer = {"embeddings": [{"values": [1.0, 2.0]}] * len(request["requests"])}
    elif path.endswith(":embedContent"):
        answer = {"embedding": {"values": [1.0, 2.0]}}
    elif path.endswith(":batchEmbedText"):
        answer = {"embeddings": [{"value": [1.0, 2.0]}] * len(request["texts"])}
    elif path.endswith(":embedText"):
        answer = {"embedding": {"value": [1.0, 2.0]}}
    return json.dumps(answer).encode()


async def well_http(path: str, valid: bytes, writer: asyncio.StreamWriter) -> None:
    writer.write(response(200, valid))


class MisbehavingHttp:
    """The REST face of the same RPCs (and ListModels); each call is answered by
    ``behaviour`` (a call past ``bad_calls`` of them by ``well_http``)."""

    def __init__(self) -> None:
        self.behaviour: HttpBehaviour = well_http
        self.bad_calls: int | None = None
        self.calls = 0
        self._lock = threading.Lock()

    async def answer(self, path: str, body: bytes, writer: asyncio.StreamWriter) -> None:
        with self._lock:
            self.calls += 1
            bad = self.bad_calls is None or self.calls <= self.bad_calls
        await (self.behaviour if bad else well_http)(path, _valid_json(path, body), writer)


# -- one servicer per transport -----------------------------------------------------------------


@dataclass
class Hostile:
    """The servicer of ``transport`` and its port."""

    transport: str
    servicer: Any  # Misbehaving or MisbehavingHttp
    port: int

    def client(self, **options: Any) -> Client:
        if self.transport == "rest":
            options["transport"] = "rest"
        return _client(self.port, **options)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Misbehaving, int]]:
    servicer = Misbehaving()
    with serve([servicer]) as port:
        yield servicer, port


@pytest.fixture(scope="module")
def http_server() -> Iterator[tuple[MisbehavingHttp, int]]:
    servicer = MisbehavingHttp()
    with serve_http(servicer.answer) as port:
        yield servicer, port


@pytest.fixture
def misbehaving(server: tuple[Misbehaving, int]) -> Iterator[tuple[Misbehaving, int]]:
    servicer, port = server
    servicer.behaviour, servicer.bad_calls, servicer.calls = well, None, 0
    yield servicer, port
    servicer.behaviour, servicer.bad_calls = well, None


@pytest.fixture
def misbehaving_http(
    http_server: tuple[MisbehavingHttp, int],
) -> Iterator[tuple[MisbehavingHttp, int]]:
    servicer, port = http_server
    servicer.behaviour, servicer.bad_calls, servicer.calls = well_http, None, 0
    yield servicer, port
    servicer.behaviour, servicer.bad_calls = well_http, None


@pytest.fixture
def hostile(transport: str, request: pytest.FixtureRequest) -> Hostile:
    """The misbehaving servicer of each transport in turn."""
    name = "misbehaving_http" if transport == "rest" else "misbehaving"
    servicer, port = request.getfixturevalue(name)
    return Hostile(transport, servicer, port)


def _client(port: int, **options: Any) -> Client:
    return Client("key-123456", endpoint=f"127.0.0.1:{port}", insecure=True, **options)


CALLS: list[tuple[str, Callable[[Client], Any]]] = [
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
    hostile: Hostile, name: str, call: Callable[[Client], Any]
) -> None:
    with hostile.client() as client:
        result = call(client)
    assert len(result["embedding"]) == 2  # two texts, or one vector of two values


async def zeros(stream: Stream[Any, Any], valid: bytes) -> None:
    await send_headers(stream)
    await send_message(stream, b"\0" * (2 << 20))
    await send_trailers(stream, ("grpc-status", "0"))


async def zeros_http(path: str, valid: bytes, writer: asyncio.StreamWriter) -> None:
    writer.write(response(200, b"\0" * (2 << 20)))


@pytest.mark.parametrize(("name", "call"), CALLS, ids=IDS)
def test_megabytes_of_zeros_fail_at_once(
    hostile: Hostile, name: str, call: Callable[[Client], Any]
) -> None:
    servicer = hostile.servicer
    rest = hostile.transport == "rest"
    servicer.behaviour = zeros_http if rest else zeros
    why = "JSONDecodeError: Expecting value" if rest else "field number 0 at byte 0"
    with hostile.client(timeout=5) as client:
        started = time.monotonic()
        with pytest.raises(Internal, match=why) as info:
            call(client)
        assert time.monotonic() - started < 2.5  # 15.8 s before over gRPC, past the 5 s timeout
        assert "could not be processed" in str(info.value)
        servicer.behaviour = well_http if rest else well
        assert len(call(client)["embedding"]) == 2  # still usable


# 384 KiB of unknown varint fields: valid protobuf, which betterproto2 keeps by appending
# bytes, in time quadratic in their number (seconds of CPU)
GARBAGE = b"\x78\x00" * (192 * 1024)
# 2 MiB of a ListModels page of empty models: valid JSON, which betterproto2's from_dict
# turns into ~700,000 messages (about a microsecond a byte: seconds of CPU)
EMPTY_MODELS = b'{"models": [' + b",".join([b"{}"] * (700 * 1024)) + b"]}"


async def slow_for_batches(stream: Stream[Any, Any], valid: bytes) -> None:
    await send_headers(stream)
    await send_message(stream, GARBAGE if len(valid) > 100 else valid)  # batches: garbage
    await send_trailers(stream, ("grpc-status", "0"))


async def slow_for_lists(path: str, valid: bytes, writer: asyncio.StreamWriter) -> None:
    writer.write(response(200, EMPTY_MODELS if path.endswith("/models") else valid))


def _slow_call(transport: str, client: Client) -> None:
    """A call whose reply is large and slow to decode (see ``slow_for_*``), with 1 s to run
    (0.5 s over REST: its slow reply takes only a second or two, linear in its size)."""
    if transport == "rest":  # REST decodes embedding replies without betterproto2
        list(textservice.list_models(client=client, request_options={"timeout": 0.5}))
    else:
        textservice.generate_embeddings(
            GECKO, [f"text {i}" for i in range(30)], client=client, request_options={"timeout": 1.0}
        )


def test_a_large_slow_reply_is_decoded_off_the_loop(hostile: Hostile) -> None:
    servicer = hostile.servicer
    servicer.behaviour = slow_for_lists if hostile.transport == "rest" else slow_for_batches
    outcome: list[BaseException] = []
    with hostile.client() as client:

        def slow_call() -> None:
            try:
                _slow_call(hostile.transport, client)
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
    call: Callable[[Client], Any],
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


# gRPC: valid base64 of a google.rpc.Status cut inside its details (betterproto2 raises), or
# one character, which is no base64 at all (grpclib's decoding raises). REST: a RetryInfo
# whose delay is no duration, or details that are no list of objects.
UNREADABLE: dict[str, dict[str, Any]] = {
    "grpc": {
        "garbage details": base64.b64encode(b"\x1a\x02\x0a\xff").decode(),
        "bad encoding": "a",
    },
    "rest": {
        "garbage details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": 1}],
        "bad encoding": "not a list",
    },
}


@pytest.mark.parametrize("details", ["garbage details", "bad encoding"])
@pytest.mark.parametrize(("name", "call"), CALLS, ids=IDS)
def test_unreadable_details_keep_unavailable_retried(
    hostile: Hostile,
    name: str,
    call: Callable[[Client], Any],
    details: str,
) -> None:
    servicer = hostile.servicer
    sent = UNREADABLE[hostile.transport][details]

    async def unavailable(stream: Stream[Any, Any], valid: bytes) -> None:
        await send_headers(stream)
        await send_trailers(
            stream,
            ("grpc-status", str(Status.UNAVAILABLE.value)),
            ("grpc-message", "try%20later"),
            ("grpc-status-details-bin", str(sent)),
        )

    async def unavailable_http(path: str, valid: bytes, writer: asyncio.StreamWriter) -> None:
        error = {"code": 503, "message": "try later", "status": "UNAVAILABLE", "details": sent}
        writer.write(response(503, json.dumps({"error": error}).encode()))

    rest = hostile.transport == "rest"
    servicer.behaviour, servicer.bad_calls = (unavailable_http if rest else unavailable), 2
    retry = textservice.Retry(initial_backoff=0.01, max_backoff=0.02)
    with hostile.client(retry=retry) as client:
        assert len(call(client)["embedding"]) == 2  # two UNAVAILABLE, then the answer
    assert servicer.calls == 3
    servicer.calls = 0
    with hostile.client(retry=None) as client, pytest.raises(Unavailable) as info:
        call(client)
    assert info.value.message == "try later"
    # gRPC drops what it cannot read; REST keeps a detail it cannot read as the JSON it was
    assert info.value.details == (sent if rest and isinstance(sent, list) else [])


@pytest.mark.parametrize(("name", "call"), CALLS, ids=IDS)
def test_two_reply_messages_are_refused(
    hostile: Hostile, name: str, call: Callable[[Client], Any]
) -> None:
    async def twice(stream: Stream[Any, Any], valid: bytes) -> None:
        await send_headers(stream)
        await send_message(stream, valid)
        await send_message(stream, valid)
        await send_trailers(stream, ("grpc-status", "0"))

    async def twice_http(path: str, valid: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(response(200, valid + valid))  # two JSON documents in one body

    rest = hostile.transport == "rest"
    hostile.servicer.behaviour = twice_http if rest else twice
    why = "JSONDecodeError: Extra data" if rest else "more than one response message"
    with hostile.client() as client, pytest.raises(Internal, match=why):
        call(client)


# -- REST only: HTTP bodies ---------------------------------------------------------------------


@pytest.mark.parametrize(("name", "call"), CALLS, ids=IDS)
def test_a_body_cut_short_is_unavailable_and_retried(
    misbehaving_http: tuple[MisbehavingHttp, int],
    name: str,
    call: Callable[[Client], Any],
) -> None:
    servicer, port = misbehaving_http

    async def cut(path: str, valid: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(response(200, valid[: len(valid) // 2], length=len(valid)))
        writer.close()  # the connection ends inside the body

    servicer.behaviour, servicer.bad_calls = cut, 2
    retry = textservice.Retry(initial_backoff=0.01, max_backoff=0.02)
    with _client(port, transport="rest", retry=retry) as client:
        assert len(call(client)["embedding"]) == 2  # two cut short, then the answer
    assert servicer.calls == 3
    servicer.calls = 0
    with (
        _client(port, transport="rest", retry=None) as client,
        pytest.raises(Unavailable, match="dropped during the call: RemoteProtocolError"),
    ):
        call(client)


def _attempt(url: str, method: str, request: Any, timeout: float, **options: Any) -> Any:
    """One REST attempt of v1beta's ``method`` at ``url``, as ``rpc.invoke`` makes it: its
    timeout is the attempt's (with no timeout given, a method's default of 60 s)."""
    (spec,) = [m for m in rest_methods("v1beta", SERVICES[method]) if m.name == method]

    async def attempt() -> Any:
        connection = RestConnection(url, **options)
        try:
            call = UnaryCall(spec, request, spec.response_type, metadata=[])
            return await connection.unary(call, timeout=timeout)
        finally:
            await connection.aclose()

    return asyncio.run(attempt())


SERVICES = {"EmbedContent": "GenerativeService", "ListModels": "ModelService"}


def test_a_reply_dripped_past_the_deadline_ends_at_the_deadline(
    misbehaving_http: tuple[MisbehavingHttp, int],
) -> None:
    servicer, port = misbehaving_http

    async def drip(path: str, valid: bytes, writer: asyncio.StreamWriter) -> None:
        body = b" " * 40 + valid  # JSON may start with blanks: one every 50 ms (2 s in all)
        writer.write(response(200, b"", length=len(body)))
        for byte in body:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.05)

    servicer.behaviour = drip
    request = v1beta.EmbedContentRequest(model=GEMINI, content=v1beta.Content())
    started = time.monotonic()
    # every read comes well within httpx's read timeout (of 0.5 s too): the attempt's
    # deadline ends it
    with pytest.raises(TimeoutError):
        _attempt(f"http://127.0.0.1:{port}", "EmbedContent", request, timeout=0.5)
    assert time.monotonic() - started < 1.5


def _answering(body: bytes) -> dict[str, Any]:
    """A ``RestConnection``'s options answering every request with ``body``."""

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body)

    return {"transport": httpx.MockTransport(answer)}


def test_decoding_a_reply_is_bounded_by_the_attempts_deadline() -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError):  # the RPC layer makes it DeadlineExceeded
        _attempt(
            "http://x", "ListModels", v1beta.ListModelsRequest(), 0.3, **_answering(EMPTY_MODELS)
        )
    assert time.monotonic() - started < 1.0  # the decoding alone takes seconds


def test_a_reply_past_16_kib_is_decoded_off_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    # about 20 ms of betterproto2 (JSON to messages): held off the loop, as over gRPC
    from textservice._transport.rest import connection

    threads: list[str] = []
    decode = connection.decode_reply

    def spied(reply: Any, data: bytes) -> Any:
        threads.append(threading.current_thread().name)
        return decode(reply, data)

    monkeypatch.setattr(connection, "decode_reply", spied)
    small = b'{"models": [' + b",".join([b"{}"] * 5000) + b"]}"  # 15 KB
    page = b'{"models": [' + b",".join([b"{}"] * 6000) + b"]}"  # 18 KB
    for body in (small, page):
        reply = _attempt(
            "http://x", "ListModels", v1beta.ListModelsRequest(), 10, **_answering(body)
        )
        assert len(reply.models) == body.count(b"{}")
    loop_thread = threading.current_thread().name  # asyncio.run's loop runs on this thread
    assert threads[0] == loop_thread and threads[1].startswith("textservice-json"), threads
