"""``textservice.adapters.llama_index.TextServiceEmbedding`` against the in-memory fake.

The fake's request log shows the task type and title each text went with; its vectors are
``expected_content_embedding``'s, so every result is checked value for value.
llama-index-core is in the dev extra: without it these tests fail, never skip. It and the
adapter are imported in the tests, not at collection (``tests/project/test_collection_imports.py``).
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from typing import TYPE_CHECKING, Any

import pytest
from support.fake_helpers import sent_contents

import textservice
from textservice._routes import DEFAULT_EMBEDDING_MODEL
from textservice.adapters._retrieval import RetrievalOptions
from textservice.client import Client, call_path
from textservice.testing import FakeServer, expected_content_embedding
from textservice.testing.vectors import expected_parts_embedding

if TYPE_CHECKING:
    from llama_index.core.schema import TextNode

GEMINI = "models/gemini-embedding-001"
TWO = "models/gemini-embedding-2"
DOC, QUERY = "RETRIEVAL_DOCUMENT", "RETRIEVAL_QUERY"


def sent(fake: FakeServer) -> list[tuple[str, str, str | None, str | None]]:
    """``(method, text, task type, title)`` of every content request the fake received."""
    return [row[:4] for row in sent_contents(fake)]


def test_texts_and_queries_get_their_task_types(
    fake_server: FakeServer, fake_client: Client
) -> None:
    from llama_index.core.embeddings import BaseEmbedding

    from textservice.adapters.llama_index import TextServiceEmbedding

    embedding = TextServiceEmbedding(GEMINI, client=fake_client)
    assert isinstance(embedding, BaseEmbedding)
    assert embedding.model_name == GEMINI
    assert embedding.get_text_embedding("a cat") == expected_content_embedding(GEMINI, "a cat", DOC)
    assert embedding.get_query_embedding("kitten") == expected_content_embedding(
        GEMINI, "kitten", QUERY
    )
    assert sent(fake_server) == [
        ("BatchEmbedContents", "a cat", DOC, None),
        ("EmbedContent", "kitten", QUERY, None),
    ]


def test_a_batch_keeps_its_order_across_llama_index_batches(
    fake_server: FakeServer, fake_client: Client
) -> None:
    from textservice.adapters.llama_index import TextServiceEmbedding

    texts = [f"text {i}" for i in range(250)]
    embedding = TextServiceEmbedding(GEMINI, client=fake_client, embed_batch_size=120)
    vectors = embedding.get_text_embedding_batch(texts)
    assert vectors == [expected_content_embedding(GEMINI, t, DOC) for t in texts]
    # LlamaIndex's batches of 120 (120, 120, 10), each in calls of at most 100
    assert sorted(len(c.request.requests) for c in fake_server.calls) == [10, 20, 20, 100, 100]


def test_the_default_batch_is_a_thousand_texts(
    fake_server: FakeServer, fake_client: Client
) -> None:
    from textservice.adapters.llama_index import EMBED_BATCH_SIZE, TextServiceEmbedding

    embedding = TextServiceEmbedding(client=fake_client)
    assert embedding.embed_batch_size == EMBED_BATCH_SIZE == 1000
    assert embedding.model_name == DEFAULT_EMBEDDING_MODEL
    assert TextServiceEmbedding("gemini-embedding-001").model_name == GEMINI


def test_no_texts_no_call(fake_server: FakeServer, fake_client: Client) -> None:
    from textservice.adapters.llama_index import TextServiceEmbedding

    embedding = TextServiceEmbedding(client=fake_client)
    assert embedding.get_text_embedding_batch([]) == []
    assert asyncio.run(embedding.aget_text_embedding_batch([])) == []
    assert embedding([]) == []
    assert fake_server.calls == []


def test_async_methods_run_on_the_callers_loop(fake_server: FakeServer) -> None:
    """Not through the client's sync bridge (its loop thread is never started)."""
    from textservice.adapters.llama_index import TextServiceEmbedding

    texts = ["x", "y", "z"]

    async def main() -> tuple[list[list[float]], list[float], list[float]]:
        async with fake_server.in_memory() as channel:
            client = Client(channel_factory=lambda: channel)
            async with client:
                embedding = TextServiceEmbedding(GEMINI, client=client, embed_batch_size=2)
                batch = await embedding.aget_text_embedding_batch(texts)
                one = await embedding.aget_text_embedding("w")
                query = await embedding.aget_query_embedding("q")
                assert call_path(client).bridge.thread is None
                return batch, one, query

    batch, one, query = asyncio.run(main())
    assert batch == [expected_content_embedding(GEMINI, t, DOC) for t in texts]
    assert one == expected_content_embedding(GEMINI, "w", DOC)
    assert query == expected_content_embedding(GEMINI, "q", QUERY)
    assert sorted(r[1:3] for r in sent(fake_server)) == sorted(
        [(t, DOC) for t in [*texts, "w"]] + [("q", QUERY)]
    )


