"""``embed_content`` over REST sends the very requests it sends over gRPC, and returns the same.

The fake records the request message each call decoded (from protobuf bytes, or from the
JSON of the REST face): for every option of ``embed_content`` the two transports must hand
it equal messages, in equal calls, and get equal results.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from grpclib.const import Status
from support.fake_helpers import GENERATIVE_VERSIONS, generative_invalid_cases, module
from support.transports import via

import textservice
from textservice import Client, InvalidArgument, TextServiceError
from textservice._proto.google.rpc import BadRequest
from textservice._transport.connection import UnaryCall
from textservice._transport.rest.connection import RestConnection
from textservice.testing import FakeServer
from textservice.testing.rest import rest_methods

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
    with Client("k", **via(fake, transport), retry=None) as client:
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
    with Client("k", **via(fake, "rest")) as client:
        batches = list(textservice.iter_embed_content(MODEL, texts, client=client, batch_size=100))
    assert [len(b) for b in batches] == [100, 100, 50]
    assert fake.count("BatchEmbedContents") == 3


@pytest.mark.parametrize("version", GENERATIVE_VERSIONS)
def test_invalid_requests_name_the_field_over_rest_too(version: str) -> None:
    """The fake's REST face answers each invalid request as its gRPC face does: 400
    INVALID_ARGUMENT naming the field, with a BadRequest detail; a request whose resource
    name fits no binding has no URL, so the client refuses it before any call."""
    specs = {spec.name: spec for spec in rest_methods(version, "GenerativeService")}
    cases = generative_invalid_cases(module(version))
    fake = FakeServer()

    async def send(method: str, request: Any) -> BaseException:
        connection = RestConnection("http://fake", transport=fake.http_transport())
        try:
            spec = specs[method]
            call = UnaryCall(spec, request, spec.response_type, metadata=[])
            await connection.unary(call, timeout=10)
        except TextServiceError as exc:
            return exc
        finally:
            await connection.aclose()
        raise AssertionError(f"{method} {request!r} was accepted")

    unbound = 0
    for method, request, field in cases:
        before = fake.count()
        error = asyncio.run(send(method, request))
        assert isinstance(error, InvalidArgument), (method, request, error)
        if "cannot be sent over REST" in error.message:
            unbound += 1
            assert field == "model"  # the one field in the path
            assert fake.count() == before  # nothing sent
            continue
        assert error.message.startswith(f"{field}: "), (error.message, field)
        assert [
            v.field for d in error.details if isinstance(d, BadRequest) for v in d.field_violations
        ] == [field]
    # no model, or a model name without "models/": those four have no URL
    assert unbound == sum(not request.model.startswith("models/") for _, request, _ in cases)
    assert fake.count(status=Status.INVALID_ARGUMENT) == len(cases) - unbound
