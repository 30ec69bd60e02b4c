"""``sync_twin``: the sync face of an async call, made from it (Batch mode's twins)."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from textservice import batches
from textservice._facade.twins import face, sync_twin

T = TypeVar("T")


class _Path:
    """A call path that runs coroutines on a loop of its own thread, as a client's does."""

    def __init__(self) -> None:
        self.clients: list[object] = []

    def run_sync(self, make: Callable[[], Awaitable[T]]) -> T:
        result: list[T] = []
        thread = threading.Thread(target=lambda: result.append(asyncio.run(_await(make))))
        thread.start()
        thread.join()
        return result[0]


async def _await(make: Callable[[], Awaitable[T]]) -> T:
    return await make()


def test_sync_twin_runs_the_call_on_the_client_paths_thread() -> None:
    path = _Path()

    def path_of(client: object) -> Any:
        path.clients.append(client)
        return path

    async def double(value: int, *, client: object = None) -> tuple[int, str]:
        """Twice ``value``."""
        return value * 2, threading.current_thread().name

    twin = sync_twin(double, path_of, "double_sync", "``double`` for synchronous code.")
    client = object()
    value, thread = twin(21, client=client)
    assert value == 42
    assert thread != threading.current_thread().name
    assert path.clients == [client]
    assert twin(1)[0] == 2
    assert path.clients == [client, None]  # no client: the default client's path
    assert twin.__name__ == "double_sync"
    assert twin.__doc__ == "``double`` for synchronous code."
    assert inspect.signature(twin) == inspect.signature(double)


def test_batch_modes_sync_calls_show_their_async_twins_arguments() -> None:
    pairs: list[tuple[Callable[..., Any], Callable[..., Any]]] = [
        (batches.get, batches.get_async),
        (batches.cancel, batches.cancel_async),
        (batches.delete, batches.delete_async),
        (batches.wait, batches.wait_async),
        (batches.create_embeddings, batches.create_embeddings_async),
    ]
    for sync, twin in pairs:
        assert inspect.signature(sync) == inspect.signature(twin)
        assert not inspect.iscoroutinefunction(sync)
        assert (sync.__doc__ or "").startswith(f"``{sync.__name__}_async`` for synchronous code")


def test_face_checks_the_arguments_before_using_the_call() -> None:
    events: list[str] = []

    def checked(value: int) -> int:
        events.append("checked")
        if value < 0:
            raise ValueError("value must not be negative")
        return value

    def use(value: int) -> str:
        events.append("used")
        return str(value)

    shown = face(checked, use, "``use`` of the checked value.")
    assert shown(3) == "3" and events == ["checked", "used"]
    with pytest.raises(ValueError, match="negative"):
        shown(-1)
    assert events == ["checked", "used", "checked"]
    assert shown.__doc__ == "``use`` of the checked value."
