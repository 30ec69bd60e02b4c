"""The REST rows' server: GenerativeService's BatchEmbedContents as HTTP/JSON, out of the way.

What ``bench/server.py`` is for gRPC, for REST: it must not be what a client's time
measures, so each text's JSON embedding (``{"values":[...]}``, float32 values in their
shortest decimal form, as Google writes them) is computed once and cached, and a response is
those bytes joined. Requests are read with orjson and only what the answer needs is looked
at (the batch's model, each request's text; at most 100 requests, else Google's 400 body);
the API key header must be the bench's. Vectors come from ``vectors.load()`` (the fake's,
like the gRPC server's), so every row is checked against the same digest. HTTP/1.1 with
keep-alive is the package's own small server (``textservice.testing.http_server``, h11).

Its first stdout line is ``{"ready": true, "port": P}``; then JSON lines on stdin, each
answered on stdout: ``{"cmd": "latency", "ms": 100}`` (each call waits that long first),
``{"cmd": "stats"}`` (calls since the last stats, and this process's CPU seconds so far) and
``{"cmd": "quit"}``.

Usage: ``.venv/bin/python bench/rest_server.py --model M --dim 3072 --api-key K
[--prewarm N]`` (``N``: the bench texts cached before the first line is printed)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
from pathlib import Path
from typing import Any

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "contenders"))
import _common
import vectors

from textservice.testing.http_server import serve_http
from textservice.testing.rest import Response

JSON = (("content-type", "application/json; charset=UTF-8"),)


def _error(status: int, code: str, message: str) -> Response:
    body = {"error": {"code": status, "message": message, "status": code}}
    return Response(status, JSON, orjson.dumps(body))


class Server:
    def __init__(self, model: str, dim: int, api_key: str) -> None:
        self.model = model
        self.dim = dim
        self.api_key = api_key
        self.expected, self.source = vectors.load("auto")
        self.cache: dict[str, bytes] = {}
        self.latency = 0.0
        self.calls = 0

    def embedding(self, text: str) -> bytes:
        found = self.cache.get(text)
        if found is None:
            vector = np.asarray(self.expected(self.model, text, self.dim), np.float32)
            found = orjson.dumps({"values": vector}, option=orjson.OPT_SERIALIZE_NUMPY)
            self.cache[text] = found
        return found

    async def handle(
        self, verb: str, target: str, headers: list[tuple[str, str]], body: bytes
    ) -> Response:
        self.calls += 1
        if self.latency:
            await asyncio.sleep(self.latency)
        if dict((k.lower(), v) for k, v in headers).get("x-goog-api-key") != self.api_key:
            return _error(401, "UNAUTHENTICATED", "API key not valid.")
        if verb != "POST" or not target.endswith(":batchEmbedContents"):
            return _error(404, "NOT_FOUND", f"no route for {verb} {target}")
        request: Any = orjson.loads(body)
        items = request.get("requests", [])
        if len(items) > 100:
            return _error(400, "INVALID_ARGUMENT", "at most 100 requests can be in one batch")
        parts = [self.embedding(item["content"]["parts"][0]["text"]) for item in items]
        return Response(200, JSON, b'{"embeddings":[' + b",".join(parts) + b"]}")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _main(args: argparse.Namespace) -> None:
    server = Server(args.model, args.dim, args.api_key)
    for text in [_common.WARM_UP_TEXT, *_common.texts(args.prewarm)]:
        server.embedding(text)  # cached before any client is timed
    loop = asyncio.get_running_loop()
    async with serve_http(server.handle, "127.0.0.1", 0) as port:
        print(json.dumps({"ready": True, "port": port, "vectors": server.source}), flush=True)
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                return
            command = json.loads(line)
            if command["cmd"] == "quit":
                return
            if command["cmd"] == "latency":
                server.latency = command["ms"] / 1000
                print(json.dumps({"ok": True}), flush=True)
            elif command["cmd"] == "stats":
                print(json.dumps({"ok": True, "calls": server.calls, "cpu_s": _cpu()}), flush=True)
                server.calls = 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--dim", type=int, required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--prewarm", type=int, default=0, help="cache the first N bench texts")
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
