"""A client used before ``os.fork()`` works in the child (a loop thread and channels of its
own) and stays untouched in the parent: a plain fork, a fork-based ``multiprocessing.Pool``
with the default client, and a child that exits normally (its interpreter shutting down
while the parent keeps calling). Both embedding paths: ``embed_content`` on
gemini-embedding-001, ``generate_embeddings`` on the TextService; each transport (over REST
the child opens its own httpx pool and decoder thread).

Before, a sync call in the child waited forever, ignoring its timeout: the loop thread it
hands its work to exists only in the parent.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import pytest

import textservice
from textservice import Client
from textservice.testing import (
    FakeServer,
    ServerAddress,
    expected_content_embedding,
    expected_embedding,
)

pytestmark = [
    pytest.mark.network,
    pytest.mark.subprocess,
    pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork"),
]

GEMINI = "models/gemini-embedding-001"
GECKO = "models/embedding-gecko-001"
DIM = 8


@pytest.fixture(scope="module")
def both_served() -> Iterator[dict[str, ServerAddress]]:
    fake = FakeServer(embedding_dimension=DIM)
    with fake.serve() as grpc_address, fake.serve_rest() as rest_address:
        yield {"grpc": grpc_address, "rest": rest_address}


@pytest.fixture
def served(both_served: dict[str, ServerAddress], transport: str) -> dict[str, Any]:
    """Client options reaching the served fake over ``transport``."""
    return {"endpoint": both_served[transport].target, "insecure": True, "transport": transport}


def _both(client: Client | None, text: str) -> bool:
    """Whether both embedding paths give the fake's vectors for ``text``."""
    content = textservice.embed_content(GEMINI, [text], client=client)
    legacy = textservice.generate_embeddings(GECKO, text, client=client)
    return bool(
        content["embedding"] == [expected_content_embedding(GEMINI, text, dimension=DIM)]
        and legacy["embedding"] == expected_embedding(GECKO, text, DIM)
    )


def _wait(pid: int, seconds: float) -> int | None:
    """The child's exit code, or ``None`` (after killing it) if it is still running."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    return None


def test_a_sync_call_in_a_forked_child(served: dict[str, Any]) -> None:
    with Client("k", **served, timeout=10) as client:
        assert _both(client, "before the fork")  # loop thread and channel made
        pid = os.fork()
        if pid == 0:  # the child: report by exit code, never return into pytest
            try:
                os._exit(0 if _both(client, "in the child") else 1)
            except BaseException:
                os._exit(2)
        code = _wait(pid, 30)
        assert code == 0, "the child's call hung" if code is None else f"child exit {code}"
        assert _both(client, "the parent after the fork")  # its channel and loop untouched


def _in_pool(text: str) -> bool:
    return _both(None, text)  # the default client, inherited from the parent


def test_a_fork_pool_with_the_default_client(served: dict[str, Any]) -> None:
    client = textservice.configure(api_key="k", **served)
    try:
        assert _both(None, "the parent, first")
        with multiprocessing.get_context("fork").Pool(2) as pool:
            done = pool.map_async(_in_pool, [f"text {i}" for i in range(6)]).get(timeout=60)
        assert done == [True] * 6
        assert _both(None, "the parent, after")
    finally:
        client.close()


CHILD_EXITS_NORMALLY = """
import os, sys
import textservice
from textservice import Client

client = Client(
    "k", endpoint=sys.argv[1], transport=sys.argv[2], insecure=True, timeout=10
)
for i in range(3):
    textservice.embed_content("models/gemini-embedding-001", ["a", "b"], client=client)
pid = os.fork()
if pid == 0:
    textservice.generate_embeddings("models/embedding-gecko-001", "child", client=client)
    sys.exit(0)  # a normal exit: the interpreter shuts down, collecting what it holds
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0, status
for i in range(20):  # the parent's connection and loop still work
    textservice.embed_content("models/gemini-embedding-001", [f"after {i}"], client=client)
client.close()
print("ok")
"""


def test_a_child_exiting_normally_leaves_the_parent_working(served: dict[str, Any]) -> None:
    done = subprocess.run(
        # ResourceWarnings shown, not raised: a raising __del__ would stop before the close
        # that breaks the parent (what the child must never do to the parent's channel)
        [
            sys.executable,
            *("-W", "always::ResourceWarning"),
            *("-c", textwrap.dedent(CHILD_EXITS_NORMALLY)),
            *(served["endpoint"], served["transport"]),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "ok\n"
    assert done.stderr == ""
