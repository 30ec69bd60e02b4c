"""``textservice.ray.Embedder``: batches of every kind, and Ray Data on a local cluster.

The Ray tests join the run's one ``ray.init(num_cpus=2)`` cluster (``support.ray_cluster``)
and run ``map_batches(Embedder, ...)`` with two workers against the fake served on a TCP port
of this process: vectors, order and ids are checked row by row against the fake's, for today's
default model (GenerativeService BatchEmbedContents, 3,072 dimensions) and for the legacy
``embedding-gecko`` through TextService. Ray, pandas, pyarrow and the cloudpickles are imported
in the tests that use them, not at collection (``tests/project/test_collection_imports.py``).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import re
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support import ray_cluster
from support.paths import REPO

import textservice
import textservice.ray
from textservice._routes import DEFAULT_EMBEDDING_MODEL, uses_text_service
from textservice.ray import (
    ACTOR_CPUS,
    Embedder,
    KeyEnvVar,
    KeyExposureWarning,
    KeyFile,
    actor_cpus,
    worker_client_options,
)
from textservice.testing import (
    FakeServer,
    ServerAddress,
    expected_content_embedding,
    expected_embedding,
    retry_info,
)
from textservice.testing.vectors import embedding_bytes, expected_parts_embedding

MODEL = "models/embedding-gecko-001"
DIM = 16
ROWS = 5000
FAST_RETRY = textservice.Retry(max_attempts=8, initial_backoff=0.01, max_backoff=0.05)


def text(i: int) -> str:
    return f"row {i}: a document about {i % 17} things"


def expected(texts: list[str]) -> np.ndarray:
    raw = b"".join(embedding_bytes(MODEL, t, DIM) for t in texts)
    return np.frombuffer(raw, "<f4").reshape(len(texts), DIM)


TODAY = "models/gemini-embedding-001"
TODAY_DIM = 3072  # the fake's catalogue, as the API's
TWO = "models/gemini-embedding-2"  # the default model: instructions, media


def title(i: int) -> str | None:
    """Row i's title: none for every third row (a null in the title column)."""
    return None if i % 3 == 0 else f"title {i % 5}"


def expected_today(
    texts: list[str],
    *,
    task_type: str | None = None,
    titles: list[str | None] | None = None,
    dimension: int | None = None,
    normalize: bool = False,
) -> np.ndarray:
    """The fake's vectors of today's model for these rows (float32, one row each)."""
    rows = np.array(
        [
            expected_content_embedding(
                TODAY, t, task_type, None if titles is None else titles[i], dimension
            )
            for i, t in enumerate(texts)
        ],
        np.float32,
    )
    if normalize:
        rows = (rows / np.linalg.norm(rows.astype(np.float64), axis=1, keepdims=True)).astype(
            np.float32
        )
    return rows


def batch_of(kind: str, columns: dict[str, list[Any]]) -> Any:
    """A batch of Ray's format ``kind`` holding ``columns`` (nulls as each format has them)."""
    pa = pytest.importorskip("pyarrow")
    pd = pytest.importorskip("pandas")
    if kind == "pyarrow":
        return pa.table(columns)
    if kind == "pandas":
        return pd.DataFrame(columns)
    return {name: np.array(values, dtype=object) for name, values in columns.items()}


def vectors_of(kind: str, out: Any, column: str = "embedding") -> np.ndarray:
    if kind == "pyarrow":
        return np.stack(out.column(column).to_numpy(zero_copy_only=False))
    if kind == "pandas":
        return np.stack(out[column].tolist())
    assert isinstance(out[column], np.ndarray) and out[column].dtype == np.float32
    return np.asarray(out[column])


# -- the embedder on its own (no Ray) ---------------------------------------------------


def test_each_worker_takes_its_share_of_the_limits() -> None:
    options = {
        "requests_per_minute": 600,  # the job's: each client takes quota_share of it
        "texts_per_minute": 10_000.0,
        "max_concurrency": 8,  # per client: each worker keeps its own calls in flight
        "endpoint": "127.0.0.1:1",
    }
    assert worker_client_options(options, 4) == {**options, "quota_share": 0.25}
    assert worker_client_options({**options, "quota_share": 0.5}, 4)["quota_share"] == 0.125
    assert worker_client_options(options, 1) == options
    with pytest.raises(ValueError, match="workers must be >= 1"):
        worker_client_options(options, 0)


@pytest.mark.fake_server(embedding_dimension=DIM)
def test_a_worker_client_applies_its_share_to_the_jobs_limits(
    fake_server: FakeServer,
) -> None:
    options = {"requests_per_minute": 600, "channel_factory": fake_server.channel}
    made = Embedder(MODEL, client_options=options, workers=4)
    try:
        made.embed(["one text"])
        (stats,) = made.client.quota_stats().keys.values()
        assert stats.limits["requests"] == 150  # a quarter of the job's 600 a minute
    finally:
        made.close()


@pytest.fixture
def embedder(fake_server: FakeServer) -> Iterator[Embedder]:
    made = Embedder(MODEL, client_options={"channel_factory": fake_server.channel})
    yield made
    made.close()


