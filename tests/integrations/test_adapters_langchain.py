"""``textservice.adapters.langchain.TextServiceEmbeddings`` against the in-memory fake.

The fake's request log shows the task type and title each text went with; its vectors are
``expected_content_embedding``'s, so every result is checked value for value. langchain-core
is in the dev extra: without it these tests fail, never skip. It and the adapter are imported
in the tests, not at collection (``tests/project/test_collection_imports.py``).
"""

from __future__ import annotations

import asyncio
import importlib
import math
import sys
from typing import Any

import pytest
from support.fake_helpers import sent_contents

import textservice
from textservice._routes import DEFAULT_EMBEDDING_MODEL
from textservice.adapters._retrieval import RetrievalOptions
from textservice.client import Client, call_path
from textservice.testing import FakeServer, expected_content_embedding
from textservice.testing.vectors import expected_parts_embedding

GEMINI = "models/gemini-embedding-001"
TWO = "models/gemini-embedding-2"


def sent(fake: FakeServer) -> list[tuple[str, str, str | None, str | None]]:
    """``(method, text, task type, title)`` of every content request the fake received."""
    return [row[:4] for row in sent_contents(fake)]


def test_documents_and_queries_get_their_task_types(
    fake_server: FakeServer, fake_client: Client
) -> None:
    from langchain_core.embeddings import Embeddings

    from textservice.adapters.langchain import TextServiceEmbeddings

    embeddings = TextServiceEmbeddings(GEMINI, client=fake_client)
    assert isinstance(embeddings, Embeddings)
    documents = embeddings.embed_documents(["a cat", "a car"])
    query = embeddings.embed_query("kitten")
    assert documents == [
        expected_content_embedding(GEMINI, t, "RETRIEVAL_DOCUMENT") for t in ["a cat", "a car"]
    ]
    assert query == expected_content_embedding(GEMINI, "kitten", "RETRIEVAL_QUERY")
    assert sent(fake_server) == [
        ("BatchEmbedContents", "a cat", "RETRIEVAL_DOCUMENT", None),
        ("BatchEmbedContents", "a car", "RETRIEVAL_DOCUMENT", None),
        ("EmbedContent", "kitten", "RETRIEVAL_QUERY", None),
    ]
    assert {call.request.model for call in fake_server.calls} == {GEMINI}


def test_on_gemini_embedding_2_the_tasks_are_instructions_in_the_text(
    fake_server: FakeServer, fake_client: Client
) -> None:
    from textservice.adapters.langchain import TextServiceEmbeddings

    assert DEFAULT_EMBEDDING_MODEL == TWO
    embeddings = TextServiceEmbeddings(client=fake_client)
    documents = embeddings.embed_documents(["a cat", "a car"], titles=["Cats", None])
    query = embeddings.embed_query("kitten")
    sent_texts = ["title: Cats | text: a cat", "title: none | text: a car"]
    assert sent(fake_server) == [
        ("BatchEmbedContents", sent_texts[0], None, None),  # no task type or title fields
        ("BatchEmbedContents", sent_texts[1], None, None),
        ("EmbedContent", "task: search result | query: kitten", None, None),
    ]
    assert documents == [expected_parts_embedding(TWO, [t]) for t in sent_texts]
    assert query == expected_parts_embedding(TWO, ["task: search result | query: kitten"])


def test_other_task_types_on_gemini_embedding_2_async(
    fake_server: FakeServer, fake_client: Client
) -> None:
    from textservice.adapters.langchain import TextServiceEmbeddings

    embeddings = TextServiceEmbeddings(
        TWO, client=fake_client, document_task_type="similarity", query_task_type="similarity"
    )

    async def main() -> None:
        await embeddings.aembed_documents(["one"])
        await embeddings.aembed_query("two")

    asyncio.run(main())
    assert [r[1] for r in sent(fake_server)] == [
        "task: sentence similarity | query: one",
        "task: sentence similarity | query: two",
    ]


def test_the_models_rules_apply_before_any_call(
    fake_server: FakeServer, fake_client: Client
) -> None:
    from textservice.adapters.langchain import TextServiceEmbeddings

    embeddings = TextServiceEmbeddings(TWO, client=fake_client, output_dimensionality=64)
    with pytest.raises(ValueError, match="between 128 and 3072 for models/gemini-embedding-2"):
        embeddings.embed_query("q")
    assert fake_server.calls == []


def test_a_long_list_keeps_its_order_in_batches_of_100(
    fake_server: FakeServer, fake_client: Client
) -> None:
    from textservice.adapters.langchain import TextServiceEmbeddings

    texts = [f"text {i}" for i in range(250)]
    vectors = TextServiceEmbeddings(GEMINI, client=fake_client).embed_documents(texts)
    assert vectors == [expected_content_embedding(GEMINI, t, "RETRIEVAL_DOCUMENT") for t in texts]
    sizes = sorted(len(c.request.requests) for c in fake_server.calls)
    assert sizes == [50, 100, 100]


