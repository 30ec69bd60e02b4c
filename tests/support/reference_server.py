"""A reference server on grpcio, built on protoc's standard Python output (``reference``).

The second server of the contract suites (``test_fake_contract*.py``): an independent
implementation of the behaviour ``textservice.testing`` documents, on Google's own protobuf
and gRPC runtimes (upb encoding, grpcio's HTTP/2, trailers as grpcio sends them), for
TextService, GenerativeService (EmbedContent, BatchEmbedContents, CountTokens) and
ModelService (ListModels, GetModel) of every version in ``protos/`` that has them; their
other RPCs answer UNIMPLEMENTED (grpcio's generated servicer bases). It shares no code with
the fake: embeddings follow the recipe in ``textservice.testing.vectors``' docstring with
numpy, required fields are read from the protos' ``field_behavior`` options, the models and
their methods are a table of its own (``CATALOGUE``).

Never import Google's ``google.ai.generativelanguage`` client in the same process (see
``reference``).
"""

from __future__ import annotations

import base64
import hashlib
import re
import struct
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import numpy as np
from google.api import field_behavior_pb2
from google.protobuf import message as pb_message
from google.protobuf import message_factory
from google.rpc import error_details_pb2, status_pb2

from support import reference

MODEL_NAME = re.compile(r"(?:models|tunedModels)/[^/\s]+")
BASE_MODEL_NAME = re.compile(r"models/[^/\s]+")
TOKEN = re.compile(r"\w+|[^\w\s]")

Model = Mapping[str, Any]
"""A model as ``Model`` message fields (proto names), plus ``embedding_dimension``."""

CATALOGUE: tuple[Model, ...] = (
    {"name": "models/text-bison-001",
     "supported_generation_methods": ["generateText", "countTextTokens", "createTunedTextModel"]},
    {"name": "models/embedding-gecko-001", "embedding_dimension": 768,
     "supported_generation_methods": ["embedText", "countTextTokens"]},
    {"name": "models/gemini-embedding-001", "embedding_dimension": 3072,
     "supported_generation_methods": ["embedContent", "countTextTokens", "countTokens"]},
    {"name": "models/gemini-embedding-2", "embedding_dimension": 3072,
     "supported_generation_methods": ["embedContent", "countTokens"]},
)  # fmt: skip
"""The models served (name, methods, embedding length), as the API lists them."""

GENERATION_METHOD = {
    "GenerateText": "generateText",
    "EmbedText": "embedText",
    "BatchEmbedText": "embedText",
    "CountTextTokens": "countTextTokens",
    "EmbedContent": "embedContent",
    "BatchEmbedContents": "embedContent",
    "CountTokens": "countTokens",
}
"""The method name a model's catalogue entry must list for each RPC."""