@pytest.mark.fake_server(embedding_dimension=DIM)
@pytest.mark.parametrize("kind", ["pyarrow", "pandas", "numpy"])
def test_every_batch_format_gets_float32_vectors_in_row_order(
    embedder: Embedder, kind: str
) -> None:
    pa = pytest.importorskip("pyarrow")
    pd = pytest.importorskip("pandas")
    texts = [text(i) for i in range(250)]
    ids = list(range(1000, 1250))
    batch: Any
    if kind == "pyarrow":
        batch = pa.table({"id": ids, "text": texts})
        out = embedder(batch)
        assert out.column_names == ["id", "text", "embedding"]
        assert str(out.schema.field("embedding").type) == f"fixed_size_list<item: float>[{DIM}]"
        vectors = out.column("embedding").combine_chunks().flatten().to_numpy()
        got_ids = out.column("id").to_pylist()
    elif kind == "pandas":
        out = embedder(pd.DataFrame({"id": ids, "text": texts}))
        vectors = np.stack(out["embedding"].tolist())
        got_ids = out["id"].tolist()
    else:
        out = embedder({"id": np.array(ids), "text": np.array(texts, dtype=object)})
        vectors = out["embedding"]
        assert vectors.dtype == np.float32 and vectors.shape == (250, DIM)
        got_ids = out["id"].tolist()
    assert got_ids == ids
    assert np.array_equal(np.asarray(vectors).reshape(250, DIM), expected(texts))


def test_an_embedder_pickles_without_its_client(fake_server: FakeServer) -> None:
    made = Embedder(MODEL, client_options={"endpoint": "127.0.0.1:9"})
    copy = pickle.loads(pickle.dumps(made))
    assert copy._client is None and copy.model == MODEL
    assert copy.client.endpoint == "127.0.0.1:9"  # made where it is used
    copy.close()


KEY = "AIzaSy-ray-test-key-0123456789abcdef"


def picklers() -> list[Callable[[Any], bytes]]:
    """The standard pickler, Dask's and Ray's (the two imported by the tests that use them)."""
    cloudpickle = pytest.importorskip("cloudpickle")  # Dask's pickler
    ray_cloudpickle = pytest.importorskip("ray.cloudpickle")  # the copy Ray ships and uses
    return [pickle.dumps, cloudpickle.dumps, ray_cloudpickle.dumps]


def fetch_key() -> str:
    """A key source as a secret manager's client would be: it fetches, it does not hold."""
    return os.environ["TEXTSERVICE_TEST_SECRET"]


@pytest.mark.network
@pytest.mark.slow  # >= 0.25 s
@pytest.mark.parametrize("source", ["file", "variable", "callable"])
def test_a_key_source_pickles_as_where_the_key_is_before_and_after_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    (tmp_path / "key").write_text(KEY + "\n", encoding="utf-8")
    monkeypatch.setenv("TEXTSERVICE_TEST_SECRET", KEY)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    api_key = {
        "file": KeyFile(tmp_path / "key"),
        "variable": KeyEnvVar("TEXTSERVICE_TEST_SECRET"),
        "callable": fetch_key,
    }[source]
    fake = FakeServer(api_key=KEY)  # refuses a call without the key
    with fake.serve() as address:
        options = {"api_key": api_key, "endpoint": address.target, "insecure": True}
        made = Embedder(client_options=options, output_dimensionality=128)
        copies = []
        for used in (False, True):
            if used:
                assert made.embed(["one"]).shape == (1, 128)  # the key read, the client made
            for dumps in picklers():
                data = dumps(made)
                assert KEY.encode() not in data
                copies.append(pickle.loads(data))
        for copy in copies:
            assert copy.embed(["two"]).shape == (1, 128)  # each copy reads the key itself
            copy.close()
        made.close()
    assert len(fake.calls) == 1 + len(copies)


def test_an_embedder_holding_the_key_itself_refuses_to_be_pickled(
    fake_server: FakeServer,
) -> None:
    made = Embedder(MODEL, client_options={"api_key": KEY, "channel_factory": fake_server.channel})
    assert KEY not in repr(made)
    for used in (False, True):
        if used:
            made.embed(["a text"])  # a literal key still serves this process
        for dumps in picklers():
            with pytest.raises(TypeError, match="holding the API key itself") as info:
                dumps(made)
            assert "KeyFile(path)" in str(info.value) and KEY not in str(info.value)
    made.close()


def test_the_kwargs_for_ray_refuse_the_key_itself() -> None:
    ray_cloudpickle = pytest.importorskip("ray.cloudpickle")
    with pytest.raises(ValueError, match="is the key itself") as info:
        Embedder.checked_kwargs(client_options={"api_key": KEY})
    assert KEY not in str(info.value) and "KeyEnvVar(name)" in str(info.value)
    kwargs = Embedder.checked_kwargs(client_options={"api_key": KeyEnvVar("MY_KEY")})
    assert KEY.encode() not in ray_cloudpickle.dumps(kwargs)
    with pytest.raises(TypeError, match=r"client_options\['api_key'\] must be"):
        Embedder(client_options={"api_key": 12345})


@pytest.mark.parametrize(
    ("workers", "cpus", "share"),
    [
        (4, 2, 0.25),  # docs/big-jobs.md's pool on 2 CPUs: 1 CPU left for reading and writing
        (2, 2, 0.25),
        (8, 2, 0.125),
        (6, 2, 0.1666),  # rounded down to Ray's precision
        (3, 64, 0.25),
        (4, 1, 0.0),  # one CPU: the actors reserve none (Ray Data's tasks need it whole)
        (1, 0.5, 0.0),
    ],
)
def test_each_actor_reserves_a_fraction_of_a_cpu_leaving_one_free(
    workers: int, cpus: float, share: float
) -> None:
    assert actor_cpus(workers, cpus) == share
    assert workers * share <= max(cpus - 1, 0)
    assert share <= ACTOR_CPUS


