"""Shared helpers of the fake's tests: stubs, channels and calls by version and RPC name.

The versions, services and RPCs come from the generated code (``textservice.testing.versions``,
checked against protoc's own reading of the protos in ``test_fake_service.py``), so a new
version copied into ``protos/`` is tested with no edits here.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import re
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import grpclib.client
import pytest
from grpclib.const import Cardinality, Status
from grpclib.exceptions import GRPCError

from textservice._encoding.codec import Codec
from textservice._proto.google import rpc
from textservice._transport.status import StatusDetailsCodec
from textservice.testing.answers import implemented
from textservice.testing.versions import ApiVersion, Service, api_versions


def versions_with(service: str, method: str | None = None) -> tuple[str, ...]:
    """The generated versions having ``service`` (and its RPC ``method``)."""
    return tuple(
        v.name
        for v in api_versions()
        if (found := v.service(service)) is not None and (method is None or method in found.methods)
    )


VERSIONS = versions_with("TextService")
"""Versions with a TextService."""
BATCH_VERSIONS = versions_with("TextService", "BatchEmbedText")
GENERATIVE_VERSIONS = versions_with("GenerativeService")
"""Versions with a GenerativeService (v1, v1beta)."""
MODEL_SERVICE_VERSIONS = versions_with("ModelService")
EMBED_MODEL = "models/embedding-gecko-001"
TEXT_MODEL = "models/text-bison-001"
CONTENT_MODEL = "models/gemini-embedding-001"


@dataclass(frozen=True)
class Route:
    """One RPC of one service of one version, as generated."""

    version: ApiVersion
    service: Service
    method: str
    path: str
    request_type: Any
    reply_type: Any
    cardinality: Any

    @property
    def answered(self) -> bool:
        """Whether the fake implements it (else it answers UNIMPLEMENTED)."""
        return self.method in implemented(self.service)


def routes(keep: Callable[[Route], bool] = lambda route: True) -> list[Route]:
    """Every generated route (that ``keep`` accepts)."""
    found = [
        Route(version, service, path.rsplit("/", 1)[1], path, h.request_type, h.reply_type,
              h.cardinality)
        for version in api_versions()
        for service in version.services
        for path, h in service.handlers
    ]  # fmt: skip
    return [route for route in found if keep(route)]


def with_google_client(versions: tuple[str, ...]) -> list[Any]:
    """``versions`` as pytest params, skipping those google-ai-generativelanguage lacks."""

    def has(version: str) -> bool:
        # found without importing it (that would fill this process' descriptor pool)
        return importlib.util.find_spec(f"google.ai.generativelanguage_{version}") is not None

    return [
        pytest.param(
            version,
            marks=pytest.mark.skipif(
                not has(version), reason=f"google-ai-generativelanguage has no {version} client"
            ),
        )
        for version in versions
    ]


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def has_field(message_type: Any, name: str) -> bool:
    """Whether the generated message class has the field ``name`` (an older or newer proto
    may lack one of today's)."""
    return name in {f.name for f in dataclasses.fields(message_type)}


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
    """Call ``method`` of ``version`` through the betterproto2 stub of the service having it."""
    found = [
        s for v in api_versions() if v.name == version for s in v.services if method in s.methods
    ]
    assert len(found) == 1, (version, method, found)
    stub = getattr(module(version), f"{found[0].name}Stub")(channel)
    return await getattr(stub, _snake(method))(request, metadata=metadata, timeout=timeout)


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


def content(m: Any, *texts: str) -> Any:
    """A ``Content`` of ``m`` with one text part per text."""
    return m.Content(parts=[m.Part(text=text) for text in texts])


def embed_request(m: Any, text: str = "hello", model: str = CONTENT_MODEL, **fields: Any) -> Any:
    """An ``EmbedContentRequest`` of ``m`` for one text."""
    return m.EmbedContentRequest(model=model, content=content(m, text), **fields)


def generative_invalid_cases(m: Any) -> list[tuple[str, Any, str]]:
    """(RPC, request, field named by the error) for one version's module."""
    document = m.TaskType.RETRIEVAL_DOCUMENT
    one = embed_request(m, "a")
    image = m.Part(inline_data=m.Blob(mime_type="image/png", data=b"\x89PNG"))
    return [
        ("EmbedContent", m.EmbedContentRequest(content=content(m, "a")), "model"),
        ("EmbedContent", embed_request(m, model="gemini-embedding-001"), "model"),
        ("EmbedContent", m.EmbedContentRequest(model=CONTENT_MODEL), "content"),
        ("EmbedContent", m.EmbedContentRequest(model=CONTENT_MODEL, content=m.Content()),
         "content.parts"),
        ("EmbedContent", m.EmbedContentRequest(
            model=CONTENT_MODEL, content=m.Content(parts=[m.Part(text="a"), image])),
         "content.parts[1]"),
        ("EmbedContent", m.EmbedContentRequest(
            model=CONTENT_MODEL, content=m.Content(parts=[m.Part()])), "content.parts[0]"),
        ("EmbedContent", embed_request(m, title="T"), "title"),
        ("EmbedContent", embed_request(
            m, title="T", task_type=m.TaskType.RETRIEVAL_QUERY), "title"),
        ("EmbedContent", embed_request(m, title="T", task_type=m.TaskType.CLUSTERING), "title"),
        ("EmbedContent", embed_request(m, output_dimensionality=0), "output_dimensionality"),
        ("EmbedContent", embed_request(m, output_dimensionality=-5), "output_dimensionality"),
        ("EmbedContent", embed_request(m, output_dimensionality=3073), "output_dimensionality"),
        ("EmbedContent", embed_request(m, model=EMBED_MODEL, output_dimensionality=769),
         "output_dimensionality"),
        ("BatchEmbedContents", m.BatchEmbedContentsRequest(model=CONTENT_MODEL), "requests"),
        ("BatchEmbedContents", m.BatchEmbedContentsRequest(requests=[one]), "model"),
        ("BatchEmbedContents", m.BatchEmbedContentsRequest(
            model=CONTENT_MODEL, requests=[one] * 101), "requests"),
        ("BatchEmbedContents", m.BatchEmbedContentsRequest(
            model=CONTENT_MODEL, requests=[one, embed_request(m, model=EMBED_MODEL)]),
         "requests[1].model"),
        ("BatchEmbedContents", m.BatchEmbedContentsRequest(
            model=CONTENT_MODEL, requests=[one, m.EmbedContentRequest(content=content(m, "b"))]),
         "requests[1].model"),
        ("BatchEmbedContents", m.BatchEmbedContentsRequest(
            model=CONTENT_MODEL, requests=[one, m.EmbedContentRequest(model=CONTENT_MODEL)]),
         "requests[1].content"),
        ("BatchEmbedContents", m.BatchEmbedContentsRequest(
            model=CONTENT_MODEL, requests=[one, embed_request(m, title="T", task_type=document),
                                           embed_request(m, title="T")]),
         "requests[2].title"),
        ("BatchEmbedContents", m.BatchEmbedContentsRequest(
            model=CONTENT_MODEL, requests=[embed_request(m, output_dimensionality=4000)]),
         "requests[0].output_dimensionality"),
        ("CountTokens", m.CountTokensRequest(contents=[content(m, "a")]), "model"),
        ("CountTokens", m.CountTokensRequest(
            model=CONTENT_MODEL, contents=[content(m, "a"), m.Content(parts=[image])]),
         "contents[1].parts[0]"),
        ("CountTokens", m.CountTokensRequest(
            model=CONTENT_MODEL, contents=[content(m, "a")],
            generate_content_request=m.GenerateContentRequest(
                model=CONTENT_MODEL, contents=[content(m, "a")])),
         "generate_content_request"),
        ("CountTokens", m.CountTokensRequest(
            model=CONTENT_MODEL,
            generate_content_request=m.GenerateContentRequest(contents=[content(m, "a")])),
         "generate_content_request.model"),
    ]  # fmt: skip


async def route_status(channel: grpclib.client.Channel, route: Route) -> Status:
    """The status of one call of ``route`` with an empty request (none for streaming ones)."""
    try:
        async with channel.request(
            route.path, route.cardinality, route.request_type, route.reply_type, timeout=10
        ) as stream:
            if route.cardinality in (Cardinality.UNARY_UNARY, Cardinality.UNARY_STREAM):
                await stream.send_message(route.request_type(), end=True)
            else:  # streaming requests: the answer comes before any message is sent
                await stream.send_request()
            await stream.recv_message()
    except GRPCError as exc:
        return exc.status
    return Status.OK
