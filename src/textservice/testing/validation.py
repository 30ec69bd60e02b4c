"""Request checks the fake applies, as the API does, with messages naming the field.

Bad arguments give ``INVALID_ARGUMENT`` with a ``google.rpc.BadRequest`` detail (the field
and what is wrong); a model the fake does not serve gives ``NOT_FOUND`` (see
``textservice.testing.catalogue``); a missing or wrong API key gives ``UNAUTHENTICATED``
(checked by the fake before these).

Which fields are required comes from the protos' ``field_behavior``, generated into
``textservice.testing._required_fields`` by ``make generate``: every request message of every
API version, so a new version is validated with no hand edits. The checks beyond that are
per RPC name (``CHECKS``): a new version with the same RPCs gets them too.

EmbedContent and BatchEmbedContents (GenerativeService): the content must have parts, each
one the model's profile takes (``textservice._profiles``): text for every model, and for one
with media rules (``gemini-embedding-2``) ``inline_data`` of its mime types, at most its
images; the request stays within the API's request size. A ``title`` needs the
``RETRIEVAL_DOCUMENT`` task type (Google's embedding service answers ``INVALID_ARGUMENT``:
"the model does not support the title parameter unless the task_type is RETRIEVAL_DOCUMENT");
``output_dimensionality`` must be positive, in the profile's range, and at most the model's
length; with ``strict_models``, a model that takes its task in the text gets no task type or
title field. A batch holds at most 100 requests, each naming the batch's model. CountTokens
counts text parts only (others are ``INVALID_ARGUMENT``) and takes ``contents`` or
``generate_content_request``, not both.

The fields those EmbedContent rules read (content, task type, title, output dimensionality,
a batch's requests) are found through ``role``: the table ``make generate`` writes from the
protos by field number (``codegen/roles.py``), so a version that renames one is checked alike
and errors name its field as that version calls it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import betterproto2
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from textservice._encoding.metadata import message_metadata
from textservice._profiles import (
    MAX_BATCH_ITEMS,
    MAX_REQUEST_BYTES,
    TITLED_TASK,
    profile_for,
    takes_title,
)
from textservice._proto.google import rpc
from textservice._proto.message_pool import default_message_pool
from textservice.testing._field_roles import (
    CONTENT,
    FIELD_ROLES,
    OUTPUT_DIMENSIONALITY,
    REQUESTS,
    TASK_TYPE,
    TITLE,
)
from textservice.testing._required_fields import ATTRIBUTE_NAMES, REQUIRED_FIELDS
from textservice.testing.catalogue import BASE_MODEL_NAME, MODEL_NAME, ModelPolicy
from textservice.testing.generation import MAX_CANDIDATE_COUNT
from textservice.testing.versions import Service

MAX_BATCH_TEXTS = MAX_BATCH_ITEMS
"""BatchEmbedText takes at most this many texts (or v1beta ``requests``)."""

MAX_BATCH_REQUESTS = MAX_BATCH_ITEMS
"""BatchEmbedContents takes at most this many requests."""

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


def check_model_name(model: str, field: str = "model") -> None:
    """``INVALID_ARGUMENT`` unless ``model`` is ``models/NAME`` or ``tunedModels/NAME``."""
    if not model:
        raise invalid_argument(field, "required field is missing")
    if not MODEL_NAME.fullmatch(model):
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


def role(request: betterproto2.Message, name: str) -> Any:
    """The value of the field playing the role ``name`` (``TITLE``, ``CONTENT``, ...) in
    ``request``, as ``textservice.testing._field_roles`` (generated from the protos, by field
    number) says; ``None`` when the request's version has no such field."""
    attribute = _role_attribute(request, name)
    return getattr(request, attribute) if attribute is not None else None


def _role_attribute(request: betterproto2.Message, name: str) -> str | None:
    return FIELD_ROLES.get(full_name(type(request)) or "", {}).get(name)


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


def content_texts(content: betterproto2.Message, path: str, *, allow_empty: bool) -> list[str]:
    """The texts of a ``Content``'s parts, in order; ``INVALID_ARGUMENT`` naming the part
    that holds something else (an image, a file, nothing), or the parts if there are none
    and ``allow_empty`` is false."""
    parts = getattr(content, "parts", None) or []
    if not parts and not allow_empty:
        raise invalid_argument(f"{path}parts", "must not be empty")
    texts = []
    for index, part in enumerate(parts):
        group = message_metadata(type(part)).meta_by_field_name["text"].group
        held, value = betterproto2.which_one_of(part, group) if group else ("text", part.text)
        if held != "text" or not isinstance(value, str):
            what = held or "nothing"
            raise invalid_argument(
                f"{path}parts[{index}]", f"only text parts are supported, this part holds {what}"
            )
        texts.append(value)
    return texts


def _field(request: Any, name: str) -> str:
    """The proto name of the field playing the role ``name`` (for error messages)."""
    attribute = _role_attribute(request, name) or name
    return _ATTRIBUTE_TO_PROTO.get(attribute, attribute)


