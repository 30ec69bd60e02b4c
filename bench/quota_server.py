"""The quota scenario's server: textservice's fake with a quota like the API's, and latency.

``FakeServer`` (``textservice.testing``) with ``requests_per_minute`` on a quota clock
``--time-scale`` times faster than real time (10 a minute at 60: ten calls a second, for each
method and model), fixed minutes as Google Cloud's rate quotas, answers over the quota
RESOURCE_EXHAUSTED with a ``QuotaFailure`` and a ``RetryInfo`` at once; every call let through
takes ``--latency-ms`` before it is answered. Served on 127.0.0.1 from a background thread.

Controlled by JSON lines on stdin, answering on stdout: ``{"cmd": "reset"}`` (forget the calls
and start the quota's minutes again), ``{"cmd": "stats"}`` (accepted and rejected
BatchEmbedText calls since the reset, and the accepted ones in each of the quota's minutes,
from the first that saw one),
``{"cmd": "digest", "model": M, "n": N}`` (the float32 digest of ``texts(N)``'s expected
vectors), ``{"cmd": "quit"}``. Its first line is ``{"ready": true, "port": P}``.

Usage: ``.venv/bin/python bench/quota_server.py --rpm 10 --time-scale 60 --latency-ms 100``
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from grpclib.const import Status

sys.path.insert(0, str(Path(__file__).resolve().parent / "contenders"))
import _common

from textservice.testing import FakeServer, expected_embedding

EMBEDDING_RPCS = ("BatchEmbedText", "EmbedText")


def stats(fake: FakeServer, time_scale: float) -> dict[str, Any]:
    """Calls of the embedding RPCs since the last reset (warm-up calls included)."""
    calls = [c for c in fake.calls if c.method in EMBEDDING_RPCS]
    batch = [c for c in calls if c.method == "BatchEmbedText"]
    ok = [c for c in batch if c.status is Status.OK]
    over = [c for c in batch if c.status is Status.RESOURCE_EXHAUSTED]
    per_minute: list[int] = []
    ledger = fake.quotas
    if ok and ledger is not None:
        # the quota's minutes start at the last reset: RecordedCall.started is monotonic
        start = time.monotonic() - ledger.now() / time_scale
        counts = Counter(math.floor((c.started - start) * time_scale / 60.0) for c in ok)
        per_minute = [counts[m] for m in range(min(counts), max(counts) + 1)]
    return {
        "accepted": len(ok),
        "rejected": len(over),
        "other_failures": len(batch) - len(ok) - len(over),
        "texts_embedded": sum(len(c.request.texts) for c in ok),
        "accepted_per_minute": per_minute,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rpm", type=int, required=True)
    parser.add_argument("--time-scale", type=float, required=True)
    parser.add_argument("--latency-ms", type=float, required=True)
    parser.add_argument("--dim", type=int, default=768)
    args = parser.parse_args()
    fake = FakeServer(
        embedding_dimension=args.dim,
        quotas={"requests_per_minute": args.rpm, "time_scale": args.time_scale},
        log_limit=None,
    )
    fake.faults.delay(args.latency_ms / 1000)
    with fake.serve() as address:
        print(json.dumps({"ready": True, "port": address.port}), flush=True)
        for line in sys.stdin:
            command = json.loads(line)
            cmd = command["cmd"]
            if cmd == "reset":
                fake.reset()
                fake.faults.delay(args.latency_ms / 1000)
                answer: dict[str, Any] = {"reset": True}
            elif cmd == "stats":
                answer = stats(fake, args.time_scale)
            elif cmd == "digest":
                vectors = (
                    expected_embedding(command["model"], text, args.dim)
                    for text in _common.texts(command["n"])
                )
                answer = {"digest": _common.digest_float32(vectors)}
            elif cmd == "quit":
                break
            else:
                answer = {"error": f"unknown command {cmd!r}"}
            print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
