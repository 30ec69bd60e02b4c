"""The bench server: a grpcio TextService (EmbedText, BatchEmbedText) in its own process.

Built to stay out of the way of the clients it serves: requests are parsed with protoc's
standard ``_pb2`` (upb), and each text's serialized ``Embedding`` is computed once and cached,
so a response is a concatenation of cached bytes (checked at start-up against ``_pb2``'s own
serialization). Vectors come from ``vectors.load()`` (the fake's ``expected_embedding`` once it
is merged). It checks the API key header and the 100-text limit like the real API.

Serves ``google.ai.generativelanguage.{v1beta,v1beta3}.TextService/{EmbedText,BatchEmbedText}``,
``v1beta2``'s EmbedText, and ``google.ai.generativelanguage.{v1,v1beta}.GenerativeService/
{EmbedContent,BatchEmbedContents}`` (``embed_content``'s rows, ``bench/content.py``: a content's
text is embedded like a TextService text; a batch's requests must name the batch's model).
Controlled by JSON lines on stdin, answering on stdout:
``{"cmd": "latency", "ms": 100}``, ``{"cmd": "stats"}`` (counts since the last call, then reset;
and the process's CPU time so far, all threads),
``{"cmd": "digest", "model": M, "n": N, "prefix": P}`` (expected float32 digest of
``texts(N)``, each after the optional prefix P),
``{"cmd": "quit"}``. Its first line is ``{"ready": true, "port": P, "vectors": "..."}``.

Usage: ``.venv/bin/python bench/server.py --ref REF --api-key KEY [--port 0] [--prewarm N]``
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import resource
import sys
import threading
import time
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parent / "contenders"))
import _common
import vectors

SERVICES = {"v1beta": True, "v1beta3": True, "v1beta2": False}
"""API version -> has BatchEmbedText."""

GENERATIVE_SERVICES = ("v1", "v1beta")
"""API versions whose GenerativeService embeds content."""


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        bits = value & 0x7F
        value >>= 7
        if value:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


def _field1(payload: bytes) -> bytes:
    """``payload`` as length-delimited field 1 (tag 0x0a)."""
    return b"\x0a" + _varint(len(payload)) + payload


class Embeddings:
    """Cached wire bytes of ``Embedding`` as field 1 of a response, per (model, text).

    Both ``EmbedTextResponse.embedding`` and ``BatchEmbedTextResponse.embeddings`` are field 1
    of type ``Embedding`` (whose ``value`` is packed float field 1), so the same bytes serve
    both responses.
    """

    def __init__(self, expected: vectors.ExpectedEmbedding, dim: int) -> None:
        self._expected = expected
        self._dim = dim
        self._cache: dict[tuple[str, str], bytes] = {}

    def entry(self, model: str, text: str) -> bytes:
        key = (model, text)
        found = self._cache.get(key)
        if found is None:
            values = self._expected(model, text, self._dim).astype("<f4").tobytes()
            found = self._cache[key] = _field1(_field1(values))
        return found

    def response(self, model: str, texts: list[str]) -> bytes:
        return b"".join([self.entry(model, t) for t in texts])


class Stats:
    """Counts since the last ``take()``: RPCs, texts, most RPCs in flight at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self.calls = 0
        self.texts = 0
        self.rejected = 0
        self.in_flight = 0
        self.max_in_flight = 0

    def enter(self, texts: int) -> None:
        with self._lock:
            self.calls += 1
            self.texts += texts
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def reject(self) -> None:
        with self._lock:
            self.rejected += 1

    def take(self) -> dict[str, int]:
        with self._lock:
            out = {
                "calls": self.calls,
                "texts": self.texts,
                "rejected": self.rejected,
                "max_in_flight": self.max_in_flight,
            }
            self._reset()
            return out