def content_parts(
    content: betterproto2.Message, path: str, model: str
) -> list[str | tuple[str, bytes]]:
    """The parts of an EmbedContent ``Content`` as ``model``'s profile takes them: texts, and
    for a model with media rules (``gemini-embedding-2``) inline blobs ``(mime_type, data)``
    of its mime types, at most its images; ``INVALID_ARGUMENT`` naming the part otherwise."""
    profile = profile_for(model)
    rules = profile.media if profile.family else None  # unknown models: text, as before
    parts = getattr(content, "parts", None) or []
    if not parts:
        raise invalid_argument(f"{path}parts", "must not be empty")
    out: list[str | tuple[str, bytes]] = []
    images = 0
    for index, part in enumerate(parts):
        group = message_metadata(type(part)).meta_by_field_name["text"].group
        held, value = betterproto2.which_one_of(part, group) if group else ("text", part.text)
        if held == "text" and isinstance(value, str):
            out.append(value)
            continue
        where = f"{path}parts[{index}]"
        if held != "inline_data" or rules is None:
            supported = "text" if rules is None else "text and inline_data"
            raise invalid_argument(
                where, f"only {supported} parts are supported, this part holds {held or 'nothing'}"
            )
        assert value is not None  # a oneof member that is set
        kind = rules.kind(value.mime_type)
        if kind is None:
            raise invalid_argument(
                f"{where}.inline_data.mime_type",
                f"{value.mime_type!r} is not supported by {model} "
                f"(supported: {', '.join(sorted(rules.kinds))})",
            )
        images += kind == "image"
        if rules.max_images is not None and images > rules.max_images:
            raise invalid_argument(
                f"{path}parts", f"at most {rules.max_images} images per content, got more"
            )
        out.append((value.mime_type, bytes(value.data)))
    return out


def _size(parts: list[str | tuple[str, bytes]]) -> int:
    """About the bytes of a content of ``parts`` (read from the parts, not re-encoded)."""
    return sum(len(p) if isinstance(p, str) else len(p[0]) + len(p[1]) for p in parts)


def _content_parts(request: Any, path: str) -> list[str | tuple[str, bytes]]:
    """``content_parts`` of the request's content (its ``CONTENT`` role)."""
    where = f"{path}{_field(request, CONTENT)}."
    return content_parts(role(request, CONTENT), where, request.model)


def _check_profile(request: Any, models: ModelPolicy, path: str) -> None:
    """The model's profile: its dimension range; with ``strict_models``, no task type or
    title field to a model that takes them in its text (the API ignores them)."""
    profile = profile_for(request.model)
    dimension = role(request, OUTPUT_DIMENSIONALITY)
    if dimension is not None and profile.dimensions is not None:
        low, high = profile.dimensions
        if not low <= dimension <= high:
            raise invalid_argument(
                f"{path}{_field(request, OUTPUT_DIMENSIONALITY)}",
                f"must be between {low} and {high} for {request.model}, got {dimension}",
            )
    if models.strict_models and profile.task_in_text:
        for name in (TASK_TYPE, TITLE):
            if role(request, name) is not None:
                field = _field(request, name)
                raise invalid_argument(
                    f"{path}{field}",
                    f"{request.model} ignores the {field} field (strict_models): put the task "
                    "in the text, as Google's embeddings guide says",
                )


def _task_type(request: Any, path: str = "") -> str:
    """The request's task type name (``""``: none); ``INVALID_ARGUMENT`` for an unknown one."""
    value = role(request, TASK_TYPE)
    if value is None:
        return ""
    if int(value) not in {int(member) for member in type(value)}:
        raise invalid_argument(
            f"{path}{_field(request, TASK_TYPE)}", f"unknown task type {int(value)}"
        )
    return "" if int(value) == 0 else str(value.name)


def _check_embed_content(request: Any, models: ModelPolicy, path: str = "") -> None:
    """One EmbedContent request's own arguments (its model is checked by the caller)."""
    parts = _content_parts(request, path)
    if _size(parts) > MAX_REQUEST_BYTES:
        raise invalid_argument(
            f"{path}{_field(request, CONTENT)}", f"the request exceeds {MAX_REQUEST_BYTES} bytes"
        )
    _check_profile(request, models, path)
    task = _task_type(request, path)
    if role(request, TITLE) and not takes_title(task or None):
        raise invalid_argument(
            f"{path}{_field(request, TITLE)}",
            f"the model does not support the title parameter unless the task_type is {TITLED_TASK}",
        )
    dimension = role(request, OUTPUT_DIMENSIONALITY)
    if dimension is not None and dimension < 1:
        raise invalid_argument(
            f"{path}{_field(request, OUTPUT_DIMENSIONALITY)}",
            f"must be a positive number, got {dimension}",
        )


def _check_dimension_fits(request: Any, models: ModelPolicy, path: str = "") -> None:
    """``output_dimensionality`` is at most the (served) model's length."""
    dimension = role(request, OUTPUT_DIMENSIONALITY)
    limit = models.dimension_of(request.model)
    if dimension is not None and dimension > limit:
        raise invalid_argument(
            f"{path}{_field(request, OUTPUT_DIMENSIONALITY)}",
            f"must be at most {limit} for {request.model}, got {dimension}",
        )