@pytest.mark.slow  # imports ray
def test_map_batches_kwargs_size_the_pool_once(monkeypatch: pytest.MonkeyPatch) -> None:
    ray_data = pytest.importorskip("ray.data")
    monkeypatch.setattr(textservice.ray, "_cluster_cpus", lambda: 2.0)
    kwargs = Embedder.map_batches_kwargs(workers=4, task_type="document")
    assert kwargs["fn_constructor_kwargs"] == Embedder.checked_kwargs(
        workers=4, task_type="document"
    )
    assert kwargs["compute"] == ray_data.ActorPoolStrategy(size=4)
    assert kwargs["num_cpus"] == 0.25
    pool = ray_data.ActorPoolStrategy(min_size=1, max_size=8)  # autoscaling: up to 8 clients
    kwargs = Embedder.map_batches_kwargs(compute=pool)
    assert kwargs["compute"] is pool and kwargs["fn_constructor_kwargs"]["workers"] == 8
    assert kwargs["num_cpus"] == 0.125
    assert Embedder.map_batches_kwargs(workers=1, num_cpus=1)["num_cpus"] == 1  # 1 CPU left
    with pytest.raises(ValueError, match="hold 2 of the cluster's 2 CPUs") as info:
        Embedder.map_batches_kwargs(workers=4, num_cpus=0.5)  # what hung on 2 CPUs
    assert "each actor then reserves 0.25" in str(info.value)
    with pytest.raises(TypeError, match="give the pool's size once"):
        Embedder.map_batches_kwargs(workers=4, compute=pool)
    with pytest.raises(TypeError, match="give the pool's size once"):
        Embedder.map_batches_kwargs()
    with pytest.raises(ValueError, match="without max_size"):
        Embedder.map_batches_kwargs(compute=ray_data.ActorPoolStrategy(min_size=2))
    with pytest.raises(TypeError, match="ActorPoolStrategy"):
        Embedder.map_batches_kwargs(compute="actors")
    with pytest.raises(ValueError, match="workers"):
        Embedder.map_batches_kwargs(workers=0)
    with pytest.raises(ValueError, match="num_cpus must be >= 0"):
        Embedder.map_batches_kwargs(workers=2, num_cpus=-1)
    with pytest.raises(ValueError, match="TextService generate_embeddings"):
        Embedder.map_batches_kwargs("models/embedding-gecko-001", workers=2, normalize=True)
    with pytest.raises(ValueError, match="is the key itself") as info:
        Embedder.map_batches_kwargs(workers=2, client_options={"api_key": KEY})
    assert KEY not in str(info.value)


def test_the_routing_rule() -> None:
    assert DEFAULT_EMBEDDING_MODEL == TWO
    assert uses_text_service("models/embedding-gecko-001")
    assert uses_text_service("models/embedding-gecko-002")
    for model in (TODAY, "models/text-embedding-004", "models/embedding-001", "tunedModels/x"):
        assert not uses_text_service(model), model


@pytest.fixture
def today(fake_server: FakeServer) -> Iterator[tuple[FakeServer, Any]]:
    """The fake as the API is today (its default catalogue) and a way to make embedders."""
    made: list[Embedder] = []

    def make(*args: Any, **kwargs: Any) -> Embedder:
        # gemini-embedding-001 unless given: these tests are of its task type and title fields
        if not args:
            kwargs.setdefault("model", TODAY)
        options = {"channel_factory": fake_server.channel}
        embedder = Embedder(*args, client_options=options, **kwargs)
        made.append(embedder)
        return embedder

    yield fake_server, make
    for embedder in made:
        embedder.close()


@pytest.mark.parametrize("kind", ["pyarrow", "pandas", "numpy"])
def test_by_default_todays_model_embeds_through_batch_embed_contents(
    today: tuple[FakeServer, Any], kind: str
) -> None:
    fake, make = today
    embedder = make()
    assert embedder.model == TODAY
    texts = [text(i) for i in range(250)]
    ids = list(range(250))
    out = embedder(batch_of(kind, {"id": ids, "text": texts}))
    vectors = vectors_of(kind, out)
    assert vectors.dtype == np.float32 and vectors.shape == (250, TODAY_DIM)
    assert np.array_equal(vectors, expected_today(texts))
    if kind == "pyarrow":
        assert out.column_names == ["id", "text", "embedding"]
        assert str(out.schema.field("embedding").type) == (
            f"fixed_size_list<item: float>[{TODAY_DIM}]"
        )
        assert out.column("id").to_pylist() == ids
    else:
        assert list(out["id"]) == ids
    # 100 items per BatchEmbedContents call, each request the plain text of its row
    assert [(c.method, len(c.request.requests)) for c in fake.calls] == [
        ("BatchEmbedContents", 100),
        ("BatchEmbedContents", 100),
        ("BatchEmbedContents", 50),
    ]
    sent = [r for c in fake.calls for r in c.request.requests]
    assert [r.content.parts[0].text for r in sent] == texts
    assert {(r.model, r.task_type, r.title, r.output_dimensionality) for r in sent} == {
        (TODAY, None, None, None)
    }


def test_a_gecko_model_still_embeds_through_text_service(today: tuple[FakeServer, Any]) -> None:
    fake, make = today
    gecko = "models/embedding-gecko-001"
    texts = [text(i) for i in range(150)]
    vectors = make(model=gecko).embed(texts)
    assert vectors.shape == (150, 768)  # the fake's catalogue: gecko's length
    assert np.array_equal(vectors, np.array([expected_embedding(gecko, t) for t in texts]))
    assert {(c.method, c.request.model) for c in fake.calls} == {("BatchEmbedText", gecko)}


CONTENT_OPTIONS: list[dict[str, Any]] = [
    {"task_type": "query"},
    {"task_type": 5},  # CLUSTERING, by its number
    {"output_dimensionality": 8},
    {"normalize": True},
    {"output_dimensionality": 256, "normalize": True, "task_type": "SEMANTIC_SIMILARITY"},
    {"task_type": "document", "title_column": "title"},
    {"task_type": "retrieval_document", "title_column": "title", "output_dimensionality": 64},
]


