"""Declarations the generated facades fill in: one ``MethodSpec`` per unary RPC."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

import betterproto2

from textservice.retry import Retry

RequestT = TypeVar("RequestT", bound=betterproto2.Message)
ResponseT = TypeVar("ResponseT", bound=betterproto2.Message)


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
    request_type: type[RequestT]
    response_type: type[ResponseT]
    default_timeout: float | None
    """Seconds; bounds the whole call including retries."""
    default_retry: Retry | None
    http: tuple[HttpRule, ...] = ()
    """The REST bindings: the ``google.api.http`` rule, then its ``additional_bindings``
    (empty: the RPC has no REST face)."""

    @property
    def route(self) -> str:
        """The gRPC path, ``/package.Service/Method``."""
        return f"/{self.service}/{self.name}"
