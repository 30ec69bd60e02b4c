"""Request checks the fake applies, as the API does, with messages naming the field.

Bad arguments give ``INVALID_ARGUMENT`` with a ``google.rpc.BadRequest`` detail (the field
and what is wrong); an unknown model gives ``NOT_FOUND``; a missing or wrong API key gives
``UNAUTHENTICATED`` (checked by the fake before these).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import betterproto2
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from textservice._messages import message_metadata
from textservice._proto.google import rpc
from textservice.testing.generation import MAX_CANDIDATE_COUNT

MAX_BATCH_TEXTS = 100
"""BatchEmbedText takes at most this many texts (or v1beta ``requests``)."""

DEFAULT_KNOWN_MODELS = (
    "models/embedding-gecko-001",
    "models/text-bison-001",
)
"""Models the fake knows unless told otherwise (any ``tunedModels/…`` is accepted too)."""

_MODEL_NAME = re.compile(r"(?:models|tunedModels)/[^/\s]+")

_COMMON_REQUIRED: dict[str, tuple[str, ...]] = {
    "GenerateTextRequest": ("model", "prompt"),
    "TextPrompt": ("text",),
    "SafetySetting": ("category", "threshold"),
}

REQUIRED_FIELDS: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "v1beta2": {**_COMMON_REQUIRED, "EmbedTextRequest": ("model", "text")},
    "v1beta3": {
        **_COMMON_REQUIRED,
        "EmbedTextRequest": ("model", "text"),
        "BatchEmbedTextRequest": ("model", "texts"),
        "CountTextTokensRequest": ("model", "prompt"),
    },
    "v1beta": {
        **_COMMON_REQUIRED,
        "EmbedTextRequest": ("model",),
        "BatchEmbedTextRequest": ("model",),
        "CountTextTokensRequest": ("model", "prompt"),
    },
}
"""Fields marked ``(google.api.field_behavior) = REQUIRED`` in the messages of requests.

Per version, message name -> field names. The generated code does not keep field options,
so this is written out here; ``tests/test_fake_validation.py`` checks it against the
``field_behavior`` of the protos themselves.
"""


def invalid_argument(field: str, description: str) -> GRPCError:
    """``INVALID_ARGUMENT`` naming ``field``, with a ``BadRequest`` detail."""
    violation = rpc.BadRequestFieldViolation(field=field, description=description)
    return GRPCError(
        Status.INVALID_ARGUMENT,
        f"{field}: {description}",
        [rpc.BadRequest(field_violations=[violation])],
    )


@dataclass(frozen=True)
class ModelPolicy:
    """Which model names the fake serves."""

    known_models: frozenset[str] | None = frozenset(DEFAULT_KNOWN_MODELS)
    """Names answered; ``None``: every well-formed name."""
    accept_tuned_models: bool = True
    """Serve every ``tunedModels/…`` name, known or not."""

    @classmethod
    def of(cls, known_models: Iterable[str] | None, accept_tuned_models: bool) -> ModelPolicy:
        """A policy from user arguments, checking each name's form."""
        if known_models is None:
            return cls(None, accept_tuned_models)
        if isinstance(known_models, str):
            raise TypeError("known_models must be a collection of names, not a single str")
        names = frozenset(known_models)
        for name in names:
            if not isinstance(name, str) or not _MODEL_NAME.fullmatch(name):
                raise ValueError(
                    f"known_models: {name!r} is not of the form models/NAME or tunedModels/NAME"
                )
        return cls(names, accept_tuned_models)

    def check_exists(self, model: str, version: str, method: str) -> None:
        """``NOT_FOUND`` unless this policy serves ``model``."""
        if self.known_models is None or model in self.known_models:
            return
        if self.accept_tuned_models and model.startswith("tunedModels/"):
            return
        raise GRPCError(
            Status.NOT_FOUND,
            f"{model} is not found for API version {version}, "
            f"or is not supported for {method[0].lower()}{method[1:]}",
        )


def check_model_name(model: str, field: str = "model") -> None:
    """``INVALID_ARGUMENT`` unless ``model`` is ``models/NAME`` or ``tunedModels/NAME``."""
    if not model:
        raise invalid_argument(field, "required field is missing")
    if not _MODEL_NAME.fullmatch(model):
        raise invalid_argument(
            field,
            f"{model!r} is not a model name; expected models/{{model}} or tunedModels/{{model}}",
        )


def _is_unset(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, betterproto2.Enum):
        return int(value) == 0
    if isinstance(value, str | bytes | list):
        return len(value) == 0
    return False


def missing_required(
    message: betterproto2.Message, required: Mapping[str, tuple[str, ...]], path: str = ""
) -> str | None:
    """Path of the first required field left unset in ``message`` (depth first), or ``None``."""
    wanted = required.get(type(message).__name__, ())
    proto = message_metadata(type(message))
    for name in proto.sorted_field_names:
        value = getattr(message, name)
        if name in wanted and _is_unset(value):
            return f"{path}{name}"
        if proto.meta_by_field_name[name].proto_type != betterproto2.TYPE_MESSAGE:
            continue
        if isinstance(value, list):
            for index, item in enumerate(value):
                found = missing_required(item, required, f"{path}{name}[{index}].")
                if found is not None:
                    return found
        elif isinstance(value, betterproto2.Message):
            found = missing_required(value, required, f"{path}{name}.")
            if found is not None:
                return found
    return None


def validate(version: str, method: str, request: Any, models: ModelPolicy) -> None:
    """Raise the ``GRPCError`` the API would give for ``request``, if any."""
    check_model_name(request.model)
    missing = missing_required(request, REQUIRED_FIELDS.get(version, {}))
    if missing is not None:
        raise invalid_argument(missing, "required field is missing")
    if method == "GenerateText":
        count = request.candidate_count
        if count is not None and not 1 <= count <= MAX_CANDIDATE_COUNT:
            raise invalid_argument(
                "candidate_count", f"must be between 1 and {MAX_CANDIDATE_COUNT}, got {count}"
            )
    elif method == "BatchEmbedText":
        _check_batch(request)
    models.check_exists(request.model, version, method)


def _check_batch(request: Any) -> None:
    texts = request.texts
    requests = getattr(request, "requests", None) or []  # v1beta only
    if texts and requests:
        raise invalid_argument("requests", "only one of texts or requests can be set")
    if len(texts) > MAX_BATCH_TEXTS:
        raise invalid_argument(
            "texts", f"at most {MAX_BATCH_TEXTS} texts per request, got {len(texts)}"
        )
    if len(requests) > MAX_BATCH_TEXTS:
        raise invalid_argument(
            "requests", f"at most {MAX_BATCH_TEXTS} requests per batch, got {len(requests)}"
        )
    for index, inner in enumerate(requests):
        field = f"requests[{index}].model"
        check_model_name(inner.model, field)
        if inner.model != request.model:
            raise invalid_argument(
                field, f"{inner.model!r} does not match the batch model {request.model!r}"
            )