def test_options_reach_every_request(fake_server: FakeServer, fake_client: Client) -> None:
    from textservice.adapters.llama_index import TextServiceEmbedding

    embedding = TextServiceEmbedding(
        GEMINI,
        client=fake_client,
        output_dimensionality=128,
        normalize=True,
        document_task_type="classification",
        query_task_type="qa",
    )
    document = embedding.get_text_embedding("spam?")
    query = embedding.get_query_embedding("is it spam?")
    assert [r[2] for r in sent(fake_server)] == ["CLASSIFICATION", "QUESTION_ANSWERING"]
    assert fake_server.calls[0].request.requests[0].output_dimensionality == 128
    assert fake_server.calls[1].request.output_dimensionality == 128
    assert len(document) == len(query) == 128
    assert sum(v * v for v in query) == pytest.approx(1.0, abs=1e-6)


def test_the_client_is_not_a_field(fake_client: Client) -> None:
    from textservice.adapters.llama_index import TextServiceEmbedding

    embedding = TextServiceEmbedding(
        GEMINI, client=fake_client, output_dimensionality=256, title_key="title"
    )
    fields = embedding.to_dict()
    assert fields["model_name"] == GEMINI and fields["output_dimensionality"] == 256
    assert (fields["document_task_type"], fields["query_task_type"]) == (DOC, QUERY)
    assert fields["title_key"] == "title" and fields["class_name"] == "TextServiceEmbedding"
    assert "client" not in str(fields)


# -- titles from node metadata -----------------------------------------------------------------


def nodes() -> list[TextNode]:
    from llama_index.core.schema import TextNode

    return [
        TextNode(text="first body", metadata={"title": "First"}),
        TextNode(text="second body"),
        TextNode(text="third body", metadata={"title": None}),
    ]


def test_nodes_embedded_as_a_transformation_send_their_titles(
    fake_server: FakeServer, fake_client: Client
) -> None:
    from llama_index.core.schema import MetadataMode

    from textservice.adapters.llama_index import TextServiceEmbedding

    embedding = TextServiceEmbedding(GEMINI, client=fake_client, title_key="title")
    given = nodes()
    texts = [n.get_content(metadata_mode=MetadataMode.EMBED) for n in given]
    assert texts[0] == "title: First\n\nfirst body"  # LlamaIndex writes metadata into the text
    done = embedding(given)
    assert [n.embedding for n in done] == [
        expected_content_embedding(GEMINI, texts[0], DOC, title="First"),
        expected_content_embedding(GEMINI, texts[1], DOC),
        expected_content_embedding(GEMINI, texts[2], DOC),
    ]
    assert [(r[1], r[3]) for r in sent(fake_server)] == list(
        zip(texts, ["First", None, None], strict=True)
    )


def test_on_gemini_embedding_2_titles_and_tasks_are_instructions_in_the_text(
    fake_server: FakeServer, fake_client: Client
) -> None:
    from textservice.adapters.llama_index import TextServiceEmbedding

    assert DEFAULT_EMBEDDING_MODEL == TWO
    embedding = TextServiceEmbedding(client=fake_client, title_key="title")
    done = asyncio.run(embedding.acall(nodes()[:2]))
    query = embedding.get_query_embedding("which body?")
    sent_texts = [
        "title: First | text: title: First\n\nfirst body",
        "title: none | text: second body",
        "task: search result | query: which body?",
    ]
    assert sent(fake_server) == [
        ("BatchEmbedContents", sent_texts[0], None, None),  # no task type or title fields
        ("BatchEmbedContents", sent_texts[1], None, None),
        ("EmbedContent", sent_texts[2], None, None),
    ]
    vectors = [n.embedding for n in done] + [query]
    assert vectors == [expected_parts_embedding(TWO, [t]) for t in sent_texts]


def test_an_ingestion_pipeline_sends_titles_sync_and_async(
    fake_server: FakeServer, fake_client: Client
) -> None:
    from llama_index.core.ingestion import IngestionPipeline

    from textservice.adapters.llama_index import TextServiceEmbedding

    embedding = TextServiceEmbedding(GEMINI, client=fake_client, title_key="title")
    pipeline = IngestionPipeline(transformations=[embedding])
    pipeline.run(nodes=nodes()[:1])
    asyncio.run(IngestionPipeline(transformations=[embedding]).arun(nodes=nodes()[1:2]))
    assert [(r[2], r[3]) for r in sent(fake_server)] == [(DOC, "First"), (DOC, None)]


def test_without_title_key_nodes_go_as_llama_index_sends_them(
    fake_server: FakeServer, fake_client: Client
) -> None:
    from textservice.adapters.llama_index import TextServiceEmbedding

    embedding = TextServiceEmbedding(GEMINI, client=fake_client)
    embedding(nodes())
    asyncio.run(embedding.acall(nodes()))
    assert {r[3] for r in sent(fake_server)} == {None}
    assert len(sent(fake_server)) == 6


def test_a_title_that_is_not_a_str_names_the_node(
    fake_server: FakeServer, fake_client: Client
) -> None:
    from llama_index.core.schema import TextNode

    from textservice.adapters.llama_index import TextServiceEmbedding

    embedding = TextServiceEmbedding(client=fake_client, title_key="title")
    bad = [TextNode(text="a"), TextNode(text="b", metadata={"title": 3})]
    with pytest.raises(TypeError, match=r"nodes\[1\].metadata\['title'\] must be a str, got int"):
        embedding(bad)
    assert fake_server.calls == []


