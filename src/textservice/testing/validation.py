"""Request checks the fake applies, as the API does, with messages naming the field.

Bad arguments give ``INVALID_ARGUMENT`` with a ``google.rpc.BadRequest`` detail (the field
and what is wrong); an unknown model gives ``NOT_FOUND``; a missing or wrong API key gives
``UNAUTHENTICATED`` (checked by the fake before these).

Which fields are required comes from the protos' ``field_behavior``, generated into
``textservice.testing._required_fields`` by ``make generate``: every request message of every
API version, so a new version is validated with no hand edits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import betterproto2
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from textservice._encoding.metadata import message_metadata
from textservice._proto.google import rpc
from textservice._proto.message_pool import default_message_pool
from textservice.testing._required_fields import ATTRIBUTE_NAMES, REQUIRED_FIELDS
from textservice.testing.generation import MAX_CANDIDATE_COUNT

MAX_BATCH_TEXTS = 100
"""BatchEmbedText takes at most this many texts (or v1beta ``requests``)."""

DEFAULT_KNOWN_MODELS = (
    "models/embedding-gecko-001",
    "models/text-bison-001",
)
"""Models the fake knows unless told otherwise (any ``tunedModels/…`` is accepted too)."""

_MODEL_NAME = re.compile(r"(?:models|tunedModels)/[^/\s]+")

_TYPE_URL_PREFIX = "type.googleapis.com/"
_ATTRIBUTE_TO_PROTO = {attribute: name for name, attribute in ATTRIBUTE_NAMES.items()}


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
    if isinstance(value, str | bytes | list | dict):
        return len(value) == 0
    return False


def full_name(message_type: type[betterproto2.Message]) -> str | None:
    """The full proto name of a generated message class (``google.ai...v1beta.TextPrompt``)."""
    url = default_message_pool.type_to_url.get(message_type)
    return url.removeprefix(_TYPE_URL_PREFIX) if url is not None else None


def required_fields(message_type: type[betterproto2.Message]) -> tuple[str, ...]:
    """The proto names of the fields of ``message_type`` marked ``REQUIRED`` in the protos."""
    name = full_name(message_type)
    return REQUIRED_FIELDS.get(name, ()) if name is not None else ()


def missing_required(message: betterproto2.Message, path: str = "") -> str | None:
    """Path of the first required field left unset in ``message`` (depth first, in field
    order, through sub-messages, lists and map values), or ``None``."""
    wanted = required_fields(type(message))
    proto = message_metadata(type(message))
    for attribute in proto.sorted_field_names:
        value = getattr(message, attribute)
        name = _ATTRIBUTE_TO_PROTO.get(attribute, attribute)
        if name in wanted and _is_unset(value):
            return f"{path}{name}"
        if isinstance(value, dict):
            items: list[tuple[str, Any]] = [(f"[{key!r}]", v) for key, v in value.items()]
        elif isinstance(value, list):
            items = [(f"[{index}]", v) for index, v in enumerate(value)]
        else:
            items = [("", value)]
        for suffix, item in items:
            if isinstance(item, betterproto2.Message):
                found = missing_required(item, f"{path}{name}{suffix}.")
                if found is not None:
                    return found
    return None


def validate(version: str, method: str, request: Any, models: ModelPolicy) -> None:
    """Raise the ``GRPCError`` the API would give for ``request``, if any.

    Requests without a ``model`` field (``GetModel``'s ``name``) skip the model checks; a
    field the checks look for that a version renamed is not there to check, which is no error.
    """
    model = getattr(request, "model", None)
    if isinstance(model, str):
        check_model_name(model)
    missing = missing_required(request)
    if missing is not None:
        raise invalid_argument(missing, "required field is missing")
    if method == "GenerateText":
        count = getattr(request, "candidate_count", None)
        if count is not None and not 1 <= count <= MAX_CANDIDATE_COUNT:
            raise invalid_argument(
                "candidate_count", f"must be between 1 and {MAX_CANDIDATE_COUNT}, got {count}"
            )
    elif method == "BatchEmbedText":
        _check_batch(request)
    if isinstance(model, str):
        models.check_exists(model, version, method)


def _check_batch(request: Any) -> None:
    texts = getattr(request, "texts", None) or []
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
        check_model_name(getattr(inner, "model", ""), field)
        if inner.model != request.model:
            raise invalid_argument(
                field, f"{inner.model!r} does not match the batch model {request.model!r}"
            )
