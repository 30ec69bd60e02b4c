"""Ours for ``embed_content`` (GenerativeService): textservice's facade (project venv).

Variants:
- ``sync``: ``textservice.embed_content(model, texts, client=...)`` -> lists of floats;
- ``numpy``: the same with ``output="numpy"`` -> an (n, dim) float32 array;
- ``query``: ``sync`` with ``task_type="query"`` (for gemini-embedding-2: the instruction
  text ``task: search result | query: ...`` in every item).

Texts go through BatchEmbedContents calls of 100, 8 in flight on one connection. The client
is ``textservice.Client(endpoint=..., insecure=True, api_key=...)``.
"""

from __future__ import annotations

import argparse
from typing import Any

import _common
from _common import Measured


def _api() -> Any:
    try:
        import textservice

        textservice.embed_content  # noqa: B018 - the facade must have it
        return textservice
    except (ImportError, AttributeError) as exc:
        raise _common.Unavailable(f"textservice.embed_content not importable: {exc!r}") from exc


def _batch(output: str, task_type: str | None = None) -> _common.Variant:
    def run(args: argparse.Namespace, texts: list[str]) -> Measured:
        ts = _api()
        client = ts.Client(endpoint=args.target, insecure=True, api_key=args.api_key)
        # the warm-up takes the same path as the timed call (numpy's import is not timed)
        ts.embed_content(
            args.model, [_common.WARM_UP_TEXT], task_type, client=client, output=output
        )
        wall, result = _common.timed(
            lambda: ts.embed_content(args.model, texts, task_type, client=client, output=output)
        )
        client.close()
        return Measured(vectors=result["embedding"], wall_s=wall)

    return run


if __name__ == "__main__":
    _common.main(
        {
            "sync": {"batch": _batch("list")},
            "numpy": {"batch": _batch("numpy")},
            # gemini-embedding-2 with a task: the instruction text goes into every item
            "query": {"batch": _batch("list", "query")},
        }
    )
