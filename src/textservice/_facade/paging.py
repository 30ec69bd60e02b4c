"""List RPCs that answer in pages (``page_size``/``page_token`` in, ``next_page_token`` out),
as one iterator over every item of every page.

The generated facade builds the first request (its arguments checked) and names the fields;
the pages are fetched one at a time as the items are consumed, each with the call's options
(timeout and retries per page). A server that sends a page token it sent before would make
the listing endless: that raises ``Internal``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

from textservice._facade.clients import get_client
from textservice._facade.twins import face
from textservice._transport.methods import MethodSpec
from textservice._transport.options import RequestOptions, check_request_options
from textservice.client import call_path
from textservice.errors import Internal

# The RPC layer (asyncio, grpclib, the rate governor) is imported with the first page's call,
# not when a facade is imported (issue 21).
if TYPE_CHECKING:
    import betterproto2

    from textservice._transport.callpath import CallPath

__all__ = ["Paging", "paged", "paged_async"]


@dataclasses.dataclass(frozen=True)
class Paging:
    """Where a list RPC keeps its items and page tokens (proto field names, as betterproto2
    spells them)."""

    items: str
    """The response's repeated field of items (``models``)."""
    token: str = "page_token"
    """The request's page token."""
    next_token: str = "next_page_token"
    """The response's token of the next page (empty on the last page)."""


class _Pages:
    """The requests of one listing, in order: the first, then one per next-page token."""

    def __init__(self, request: betterproto2.Message, paging: Paging) -> None:
        self.request: betterproto2.Message | None = request
        self.paging = paging
        self.seen: set[str] = set()

    def items(self, response: Any) -> list[dict[str, Any]]:
        """The page's items as dicts; prepares the next request (``None``: this was the last)."""
        assert self.request is not None
        token = getattr(response, self.paging.next_token)
        if not token:
            self.request = None
        elif token in self.seen:
            raise Internal(f"the server sent the page token {token!r} twice: the list never ends")
        else:
            self.seen.add(token)
            self.request = dataclasses.replace(self.request, **{self.paging.token: token})  # type: ignore[type-var]
        from textservice._encoding.dicts import to_dict

        return [to_dict(item) for item in getattr(response, self.paging.items)]


@dataclasses.dataclass(frozen=True)
class _Listing:
    """A list RPC's call, its options and client checked: its pages fetched as its items are
    consumed."""

    path: CallPath
    method: MethodSpec[Any, Any]
    pages: _Pages
    options: RequestOptions

    @classmethod
    def checked(
        cls,
        method: MethodSpec[Any, Any],
        request: betterproto2.Message,
        paging: Paging,
        client: object,
        request_options: object,
    ) -> _Listing:
        """The options, then the client, checked in the caller's thread before any network."""
        options = check_request_options(request_options)
        return cls(call_path(get_client(client)), method, _Pages(request, paging), options)

    def items(self) -> Iterator[dict[str, Any]]:
        """Every item, each page fetched through the client's loop thread."""
        pages, path = self.pages, self.path
        while pages.request is not None:
            response = path.run_sync(_page(path, self.method, pages.request, self.options))
            yield from pages.items(response)

    async def items_async(self) -> AsyncIterator[dict[str, Any]]:
        """Every item, each page fetched on the caller's event loop."""
        from textservice._transport import rpc

        pages, method = self.pages, self.method
        while pages.request is not None:
            response = await rpc.call(
                self.path, method, pages.request, self.options, method.response_type
            )
            for item in pages.items(response):
                yield item


def _page(
    path: CallPath, method: MethodSpec[Any, Any], request: Any, options: RequestOptions
) -> Callable[[], Awaitable[Any]]:
    """What the sync bridge runs for one page."""
    from textservice._transport import rpc

    return lambda: rpc.call(path, method, request, options, method.response_type)


paged = face(
    _Listing.checked,
    _Listing.items,
    "Every item of every page, for synchronous code (options and client checked now, pages "
    "fetched as the iterator is consumed).",
)
paged_async = face(
    _Listing.checked,
    _Listing.items_async,
    "``paged`` as an async iterator (``async for item in ...``).",
)
