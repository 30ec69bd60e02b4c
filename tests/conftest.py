"""Shared fixtures; the markers' check is the ``support.marker_guard`` plugin, the optional
packages' the ``support.skip_guard`` plugin; ``pytester`` runs small suites in-process."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from support import reference
from support.transports import TRANSPORTS

from textservice.client import ENDPOINT_ENV

pytest_plugins = [
    "support.marker_guard",
    "support.skip_guard",
    "support.cpu_usage",
    "support.ray_cluster",
    "pytester",
]

# A server named in the developer's environment would take the default client (and every
# command the tests run) away from the servers the tests start.
os.environ.pop(ENDPOINT_ENV, None)

# A shell runs a background job (`cmd &`, without job control) with SIGINT ignored, and an
# ignored signal stays ignored in every child: Python would raise no KeyboardInterrupt, and
# the Ctrl-C tests would fail or hang. Handling it here makes it Python's default again, in
# this process and (a handled signal is reset on exec) in every process the tests start.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    """Each of the client's transports in turn (``support.transports.via`` reaches the fake
    over it)."""
    name: str = request.param
    return name


@pytest.fixture(scope="session")
def reference_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder with protoc's standard ``_pb2``/``_pb2_grpc`` modules of ``protos/``."""
    return reference.build(tmp_path_factory.mktemp("reference"))
