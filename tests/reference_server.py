"""A reference TextService on grpcio, built on protoc's standard Python output (``reference``).

The second server of the contract suite (``test_fake_contract.py``): an independent
implementation of the behaviour ``textservice.testing`` documents, on Google's own protobuf
and gRPC runtimes (upb encoding, grpcio's HTTP/2, trailers as grpcio sends them). It shares
no code with the fake: embeddings follow the recipe in ``textservice.testing.vectors``' docstring
with numpy, required fields are read from the protos' ``field_behavior`` options.

Never import Google's ``google.ai.generativelanguage`` client in the same process (see
``reference``).
"""

from __future__ import annotations

import hashlib
import re
import struct
import threading
from collections.abc import Iterable
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import reference
from google.api import field_behavior_pb2
from google.protobuf import message as pb_message
from google.rpc import error_details_pb2, status_pb2

MODEL_NAME = re.compile(r"(?:models|tunedModels)/[^/\s]+")
TOKEN = re.compile(r"\w+|[^\w\s]")
KNOWN_MODELS = ("models/embedding-gecko-001", "models/text-bison-001")


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


def embedding(model: str, text: str, dim: int) -> list[float]:
    """The documented recipe, with numpy."""
    model_utf8 = model.encode()
    seed = (
        b"textservice.testing/embedding/v1\x00"
        + struct.pack("<I", len(model_utf8))
        + model_utf8
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


class ReferenceServer:
    """The TextService of every version in ``protos/`` on a grpcio server at 127.0.0.1."""

    def __init__(
        self,
        python_root: Path,
        *,
        api_key: str | None = None,
        dimension: int = 768,
        known_models: Iterable[str] = KNOWN_MODELS,
    ) -> None:
        self._root = python_root
        self._api_key = api_key
        self._dimension = dimension
        self._known = set(known_models)
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
        for version in reference.versions_with("text_service"):
            grpc_module = reference.load(self._root, version, "text_service_pb2_grpc")
            pb2 = reference.load(self._root, version, "text_service_pb2")
            grpc_module.add_TextServiceServicer_to_server(_Servicer(self, pb2, version), server)
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

    def serve(self, method: str, request: Any, context: grpc.ServicerContext, answer: Any) -> Any:
        try:
            self._check_key(context)
            with self._lock:
                failure = self._failures.pop(0) if self._failures else None
            if failure is not None:
                raise failure
            _check_model(request.model)
            missing = _missing_required(request)
            if missing is not None:
                raise _bad(missing, "required field is missing")
            count = request.candidate_count if method == "GenerateText" else 1
            if method == "GenerateText" and not request.HasField("candidate_count"):
                count = 1
            if not 1 <= count <= 8:
                raise _bad("candidate_count", "must be between 1 and 8")
            if method == "BatchEmbedText":
                self._check_batch(request)
            if request.model not in self._known and not request.model.startswith("tunedModels/"):
                raise _Abort(grpc.StatusCode.NOT_FOUND, f"{request.model} is not found")
            return answer(request)
        except _Abort as abort:
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

    @staticmethod
    def _check_batch(request: Any) -> None:
        inner = list(getattr(request, "requests", []))
        if request.texts and inner:
            raise _bad("requests", "only one of texts or requests can be set")
        if len(request.texts) > 100:
            raise _bad("texts", "at most 100")
        if len(inner) > 100:
            raise _bad("requests", "at most 100")
        for index, item in enumerate(inner):
            _check_model(item.model, f"requests[{index}].model")
            if item.model != request.model:
                raise _bad(f"requests[{index}].model", "does not match the batch model")

    def vector(self, model: str, text: str) -> list[float]:
        return embedding(model, text, self._dimension)


class _Servicer:
    """Every TextService RPC; grpcio registers the ones the version's proto declares."""

    def __init__(self, owner: ReferenceServer, pb2: Any, version: str) -> None:
        self._owner = owner
        self._pb2 = pb2
        self._version = version

    def GenerateText(self, request: Any, context: grpc.ServicerContext) -> Any:
        def answer(req: Any) -> Any:
            count = req.candidate_count if req.HasField("candidate_count") else 1
            limit = req.max_output_tokens if req.HasField("max_output_tokens") else None
            response = self._pb2.GenerateTextResponse()
            for index in range(count):
                response.candidates.add().output = _completion(
                    req.model, req.prompt.text, index, limit
                )
            return response

        return self._owner.serve("GenerateText", request, context, answer)

    def EmbedText(self, request: Any, context: grpc.ServicerContext) -> Any:
        def answer(req: Any) -> Any:
            response = self._pb2.EmbedTextResponse()
            response.embedding.value.extend(self._owner.vector(req.model, req.text))
            return response

        return self._owner.serve("EmbedText", request, context, answer)

    def BatchEmbedText(self, request: Any, context: grpc.ServicerContext) -> Any:
        def answer(req: Any) -> Any:
            response = self._pb2.BatchEmbedTextResponse()
            pairs = [(req.model, t) for t in req.texts] or [
                (r.model, r.text) for r in getattr(req, "requests", [])
            ]
            for model, text in pairs:
                response.embeddings.add().value.extend(self._owner.vector(model, text))
            return response

        return self._owner.serve("BatchEmbedText", request, context, answer)

    def CountTextTokens(self, request: Any, context: grpc.ServicerContext) -> Any:
        def answer(req: Any) -> Any:
            return self._pb2.CountTextTokensResponse(
                token_count=len(TOKEN.findall(req.prompt.text))
            )

        return self._owner.serve("CountTextTokens", request, context, answer)
