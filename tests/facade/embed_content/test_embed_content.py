"""``embed_content``: google-generativeai 0.7.2's ``embed_content`` tests, ported, and the rest.

The seed library's tests mocked its client and counted the requests; here a recording
GenerativeService (``tests/content_server.py``, in memory) does the same, for each generated
API version with an ``embed_content``. Its vectors echo what each request held, so a result
shows the text, task type and title that were sent.
"""

from __future__ import annotations

import asyncio
import importlib
import math
import types
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from support.content_server import Recorded, client_for, proto, text_of, vector

import textservice
from textservice.client import Client

MODEL = "models/gemini-embedding-001"

VERSIONS = [v for v in textservice._versions() if hasattr(getattr(textservice, v), "embed_content")]
"""The generated versions with ``embed_content`` (v1 and v1beta today)."""


def test_the_versions_are_found_in_the_generated_code() -> None:
    assert {"v1", "v1beta"} <= set(VERSIONS)
    assert "v1beta3" not in VERSIONS  # TextService only
    assert textservice.embed_content is textservice.v1beta.embed_content


@dataclass
class Served:
    facade: types.ModuleType
    client: Client
    recorded: Recorded
    pb: types.ModuleType


@pytest.fixture(params=VERSIONS)
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    version = request.param
    client, recorded = client_for(version)
    try:
        yield Served(
            importlib.import_module(f"textservice.{version}"), client, recorded, proto(version)
        )
    finally:
        client.close()


# -- the seed library's cases ------------------------------------------------------------------


def test_embed_content(served: Served) -> None:
    text = "What are you?"
    emb = served.facade.embed_content(model=MODEL, content=text, client=served.client)
    assert isinstance(emb, dict)
    (request,) = served.recorded.of("EmbedContent")
    pb = served.pb
    assert request == pb.EmbedContentRequest(
        model=MODEL, content=pb.Content(parts=[pb.Part(text="What are you?")])
    )
    assert isinstance(emb["embedding"][0], float)
    assert emb == {"embedding": [13.0, 0.0, 0.0]}