@pytest.mark.parametrize("kind", ["pyarrow", "pandas", "numpy"])
@pytest.mark.parametrize("options", CONTENT_OPTIONS, ids=lambda o: "+".join(o))
def test_content_options_reach_each_request_and_change_the_vectors(
    today: tuple[FakeServer, Any], kind: str, options: dict[str, Any]
) -> None:
    fake, make = today
    embedder = make(**options)
    texts = [text(i) for i in range(120)]
    titles = [title(i) for i in range(120)]
    out = embedder(batch_of(kind, {"text": texts, "title": titles}))
    vectors = vectors_of(kind, out)

    task = {"query": "RETRIEVAL_QUERY", 5: "CLUSTERING", "document": "RETRIEVAL_DOCUMENT"}.get(
        options.get("task_type"), options.get("task_type")
    )
    task = task.upper() if isinstance(task, str) else task
    titled = "title_column" in options
    dim = options.get("output_dimensionality")
    normalize = options.get("normalize", False)
    want = expected_today(
        texts,
        task_type=task,
        titles=titles if titled else None,
        dimension=dim,
        normalize=normalize,
    )
    assert vectors.shape == (120, dim or TODAY_DIM)
    if normalize:
        assert np.allclose(vectors, want, rtol=0, atol=1e-7)
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    else:
        assert np.array_equal(vectors, want)
    plain = expected_today(texts)[:, : dim or TODAY_DIM]
    if set(options) == {"output_dimensionality"}:
        assert np.array_equal(vectors, plain)  # the fake keeps the first d values
    else:
        assert not np.array_equal(vectors, plain)  # the options changed what came back

    sent = [r for c in fake.calls for r in c.request.requests]
    assert len(sent) == 120
    assert {c.method for c in fake.calls} == {"BatchEmbedContents"}
    assert {None if r.task_type is None else r.task_type.name for r in sent} == {task}
    assert {r.output_dimensionality for r in sent} == {dim}
    assert [r.title for r in sent] == (titles if titled else [None] * 120)


def test_titles_in_a_pandas_column_may_be_nan_or_na(today: tuple[FakeServer, Any]) -> None:
    pd = pytest.importorskip("pandas")
    fake, make = today
    embedder = make(task_type="document", title_column="title")
    frame = pd.DataFrame(
        {"text": ["a", "b", "c", "d"], "title": pd.Series(["T", None, np.nan, pd.NA], dtype=object)}
    )
    vectors = vectors_of("pandas", embedder(frame))
    titles: list[str | None] = ["T", None, None, None]
    want = expected_today(["a", "b", "c", "d"], task_type="RETRIEVAL_DOCUMENT", titles=titles)
    assert np.array_equal(vectors, want)
    assert [r.title for c in fake.calls for r in c.request.requests] == titles


