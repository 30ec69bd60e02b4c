"""The client's two transports, for suites that run over both against the fake.

``via(fake, transport)`` gives the ``TextServiceClient`` keyword arguments reaching ``fake``
in process over that transport: its in-memory gRPC channel, or its REST face through an
in-memory httpx transport. The ``transport`` fixture (``tests/conftest.py``) runs a test once
per transport; ``BOTH`` does the same as a mark, for tests that take no fixture.
"""

from __future__ import annotations

from typing import Any

import pytest

from textservice.client import TRANSPORTS
from textservice.testing import FakeServer

__all__ = ["BOTH", "TRANSPORTS", "via"]

BOTH = pytest.mark.parametrize("transport", TRANSPORTS)


def via(fake: FakeServer, transport: str) -> dict[str, Any]:
    """Client options reaching ``fake`` in process over ``transport``."""
    if transport == "rest":
        return {"transport": "rest", "channel_factory": fake.http_transport}
    if transport == "grpc":
        return {"channel_factory": fake.channel}
    raise ValueError(f"unknown transport {transport!r}")