@pytest.mark.parametrize("batch_size", [1, 100, 101, 250])
def test_batch_embed_contents(served: Served, batch_size: int) -> None:
    texts = [f"What are you? {i}" for i in range(batch_size)]
    emb = served.facade.embed_content(model=MODEL, content=texts, client=served.client)
    assert isinstance(emb, dict)
    # the list has the right length, in input order
    assert isinstance(emb["embedding"][0], list)
    assert len(emb["embedding"]) == len(texts)
    assert emb["embedding"] == [[float(len(t)), 0.0, 0.0] for t in texts]
    # the right number of requests was sent: batches of at most 100
    assert served.recorded.count("BatchEmbedContents") == math.ceil(len(texts) / 100)
    assert served.recorded.count("EmbedContent") == 0
    sizes = sorted(len(r.requests) for r in served.recorded.of("BatchEmbedContents"))
    assert sizes == sorted(
        [100] * (batch_size // 100) + ([batch_size % 100] if batch_size % 100 else [])
    )
    for batch in served.recorded.of("BatchEmbedContents"):
        assert batch.model == MODEL and {r.model for r in batch.requests} == {MODEL}


def test_embed_content_title_and_task_1(served: Served) -> None:
    emb = served.facade.embed_content(
        model=MODEL,
        content="What are you?",
        task_type="retrieval_document",
        title="Exploring AI",
        client=served.client,
    )
    (request,) = served.recorded.of("EmbedContent")
    assert request.task_type == served.pb.TaskType.RETRIEVAL_DOCUMENT
    assert request.title == "Exploring AI"
    assert emb["embedding"] == [13.0, 2.0, 12.0]


def test_embed_content_title_and_task_2(served: Served) -> None:
    with pytest.raises(ValueError, match="title needs task_type='RETRIEVAL_DOCUMENT'"):
        served.facade.embed_content(
            model=MODEL,
            content="What are you?",
            task_type="similarity",
            title="Exploring AI",
            client=served.client,
        )
    assert served.recorded.requests == {}


@pytest.mark.parametrize("bad", [-1, 0])
def test_embed_content_with_negative_output_dimensionality(served: Served, bad: int) -> None:
    with pytest.raises(ValueError, match="output_dimensionality must be a positive int"):
        served.facade.embed_content(
            model=MODEL, content="What are you?", output_dimensionality=bad, client=served.client
        )
    assert served.recorded.requests == {}


@pytest.mark.parametrize("content", ["What are you?", ["What are you?"]])
def test_embed_content_called_with_request_options(served: Served, content: Any) -> None:
    # the seed passed request_options on to its client; ours are checked and used per call
    result = served.facade.embed_content(
        MODEL, content, request_options={"timeout": 120}, client=served.client
    )
    assert result["embedding"]
    method = "EmbedContent" if isinstance(content, str) else "BatchEmbedContents"
    assert served.recorded.count(method) == 1
    with pytest.raises(TypeError, match="request_options"):
        served.facade.embed_content(
            MODEL, content, request_options={"timeot": 120}, client=served.client
        )
    assert served.recorded.count(method) == 1  # the bad one sent nothing


def test_empty_list(served: Served) -> None:
    assert served.facade.embed_content(MODEL, [], client=served.client) == {"embedding": []}
    empty = served.facade.embed_content(MODEL, [], client=served.client, output="numpy")
    assert empty["embedding"].shape == (0, 0)
    assert served.recorded.requests == {}  # no call


@dataclass
class FakeModel:
    """A ``Model``-like object: the seed library accepted these for ``model``."""

    name: str


def test_model_object(served: Served) -> None:
    served.facade.embed_content(FakeModel(MODEL), "hi", client=served.client)
    assert served.recorded.of("EmbedContent")[0].model == MODEL
    with pytest.raises(ValueError, match="model name must start with 'models/'"):
        served.facade.embed_content(FakeModel("google/gemini"), "hi", client=served.client)


def test_a_bare_model_id_gets_models_prefixed(served: Served) -> None:
    served.facade.embed_content(MODEL.removeprefix("models/"), "hi", client=served.client)
    served.facade.embed_content(MODEL.removeprefix("models/"), ["a", "b"], client=served.client)
    (one,) = served.recorded.of("EmbedContent")
    (batch,) = served.recorded.of("BatchEmbedContents")
    assert one.model == MODEL
    assert batch.model == MODEL and [r.model for r in batch.requests] == [MODEL, MODEL]


def test_async(served: Served) -> None:
    async def main() -> tuple[Any, Any]:
        one = await served.facade.embed_content_async(MODEL, "abc", client=served.client)
        many = await served.facade.embed_content_async(
            MODEL, ["a", "bb"], task_type="query", client=served.client
        )
        return one, many

    one, many = asyncio.run(main())
    assert one == {"embedding": [3.0, 0.0, 0.0]}
    assert many == {"embedding": [[1.0, 1.0, 0.0], [2.0, 1.0, 0.0]]}


# -- task types ----------------------------------------------------------------------------------

SEED_NAMES = {
    "retrieval_query": "RETRIEVAL_QUERY",
    "query": "RETRIEVAL_QUERY",
    "retrieval_document": "RETRIEVAL_DOCUMENT",
    "document": "RETRIEVAL_DOCUMENT",
    "semantic_similarity": "SEMANTIC_SIMILARITY",
    "similarity": "SEMANTIC_SIMILARITY",
    "classification": "CLASSIFICATION",
    "clustering": "CLUSTERING",
    "question_answering": "QUESTION_ANSWERING",
    "qa": "QUESTION_ANSWERING",
    "fact_verification": "FACT_VERIFICATION",
    "verification": "FACT_VERIFICATION",
}


@pytest.mark.parametrize("name", sorted(SEED_NAMES))
def test_task_type_names_any_case_members_and_numbers(served: Served, name: str) -> None:
    member = served.pb.TaskType[SEED_NAMES[name]]
    embed = served.facade.embed_content
    for given in (name, name.upper(), name.title(), member, int(member.value)):
        result = embed(MODEL, "x", task_type=given, client=served.client)
        assert result["embedding"][1] == float(member.value), given
        assert served.recorded.of("EmbedContent")[-1].task_type == member


def test_every_member_of_the_versions_enum_is_accepted(served: Served) -> None:
    for member in served.pb.TaskType:
        served.facade.embed_content(MODEL, "x", task_type=member.name.lower(), client=served.client)
        assert served.recorded.of("EmbedContent")[-1].task_type == member


@pytest.mark.parametrize("bad", ["retrieval", "documents", "", 99, -1])
def test_an_unknown_task_type_is_a_value_error_before_any_call(served: Served, bad: Any) -> None:
    with pytest.raises(ValueError, match=r"task_type: .* is not a TaskType"):
        served.facade.embed_content(MODEL, "x", task_type=bad, client=served.client)
    assert served.recorded.requests == {}


@pytest.mark.parametrize("bad", [1.5, True, b"query", ["query"]])
def test_a_task_type_of_another_kind_is_a_type_error(served: Served, bad: Any) -> None:
    with pytest.raises(TypeError, match="task_type"):
        served.facade.embed_content(MODEL, "x", task_type=bad, client=served.client)


# -- titles --------------------------------------------------------------------------------------


def test_a_title_needs_the_retrieval_document_task_type(served: Served) -> None:
    embed = served.facade.embed_content
    for task in (None, "query", "clustering"):
        with pytest.raises(ValueError, match="title needs task_type"):
            embed(MODEL, "x", task_type=task, title="T", client=served.client)
        with pytest.raises(ValueError, match="title needs task_type"):  # an item's own title
            embed(MODEL, [{"text": "x", "title": "T"}], task_type=task, client=served.client)
    assert served.recorded.requests == {}


def test_each_item_may_have_its_own_title(served: Served) -> None:
    result = served.facade.embed_content(
        MODEL,
        [
            "plain",
            {"text": "titled", "title": "Mine"},
            {"text": "untitled"},
            {"text": "n", "title": None},
        ],
        task_type="document",
        title="Call",
        client=served.client,
    )
    (batch,) = served.recorded.of("BatchEmbedContents")
    assert [r.title for r in batch.requests] == ["Call", "Mine", "Call", "Call"]
    assert [text_of(r.content) for r in batch.requests] == ["plain", "titled", "untitled", "n"]
    assert [row[2] for row in result["embedding"]] == [4.0, 4.0, 4.0, 4.0]
    one = served.facade.embed_content(
        MODEL, {"text": "alone", "title": "Own"}, task_type="document", client=served.client
    )
    assert one == {"embedding": [5.0, 2.0, 3.0]}  # a mapping is one item


@pytest.mark.parametrize(
    ("content", "kind", "words"),
    [
        ([{"txt": "a"}], ValueError, "content[0] has unknown key 'txt'"),
        ([{"title": "a"}], ValueError, "content[0] has no 'text'"),
        ([{"text": 3}], TypeError, "content[0]['text'] must be a str"),
        ([{"text": "a", "title": 3}], TypeError, "content[0]['title'] must be a str or None"),
        (["a", 3], TypeError, "content[1] must be a str, a mapping"),
        (["a", ["b"]], TypeError, "nested sequences are not accepted"),
        ({"a", "b"}, TypeError, "a set has no order"),
        (b"bytes", TypeError, "decode bytes to str first"),
        (None, TypeError, "content must be a str, a mapping or a sequence"),
        (["ok", "\ud800"], ValueError, "content[1] is not valid Unicode text"),
    ],
)
def test_bad_items_fail_before_any_call(
    served: Served, content: Any, kind: type, words: str
) -> None:
    with pytest.raises(kind) as caught:
        served.facade.embed_content(MODEL, content, task_type="document", client=served.client)
    assert words in str(caught.value)
    assert served.recorded.requests == {}


# -- output dimensionality, normalize, numpy ------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "kind"), [(True, TypeError), ("8", TypeError), (2.0, TypeError), (2**31, ValueError)]
)
def test_output_dimensionality_must_be_an_int(served: Served, bad: Any, kind: type) -> None:
    with pytest.raises(kind, match="output_dimensionality"):
        served.facade.embed_content(MODEL, "x", output_dimensionality=bad, client=served.client)
    assert served.recorded.requests == {}