class _Abort(Exception):
    def __init__(
        self, code: grpc.StatusCode, message: str, details: Iterable[pb_message.Message] = ()
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = list(details)


def _bad(field: str, description: str) -> _Abort:
    request = error_details_pb2.BadRequest()
    violation = request.field_violations.add()
    violation.field = field
    violation.description = description
    return _Abort(grpc.StatusCode.INVALID_ARGUMENT, f"{field}: {description}", [request])


def embedding(model: str, text: str, dim: int, task: str = "", title: str = "") -> list[float]:
    """The documented recipe, with numpy (``task``: the task type's name, ``""`` for none)."""
    model_utf8 = model.encode()
    options = b""
    if task or title:
        options = (
            b"\xff"
            + struct.pack("<I", len(task))
            + task.encode("ascii")
            + struct.pack("<I", len(title.encode()))
            + title.encode()
        )
    seed = (
        b"textservice.testing/embedding/v1\x00"
        + struct.pack("<I", len(model_utf8))
        + model_utf8
        + options
        + text.encode()
    )
    words = np.frombuffer(hashlib.shake_256(seed).digest(4 * dim), dtype="<u4")
    words = (words & np.uint32(0x80FFFFFF)) | np.uint32(0x3C000000)
    return [float(x) for x in words.view("<f4")]


def _missing_required(message: pb_message.Message, path: str = "") -> str | None:
    for field in message.DESCRIPTOR.fields:
        behaviors = field.GetOptions().Extensions[field_behavior_pb2.field_behavior]
        value = getattr(message, field.name)
        if field.is_repeated:
            unset = len(value) == 0
        elif field.message_type is not None:
            unset = not message.HasField(field.name)
        else:
            unset = value == field.default_value
        if field_behavior_pb2.REQUIRED in behaviors and unset:
            return f"{path}{field.name}"
        if field.message_type is None or unset:
            continue
        items = list(value) if field.is_repeated else [value]
        for index, item in enumerate(items):
            where = f"{path}{field.name}[{index}]." if field.is_repeated else f"{path}{field.name}."
            found = _missing_required(item, where)
            if found is not None:
                return found
    return None


def _check_model(model: str, field: str = "model") -> None:
    if not model:
        raise _bad(field, "required field is missing")
    if not MODEL_NAME.fullmatch(model):
        raise _bad(field, f"{model!r} is not a model name")


def _completion(model: str, prompt: str, index: int, limit: int | None) -> str:
    text = f"Completion {index + 1} by {model}: {prompt}"
    if limit is None:
        return text
    tokens = list(TOKEN.finditer(text))
    if limit <= 0:
        return ""
    return text if len(tokens) <= limit else text[: tokens[limit - 1].end()]


def _texts(content: Any, path: str, allow_empty: bool) -> list[str]:
    if not content.parts and not allow_empty:
        raise _bad(f"{path}parts", "must not be empty")
    out = []
    for index, part in enumerate(content.parts):
        if part.WhichOneof("data") != "text":
            raise _bad(f"{path}parts[{index}]", "only text parts")
        out.append(part.text)
    return out


def _task_name(pb2: Any, request: Any, path: str = "") -> str:
    if not request.HasField("task_type") or request.task_type == 0:
        return ""
    try:
        return str(pb2.TaskType.Name(request.task_type))
    except ValueError:
        raise _bad(f"{path}task_type", "unknown") from None


def _page_token(offset: int) -> str:
    return base64.b32encode(f"ref-{offset}".encode()).decode()


def _page_start(token: str, size: int) -> int:
    if not token:
        return 0
    for offset in range(1, size + 1):
        if _page_token(offset) == token:
            return offset
    raise _bad("page_token", "unknown token")


class ReferenceServer:
    """Every version in ``protos/`` on a grpcio server at 127.0.0.1."""

    def __init__(
        self,
        python_root: Path,
        *,
        api_key: str | None = None,
        dimension: int | None = None,
        catalogue: Sequence[Model] = CATALOGUE,
        strict_methods: bool = False,
    ) -> None:
        self._root = python_root
        self._api_key = api_key
        self._dimension = dimension
        self._catalogue = {model["name"]: model for model in catalogue}
        self._strict = strict_methods
        self._lock = threading.Lock()
        self._failures: list[_Abort] = []
        self._server: grpc.Server | None = None
        self.port = 0

    def fail_next(
        self, code: grpc.StatusCode, message: str, details: Iterable[pb_message.Message] = ()
    ) -> None:
        """Answer the next call with this error."""
        with self._lock:
            self._failures.append(_Abort(code, message, details))

    def start(self) -> int:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        for stem, service, servicer in (
            ("text_service", "TextService", _Servicer),
            ("generative_service", "GenerativeService", _Generative),
            ("model_service", "ModelService", _Models),
        ):
            for version in reference.versions_with(stem):
                grpc_module = reference.load(self._root, version, f"{stem}_pb2_grpc")
                pb2 = reference.load(self._root, version, f"{stem}_pb2")
                base = getattr(grpc_module, f"{service}Servicer")
                implementation = type(f"Reference{service}", (servicer, base), {})
                add = getattr(grpc_module, f"add_{service}Servicer_to_server")
                add(implementation(self, pb2, version), server)
        self.port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        self._server = server
        return self.port

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=None)
            self._server = None

    def __enter__(self) -> ReferenceServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- one call -------------------------------------------------------------------------

    def serve(
        self,
        version: str,
        method: str,
        request: Any,
        context: grpc.ServicerContext,
        answer: Callable[[Any], Any],
        check: Callable[[Any], None] = lambda request: None,
        check_with_model: Callable[[Any], None] = lambda request: None,
    ) -> Any:
        try:
            self._check_key(context)
            with self._lock:
                failure = self._failures.pop(0) if self._failures else None
            if failure is not None:
                raise failure
            has_model = "model" in request.DESCRIPTOR.fields_by_name
            if has_model:
                _check_model(request.model)
            missing = _missing_required(request)
            if missing is not None:
                raise _bad(missing, "required field is missing")
            check(request)
            if has_model:
                self._check_served(version, method, request.model)
                check_with_model(request)
            return answer(request)
        except Exception as exc:  # a bug here, not the client's: INTERNAL, naming the cause
            abort = (
                exc
                if isinstance(exc, _Abort)
                else _Abort(grpc.StatusCode.INTERNAL, f"the reference server failed: {exc!r}")
            )
            status = status_pb2.Status(code=abort.code.value[0], message=abort.message)
            for detail in abort.details:
                status.details.add().Pack(detail)
            context.set_trailing_metadata(
                (("grpc-status-details-bin", status.SerializeToString()),)
            )
            context.abort(abort.code, abort.message)

    def _check_key(self, context: grpc.ServicerContext) -> None:
        if self._api_key is None:
            return
        sent = [v for k, v in context.invocation_metadata() if k == "x-goog-api-key"]
        if not sent:
            raise _Abort(grpc.StatusCode.UNAUTHENTICATED, "missing API key")
        if self._api_key not in sent:
            raise _Abort(grpc.StatusCode.UNAUTHENTICATED, "API key not valid")

    def _check_served(self, version: str, method: str, model: str) -> None:
        entry = self._catalogue.get(model)
        if entry is None and not model.startswith("tunedModels/"):
            raise _Abort(grpc.StatusCode.NOT_FOUND, f"{model} is not found")
        methods = entry["supported_generation_methods"] if entry is not None else None
        if self._strict and methods is not None and GENERATION_METHOD[method] not in methods:
            raise _Abort(grpc.StatusCode.NOT_FOUND, f"{model} does not serve {method}")

    def dimension_of(self, model: str) -> int:
        if self._dimension is not None:
            return self._dimension
        entry = self._catalogue.get(model) or {}
        return int(entry.get("embedding_dimension") or 768)

    def vector(self, model: str, text: str, dim: int | None = None) -> list[float]:
        return embedding(model, text, dim or self.dimension_of(model))

    def listed(self) -> list[Model]:
        return list(self._catalogue.values())

    def find(self, name: str) -> Model | None:
        return self._catalogue.get(name)


