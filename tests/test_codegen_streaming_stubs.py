"""The generated grpclib stubs and server bases of the bigger tree work end to end, streaming
RPCs included (StreamGenerateContent, the bidi BidiGenerateContent), over an in-memory channel.
The facade never wraps streaming RPCs; the raw stubs are there for whoever needs them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from grpclib.const import Status
from grpclib.exceptions import GRPCError
from grpclib.testing import ChannelFor

from textservice._proto.google.ai.generativelanguage import v1, v1beta


def _text(content: v1beta.Content | None) -> str:
    assert content is not None
    return content.parts[0].text or ""


class StreamingService(v1beta.GenerativeServiceBase):
    async def stream_generate_content(
        self, message: v1beta.GenerateContentRequest
    ) -> AsyncIterator[v1beta.GenerateContentResponse]:
        for word in _text(message.contents[0]).split():
            content = v1beta.Content(parts=[v1beta.Part(text=word)], role="model")
            yield v1beta.GenerateContentResponse(candidates=[v1beta.Candidate(content=content)])

    async def bidi_generate_content(
        self, messages: AsyncIterator[v1beta.BidiGenerateContentClientMessage]
    ) -> AsyncIterator[v1beta.BidiGenerateContentServerMessage]:
        async for message in messages:
            assert message.client_content is not None
            content = v1beta.BidiGenerateContentServerContent(
                model_turn=message.client_content.turns[0], turn_complete=True
            )
            yield v1beta.BidiGenerateContentServerMessage(server_content=content)


class EmbeddingService(v1.GenerativeServiceBase):
    async def embed_content(self, message: v1.EmbedContentRequest) -> v1.EmbedContentResponse:
        assert message.content is not None
        size = float(len(message.content.parts[0].text or ""))
        return v1.EmbedContentResponse(embedding=v1.ContentEmbedding(values=[size] * 3))


def test_server_streaming_and_bidi_stubs() -> None:
    async def go() -> tuple[list[str], list[str]]:
        async with ChannelFor([StreamingService()]) as channel:
            stub = v1beta.GenerativeServiceStub(channel)
            request = v1beta.GenerateContentRequest(
                model="models/m", contents=[v1beta.Content(parts=[v1beta.Part(text="a b c")])]
            )
            words = [
                _text(r.candidates[0].content) async for r in stub.stream_generate_content(request)
            ]
            turns = [
                v1beta.BidiGenerateContentClientMessage(
                    client_content=v1beta.BidiGenerateContentClientContent(
                        turns=[v1beta.Content(parts=[v1beta.Part(text=t)])]
                    )
                )
                for t in ("one", "two")
            ]
            echoed = []
            async for r in stub.bidi_generate_content(turns):
                assert r.server_content is not None and r.server_content.turn_complete
                echoed.append(_text(r.server_content.model_turn))
            return words, echoed

    assert asyncio.run(go()) == (["a", "b", "c"], ["one", "two"])


def test_unary_stub_and_an_unimplemented_rpc_of_v1() -> None:
    async def go() -> list[float]:
        async with ChannelFor([EmbeddingService()]) as channel:
            stub = v1.GenerativeServiceStub(channel)
            request = v1.EmbedContentRequest(
                model="models/gemini-embedding-001",
                content=v1.Content(parts=[v1.Part(text="four")]),
                task_type=v1.TaskType.RETRIEVAL_DOCUMENT,
                title="T",
                output_dimensionality=3,
            )
            response = await stub.embed_content(request)
            with pytest.raises(GRPCError) as raised:  # the generated base's default
                await stub.count_tokens(v1.CountTokensRequest(model="models/m"))
            assert raised.value.status is Status.UNIMPLEMENTED
            assert response.embedding is not None
            return list(response.embedding.values)

    assert asyncio.run(go()) == [4.0, 4.0, 4.0]