def test_output_dimensionality_is_sent(served: Served) -> None:
    result = served.facade.embed_content(
        MODEL, ["ab"], output_dimensionality=5, client=served.client
    )
    assert result == {"embedding": [[2.0, 0.0, 0.0, 0.5, 0.5]]}
    assert served.recorded.of("BatchEmbedContents")[0].requests[0].output_dimensionality == 5


def test_normalize_gives_unit_vectors_in_both_outputs(served: Served) -> None:
    texts = ["abc", "a" * 10, ""]
    listed = served.facade.embed_content(
        MODEL, texts, output_dimensionality=4, normalize=True, client=served.client
    )["embedding"]
    raw = [vector(r) for r in served.recorded.of("BatchEmbedContents")[0].requests]
    for got, sent in zip(listed[:2], raw[:2], strict=True):
        norm = math.sqrt(sum(v * v for v in sent))
        assert got == pytest.approx([v / norm for v in sent], rel=1e-6)
        assert math.fsum(v * v for v in got) == pytest.approx(1.0, rel=1e-12)
    assert listed[2] == [0.0, 0.0, 0.0, 1.0]  # only the padding 0.5: scaled to 1
    arrays = served.facade.embed_content(
        MODEL, texts, output_dimensionality=4, normalize=True, output="numpy", client=served.client
    )["embedding"]
    assert arrays.dtype == np.float32 and arrays.shape == (3, 4)
    np.testing.assert_allclose(np.linalg.norm(arrays, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(arrays, np.asarray(listed, dtype=np.float32), rtol=1e-6)
    one = served.facade.embed_content(
        MODEL, "abc", normalize=True, output="numpy", client=served.client
    )
    assert one["embedding"].shape == (3,)
    assert float(np.linalg.norm(one["embedding"])) == pytest.approx(1.0, rel=1e-6)
    with pytest.raises(TypeError, match="normalize must be a bool"):
        served.facade.embed_content(MODEL, "abc", normalize=1, client=served.client)


def test_zero_vectors_stay_zero_when_normalized(served: Served) -> None:
    result = served.facade.embed_content(
        MODEL, [""], output_dimensionality=2, normalize=True, client=served.client
    )
    assert result == {"embedding": [[0.0, 0.0]]}
    arrays = served.facade.embed_content(
        MODEL, [""], output_dimensionality=2, normalize=True, output="numpy", client=served.client
    )
    assert arrays["embedding"].tolist() == [[0.0, 0.0]]


def test_numpy_output_holds_the_list_values(served: Served) -> None:
    texts = [f"text {i}" * (i % 4 + 1) for i in range(230)]
    listed = served.facade.embed_content(
        MODEL, texts, output_dimensionality=6, client=served.client
    )
    arrays = served.facade.embed_content(
        MODEL, texts, output_dimensionality=6, output="numpy", client=served.client
    )
    assert arrays["embedding"].shape == (230, 6) and arrays["embedding"].dtype == np.float32
    assert arrays["embedding"].tolist() == listed["embedding"]
    single = served.facade.embed_content(MODEL, "abc", output="numpy", client=served.client)
    assert single["embedding"].tolist() == [3.0, 0.0, 0.0]


# -- the iterator --------------------------------------------------------------------------------


def test_iter_embed_content_batches_in_order_with_progress(served: Served) -> None:
    texts = [f"line {i}" + "x" * (i % 7) for i in range(130)]
    seen: list[tuple[int, int]] = []
    batches = list(
        served.facade.iter_embed_content(
            MODEL,
            texts,
            task_type="document",
            title="T",
            batch_size=50,
            progress=lambda done, total: seen.append((done, total)),
            client=served.client,
        )
    )
    assert [len(b) for b in batches] == [50, 50, 30]
    assert [row for b in batches for row in b] == [[float(len(t)), 2.0, 1.0] for t in texts]
    assert seen == [(50, 130), (100, 130), (130, 130)]
    assert sorted(len(r.requests) for r in served.recorded.of("BatchEmbedContents")) == [30, 50, 50]

    async def collect() -> list[Any]:
        it = served.facade.iter_embed_content_async(
            MODEL, texts, output="numpy", normalize=True, client=served.client
        )
        return [b async for b in it]

    arrays = asyncio.run(collect())
    assert [a.shape for a in arrays] == [(100, 3), (30, 3)]
    np.testing.assert_allclose(np.linalg.norm(np.concatenate(arrays), axis=1), 1.0, rtol=1e-6)


def test_iter_embed_content_checks_its_arguments_at_once(served: Served) -> None:
    it = served.facade.iter_embed_content
    with pytest.raises(TypeError, match="contents must be a sequence of items, not a single one"):
        it(MODEL, "one", client=served.client)
    with pytest.raises(TypeError, match="contents must be a sequence of items, not a single one"):
        it(MODEL, {"text": "one"}, client=served.client)
    with pytest.raises(ValueError, match="batch_size must be between 1 and 100"):
        it(MODEL, ["a"], batch_size=101, client=served.client)
    with pytest.raises(ValueError, match="title needs task_type"):
        served.facade.iter_embed_content_async(MODEL, ["a"], title="T", client=served.client)
    assert served.recorded.requests == {}
