"""The REST rows' contenders (project venv): ours over gRPC and REST, and google-genai.

Variants (each embeds ``texts(n)`` with ``models/gemini-embedding-001`` and keeps every
vector as lists of floats):
- ``ours-grpc``: ``textservice.embed_content(model, texts)`` over gRPC (``--target`` is the
  server's gRPC port);
- ``ours-rest``: the same with ``Client(transport="rest")`` (``--target``: its REST port);
- ``genai-seq``: google-genai's ``client.models.embed_content`` on chunks of 100 texts, one
  after the other, as a user writes it (google-genai sends a whole list in one call, and the
  API takes at most 100);
- ``genai-8``: the same chunks from 8 threads (``concurrent.futures``), one client.

Each reports its wall time, its own CPU time (user + system, all threads) and peak RSS.
"""

from __future__ import annotations

import argparse
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import _common
from _common import Measured

CHUNK = 100


def _ours(transport: Literal["grpc", "rest"]) -> _common.Variant:
    def run(args: argparse.Namespace, texts: list[str]) -> Measured:
        import textservice

        client = textservice.Client(
            endpoint=args.target, insecure=True, api_key=args.api_key, transport=transport
        )
        textservice.embed_content(args.model, [_common.WARM_UP_TEXT], client=client)
        cpu = _common.cpu_seconds()
        wall, result = _common.timed(
            lambda: textservice.embed_content(args.model, texts, client=client)
        )
        cpu = _common.cpu_seconds() - cpu
        client.close()
        return Measured(vectors=result["embedding"], wall_s=wall, cpu_s=cpu)

    return run


def _genai(threads: int) -> _common.Variant:
    def run(args: argparse.Namespace, texts: list[str]) -> Measured:
        try:
            from google import genai
            from google.genai import types
        except ImportError as exc:
            raise _common.Unavailable(f"google-genai not importable: {exc!r}") from exc
        client = genai.Client(
            api_key=args.api_key,
            http_options=types.HttpOptions(base_url=f"http://{args.target}", api_version="v1beta"),
        )
        model = args.model.removeprefix("models/")

        def embed(chunk: Any) -> list[list[float]]:
            result = client.models.embed_content(model=model, contents=list(chunk))
            return [e.values for e in result.embeddings or [] if e.values is not None]

        embed([_common.WARM_UP_TEXT])
        chunks = _common.chunks(texts, CHUNK)

        def workload() -> list[list[float]]:
            if threads == 1:
                parts = [embed(chunk) for chunk in chunks]
            else:
                with ThreadPoolExecutor(threads) as pool:
                    parts = list(pool.map(embed, chunks))
            return [vector for part in parts for vector in part]

        cpu = _common.cpu_seconds()
        wall, vectors = _common.timed(workload)
        return Measured(vectors=vectors, wall_s=wall, cpu_s=_common.cpu_seconds() - cpu)

    return run


if __name__ == "__main__":
    _common.main(
        {
            "ours-grpc": {"batch": _ours("grpc")},
            "ours-rest": {"batch": _ours("rest")},
            "genai-seq": {"batch": _genai(1)},
            "genai-8": {"batch": _genai(8)},
        }
    )
