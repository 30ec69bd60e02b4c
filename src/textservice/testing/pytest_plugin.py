"""pytest fixtures for the fake server, registered through the ``pytest11`` entry point.

Installing ``textservice`` makes them available in every test suite (each under two names:
the neutral one and the one from when the fake served TextService alone; both give the same
objects within a test):

- ``fake_server`` / ``fake_text_service``: a fresh ``FakeServer`` per test; configure it with
  the marker ``@pytest.mark.fake_server(api_key="k", strict_methods=True, ...)`` (or
  ``@pytest.mark.fake_text_service(...)``): keyword arguments of ``FakeServer``;
- ``fake_server_address`` / ``fake_text_service_address``: that fake listening on 127.0.0.1
  on a free port (a ``ServerAddress``; ``.target`` is ``"127.0.0.1:PORT"``), for sync code
  and subprocesses;
- ``fake_client`` / ``fake_text_service_client``: a ``textservice.client.Client``
  talking to the fake in memory (no socket);
- ``fake_tcp_client`` / ``fake_text_service_tcp_client``: the same client over the port;
- ``fake_rest_client``: a client with ``transport="rest"`` talking to the fake's REST face in
  memory (an httpx transport, no socket);
- ``fake_rest_address``: the fake's REST face listening on 127.0.0.1 on a free port (HTTP/1.1:
  ``f"http://{address.target}"`` is google-genai's ``base_url``).

The clients' quota clock runs as fast as the fake's (``quota_time_scale`` is the marker's
``quotas={"time_scale": ...}``), so their rate governor counts the fake's minutes.

Imports happen inside the fixtures, so suites that do not use them pay nothing.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from textservice.testing import FakeServer, ServerAddress

MARKERS = ("fake_server", "fake_text_service")
"""The markers configuring the fake (either one; not both on one test)."""
FALLBACK_API_KEY = "fake-api-key"
"""The key clients send when the fake requires none (clients may insist on having one)."""


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers that configure the ``fake_server`` fixture."""
    for name in MARKERS:
        config.addinivalue_line(
            "markers",
            f"{name}(**options): keyword arguments for the FakeServer of the fake_server / "
            "fake_text_service fixtures (api_key=, strict_methods=, known_models=, "
            "embedding_dimension=, quotas=, ...)",
        )


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    found = [(name, request.node.get_closest_marker(name)) for name in MARKERS]
    markers = [(name, marker) for name, marker in found if marker is not None]
    if len(markers) > 1:
        raise pytest.UsageError(
            "configure the fake with @pytest.mark.fake_server or @pytest.mark.fake_text_service, "
            "not both"
        )
    if not markers:
        return {}
    name, marker = markers[0]
    if marker.args:
        raise pytest.UsageError(f"@pytest.mark.{name} takes keyword arguments only")
    return dict(marker.kwargs)


@pytest.fixture
def fake_server(request: pytest.FixtureRequest) -> FakeServer:
    """A fresh fake server (configured by a ``fake_server`` marker, if any)."""
    from textservice.testing import FakeServer

    return FakeServer(**_options(request))


@pytest.fixture
def fake_text_service(fake_server: FakeServer) -> FakeServer:
    """The ``fake_server`` fixture under its older name."""
    return fake_server


@pytest.fixture
def fake_server_address(fake_server: FakeServer) -> Iterator[ServerAddress]:
    """The fake listening on 127.0.0.1 on a free port for the duration of the test."""
    with fake_server.serve() as address:
        yield address


@pytest.fixture
def fake_text_service_address(fake_server_address: ServerAddress) -> ServerAddress:
    """The ``fake_server_address`` fixture under its older name."""
    return fake_server_address


def _client_class() -> Any:
    """``textservice.client.Client``, imported only when a client fixture runs."""
    return importlib.import_module("textservice.client").Client


def _client_options(fake: FakeServer) -> dict[str, Any]:
    """Options a client of ``fake`` needs: its quota clock's speed, when it has quotas (so the
    client's rate governor counts minutes as the fake does)."""
    ledger = fake.quotas
    if ledger is None or ledger.quotas.time_scale == 1.0:
        return {}
    return {"quota_time_scale": ledger.quotas.time_scale}


@contextmanager
def _client_of(fake: FakeServer, **connection: Any) -> Iterator[Any]:
    """A client of ``fake`` (its key, its quota clock) connected by ``connection``, closed
    after the test."""
    client = _client_class()(
        api_key=fake.api_key or FALLBACK_API_KEY, **connection, **_client_options(fake)
    )
    try:
        yield client
    finally:
        close = getattr(client, "close", None)
        if callable(close):
            close()


@pytest.fixture
def fake_client(fake_server: FakeServer) -> Iterator[Any]:
    """A client bound to the fake through in-memory channels."""
    with _client_of(fake_server, channel_factory=fake_server.channel) as client:
        yield client


@pytest.fixture
def fake_text_service_client(fake_client: Any) -> Any:
    """The ``fake_client`` fixture under its older name."""
    return fake_client


@pytest.fixture
def fake_tcp_client(fake_server: FakeServer, fake_server_address: ServerAddress) -> Iterator[Any]:
    """A client talking to the fake over 127.0.0.1 (plaintext)."""
    with _client_of(fake_server, endpoint=fake_server_address.target, insecure=True) as client:
        yield client


@pytest.fixture
def fake_text_service_tcp_client(fake_tcp_client: Any) -> Any:
    """The ``fake_tcp_client`` fixture under its older name."""
    return fake_tcp_client


@pytest.fixture
def fake_rest_client(fake_server: FakeServer) -> Iterator[Any]:
    """A client bound to the fake's REST face in memory (``transport="rest"``)."""
    rest = {"transport": "rest", "channel_factory": fake_server.http_transport}
    with _client_of(fake_server, **rest) as client:
        yield client


@pytest.fixture
def fake_rest_address(fake_server: FakeServer) -> Iterator[ServerAddress]:
    """The fake's REST face listening on 127.0.0.1 on a free port for the test's duration."""
    with fake_server.serve_rest() as address:
        yield address
