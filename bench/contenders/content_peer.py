"""The peer for ``embed_content``: google-generativeai 0.7.2 and its GAPIC
``GenerativeServiceClient`` (``bench/.venv-peer``).

Variants:
- ``genai``: ``google.generativeai.embed_content(model, texts, client=...)`` as users call it
  (BatchEmbedContents of 100, sequential, ``to_dict`` of each response);
- ``gapic``: its ``GenerativeServiceClient`` (google-ai-generativelanguage) directly,
  ``batch_embed_contents`` of 100 sequentially, vectors as lists of floats.

Both use the GAPIC client on an insecure channel to the local server (``genai.configure``
only builds TLS channels), with the API key as per-call metadata.
"""

from __future__ import annotations

import argparse
from typing import Any

import _common
from _common import Measured


def _client(args: argparse.Namespace) -> tuple[Any, Any]:
    try:
        import grpc
        from google.ai import generativelanguage_v1beta as glm
        from google.ai.generativelanguage_v1beta.services.generative_service.transports import (
            GenerativeServiceGrpcTransport,
        )
    except ImportError as exc:
        raise _common.Unavailable(f"google-ai-generativelanguage not importable: {exc}") from exc
    channel = grpc.insecure_channel(args.target)
    return glm, glm.GenerativeServiceClient(
        transport=GenerativeServiceGrpcTransport(channel=channel)
    )


def genai_batch(args: argparse.Namespace, texts: list[str]) -> Measured:
    try:
        import google.generativeai as genai
    except ImportError as exc:
        raise _common.Unavailable(f"google-generativeai not importable: {exc}") from exc
    _, client = _client(args)
    options = {"metadata": _common.metadata(args)}
    genai.embed_content(args.model, [_common.WARM_UP_TEXT], client=client, request_options=options)
    wall, result = _common.timed(
        lambda: genai.embed_content(args.model, texts, client=client, request_options=options)
    )
    return Measured(vectors=result["embedding"], wall_s=wall)


def gapic_batch(args: argparse.Namespace, texts: list[str]) -> Measured:
    glm, client = _client(args)
    md = _common.metadata(args)

    def request(batch: Any) -> Any:
        return glm.BatchEmbedContentsRequest(
            model=args.model,
            requests=[
                glm.EmbedContentRequest(
                    model=args.model, content=glm.Content(parts=[glm.Part(text=text)])
                )
                for text in batch
            ],
        )

    client.batch_embed_contents(request=request([_common.WARM_UP_TEXT]), metadata=md)

    def run() -> list[list[float]]:
        out: list[list[float]] = []
        for batch in _common.chunks(texts):
            response = client.batch_embed_contents(request=request(batch), metadata=md)
            out.extend(list(e.values) for e in response.embeddings)
        return out

    wall, vectors = _common.timed(run)
    return Measured(vectors=vectors, wall_s=wall)


if __name__ == "__main__":
    _common.main({"genai": {"batch": genai_batch}, "gapic": {"batch": gapic_batch}})
