"""``textservice.ray.Embedder``: batches of every kind, and Ray Data on a local cluster.

The Ray tests start ``ray.init(num_cpus=2)`` once for the module (a few seconds) and run
``map_batches(Embedder, ...)`` with two workers against the fake served on a TCP port of this
process: vectors, order and ids are checked row by row against the fake's, for today's
default model (GenerativeService BatchEmbedContents, 3,072 dimensions) and for the legacy
``embedding-gecko`` through TextService.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import textservice
from textservice._routes import DEFAULT_EMBEDDING_MODEL, uses_text_service
from textservice.ray import Embedder, worker_client_options
from textservice.testing import (
    FakeServer,
    FakeTextService,
    ServerAddress,
    expected_content_embedding,
    expected_embedding,
    retry_info,
)
from textservice.testing.vectors import embedding_bytes, expected_parts_embedding

pa = pytest.importorskip("pyarrow")
pd = pytest.importorskip("pandas")

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


@pytest.mark.fake_text_service(embedding_dimension=DIM)
def test_a_worker_client_applies_its_share_to_the_jobs_limits(
    fake_text_service: FakeTextService,
) -> None:
    options = {"requests_per_minute": 600, "channel_factory": fake_text_service.channel}
    made = Embedder(MODEL, client_options=options, workers=4)
    try:
        made.embed(["one text"])
        (stats,) = made.client.quota_stats().keys.values()
        assert stats.limits["requests"] == 150  # a quarter of the job's 600 a minute
    finally:
        made.close()


@pytest.fixture
def embedder(fake_text_service: FakeTextService) -> Iterator[Embedder]:
    made = Embedder(MODEL, client_options={"channel_factory": fake_text_service.channel})
    yield made
    made.close()


@pytest.mark.fake_text_service(embedding_dimension=DIM)
@pytest.mark.parametrize("kind", ["pyarrow", "pandas", "numpy"])
def test_every_batch_format_gets_float32_vectors_in_row_order(
    embedder: Embedder, kind: str
) -> None:
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


def test_an_embedder_pickles_without_its_client(fake_text_service: FakeTextService) -> None:
    made = Embedder(MODEL, client_options={"api_key": "SECRET-123", "endpoint": "127.0.0.1:9"})
    assert "SECRET" not in repr(made)
    copy = pickle.loads(pickle.dumps(made))
    assert copy._client is None and copy.model == MODEL
    assert copy.client.endpoint == "127.0.0.1:9"  # made where it is used
    copy.close()


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
        ({"model": "gemini-embedding-001"}, ValueError, "model"),
    ],
)
def test_bad_options_are_refused_when_the_embedder_is_made(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    # Made with no server at all: the checks need none, and make no client.
    for make in (Embedder, Embedder.checked_kwargs):
        with pytest.raises(error, match=message):
            make(client_options={"endpoint": "127.0.0.1:1"}, **options)


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
    made = Embedder(task_type="document", title_column="t", output_dimensionality=8, normalize=True)
    copy = pickle.loads(pickle.dumps(made))
    assert (copy.model, copy.task_type, copy.title_column) == (TWO, "RETRIEVAL_DOCUMENT", "t")
    assert (copy.output_dimensionality, copy.normalize) == (8, True)


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

ray = pytest.importorskip("ray")

# The Ray tests (marked slow, subprocess, network): a local cluster starts processes of its
# own, which talk over loopback sockets.


@pytest.fixture(scope="module")
def local_ray() -> Iterator[Any]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeTextService, ServerAddress]]:
    fake = FakeTextService(embedding_dimension=DIM, log_limit=None)
    with fake.serve() as address:
        yield fake, address


@pytest.fixture(scope="module")
def served_today() -> Iterator[tuple[FakeServer, ServerAddress]]:
    """The fake as the API is today: gemini-embedding-001 at 3,072 dimensions."""
    fake = FakeServer(log_limit=None)
    with fake.serve() as address:
        yield fake, address


def dataset(local_ray: Any, rows: int = ROWS, *, titled: bool = False) -> Any:
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
    **options: Any,
) -> Any:
    client = {"endpoint": address.target, "insecure": True, "retry": FAST_RETRY}
    kwargs = Embedder.checked_kwargs(model, client_options=client, workers=2, **options)
    return dataset(local_ray, rows, titled="title_column" in options).map_batches(
        Embedder,
        fn_constructor_kwargs=kwargs,
        compute=local_ray.data.ActorPoolStrategy(size=2),
        num_cpus=0.5,
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


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.network
def test_ray_data_embeds_5000_rows_exactly_and_in_order(
    local_ray: Any, served: tuple[FakeTextService, ServerAddress]
) -> None:
    fake, address = served
    fake.log.clear()
    options = local_ray.data.DataContext.get_current().execution_options
    options.preserve_order = True  # as the README says, when the order matters
    try:
        check_rows(embed(local_ray, address, "pyarrow").to_pandas(), ordered=True)
    finally:
        options.preserve_order = False
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
    options = local_ray.data.DataContext.get_current().execution_options
    options.preserve_order = True
    try:
        result = embed(
            local_ray, address, "pyarrow", rows=TODAY_ROWS, model=DEFAULT_EMBEDDING_MODEL
        ).to_pandas()
    finally:
        options.preserve_order = False
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
    fake, address = served_today
    fake.log.clear()
    result = embed(
        local_ray,
        address,
        "numpy",  # nulls of the title column reach the embedder as None in an object array
        rows=TODAY_ROWS,
        model=TODAY,
        task_type="document",
        title_column="title",
        output_dimensionality=256,
        normalize=True,
    ).to_pandas()
    texts = [text(i) for i in range(TODAY_ROWS)]
    titles = [title(i) for i in range(TODAY_ROWS)]
    result = result.assign(n=[int(i.split("-")[1]) for i in result["id"]]).sort_values("n")
    kept = [None if pd.isna(t) else t for t in result["title"]]
    assert kept == titles  # the title column is kept (its nulls as pandas reads them back)
    vectors = np.stack([np.asarray(v, np.float32) for v in result["embedding"]])
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
    local_ray: Any, served: tuple[FakeTextService, ServerAddress]
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
    fake = FakeTextService(embedding_dimension=DIM, quotas={"requests_per_day": 10})
    context = local_ray.data.DataContext.get_current()
    with fake.serve() as address:
        try:
            context.raise_original_map_exception = True  # as the README says
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


# -- the README's Dask recipe (Dask's local scheduler) ----------------------------------------


@pytest.mark.network
def test_the_dask_recipe_embeds_every_partition(tmp_path: Any) -> None:
    dd = pytest.importorskip("dask.dataframe")
    fake = FakeServer()  # as the API is today: the README's default model, 3,072 dimensions
    texts = [text(i) for i in range(1200)]
    frame = pd.DataFrame({"id": range(1200), "text": texts})
    dd.from_pandas(frame, npartitions=4).to_parquet(tmp_path / "docs")
    with fake.serve() as address:
        options = {"endpoint": address.target, "insecure": True, "max_concurrency": 8}
        embedder = Embedder(client_options=options)
        docs = dd.read_parquet(tmp_path / "docs")  # as in the README from here on
        vectors = docs.map_partitions(
            embedder, meta=docs._meta.assign(embedding=pd.Series(dtype=object))
        )
        vectors.to_parquet(tmp_path / "vectors", schema=None)
        embedder.close()
    result = pd.read_parquet(tmp_path / "vectors").sort_values("id")
    assert result["id"].tolist() == list(range(1200))
    want = np.array([expected_parts_embedding(TWO, [t]) for t in texts], np.float32)
    assert np.array_equal(np.stack(result["embedding"].tolist()), want)
