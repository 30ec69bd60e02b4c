"""Declarations the generated facades fill in: one ``MethodSpec`` per RPC of a TextService."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

import betterproto2

from textservice.retry import Retry

RequestT = TypeVar("RequestT", bound=betterproto2.Message)
ResponseT = TypeVar("ResponseT", bound=betterproto2.Message)


@dataclass(frozen=True)
class MethodSpec(Generic[RequestT, ResponseT]):
    """One unary RPC: where it goes, its message types and its default policy.

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

    @property
    def route(self) -> str:
        """The gRPC path, ``/package.Service/Method``."""
        return f"/{self.service}/{self.name}"