def test_no_documents_no_call(fake_server: FakeServer, fake_client: Client) -> None:
    from textservice.adapters.langchain import TextServiceEmbeddings

    embeddings = TextServiceEmbeddings(client=fake_client)
    assert embeddings.embed_documents([]) == []
    assert asyncio.run(embeddings.aembed_documents([])) == []
    assert fake_server.calls == []


def test_the_default_model_bare_ids_and_the_default_client(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from textservice.adapters.langchain import TextServiceEmbeddings

    assert TextServiceEmbeddings().model == DEFAULT_EMBEDDING_MODEL
    assert TextServiceEmbeddings("gemini-embedding-001").model == GEMINI
    client = textservice.configure(channel_factory=fake_server.channel)
    try:
        TextServiceEmbeddings("gemini-embedding-001").embed_query("q")  # no client: the default
    finally:
        client.close()
    assert [c.request.model for c in fake_server.calls] == [GEMINI]


def test_options_reach_every_request(fake_server: FakeServer, fake_client: Client) -> None:
    from textservice.adapters.langchain import TextServiceEmbeddings

    embeddings = TextServiceEmbeddings(
        GEMINI,
        client=fake_client,
        output_dimensionality=256,
        normalize=True,
        document_task_type="similarity",
        query_task_type="FACT_VERIFICATION",
    )
    (document,) = embeddings.embed_documents(["The sky is blue."])
    query = embeddings.embed_query("Is the sky blue?")
    assert [r[2] for r in sent(fake_server)] == ["SEMANTIC_SIMILARITY", "FACT_VERIFICATION"]
    assert {c.request.requests[0].output_dimensionality for c in fake_server.calls[:1]} == {256}
    assert fake_server.calls[1].request.output_dimensionality == 256
    raw = expected_content_embedding(GEMINI, "Is the sky blue?", "FACT_VERIFICATION", dimension=256)
    norm = math.sqrt(sum(v * v for v in raw))
    assert query == pytest.approx([v / norm for v in raw], abs=1e-6)
    assert len(document) == 256
    assert math.sqrt(sum(v * v for v in document)) == pytest.approx(1.0, abs=1e-6)


def test_titles_go_with_their_documents(fake_server: FakeServer, fake_client: Client) -> None:
    from textservice.adapters.langchain import TextServiceEmbeddings

    embeddings = TextServiceEmbeddings(GEMINI, client=fake_client)
    vectors = embeddings.embed_documents(["body one", "body two"], titles=["One", None])
    assert vectors == [
        expected_content_embedding(GEMINI, "body one", "RETRIEVAL_DOCUMENT", title="One"),
        expected_content_embedding(GEMINI, "body two", "RETRIEVAL_DOCUMENT"),
    ]
    assert [r[3] for r in sent(fake_server)] == ["One", None]


@pytest.mark.parametrize(
    ("make", "error", "fragment"),
    [
        (lambda e: e.embed_documents("one text"), TypeError, "not a single str"),
        (lambda e: e.embed_documents(["a", 1]), TypeError, "texts[1] must be a str"),
        (lambda e: e.embed_documents(["a"], titles=["x", "y"]), ValueError, "2 titles for 1"),
        (lambda e: e.embed_documents(["a"], titles="x"), TypeError, "titles must be"),
        (lambda e: e.embed_query(["a"]), TypeError, "a query must be a str"),
        (lambda e: e.embed_query("\ud800"), ValueError, "lone surrogate"),
    ],
)
def test_bad_input_is_refused_before_any_call(
    fake_server: FakeServer, fake_client: Client, make: Any, error: type[Exception], fragment: str
) -> None:
    from textservice.adapters.langchain import TextServiceEmbeddings

    with pytest.raises(error) as info:
        make(TextServiceEmbeddings(client=fake_client))
    assert fragment in str(info.value)
    assert fake_server.calls == []


def test_a_title_needs_the_document_task_type(fake_server: FakeServer, fake_client: Client) -> None:
    from textservice.adapters.langchain import TextServiceEmbeddings

    embeddings = TextServiceEmbeddings(client=fake_client, document_task_type="clustering")
    with pytest.raises(ValueError, match="RETRIEVAL_DOCUMENT"):
        embeddings.embed_documents(["a"], titles=["T"])
    assert fake_server.calls == []


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"model": "not a model"}, ValueError, "model name must start"),
        ({"output_dimensionality": 0}, ValueError, "output_dimensionality must be between 1"),
        ({"normalize": "yes"}, TypeError, "normalize must be a bool"),
        ({"document_task_type": "bogus"}, ValueError, "document_task_type: 'bogus'"),
        ({"query_task_type": 3.5}, TypeError, "query_task_type must be"),
        ({"request_options": {"timout": 1}}, TypeError, "unknown keys 'timout'"),
        ({"client": "a client"}, TypeError, "client must be a textservice.Client"),
        ({"client_options": {"max_concurrency": 0}}, ValueError, "max_concurrency"),
        ({"client_options": {}, "client": "a client"}, TypeError, "not both"),
        (
            {"outptu_dimensionality": 8},
            TypeError,
            "TextServiceEmbeddings() got an unexpected keyword argument 'outptu_dimensionality'",
        ),
    ],
)
def test_bad_options_are_refused_when_made(
    kwargs: dict[str, Any], error: type[Exception], fragment: str
) -> None:
    from textservice.adapters.langchain import TextServiceEmbeddings

    with pytest.raises(error) as info:
        TextServiceEmbeddings(**kwargs)
    assert fragment in str(info.value)


