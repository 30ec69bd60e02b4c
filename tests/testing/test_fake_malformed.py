"""Bad input gets a gRPC error from the fake, never a crash (and the fake keeps serving)."""

from __future__ import annotations

import asyncio
import struct
from typing import Any

import grpclib.client
import grpclib.exceptions
import pytest
from grpclib.const import Cardinality, Status
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.fake_helpers import EMBED_MODEL, Route, module, routes

from textservice._encoding.codec import Codec
from textservice.testing import FakeServer, expected_embedding

M = module("v1beta")
ROUTE = "/google.ai.generativelanguage.v1beta.TextService/{}"


class _RawCodec(Codec):
    """Sends ``bytes`` messages as they are (any other message normally)."""

    def encode(self, message: Any, message_type: Any) -> bytes:
        return message if isinstance(message, bytes) else super().encode(message, message_type)


async def _raw_call(
    channel: grpclib.client.Channel, route: str, data: bytes, request_type: Any, reply_type: Any
) -> tuple[Status, str | None]:
    try:
        async with channel.request(
            route, Cardinality.UNARY_UNARY, request_type, reply_type, timeout=10
        ) as stream:
            await stream.send_message(data, end=True)
            await stream.recv_message()
    except grpclib.exceptions.GRPCError as exc:
        return exc.status, exc.message
    return Status.OK, None


async def _framed_call(channel: grpclib.client.Channel, route: str, frame: bytes) -> Status:
    """Send ``frame`` as the whole request body, bypassing grpclib's message framing."""
    try:
        async with channel.request(
            route, Cardinality.UNARY_UNARY, M.EmbedTextRequest, M.EmbedTextResponse, timeout=10
        ) as stream:
            await stream.send_request()
            await stream._stream.send_data(frame, end_stream=True)
            stream._end_done = True  # tell grpclib the request side is finished
            stream._send_message_done = True
            await stream.recv_message()
    except grpclib.exceptions.GRPCError as exc:
        return exc.status
    return Status.OK


async def _still_serves(channel: grpclib.client.Channel) -> bool:
    stub = M.TextServiceStub(channel)
    response = await stub.embed_text(M.EmbedTextRequest(model=EMBED_MODEL, text="ok"), timeout=10)
    return bool(response.embedding.value == expected_embedding(EMBED_MODEL, "ok"))


def _with_memory_channel(fake: FakeServer, body: Any) -> Any:
    async def go() -> Any:
        async with fake.in_memory() as plain:
            channel = fake.channel()
            channel._codec = _RawCodec()  # the raw codec on an in-memory channel
            try:
                return await body(channel, plain)
            finally:
                channel.close()

    return asyncio.run(go())


GT = M.GenerateTextRequest
MALFORMED: list[tuple[str, bytes, Any, str]] = [
    ("EmbedText", b"\xff\xff\xff", M.EmbedTextRequest, "varint"),
    ("EmbedText", b"\x0a\x10abc", M.EmbedTextRequest, "runs past the end"),
    ("EmbedText", b"\x08\x01", M.EmbedTextRequest, "model: wire type 0, expected 2"),
    ("EmbedText", b"\x0a\x02\xff\xfe", M.EmbedTextRequest, "model: string is not valid UTF-8"),
    ("EmbedText", b"\x0b\x0c", M.EmbedTextRequest, "unsupported wire type 3"),
    ("EmbedText", b"\x00\x01", M.EmbedTextRequest, "field number 0"),
    ("GenerateText", b"\x12\x02\x08\x01", GT, "prompt.text: wire type 0, expected 2"),
    ("GenerateText", b"\x20\x85", GT, "data ends inside a varint"),
    ("GenerateText", b"\x4a\x01\xc3", GT, "stop_sequences: string is not valid UTF-8"),
    ("GenerateText", b"\x1d\x00\x00", GT, "data ends inside a fixed-size value"),
    # a CountTextTokensResponse (field 1 varint) on the EmbedText route
    ("EmbedText", b"\x08\x07", M.EmbedTextRequest, "model: wire type 0"),
]


def test_malformed_bytes_get_invalid_argument() -> None:
    fake = FakeServer()

    async def body(channel: grpclib.client.Channel, plain: grpclib.client.Channel) -> list[Any]:
        out: list[Any] = []
        for method, data, request_type, _ in MALFORMED:
            reply_type = getattr(M, request_type.__name__.replace("Request", "Response"))
            out.append(
                await _raw_call(channel, ROUTE.format(method), data, request_type, reply_type)
            )
        out.append(await _still_serves(plain))
        return out

    *results, serves = _with_memory_channel(fake, body)
    for (method, data, _, expected), (status, message) in zip(MALFORMED, results, strict=True):
        assert status is Status.INVALID_ARGUMENT, (method, data, message)
        assert message is not None and expected in message, (message, expected)
    assert serves
    assert fake.count(status=Status.INVALID_ARGUMENT) == len(MALFORMED)
    assert all(c.request is None for c in fake.calls[: len(MALFORMED)])


