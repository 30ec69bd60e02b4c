"""``Client(transport="rest")``: the option, the key's header, timeouts and request options."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

import textservice
from textservice import DeadlineExceeded, TextServiceClient
from textservice.client import get_default_client
from textservice.testing import FakeServer

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
        TextServiceClient("k", transport="http")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="http2"):
        TextServiceClient("k", transport="rest", http2="yes")  # type: ignore[arg-type]
    client = textservice.configure("k", transport="rest", endpoint="127.0.0.1:1", insecure=True)
    try:
        assert client.transport == "rest"
        assert "transport='rest+plaintext'" in repr(client)
        assert get_default_client() is client
    finally:
        client.close()
    assert TextServiceClient("k", endpoint="127.0.0.1:1", insecure=True).transport == "grpc"


def test_the_key_travels_in_its_header_never_in_the_url() -> None:
    fake = FakeServer(api_key=KEY, embedding_dimension=8)
    recording = Recording(fake)
    metadata = {"x-custom": "v"}
    with TextServiceClient(
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
    with TextServiceClient("k", transport="rest", channel_factory=fake.http_transport) as client:
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
        async with TextServiceClient(
            "k", transport="rest", channel_factory=fake.http_transport
        ) as client:
            return await asyncio.gather(
                *(textservice.embed_content_async(MODEL, f"t{i}", client=client) for i in range(20))
            )

    assert len(asyncio.run(main())) == 20
    assert fake.count("EmbedContent") == 20