@pytest.mark.parametrize(
    "options",
    [
        {"task_type": "query"},
        {"output_dimensionality": 8},
        {"normalize": True},
        {"title_column": "title"},
        {"task_type": "document", "title_column": "title", "normalize": True},
    ],
    ids=lambda o: "+".join(o),
)
def test_a_text_service_model_refuses_the_content_options(options: dict[str, Any]) -> None:
    gecko = "models/embedding-gecko-001"
    for make in (Embedder, Embedder.checked_kwargs):
        with pytest.raises(ValueError, match="TextService generate_embeddings") as info:
            make(gecko, client_options={"endpoint": "127.0.0.1:1"}, **options)
        for name in options:
            assert name in str(info.value)
        assert gecko in str(info.value)
    assert Embedder(gecko, normalize=False).model == gecko  # the defaults are fine


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"task_type": "documents"}, ValueError, "not a TaskType"),
        ({"task_type": 99}, ValueError, "not a TaskType"),
        ({"task_type": 1.5}, TypeError, "task_type must be"),
        ({"output_dimensionality": 0}, ValueError, "output_dimensionality"),
        ({"output_dimensionality": -8}, ValueError, "output_dimensionality"),
        ({"output_dimensionality": "8"}, TypeError, "output_dimensionality must be an int"),
        ({"output_dimensionality": True}, TypeError, "output_dimensionality must be an int"),
        ({"normalize": "yes"}, TypeError, "normalize must be a bool"),
        ({"title_column": "title"}, ValueError, "needs task_type='RETRIEVAL_DOCUMENT'"),
        ({"title_column": "t", "task_type": "query"}, ValueError, "got RETRIEVAL_QUERY"),
        ({"title_column": 3, "task_type": "document"}, TypeError, "title_column must be"),
        ({"model": "google/gemini-embedding-001"}, ValueError, "model"),
    ],
)
def test_bad_options_are_refused_when_the_embedder_is_made(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    # Made with no server at all: the checks need none, and make no client.
    for make in (Embedder, Embedder.checked_kwargs):
        with pytest.raises(error, match=message):
            make(client_options={"endpoint": "127.0.0.1:1"}, **options)


def test_a_bare_model_id_gets_models_prefixed() -> None:
    assert Embedder("gemini-embedding-001").model == "models/gemini-embedding-001"
    gecko = Embedder("embedding-gecko-001")
    assert gecko.model == "models/embedding-gecko-001" and uses_text_service(gecko.model)


def test_checked_kwargs_are_the_embedders_arguments() -> None:
    kwargs = Embedder.checked_kwargs(task_type="document", title_column="t", workers=2)
    assert kwargs == {
        "model": TWO,
        "task_type": "document",
        "title_column": "t",
        "workers": 2,
    }
    made = Embedder(**kwargs)
    assert (made.model, made.task_type, made.title_column) == (TWO, "RETRIEVAL_DOCUMENT", "t")
    with pytest.raises(TypeError, match="colour"):
        Embedder.checked_kwargs(colour="blue")


def test_content_options_survive_pickling() -> None:
    made = Embedder(
        task_type="document", title_column="t", output_dimensionality=128, normalize=True
    )
    copy = pickle.loads(pickle.dumps(made))
    assert (copy.model, copy.task_type, copy.title_column) == (TWO, "RETRIEVAL_DOCUMENT", "t")
    assert (copy.output_dimensionality, copy.normalize) == (128, True)


def test_by_default_gemini_embedding_2_gets_instructions_never_fields(
    fake_server: FakeServer,
) -> None:
    embedder = Embedder(client_options={"channel_factory": fake_server.channel}, task_type="query")
    assert embedder.model == TWO
    texts = [text(i) for i in range(120)]
    vectors = embedder(batch_of("pyarrow", {"text": texts}))
    sent = [r for c in fake_server.calls for r in c.request.requests]
    assert [r.content.parts[0].text for r in sent] == [
        f"task: search result | query: {t}" for t in texts
    ]
    assert all(r.task_type is None and r.title is None for r in sent)
    want = [expected_parts_embedding(TWO, [f"task: search result | query: {t}"]) for t in texts]
    assert np.array_equal(vectors_of("pyarrow", vectors), np.array(want, np.float32))
    embedder.close()


PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("kind", ["pyarrow", "pandas", "numpy"])
@pytest.mark.parametrize("form", ["paths", "bytes+mime_type", "bytes+mime_type_column"])
def test_a_file_column_embeds_one_vector_per_row(
    fake_server: FakeServer, tmp_path: Any, kind: str, form: str
) -> None:
    images = [PNG + bytes([i]) * 50 for i in range(5)]
    paths = []
    for i, data in enumerate(images):
        path = tmp_path / f"{i}.png"
        path.write_bytes(data)
        paths.append(str(path))
    columns: dict[str, list[Any]] = {"id": list(range(5))}
    options: dict[str, Any] = {"file_column": "media"}
    if form == "paths":
        columns["media"] = paths
    else:
        columns["media"] = images
        if form.endswith("mime_type"):
            options["mime_type"] = "image/png"
        else:
            columns["mime"] = ["image/png"] * 5
            options["mime_type_column"] = "mime"
    embedder = Embedder(client_options={"channel_factory": fake_server.channel}, **options)
    out = embedder(batch_of(kind, columns))
    want = [expected_parts_embedding(TWO, [("image/png", data)]) for data in images]
    assert np.array_equal(vectors_of(kind, out), np.array(want, np.float32))
    (call,) = fake_server.calls
    assert len(call.request.requests) == 5  # one request, one vector, per row
    embedder.close()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"file_column": "f", "model": TODAY}, "embeds text only"),
        ({"file_column": "f", "model": "models/embedding-gecko-001"}, "embeds text only"),
        ({"mime_type": "image/png"}, "go with file_column"),
        ({"file_column": "f", "mime_type": "image/png", "mime_type_column": "m"}, "not both"),
        ({"output_dimensionality": 64}, "between 128 and 3072 for models/gemini-embedding-2"),
    ],
)
def test_bad_media_options_are_refused_when_made(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Embedder.checked_kwargs(**options)


def test_bytes_without_a_mime_type_are_refused(fake_server: FakeServer) -> None:
    embedder = Embedder(client_options={"channel_factory": fake_server.channel}, file_column="f")
    with pytest.raises(ValueError, match="holds bytes: give mime_type"):
        embedder(batch_of("pyarrow", {"f": [PNG]}))
    assert fake_server.calls == []


# -- Ray Data on a local cluster ---------------------------------------------------------


# The Ray tests (marked slow, subprocess, network): a local cluster starts processes of its
# own, which talk over loopback sockets.


CLUSTER_KEY = "AIzaSy-the-nodes-own-environment-key-42"


@pytest.fixture
def local_ray() -> Iterator[Any]:
    """This process as a driver of the run's one 2-CPU cluster (``support.ray_cluster``), for
    this test alone while it runs. The cluster's processes started with ``GOOGLE_API_KEY`` in
    their environment, as nodes started where the key is set: their workers inherit it, no
    ``runtime_env`` holds it."""
    ray = pytest.importorskip("ray")
    ray_cluster.no_metrics_poller()
    with ray_cluster.one_job_at_a_time():
        ray.init(address=ray_cluster.address({"GOOGLE_API_KEY": CLUSTER_KEY}), log_to_driver=False)
        try:
            yield ray
        finally:
            ray.shutdown()  # this driver only: the cluster stops when the run ends


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeServer, ServerAddress]]:
    fake = FakeServer(embedding_dimension=DIM, log_limit=None)
    with fake.serve() as address:
        yield fake, address


@pytest.fixture(scope="module")
def served_today() -> Iterator[tuple[FakeServer, ServerAddress]]:
    """The fake as the API is today: gemini-embedding-001 at 3,072 dimensions."""
    fake = FakeServer(log_limit=None)
    with fake.serve() as address:
        yield fake, address


def dataset(local_ray: Any, rows: int = ROWS, *, titled: bool = False) -> Any:
    pd = pytest.importorskip("pandas")
    frames = [
        pd.DataFrame(
            {"id": [f"doc-{i}" for i in part], "text": [text(i) for i in part]}
            | ({"title": [title(i) for i in part]} if titled else {})
        )
        for part in np.array_split(np.arange(rows), 10)  # ten blocks, for two workers
    ]
    return local_ray.data.from_pandas(frames)


def embed(
    local_ray: Any,
    address: ServerAddress,
    batch_format: str,
    *,
    rows: int = ROWS,
    model: str = MODEL,
    workers: int = 2,
    **options: Any,
) -> Any:
    client = {"endpoint": address.target, "insecure": True, "retry": FAST_RETRY}
    return dataset(local_ray, rows, titled="title_column" in options).map_batches(
        Embedder,
        **Embedder.map_batches_kwargs(model, workers=workers, client_options=client, **options),
        batch_size=400,
        batch_format=batch_format,
    )


