"""Exchanges the REST connection sends as they are: the Files API's media transfers.

An RPC goes over REST as its ``google.api.http`` rule says (``http_call``): a JSON body in, a
JSON body out. The Files API's upload and download are not like that (raw bytes in chunks,
answers in headers, a body streamed to a file: ``rest.files``), so each of their steps is a
``MediaCall`` that writes its own HTTP request on the connection's httpx client. It is still
one attempt of ``rpc.invoke``: the call path's key header and metadata come in ``headers``,
and the connection maps what httpx raises to the same typed errors as for an RPC, so retries,
deadlines and the rate governor treat it like any call.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

__all__ = ["MediaCall"]


class MediaCall(ABC):
    """One attempt of a media exchange (made again by ``rpc.invoke`` for each retry: it may
    keep what earlier attempts did)."""

    @abstractmethod
    async def exchange(
        self, client: httpx.AsyncClient, headers: dict[str, str], timeout: float | None
    ) -> Any:
        """Send it on ``client`` with ``headers`` (the key and metadata); what it answers.
        ``timeout``: what is left of the attempt (``None``: no limit). A failed HTTP status
        raises ``rest.errors.error_from_response``'s error; httpx's errors pass through (the
        connection maps them)."""
