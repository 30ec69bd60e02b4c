"""The floor for ``embed_content``: a raw grpcio GenerativeService stub from protoc's standard
Python output (project venv).

Variants: ``seq`` (one BatchEmbedContents of 100 requests at a time) and ``inflight8`` (8 in
flight with grpcio futures). Both return lists of Python floats, like the facade's default
output. The modules come from ``bench/refbuild.py`` (``--ref``).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections import deque
from collections.abc import Sequence
from typing import Any

import _common
from _common import Measured

IN_FLIGHT = 8


def _open(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    try:
        import grpc
    except ImportError as exc:
        raise _common.Unavailable(f"grpcio not importable: {exc}") from exc
    sys.path.insert(0, args.ref)
    prefix = "tsref.google.ai.generativelanguage.v1beta"
    pb2 = importlib.import_module(f"{prefix}.generative_service_pb2")
    pb2_grpc = importlib.import_module(f"{prefix}.generative_service_pb2_grpc")
    content = importlib.import_module(f"{prefix}.content_pb2")
    channel = grpc.insecure_channel(args.target)
    stub = pb2_grpc.GenerativeServiceStub(channel)

    def request(batch: Sequence[str]) -> Any:
        return pb2.BatchEmbedContentsRequest(
            model=args.model,
            requests=[
                pb2.EmbedContentRequest(
                    model=args.model, content=content.Content(parts=[content.Part(text=text)])
                )
                for text in batch
            ],
        )

    md = _common.metadata(args)
    stub.BatchEmbedContents(request([_common.WARM_UP_TEXT]), metadata=md)
    return request, stub, channel


def _seq(args: argparse.Namespace, texts: list[str]) -> Measured:
    request, stub, channel = _open(args)
    md = _common.metadata(args)

    def run() -> list[list[float]]:
        out: list[list[float]] = []
        for batch in _common.chunks(texts):
            response = stub.BatchEmbedContents(request(batch), metadata=md)
            out.extend(list(e.values) for e in response.embeddings)
        return out

    wall, vectors = _common.timed(run)
    channel.close()
    return Measured(vectors=vectors, wall_s=wall)


def _inflight(args: argparse.Namespace, texts: list[str]) -> Measured:
    request, stub, channel = _open(args)
    md = _common.metadata(args)

    def run() -> list[list[float]]:
        out: list[list[float]] = []
        pending: deque[Any] = deque()
        for batch in _common.chunks(texts):
            pending.append(stub.BatchEmbedContents.future(request(batch), metadata=md))
            if len(pending) == IN_FLIGHT:
                out.extend(list(e.values) for e in pending.popleft().result().embeddings)
        while pending:
            out.extend(list(e.values) for e in pending.popleft().result().embeddings)
        return out

    wall, vectors = _common.timed(run)
    channel.close()
    return Measured(vectors=vectors, wall_s=wall)


if __name__ == "__main__":
    _common.main({"seq": {"batch": _seq}, "inflight8": {"batch": _inflight}})