def test_well_formed_message_of_another_type_is_answered_or_refused() -> None:
    # Protobuf cannot always tell messages apart: a GenerateTextRequest read as an
    # EmbedTextRequest has a model and a "text" (the prompt's bytes), and is answered, as a
    # real server would. Types that clash on the wire are refused.
    fake = FakeServer()
    generate = bytes(GT(model=EMBED_MODEL, prompt=M.TextPrompt(text="hi")))
    clash = bytes(M.BatchEmbedTextResponse(embeddings=[M.Embedding(value=[1.0])]))

    async def body(channel: grpclib.client.Channel, plain: grpclib.client.Channel) -> list[Any]:
        return [
            await _raw_call(
                channel,
                ROUTE.format("EmbedText"),
                generate,
                M.EmbedTextRequest,
                M.EmbedTextResponse,
            ),
            # an Embedding's packed floats read as a GenerateTextRequest.model string
            await _raw_call(
                channel, ROUTE.format("GenerateText"), clash, GT, M.GenerateTextResponse
            ),
            await _still_serves(plain),
        ]

    (first, _), (second, message), serves = _with_memory_channel(fake, body)
    assert first is Status.OK
    assert fake.calls[0].request.text == "\n\x02hi"
    assert second is Status.INVALID_ARGUMENT, message
    assert serves


def test_bad_framing() -> None:
    fake = FakeServer()
    good = bytes(M.EmbedTextRequest(model=EMBED_MODEL, text="x"))

    async def body(channel: grpclib.client.Channel, plain: grpclib.client.Channel) -> list[Any]:
        route = ROUTE.format("EmbedText")
        return [
            await _framed_call(plain, route, b"\x01" + struct.pack(">I", len(good)) + good),
            await _framed_call(plain, route, b"\x00" + struct.pack(">I", 50) + good),
            await _framed_call(plain, route, b""),
            await _still_serves(plain),
        ]

    compressed, short, empty, serves = _with_memory_channel(fake, body)
    assert compressed is Status.UNIMPLEMENTED
    assert short is Status.INVALID_ARGUMENT
    assert empty is Status.INVALID_ARGUMENT
    assert serves


ANSWERED = routes(lambda route: route.answered)
UNARY_UNANSWERED = routes(
    lambda route: not route.answered and route.cardinality is Cardinality.UNARY_UNARY
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(ANSWERED), st.binary(max_size=64))
def test_random_bytes_never_crash_the_fake(route: Route, data: bytes) -> None:
    fake = FakeServer(known_models=None)

    async def body(channel: grpclib.client.Channel, plain: grpclib.client.Channel) -> Any:
        return await _raw_call(channel, route.path, data, route.request_type, route.reply_type)

    status, message = _with_memory_channel(fake, body)
    assert status in (Status.OK, Status.INVALID_ARGUMENT), (route.path, status, message)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(UNARY_UNANSWERED), st.binary(max_size=64))
def test_random_bytes_to_an_unimplemented_rpc_get_unimplemented(route: Route, data: bytes) -> None:
    fake = FakeServer()

    async def body(channel: grpclib.client.Channel, plain: grpclib.client.Channel) -> Any:
        return await _raw_call(channel, route.path, data, route.request_type, route.reply_type)

    status, _ = _with_memory_channel(fake, body)
    assert status is Status.UNIMPLEMENTED


@pytest.mark.network
@pytest.mark.parametrize("method", ["EmbedText", "GenerateText"])
def test_malformed_over_tcp(method: str) -> None:
    fake = FakeServer()
    request_type = getattr(M, f"{method}Request")
    reply_type = getattr(M, f"{method}Response")

    async def go(port: int) -> tuple[tuple[Status, str | None], bool]:
        channel = grpclib.client.Channel("127.0.0.1", port, codec=_RawCodec())
        plain = grpclib.client.Channel("127.0.0.1", port, codec=Codec())
        try:
            result = await _raw_call(
                channel, ROUTE.format(method), b"\x08\x01", request_type, reply_type
            )
            return result, await _still_serves(plain)
        finally:
            channel.close()
            plain.close()

    with fake.serve() as address:
        (status, _), serves = asyncio.run(go(address.port))
    assert status is Status.INVALID_ARGUMENT
    assert serves