def test_errors_are_textservices_typed_errors(fake_server: FakeServer, fake_client: Client) -> None:
    from textservice.adapters.langchain import TextServiceEmbeddings

    embeddings = TextServiceEmbeddings(client=fake_client)
    fake_server.faults.fail_next(1, "PERMISSION_DENIED", message="no access")
    with pytest.raises(textservice.PermissionDenied, match="no access"):
        embeddings.embed_documents(["a"])
    fake_server.faults.fail_next(1, "INVALID_ARGUMENT", message="bad query")
    with pytest.raises(textservice.InvalidArgument, match="bad query"):
        asyncio.run(embeddings.aembed_query("q"))


def test_unavailable_is_retried_by_the_client(fake_server: FakeServer, fake_client: Client) -> None:
    from textservice.adapters.langchain import TextServiceEmbeddings

    fake_server.faults.fail_next(2, "UNAVAILABLE")
    quick = {"retry": textservice.Retry(initial_backoff=0.01)}
    embeddings = TextServiceEmbeddings(GEMINI, client=fake_client, request_options=quick)
    vector = embeddings.embed_query("q")
    assert vector == expected_content_embedding(GEMINI, "q", "RETRIEVAL_QUERY")
    assert fake_server.count() == 3


def test_async_methods_run_on_the_callers_loop(fake_server: FakeServer) -> None:
    """Not LangChain's default async methods (the sync ones in a thread): the client's sync
    bridge, its loop thread, is never started."""
    from textservice.adapters.langchain import TextServiceEmbeddings

    async def main() -> tuple[list[list[float]], list[float]]:
        async with fake_server.in_memory() as channel:
            client = Client(channel_factory=lambda: channel)
            async with client:
                embeddings = TextServiceEmbeddings(GEMINI, client=client)
                documents = await embeddings.aembed_documents(["x", "y"], titles=["X", None])
                query = await embeddings.aembed_query("z")
                assert call_path(client).bridge.thread is None
                return documents, query

    documents, query = asyncio.run(main())
    assert documents == [
        expected_content_embedding(GEMINI, "x", "RETRIEVAL_DOCUMENT", title="X"),
        expected_content_embedding(GEMINI, "y", "RETRIEVAL_DOCUMENT"),
    ]
    assert query == expected_content_embedding(GEMINI, "z", "RETRIEVAL_QUERY")
    assert [r[0] for r in sent(fake_server)] == [
        "BatchEmbedContents",
        "BatchEmbedContents",
        "EmbedContent",
    ]


def test_client_options_make_a_client_of_its_own(fake_server: FakeServer) -> None:
    from textservice.adapters.langchain import TextServiceEmbeddings

    embeddings = TextServiceEmbeddings(client_options={"channel_factory": fake_server.channel})
    embeddings.embed_query("q")
    own = embeddings._embedder.client
    assert own is not None and not own.closed
    embeddings.close()
    assert own.closed
    given = Client(channel_factory=fake_server.channel)
    TextServiceEmbeddings(client=given).close()
    assert not given.closed  # a client given is the caller's to close
    given.close()


def test_a_vector_store_searches_with_queries_and_stores_documents(
    fake_server: FakeServer, fake_client: Client
) -> None:
    from langchain_core.vectorstores import InMemoryVectorStore

    from textservice.adapters.langchain import TextServiceEmbeddings

    embeddings = TextServiceEmbeddings(GEMINI, client=fake_client)
    store = InMemoryVectorStore.from_texts(["alpha", "beta", "gamma"], embeddings)
    found = store.similarity_search("beta", k=3)
    assert sorted(d.page_content for d in found) == ["alpha", "beta", "gamma"]
    tasks = [(r[1], r[2]) for r in sent(fake_server)]
    assert tasks == [
        ("alpha", "RETRIEVAL_DOCUMENT"),
        ("beta", "RETRIEVAL_DOCUMENT"),
        ("gamma", "RETRIEVAL_DOCUMENT"),
        ("beta", "RETRIEVAL_QUERY"),
    ]


def test_without_langchain_core_the_import_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    importlib.import_module("textservice.adapters.langchain")  # imported, then removed below
    monkeypatch.setitem(sys.modules, "langchain_core.embeddings", None)  # as if not installed
    monkeypatch.delitem(sys.modules, "textservice.adapters.langchain")
    with pytest.raises(ImportError) as info:
        importlib.import_module("textservice.adapters.langchain")
    assert "textservice's 'langchain' extra: pip install langchain-core" in str(info.value)
    assert "pip install '.[langchain]' in a checkout" in str(info.value)


def test_every_shared_option_is_documented() -> None:
    from textservice.adapters.langchain import TextServiceEmbeddings

    for key in RetrievalOptions.__optional_keys__:
        assert f"\n        {key}: " in (TextServiceEmbeddings.__doc__ or ""), key
