"""The generated grpclib stubs and server bases of the bigger tree work end to end, streaming
RPCs included (StreamGenerateContent, the bidi BidiGenerateContent), over an in-memory channel.
The facade never wraps streaming RPCs; the raw stubs are there for whoever needs them.

Which version has which RPC is read from the generated code (a v1beta from 2024-06 has no
BidiGenerateContent), and the messages are reached through the version's module.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from grpclib.const import Cardinality, Status
from grpclib.exceptions import GRPCError
from grpclib.testing import ChannelFor

from textservice.testing.versions import api_versions


def _with(method: str, cardinality: Cardinality) -> Any:
    """The generated module of the first version whose GenerativeService has ``method`` with
    that cardinality (skips the test when none has)."""
    for version in api_versions():
        service = version.service("GenerativeService")
        if service is None:
            continue
        for name, (_, handler) in zip(service.methods, service.handlers, strict=True):
            if name == method and handler.cardinality is cardinality:
                return version.module
    pytest.skip(f"no generated version has GenerativeService.{method} ({cardinality.name})")


def _text(content: Any) -> str:
    assert content is not None
    return str(content.parts[0].text or "")


def test_server_streaming_stub() -> None:
    pb = _with("StreamGenerateContent", Cardinality.UNARY_STREAM)

    async def stream_generate_content(self: Any, message: Any) -> AsyncIterator[Any]:
        for word in _text(message.contents[0]).split():
            content = pb.Content(parts=[pb.Part(text=word)], role="model")
            yield pb.GenerateContentResponse(candidates=[pb.Candidate(content=content)])

    servicer = type(
        "Streaming",
        (pb.GenerativeServiceBase,),
        {"stream_generate_content": stream_generate_content},
    )

    async def go() -> list[str]:
        async with ChannelFor([servicer()]) as channel:
            stub = pb.GenerativeServiceStub(channel)
            request = pb.GenerateContentRequest(
                model="models/m", contents=[pb.Content(parts=[pb.Part(text="a b c")])]
            )
            return [
                _text(r.candidates[0].content) async for r in stub.stream_generate_content(request)
            ]

    assert asyncio.run(go()) == ["a", "b", "c"]


def test_bidi_streaming_stub() -> None:
    pb = _with("BidiGenerateContent", Cardinality.STREAM_STREAM)

    async def bidi_generate_content(self: Any, messages: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for message in messages:
            assert message.client_content is not None
            content = pb.BidiGenerateContentServerContent(
                model_turn=message.client_content.turns[0], turn_complete=True
            )
            yield pb.BidiGenerateContentServerMessage(server_content=content)

    servicer = type(
        "Bidi", (pb.GenerativeServiceBase,), {"bidi_generate_content": bidi_generate_content}
    )

    async def go() -> list[str]:
        async with ChannelFor([servicer()]) as channel:
            stub = pb.GenerativeServiceStub(channel)
            turns = [
                pb.BidiGenerateContentClientMessage(
                    client_content=pb.BidiGenerateContentClientContent(
                        turns=[pb.Content(parts=[pb.Part(text=t)])]
                    )
                )
                for t in ("one", "two")
            ]
            echoed = []
            async for r in stub.bidi_generate_content(turns):
                assert r.server_content is not None and r.server_content.turn_complete
                echoed.append(_text(r.server_content.model_turn))
            return echoed

    assert asyncio.run(go()) == ["one", "two"]


def test_unary_stub_and_an_unimplemented_rpc() -> None:
    pb = _with("EmbedContent", Cardinality.UNARY_UNARY)

    async def embed_content(self: Any, message: Any) -> Any:
        size = float(len(_text(message.content)))
        return pb.EmbedContentResponse(embedding=pb.ContentEmbedding(values=[size] * 3))

    servicer = type("Embedding", (pb.GenerativeServiceBase,), {"embed_content": embed_content})

    async def go() -> list[float]:
        async with ChannelFor([servicer()]) as channel:
            stub = pb.GenerativeServiceStub(channel)
            request = pb.EmbedContentRequest(
                model="models/gemini-embedding-001",
                content=pb.Content(parts=[pb.Part(text="four")]),
                task_type=pb.TaskType.RETRIEVAL_DOCUMENT,
            )
            response = await stub.embed_content(request)
            with pytest.raises(GRPCError) as raised:  # the generated base's default
                await stub.count_tokens(pb.CountTokensRequest(model="models/m"))
            assert raised.value.status is Status.UNIMPLEMENTED
            assert response.embedding is not None
            return list(response.embedding.values)

    assert asyncio.run(go()) == [4.0, 4.0, 4.0]
