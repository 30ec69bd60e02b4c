"""``textservice.ray.Embedder``: batches of every kind, and Ray Data on a local cluster.

The Ray tests start ``ray.init(num_cpus=2)`` once for the module (a few seconds) and run
``map_batches(Embedder, ...)`` with two workers against the fake served on a TCP port of this
process: vectors, order and ids are checked row by row against the fake's.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import textservice
from textservice.ray import Embedder, worker_client_options
from textservice.testing import FakeTextService, ServerAddress, retry_info
from textservice.testing.vectors import embedding_bytes

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


def dataset(local_ray: Any) -> Any:
    frames = [
        pd.DataFrame({"id": [f"doc-{i}" for i in rows], "text": [text(i) for i in rows]})
        for rows in np.array_split(np.arange(ROWS), 10)  # ten blocks, for two workers
    ]
    return local_ray.data.from_pandas(frames)


def embed(local_ray: Any, address: ServerAddress, batch_format: str) -> Any:
    options = {"endpoint": address.target, "insecure": True, "retry": FAST_RETRY}
    return dataset(local_ray).map_batches(
        Embedder,
        fn_constructor_kwargs={"model": MODEL, "client_options": options, "workers": 2},
        compute=local_ray.data.ActorPoolStrategy(size=2),
        num_cpus=0.5,
        batch_size=400,
        batch_format=batch_format,
    )


def check_rows(result: Any, *, ordered: bool) -> None:
    """Every row's vector is its text's; in input order, or (Ray Data's default, blocks in
    the order they finish) each row still with its own id."""
    ids = result["id"].tolist()
    if not ordered:
        result = result.assign(n=[int(i.split("-")[1]) for i in ids]).sort_values("n")
        ids = result["id"].tolist()
    assert ids == [f"doc-{i}" for i in range(ROWS)]
    vectors = np.stack([np.asarray(v, np.float32) for v in result["embedding"]])
    assert np.array_equal(vectors, expected([text(i) for i in range(ROWS)]))


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
    fake = FakeTextService(embedding_dimension=DIM)
    texts = [text(i) for i in range(1200)]
    frame = pd.DataFrame({"id": range(1200), "text": texts})
    dd.from_pandas(frame, npartitions=4).to_parquet(tmp_path / "docs")
    with fake.serve() as address:
        options = {"endpoint": address.target, "insecure": True, "max_concurrency": 8}
        embedder = Embedder(MODEL, client_options=options)
        docs = dd.read_parquet(tmp_path / "docs")  # as in the README from here on
        vectors = docs.map_partitions(
            embedder, meta=docs._meta.assign(embedding=pd.Series(dtype=object))
        )
        vectors.to_parquet(tmp_path / "vectors", schema=None)
        embedder.close()
    result = pd.read_parquet(tmp_path / "vectors").sort_values("id")
    assert result["id"].tolist() == list(range(1200))
    assert np.array_equal(np.stack(result["embedding"].tolist()), expected(texts))
