"""The API key appears in no exception text, traceback, repr or log line."""

from __future__ import annotations

import asyncio
import logging
import pickle
import traceback
from collections.abc import Callable, Mapping
from types import FrameType
from typing import Any

import pytest
from grpclib.client import Channel
from hpack import Decoder, NeverIndexedHeaderTuple
from hyperframe.frame import ContinuationFrame, Frame, HeadersFrame
from support.runtime_specs import FAST_RETRY, embed_one_async, embed_one_sync, embed_sync, options
from support.transports import via

from textservice import Client, TextServiceError
from textservice._proto.google import rpc
from textservice._transport.sensitive_headers import NeverIndexingEncoder
from textservice.testing import FakeServer, ServerAddress, retry_info

KEY = "AIzaSyD-secret-test-key-1234567890abcdef"
OTHER = "AIzaSyD-wrong-test-key-0987654321fedcba"


def _texts_of(exc: BaseException) -> list[str]:
    out = ["".join(traceback.format_exception(exc)), str(exc), repr(exc)]
    if isinstance(exc, TextServiceError):
        out.append(repr(pickle.loads(pickle.dumps(exc)).__dict__))
    return out


@pytest.mark.slow  # >= 0.25 s: kept out of make test-fast
@pytest.mark.fake_server(api_key=KEY, embedding_dimension=8)
def test_api_key_never_leaks(
    transport: str, fake_server: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, every level
    logging.getLogger("asyncio").setLevel(logging.DEBUG)
    seen: list[str] = []
    faults = fake_server.faults

    def expect_error(run: Callable[[], object]) -> None:
        with pytest.raises(BaseException) as info:
            run()
        seen.extend(_texts_of(info.value))

    client = Client(KEY, **via(fake_server, transport), retry=FAST_RETRY)
    wrong = Client(OTHER, **via(fake_server, transport))
    try:
        seen += [repr(client), str(client), repr(vars(client)), repr(wrong)]
        embed_one_sync(client, "works")  # the key is accepted, so it really was sent
        expect_error(lambda: embed_one_sync(wrong, "rejected"))  # UNAUTHENTICATED
        # A server that echoes the key back in its message.
        faults.fail_next(1, "INVALID_ARGUMENT", message=f"API key {KEY} is not valid")
        expect_error(lambda: embed_one_sync(client, "echo"))
        faults.fail_next(1, "PERMISSION_DENIED", message=f"denied for key={KEY}; not {OTHER}")
        expect_error(lambda: embed_one_sync(client, "echo"))
        faults.fail_next(1, "UNAVAILABLE", message=f"retry me {KEY}")
        embed_one_sync(client, "retried")  # logged retry
        faults.fail_next(10, "UNAVAILABLE", message=f"down {KEY}")
        expect_error(lambda: embed_one_sync(client, "exhausted"))
        # a delay longer than the timeout: DeadlineExceeded at once (and the client's governor
        # holds the model's next calls for that long: kept short)
        faults.fail_next(1, "RESOURCE_EXHAUSTED", details=[retry_info(0.6)])
        expect_error(lambda: embed_one_sync(client, "deadline", options(timeout=0.5)))
        faults.drop_next(1)
        expect_error(lambda: embed_one_sync(client, "dropped", options(retry=None)))
        faults.delay(1.0, times=1)
        expect_error(lambda: embed_one_sync(client, "slow", options(timeout=0.1)))
        faults.fail_next(1, "INTERNAL", message=f"batch failed {KEY}", method="BatchEmbedText")
        expect_error(lambda: embed_sync(client, [f"t{i}" for i in range(300)]))
        faults.fail_next(1, "INVALID_ARGUMENT", message=f"async {KEY}")
        expect_error(lambda: asyncio.run(embed_one_async(client, "async")))
    finally:
        client.close()
        wrong.close()

    assert len(seen) > 20
    seen += [caplog.text, *(r.getMessage() for r in caplog.records)]
    assert any("retrying" in r.getMessage() for r in caplog.records)  # logs were captured
    for secret in (KEY, OTHER):
        leaks = [text for text in seen if secret in text]
        assert not leaks, leaks[0][:2000]
    assert any("<redacted>" in text for text in seen)  # the echoed keys were scrubbed


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


@pytest.mark.fake_server(api_key=KEY, embedding_dimension=8)
def test_key_echoed_in_error_details_is_scrubbed(transport: str, fake_server: FakeServer) -> None:
    # Google answers a bad key with an ErrorInfo; a server may echo the key anywhere in it.
    echoed = [
        rpc.ErrorInfo(reason="API_KEY_INVALID", domain="googleapis.com", metadata={"key": KEY}),
        rpc.LocalizedMessage(locale="en-US", message=f"API key {KEY} not valid"),
        rpc.BadRequest(
            field_violations=[rpc.BadRequestFieldViolation(field=KEY, description=f"x{KEY}x")]
        ),
        retry_info(0.5),
    ]
    fake_server.faults.fail_next(1, "INVALID_ARGUMENT", message="bad key", details=echoed)
    client = Client(KEY, **via(fake_server, transport))
    with client, pytest.raises(TextServiceError) as info:
        embed_one_sync(client, "echo")
    error = info.value
    info_detail, localized, bad_request, retry = error.details
    # Every detail is kept, only the key is gone from it.
    assert info_detail == rpc.ErrorInfo(
        reason="API_KEY_INVALID", domain="googleapis.com", metadata={"key": "<redacted>"}
    )
    assert localized.message == "API key <redacted> not valid"
    assert bad_request.field_violations[0].field == "<redacted>"
    assert bad_request.field_violations[0].description == "x<redacted>x"
    assert retry == retry_info(0.5) and error.retry_delay == 0.5
    pickled = pickle.dumps(error)
    assert KEY.encode() not in pickled
    assert pickle.loads(pickled).details == error.details
    for exc in _causes(error):  # the raw GRPCError kept the unscrubbed details: dropped
        assert KEY not in repr(getattr(exc, "details", None)), exc


def _plain_copies(value: object, depth: int = 0) -> bool:
    """Whether ``value`` holds the key as a plain ``str``, looking into containers as error
    reporters do when they serialise frame locals."""
    if type(value) is str:
        return KEY in value
    if depth > 6 or isinstance(value, (bytes, str)):
        return False
    if isinstance(value, Mapping):
        items: list[object] = [*value.keys(), *value.values()]
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
    else:
        return False
    return any(_plain_copies(item, depth + 1) for item in items)


def _frames(exc: BaseException) -> list[FrameType]:
    frames = []
    for link in _causes(exc):
        tb = link.__traceback__
        while tb is not None:
            frames.append(tb.tb_frame)
            tb = tb.tb_next
    return frames


@pytest.mark.parametrize("flavour", ["sync", "async"])
@pytest.mark.fake_server(api_key=KEY, embedding_dimension=8)
def test_frame_locals_of_a_failed_call_do_not_show_the_key(
    transport: str, fake_server: FakeServer, flavour: str
) -> None:
    fake_server.faults.fail_next(1, "INVALID_ARGUMENT", message="no")
    client = Client(KEY, **via(fake_server, transport))
    with client, pytest.raises(TextServiceError) as info:
        if flavour == "sync":
            embed_one_sync(client, "fails", options(retry=None))
        else:
            asyncio.run(embed_one_async(client, "fails", options(retry=None)))
    error = info.value
    frames = _frames(error)
    names = {frame.f_code.co_name for frame in frames}
    if transport == "grpc":
        # ours (invoke, and _unary, our unary call) and grpclib's frames are in it
        assert {"invoke", "_unary", "_raise_for_grpc_status"} <= names, names
        assert error.__cause__ is not None  # the grpclib error (and its frames) are kept
    else:
        # ours: invoke, and the REST connection's attempt, where the error body was read
        assert {"invoke", "unary"} <= names, names
    # What traceback's capture_locals prints (and reporters like Sentry send).
    shown = "".join(
        traceback.TracebackException.from_exception(error, capture_locals=True).format()
    )
    # the call's ``UnaryCall`` (a local of the attempt) holds the metadata: shown, key redacted
    assert "metadata=[" in shown and "('x-goog-api-key', <redacted>)" in shown
    assert KEY not in shown
    holders = [
        (frame.f_code.co_name, name)
        for frame in frames
        for name, value in frame.f_locals.items()
        if _plain_copies(value)
    ]
    assert not holders


_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def _header_blocks(sent: bytes) -> list[bytes]:
    """The HPACK header blocks of the HTTP/2 frames a client sent (after its preface)."""
    assert sent.startswith(_PREFACE)
    view = memoryview(sent)[len(_PREFACE) :]
    blocks: list[bytes] = []
    pending = b""
    while view:
        frame, length = Frame.parse_frame_header(view[:9])
        frame.parse_body(view[9 : 9 + length])
        view = view[9 + length :]
        if isinstance(frame, (HeadersFrame, ContinuationFrame)):
            pending += frame.data
            if "END_HEADERS" in frame.flags:
                blocks.append(pending)
                pending = b""
    return blocks


async def _calls_through_tap(target: ServerAddress, texts: list[str]) -> bytes:
    """Embed ``texts`` one call each through a TCP relay to ``target``; what the client sent."""
    sent = bytearray()

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, tap: bool) -> None:
        while data := await reader.read(65536):
            if tap:
                sent.extend(data)
            writer.write(data)
            await writer.drain()
        writer.close()

    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(target.host, target.port)
        await asyncio.gather(pipe(reader, up_writer, True), pipe(up_reader, writer, False))

    server = await asyncio.start_server(relay, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with Client(KEY, endpoint=f"127.0.0.1:{port}", insecure=True) as client:
        for text in texts:
            await embed_one_async(client, text)
    server.close()
    return bytes(sent)


@pytest.mark.network
@pytest.mark.fake_server(api_key=KEY, embedding_dimension=8)
def test_key_header_is_never_indexed_on_the_wire(fake_server: FakeServer) -> None:
    with fake_server.serve() as address:
        sent = asyncio.run(_calls_through_tap(address, ["a", "b", "c"]))
    decoder = Decoder()  # mirrors the client's encoder: same table, same entries
    sent_keys = []
    for block in _header_blocks(sent):
        for header in decoder.decode(block, raw=True):
            if header[0] == b"x-goog-api-key":
                sent_keys.append(header)
    assert len(sent_keys) == 3  # one per call, each as the literal key...
    assert all(header[1] == KEY.encode() for header in sent_keys)
    # ...in the "literal never indexed" representation (RFC 7541 6.2.3), every time.
    assert all(isinstance(header, NeverIndexedHeaderTuple) for header in sent_keys)
    table = decoder.header_table.dynamic_entries
    assert table  # other headers (:path, user-agent, ...) are indexed as usual
    assert not [entry for entry in table if KEY.encode() in entry[1]]


@pytest.mark.fake_server(api_key=KEY, embedding_dimension=8)
def test_in_memory_channel_keeps_the_key_out_of_the_hpack_table(
    fake_server: FakeServer,
) -> None:
    channels: list[Channel] = []

    def channel() -> Channel:
        channels.append(fake_server.channel())
        return channels[-1]

    async def main() -> list[tuple[bytes, bytes]]:
        async with Client(KEY, channel_factory=channel) as client:
            await embed_one_async(client, "a")
            await embed_one_async(client, "b")
            # grpclib keeps the h2 connection (and its hpack encoder) out of its public API.
            encoder = channels[0]._protocol.connection._connection.encoder  # type: ignore[union-attr]
            return list(encoder.header_table.dynamic_entries)

    table = asyncio.run(main())
    assert table
    assert not [entry for entry in table if KEY.encode() in entry[1]]


def test_never_indexing_encoder_marks_credential_headers_only() -> None:
    encoder = NeverIndexingEncoder()
    decoder = Decoder()
    headers: Any  # three forms an encoder takes: str pairs, bytes tuples, a mapping
    for headers in (
        [(":path", "/x"), ("X-Goog-Api-Key", KEY), ("x-team", "a")],
        [(b":path", b"/x"), (b"authorization", b"Bearer t"), (b"x-team", b"a", False)],
        {"x-team": "a", "proxy-authorization": "Basic p", ":path": "/x"},
    ):
        decoded = list(decoder.decode(encoder.encode(headers), raw=True))
        assert decoded[0] == (b":path", b"/x")  # pseudo-headers stay first
        never = [h[0].lower() for h in decoded if isinstance(h, NeverIndexedHeaderTuple)]
        assert len(decoded) == 3 and len(never) == 1
        assert never[0] in {b"x-goog-api-key", b"authorization", b"proxy-authorization"}
    assert {name for name, _ in encoder.header_table.dynamic_entries} == {b":path", b"x-team"}
