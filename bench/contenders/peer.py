"""The peer: google-generativeai 0.7.2 and its GAPIC client (``bench/.venv-peer``).

Variants:
- ``genai``: ``google.generativeai.generate_embeddings`` as users call it (chunks of 100,
  sequential, ``to_dict`` of each response).
- ``gapic``: its ``TextServiceClient`` (google-ai-generativelanguage) directly, batches of 100
  sequentially, vectors as lists of floats.

Both use the GAPIC client on an insecure channel to the local server (``genai.configure`` only
builds TLS channels), passing the API key as per-call metadata the way the real credentials do.
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
        from google.ai.generativelanguage_v1beta.services.text_service.transports import (
            TextServiceGrpcTransport,
        )
    except ImportError as exc:
        raise _common.Unavailable(f"google-ai-generativelanguage not importable: {exc}") from exc
    channel = grpc.insecure_channel(args.target)
    return glm, glm.TextServiceClient(transport=TextServiceGrpcTransport(channel=channel))


def _genai() -> Any:
    try:
        import google.generativeai as genai
    except ImportError as exc:
        raise _common.Unavailable(f"google-generativeai not importable: {exc}") from exc
    return genai


def genai_batch(args: argparse.Namespace, texts: list[str]) -> Measured:
    genai = _genai()
    _, client = _client(args)
    options = {"metadata": _common.metadata(args)}
    genai.generate_embeddings(
        args.model, _common.WARM_UP_TEXT, client=client, request_options=options
    )
    wall, result = _common.timed(
        lambda: genai.generate_embeddings(args.model, texts, client=client, request_options=options)
    )
    return Measured(vectors=result["embedding"], wall_s=wall)


def genai_single(args: argparse.Namespace, texts: list[str]) -> Measured:
    genai = _genai()
    _, client = _client(args)
    options = {"metadata": _common.metadata(args)}

    def call(text: str) -> list[float]:
        result = genai.generate_embeddings(args.model, text, client=client, request_options=options)
        vector: list[float] = result["embedding"]
        return vector

    call(_common.WARM_UP_TEXT)
    return _common.run_single_calls(call, texts)


def gapic_batch(args: argparse.Namespace, texts: list[str]) -> Measured:
    glm, client = _client(args)
    md = _common.metadata(args)
    client.embed_text(model=args.model, text=_common.WARM_UP_TEXT, metadata=md)

    def run() -> list[list[float]]:
        out: list[list[float]] = []
        for batch in _common.chunks(texts):
            request = glm.BatchEmbedTextRequest(model=args.model, texts=batch)
            response = client.batch_embed_text(request=request, metadata=md)
            out.extend(list(e.value) for e in response.embeddings)
        return out

    wall, vectors = _common.timed(run)
    return Measured(vectors=vectors, wall_s=wall)


def gapic_single(args: argparse.Namespace, texts: list[str]) -> Measured:
    glm, client = _client(args)
    md = _common.metadata(args)

    def call(text: str) -> list[float]:
        request = glm.EmbedTextRequest(model=args.model, text=text)
        return list(client.embed_text(request=request, metadata=md).embedding.value)

    call(_common.WARM_UP_TEXT)
    return _common.run_single_calls(call, texts)


if __name__ == "__main__":
    _common.main(
        {
            "genai": {"batch": genai_batch, "single": genai_single},
            "gapic": {"batch": gapic_batch, "single": gapic_single},
        }
    )
