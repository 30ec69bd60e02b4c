"""Replies decoded without holding up the event loop that every call of a client shares.

Both transports decode a reply after it has arrived (gRPC: protobuf bytes, ``rpc._unary``;
REST: JSON, ``rest.connection``), within the attempt's deadline; a large one goes to a worker
thread, so the loop goes on serving the other calls in flight, their timers and their
cancellations. A decoding that outlasts the deadline is abandoned (its thread finishes it and
the result is dropped); the call fails with ``DeadlineExceeded`` on time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from typing import TypeVar

__all__ = ["OFF_LOOP_BYTES", "off_loop"]

T = TypeVar("T")

OFF_LOOP_BYTES = 16 * 1024
"""A reply this large that no fast path decodes is decoded on a worker thread. betterproto2
takes about a microsecond a byte, from protobuf (far more for some garbage) as from proto3
JSON (``from_dict``: 1 us a byte for a ``ListModels`` page of empty models, measured), so
below this a reply holds the loop for some 20 ms at most."""


async def off_loop(
    decode: Callable[[bytes], T], data: bytes, executor: Executor | None = None
) -> T:
    """``decode(data)``: at once when ``data`` is shorter than ``OFF_LOOP_BYTES``, else on a
    worker thread of ``executor`` (``None``: the loop's default executor)."""
    if len(data) < OFF_LOOP_BYTES:
        return decode(data)
    return await asyncio.get_running_loop().run_in_executor(executor, decode, data)
