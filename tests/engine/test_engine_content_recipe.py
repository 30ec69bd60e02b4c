"""GenerativeService's EmbedContent/BatchEmbedContents are just another recipe on the engine.

Issue 12 adds ``embed_content``: per-item requests carrying ``task_type``, ``title`` and
``output_dimensionality``, vectors in ``embeddings[].values``. This checks that the engine
needs nothing new for it: a recipe whose parameters are more than a model name, against a
loopback GenerativeService, in both outputs, in input order.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import grpclib.server
import numpy as np
import pytest
from support.content_recipe import RECIPE, ContentParams

from textservice import Client
from textservice._engine import embed as engine
from textservice._engine.output_formats import OUTPUTS, Output
from textservice._engine.spec import EmbedSpec
from textservice._proto.google.ai.generativelanguage import v1beta as pb
from textservice._transport.options import RequestOptions
from textservice._transport.status import StatusDetailsCodec
from textservice.client import call_path

pytestmark = pytest.mark.network


def vector(request: pb.EmbedContentRequest) -> list[float]:
    """A vector that shows what the server received (exact float32 values)."""
    text = request.content.parts[0].text if request.content else ""
    assert text is not None and request.task_type is not None
    size = request.output_dimensionality or 3
    return [float(len(text)), float(request.task_type.value), float(len(request.title or ""))][
        :size
    ] + [0.5] * max(0, size - 3)


class ContentService(pb.GenerativeServiceBase):
    def __init__(self) -> None:
        self.batches: list[pb.BatchEmbedContentsRequest] = []

    async def embed_content(self, message: pb.EmbedContentRequest) -> pb.EmbedContentResponse:
        return pb.EmbedContentResponse(embedding=pb.ContentEmbedding(values=vector(message)))

    async def batch_embed_contents(
        self, message: pb.BatchEmbedContentsRequest
    ) -> pb.BatchEmbedContentsResponse:
        self.batches.append(message)
        await asyncio.sleep(0.001 * (len(self.batches) % 3))  # finish out of order
        return pb.BatchEmbedContentsResponse(
            embeddings=[pb.ContentEmbedding(values=vector(r)) for r in message.requests]
        )


@pytest.mark.parametrize("output", ["list", "numpy"])
def test_embed_content_is_a_recipe_on_the_same_engine(output: Output) -> None:
    service = ContentService()
    texts = [f"doc {i}" + "x" * (i % 5) for i in range(250)]
    params = ContentParams("models/gemini-embedding-001", pb.TaskType.RETRIEVAL_DOCUMENT, "T", 4)

    async def main() -> tuple[Any, Any, list[Any]]:
        server = grpclib.server.Server([service], status_details_codec=StatusDetailsCodec())
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        await server.start(sock=sock)
        port = sock.getsockname()[1]
        client = Client("k", endpoint=f"127.0.0.1:{port}", insecure=True)
        try:
            spec = EmbedSpec(call_path(client), RECIPE, params, RequestOptions(), OUTPUTS[output])
            many = await engine.embed_many(spec, texts)
            one = await engine.embed_one(spec, "alone")
            batches = [b async for b in engine.iter_embed(spec, iter(texts), batch_size=60)]
            return many, one, batches
        finally:
            await client.aclose()
            server.close()
            await server.wait_closed()

    many, one, batches = asyncio.run(main())
    expected = [[float(len(t)), 2.0, 1.0, 0.5] for t in texts]
    assert [list(map(float, row)) for row in many] == expected
    assert list(map(float, one)) == [5.0, 2.0, 1.0, 0.5]
    assert [len(b) for b in batches] == [60, 60, 60, 60, 10]
    assert [list(map(float, row)) for b in batches for row in b] == expected
    if output == "numpy":
        assert isinstance(many, np.ndarray) and many.shape == (250, 4)
    first = service.batches[0].requests[0]
    assert (first.title, first.output_dimensionality) == ("T", 4)
    assert all(len(b.requests) <= 100 for b in service.batches)
