"""Shared helpers of the fake's tests: stubs, channels and calls by version and RPC name."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import grpclib.client
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from textservice._encoding.codec import Codec
from textservice._proto.google import rpc
from textservice._transport.status import StatusDetailsCodec

VERSIONS = ("v1beta", "v1beta2", "v1beta3")
BATCH_VERSIONS = ("v1beta", "v1beta3")
EMBED_MODEL = "models/embedding-gecko-001"
TEXT_MODEL = "models/text-bison-001"

_SNAKE = {
    "GenerateText": "generate_text",
    "EmbedText": "embed_text",
    "BatchEmbedText": "batch_embed_text",
    "CountTextTokens": "count_text_tokens",
}


def module(version: str) -> ModuleType:
    """Our generated module of ``version``."""
    return importlib.import_module(f"textservice._proto.google.ai.generativelanguage.{version}")


def tcp_channel(host: str, port: int) -> grpclib.client.Channel:
    """A grpclib channel with the package's codecs (call inside a running loop)."""
    return grpclib.client.Channel(
        host, port, codec=Codec(), status_details_codec=StatusDetailsCodec()
    )


async def call(
    channel: grpclib.client.Channel,
    version: str,
    method: str,
    request: Any,
    *,
    metadata: dict[str, str] | None = None,
    timeout: float | None = 10.0,
) -> Any:
    """Call ``method`` of ``version`` through the betterproto2 stub."""
    stub = module(version).TextServiceStub(channel)
    return await getattr(stub, _SNAKE[method])(request, metadata=metadata, timeout=timeout)


async def outcome(
    channel: grpclib.client.Channel,
    version: str,
    method: str,
    request: Any,
    **kwargs: Any,
) -> tuple[Status, Any]:
    """``(OK, response)`` or ``(status, GRPCError)`` of one call."""
    try:
        return Status.OK, await call(channel, version, method, request, **kwargs)
    except GRPCError as exc:
        return exc.status, exc


def bad_request_fields(error: GRPCError) -> list[str]:
    """The ``field`` of every ``BadRequest`` violation in an error's details."""
    return [
        violation.field
        for detail in error.details or ()
        if isinstance(detail, rpc.BadRequest)
        for violation in detail.field_violations
    ]
