"""The quota scenario's contenders: a big list embedded against a quota of ten calls a second.

Variants (each one process, against ``bench/quota_server.py``):
- ``ours``: ``textservice.generate_embeddings(model, texts, client=...)`` with the client's
  default settings; its quota clock runs as fast as the server's (``quota_time_scale``, the
  scenario's scaling: a quota minute lasts a second), nothing else set (project venv);
- ``ours-quota``: the same with the quota given, ``requests_per_minute=10``;
- ``genai``: ``google.generativeai.generate_embeddings`` 0.7.2 as users call it (chunks of
  100, sequential), with its default retry settings (``bench/.venv-peer``);
- ``gapic``: its GAPIC ``TextServiceClient.batch_embed_text``, batches of 100 sequentially,
  with the method's default retry settings;
- ``gapic-8``: the same calls from 8 threads, as a user would to go faster.

Prints one JSON line: ``ok``, ``wall_s``, ``texts`` embedded (for a failed peer that does not
say, ``null``), ``error`` and, when every text came back, the float32 ``digest`` of the vectors
in input order (the driver compares it with the server's).
"""

from __future__ import annotations

import argparse
import json
import time
import traceback
from typing import Any

import _common


def ours(args: argparse.Namespace, texts: list[str], *, given: bool) -> dict[str, Any]:
    try:
        import textservice
    except ImportError as exc:
        raise _common.Unavailable(f"textservice not importable: {exc}") from exc
    quota: dict[str, Any] = {"quota_time_scale": args.time_scale}
    if given:
        quota["requests_per_minute"] = args.rpm
    client = textservice.TextServiceClient(
        args.api_key, endpoint=args.target, insecure=True, **quota
    )
    with client:
        textservice.generate_embeddings(args.model, _common.WARM_UP_TEXT, client=client)
        start = time.perf_counter()
        try:
            result = textservice.generate_embeddings(args.model, texts, client=client)
        except textservice.TextServiceError as exc:
            done = len(exc.partial.embeddings) if exc.partial is not None else None
            return _failed(time.perf_counter() - start, exc, done)
        wall = time.perf_counter() - start
        stats = client.quota_stats()
    vectors = result["embedding"]
    return {
        "ok": True,
        "wall_s": wall,
        "texts": len(vectors),
        "digest": _common.digest_float32(vectors),
        "client": {
            "sent": stats.sent,
            "rejected": stats.rejected,
            "throttled_s": stats.throttled_for,
        },
    }


def _gapic(args: argparse.Namespace) -> tuple[Any, Any]:
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


def genai(args: argparse.Namespace, texts: list[str]) -> dict[str, Any]:
    try:
        import google.generativeai as genai_module
    except ImportError as exc:
        raise _common.Unavailable(f"google-generativeai not importable: {exc}") from exc
    _, client = _gapic(args)
    options = {"metadata": _common.metadata(args)}  # no retry given: its default settings
    genai_module.generate_embeddings(
        args.model, _common.WARM_UP_TEXT, client=client, request_options=options
    )
    start = time.perf_counter()
    try:
        result = genai_module.generate_embeddings(
            args.model, texts, client=client, request_options=options
        )
    except Exception as exc:
        return _failed(time.perf_counter() - start, exc, None)  # it does not say how far
    vectors = result["embedding"]
    return _succeeded(time.perf_counter() - start, vectors)


def gapic(args: argparse.Namespace, texts: list[str]) -> dict[str, Any]:
    glm, client = _gapic(args)
    md = _common.metadata(args)
    client.embed_text(model=args.model, text=_common.WARM_UP_TEXT, metadata=md)
    vectors: list[list[float]] = []
    start = time.perf_counter()
    try:
        for batch in _common.chunks(texts):
            request = glm.BatchEmbedTextRequest(model=args.model, texts=batch)
            response = client.batch_embed_text(request=request, metadata=md)  # default retry
            vectors.extend(list(e.value) for e in response.embeddings)
    except Exception as exc:
        return _failed(time.perf_counter() - start, exc, len(vectors))
    return _succeeded(time.perf_counter() - start, vectors)


def gapic_threads(args: argparse.Namespace, texts: list[str]) -> dict[str, Any]:
    """What a user does to go faster: the same calls from 8 threads."""
    from concurrent.futures import ThreadPoolExecutor

    glm, client = _gapic(args)
    md = _common.metadata(args)
    client.embed_text(model=args.model, text=_common.WARM_UP_TEXT, metadata=md)

    def one(batch: list[str]) -> list[list[float]]:
        request = glm.BatchEmbedTextRequest(model=args.model, texts=batch)
        response = client.batch_embed_text(request=request, metadata=md)  # default retry
        return [list(e.value) for e in response.embeddings]

    start = time.perf_counter()
    try:
        with ThreadPoolExecutor(8) as pool:
            batches = list(pool.map(one, _common.chunks(texts)))
    except Exception as exc:
        return _failed(time.perf_counter() - start, exc, None)  # map stops at the first
    return _succeeded(time.perf_counter() - start, [v for b in batches for v in b])


def _succeeded(wall: float, vectors: list[Any]) -> dict[str, Any]:
    return {
        "ok": True,
        "wall_s": wall,
        "texts": len(vectors),
        "digest": _common.digest_float32(vectors),
    }


def _failed(wall: float, exc: BaseException, texts: int | None) -> dict[str, Any]:
    message = str(exc).splitlines()[0] if str(exc) else ""
    return {
        "ok": False,
        "wall_s": wall,
        "texts": texts,
        "error": f"{type(exc).__name__}: {message}"[:300],
    }


VARIANTS = {
    "ours": lambda a, t: ours(a, t, given=False),
    "ours-quota": lambda a, t: ours(a, t, given=True),
    "genai": genai,
    "gapic": gapic,
    "gapic-8": gapic_threads,
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variant", required=True, choices=sorted(VARIANTS))
    parser.add_argument("--target", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--rpm", type=int, required=True)
    parser.add_argument("--time-scale", type=float, required=True)
    args = parser.parse_args()
    report: dict[str, Any] = {"variant": args.variant, "n": args.n}
    try:
        report.update(VARIANTS[args.variant](args, _common.texts(args.n)))
    except _common.Unavailable as exc:
        report.update(ok=False, unavailable=True, error=str(exc))
    except Exception as exc:
        report.update(ok=False, error=f"{type(exc).__name__}: {exc}", trace=traceback.format_exc())
    print(json.dumps(report))


if __name__ == "__main__":
    main()