class _Base:
    """A servicer of one version of one service."""

    def __init__(self, owner: ReferenceServer, pb2: Any, version: str) -> None:
        self._owner = owner
        self._pb2 = pb2
        self._version = version

    def _serve(self, method: str, request: Any, context: Any, answer: Any, **checks: Any) -> Any:
        return self._owner.serve(self._version, method, request, context, answer, **checks)


class _Servicer(_Base):
    """Every TextService RPC; grpcio registers the ones the version's proto declares."""

    def GenerateText(self, request: Any, context: grpc.ServicerContext) -> Any:
        def check(req: Any) -> None:
            count = req.candidate_count if req.HasField("candidate_count") else 1
            if not 1 <= count <= 8:
                raise _bad("candidate_count", "must be between 1 and 8")

        def answer(req: Any) -> Any:
            count = req.candidate_count if req.HasField("candidate_count") else 1
            limit = req.max_output_tokens if req.HasField("max_output_tokens") else None
            response = self._pb2.GenerateTextResponse()
            for index in range(count):
                response.candidates.add().output = _completion(
                    req.model, req.prompt.text, index, limit
                )
            return response

        return self._serve("GenerateText", request, context, answer, check=check)

    def EmbedText(self, request: Any, context: grpc.ServicerContext) -> Any:
        def answer(req: Any) -> Any:
            response = self._pb2.EmbedTextResponse()
            response.embedding.value.extend(self._owner.vector(req.model, req.text))
            return response

        return self._serve("EmbedText", request, context, answer)

    def BatchEmbedText(self, request: Any, context: grpc.ServicerContext) -> Any:
        def check(req: Any) -> None:
            inner = list(getattr(req, "requests", []))
            if req.texts and inner:
                raise _bad("requests", "only one of texts or requests can be set")
            if len(req.texts) > 100:
                raise _bad("texts", "at most 100")
            if len(inner) > 100:
                raise _bad("requests", "at most 100")
            for index, item in enumerate(inner):
                _check_model(item.model, f"requests[{index}].model")
                if item.model != req.model:
                    raise _bad(f"requests[{index}].model", "does not match the batch model")

        def answer(req: Any) -> Any:
            response = self._pb2.BatchEmbedTextResponse()
            pairs = [(req.model, t) for t in req.texts] or [
                (r.model, r.text) for r in getattr(req, "requests", [])
            ]
            for model, text in pairs:
                response.embeddings.add().value.extend(self._owner.vector(model, text))
            return response

        return self._serve("BatchEmbedText", request, context, answer, check=check)

    def CountTextTokens(self, request: Any, context: grpc.ServicerContext) -> Any:
        def answer(req: Any) -> Any:
            return self._pb2.CountTextTokensResponse(
                token_count=len(TOKEN.findall(req.prompt.text))
            )

        return self._serve("CountTextTokens", request, context, answer)


