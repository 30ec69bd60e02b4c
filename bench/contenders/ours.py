"""Ours: textservice's facade (project venv).

Variants:
- ``sync``: ``generate_embeddings(model, texts, client=...)`` -> lists of floats;
- ``async``: ``await generate_embeddings_async(...)`` (client made inside the running loop; also
  one text per call, awaited on the caller's loop: the single-text row without the sync bridge);
- ``numpy``: ``generate_embeddings(..., output="numpy")`` -> an (n, dim) float32 array;
- ``iter``: ``for batch in iter_embeddings(model, texts, client=...)``, each batch digested and
  dropped (lists): the streaming path, whose peak RSS must not grow with the input.

The client is ``TextServiceClient(endpoint=..., insecure=True, api_key=...)``. This is the only
file that knows the facade's API: adjust it here if the merged API differs.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import _common
from _common import Measured


def _api() -> Any:
    try:
        import textservice

        textservice.generate_embeddings  # noqa: B018 - the facade must be there
        textservice.TextServiceClient  # noqa: B018 - and the client
        return textservice
    except (ImportError, AttributeError) as exc:
        raise _common.Unavailable(f"textservice facade not importable: {exc!r}") from exc


def _client(ts: Any, args: argparse.Namespace) -> Any:
    return ts.TextServiceClient(endpoint=args.target, insecure=True, api_key=args.api_key)


def _close(client: Any) -> None:
    close = getattr(client, "close", None)
    if callable(close):
        close()


def _embedding(result: Any) -> Any:
    return result["embedding"] if isinstance(result, dict) else result


def _sync_batch(output: str | None) -> _common.Variant:
    def run(args: argparse.Namespace, texts: list[str]) -> Measured:
        ts = _api()
        client = _client(ts, args)
        kwargs = {} if output is None else {"output": output}
        # the warm-up takes the same path as the timed call (numpy's import is not timed)
        ts.generate_embeddings(args.model, _common.WARM_UP_TEXT, client=client, **kwargs)
        wall, result = _common.timed(
            lambda: ts.generate_embeddings(args.model, texts, client=client, **kwargs)
        )
        _close(client)
        return Measured(vectors=_embedding(result), wall_s=wall)

    return run


def sync_single(args: argparse.Namespace, texts: list[str]) -> Measured:
    ts = _api()
    client = _client(ts, args)

    def call(text: str) -> list[float]:
        vector: list[float] = _embedding(ts.generate_embeddings(args.model, text, client=client))
        return vector

    call(_common.WARM_UP_TEXT)
    measured = _common.run_single_calls(call, texts)
    _close(client)
    return measured


def async_batch(args: argparse.Namespace, texts: list[str]) -> Measured:
    ts = _api()
    if not hasattr(ts, "generate_embeddings_async"):
        raise _common.Unavailable("textservice.generate_embeddings_async not found")

    async def main() -> tuple[float, Any]:
        client = _client(ts, args)
        await ts.generate_embeddings_async(args.model, _common.WARM_UP_TEXT, client=client)
        wall, result = await _common.timed_async(
            lambda: ts.generate_embeddings_async(args.model, texts, client=client)
        )
        aclose = getattr(client, "aclose", None)
        if callable(aclose):
            await aclose()
        return wall, result

    # The main coroutine returns a tuple, not a Measured: on the way out, Python 3.11's
    # asyncio.run formats the main task's repr (checking its SIGINT handler), and a dataclass
    # repr of 7.68 million floats doubled this contender's peak RSS (reprlib caps a tuple's).
    wall, result = asyncio.run(main())
    return Measured(vectors=_embedding(result), wall_s=wall)


def async_single(args: argparse.Namespace, texts: list[str]) -> Measured:
    ts = _api()

    async def main() -> tuple[list[Any], list[float]]:
        client = _client(ts, args)

        async def call(text: str) -> list[float]:
            result = await ts.generate_embeddings_async(args.model, text, client=client)
            vector: list[float] = _embedding(result)
            return vector

        await call(_common.WARM_UP_TEXT)
        measured = await _common.run_single_calls_async(call, texts)
        await client.aclose()
        return measured.vectors, measured.per_call_s  # not a Measured: see async_batch

    vectors, per_call = asyncio.run(main())
    return Measured(vectors=vectors, per_call_s=per_call, wall_s=sum(per_call))


def iter_batch(args: argparse.Namespace, texts: list[str]) -> Measured:
    ts = _api()
    if not hasattr(ts, "iter_embeddings"):
        raise _common.Unavailable("textservice.iter_embeddings not found")
    client = _client(ts, args)
    ts.generate_embeddings(args.model, _common.WARM_UP_TEXT, client=client)
    seen = _common.StreamedVectors()

    def consume() -> None:
        for batch in ts.iter_embeddings(args.model, texts, client=client):
            seen.update(batch)  # checked by digest, then dropped

    before = _common.current_rss_kb()  # texts built, client connected: the growth is the call's
    wall, _ = _common.timed(consume)
    _close(client)
    return Measured(vectors=seen, wall_s=wall, rss_before_kb=before)


if __name__ == "__main__":
    _common.main(
        {
            "sync": {"batch": _sync_batch(None), "single": sync_single},
            "async": {"batch": async_batch, "single": async_single},
            "numpy": {"batch": _sync_batch("numpy")},
            "iter": {"batch": iter_batch},
        }
    )
