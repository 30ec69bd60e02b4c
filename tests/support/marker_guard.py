"""A pytest plugin that keeps the ``subprocess`` and ``network`` markers true.

`make test-fast` leaves out the tests marked ``subprocess`` or ``network`` (and ``slow``). So that
it really runs no process and opens no socket, a test without the marker fails when it (or a
fixture it uses) starts a process or uses an internet socket; ``make test`` runs everything with
the same check. Loaded by ``tests/conftest.py``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
from collections.abc import Callable, Generator, Iterator
from typing import Any
from unittest import mock

import pytest

# urllib3 probes for IPv6 when imported, by binding a socket to ("::1", 0) (HAS_IPV6 in
# urllib3/util/connection.py). The frameworks some tests import on first use (langchain-core,
# llama-index, google-genai, Ray) import urllib3; importing it here, before any test's
# tripwires, keeps that probe from being taken for the test's own socket (~12 ms).
with contextlib.suppress(ImportError):
    import urllib3.util.connection  # noqa: F401

_INET = (socket.AF_INET, socket.AF_INET6)
_SOCKET_METHODS = ("bind", "connect", "connect_ex")
_EFFECTS = pytest.StashKey[list[str]]()
"""What the running test did without its marker (``"subprocess: ..."``, ``"network: ..."``)."""


class UndeclaredEffect(Exception):
    """Raised in place of starting a process or opening a socket in a test not marked for it."""


def _refuse(item: pytest.Item, marker: str, what: str) -> UndeclaredEffect:
    """Record what ``item`` did without ``marker``; the error to raise in its place."""
    item.stash[_EFFECTS].append(f"{marker}: {what}")
    return UndeclaredEffect(f"{what} in a test not marked @pytest.mark.{marker}")


def _guarded_socket_method(item: pytest.Item, name: str) -> Callable[..., Any]:
    """``socket.socket.<name>``, refusing internet addresses for ``item``."""
    original = getattr(socket.socket, name)

    def method(self: socket.socket, *args: Any) -> Any:
        if self.family in _INET:  # not AF_UNIX: asyncio's own socket pairs stay allowed
            raise _refuse(item, "network", f"socket.{name}({', '.join(map(repr, args))})")
        return original(self, *args)

    return method


@contextlib.contextmanager
def _tripwires(item: pytest.Item) -> Iterator[None]:
    """While ``item`` runs: starting a process or using an internet socket raises, unless the
    test carries the marker that says it does."""
    item.stash[_EFFECTS] = []
    with contextlib.ExitStack() as stack:
        if item.get_closest_marker("subprocess") is None:

            def no_process(*args: Any, **kwargs: Any) -> Any:
                """Stands in for every way of starting a process."""
                raise _refuse(item, "subprocess", "a process was started")

            # Popen is what subprocess.run/check_output and asyncio's subprocesses go through.
            stack.enter_context(mock.patch.object(subprocess.Popen, "__init__", no_process))
            for name in ("fork", "system", "posix_spawn", "posix_spawnp"):
                if hasattr(os, name):
                    stack.enter_context(mock.patch.object(os, name, no_process))
        if item.get_closest_marker("network") is None:
            for name in _SOCKET_METHODS:
                method = _guarded_socket_method(item, name)
                stack.enter_context(mock.patch.object(socket.socket, name, method))
        yield


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, None, None]:
    """Run ``item`` with the tripwires its markers call for."""
    # Around setup, call and teardown at once, so that a test's own monkeypatching of these
    # functions is undone (by its teardown) before the originals are put back.
    with _tripwires(item):
        return (yield)


def _fail_if_undeclared(item: pytest.Item) -> None:
    """Fail the current phase of ``item`` if it did what its markers do not say."""
    effects = item.stash.get(_EFFECTS, [])
    if effects:
        item.stash[_EFFECTS] = []  # reported once, in the phase where it happened
        markers = sorted({effect.split(":", 1)[0] for effect in effects})
        lines = "\n  ".join(dict.fromkeys(effects))
        pytest.fail(
            f"{item.nodeid} needs @pytest.mark.{' and @pytest.mark.'.join(markers)}:\n  {lines}",
            pytrace=False,
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    """Fixtures' set-up counts: a fixture that starts a process needs its tests marked."""
    try:
        return (yield)
    finally:
        _fail_if_undeclared(item)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """The test itself (and any thread it starts)."""
    try:
        return (yield)
    finally:
        _fail_if_undeclared(item)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, None, None]:
    """Fixtures' tear-down."""
    try:
        return (yield)
    finally:
        _fail_if_undeclared(item)
