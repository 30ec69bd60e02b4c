"""The floor: a raw grpcio stub from protoc's standard Python output (project venv).

Variants: ``seq`` (one BatchEmbedText at a time) and ``inflight8`` (8 batches in flight with
grpcio futures). Both return lists of Python floats, like the facade, so the comparison
includes the same conversion. The modules come from ``bench/refbuild.py`` (``--ref``).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections import deque
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
    pb2 = importlib.import_module("tsref.google.ai.generativelanguage.v1beta.text_service_pb2")
    pb2_grpc = importlib.import_module(
        "tsref.google.ai.generativelanguage.v1beta.text_service_pb2_grpc"
    )
    channel = grpc.insecure_channel(args.target)
    return pb2, pb2_grpc.TextServiceStub(channel), channel


def single(args: argparse.Namespace, texts: list[str]) -> Measured:
    pb2, stub, channel = _open(args)
    md = _common.metadata(args)

    def call(text: str) -> list[float]:
        response = stub.EmbedText(pb2.EmbedTextRequest(model=args.model, text=text), metadata=md)
        return list(response.embedding.value)

    call(_common.WARM_UP_TEXT)
    measured = _common.run_single_calls(call, texts)
    channel.close()
    return measured


def _seq(args: argparse.Namespace, texts: list[str]) -> Measured:
    pb2, stub, channel = _open(args)
    md = _common.metadata(args)
    stub.EmbedText(pb2.EmbedTextRequest(model=args.model, text=_common.WARM_UP_TEXT), metadata=md)

    def run() -> list[list[float]]:
        out: list[list[float]] = []
        for batch in _common.chunks(texts):
            response = stub.BatchEmbedText(
                pb2.BatchEmbedTextRequest(model=args.model, texts=batch), metadata=md
            )
            out.extend(list(e.value) for e in response.embeddings)
        return out

    wall, vectors = _common.timed(run)
    channel.close()
    return Measured(vectors=vectors, wall_s=wall)


def _inflight(args: argparse.Namespace, texts: list[str]) -> Measured:
    pb2, stub, channel = _open(args)
    md = _common.metadata(args)
    stub.EmbedText(pb2.EmbedTextRequest(model=args.model, text=_common.WARM_UP_TEXT), metadata=md)

    def run() -> list[list[float]]:
        out: list[list[float]] = []
        pending: deque[Any] = deque()
        batches = iter(_common.chunks(texts))
        for batch in batches:
            request = pb2.BatchEmbedTextRequest(model=args.model, texts=batch)
            pending.append(stub.BatchEmbedText.future(request, metadata=md))
            if len(pending) == IN_FLIGHT:
                out.extend(list(e.value) for e in pending.popleft().result().embeddings)
        while pending:
            out.extend(list(e.value) for e in pending.popleft().result().embeddings)
        return out

    wall, vectors = _common.timed(run)
    channel.close()
    return Measured(vectors=vectors, wall_s=wall)


if __name__ == "__main__":
    _common.main({"seq": {"batch": _seq, "single": single}, "inflight8": {"batch": _inflight}})
