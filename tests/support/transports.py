"""The client's two transports, for suites that run over both against the fake.

``via(fake, transport)`` gives the ``Client`` keyword arguments reaching ``fake``
in process over that transport: its in-memory gRPC channel, or its REST face through an
in-memory httpx transport. The ``transport`` fixture (``tests/conftest.py``) runs a test once
per transport; ``BOTH`` does the same as a mark, for tests that take no fixture.
"""

from __future__ import annotations

from typing import Any

import pytest

from textservice._transport.methods import HttpRule
from textservice.client import TRANSPORTS
from textservice.testing import FakeServer
from textservice.testing.rest import rest_methods

__all__ = ["BOTH", "TRANSPORTS", "http_of", "via"]

BOTH = pytest.mark.parametrize("transport", TRANSPORTS)


def via(fake: FakeServer, transport: str) -> dict[str, Any]:
    """Client options reaching ``fake`` in process over ``transport``."""
    if transport == "rest":
        return {"transport": "rest", "channel_factory": fake.http_transport}
    if transport == "grpc":
        return {"channel_factory": fake.channel}
    raise ValueError(f"unknown transport {transport!r}")


def http_of(version: str, service: str, method: str) -> tuple[HttpRule, ...]:
    """The REST bindings the generated facade declares for ``method`` (for hand-built
    ``MethodSpec``s standing in for the generated ones)."""
    (found,) = [spec for spec in rest_methods(version, service) if spec.name == method]
    return found.http