def check_rows(result: Any, *, ordered: bool, want: np.ndarray | None = None) -> None:
    """Every row's vector is its text's (``want``, default the gecko fake's); in input order,
    or (Ray Data's default, blocks in the order they finish) each row still with its own id."""
    ids = result["id"].tolist()
    if want is None:
        want = expected([text(i) for i in range(ROWS)])
    rows = len(want)
    if not ordered:
        result = result.assign(n=[int(i.split("-")[1]) for i in ids]).sort_values("n")
        ids = result["id"].tolist()
    assert ids == [f"doc-{i}" for i in range(rows)]
    vectors = np.stack([np.asarray(v, np.float32) for v in result["embedding"]])
    assert np.array_equal(vectors, want)


def rows_by_id(local_ray: Any, dataset: Any) -> Any:
    """The dataset's rows as one ``pyarrow.Table``, sorted by their ``doc-N`` id.

    Read through pyarrow, not ``to_pandas()``: a string column with nulls that pandas made
    (NaN for a null, pandas 3) reaches Ray's numpy batches as an object array of str and NaN,
    which Arrow cannot type, so Ray 2.60 stores it as pickled Python objects. Its pandas
    form (``PythonObjectArray``) returns a numpy array for a slice, so pandas' shallow copies
    turn its block into a bare numpy array, and reordering the frame (``sort_values``, when
    Ray's blocks came back out of order: on a loaded machine) fails with an ``IndexError``
    in pandas' ``take``.
    """
    pa = pytest.importorskip("pyarrow")
    table = pa.concat_tables(local_ray.get(dataset.to_arrow_refs()))
    ids = table.column("id").to_pylist()
    return table.take(sorted(range(len(ids)), key=lambda row: int(ids[row].split("-")[1])))


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.network
def test_ray_data_embeds_5000_rows_exactly_and_in_order(
    local_ray: Any, served: tuple[FakeServer, ServerAddress], tmp_path: Path
) -> None:
    pd = pytest.importorskip("pandas")
    fake, address = served
    fake.log.clear()
    options = local_ray.data.DataContext.get_current().execution_options
    options.preserve_order = True  # as docs/big-jobs.md says: before the dataset is made
    try:
        # 4 actors on 2 CPUs (at Ray's default of 1 CPU an actor, or 0.5, this waited for ever)
        embed(local_ray, address, "pyarrow", workers=4).write_parquet(str(tmp_path))
    finally:
        options.preserve_order = False
    files = sorted(tmp_path.iterdir())
    assert len(files) > 1  # ten blocks, written to files numbered in order
    check_rows(pd.concat([pd.read_parquet(f) for f in files]), ordered=True)
    assert sum(len(c.request.texts) for c in fake.calls) == ROWS  # each text once


TODAY_ROWS = 1000  # 3,072 float32 values each: 12 MB through the object store


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.network
def test_ray_data_embeds_with_todays_default_model(
    local_ray: Any, served_today: tuple[FakeServer, ServerAddress]
) -> None:
    fake, address = served_today
    fake.log.clear()
    vectors = embed(local_ray, address, "pyarrow", rows=TODAY_ROWS, model=DEFAULT_EMBEDDING_MODEL)
    # docs/big-jobs.md's way for a dataset already made (Ray copied the global context into it).
    vectors.context.execution_options.preserve_order = True
    result = vectors.to_pandas()
    texts = [text(i) for i in range(TODAY_ROWS)]
    want = np.array([expected_parts_embedding(TWO, [t]) for t in texts], np.float32)
    check_rows(result, ordered=True, want=want)
    assert {c.method for c in fake.calls} == {"BatchEmbedContents"}
    assert sum(len(c.request.requests) for c in fake.calls) == TODAY_ROWS  # each text once


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.network
def test_ray_data_sends_the_content_options_and_each_rows_title(
    local_ray: Any, served_today: tuple[FakeServer, ServerAddress]
) -> None:
    pd = pytest.importorskip("pandas")
    fake, address = served_today
    fake.log.clear()
    result = rows_by_id(
        local_ray,
        embed(
            local_ray,
            address,
            "numpy",  # nulls of the title column reach the embedder as NaN in an object array
            rows=TODAY_ROWS,
            model=TODAY,
            task_type="document",
            title_column="title",
            output_dimensionality=256,
            normalize=True,
        ),
    )
    texts = [text(i) for i in range(TODAY_ROWS)]
    titles = [title(i) for i in range(TODAY_ROWS)]
    kept = [None if pd.isna(t) else t for t in result.column("title").to_pylist()]
    assert kept == titles  # the title column is kept (its nulls as pandas wrote them: NaN)
    vectors = np.stack([np.asarray(v, np.float32) for v in result.column("embedding").to_pylist()])
    want = expected_today(
        texts, task_type="RETRIEVAL_DOCUMENT", titles=titles, dimension=256, normalize=True
    )
    assert vectors.shape == (TODAY_ROWS, 256)
    assert np.allclose(vectors, want, rtol=0, atol=1e-7)
    sent = {r.content.parts[0].text: r for c in fake.calls for r in c.request.requests}
    assert len(sent) == TODAY_ROWS
    assert [sent[t].title for t in texts] == titles
    assert {(r.task_type.name, r.output_dimensionality) for r in sent.values()} == {
        ("RETRIEVAL_DOCUMENT", 256)
    }


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.network
def test_ray_data_completes_through_injected_faults(
    local_ray: Any, served: tuple[FakeServer, ServerAddress]
) -> None:
    fake, address = served
    fake.log.clear()
    fake.faults.fail_fraction(0.25, "UNAVAILABLE", seed=7, details=[retry_info(0.01)])
    try:
        check_rows(embed(local_ray, address, "pandas").to_pandas(), ordered=False)
    finally:
        fake.faults.clear()
    failed = [c for c in fake.calls if c.status is not None and c.status.name == "UNAVAILABLE"]
    assert len(failed) >= 5  # retried by each worker's client until every batch got through


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.network
def test_a_per_day_quota_reaches_the_driver_as_the_typed_error(local_ray: Any) -> None:
    # The fake's quota emulation: 10 BatchEmbedText calls a day, then RESOURCE_EXHAUSTED with
    # a QuotaFailure naming the per-day quota, as the API answers (5,000 rows need 50 calls).
    fake = FakeServer(embedding_dimension=DIM, quotas={"requests_per_day": 10})
    context = local_ray.data.DataContext.get_current()
    with fake.serve() as address:
        try:
            context.raise_original_map_exception = True  # as docs/big-jobs.md says
            with pytest.raises(textservice.ResourceExhausted) as info:
                embed(local_ray, address, "numpy").materialize()
            error = info.value
            assert isinstance(error, local_ray.exceptions.RayTaskError)  # and a Ray task error
            assert error.is_daily_quota
            quota_id = error.details[0].violations[0].quota_id
            assert quota_id == "BatchEmbedTextRequestsPerDayPerProjectPerModel"

            context.raise_original_map_exception = False  # Ray Data's default: its wrapper
            with pytest.raises(local_ray.exceptions.RayTaskError) as wrapped:
                embed(local_ray, address, "numpy").materialize()
            assert "ResourceExhausted" in str(wrapped.value)
            assert "PerDay" in str(wrapped.value)
        finally:
            context.raise_original_map_exception = False
    assert fake.quotas is not None
    assert fake.quotas.accepted() == 10  # nothing got through after the day's quota


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.network
def test_the_runs_one_cluster_has_two_cpus_and_leaves_no_thread_in_the_driver(
    local_ray: Any,
) -> None:
    """The cluster every Ray test joins is the run's one (its address is the published one)
    with two CPUs; a Ray Data execution leaves no metrics thread behind in this process."""
    assert local_ray.get_runtime_context().gcs_address == ray_cluster.address({})
    assert local_ray.cluster_resources()["CPU"] == 2
    assert local_ray.data.range(20).map_batches(lambda batch: batch).count() == 20
    threads = {thread.name for thread in threading.enumerate()}
    assert "data-usage-metrics-poller" not in threads