def _check_batch_dimensions(request: Any, models: ModelPolicy) -> None:
    for index, inner in enumerate(role(request, REQUESTS) or []):
        _check_dimension_fits(inner, models, f"{_field(request, REQUESTS)}[{index}].")


def _check_generate_text(request: Any, models: ModelPolicy) -> None:
    count = getattr(request, "candidate_count", None)
    if count is not None and not 1 <= count <= MAX_CANDIDATE_COUNT:
        raise invalid_argument(
            "candidate_count", f"must be between 1 and {MAX_CANDIDATE_COUNT}, got {count}"
        )


def _check_batch_text(request: Any, models: ModelPolicy) -> None:
    texts = getattr(request, "texts", None) or []
    requests = getattr(request, "requests", None) or []  # v1beta only
    if texts and requests:
        raise invalid_argument("requests", "only one of texts or requests can be set")
    if len(texts) > MAX_BATCH_TEXTS:
        raise invalid_argument(
            "texts", f"at most {MAX_BATCH_TEXTS} texts per request, got {len(texts)}"
        )
    _check_batch_requests(request, requests, "requests", MAX_BATCH_TEXTS)


def _check_batch_requests(request: Any, requests: list[Any], name: str, limit: int) -> None:
    """A batch's ``requests`` (its field called ``name``): at most ``limit``, each naming the
    batch's model."""
    if len(requests) > limit:
        raise invalid_argument(name, f"at most {limit} requests per batch, got {len(requests)}")
    for index, inner in enumerate(requests):
        field = f"{name}[{index}].model"
        check_model_name(getattr(inner, "model", ""), field)
        if inner.model != request.model:
            raise invalid_argument(
                field, f"{inner.model!r} does not match the batch model {request.model!r}"
            )


def _check_batch_contents(request: Any, models: ModelPolicy) -> None:
    requests, name = list(role(request, REQUESTS) or []), _field(request, REQUESTS)
    _check_batch_requests(request, requests, name, MAX_BATCH_REQUESTS)
    total = 0
    for index, inner in enumerate(requests):
        _check_embed_content(inner, models, f"{name}[{index}].")
        total += _size(_content_parts(inner, ""))
    if total > MAX_REQUEST_BYTES:
        raise invalid_argument(name, f"the request exceeds {MAX_REQUEST_BYTES} bytes")


def _check_count_tokens(request: Any, models: ModelPolicy) -> None:
    nested = getattr(request, "generate_content_request", None)
    if request.contents and nested is not None:
        raise invalid_argument(
            "generate_content_request", "only one of contents or generate_content_request"
        )
    for index, content in enumerate(request.contents):
        content_texts(content, f"contents[{index}].", allow_empty=True)
    if nested is not None:
        for index, content in enumerate(nested.contents):
            path = f"generate_content_request.contents[{index}]."
            content_texts(content, path, allow_empty=True)
        instruction = getattr(nested, "system_instruction", None)
        if instruction is not None:
            path = "generate_content_request.system_instruction."
            content_texts(instruction, path, allow_empty=True)


def _check_get_model(request: Any, models: ModelPolicy) -> None:
    if not BASE_MODEL_NAME.fullmatch(request.name):
        raise invalid_argument("name", f"{request.name!r} is not of the form models/{{model}}")


def _check_list_models(request: Any, models: ModelPolicy) -> None:
    if request.page_size < 0:
        raise invalid_argument("page_size", f"must not be negative, got {request.page_size}")


Check = Callable[[Any, ModelPolicy], None]

CHECKS: Mapping[str, Check] = {
    "GenerateText": _check_generate_text,
    "BatchEmbedText": _check_batch_text,
    "EmbedContent": _check_embed_content,
    "BatchEmbedContents": _check_batch_contents,
    "CountTokens": _check_count_tokens,
    "GetModel": _check_get_model,
    "ListModels": _check_list_models,
}
"""The checks of each RPC beyond required fields and the model's name, by RPC name."""

CHECKS_WITH_MODEL: Mapping[str, Check] = {
    "EmbedContent": _check_dimension_fits,
    "BatchEmbedContents": _check_batch_dimensions,
}
"""Checks that need the model to be served (its embedding length), run after that check."""


def validate(service: Service, method: str, request: Any, models: ModelPolicy) -> None:
    """Raise the ``GRPCError`` the API would give for ``request`` to ``service.method``.

    In order: the model's name, required fields, the RPC's own checks, whether the model is
    served through this RPC (``NOT_FOUND``), then checks needing the model. Requests without
    a ``model`` field (``GetModel``'s ``name``) skip the model checks; a field the checks look
    for that a version renamed is not there to check, which is no error.
    """
    model = getattr(request, "model", None)
    if isinstance(model, str):
        check_model_name(model)
    missing = missing_required(request)
    if missing is not None:
        raise invalid_argument(missing, "required field is missing")
    check = CHECKS.get(method)
    if check is not None:
        check(request, models)
    if isinstance(model, str):
        models.check_served(model, service.version, service.generation_method(method))
        after = CHECKS_WITH_MODEL.get(method)
        if after is not None:
            after(request, models)