class _Generative(_Base):
    """GenerativeService's EmbedContent, BatchEmbedContents and CountTokens."""

    def _check_one(self, req: Any, path: str = "") -> None:
        _texts(req.content, f"{path}content.", allow_empty=False)
        task = _task_name(self._pb2, req, path)
        if req.HasField("title") and req.title and task != "RETRIEVAL_DOCUMENT":
            raise _bad(f"{path}title", "only with RETRIEVAL_DOCUMENT")
        if req.HasField("output_dimensionality") and req.output_dimensionality < 1:
            raise _bad(f"{path}output_dimensionality", "must be positive")

    def _check_fits(self, req: Any, path: str = "") -> None:
        if req.HasField("output_dimensionality") and (
            req.output_dimensionality > self._owner.dimension_of(req.model)
        ):
            raise _bad(f"{path}output_dimensionality", "longer than the model's")

    def _embedding(self, req: Any, into: Any) -> None:
        size = req.output_dimensionality if req.HasField("output_dimensionality") else None
        text = "".join(_texts(req.content, "", allow_empty=False))
        title = req.title if req.HasField("title") else ""
        values = embedding(
            req.model,
            text,
            size or self._owner.dimension_of(req.model),
            _task_name(self._pb2, req),
            title,
        )
        into.values.extend(values)

    def EmbedContent(self, request: Any, context: grpc.ServicerContext) -> Any:
        def answer(req: Any) -> Any:
            response = self._pb2.EmbedContentResponse()
            self._embedding(req, response.embedding)
            return response

        return self._serve(
            "EmbedContent",
            request,
            context,
            answer,
            check=self._check_one,
            check_with_model=self._check_fits,
        )

    def BatchEmbedContents(self, request: Any, context: grpc.ServicerContext) -> Any:
        def check(req: Any) -> None:
            if len(req.requests) > 100:
                raise _bad("requests", "at most 100")
            for index, item in enumerate(req.requests):
                _check_model(item.model, f"requests[{index}].model")
                if item.model != req.model:
                    raise _bad(f"requests[{index}].model", "does not match the batch model")
            for index, item in enumerate(req.requests):
                self._check_one(item, f"requests[{index}].")

        def fits(req: Any) -> None:
            for index, item in enumerate(req.requests):
                self._check_fits(item, f"requests[{index}].")

        def answer(req: Any) -> Any:
            response = self._pb2.BatchEmbedContentsResponse()
            for item in req.requests:
                self._embedding(item, response.embeddings.add())
            return response

        return self._serve(
            "BatchEmbedContents", request, context, answer, check=check, check_with_model=fits
        )

    def CountTokens(self, request: Any, context: grpc.ServicerContext) -> Any:
        def texts(req: Any) -> list[str]:
            if req.contents and req.HasField("generate_content_request"):
                raise _bad("generate_content_request", "not with contents")
            found = []
            for index, content in enumerate(req.contents):
                found += _texts(content, f"contents[{index}].", allow_empty=True)
            if req.HasField("generate_content_request"):
                nested = req.generate_content_request
                path = "generate_content_request."
                if "system_instruction" in nested.DESCRIPTOR.fields_by_name and nested.HasField(
                    "system_instruction"
                ):
                    found += _texts(nested.system_instruction, path + "system_instruction.", True)
                for index, content in enumerate(nested.contents):
                    found += _texts(content, f"{path}contents[{index}].", allow_empty=True)
            return found

        def answer(req: Any) -> Any:
            total = sum(len(TOKEN.findall(text)) for text in texts(req))
            response = self._pb2.CountTokensResponse(total_tokens=total)
            if "prompt_tokens_details" in response.DESCRIPTOR.fields_by_name:  # since 2025-04
                detail = response.prompt_tokens_details.add()
                modality = detail.DESCRIPTOR.fields_by_name["modality"].enum_type
                detail.modality = modality.values_by_name["TEXT"].number
                detail.token_count = total
            return response

        return self._serve("CountTokens", request, context, answer, check=texts)