# -- docs/big-jobs.md's Ray example, and keys that reach a worker the way Ray records -------

BIG_JOBS = REPO / "docs" / "big-jobs.md"

# The harness around docs/big-jobs.md's example, which runs as written: the client goes to the
# fake (as through a proxy), the bucket is a local folder, and the small input is read as six
# blocks (a real corpus is many; Ray reads this one as one, which one actor would embed alone:
# docs/big-jobs.md says so).
README_HARNESS = """
import os
import ray
from textservice.ray import Embedder

_map_batches_kwargs = Embedder.map_batches_kwargs.__func__


def _at_the_fake(cls, *args, client_options=None, **kwargs):
    at = {**(client_options or {}), "endpoint": os.environ["FAKE_TARGET"], "insecure": True}
    return _map_batches_kwargs(cls, *args, client_options=at, **kwargs)


def _local(path):
    return path.replace("s3://bucket/", os.environ["BUCKET"] + "/")


Embedder.map_batches_kwargs = classmethod(_at_the_fake)
_read_parquet = ray.data.read_parquet
ray.data.read_parquet = lambda path, **kw: _read_parquet(_local(path), override_num_blocks=6, **kw)
_write_parquet = ray.data.Dataset.write_parquet
ray.data.Dataset.write_parquet = lambda ds, path, **kw: _write_parquet(ds, _local(path), **kw)
"""


def readme_ray_example() -> str:
    blocks: list[str] = re.findall(r"```python\n(.*?)```", BIG_JOBS.read_text("utf-8"), re.S)
    (example,) = [b for b in blocks if "ray.init()" in b]
    return example


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.network
def test_the_readme_ray_example_finishes_on_two_cpus_with_every_row_once(
    local_ray: Any, tmp_path: Path
) -> None:
    """docs/big-jobs.md's example, verbatim in a Python of its own, finishes on a cluster of
    two CPUs (the run's one, which its ``ray.init()`` joins through ``RAY_ADDRESS``; no other
    test uses the cluster meanwhile) with Ray's defaults for everything it does not set: every
    row once with its id, the default model's vectors, each text sent once, the key taken
    from the nodes' environment and never warned about. (The order of the rows Ray Data
    yields is tested with ``iter_batches``/``to_pandas`` by the tests above.)"""
    pd = pytest.importorskip("pandas")
    rows = 3000
    texts = [text(i) for i in range(rows)]
    titles = [title(i) for i in range(rows)]
    (tmp_path / "docs").mkdir()
    for part in range(6):
        chunk = slice(part * 500, (part + 1) * 500)
        frame = pd.DataFrame(
            {"id": range(rows)[chunk], "text": texts[chunk], "title": titles[chunk]}
        )
        frame.to_parquet(tmp_path / "docs" / f"part-{part}.parquet")
    # The key only the cluster's own environment holds: a call without it is refused.
    fake = FakeServer(api_key=CLUSTER_KEY, log_limit=None)
    env = {k: v for k, v in os.environ.items() if k != "GOOGLE_API_KEY"}
    env |= {"RAY_ADDRESS": local_ray.get_runtime_context().gcs_address}  # ray.init() joins it
    with fake.serve() as address:
        done = subprocess.run(
            [sys.executable, "-c", README_HARNESS + readme_ray_example()],
            env=env | {"FAKE_TARGET": address.target, "BUCKET": str(tmp_path)},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,  # Ray's default pool (1 CPU an actor) waited for ever here
        )
    assert done.returncode == 0, done.stderr[-4000:]
    assert "KeyExposureWarning" not in done.stderr
    files = sorted((tmp_path / "vectors").iterdir())
    written = pd.concat([pd.read_parquet(f) for f in files])
    # Ray 2.60 writes the blocks a write task gets into one file with pyarrow's threaded
    # write_dataset, which may change their order inside it (docs/big-jobs.md, "Order"): the
    # ids, which the docs say to keep, put the rows back in input order
    result = written.sort_values("id", kind="stable")
    assert result["id"].tolist() == list(range(rows))  # every row once
    vectors = np.stack([np.asarray(v, np.float32) for v in result["embedding"]])
    # the default model, gemini-embedding-2: the document task as instruction text
    documents = [f"title: {t or 'none'} | text: {x}" for x, t in zip(texts, titles, strict=True)]
    want = np.array([expected_parts_embedding(TWO, [d], 768) for d in documents], np.float32)
    assert np.allclose(vectors, want, rtol=0, atol=1e-7)
    sent = [r for c in fake.calls for r in c.request.requests]
    assert sorted(r.content.parts[0].text for r in sent) == sorted(documents)  # each text once
    assert all(r.task_type is None and r.title is None for r in sent)


