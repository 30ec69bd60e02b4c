"""Google's own SDK, google-genai (REST only), against the fake's REST face over TCP.

google-genai is pointed at the fake with ``HttpOptions(base_url="http://127.0.0.1:PORT",
api_version="v1beta")``; it sends what it sends to Google (its own paths, JSON and headers),
so these tests hold the fake's REST face to what the real API's users run, as
``test_fake_google_client.py`` does for the gRPC face with Google's GAPIC client. google-genai
is imported by the tests, not at collection (``tests/project/test_collection_imports.py``).
"""

from __future__ import annotations

import json
import time
from array import array
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest
from grpclib.const import Status

from textservice.testing import (
    FakeServer,
    ServerAddress,
    expected_content_embedding,
    expected_content_token_count,
    quota_failure,
    retry_info,
)
from textservice.testing.vectors import expected_parts_embedding

if TYPE_CHECKING:
    from google.genai import types

pytestmark = pytest.mark.network

KEY = "genai-test-key"
EMBEDDING_001 = "models/gemini-embedding-001"
EMBEDDING_2 = "models/gemini-embedding-2"


@pytest.fixture(scope="module", autouse=True)
def genai() -> ModuleType:
    """google-genai, imported by the first test that runs (not when the suite is collected)."""
    module: ModuleType = pytest.importorskip("google.genai")
    return module


@pytest.fixture(scope="module")
def fake() -> FakeServer:
    return FakeServer(
        api_key=KEY,
        known_models=[
            "models/gemini-embedding-001",
            "models/embedding-gecko-001",
            "models/text-bison-001",
            EMBEDDING_2,
        ],
    )


@pytest.fixture(scope="module")
def address(fake: FakeServer) -> Iterator[ServerAddress]:
    with fake.serve_rest() as served:
        yield served


@pytest.fixture
def client(genai: ModuleType, fake: FakeServer, address: ServerAddress) -> Any:
    fake.reset()
    return genai.Client(api_key=KEY, http_options=_options(address))


def _options(address: ServerAddress) -> types.HttpOptions:
    from google.genai import types

    return types.HttpOptions(base_url=f"http://{address.target}", api_version="v1beta")


TEXTS = ["What is the meaning of life?", "How do I bake a cake?"]


def float32(result: Any) -> list[list[float]]:
    """google-genai's vectors as float32: it keeps the decimals the API writes (the shortest
    that read back as each float32) as doubles, where the fake's expected values are the
    float32 values themselves."""
    return [array("f", e.values).tolist() for e in result.embeddings]


def test_embed_content_gemini_embedding_001(client: Any, fake: FakeServer) -> None:
    result = client.models.embed_content(model="gemini-embedding-001", contents=TEXTS)
    assert float32(result) == [expected_content_embedding(EMBEDDING_001, text) for text in TEXTS]
    (call,) = fake.calls
    assert (call.method, call.status) == ("BatchEmbedContents", Status.OK)
    assert len(call.request.requests) == 2


def test_embed_content_gemini_embedding_2(client: Any, fake: FakeServer) -> None:
    # For this model google-genai 3.3 sends a list of strings as ONE content of two parts
    # (python-genai#2523), so the API (and the fake) answer one aggregated vector.
    result = client.models.embed_content(model="gemini-embedding-2", contents=TEXTS)
    dimension = fake.dimension_of(EMBEDDING_2)
    assert float32(result) == [expected_parts_embedding(EMBEDDING_2, TEXTS, dimension=dimension)]
    (call,) = fake.calls
    assert (call.method, call.status) == ("BatchEmbedContents", Status.OK)
    assert [len(r.content.parts) for r in call.request.requests] == [2]


def test_embed_content_with_a_task_type_and_a_dimensionality(client: Any) -> None:
    from google.genai import types

    config = types.EmbedContentConfig(task_type="RETRIEVAL_QUERY", output_dimensionality=16)
    result = client.models.embed_content(model="gemini-embedding-001", contents="hi", config=config)
    assert float32(result) == [
        expected_content_embedding(EMBEDDING_001, "hi", "RETRIEVAL_QUERY", dimension=16)
    ]


def test_count_tokens(client: Any) -> None:
    result = client.models.count_tokens(model="gemini-embedding-001", contents="how many tokens?")
    assert result.total_tokens == expected_content_token_count("how many tokens?")


def test_models_list_and_get(client: Any, fake: FakeServer) -> None:
    names = [model.name for model in client.models.list()]
    assert names == [m.name for m in fake.models.listed()]
    model = client.models.get(model="gemini-embedding-001")
    assert model.name == EMBEDDING_001
    assert model.input_token_limit == 2048


def test_101_items_are_a_400(client: Any, fake: FakeServer) -> None:
    from google.genai import errors

    # google-genai sends a whole list in one batchEmbedContents call (no split at 100)
    with pytest.raises(errors.ClientError) as info:
        client.models.embed_content(model="gemini-embedding-001", contents=["x"] * 101)
    assert info.value.code == 400
    assert info.value.status == "INVALID_ARGUMENT"
    assert fake.count(status=Status.INVALID_ARGUMENT) == 1