def test_title_key_needs_the_document_task_type() -> None:
    from textservice.adapters.llama_index import TextServiceEmbedding

    with pytest.raises(ValueError, match="title_key='title' needs document_task_type"):
        TextServiceEmbedding(title_key="title", document_task_type="clustering")
    with pytest.raises(TypeError, match="title_key must be a str"):
        TextServiceEmbedding(title_key=1)  # type: ignore[arg-type]


# -- an index, errors, options ------------------------------------------------------------------


def test_a_vector_index_stores_documents_and_retrieves_with_queries(
    fake_server: FakeServer, fake_client: Client
) -> None:
    from llama_index.core import VectorStoreIndex
    from llama_index.core.schema import TextNode

    from textservice.adapters.llama_index import TextServiceEmbedding

    embedding = TextServiceEmbedding(GEMINI, client=fake_client)
    index = VectorStoreIndex(
        nodes=[TextNode(text=t) for t in ["alpha", "beta", "gamma"]], embed_model=embedding
    )
    found = index.as_retriever(similarity_top_k=3).retrieve("beta")
    assert sorted(n.node.get_content() for n in found) == ["alpha", "beta", "gamma"]
    assert [r[1:3] for r in sent(fake_server)] == [
        ("alpha", DOC),
        ("beta", DOC),
        ("gamma", DOC),
        ("beta", QUERY),
    ]


def test_errors_are_textservices_typed_errors(fake_server: FakeServer, fake_client: Client) -> None:
    from textservice.adapters.llama_index import TextServiceEmbedding

    embedding = TextServiceEmbedding(client=fake_client)
    fake_server.faults.fail_next(1, "PERMISSION_DENIED", message="no access")
    with pytest.raises(textservice.PermissionDenied, match="no access"):
        embedding.get_text_embedding_batch(["a"])
    fake_server.faults.fail_next(1, "INVALID_ARGUMENT", message="bad query")
    with pytest.raises(textservice.InvalidArgument, match="bad query"):
        asyncio.run(embedding.aget_query_embedding("q"))


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"model_name": "a/b/c"}, ValueError, "model name must start"),
        ({"output_dimensionality": -1}, ValueError, "output_dimensionality must be between"),
        ({"query_task_type": "nope"}, ValueError, "query_task_type: 'nope'"),
        ({"client_options": {"timeout": -1}}, ValueError, "timeout must be a positive"),
        ({"embed_batch_size": 5000}, ValueError, "embed_batch_size"),
    ],
)
def test_bad_options_are_refused_when_made(
    kwargs: dict[str, Any], error: type[Exception], fragment: str
) -> None:
    from textservice.adapters.llama_index import TextServiceEmbedding

    with pytest.raises(error) as info:
        TextServiceEmbedding(**kwargs)
    assert fragment in str(info.value)


def test_client_options_make_a_client_closed_with_it(fake_server: FakeServer) -> None:
    from textservice.adapters.llama_index import TextServiceEmbedding

    embedding = TextServiceEmbedding(client_options={"channel_factory": fake_server.channel})
    embedding.get_query_embedding("q")
    own = embedding._embedder.client
    assert own is not None and not own.closed
    asyncio.run(embedding.aclose())
    assert own.closed


def test_a_bad_field_closes_the_client_made_for_it(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from textservice.adapters.llama_index import TextServiceEmbedding

    made: list[Client] = []
    original = Client.__init__

    def recording(self: Client, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(Client, "__init__", recording)
    with pytest.raises(ValueError, match="embed_batch_size"):
        TextServiceEmbedding(
            client_options={"channel_factory": fake_server.channel}, embed_batch_size=0
        )
    assert len(made) == 1 and made[0].closed


def test_without_llama_index_core_the_import_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    importlib.import_module("textservice.adapters.llama_index")  # imported, then removed below
    monkeypatch.setitem(sys.modules, "llama_index.core.embeddings", None)  # as if not installed
    monkeypatch.delitem(sys.modules, "textservice.adapters.llama_index")
    with pytest.raises(ImportError) as info:
        importlib.import_module("textservice.adapters.llama_index")
    message = str(info.value)
    assert "textservice's 'llama-index' extra: pip install llama-index-core" in message
    assert "pip install '.[llama-index]' in a checkout" in message


def test_shared_options_go_to_the_embedder_and_fields_to_base_embedding() -> None:
    from textservice.adapters.llama_index import TextServiceEmbedding

    embedding = TextServiceEmbedding(normalize=True, output_dimensionality=8, num_workers=2)
    assert embedding.num_workers == 2  # a BaseEmbedding field
    assert embedding._embedder.normalize and embedding._embedder.output_dimensionality == 8
    assert (embedding.normalize, embedding.output_dimensionality) == (True, 8)
    for key in RetrievalOptions.__optional_keys__:
        assert f"\n        {key}: " in (TextServiceEmbedding.__doc__ or ""), key
