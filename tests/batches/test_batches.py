"""``textservice.batches`` against the fake's Batch mode and Files API, in process (no socket).

The vectors are compared with an online ``embed_content`` call's through the same fake:
Batch mode must give the very same float32 values, in input order, for the same arguments.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from grpclib.const import Status

import textservice
from textservice import batches
from textservice._encoding import json_mapping
from textservice._proto.google.ai.generativelanguage import v1beta as pb
from textservice.batches import jobs
from textservice.batches.requests import INLINE_BYTES, plan_input
from textservice.testing import FakeServer

EMBEDDING_2 = "models/gemini-embedding-2"
EMBEDDING_001 = "models/gemini-embedding-001"
FAST = 0.05  # seconds between polls


@pytest.fixture
def fake() -> FakeServer:
    return FakeServer(batch_seconds=0.2)


# Retries after the fake's injected drops wait milliseconds, not the default's up to a second:
# what these tests check is what is sent again, not how long the client waits first.
QUICK_RETRY = textservice.Retry(initial_backoff=0.01, max_backoff=0.05)


@pytest.fixture
def client(fake: FakeServer) -> Iterator[textservice.Client]:
    with textservice.Client(
        "k", transport="rest", channel_factory=fake.http_transport, retry=QUICK_RETRY
    ) as made:
        yield made


def _done(name: str, client: textservice.Client) -> batches.Batch:
    return batches.wait(name, client=client, interval=FAST, max_interval=FAST)


def test_inline_batch_gives_the_online_vectors(
    fake: FakeServer, client: textservice.Client
) -> None:
    texts = [f"text {i}" for i in range(40)]
    created = batches.create_embeddings(
        EMBEDDING_2, texts, task_type="query", output_dimensionality=128, client=client
    )
    assert created["state"] is batches.BatchState.BATCH_STATE_PENDING
    assert created["name"].startswith("batches/")
    assert fake.count("UploadFile") == 0  # small: inline
    seen: list[str] = []
    done = batches.wait(
        created["name"],
        client=client,
        interval=FAST,
        max_interval=FAST,
        progress=lambda b: seen.append(batches.short_name(b["state"])),
    )
    assert batches.succeeded(done["state"])
    assert seen[-1] == "succeeded" and "running" in seen
    assert done["batch_stats"] is not None and done["batch_stats"]["request_count"] == 40
    got = batches.embeddings(created["name"], client=client)["embedding"]
    online = textservice.embed_content(
        EMBEDDING_2, texts, task_type="query", output_dimensionality=128, client=client
    )
    assert got == online["embedding"]
    # the instruction text went in the requests, as embed_content sends it
    request = fake.batch_mode.jobs[-1].lines[3].request
    assert request is not None
    assert request.content.parts[0].text == "task: search result | query: text 3"
    assert request.task_type is None  # never the field, for this model


def test_file_batch_gives_the_online_vectors_in_input_order(
    fake: FakeServer, client: textservice.Client
) -> None:
    # 600 vectors of 3,072 values make results over 20 MB: the requests go as a file
    assert not plan_input(600, 30_000, 3072).inline
    texts = [f"document {i}" for i in range(600)]
    created = batches.create_embeddings(
        EMBEDDING_001, texts, task_type="document", title="T", client=client
    )
    assert created["input_config"] is not None
    assert str(created["input_config"]["file_name"]).startswith("files/")
    assert fake.count("UploadFile") >= 2  # start, then the bytes
    _done(created["name"], client)
    got = batches.embeddings(created["name"], client=client, output="numpy")["embedding"]
    online = textservice.embed_content(
        EMBEDDING_001, texts, task_type="document", title="T", client=client, output="numpy"
    )["embedding"]
    assert got.shape == (600, 3072)
    assert bool((got == online).all())
    # the results came out of order (odd lines first): matched by key, not by position
    assert fake.count("DownloadFile") == 1


def test_normalize_scales_like_embed_content(client: textservice.Client) -> None:
    texts = ["a", "b c"]
    created = batches.create_embeddings(
        EMBEDDING_001, texts, output_dimensionality=8, client=client
    )
    _done(created["name"], client)
    got = batches.embeddings(created["name"], client=client, normalize=True)
    online = textservice.embed_content(
        EMBEDDING_001, texts, output_dimensionality=8, normalize=True, client=client
    )
    assert got["embedding"] == online["embedding"]


def test_failed_lines_raise_with_the_others_in_partial(
    fake: FakeServer, client: textservice.Client
) -> None:
    fake.batch_mode.fail_lines(every=4)
    texts = [f"t{i}" for i in range(10)]
    created = batches.create_embeddings(
        EMBEDDING_001, texts, output_dimensionality=8, client=client
    )
    done = _done(created["name"], client)
    assert done["batch_stats"] is not None and done["batch_stats"]["failed_request_count"] == 3
    with pytest.raises(textservice.InvalidArgument, match="3 of 10 requests") as caught:
        batches.embeddings(created["name"], client=client)
    partial = caught.value.partial
    assert partial is not None
    assert partial.failed_indices == [0, 4, 8]
    online = textservice.embed_content(EMBEDDING_001, texts, output_dimensionality=8, client=client)
    assert partial.embeddings[5] == online["embedding"][5]


def test_items_are_checked_before_anything_is_sent(
    fake: FakeServer, client: textservice.Client
) -> None:
    with pytest.raises(ValueError, match="title"):
        batches.create_embeddings(EMBEDDING_001, ["a"], title="T", client=client)
    with pytest.raises(ValueError, match="between 128 and 3072"):
        batches.create_embeddings(EMBEDDING_2, ["a"], output_dimensionality=5, client=client)
    with pytest.raises(TypeError, match="sequence of items"):
        batches.create_embeddings(EMBEDDING_001, "one text", client=client)
    with pytest.raises(ValueError, match="empty"):
        batches.create_embeddings(EMBEDDING_001, [], client=client)
    assert fake.count() == 0


def test_embeddings_checks_its_output_in_both_faces(
    fake: FakeServer, client: textservice.Client
) -> None:
    wrong: Any = "arrow"  # the sync face took any value but "numpy" for "list"
    with pytest.raises(ValueError, match="output must be 'list' or 'numpy', got 'arrow'"):
        batches.embeddings("batches/b", output=wrong, client=client)
    with pytest.raises(ValueError, match="output must be 'list' or 'numpy', got 'arrow'"):
        asyncio.run(batches.embeddings_async("batches/b", output=wrong, client=client))
    with pytest.raises(TypeError, match="normalize must be a bool"):
        batches.embeddings("batches/b", normalize=cast(Any, 1), client=client)
    assert fake.count() == 0


def test_grpc_clients_are_refused(fake: FakeServer) -> None:
    with textservice.Client("k", channel_factory=fake.channel) as grpc_client:
        with pytest.raises(ValueError, match="REST only"):
            batches.get("batches/x", client=grpc_client)
        with pytest.raises(ValueError, match="REST only"):
            batches.create_embeddings(EMBEDDING_001, ["a"], client=grpc_client)


def test_get_list_cancel_delete(fake: FakeServer, client: textservice.Client) -> None:
    fake.batch_mode.seconds = 60
    first = batches.create_embeddings(EMBEDDING_001, ["a"], client=client, display_name="one")
    second = batches.create_embeddings(EMBEDDING_001, ["b"], client=client, display_name="two")
    assert [b["name"] for b in batches.list(client=client)] == [second["name"], first["name"]]
    batches.cancel(first["name"], client=client)
    cancelled = batches.get(first["name"], client=client)
    assert cancelled["state"] is batches.BatchState.BATCH_STATE_CANCELLED
    assert cancelled["error"] is not None
    with pytest.raises(textservice.FailedPrecondition, match="cancelled"):
        batches.embeddings(first["name"], client=client)
    with pytest.raises(textservice.FailedPrecondition, match="wait for it"):
        batches.embeddings(second["name"], client=client)
    with pytest.raises(textservice.DeadlineExceeded, match="still pending"):
        batches.wait(second["name"], client=client, interval=FAST, timeout=0.2)
    fake.batch_mode.expire(second["name"])
    assert batches.get(second["name"], client=client)["state"].name == "BATCH_STATE_EXPIRED"
    batches.delete(first["name"], client=client)
    with pytest.raises(textservice.NotFound):
        batches.get(first["name"], client=client)
    assert [b["name"] for b in batches.list(client=client)] == [second["name"]]
    assert asyncio.run(_found(client, "two")) == [second["name"]]


async def _found(client: textservice.Client, display_name: str) -> list[str]:
    async with client:
        return [b["name"] for b in await batches.find(display_name, client=client)]


def test_a_failed_job_names_its_error(fake: FakeServer, client: textservice.Client) -> None:
    fake.batch_mode.fail_jobs(1, "INTERNAL")
    created = batches.create_embeddings(EMBEDDING_001, ["a"], client=client)
    done = _done(created["name"], client)
    assert done["state"] is batches.BatchState.BATCH_STATE_FAILED
    assert done["error"] is not None and "injected" in done["error"]["message"]


def test_job_state_names_and_the_response_form_are_read() -> None:
    # the guide's samples say JOB_STATE_*; its REST sample reads response.responsesFile
    wire = {
        "name": "batches/abc",
        "metadata": {"@type": "type.googleapis.com/x", "state": "JOB_STATE_SUCCEEDED"},
        "done": True,
        "response": {"@type": "type.googleapis.com/y", "responsesFile": "files/r"},
    }
    operation = json_mapping.from_json(pb.EmbedContentBatchOperation, wire)
    batch = jobs.to_batch(textservice._encoding.dicts.to_dict(operation))
    assert batch["state"] is batches.BatchState.BATCH_STATE_SUCCEEDED
    assert batch["name"] == "batches/abc"
    assert batch["output"] is not None and batch["output"]["responses_file"] == "files/r"


def test_upload_resends_a_failed_chunk_from_the_servers_offset(
    fake: FakeServer, client: textservice.Client, tmp_path: Path
) -> None:
    data = bytes(range(256)) * 40  # 10,240 bytes, 4 chunks of 3,000
    path = tmp_path / "in.jsonl"
    path.write_bytes(data)
    fake.batch_mode.break_chunks(2)  # the first two chunks: half stored, then UNAVAILABLE

    async def go() -> Any:
        async with client:
            return await jobs.upload(path, display_name="x", chunk_bytes=3000, client=client)

    file = asyncio.run(go())
    stored = next(f for f in fake.batch_mode.files if f.name == file["name"])
    assert stored.data == data
    assert fake.count("UploadFile", status=Status.UNAVAILABLE) == 2
    assert file["size_bytes"] == len(data) and file["display_name"] == "x"


def test_upload_goes_on_from_an_earlier_session(
    fake: FakeServer, client: textservice.Client, tmp_path: Path
) -> None:
    data = b"x" * 9000
    path = tmp_path / "in.jsonl"
    path.write_bytes(data)
    sessions: list[str] = []
    pause = fake.batch_mode.pause("upload")  # the second chunk is held halfway

    async def first() -> None:
        async with client:
            task = asyncio.ensure_future(
                jobs.upload(path, chunk_bytes=4000, on_session=sessions.append, client=client)
            )
            while not pause.reached.is_set():
                await asyncio.sleep(0.01)
            task.cancel()  # the process "dies" mid-chunk
            pause.release()
            with pytest.raises(asyncio.CancelledError):
                await task

    fake.batch_mode.break_chunks(0)
    asyncio.run(first())
    assert len(sessions) == 1
    before = fake.count("UploadFile")
    with textservice.Client("k", transport="rest", channel_factory=fake.http_transport) as again:

        async def resume() -> Any:
            async with again:
                return await jobs.upload(path, resume=sessions[0], chunk_bytes=4000, client=again)

        file = asyncio.run(resume())
    stored = next(f for f in fake.batch_mode.files if f.name == file["name"])
    assert stored.data == data
    commands = [
        dict(c.metadata).get("x-goog-upload-command")
        for c in fake.calls[before:]
        if c.method == "UploadFile"
    ]
    # no new session: where it stands, the rest of the held chunk, the last one
    assert commands == ["query", "upload", "upload, finalize"]


def test_an_upload_that_finished_unseen_is_found_by_its_session(
    fake: FakeServer, client: textservice.Client, tmp_path: Path
) -> None:
    """The crash after the upload, before its answer was saved: the session says it is done,
    and its file comes back without a byte sent again (nor a second file)."""
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"y" * 5000)
    sessions: list[str] = []
    counted: list[int] = []

    async def twice() -> tuple[Any, Any]:
        async with client:
            done = await jobs.upload(path, on_session=sessions.append, client=client)
            counted.append(fake.count("UploadFile"))
            return done, await jobs.upload(path, resume=sessions[0], client=client)

    done, again = asyncio.run(twice())
    assert again["name"] == done["name"] and len(fake.batch_mode.files) == 1
    commands = [
        dict(c.metadata).get("x-goog-upload-command")
        for c in fake.calls[counted[0] :]
        if c.method == "UploadFile"
    ]
    assert commands == ["query"]


def test_download_asks_for_the_rest_after_a_drop(
    fake: FakeServer, client: textservice.Client, tmp_path: Path
) -> None:
    texts = [f"t{i}" for i in range(700)]
    created = batches.create_embeddings(EMBEDDING_001, texts, client=client)
    _done(created["name"], client)
    fake.batch_mode.break_downloads(1)
    got = batches.embeddings(created["name"], client=client, output="numpy")["embedding"]
    assert fake.count("DownloadFile") == 2  # dropped halfway, then the rest (Range)
    online = textservice.embed_content(EMBEDDING_001, texts[:5], client=client, output="numpy")
    assert bool((got[:5] == online["embedding"]).all())


def test_input_lines_are_embed_content_requests(client: textservice.Client, tmp_path: Path) -> None:
    requests = batches.request_json(EMBEDDING_2, task_type="document", output_dimensionality=256)
    path = tmp_path / "lines.jsonl"
    with path.open("wb") as sink:
        lines = batches.RequestLines(requests, sink)
        lines.add_all([("k1", {"text": "body", "title": "Head"}), ("k2", "plain")])
    written = [json.loads(line) for line in path.read_text().splitlines()]
    assert [w["key"] for w in written] == ["k1", "k2"]
    assert written[0]["request"] == {
        "model": EMBEDDING_2,
        "outputDimensionality": 256,
        "content": {"parts": [{"text": "title: Head | text: body"}]},
    }
    assert lines.lines == 2 and lines.bytes == path.stat().st_size


def test_inline_or_file_by_size() -> None:
    assert plan_input(1000, 100_000, 768).inline
    assert not plan_input(10, INLINE_BYTES, 8).inline  # requests too large
    big_results = plan_input(1000, 100_000, 3072)  # 1,000 x 3,072 values: ~37 MB of JSON
    assert not big_results.inline
    assert "Files API" in big_results.describe() and "1,000 requests" in big_results.describe()