def test_a_429_with_quota_failure_and_retry_info(client: Any, fake: FakeServer) -> None:
    from google.genai import errors

    quota = "EmbedContentRequestsPerMinutePerUserPerProjectPerModel-FreeTier"
    fake.faults.fail_next(
        1,
        "RESOURCE_EXHAUSTED",
        details=[quota_failure(quota_id=quota, quota_value=100), retry_info(38)],
    )
    with pytest.raises(errors.ClientError) as info:
        client.models.embed_content(model="gemini-embedding-001", contents="hi")
    assert info.value.code == 429
    assert info.value.status == "RESOURCE_EXHAUSTED"
    details = {d["@type"].rsplit(".", 1)[1]: d for d in info.value.details["error"]["details"]}
    assert details["QuotaFailure"]["violations"][0]["quotaId"] == quota
    assert details["RetryInfo"]["retryDelay"] == "38s"
    assert fake.count("BatchEmbedContents") == 1  # google-genai does not retry by default


def test_a_bad_key(genai: ModuleType, fake: FakeServer, address: ServerAddress) -> None:
    from google.genai import errors

    fake.reset()
    bad = genai.Client(api_key="not-the-key", http_options=_options(address))
    with pytest.raises(errors.ClientError) as info:
        bad.models.count_tokens(model="gemini-embedding-001", contents="x")
    assert info.value.code == 401
    assert info.value.status == "UNAUTHENTICATED"
    assert "not-the-key" not in str(fake.calls)  # the fake's log redacts the key


# -- Batch mode and the Files API: google-genai 3.3's batches and files modules -------------------


def _finished(client: Any, name: str) -> Any:
    """Poll ``batches.get`` as google-genai's users do, until the job has ended."""
    deadline = time.monotonic() + 30
    while True:
        job = client.batches.get(name=name)
        if job.done:
            return job
        assert time.monotonic() < deadline, job.state
        time.sleep(0.05)


@pytest.mark.filterwarnings("ignore::google.genai._common.ExperimentalWarning")
def test_batch_mode_inline(client: Any, fake: FakeServer) -> None:
    from google.genai import types

    fake.batch_mode.seconds = 0.2
    texts = [f"inline text {i}" for i in range(5)]
    config = types.EmbedContentConfig(task_type="RETRIEVAL_QUERY", output_dimensionality=16)
    created = client.batches.create_embeddings(
        model="gemini-embedding-001",
        src={"inlined_requests": {"contents": texts, "config": config}},
        config={"display_name": "genai inline"},
    )
    assert created.name.startswith("batches/") and created.display_name == "genai inline"
    assert created.state in ("JOB_STATE_PENDING", "JOB_STATE_RUNNING")
    job = _finished(client, created.name)
    assert job.state == "JOB_STATE_SUCCEEDED"
    answers = job.dest.inlined_embed_content_responses
    vectors = [array("f", a.response.embedding.values).tolist() for a in answers]
    assert vectors == [
        expected_content_embedding(EMBEDDING_001, t, "RETRIEVAL_QUERY", dimension=16) for t in texts
    ]
    assert fake.count("AsyncBatchEmbedContent") == 1 and fake.count("UploadFile") == 0


@pytest.mark.filterwarnings("ignore::google.genai._common.ExperimentalWarning")
def test_batch_mode_from_an_uploaded_file(client: Any, fake: FakeServer, tmp_path: Path) -> None:
    fake.batch_mode.seconds = 0.2
    texts = {f"k{i}": f"file text {i}" for i in range(7)}
    source = tmp_path / "requests.jsonl"
    source.write_text(
        "".join(
            json.dumps({"key": key, "request": {"content": {"parts": [{"text": text}]}}}) + "\n"
            for key, text in texts.items()
        )
    )
    uploaded = client.files.upload(
        file=source, config={"mime_type": "application/jsonl", "display_name": "requests"}
    )
    assert uploaded.name.startswith("files/") and uploaded.size_bytes == source.stat().st_size
    assert fake.batch_mode.files[-1].data == source.read_bytes()
    created = client.batches.create_embeddings(  # displayName is REQUIRED by the reference
        model="gemini-embedding-001",
        src={"file_name": uploaded.name},
        config={"display_name": "genai file"},
    )
    job = _finished(client, created.name)
    assert job.state == "JOB_STATE_SUCCEEDED" and job.dest.file_name.startswith("files/")
    results = client.files.download(file=job.dest.file_name)
    lines = [json.loads(line) for line in results.decode().splitlines()]
    got = {
        line["key"]: array("f", line["response"]["embedding"]["values"]).tolist() for line in lines
    }
    assert got == {key: expected_content_embedding(EMBEDDING_001, t) for key, t in texts.items()}


@pytest.mark.filterwarnings("ignore::google.genai._common.ExperimentalWarning")
def test_batch_mode_list_cancel_and_delete(client: Any, fake: FakeServer) -> None:
    from google.genai import errors

    fake.batch_mode.seconds = 30.0
    created = client.batches.create_embeddings(
        model="gemini-embedding-001",
        src={"inlined_requests": {"contents": ["to be cancelled"]}},
        config={"display_name": "genai cancel"},
    )
    assert created.name in [job.name for job in client.batches.list()]
    client.batches.cancel(name=created.name)
    assert client.batches.get(name=created.name).state == "JOB_STATE_CANCELLED"
    client.batches.delete(name=created.name)
    with pytest.raises(errors.ClientError) as info:
        client.batches.get(name=created.name)
    assert info.value.code == 404
