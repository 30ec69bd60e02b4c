"""pytest fixtures for the fake TextService, registered through the ``pytest11`` entry point.

Installing ``textservice`` makes them available in every test suite:

- ``fake_text_service``: a fresh ``FakeTextService`` per test; configure it with the marker
  ``@pytest.mark.fake_text_service(api_key="k", embedding_dimension=256, ...)`` (keyword
  arguments of ``FakeTextService``);
- ``fake_text_service_address``: that fake listening on 127.0.0.1 on a free port (a
  ``ServerAddress``; ``.target`` is ``"127.0.0.1:PORT"``), for sync code and subprocesses;
- ``fake_text_service_client``: a ``textservice.client.TextServiceClient`` talking to the
  fake in memory (no socket);
- ``fake_text_service_tcp_client``: the same client over the port.

The clients' quota clock runs as fast as the fake's (``quota_time_scale`` is the marker's
``quotas={"time_scale": ...}``), so their rate governor counts the fake's minutes.

Imports happen inside the fixtures, so suites that do not use them pay nothing.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from textservice.testing import FakeTextService, ServerAddress

MARKER = "fake_text_service"
FALLBACK_API_KEY = "fake-api-key"
"""The key clients send when the fake requires none (clients may insist on having one)."""


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker that configures the ``fake_text_service`` fixture."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**options): keyword arguments for the FakeTextService of the "
        "fake_text_service fixtures (api_key=, embedding_dimension=, known_models=, ...)",
    )


@pytest.fixture
def fake_text_service(request: pytest.FixtureRequest) -> FakeTextService:
    """A fresh fake TextService (configured by the ``fake_text_service`` marker, if any)."""
    from textservice.testing import FakeTextService

    marker = request.node.get_closest_marker(MARKER)
    if marker is not None and marker.args:
        raise pytest.UsageError(f"@pytest.mark.{MARKER} takes keyword arguments only")
    options: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    return FakeTextService(**options)


@pytest.fixture
def fake_text_service_address(fake_text_service: FakeTextService) -> Iterator[ServerAddress]:
    """The fake listening on 127.0.0.1 on a free port for the duration of the test."""
    with fake_text_service.serve() as address:
        yield address


def _client_class() -> Any:
    """``textservice.client.TextServiceClient``, imported only when a client fixture runs."""
    return importlib.import_module("textservice.client").TextServiceClient


def _client_options(fake: FakeTextService) -> dict[str, Any]:
    """Options a client of ``fake`` needs: its quota clock's speed, when it has quotas (so the
    client's rate governor counts minutes as the fake does)."""
    ledger = fake.quotas
    if ledger is None or ledger.quotas.time_scale == 1.0:
        return {}
    return {"quota_time_scale": ledger.quotas.time_scale}


def _close(client: Any) -> None:
    close = getattr(client, "close", None)
    if callable(close):
        close()


@pytest.fixture
def fake_text_service_client(fake_text_service: FakeTextService) -> Iterator[Any]:
    """A ``TextServiceClient`` bound to the fake through in-memory channels."""
    client = _client_class()(
        api_key=fake_text_service.api_key or FALLBACK_API_KEY,
        channel_factory=fake_text_service.channel,
        **_client_options(fake_text_service),
    )
    try:
        yield client
    finally:
        _close(client)


@pytest.fixture
def fake_text_service_tcp_client(
    fake_text_service: FakeTextService, fake_text_service_address: ServerAddress
) -> Iterator[Any]:
    """A ``TextServiceClient`` talking to the fake over 127.0.0.1 (plaintext)."""
    client = _client_class()(
        api_key=fake_text_service.api_key or FALLBACK_API_KEY,
        endpoint=fake_text_service_address.target,
        insecure=True,
        **_client_options(fake_text_service),
    )
    try:
        yield client
    finally:
        _close(client)
