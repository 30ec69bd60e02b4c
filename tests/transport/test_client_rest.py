"""``Client(transport="rest")``: the option, the key's header, timeouts and request options."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import textservice
from textservice import Client, DeadlineExceeded, Internal, TextServiceError, Unavailable
from textservice.client import get_default_client
from textservice.testing import FakeServer, retry_info

MODEL = "models/gemini-embedding-001"
KEY = "AIzaSy-rest-key-never-in-a-url"


class Recording(httpx.AsyncBaseTransport):
    """Records each request, then hands it to the fake's in-memory transport."""

    def __init__(self, fake: FakeServer) -> None:
        self.inner = fake.http_transport()
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)


def test_the_transport_option() -> None:
    with pytest.raises(ValueError, match="transport must be one of"):
        Client("k", transport="http")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="http2"):
        Client("k", transport="rest", http2="yes")  # type: ignore[arg-type]
    client = textservice.configure("k", transport="rest", endpoint="127.0.0.1:1", insecure=True)
    try:
        assert client.transport == "rest"
        assert "transport='rest+plaintext'" in repr(client)
        assert get_default_client() is client
    finally:
        client.close()
    assert Client("k", endpoint="127.0.0.1:1", insecure=True).transport == "grpc"


def test_the_key_travels_in_its_header_never_in_the_url() -> None:
    fake = FakeServer(api_key=KEY, embedding_dimension=8)
    recording = Recording(fake)
    metadata = {"x-custom": "v"}
    with Client(
        KEY, transport="rest", channel_factory=lambda: recording, metadata=metadata
    ) as client:
        textservice.embed_content(MODEL, ["a", "b"], client=client)
        list(textservice.list_models(client=client, page_size=2))
    assert len(recording.requests) >= 3
    for request in recording.requests:
        assert KEY not in str(request.url)
        assert request.headers["x-goog-api-key"] == KEY
        assert request.headers["x-custom"] == "v"
    assert (
        recording.requests[0].url.path == "/v1beta/models/gemini-embedding-001:batchEmbedContents"
    )
    # paging: the second page's token goes in the query string
    assert "pageToken=" in str(recording.requests[-1].url)


def test_timeouts_bound_the_call_and_reach_the_server_as_x_server_timeout() -> None:
    fake = FakeServer(embedding_dimension=8)
    fake.faults.delay(5.0)
    with Client("k", transport="rest", channel_factory=fake.http_transport) as client:
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded):
            textservice.embed_content(
                MODEL, "slow", client=client, request_options={"timeout": 0.3}
            )
        assert time.monotonic() - started < 3
    (call,) = fake.calls
    assert call.timeout == 1.0  # whole seconds, rounded up, as google-genai sends them


def test_async_calls_share_the_client_over_rest() -> None:
    fake = FakeServer(embedding_dimension=8)

    async def main() -> list[object]:
        async with Client("k", transport="rest", channel_factory=fake.http_transport) as client:
            return await asyncio.gather(
                *(textservice.embed_content_async(MODEL, f"t{i}", client=client) for i in range(20))
            )

    assert len(asyncio.run(main())) == 20
    assert fake.count("EmbedContent") == 20


def _client_answering(status: int, body: bytes, **options: object) -> Client:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body)

    return Client(
        "k",
        transport="rest",
        channel_factory=lambda: httpx.MockTransport(answer),
        **options,  # type: ignore[arg-type]
    )


@settings(max_examples=40, deadline=None)
@given(body=st.binary(max_size=200) | st.text(max_size=100).map(str.encode))
def test_any_reply_decodes_or_raises_internal(body: bytes) -> None:
    with _client_answering(200, body, retry=None) as client:
        for output in ("list", "numpy"):
            try:
                textservice.embed_content(MODEL, ["a", "b"], client=client, output=output)
            except Internal:
                pass
            except TextServiceError as exc:  # pragma: no cover - a failure shows the case
                raise AssertionError(f"{type(exc).__name__} for {body!r}") from exc


def test_a_proxys_error_page_is_unavailable_retried_then_raised() -> None:
    page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    fast = textservice.Retry(max_attempts=3, initial_backoff=0.001, max_backoff=0.002)
    with _client_answering(502, page, retry=fast) as client, pytest.raises(Unavailable) as info:
        textservice.count_tokens(MODEL, "x", client=client)
    assert "HTTP 502 Bad Gateway" in str(info.value)
    assert "gave up after 3 attempts" in str(info.value)


def test_googles_429_body_is_waited_out_by_the_governor() -> None:
    fake = FakeServer(embedding_dimension=8)
    fake.faults.fail_next(1, "RESOURCE_EXHAUSTED", details=[retry_info(0.2)])
    with Client("k", transport="rest", channel_factory=fake.http_transport) as client:
        started = time.monotonic()
        assert len(textservice.embed_content(MODEL, "q", client=client)["embedding"]) == 8
        assert time.monotonic() - started >= 0.2
        assert client.quota_stats().rejected == 1


@pytest.mark.network
def test_a_failed_connection_shows_no_key_in_its_traceback() -> None:
    import traceback

    client = Client(KEY, transport="rest", endpoint="127.0.0.1:1", insecure=True)
    with client, pytest.raises(Unavailable) as info:
        textservice.count_tokens(MODEL, "x", client=client, request_options={"retry": None})
    shown = "".join(
        traceback.TracebackException.from_exception(info.value, capture_locals=True).format()
    )
    assert "could not reach the server" in shown
    assert KEY not in shown


def test_the_fakes_rest_face_takes_the_key_as_a_query_parameter_too() -> None:
    fake = FakeServer(api_key=KEY, embedding_dimension=4)

    async def post(query: str) -> int:
        async with httpx.AsyncClient(transport=fake.http_transport(), base_url="http://f") as h:
            answer = await h.post(
                f"/v1beta/models/gemini-embedding-001:embedContent{query}",
                json={"content": {"parts": [{"text": "hi"}]}},
            )
            return answer.status_code

    assert asyncio.run(post(f"?key={KEY}&alt=json")) == 200
    assert asyncio.run(post("?key=wrong")) == 401
    assert asyncio.run(post("?bogus=1")) == 400
    assert [c.status and c.status.name for c in fake.calls] == [
        "OK",
        "UNAUTHENTICATED",
        "INVALID_ARGUMENT",
    ]
