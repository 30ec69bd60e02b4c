"""What ``import textservice`` and the first use of a function load (issue 21: import time).

The runtime (event loop, grpclib's client and server, HTTP/2, the rate governor, the engine,
the REST stack) is imported by a client's first call, not by ``import textservice`` nor by
reaching a facade function; and a gRPC client never imports the REST transport's httpx and
orjson.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

RUNTIME = (
    "asyncio",
    "ssl",
    "grpclib.client",
    "grpclib.server",
    "h2",
    "httpx",
    "orjson",
    "betterproto2.grpclib",
    "textservice._governor",
    "textservice._transport.callpath",
    "textservice._transport.channels",
    "textservice._transport.rpc",
    "textservice._engine.embed",
    "textservice._encoding.arrays",
)
"""Modules whose import belongs to a client's first call."""


def _loaded(code: str) -> set[str]:
    script = f"import sys\n{code}\nimport json\nprint(json.dumps(sorted(sys.modules)))\n"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.subprocess
@pytest.mark.parametrize(
    "code",
    [
        "import textservice",
        "import textservice\ntextservice.generate_embeddings",
        "import textservice\ntextservice.embed_content",
        "import textservice\ntextservice.list_models",
        "import textservice\ntextservice.Client\ntextservice.Retry\ntextservice.configure",
    ],
)
def test_import_and_a_function_load_no_runtime(code: str) -> None:
    loaded = _loaded(code)
    runtime = [m for m in loaded if any(m == r or m.startswith(r + ".") for r in RUNTIME)]
    assert runtime == [], runtime


@pytest.mark.subprocess
@pytest.mark.parametrize("function", ["generate_embeddings", "embed_content"])
def test_an_embedding_function_loads_no_message_class(function: str) -> None:
    # its facade names its message classes (MessageRef, TypeMap): betterproto2 and the proto
    # modules load with the first call that builds a request
    loaded = _loaded(f"import textservice\ntextservice.{function}")
    assert "betterproto2" not in loaded
    proto = sorted(m for m in loaded if m.startswith("textservice._proto."))
    assert proto, "the facade imports its version's package index"
    assert not [m for m in proto if m.rsplit(".", 1)[-1].startswith("_")], proto


@pytest.mark.subprocess
def test_quota_types_are_imported_on_first_use() -> None:
    loaded = _loaded(
        "import textservice\n"
        "from textservice.client import QuotaStats, API_KEY_HEADER\n"
        "assert textservice.QuotaKey('M').method == 'M'\n"
        "assert API_KEY_HEADER == 'x-goog-api-key' and QuotaStats.__name__ == 'QuotaStats'"
    )
    assert "textservice._governor" in loaded


@pytest.mark.subprocess
def test_a_grpc_call_loads_no_rest_stack() -> None:
    # the fake in a process of its own: it serves REST too, so it would load httpx here
    fake = subprocess.Popen(
        [sys.executable, "-m", "textservice.testing", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert fake.stdout is not None
        target = fake.stdout.readline().split()[-1]
        loaded = _loaded(
            "import textservice\n"
            f"client = textservice.Client('a-key', endpoint={target!r}, insecure=True)\n"
            "result = textservice.generate_embeddings("
            "'models/embedding-gecko-001', ['a', 'b'], client=client)\n"
            "assert len(result['embedding']) == 2\n"
            "client.close()"
        )
    finally:
        fake.terminate()
        fake.wait(10)
    assert "grpclib.client" in loaded and "textservice._governor" in loaded
    rest = sorted(m for m in loaded if m.split(".")[0] in ("httpx", "orjson", "httpcore"))
    assert rest == [], rest
    assert "textservice._transport.rest" not in loaded
    # nor the server side of grpclib and betterproto2
    assert "grpclib.server" not in loaded and "betterproto2.grpclib" not in loaded, sorted(
        m for m in loaded if "server" in m
    )
