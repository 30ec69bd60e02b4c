"""``textservice.generate_embeddings`` (the public facade) against the in-process fake.

The cases of the facade issue: a single string, lists of 0, 1, 2, 100, 101 and 237 texts
(one request per 100 texts, in order, nothing sent twice), unicode, request options reaching
every RPC, a Model object, invalid model names, metadata merge, threads and running loops.
"""

from __future__ import annotations

import asyncio
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

import textservice
from textservice import Client
from textservice.testing import FakeServer, expected_embedding

MODEL = "models/embedding-gecko-001"
DIM = 16
pytestmark = pytest.mark.fake_server(embedding_dimension=DIM)


def vectors(texts: list[str]) -> list[list[float]]:
    return [expected_embedding(MODEL, t, DIM) for t in texts]


def test_single_string(fake_server: FakeServer, fake_client: Client) -> None:
    result = textservice.generate_embeddings(MODEL, "hello", client=fake_client)
    assert result == {"embedding": vectors(["hello"])[0]}
    assert fake_server.count("EmbedText") == 1
    assert fake_server.count("BatchEmbedText") == 0


@pytest.mark.parametrize("n", [0, 1, 2, 100, 101, 237])
def test_lists_are_sent_in_batches_of_100_in_order(
    fake_server: FakeServer, fake_client: Client, n: int
) -> None:
    texts = [f"text #{i}" for i in range(n)]
    result = textservice.generate_embeddings(MODEL, texts, client=fake_client)
    assert result == {"embedding": vectors(texts)}
    batches = [list(c.request.texts) for c in fake_server.calls]
    assert len(batches) == math.ceil(n / 100)
    assert fake_server.count("EmbedText") == 0
    # requests hold consecutive slices: first and last text of the first and last request
    batches.sort(key=lambda b: int(b[0].split("#")[1]))
    if n:
        assert batches[0][0] == "text #0"
        assert batches[0][-1] == texts[min(n, 100) - 1]
        assert batches[-1][0] == texts[(len(batches) - 1) * 100]
        assert batches[-1][-1] == texts[-1]
    assert [t for b in batches for t in b] == texts


def test_unicode_texts(fake_client: Client) -> None:
    texts = ["héllo wörld", "日本語", "emoji 🌍🚀", "nul\x00byte", "", " "]
    result = textservice.generate_embeddings(MODEL, texts, client=fake_client)
    assert result["embedding"] == vectors(texts)


def test_values_are_float32(fake_client: Client) -> None:
    import struct

    result = textservice.generate_embeddings(MODEL, "x", client=fake_client)
    for value in result["embedding"]:
        assert struct.unpack("<f", struct.pack("<f", value))[0] == value


def test_request_options_timeout_reaches_every_rpc(
    fake_server: FakeServer, fake_client: Client
) -> None:
    texts = [f"t{i}" for i in range(250)]
    textservice.generate_embeddings(
        MODEL, texts, client=fake_client, request_options={"timeout": 30}
    )
    calls = fake_server.calls
    assert len(calls) == 3
    for call in calls:  # each RPC carried a grpc-timeout no larger than the call's timeout
        assert call.timeout is not None and 0 < call.timeout <= 30


@dataclass
class Model:
    name: str


def test_model_object(fake_client: Client) -> None:
    result = textservice.generate_embeddings(Model(MODEL), ["a"], client=fake_client)
    assert result == {"embedding": vectors(["a"])}


@pytest.mark.parametrize("bad", ["embedding gecko", "", "model/x", "models/", "tunedModels/"])
def test_invalid_model_names_fail_before_the_network(
    fake_server: FakeServer, fake_client: Client, bad: str
) -> None:
    with pytest.raises(ValueError, match="model"):
        textservice.generate_embeddings(bad, "x", client=fake_client)
    assert fake_server.count() == 0


def test_user_metadata_is_merged_with_the_key() -> None:
    fake = FakeServer(api_key="k-123", embedding_dimension=DIM)
    with Client("k-123", metadata={"x-user": "me"}, channel_factory=fake.channel) as client:
        textservice.generate_embeddings(MODEL, ["a", "b"], client=client)
    (call,) = fake.calls
    assert call.api_key == "k-123"
    assert ("x-user", "me") in call.metadata


def test_sync_calls_from_16_threads(fake_client: Client) -> None:
    def work(i: int) -> bool:
        texts = [f"thread {i} text {j}" for j in range(120)]
        got = textservice.generate_embeddings(MODEL, texts, client=fake_client)
        return got["embedding"] == vectors(texts)

    with ThreadPoolExecutor(16) as pool:
        assert all(pool.map(work, range(16)))


def test_sync_call_inside_a_running_loop(fake_client: Client) -> None:
    async def cell() -> list[list[float]]:  # as in a Jupyter cell: a loop is running
        return textservice.generate_embeddings(MODEL, ["a", "b"], client=fake_client)["embedding"]

    assert asyncio.run(cell()) == vectors(["a", "b"])


def test_async_twin_gathers_in_order(fake_client: Client) -> None:
    async def main() -> tuple[object, object]:
        return await asyncio.gather(
            textservice.generate_embeddings_async(MODEL, "one", client=fake_client),
            textservice.generate_embeddings_async(MODEL, ["two", "three"], client=fake_client),
        )

    one, many = asyncio.run(main())
    assert one == {"embedding": vectors(["one"])[0]}
    assert many == {"embedding": vectors(["two", "three"])}
