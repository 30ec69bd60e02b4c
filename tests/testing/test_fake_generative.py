"""The fake's GenerativeService: EmbedContent, BatchEmbedContents, CountTokens, UNIMPLEMENTED.

Every version with a GenerativeService in the generated code is tested (``GENERATIVE_VERSIONS``).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from grpclib.const import Status
from support.fake_helpers import (
    CONTENT_MODEL,
    EMBED_MODEL,
    GENERATIVE_VERSIONS,
    TEXT_MODEL,
    Route,
    bad_request_fields,
    content,
    embed_request,
    generative_invalid_cases,
    has_field,
    module,
    outcome,
    route_status,
    routes,
)

from textservice.testing import (
    FakeServer,
    expected_content_embedding,
    expected_content_token_count,
    expected_embedding,
    expected_token_count,
)

pytestmark = pytest.mark.parametrize("version", GENERATIVE_VERSIONS)


def _run(fake: FakeServer, version: str, calls: list[tuple[str, Any]]) -> list[tuple[Status, Any]]:
    async def go() -> list[tuple[Status, Any]]:
        async with fake.in_memory() as channel:
            return [await outcome(channel, version, method, request) for method, request in calls]

    return asyncio.run(go())


def _ok(fake: FakeServer, version: str, method: str, request: Any) -> Any:
    [(status, response)] = _run(fake, version, [(method, request)])
    assert status is Status.OK, response
    return response


# -- EmbedContent ----------------------------------------------------------------------------


def test_embed_content_gives_the_expected_vector_of_the_models_length(version: str) -> None:
    m = module(version)
    fake = FakeServer()
    gemini = _ok(fake, version, "EmbedContent", embed_request(m, "héllo ✓"))
    gecko = _ok(fake, version, "EmbedContent", embed_request(m, "héllo ✓", model=EMBED_MODEL))
    assert len(gemini.embedding.values) == 3072
    assert gemini.embedding.values == expected_content_embedding(CONTENT_MODEL, "héllo ✓")
    assert len(gecko.embedding.values) == 768
    # with no task type and no title, the same vector as EmbedText's for the same text
    assert gecko.embedding.values == expected_embedding(EMBED_MODEL, "héllo ✓")


def test_task_type_and_title_change_the_vector(version: str) -> None:
    m = module(version)
    fake = FakeServer()
    document = m.TaskType.RETRIEVAL_DOCUMENT
    requests = [
        embed_request(m, "x"),
        embed_request(m, "x", task_type=m.TaskType.RETRIEVAL_QUERY),
        embed_request(m, "x", task_type=document),
        embed_request(m, "x", task_type=document, title="A title"),
        embed_request(m, "x", task_type=m.TaskType.TASK_TYPE_UNSPECIFIED),
    ]
    vectors = [_ok(fake, version, "EmbedContent", r).embedding.values for r in requests]
    assert vectors == [
        expected_content_embedding(CONTENT_MODEL, "x"),
        expected_content_embedding(CONTENT_MODEL, "x", "RETRIEVAL_QUERY"),
        expected_content_embedding(CONTENT_MODEL, "x", "retrieval_document"),
        expected_content_embedding(CONTENT_MODEL, "x", document, "A title"),
        expected_content_embedding(CONTENT_MODEL, "x", "TASK_TYPE_UNSPECIFIED"),
    ]
    assert len({tuple(v) for v in vectors}) == 4  # unspecified is the same as none
    assert vectors[4] == vectors[0]


@pytest.mark.parametrize("dimension", [1, 768, 1536, 3071, 3072])
def test_output_dimensionality_keeps_the_first_values(version: str, dimension: int) -> None:
    m = module(version)
    request = embed_request(m, "cut me", output_dimensionality=dimension)
    values = _ok(FakeServer(), version, "EmbedContent", request).embedding.values
    whole = expected_content_embedding(CONTENT_MODEL, "cut me")
    assert (
        values
        == whole[:dimension]
        == expected_content_embedding(CONTENT_MODEL, "cut me", dimension=dimension)
    )


def test_several_text_parts_are_embedded_as_one_text(version: str) -> None:
    m = module(version)
    request = m.EmbedContentRequest(model=CONTENT_MODEL, content=content(m, "one ", "two", ""))
    values = _ok(FakeServer(), version, "EmbedContent", request).embedding.values
    assert values == expected_content_embedding(CONTENT_MODEL, "one two")


def test_a_configured_dimension_applies_to_every_model(version: str) -> None:
    m = module(version)
    fake = FakeServer(embedding_dimension=16)
    assert fake.dimension_of(CONTENT_MODEL) == 16
    values = _ok(fake, version, "EmbedContent", embed_request(m, "z")).embedding.values
    assert values == expected_content_embedding(CONTENT_MODEL, "z", dimension=16)
    [(status, error)] = _run(
        fake, version, [("EmbedContent", embed_request(m, "z", output_dimensionality=17))]
    )
    assert status is Status.INVALID_ARGUMENT and "at most 16" in error.message


# -- BatchEmbedContents ----------------------------------------------------------------------


def test_batch_embed_contents_in_order_with_each_requests_options(version: str) -> None:
    m = module(version)
    document = m.TaskType.RETRIEVAL_DOCUMENT
    requests = [
        embed_request(
            m, f"text {i}", task_type=document, title=f"title {i}", output_dimensionality=64
        )
        for i in range(99)
    ] + [embed_request(m, "last, plain")]
    response = _ok(
        FakeServer(),
        version,
        "BatchEmbedContents",
        m.BatchEmbedContentsRequest(model=CONTENT_MODEL, requests=requests),
    )
    assert [e.values for e in response.embeddings] == [
        expected_content_embedding(CONTENT_MODEL, f"text {i}", document, f"title {i}", 64)
        for i in range(99)
    ] + [expected_content_embedding(CONTENT_MODEL, "last, plain")]


def test_batch_and_single_agree(version: str) -> None:
    m = module(version)
    fake = FakeServer()
    single = embed_request(m, "same", task_type=m.TaskType.CLUSTERING)
    batch = m.BatchEmbedContentsRequest(model=CONTENT_MODEL, requests=[single])
    one = _ok(fake, version, "EmbedContent", single).embedding.values
    assert _ok(fake, version, "BatchEmbedContents", batch).embeddings[0].values == one


# -- CountTokens -------------------------------------------------------------------------------


def test_count_tokens_sums_the_text_parts(version: str) -> None:
    m = module(version)
    fake = FakeServer()
    contents = [content(m, "Hello, world!", "two words"), content(m, "naïve café")]
    response = _ok(
        fake, version, "CountTokens", m.CountTokensRequest(model=CONTENT_MODEL, contents=contents)
    )
    total = expected_content_token_count("Hello, world!", "two words", "naïve café")
    assert total == sum(
        expected_token_count(t) for t in ("Hello, world!", "two words", "naïve café")
    )
    assert response.total_tokens == total == 8
    if has_field(m.CountTokensResponse, "prompt_tokens_details"):  # since 2025-04
        [detail] = response.prompt_tokens_details
        assert (detail.modality, detail.token_count) == (m.Modality.TEXT, total)


def test_count_tokens_of_a_generate_content_request(version: str) -> None:
    m = module(version)
    nested = m.GenerateContentRequest(
        model=CONTENT_MODEL, contents=[content(m, "one two"), content(m, "three")]
    )
    request = m.CountTokensRequest(model=CONTENT_MODEL, generate_content_request=nested)
    assert _ok(FakeServer(), version, "CountTokens", request).total_tokens == 3
    empty = m.CountTokensRequest(model=CONTENT_MODEL)
    assert _ok(FakeServer(), version, "CountTokens", empty).total_tokens == 0


# -- errors ------------------------------------------------------------------------------------


def test_invalid_arguments_name_the_field(version: str) -> None:
    cases = generative_invalid_cases(module(version))
    fake = FakeServer()
    results = _run(fake, version, [(method, request) for method, request, _ in cases])
    for (method, request, field), (status, error) in zip(cases, results, strict=True):
        assert status is Status.INVALID_ARGUMENT, (method, request, error)
        assert error.message.startswith(f"{field}: "), (error.message, field)
        assert bad_request_fields(error) == [field]
    assert fake.count(status=Status.INVALID_ARGUMENT) == len(cases)


def test_a_title_needs_retrieval_document_as_the_api_says(version: str) -> None:
    m = module(version)
    [(status, error)] = _run(FakeServer(), version, [("EmbedContent", embed_request(m, title="T"))])
    assert status is Status.INVALID_ARGUMENT
    assert "title parameter unless the task_type is RETRIEVAL_DOCUMENT" in error.message


def test_an_unknown_task_type_is_invalid(version: str) -> None:
    m = module(version)
    raw = bytes(embed_request(m)) + bytes([0x18, 99])  # field 3 (task_type) = 99, not in the enum
    request = m.EmbedContentRequest.parse(raw)
    [(status, error)] = _run(FakeServer(), version, [("EmbedContent", request)])
    assert status is Status.INVALID_ARGUMENT
    assert bad_request_fields(error) == ["task_type"]


@pytest.mark.slow  # >= 0.25 s: kept out of make test-fast
def test_boundaries_that_are_valid(version: str) -> None:
    m = module(version)
    one = embed_request(m, "a")
    calls: list[tuple[str, Any]] = [
        ("BatchEmbedContents", m.BatchEmbedContentsRequest(model=CONTENT_MODEL, requests=[one])),
        (
            "BatchEmbedContents",
            m.BatchEmbedContentsRequest(model=CONTENT_MODEL, requests=[one] * 100),
        ),
        ("EmbedContent", embed_request(m, "", output_dimensionality=3072)),
        ("EmbedContent", embed_request(m, title="", task_type=m.TaskType.RETRIEVAL_QUERY)),
        ("EmbedContent", embed_request(m, model="tunedModels/mine-1")),
        ("CountTokens", m.CountTokensRequest(model=CONTENT_MODEL, contents=[m.Content()])),
    ]
    assert [s for s, _ in _run(FakeServer(), version, calls)] == [Status.OK] * len(calls)


def test_an_unknown_model_is_not_found_worded_as_the_api(version: str) -> None:
    m = module(version)
    [(status, error)] = _run(
        FakeServer(), version, [("EmbedContent", embed_request(m, model="models/embedding-001"))]
    )
    assert status is Status.NOT_FOUND
    assert error.message == (
        f"models/embedding-001 is not found for API version {version}, or is not supported "
        "for embedContent. Call ListModels to see the list of available models and their "
        "supported methods."
    )


# -- strict supported methods ---------------------------------------------------------------


def test_strict_methods_refuses_a_model_the_rpc_does_not_serve(version: str) -> None:
    m = module(version)
    batch = m.BatchEmbedContentsRequest(
        model=EMBED_MODEL, requests=[embed_request(m, model=EMBED_MODEL)]
    )
    calls: list[tuple[str, Any]] = [
        ("EmbedContent", embed_request(m, model=EMBED_MODEL)),  # gecko: embedText only
        ("BatchEmbedContents", batch),  # counts as embedContent
        ("CountTokens", m.CountTokensRequest(model=EMBED_MODEL)),
        ("CountTokens", m.CountTokensRequest(model=TEXT_MODEL)),
        ("EmbedContent", embed_request(m)),  # gemini-embedding-001 has embedContent
        ("BatchEmbedContents", m.BatchEmbedContentsRequest(
            model=CONTENT_MODEL, requests=[embed_request(m)])),
        ("CountTokens", m.CountTokensRequest(model=CONTENT_MODEL)),
        ("EmbedContent", embed_request(m, model="tunedModels/t")),  # tuned models: every method
    ]  # fmt: skip
    strict = _run(FakeServer(strict_methods=True), version, calls)
    assert [s for s, _ in strict] == [Status.NOT_FOUND] * 4 + [Status.OK] * 4
    assert strict[1][1].message.startswith(
        f"{EMBED_MODEL} is not found for API version {version}, or is not supported for "
        "embedContent."
    )
    assert "countTokens" in strict[3][1].message
    lenient = _run(FakeServer(), version, calls)  # the default: every RPC serves every model
    assert [s for s, _ in lenient] == [Status.OK] * len(calls)


# -- every other RPC -------------------------------------------------------------------------


def _other_rpcs(version: str) -> list[Route]:
    return routes(
        lambda r: (
            r.version.name == version
            and r.service.name in ("GenerativeService", "ModelService")
            and not r.answered
        )
    )


def test_every_other_rpc_is_unimplemented(version: str) -> None:
    others = _other_rpcs(version)
    assert {"GenerateContent", "StreamGenerateContent"} <= {r.method for r in others}
    fake = FakeServer()

    async def go() -> list[Status]:
        async with fake.in_memory() as channel:
            return [await route_status(channel, route) for route in others]

    assert asyncio.run(go()) == [Status.UNIMPLEMENTED] * len(others)
    assert [(c.service, c.method, c.status) for c in fake.calls] == [
        (r.service.name, r.method, Status.UNIMPLEMENTED) for r in others
    ]
