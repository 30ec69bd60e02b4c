"""A request message as an HTTP request by its method's ``google.api.http`` bindings, and back.

The rules are the HttpRule spec's (google/api/http.proto), as gapic's REST transports apply
them: the first binding whose path variables all fit the request's values is used (the rule,
then its ``additional_bindings``); the fields the path binds leave the body; ``body: "*"``
sends every other field as the JSON body, ``body: "field"`` sends that field as the body and
the rest in the query string, and no body sends the rest in the query string (nested fields
as ``a.b=``, repeated ones as repeated parameters, by their JSON names: paging's
``pageSize=&pageToken=``). The JSON is the proto3 mapping (``_encoding.json_mapping``).

``request_from_http`` is the other side (the fake's REST face): the same bindings matched
against a path, the body, the query string and the path's values merged into one JSON object
and read strictly (unknown fields refused).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import betterproto2

from textservice._encoding import json_mapping
from textservice._encoding.metadata import message_metadata
from textservice._transport.methods import HttpRule, MethodSpec
from textservice._transport.rest.templates import parse

__all__ = ["HttpRequest", "NoBinding", "encode_request", "request_from_http", "route_of"]


class NoBinding(ValueError):
    """No binding of the method fits the request (a path variable's value is missing or of
    the wrong form), so it cannot be sent over REST."""


@dataclass(frozen=True)
class HttpRequest:
    """One RPC as HTTP: verb, path (no host), query parameters and JSON body."""

    verb: str
    path: str
    query: tuple[tuple[str, str], ...]
    body: bytes | None


def _attribute(message: Any, name: str) -> Any:
    """A field's value by its proto name (betterproto2 adds ``_`` to keywords)."""
    meta = message_metadata(type(message)).meta_by_field_name
    return getattr(message, name if name in meta else f"{name}_")


def _path_values(request: betterproto2.Message, variables: Iterable[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for variable in variables:
        value: Any = request
        for name in variable.split("."):
            value = None if value is None else _attribute(value, name)
        if isinstance(value, str):
            values[variable] = value
    return values


def _json_path(variable: str) -> list[str]:
    return [json_mapping.json_name(name) for name in variable.split(".")]


def _drop(value: dict[str, Any], path: list[str]) -> None:
    """Remove the field at ``path`` (JSON names) from a JSON object, in place."""
    *parents, last = path
    for name in parents:
        inner = value.get(name)
        if not isinstance(inner, dict):
            return
        value = inner
    value.pop(last, None)


def _query(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _query(f"{prefix}.{key}" if prefix else key, inner, out)
    elif isinstance(value, list):
        for item in value:
            _query(prefix, item, out)
    elif isinstance(value, bool):
        out.append((prefix, "true" if value else "false"))
    elif value is not None:
        out.append((prefix, str(value)))


def encode_request(method: MethodSpec[Any, Any], request: betterproto2.Message) -> HttpRequest:
    """``request`` as the HTTP request of ``method``'s first binding that fits it.

    Raises ``NoBinding`` when none fits (or the method has none)."""
    if not method.http:  # an RPC a regenerated proto adds without a google.api.http option
        raise NoBinding(
            f"{method.name} has no REST binding (its proto gives it no google.api.http rule), "
            'so it cannot be sent over REST; call it with transport="grpc"'
        )
    for rule in method.http:
        template = parse(rule.path)
        path = template.expand(_path_values(request, template.variables))
        if path is None:
            continue
        fields = json_mapping.to_json(request)
        for variable in template.variables:
            _drop(fields, _json_path(variable))
        body: Any = None
        query: list[tuple[str, str]] = []
        if rule.body == "*":
            body = fields
        else:
            if rule.body:
                body = fields.pop(json_mapping.json_name(rule.body), {})
            _query("", fields, query)
        data = None if body is None else json_mapping.dumps(body)
        return HttpRequest(rule.verb, path, tuple(query), data)
    names = ", ".join(f"{rule.verb} {rule.path}" for rule in method.http) or "none"
    raise NoBinding(
        f"{method.name} cannot be sent over REST: the request fits none of its bindings "
        f"({names}); check the resource names it carries"
    )


def route_of(
    methods: Iterable[MethodSpec[Any, Any]], verb: str, path: str
) -> tuple[MethodSpec[Any, Any], HttpRule, dict[str, str]] | None:
    """The method, binding and path values an HTTP request is for (``None``: no route)."""
    for method in methods:
        for rule in method.http:
            if rule.verb != verb:
                continue
            values = parse(rule.path).match(path)
            if values is not None:
                return method, rule, values
    return None


def _set(target: dict[str, Any], path: list[str], value: Any) -> None:
    *parents, last = path
    for name in parents:
        inner = target.setdefault(name, {})
        if not isinstance(inner, dict):
            raise ValueError(f"{name} is both a value and a message")
        target = inner
    target[last] = value


def _query_fields(
    message_type: type[betterproto2.Message], query: Iterable[tuple[str, str]]
) -> dict[str, Any]:
    """Query parameters as a JSON object: repeated fields as lists, by the message's fields
    (either spelling of a name); an unknown name raises ``KeyError``."""
    out: dict[str, Any] = {}
    for key, value in query:
        names = key.split(".")
        owner: type[betterproto2.Message] = message_type
        for depth, name in enumerate(names):
            snake = betterproto2.Casing.SNAKE(name)
            meta = message_metadata(owner)
            python = snake if snake in meta.meta_by_field_name else f"{snake}_"
            if python not in meta.meta_by_field_name:
                raise KeyError(f"unknown query parameter {key!r}")
            field = meta.meta_by_field_name[python]
            if depth < len(names) - 1:
                owner = meta.cls_by_field[python]
                continue
            path = [json_mapping.json_name(betterproto2.Casing.SNAKE(n)) for n in names]
            if field.repeated:
                current = out
                for part in path[:-1]:
                    current = current.setdefault(part, {})
                current.setdefault(path[-1], []).append(value)
            else:
                _set(out, path, value == "true" if field.proto_type == "bool" else value)
    return out


def request_from_http(
    method: MethodSpec[Any, Any],
    rule: HttpRule,
    path_values: Mapping[str, str],
    query: Iterable[tuple[str, str]],
    body: Any,
) -> Any:
    """The request message of an HTTP request matched by ``route_of`` (``body``: its parsed
    JSON, ``None`` without one). Raises ``ValueError``/``TypeError``/``KeyError`` for what is
    not a valid request (unknown fields included)."""
    query = list(query)
    fields: dict[str, Any]
    if rule.body == "*":
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise TypeError("the request body must be a JSON object")
        fields = dict(body)
    else:
        fields = _query_fields(method.request_type, query)
        if rule.body:
            if body is not None and not isinstance(body, dict):
                raise TypeError("the request body must be a JSON object")
            fields[json_mapping.json_name(rule.body)] = body or {}
    if rule.body == "*" and query:
        fields.update(_query_fields(method.request_type, query))
    for variable, value in path_values.items():
        _set(fields, _json_path(variable), value)
    return json_mapping.from_json(method.request_type, fields, strict=True)