class Server:
    """Handlers and their shared state."""

    def __init__(self, embeddings: Embeddings, api_key: str) -> None:
        self.embeddings = embeddings
        self.api_key = api_key
        self.latency_s = 0.0
        self.stats = Stats()

    def _check(self, context: grpc.ServicerContext, model: str, count: int) -> None:
        keys = [v for k, v in context.invocation_metadata() if k == _common.API_KEY_HEADER]
        if keys != [self.api_key]:
            self.stats.reject()
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong API key")
        if not model.startswith(("models/", "tunedModels/")):
            self.stats.reject()
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"bad model name {model!r}")
        if count > _common.BATCH_LIMIT:
            self.stats.reject()
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "at most 100 texts per batch")

    def _serve(self, model: str, texts: list[str]) -> bytes:
        self.stats.enter(len(texts))
        try:
            if self.latency_s:
                time.sleep(self.latency_s)
            return self.embeddings.response(model, texts)
        finally:
            self.stats.leave()

    def embed_text(self, request: Any, context: grpc.ServicerContext) -> bytes:
        self._check(context, request.model, 1)
        return self._serve(request.model, [request.text])

    def batch_embed_text(self, request: Any, context: grpc.ServicerContext) -> bytes:
        texts = list(request.texts) or [r.text for r in request.requests]
        self._check(context, request.model, len(texts))
        return self._serve(request.model, texts)

    # EmbedContentResponse and BatchEmbedContentsResponse have TextService's layout (field 1:
    # ContentEmbedding, whose packed floats are field 1), so the cached bytes serve them too.

    def embed_content(self, request: Any, context: grpc.ServicerContext) -> bytes:
        self._check(context, request.model, 1)
        return self._serve(request.model, [_content_text(request)])

    def batch_embed_contents(self, request: Any, context: grpc.ServicerContext) -> bytes:
        self._check(context, request.model, len(request.requests))
        if any(r.model != request.model for r in request.requests):
            self.stats.reject()
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "every request needs the batch's model")
        return self._serve(request.model, [_content_text(r) for r in request.requests])


def _content_text(request: Any) -> str:
    """An EmbedContentRequest's text: its content's text parts, joined."""
    return "".join(part.text for part in request.content.parts)


def _raw(response: bytes) -> bytes:
    return response  # handlers return the serialized response already


def handlers(server: Server, ref: str) -> list[grpc.GenericRpcHandler]:
    """Generic handlers for every served version."""
    sys.path.insert(0, ref)
    out = []
    for version, has_batch in SERVICES.items():
        pb2 = importlib.import_module(
            f"tsref.google.ai.generativelanguage.{version}.text_service_pb2"
        )
        methods = {
            "EmbedText": grpc.unary_unary_rpc_method_handler(
                server.embed_text,
                request_deserializer=pb2.EmbedTextRequest.FromString,
                response_serializer=_raw,
            )
        }
        if has_batch:
            methods["BatchEmbedText"] = grpc.unary_unary_rpc_method_handler(
                server.batch_embed_text,
                request_deserializer=pb2.BatchEmbedTextRequest.FromString,
                response_serializer=_raw,
            )
        name = f"google.ai.generativelanguage.{version}.TextService"
        out.append(grpc.method_handlers_generic_handler(name, methods))
    for version in GENERATIVE_SERVICES:
        pb2 = importlib.import_module(
            f"tsref.google.ai.generativelanguage.{version}.generative_service_pb2"
        )
        methods = {
            "EmbedContent": grpc.unary_unary_rpc_method_handler(
                server.embed_content,
                request_deserializer=pb2.EmbedContentRequest.FromString,
                response_serializer=_raw,
            ),
            "BatchEmbedContents": grpc.unary_unary_rpc_method_handler(
                server.batch_embed_contents,
                request_deserializer=pb2.BatchEmbedContentsRequest.FromString,
                response_serializer=_raw,
            ),
        }
        name = f"google.ai.generativelanguage.{version}.GenerativeService"
        out.append(grpc.method_handlers_generic_handler(name, methods))
    return out


