"""``embed_content`` over REST sends the very requests it sends over gRPC, and returns the same.

The fake records the request message each call decoded (from protobuf bytes, or from the
JSON of the REST face): for every option of ``embed_content`` the two transports must hand
it equal messages, in equal calls, and get equal results.
"""

from __future__ import annotations

from typing import Any

import pytest
from support.transports import via

import textservice
from textservice import TextServiceClient
from textservice.testing import FakeServer

MODEL = "models/gemini-embedding-001"

CASES: dict[str, dict[str, Any]] = {
    "one text": {"content": "hello"},
    "a list": {"content": ["a", "b", "c"]},
    "task type and dimensionality": {
        "content": ["q1", "q2"],
        "task_type": "query",
        "output_dimensionality": 16,
    },
    "titles, the call's and an item's": {
        "content": [{"text": "doc", "title": "Own"}, "plain", {"text": "", "title": ""}],
        "task_type": "retrieval_document",
        "title": "Shared",
    },
    "numpy and normalize": {"content": ["x", "y"], "output": "numpy", "normalize": True},
    "more than one batch": {"content": [f"t{i}" for i in range(230)]},
    "non-ASCII": {"content": ["café — naïve", "日本語", "emoji 🙂"]},
}


def _run(transport: str, version: str, options: dict[str, Any]) -> tuple[Any, list[Any]]:
    fake = FakeServer(embedding_dimension=32)
    facade = getattr(textservice, version)
    with TextServiceClient("k", **via(fake, transport), retry=None) as client:
        result = facade.embed_content(MODEL, client=client, **options)["embedding"]
    if options.get("output") == "numpy":
        result = result.tolist()
    return result, sorted((c.method, repr(c.request)) for c in fake.calls)


@pytest.mark.parametrize("version", ["v1", "v1beta"])
@pytest.mark.parametrize("case", list(CASES))
def test_rest_sends_and_returns_what_grpc_does(version: str, case: str) -> None:
    grpc_result, grpc_calls = _run("grpc", version, CASES[case])
    rest_result, rest_calls = _run("rest", version, CASES[case])
    assert rest_calls == grpc_calls
    assert rest_result == grpc_result


def test_iter_embed_content_over_rest() -> None:
    fake = FakeServer(embedding_dimension=8)
    texts = [f"text {i}" for i in range(250)]
    with TextServiceClient("k", **via(fake, "rest")) as client:
        batches = list(textservice.iter_embed_content(MODEL, texts, client=client, batch_size=100))
    assert [len(b) for b in batches] == [100, 100, 50]
    assert fake.count("BatchEmbedContents") == 3
