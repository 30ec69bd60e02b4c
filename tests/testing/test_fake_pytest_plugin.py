"""The pytest plugin reaches users through the ``pytest11`` entry point of the installed package."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from support.runtime_specs import MODEL, embed_sync, options

import textservice
from textservice.testing import FakeServer, expected_content_embedding, expected_embedding

USER_TESTS = textwrap.dedent(
    """
    import asyncio

    import grpclib.client
    import pytest

    from textservice._encoding.codec import Codec
    from textservice._proto.google.ai.generativelanguage import v1beta
    from textservice._transport.status import StatusDetailsCodec
    from textservice.testing import FakeServer, ServerAddress, expected_embedding


    def test_fresh_fake(fake_server):
        assert isinstance(fake_server, FakeServer)
        assert fake_server.api_key is None and fake_server.count() == 0


    @pytest.mark.fake_server(api_key="k", embedding_dimension=8)
    def test_marker_configures_it(fake_server):
        assert fake_server.api_key == "k"
        assert fake_server.embedding_dimension == 8


    @pytest.mark.fake_server(embedding_dimension=8)
    def test_address(fake_server, fake_server_address):
        assert isinstance(fake_server_address, ServerAddress)

        async def go():
            channel = grpclib.client.Channel(
                fake_server_address.host,
                fake_server_address.port,
                codec=Codec(),
                status_details_codec=StatusDetailsCodec(),
            )
            try:
                stub = v1beta.TextServiceStub(channel)
                return await stub.embed_text(
                    v1beta.EmbedTextRequest(model="models/embedding-gecko-001", text="u")
                )
            finally:
                channel.close()

        response = asyncio.run(go())
        assert response.embedding.value == expected_embedding(
            "models/embedding-gecko-001", "u", 8
        )
        assert fake_server.count("EmbedText") == 1
    """
)


NEUTRAL_USER_TESTS = textwrap.dedent(
    """
    import pytest

    from textservice.testing import FakeServer, ServerAddress


    def test_old_and_new_names_are_the_same_objects(
        fake_server, fake_text_service, fake_server_address, fake_text_service_address,
        fake_client, fake_text_service_client, fake_tcp_client, fake_text_service_tcp_client,
    ):
        assert isinstance(fake_server, FakeServer) and fake_server is fake_text_service
        assert isinstance(fake_server_address, ServerAddress)
        assert fake_server_address is fake_text_service_address
        assert fake_client is fake_text_service_client
        assert fake_tcp_client is fake_text_service_tcp_client


    @pytest.mark.fake_server(strict_methods=True, embedding_dimension=8)
    def test_the_neutral_marker(fake_text_service):
        assert fake_text_service.strict_methods and fake_text_service.embedding_dimension == 8


    @pytest.mark.fake_server(api_key="a")
    @pytest.mark.fake_text_service(api_key="b")
    def test_both_markers_are_refused(request):
        with pytest.raises(pytest.UsageError, match="not both"):
            request.getfixturevalue("fake_server")


    @pytest.mark.fake_server("positional")
    def test_positional_arguments_are_refused(request):
        with pytest.raises(pytest.UsageError, match="keyword arguments only"):
            request.getfixturevalue("fake_server")
    """
)


def test_entry_point_is_registered() -> None:
    found = [ep for ep in entry_points(group="pytest11") if ep.name == "textservice"]
    assert [ep.value for ep in found] == ["textservice.testing.pytest_plugin"]


@pytest.mark.subprocess
def test_fixtures_work_in_a_users_suite(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(USER_TESTS, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout


@pytest.mark.subprocess
def test_neutral_fixture_and_marker_names(tmp_path: Path) -> None:
    (tmp_path / "test_neutral.py").write_text(NEUTRAL_USER_TESTS, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 passed" in done.stdout


@pytest.mark.subprocess
def test_marker_is_registered(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--markers", "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert "@pytest.mark.fake_text_service(**options)" in done.stdout
    assert "@pytest.mark.fake_server(**options)" in done.stdout


# -- the client fixtures (this suite has the plugin too: the package is installed) ------------


@pytest.mark.network
@pytest.mark.fake_server(api_key="plugin-key", embedding_dimension=16)
@pytest.mark.parametrize("fixture", ["fake_client", "fake_tcp_client"])
def test_client_fixtures_reach_the_fake(
    fixture: str, fake_server: FakeServer, request: pytest.FixtureRequest
) -> None:
    client = request.getfixturevalue(fixture)
    texts = [f"text {i}" for i in range(150)]
    got = embed_sync(client, texts, options())
    assert got == [expected_embedding(MODEL, t, 16) for t in texts]
    assert fake_server.count("BatchEmbedText") == 2  # 100 + 50
    assert all(call.api_key == "plugin-key" for call in fake_server.calls)


@pytest.mark.network  # the TCP client's fake listens on 127.0.0.1
@pytest.mark.fake_server(quotas={"requests_per_minute": 2, "time_scale": 60})
def test_client_fixtures_count_the_fakes_quota_minutes(
    fake_client: object, fake_tcp_client: object
) -> None:
    from textservice.client import Client, call_path

    for client in (fake_client, fake_tcp_client):
        assert isinstance(client, Client)
        assert call_path(client).governor.settings.minute == 1.0  # 60 s / 60


def test_client_fixtures_keep_the_apis_minute(fake_client: object) -> None:
    from textservice.client import Client, call_path

    assert isinstance(fake_client, Client)
    assert call_path(fake_client).governor.settings.minute == 60.0


@pytest.mark.fake_server(api_key="rest-key", embedding_dimension=8)
def test_the_rest_client_fixture(fake_server: FakeServer, fake_rest_client: Any) -> None:
    assert fake_rest_client.transport == "rest"
    result = textservice.embed_content("models/gemini-embedding-001", "hi", client=fake_rest_client)
    assert result["embedding"] == expected_content_embedding(
        "models/gemini-embedding-001", "hi", dimension=8
    )
    assert [call.method for call in fake_server.calls] == ["EmbedContent"]


@pytest.mark.network
@pytest.mark.parametrize("http2", [False, True])  # h2 offered; the fake answers HTTP/1.1
@pytest.mark.fake_server(api_key="rest-key", embedding_dimension=8)
def test_the_rest_address_fixture(
    fake_server: FakeServer, fake_rest_address: Any, http2: bool
) -> None:
    with textservice.Client(
        "rest-key",
        transport="rest",
        http2=http2,
        endpoint=fake_rest_address.target,
        insecure=True,
    ) as client:
        assert textservice.count_tokens("models/gemini-embedding-001", "a b", client=client)
    assert [call.method for call in fake_server.calls] == ["CountTokens"]
