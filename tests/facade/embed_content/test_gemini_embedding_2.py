"""gemini-embedding-2 through ``embed_content`` against the fake: instructions, never task
fields, one vector per item, media items, and the fake's emulation of the model. What goes
through a client runs over each transport (the ``transport`` fixture: gRPC and REST)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from grpclib.const import Status
from support.fake_helpers import bad_request_fields, module, outcome
from support.transports import via

import textservice
from textservice import _profiles
from textservice._encoding.media import Blob
from textservice._profiles import MAX_REQUEST_BYTES, task_name
from textservice.client import Client
from textservice.testing import FakeServer
from textservice.testing.vectors import expected_content_embedding, expected_parts_embedding

TWO = "models/gemini-embedding-2"
ONE = "models/gemini-embedding-001"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
PDF = b"%PDF-1.7\n" + b"x" * 500


def _client(fake: FakeServer, transport: str = "grpc") -> Client:
    return Client(api_key="k", **via(fake, transport))


@pytest.fixture
def fake() -> FakeServer:
    return FakeServer(known_models=None)


@pytest.fixture
def client(fake: FakeServer, transport: str) -> Iterator[Client]:
    c = _client(fake, transport)
    try:
        yield c
    finally:
        c.close()


def _requests(fake: FakeServer) -> list[Any]:
    """Every EmbedContentRequest the fake received, batches unpacked, in order."""
    out: list[Any] = []
    for call in fake.calls:
        if call.method == "BatchEmbedContents":
            out.extend(call.request.requests)
        elif call.method == "EmbedContent":
            out.append(call.request)
    return out


def _texts(request: Any) -> list[str | None]:
    return [part.text for part in request.content.parts]


# -- text: instructions, never the fields ------------------------------------------------------

CASES = [
    ("retrieval_query", "task: search result | query: {}"),
    ("query", "task: search result | query: {}"),
    ("RETRIEVAL_DOCUMENT", "title: none | text: {}"),
    ("document", "title: none | text: {}"),
    ("semantic_similarity", "task: sentence similarity | query: {}"),
    ("similarity", "task: sentence similarity | query: {}"),
    ("classification", "task: classification | query: {}"),
    ("clustering", "task: clustering | query: {}"),
    ("question_answering", "task: question answering | query: {}"),
    ("qa", "task: question answering | query: {}"),
    ("fact_verification", "task: fact checking | query: {}"),
    ("verification", "task: fact checking | query: {}"),
    ("code_retrieval_query", "task: code retrieval | query: {}"),
    (1, "task: search result | query: {}"),  # the enum's number
]


@pytest.mark.parametrize(("task", "form"), CASES)
def test_requests_carry_the_instruction_text_and_never_the_fields(
    fake: FakeServer, client: Client, task: object, form: str
) -> None:
    texts = ["first", "second", "third"]
    if isinstance(task, str) and task_name(task) not in {m.name for m in module("v1beta").TaskType}:
        # protos older than the task type (v1beta before CODE_RETRIEVAL_QUERY) do not take it
        with pytest.raises(ValueError, match="is not a TaskType of this API version"):
            textservice.embed_content(TWO, texts, task_type=task, client=client)
        return
    result = textservice.embed_content(TWO, texts, task_type=task, client=client)  # type: ignore[call-overload]
    sent = _requests(fake)
    assert [_texts(r) for r in sent] == [[form.format(t)] for t in texts]
    assert all(r.task_type is None and r.title is None for r in sent)
    # each item its own request and its own vector, in input order
    assert result["embedding"] == [expected_parts_embedding(TWO, [form.format(t)]) for t in texts]


def test_a_title_goes_in_the_document_form_and_an_items_title_wins(
    fake: FakeServer, client: Client
) -> None:
    textservice.embed_content(
        TWO,
        [{"text": "a", "title": "Mine"}, "b", {"text": "c", "title": None}],
        task_type="document",
        title="Call",
        client=client,
    )
    sent = _requests(fake)
    assert [_texts(r) for r in sent] == [
        ["title: Mine | text: a"],
        ["title: Call | text: b"],
        ["title: Call | text: c"],
    ]
    assert all(r.task_type is None and r.title is None for r in sent)


def test_without_a_task_the_text_goes_as_it_is_and_titles_still_need_documents(
    fake: FakeServer, client: Client
) -> None:
    one = textservice.embed_content(TWO, "plain", client=client)
    assert _texts(_requests(fake)[0]) == ["plain"]
    assert one["embedding"] == expected_parts_embedding(TWO, ["plain"])
    with pytest.raises(ValueError, match="a title needs task_type='RETRIEVAL_DOCUMENT'"):
        textservice.embed_content(TWO, "x", task_type="query", title="T", client=client)


def test_a_task_type_without_an_instruction_is_a_value_error_before_a_call(
    fake: FakeServer, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # as when a newer proto adds a TaskType member the profiles have no text for
    known = {k: v for k, v in _profiles.TASK_INSTRUCTIONS.items() if k != "CLUSTERING"}
    monkeypatch.setattr(_profiles, "TASK_INSTRUCTIONS", known)
    with pytest.raises(ValueError, match="task_type CLUSTERING has no instruction text for "):
        textservice.embed_content(TWO, ["a", "b"], task_type="clustering", client=client)
    assert fake.calls == []
    # the fields still carry it to a model that takes them
    textservice.embed_content(ONE, "a", task_type="clustering", client=client)
    assert _requests(fake)[0].task_type.name == "CLUSTERING"


def test_a_preview_name_follows_the_same_rules(fake: FakeServer, client: Client) -> None:
    preview = "models/gemini-embedding-2-preview"
    textservice.embed_content(preview, "hi", task_type="query", client=client)
    (request,) = _requests(fake)
    assert _texts(request) == ["task: search result | query: hi"]
    assert request.task_type is None


def test_gemini_embedding_001_keeps_the_fields_and_the_plain_text(
    fake: FakeServer, client: Client
) -> None:
    result = textservice.embed_content(
        ONE, ["a", "b"], task_type="document", title="T", client=client
    )
    sent = _requests(fake)
    assert [_texts(r) for r in sent] == [["a"], ["b"]]
    assert all(r.task_type.name == "RETRIEVAL_DOCUMENT" and r.title == "T" for r in sent)
    assert result["embedding"][0] == expected_content_embedding(ONE, "a", "RETRIEVAL_DOCUMENT", "T")


def test_iterating_and_async_send_the_instructions_too(fake: FakeServer, client: Client) -> None:
    texts = [f"t{i}" for i in range(7)]
    batches = list(
        textservice.iter_embed_content(TWO, texts, task_type="query", client=client, batch_size=3)
    )
    assert [len(b) for b in batches] == [3, 3, 1]

    async def go() -> Any:
        return await textservice.embed_content_async(TWO, "z", task_type="qa", client=client)

    asyncio.run(go())
    sent = _requests(fake)
    assert [_texts(r)[0] for r in sent] == [
        *(f"task: search result | query: {t}" for t in texts),
        "task: question answering | query: z",
    ]
    assert all(r.task_type is None for r in sent)


def test_the_strict_fake_refuses_the_fields_a_client_should_not_send(transport: str) -> None:
    strict = FakeServer(strict_models=True)
    m = module("v1beta")
    request = m.EmbedContentRequest(
        model=TWO, content=m.Content(parts=[m.Part(text="x")]), task_type=m.TaskType(1)
    )

    async def go() -> Any:
        async with strict.in_memory() as channel:
            return await outcome(channel, "v1beta", "EmbedContent", request)

    status, response = asyncio.run(go())
    assert status is Status.INVALID_ARGUMENT and "task_type" in str(response)
    # textservice never sends them, so the strict fake answers it
    with _client(strict, transport) as client:
        textservice.embed_content(TWO, "x", task_type="query", title=None, client=client)
        lenient = FakeServer()
        with _client(lenient) as other:
            # the lenient fake (like the API) takes the fields, ignores them and logs them
            assert asyncio.run(_lenient(lenient, request)) is Status.OK
            assert lenient.calls[-1].request.task_type is not None
            del other


async def _lenient(fake: FakeServer, request: Any) -> Status:
    async with fake.in_memory() as channel:
        status, _ = await outcome(channel, "v1beta", "EmbedContent", request)
        return status


def test_dimensions_outside_128_to_3072_are_refused_before_a_call(
    fake: FakeServer, client: Client
) -> None:
    for dim in (64, 3073):
        with pytest.raises(ValueError, match="between 128 and 3072"):
            textservice.embed_content(TWO, "x", output_dimensionality=dim, client=client)
    assert fake.calls == []
    short = textservice.embed_content(TWO, "x", output_dimensionality=256, client=client)
    vector = short["embedding"]
    assert len(vector) == 256 and abs(sum(v * v for v in vector) - 1) < 1e-6


# -- media ---------------------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {
        "png": tmp_path / "cat.PNG",
        "pdf": tmp_path / "paper.pdf",
        "txt": tmp_path / "notes.txt",
    }
    paths["png"].write_bytes(PNG)
    paths["pdf"].write_bytes(PDF)
    paths["txt"].write_text("hi")
    return paths


def test_an_image_a_pdf_and_a_caption_with_an_image(
    fake: FakeServer, client: Client, files: dict[str, Path]
) -> None:
    result = textservice.embed_content(
        TWO,
        [
            files["png"],
            {"mime_type": "application/pdf", "data": PDF},
            {"parts": ["A cat", files["png"]]},
        ],
        client=client,
    )
    assert result["embedding"] == [
        expected_parts_embedding(TWO, [("image/png", PNG)]),
        expected_parts_embedding(TWO, [("application/pdf", PDF)]),
        expected_parts_embedding(TWO, ["A cat", ("image/png", PNG)]),  # one aggregated vector
    ]
    (call,) = fake.calls
    assert call.method == "BatchEmbedContents" and len(call.request.requests) == 3


def test_one_media_item_is_one_embed_content_call(
    fake: FakeServer, client: Client, files: dict[str, Path]
) -> None:
    result = textservice.embed_content(TWO, files["pdf"], client=client)
    assert result["embedding"] == expected_parts_embedding(TWO, [("application/pdf", PDF)])
    assert [c.method for c in fake.calls] == ["EmbedContent"]


def test_a_task_goes_into_the_items_text_or_stands_first(
    fake: FakeServer, client: Client, files: dict[str, Path]
) -> None:
    textservice.embed_content(
        TWO, [{"parts": ["A cat", files["png"]]}, files["png"]], task_type="query", client=client
    )
    first, second = _requests(fake)
    assert _texts(first) == ["task: search result | query: A cat", None]
    assert _texts(second) == ["task: search result | query: ", None]
    assert second.content.parts[1].inline_data.data == PNG


@pytest.mark.parametrize(
    ("item", "error", "message"),
    [
        ("path:png", ValueError, r"contents\[1\] is a media item \(image/png .*embeds text only"),
        ({"mime_type": "image/png", "data": PNG}, ValueError, r"contents\[1\] is a media item"),
    ],
)
def test_media_for_a_text_only_model_is_refused_naming_the_item(
    fake: FakeServer,
    client: Client,
    files: dict[str, Path],
    item: object,
    error: type[Exception],
    message: str,
) -> None:
    given = files["png"] if item == "path:png" else item
    with pytest.raises(error, match=message):
        textservice.embed_content(ONE, ["text", given], client=client)  # type: ignore[arg-type]
    assert fake.calls == []


def test_media_to_textservice_is_refused(files: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match="embeds text only"):
        textservice.embed_content("models/embedding-gecko-001", files["png"], client=None)


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"mime_type": "image/gif", "data": b"GIF89a"}, "does not embed image/gif"),
        ({"parts": [{"mime_type": "image/png", "data": PNG}] * 7}, "holds 7 images; .* at most 6"),
        ("path:txt", "cannot tell the mime type of .*notes.txt"),
        ("path:missing", "cannot read .*missing.png"),
        ({"parts": []}, r"\['parts'\] is empty"),
        ({"mime_type": "image/png", "data": "text"}, "must be bytes"),
        ({"parts": ["a"], "extra": 1}, "unknown key 'extra'"),
    ],
)
def test_bad_media_items_fail_before_any_call(
    fake: FakeServer, client: Client, files: dict[str, Path], item: object, message: str
) -> None:
    if item == "path:txt":
        item = files["txt"]
    elif item == "path:missing":
        item = files["png"].with_name("missing.png")
    with pytest.raises((ValueError, TypeError), match=message):
        textservice.embed_content(TWO, ["ok", item], client=client)  # type: ignore[arg-type]
    assert fake.calls == []


def test_an_item_over_the_request_size_is_refused(
    fake: FakeServer, client: Client, tmp_path: Path
) -> None:
    big = tmp_path / "big.mp4"
    with big.open("wb") as f:
        f.truncate(MAX_REQUEST_BYTES + 1)  # sparse: no memory, no disk
    with pytest.raises(ValueError, match=r"content is 20,000,0\d\d bytes; .* at most"):
        textservice.embed_content(TWO, big, client=client)
    assert fake.calls == []


def test_batches_shrink_so_each_request_fits(fake: FakeServer, client: Client) -> None:
    quarter = MAX_REQUEST_BYTES // 4
    blobs = [{"mime_type": "video/mp4", "data": bytes([i]) * quarter} for i in range(2)]
    result = textservice.embed_content(TWO, [*blobs, *(f"t{i}" for i in range(10))], client=client)
    assert len(result["embedding"]) == 12
    sizes = [len(c.request.requests) for c in fake.calls if c.method == "BatchEmbedContents"]
    assert sizes == [3, 3, 3, 3]  # 3 items of the largest's size fit in a request, 4 do not


def test_a_streams_batches_end_before_the_request_size(fake: FakeServer, client: Client) -> None:
    # a stream's largest item is not known in advance: each batch ends before the item that
    # would take its request past the size (a list's are cut to fit its largest: above)
    quarter = MAX_REQUEST_BYTES // 4
    sizes = [quarter, quarter, quarter, 100, quarter, quarter, 100, 100]
    stream = ({"mime_type": "video/mp4", "data": bytes([i]) * size} for i, size in enumerate(sizes))
    got = [v for b in textservice.iter_embed_content(TWO, stream, client=client) for v in b]
    assert len(got) == len(sizes)
    sent = [len(c.request.requests) for c in fake.calls if c.method == "BatchEmbedContents"]
    assert sent == [4, 4]  # three quarters and a small one; then two quarters and two small


def test_files_are_read_as_their_batches_are_sent(
    fake: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, transport: str
) -> None:
    paths = []
    for i in range(12):
        path = tmp_path / f"{i:02}.png"
        path.write_bytes(PNG + bytes([i]))
        paths.append(path)
    reads: list[Path] = []
    original = Blob.read

    def counted(self: Blob) -> bytes:
        if self.path is not None:
            reads.append(self.path)
        return original(self)

    monkeypatch.setattr(Blob, "read", counted)
    with Client(api_key="k", **via(fake, transport), max_concurrency=1) as one:
        batches = textservice.iter_embed_content(TWO, paths, client=one, batch_size=2)
        first = next(iter(batches))
        # the first batch is back while most files are still unread (none read at the check);
        # each file is read once: for the request's bytes (gRPC) or its JSON body (REST),
        # the one form its transport sends
        assert len(first) == 2 and 2 <= len(reads) <= 6
        rest = list(batches)
    assert sum(map(len, rest)) == 10 and sorted(reads) == sorted(paths)


# -- the hand-written bytes --------------------------------------------------------------------


@pytest.mark.parametrize("version", ["v1", "v1beta"])
@pytest.mark.parametrize("instruction", [False, True])
def test_media_requests_are_betterproto2s_bytes_and_json(version: str, instruction: bool) -> None:
    from textservice._encoding.embed_requests import ContentFields, ContentRequests, Document
    from textservice._encoding.json_mapping import to_json
    from textservice._profiles import TASK_INSTRUCTIONS

    m = module(version)
    template = m.EmbedContentRequest(model=TWO, output_dimensionality=256)
    form = TASK_INSTRUCTIONS["RETRIEVAL_DOCUMENT"] if instruction else None
    requests = ContentRequests(
        template,
        ContentFields(),
        m.BatchEmbedContentsRequest(model=TWO),
        instruction=form,
        instruction_title="T" if instruction else None,
    )
    items = [
        Document("", None, (Blob.of_bytes("image/png", PNG),)),
        Document("cap", None, ("cap", Blob.of_bytes("application/pdf", PDF), "more")),
        Document("plain"),
    ]

    def part(value: str | Blob) -> Any:
        if isinstance(value, str):
            return m.Part(text=value)
        return m.Part(inline_data=m.Blob(mime_type=value.mime_type, data=value.read()))

    def expected(item: Document) -> Any:
        parts = [part(p) for p in item.parts] if item.parts else [m.Part(text=item.text)]
        if form is not None:
            given = item.parts or (item.text,)
            texts = [(i, p) for i, p in enumerate(given) if isinstance(p, str)]
            if texts:
                first, text = texts[0]
                parts[first] = m.Part(text=form(text, "T"))
            else:
                parts.insert(0, m.Part(text=form("", "T")))
        return m.EmbedContentRequest(
            model=TWO, content=m.Content(parts=parts), output_dimensionality=256
        )

    for item in items:
        assert bytes(requests.one(item)) == bytes(expected(item))
        # and the REST body is betterproto2's proto3 JSON of the same message
        assert to_json(requests.one(item)) == expected(item).to_dict()
    batch = m.BatchEmbedContentsRequest(model=TWO, requests=[expected(i) for i in items])
    assert bytes(requests.many(items)) == bytes(batch)
    assert to_json(requests.many(items)) == batch.to_dict()


# -- the fake, as the model is documented ------------------------------------------------------


def _raw(fake: FakeServer, request: Any, method: str = "EmbedContent") -> tuple[Status, Any]:
    async def go() -> tuple[Status, Any]:
        async with fake.in_memory() as channel:
            return await outcome(channel, "v1beta", method, request)

    result: tuple[Status, Any] = asyncio.run(go())
    return result


def _content_request(model: str, *parts: Any, **fields: Any) -> Any:
    m = module("v1beta")
    built = [
        m.Part(text=p) if isinstance(p, str) else m.Part(inline_data=m.Blob(*p)) for p in parts
    ]
    return m.EmbedContentRequest(model=model, content=m.Content(parts=built), **fields)


def test_the_fake_aggregates_parts_in_order_and_ignores_task_fields(fake: FakeServer) -> None:
    m = module("v1beta")
    image = ("image/png", PNG)
    status, one = _raw(fake, _content_request(TWO, "a cat", image))
    assert status is Status.OK
    assert one.embedding.values == expected_parts_embedding(TWO, ["a cat", image])
    _, swapped = _raw(fake, _content_request(TWO, image, "a cat"))
    assert swapped.embedding.values != one.embedding.values  # the order counts
    _, tasked = _raw(
        fake, _content_request(TWO, "a cat", image, task_type=m.TaskType(2), title="T")
    )
    assert tasked.embedding.values == one.embedding.values  # accepted and ignored
    assert fake.calls[-1].request.title == "T"  # and logged


@pytest.mark.parametrize(
    ("parts", "fields", "model", "field"),
    [
        ([("image/png", PNG)] * 7, {}, TWO, "content.parts"),
        ([("image/gif", b"GIF89a")], {}, TWO, "content.parts[0].inline_data.mime_type"),
        (["x"], {"output_dimensionality": 64}, TWO, "output_dimensionality"),
        ([("image/png", PNG)], {}, ONE, "content.parts[0]"),
        ([("video/mp4", b"\0" * (MAX_REQUEST_BYTES + 1))], {}, TWO, "content"),
    ],
)
def test_the_fake_holds_requests_to_the_models_limits(
    fake: FakeServer, parts: list[Any], fields: dict[str, Any], model: str, field: str
) -> None:
    status, error = _raw(fake, _content_request(model, *parts, **fields))
    assert status is Status.INVALID_ARGUMENT
    assert bad_request_fields(error) == [field], error.message
