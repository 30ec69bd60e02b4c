"""A small recording GenerativeService and ModelService of any generated API version, in memory.

Like the seed library's tests (a mock client counting requests), it records every request and
answers with vectors that show what it received: ``vector(request)`` is
``[len(text), task type number, len(title)]`` padded with 0.5 to ``output_dimensionality``
(default 3), so a test can read the request back from the result. ListModels pages through
``MODELS`` (``page_size`` per page, default 2). Everything is built from the version's
generated server bases, so a new version (``v2`` copied from ``v1``) is served with no edits.
"""

from __future__ import annotations

import datetime
import importlib
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpclib.server
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from textservice._proto.google import longrunning as lr
from textservice._proto.google import protobuf as wkt
from textservice.client import Client
from textservice.testing.memory import MemoryChannel

MODELS = ("models/gemini-embedding-001", "models/text-embedding-004", "models/embedding-001")


def proto(version: str) -> types.ModuleType:
    """The generated proto package of ``version``."""
    return importlib.import_module(f"textservice._proto.google.ai.generativelanguage.{version}")


def text_of(content: Any) -> str:
    return "".join(part.text or "" for part in content.parts) if content is not None else ""


def vector(request: Any) -> list[float]:
    """What EmbedContent answers for ``request`` (see the module docstring)."""
    task = request.task_type.value if request.task_type is not None else 0
    title = getattr(request, "title", None) or ""
    size = request.output_dimensionality or 3
    head = [float(len(text_of(request.content))), float(task), float(len(title))]
    return (head + [0.5] * max(0, size - 3))[:size]


@dataclass
class Recorded:
    """The requests a served version received, by method name."""

    requests: dict[str, list[Any]] = field(default_factory=dict)

    def add(self, method: str, request: Any) -> None:
        self.requests.setdefault(method, []).append(request)

    def count(self, method: str) -> int:
        return len(self.requests.get(method, []))

    def of(self, method: str) -> list[Any]:
        return self.requests.get(method, [])


def servicers(version: str, recorded: Recorded, repeat_token: bool = False) -> list[Any]:
    """A GenerativeService and a ModelService of ``version`` recording into ``recorded``."""
    pb = proto(version)

    class Generative(pb.GenerativeServiceBase):  # type: ignore[misc,name-defined]
        async def embed_content(self, message: Any) -> Any:
            recorded.add("EmbedContent", message)
            return pb.EmbedContentResponse(embedding=pb.ContentEmbedding(values=vector(message)))

        async def batch_embed_contents(self, message: Any) -> Any:
            recorded.add("BatchEmbedContents", message)
            if len(message.requests) > 100:
                raise GRPCError(Status.INVALID_ARGUMENT, "at most 100 requests per batch")
            return pb.BatchEmbedContentsResponse(
                embeddings=[pb.ContentEmbedding(values=vector(r)) for r in message.requests]
            )

        async def count_tokens(self, message: Any) -> Any:
            recorded.add("CountTokens", message)
            words = sum(len(text_of(c).split()) for c in message.contents)
            return pb.CountTokensResponse(total_tokens=words)

        async def generate_content(self, message: Any) -> Any:
            recorded.add("GenerateContent", message)
            said = " ".join(text_of(c) for c in message.contents)
            if said.startswith("call:") and hasattr(pb, "FunctionCall"):
                # a function call: its arguments are a google.protobuf.Struct
                args = wkt.Struct(
                    fields={
                        "city": wkt.Value(string_value=said[5:]),
                        "days": wkt.Value(number_value=3),
                        "tags": wkt.Value(
                            list_value=wkt.ListValue(values=[wkt.Value(bool_value=True)])
                        ),
                    }
                )
                part = pb.Part(function_call=pb.FunctionCall(name="forecast", args=args))
            else:
                part = pb.Part(text=f"echo: {said}")
            reply = pb.Content(parts=[part], role="model")
            return pb.GenerateContentResponse(candidates=[pb.Candidate(content=reply)])

    class Models(pb.ModelServiceBase):  # type: ignore[misc,name-defined]
        async def get_model(self, message: Any) -> Any:
            recorded.add("GetModel", message)
            if message.name not in MODELS:
                raise GRPCError(Status.NOT_FOUND, f"{message.name} is not found")
            return _model(pb, message.name)

        async def list_models(self, message: Any) -> Any:
            recorded.add("ListModels", message)
            size = message.page_size or 2
            start = int(message.page_token or 0)
            page = MODELS[start : start + size]
            following = start + size
            token = str(following) if following < len(MODELS) else ""
            if repeat_token and token:
                token = "1"  # a server that keeps sending the same token
            return pb.ListModelsResponse(
                models=[_model(pb, name) for name in page], next_page_token=token
            )

        if hasattr(pb, "TunedModel"):  # v1beta: tuned models, long-running operations

            async def create_tuned_model(self, message: Any) -> Any:
                recorded.add("CreateTunedModel", message)
                name = f"tunedModels/{message.tuned_model_id or 'made'}"
                return lr.Operation(
                    name=f"{name}/operations/1",
                    metadata=wkt.Any(type_url="type.googleapis.com/x.Metadata", value=b"\x08\x01"),
                )

            async def update_tuned_model(self, message: Any) -> Any:
                recorded.add("UpdateTunedModel", message)
                updated = message.tuned_model
                updated.update_time = UPDATED
                return updated

            async def delete_tuned_model(self, message: Any) -> Any:
                recorded.add("DeleteTunedModel", message)
                return wkt.Empty()

    return [Generative(), Models()]


UPDATED = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
"""The ``update_time`` UpdateTunedModel answers with."""


def _model(pb: types.ModuleType, name: str) -> Any:
    return pb.Model(
        name=name,
        base_model_id=name.split("/", 1)[1],
        version="001",
        input_token_limit=2048,
        supported_generation_methods=["embedContent"],
    )


def client_for(
    version: str, recorded: Recorded | None = None, *, repeat_token: bool = False, **options: Any
) -> tuple[Client, Recorded]:
    """A client whose channels reach this version's recording servicers in memory."""
    found = recorded if recorded is not None else Recorded()
    handlers = servicers(version, found, repeat_token)

    def make_server() -> grpclib.server.Server:
        return grpclib.server.Server(handlers)

    factory: Callable[[], Any] = lambda: MemoryChannel(make_server)  # noqa: E731
    return Client("test-key", channel_factory=factory, **options), found