RUNTIME_KEY = "AIzaSy-a-key-in-a-runtime-env-0123456"


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.network
def test_a_key_ray_records_warns_in_the_worker(
    local_ray: Any, served_today: tuple[FakeServer, ServerAddress]
) -> None:
    _fake, address = served_today

    class Recording(Embedder):
        """Adds a column of the ``KeyExposureWarning``s its worker gave (a worker's warnings
        reach the driver only as lines of its log)."""

        def __init__(self, **kwargs: Any) -> None:
            self.seen: list[str] = []
            with self.recording():
                super().__init__(**kwargs)

        @contextlib.contextmanager
        def recording(self) -> Iterator[None]:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                yield
            self.seen += [str(w.message) for w in caught if w.category is KeyExposureWarning]

        def __call__(self, batch: Any) -> Any:
            with self.recording():
                out = super().__call__(batch)
            out["warnings"] = np.array(["\n".join(self.seen)] * len(out["text"]), dtype=object)
            return out

    def warned(fn_constructor_kwargs: dict[str, Any], **ray_args: Any) -> set[str]:
        result = dataset(local_ray, 200).map_batches(
            Recording,
            fn_constructor_kwargs=fn_constructor_kwargs,
            compute=local_ray.data.ActorPoolStrategy(size=1),
            num_cpus=0.25,
            batch_format="numpy",
            **ray_args,
        )
        return {w for text in result.to_pandas()["warnings"] for w in text.split("\n") if w}

    client = {"endpoint": address.target, "insecure": True}
    # The key in the map's runtime_env (Ray writes it to runtime_env_agent.log), and also as
    # a literal in the constructor's arguments (not through checked_kwargs, which refuses it).
    seen = warned(
        {"client_options": client | {"api_key": RUNTIME_KEY}, "output_dimensionality": 128},
        runtime_env={"env_vars": {"GOOGLE_API_KEY": RUNTIME_KEY}},
    )
    assert len(seen) == 2, seen
    assert any("through a runtime_env's env_vars" in w for w in seen)
    assert any("as a literal in the Embedder's arguments" in w for w in seen)
    assert all("KeyFile(path)" in w and RUNTIME_KEY not in w for w in seen)
    # The key in the worker's own environment (the cluster's), or read by a key source: quiet.
    assert (
        warned(Embedder.checked_kwargs(client_options=client, output_dimensionality=128)) == set()
    )
    source = client | {"api_key": KeyEnvVar("GOOGLE_API_KEY")}
    assert (
        warned(Embedder.checked_kwargs(client_options=source, output_dimensionality=128)) == set()
    )

    # What docs/big-jobs.md says of Ray 2.60: a runtime_env's variables are in the runtime env
    # agent's log in plain text; the key of the nodes' own environment is in no file of the
    # session (logs included).
    context = local_ray.get_runtime_context()
    session = Path(context.get_temp_dir()) / context.get_session_name()
    agent_log = (session / "logs" / "runtime_env_agent.log").read_bytes()
    assert RUNTIME_KEY.encode() in agent_log
    holding = [
        f for f in session.rglob("*") if f.is_file() and CLUSTER_KEY.encode() in f.read_bytes()
    ]
    assert holding == []


# -- docs/big-jobs.md's Dask recipe (Dask's local scheduler) --------------------------------


@pytest.mark.network
def test_the_dask_recipe_embeds_every_partition(tmp_path: Any) -> None:
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")
    fake = FakeServer()  # as the API is today: the docs' default model, 3,072 dimensions
    texts = [text(i) for i in range(1200)]
    frame = pd.DataFrame({"id": range(1200), "text": texts})
    dd.from_pandas(frame, npartitions=4).to_parquet(tmp_path / "docs")
    with fake.serve() as address:
        options = {"endpoint": address.target, "insecure": True, "max_concurrency": 8}
        embedder = Embedder(client_options=options)
        docs = dd.read_parquet(tmp_path / "docs")  # as in docs/big-jobs.md from here on
        vectors = docs.map_partitions(
            embedder, meta=docs._meta.assign(embedding=pd.Series(dtype=object))
        )
        vectors.to_parquet(tmp_path / "vectors", schema=None)
        embedder.close()
    result = pd.read_parquet(tmp_path / "vectors").sort_values("id")
    assert result["id"].tolist() == list(range(1200))
    want = np.array([expected_parts_embedding(TWO, [t]) for t in texts], np.float32)
    assert np.array_equal(np.stack(result["embedding"].tolist()), want)
