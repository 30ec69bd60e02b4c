"""GenerativeService and ModelService: one contract, two servers (the fake and grpcio's).

As ``test_fake_contract.py`` does for TextService: our client side (betterproto2 stubs over
grpclib, the package's codecs) sends the same requests to the fake and to the reference
server of ``reference_server.py`` (protoc's classes, grpcio), and must see the same vectors,
counts, models, errors (status and the field named by ``BadRequest``), batch limits and
UNIMPLEMENTED answers. The versions and RPCs come from the generated code.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from grpclib.const import Status
from support.fake_helpers import (
    CONTENT_MODEL,
    EMBED_MODEL,
    GENERATIVE_VERSIONS,
    MODEL_SERVICE_VERSIONS,
    Route,
    bad_request_fields,
    content,
    embed_request,
    generative_invalid_cases,
    module,
    outcome,
    route_status,
    routes,
    tcp_channel,
)
from support.reference_server import ReferenceServer

from textservice.testing import (
    CatalogueModel,
    FakeServer,
    expected_content_embedding,
    expected_content_token_count,
)

# subprocess: the reference server's modules are built by protoc (the session fixture
# reference_python), in whichever test of the run needs them first
pytestmark = [pytest.mark.network, pytest.mark.subprocess]

KEY = "contract-test-key"
AUTH = {"x-goog-api-key": KEY}
OWN_MODELS = tuple(
    CatalogueModel(
        f"models/own-{i}",
        version=f"00{i}",
        display_name=f"Own {i}",
        description="a model of the contract suite",
        input_token_limit=100 * i,
        output_token_limit=1,
        supported_generation_methods=("embedContent", "countTokens"),
        embedding_dimension=8 * (i + 1),
        temperature=0.5 if i % 2 else None,
        top_k=i or None,
    )
    for i in range(5)
)
"""A catalogue given to both servers (the default one is checked in ``test_fake_models``)."""


def _as_reference_model(model: CatalogueModel) -> dict[str, Any]:
    fields = dataclasses.asdict(model)
    fields["supported_generation_methods"] = list(model.supported_generation_methods or ())
    return {k: v for k, v in fields.items() if v is not None}


Calls = list[tuple[str, str, Any]]
"""(version, RPC, request)."""


class Target:
    """A running server of the contract suite."""

    def __init__(self, name: str, port: int) -> None:
        self.name = name
        self.port = port

    def run(self, calls: Calls, metadata: Any = AUTH) -> list[tuple[Status, Any]]:
        async def go() -> list[tuple[Status, Any]]:
            channel = tcp_channel("127.0.0.1", self.port)
            try:
                return [
                    await outcome(channel, version, method, request, metadata=metadata)
                    for version, method, request in calls
                ]
            finally:
                channel.close()

        return asyncio.run(go())

    def ok(self, version: str, method: str, request: Any) -> Any:
        [(status, response)] = self.run([(version, method, request)])
        assert status is Status.OK, (self.name, response)
        return response

    def statuses(self, route_list: list[Route]) -> list[Status]:
        async def go() -> list[Status]:
            channel = tcp_channel("127.0.0.1", self.port)
            try:
                return [await route_status(channel, route) for route in route_list]
            finally:
                channel.close()

        return asyncio.run(go())


@contextmanager
def _fake(**options: Any) -> Iterator[Target]:
    with FakeServer(api_key=KEY, **options).serve() as address:
        yield Target("fake", address.port)


@contextmanager
def _reference(reference_python: Path, **options: Any) -> Iterator[Target]:
    with ReferenceServer(reference_python, api_key=KEY, **options) as server:
        yield Target("reference", server.port)


@pytest.fixture(scope="module")
def fake_target() -> Iterator[Target]:
    with _fake() as target:
        yield target


@pytest.fixture(scope="module")
def reference_target(reference_python: Path) -> Iterator[Target]:
    with _reference(reference_python) as target:
        yield target


@pytest.fixture(params=["fake", "reference"])
def target(request: pytest.FixtureRequest) -> Target:
    found: Target = request.getfixturevalue(f"{request.param}_target")
    return found


def _summary(results: list[tuple[Status, Any]]) -> list[tuple[Status, Any]]:
    """What both servers must agree on: responses as dicts, errors as their BadRequest fields."""
    return [
        (status, result.to_dict() if status is Status.OK else bad_request_fields(result))
        for status, result in results
    ]


# -- values -----------------------------------------------------------------------------------


@pytest.mark.parametrize("version", GENERATIVE_VERSIONS)
def test_embed_content(target: Target, version: str) -> None:
    m = module(version)
    text = "Pack my box with five dozen liquor jugs — ünïcødé ✓"
    document = m.TaskType.RETRIEVAL_DOCUMENT
    cases = [
        ({}, CONTENT_MODEL, expected_content_embedding(CONTENT_MODEL, text)),
        ({}, EMBED_MODEL, expected_content_embedding(EMBED_MODEL, text)),
        (
            {"task_type": document, "title": "Títle", "output_dimensionality": 768},
            CONTENT_MODEL,
            expected_content_embedding(CONTENT_MODEL, text, document, "Títle", 768),
        ),
        (
            {"task_type": m.TaskType.QUESTION_ANSWERING},
            "tunedModels/t1",
            expected_content_embedding("tunedModels/t1", text, "QUESTION_ANSWERING"),
        ),
    ]
    for fields, model, expected in cases:
        request = embed_request(m, text, model=model, **fields)
        assert target.ok(version, "EmbedContent", request).embedding.values == expected


@pytest.mark.parametrize("version", GENERATIVE_VERSIONS)
def test_batch_embed_contents_of_100(target: Target, version: str) -> None:
    m = module(version)
    texts = [f"sentence number {i}" for i in range(100)]
    requests = [
        embed_request(m, t, task_type=m.TaskType.CLASSIFICATION, output_dimensionality=256)
        for t in texts
    ]
    response = target.ok(
        version,
        "BatchEmbedContents",
        m.BatchEmbedContentsRequest(model=CONTENT_MODEL, requests=requests),
    )
    assert [e.values for e in response.embeddings] == [
        expected_content_embedding(CONTENT_MODEL, t, "CLASSIFICATION", None, 256) for t in texts
    ]


@pytest.mark.parametrize("version", GENERATIVE_VERSIONS)
def test_count_tokens(target: Target, version: str) -> None:
    m = module(version)
    texts = ("Count: these, tokens — please!", "and these")
    request = m.CountTokensRequest(model=CONTENT_MODEL, contents=[content(m, *texts)])
    response = target.ok(version, "CountTokens", request)
    assert response.total_tokens == expected_content_token_count(*texts) == 10
    assert [(d.modality, d.token_count) for d in response.prompt_tokens_details] == [
        (m.Modality.TEXT, 10)
    ]


# -- errors and limits ------------------------------------------------------------------------


@pytest.mark.parametrize("version", GENERATIVE_VERSIONS)
def test_errors(target: Target, version: str) -> None:
    cases = generative_invalid_cases(module(version))
    results = target.run([(version, method, request) for method, request, _ in cases])
    for (method, request, field), (status, error) in zip(cases, results, strict=True):
        assert status is Status.INVALID_ARGUMENT, (target.name, method, request, error)
        assert bad_request_fields(error) == [field], (target.name, method, field)


def test_unknown_models_and_keys(target: Target) -> None:
    for version in GENERATIVE_VERSIONS:
        m = module(version)
        call = (version, "EmbedContent", embed_request(m, model="models/embedding-001"))
        assert target.run([call])[0][0] is Status.NOT_FOUND
        assert target.run([call], metadata=None)[0][0] is Status.UNAUTHENTICATED
        assert target.run([call], metadata={"x-goog-api-key": "no"})[0][0] is (
            Status.UNAUTHENTICATED
        )


def test_every_other_rpc_is_unimplemented(target: Target) -> None:
    others = routes(
        lambda r: r.service.name in ("GenerativeService", "ModelService") and not r.answered
    )
    assert {r.version.name for r in others} == set(GENERATIVE_VERSIONS)
    assert {"StreamGenerateContent", "GenerateContent"} <= {r.method for r in others}
    assert target.statuses(others) == [Status.UNIMPLEMENTED] * len(others)


def test_both_servers_answer_a_mixed_session_identically(
    fake_target: Target, reference_target: Target
) -> None:
    calls: Calls = []
    for version in GENERATIVE_VERSIONS:
        m = module(version)
        calls += [(version, method, request) for method, request, _ in generative_invalid_cases(m)]
        calls += [
            (version, "EmbedContent", embed_request(m, version, output_dimensionality=5)),
            (version, "EmbedContent", m.EmbedContentRequest(
                model=CONTENT_MODEL, content=content(m, "a", " b", "c"), output_dimensionality=4)),
            (version, "EmbedContent", embed_request(m, "ab", model="models/nope")),
            (version, "BatchEmbedContents", m.BatchEmbedContentsRequest(
                model=EMBED_MODEL, requests=[embed_request(m, t, model=EMBED_MODEL,
                                                           output_dimensionality=3)
                                             for t in "xyz"])),
            (version, "CountTokens", m.CountTokensRequest(
                model=CONTENT_MODEL, generate_content_request=m.GenerateContentRequest(
                    model=CONTENT_MODEL, contents=[content(m, "one two", "three")]))),
            (version, "CountTokens", m.CountTokensRequest(model=CONTENT_MODEL)),
        ]  # fmt: skip
    for version in MODEL_SERVICE_VERSIONS:
        m = module(version)
        calls += [
            (version, "GetModel", m.GetModelRequest(name="models/nope")),
            (version, "GetModel", m.GetModelRequest(name="tunedModels/x")),
            (version, "ListModels", m.ListModelsRequest(page_size=-3)),
            (version, "ListModels", m.ListModelsRequest(page_token="garbage")),
        ]
    assert _summary(fake_target.run(calls)) == _summary(reference_target.run(calls))


# -- models -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def catalogue_targets(reference_python: Path) -> Iterator[tuple[Target, Target]]:
    own = [_as_reference_model(m) for m in OWN_MODELS]
    with _fake(known_models=OWN_MODELS) as fake, _reference(reference_python, catalogue=own) as ref:
        yield fake, ref


def _all_pages(target: Target, version: str, page_size: int) -> list[list[dict[str, Any]]]:
    m = module(version)
    pages, token = [], ""
    while True:
        request = m.ListModelsRequest(page_size=page_size, page_token=token)
        response = target.ok(version, "ListModels", request)
        pages.append([model.to_dict() for model in response.models])
        token = response.next_page_token
        if not token:
            return pages


@pytest.mark.parametrize("version", MODEL_SERVICE_VERSIONS)
@pytest.mark.parametrize("page_size", [0, 1, 2, 5, 6])
def test_list_models_pages_alike(
    catalogue_targets: tuple[Target, Target], version: str, page_size: int
) -> None:
    fake, reference = catalogue_targets
    pages = _all_pages(fake, version, page_size)
    assert pages == _all_pages(reference, version, page_size)
    assert [model["name"] for page in pages for model in page] == [m.name for m in OWN_MODELS]


@pytest.mark.parametrize("version", MODEL_SERVICE_VERSIONS)
def test_get_model_alike(catalogue_targets: tuple[Target, Target], version: str) -> None:
    m = module(version)
    calls: Calls = [
        (version, "GetModel", m.GetModelRequest(name=model.name)) for model in OWN_MODELS
    ]
    calls.append((version, "GetModel", m.GetModelRequest(name=CONTENT_MODEL)))  # not listed
    fake, reference = catalogue_targets
    summary = _summary(fake.run(calls))
    assert summary == _summary(reference.run(calls))
    assert [s for s, _ in summary] == [Status.OK] * len(OWN_MODELS) + [Status.NOT_FOUND]


def test_the_default_catalogue_lists_the_same_models_and_methods(target: Target) -> None:
    for version in MODEL_SERVICE_VERSIONS:
        response = target.ok(version, "ListModels", module(version).ListModelsRequest())
        assert [(m.name, m.supported_generation_methods) for m in response.models] == [
            ("models/text-bison-001", ["generateText", "countTextTokens", "createTunedTextModel"]),
            ("models/embedding-gecko-001", ["embedText", "countTextTokens"]),
            ("models/gemini-embedding-001", ["embedContent", "countTextTokens", "countTokens"]),
            ("models/gemini-embedding-2", ["embedContent", "countTokens"]),
        ]


# -- strict supported methods ---------------------------------------------------------------


def test_strict_methods_alike(reference_python: Path) -> None:
    calls: Calls = []
    for version in GENERATIVE_VERSIONS:
        m = module(version)
        calls += [
            (version, "EmbedContent", embed_request(m, model=EMBED_MODEL)),
            (version, "BatchEmbedContents", m.BatchEmbedContentsRequest(
                model=EMBED_MODEL, requests=[embed_request(m, model=EMBED_MODEL)])),
            (version, "CountTokens", m.CountTokensRequest(model=EMBED_MODEL)),
            (version, "EmbedContent", embed_request(m, output_dimensionality=2)),
            (version, "CountTokens", m.CountTokensRequest(model=CONTENT_MODEL)),
        ]  # fmt: skip
    for version in ("v1beta",):
        m = module(version)
        calls += [
            (version, "EmbedText", m.EmbedTextRequest(model=CONTENT_MODEL, text="x")),
            (version, "EmbedText", m.EmbedTextRequest(model=EMBED_MODEL, text="x")),
        ]
    with _fake(strict_methods=True) as fake:
        fake_summary = _summary(fake.run(calls))
    with _reference(reference_python, strict_methods=True) as reference:
        assert fake_summary == _summary(reference.run(calls))
    statuses = [status for status, _ in fake_summary]
    assert statuses.count(Status.NOT_FOUND) == 3 * len(GENERATIVE_VERSIONS) + 1