class _Models(_Base):
    """ModelService's ListModels and GetModel."""

    def _message(self, model: Model, message: Any = None) -> Any:
        if message is None:
            service = self._pb2.DESCRIPTOR.services_by_name["ModelService"]
            output = service.methods_by_name["GetModel"].output_type
            message = message_factory.GetMessageClass(output)()
        for key, value in model.items():
            if key in message.DESCRIPTOR.fields_by_name and value is not None:
                field = getattr(message, key)
                if isinstance(value, list):
                    field.extend(value)
                else:
                    setattr(message, key, value)
        return message

    def ListModels(self, request: Any, context: grpc.ServicerContext) -> Any:
        def check(req: Any) -> None:
            if req.page_size < 0:
                raise _bad("page_size", "negative")
            _page_start(req.page_token, len(self._owner.listed()))

        def answer(req: Any) -> Any:
            listed = self._owner.listed()
            start = _page_start(req.page_token, len(listed))
            end = min(start + min(req.page_size or 50, 1000), len(listed))
            response = self._pb2.ListModelsResponse()
            for model in listed[start:end]:
                self._message(model, response.models.add())
            if end < len(listed):
                response.next_page_token = _page_token(end)
            return response

        return self._serve("ListModels", request, context, answer, check=check)

    def GetModel(self, request: Any, context: grpc.ServicerContext) -> Any:
        def check(req: Any) -> None:
            if not BASE_MODEL_NAME.fullmatch(req.name):
                raise _bad("name", "not models/{model}")
            if self._owner.find(req.name) is None:
                raise _Abort(grpc.StatusCode.NOT_FOUND, f"{req.name} is not found")

        def answer(req: Any) -> Any:
            found = self._owner.find(req.name)
            assert found is not None
            return self._message(found)

        return self._serve("GetModel", request, context, answer, check=check)