def self_check(embeddings: Embeddings, ref: str, model: str) -> None:
    """The cached bytes must be exactly what ``_pb2`` serializes for the same vectors."""
    pb2 = importlib.import_module("tsref.google.ai.generativelanguage.v1beta.text_service_pb2")
    sample = _common.texts(3)
    expected = pb2.BatchEmbedTextResponse(
        embeddings=[
            pb2.Embedding(value=embeddings._expected(model, t, embeddings._dim).tolist())
            for t in sample
        ]
    ).SerializeToString()
    if embeddings.response(model, sample) != expected:
        raise SystemExit("bench server: cached response bytes differ from _pb2's serialization")
    single = pb2.EmbedTextResponse.FromString(embeddings.response(model, sample[:1]))
    first = pb2.BatchEmbedTextResponse.FromString(expected).embeddings[0]
    if list(single.embedding.value) != list(first.value):
        raise SystemExit("bench server: EmbedText response bytes do not parse back")
    for version in GENERATIVE_SERVICES:
        gs = importlib.import_module(
            f"tsref.google.ai.generativelanguage.{version}.generative_service_pb2"
        )
        content = gs.BatchEmbedContentsResponse(
            embeddings=[
                gs.ContentEmbedding(values=embeddings._expected(model, t, embeddings._dim).tolist())
                for t in sample
            ]
        ).SerializeToString()
        if embeddings.response(model, sample) != content:
            raise SystemExit(f"bench server: {version} BatchEmbedContents bytes differ from _pb2's")


def digest(embeddings: Embeddings, model: str, n: int, prefix: str = "") -> str:
    """Expected digest of ``texts(n)`` (each after ``prefix``: the text a task instruction
    makes of it), straight from the vector function (not the cache)."""
    h = hashlib.sha256()
    for text in _common.texts(n):
        vector = embeddings._expected(model, prefix + text, embeddings._dim)
        h.update(vector.astype("<f4").tobytes())
    return h.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ref", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--model", required=True, help="model whose texts are prewarmed")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--prewarm", type=int, default=0, help="cache texts(N) at start")
    parser.add_argument(
        "--prewarm-prefix",
        action="append",
        default=[],
        help="also cache texts(N) after this prefix (repeatable): a task instruction's text",
    )
    parser.add_argument("--vectors", default="auto", choices=["auto", "fake", "bench"])
    parser.add_argument("--workers", type=int, default=32)
    args = parser.parse_args()

    expected, label = vectors.load(args.vectors)
    embeddings = Embeddings(expected, args.dim)
    state = Server(embeddings, args.api_key)
    grpc_server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=args.workers),
        handlers=handlers(state, args.ref),
        options=[("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)],
    )
    port = grpc_server.add_insecure_port(f"127.0.0.1:{args.port}")
    self_check(embeddings, args.ref, args.model)
    for prefix in ["", *args.prewarm_prefix]:
        warm = [prefix + t for t in [*_common.texts(args.prewarm), _common.WARM_UP_TEXT]]
        embeddings.response(args.model, warm)
    grpc_server.start()
    print(json.dumps({"ready": True, "port": port, "vectors": label}), flush=True)

    for line in sys.stdin:
        command = json.loads(line)
        name = command.get("cmd")
        if name == "latency":
            state.latency_s = float(command["ms"]) / 1000.0
            reply: dict[str, Any] = {"ok": True}
        elif name == "stats":
            usage = resource.getrusage(resource.RUSAGE_SELF)
            cpu_s = usage.ru_utime + usage.ru_stime
            reply = {"ok": True, "cpu_s": cpu_s, **state.stats.take()}
        elif name == "digest":
            found = digest(embeddings, command["model"], command["n"], command.get("prefix", ""))
            reply = {"ok": True, "digest": found}
        elif name == "quit":
            break
        else:
            reply = {"ok": False, "error": f"unknown command {name!r}"}
        print(json.dumps(reply), flush=True)
    grpc_server.stop(grace=None)


if __name__ == "__main__":
    main()
