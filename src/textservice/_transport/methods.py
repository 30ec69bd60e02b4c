"""Declarations the generated facades fill in: one ``MethodSpec`` per unary RPC, and the
message classes they name, imported on first use.

A generated facade names a message class as ``MessageRef(_pb, "EmbedTextRequest")`` rather
than ``_pb.EmbedTextRequest`` (``_pb`` being its API version's lazy package index), in its
``MethodSpec``s and in its tables keyed by class (``TypeMap``), so that importing the facade
(``textservice.generate_embeddings``) loads neither betterproto2 nor any proto module: they
load with the first call that builds or reads a message (issue 21: import time).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from textservice.retry import Retry

if TYPE_CHECKING:
    import betterproto2

RequestT = TypeVar("RequestT", bound="betterproto2.Message")
ResponseT = TypeVar("ResponseT", bound="betterproto2.Message")
V = TypeVar("V")


@dataclass(frozen=True)
class MessageRef:
    """A class of a (lazily imported) module, named: ``MessageRef(_pb, "Model")``."""

    module: Any
    """The module or package index holding the class."""
    name: str
    """The class's name in it."""

    def resolve(self) -> type[Any]:
        """The class (its module imported now, if it was not)."""
        value: type[Any] = getattr(self.module, self.name)
        return value


class TypeMap(Mapping[type[Any], V]):
    """A mapping keyed by classes named with ``MessageRef``s, imported on first lookup."""

    def __init__(self, items: Mapping[MessageRef, V]) -> None:
        self._items = dict(items)

    @cached_property
    def _by_type(self) -> dict[type[Any], V]:
        return {ref.resolve(): value for ref, value in self._items.items()}

    def __getitem__(self, key: type[Any]) -> V:
        return self._by_type[key]

    def __iter__(self) -> Iterator[type[Any]]:
        return iter(self._by_type)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        names = ", ".join(f"{ref.name}: {value!r}" for ref, value in self._items.items())
        return f"TypeMap({{{names}}})"


@dataclass(frozen=True)
class HttpRule:
    """One binding of an RPC's ``google.api.http`` rule: how the REST transport sends it.

    The generator copies the rule and its ``additional_bindings`` from the protos;
    ``textservice._transport.rest.routes`` reads them (path template, body, query).
    """

    verb: str
    """``GET``, ``POST``, ``PATCH``, ``DELETE``..."""
    path: str
    """The path template: ``/v1beta/{model=models/*}:batchEmbedContents``."""
    body: str = ""
    """``"*"``: every field not in the path is the JSON body; a field's name: that field is
    the body and the others go in the query string; ``""``: no body, all in the query."""


@dataclass(frozen=True)
class MethodSpec(Generic[RequestT, ResponseT]):
    """One unary RPC: where it goes (gRPC route, REST bindings), its message types and its
    default policy.

    The generator reads the default timeout and retry policy from the API version's
    ``generativeai_grpc_service_config.json``; ``None`` means the config names none.
    """

    service: str
    """Full service name, e.g. ``google.ai.generativelanguage.v1beta.TextService``."""
    name: str
    """Method name, e.g. ``BatchEmbedText``."""
    request: type[RequestT] | MessageRef
    """The request class, or a ``MessageRef`` to it (``request_type`` resolves it)."""
    response: type[ResponseT] | MessageRef
    """The response class, or a ``MessageRef`` to it (``response_type`` resolves it)."""
    default_timeout: float | None
    """Seconds; bounds the whole call including retries."""
    default_retry: Retry | None
    http: tuple[HttpRule, ...] = ()
    """The REST bindings: the ``google.api.http`` rule, then its ``additional_bindings``
    (empty: the RPC has no REST face)."""

    @cached_property
    def request_type(self) -> type[RequestT]:
        """The request message class."""
        request = self.request
        return cast(
            "type[RequestT]", request.resolve() if isinstance(request, MessageRef) else request
        )

    @cached_property
    def response_type(self) -> type[ResponseT]:
        """The response message class."""
        response = self.response
        return cast(
            "type[ResponseT]", response.resolve() if isinstance(response, MessageRef) else response
        )

    @property
    def route(self) -> str:
        """The gRPC path, ``/package.Service/Method``."""
        return f"/{self.service}/{self.name}"
