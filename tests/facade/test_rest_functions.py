"""Every public function of every generated facade works over ``transport="rest"``.

The functions come from the facades' ``__all__`` (nothing listed by hand); each is called
once over gRPC and once over REST against the fake (in process), with arguments chosen by
parameter name, and must reach the fake over REST and end the same way: the same result, or
the same typed error (the fake answers UNIMPLEMENTED for the RPCs it does not serve, such
as the tuned-model ones, which still proves the request found its route). An RPC whose proto
gives it no ``google.api.http`` rule is refused over REST, before any call, saying so.

Arguments come from a table for today's names, then from the version's bindings (a resource
name of each form a path variable takes: ``{parent=corpora/*}`` gives ``corpora/x``), then
from the type (a mapping: ``{}``; a string: ``"hello"``), so a regenerated facade's new
functions are called too (``test_regenerate_real_protos``).
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import re
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from support.transports import via

from textservice import Client
from textservice.testing import FakeServer
from textservice.testing.rest import rest_methods
from textservice.testing.versions import api_versions

MODEL = "models/gemini-embedding-001"

ARGUMENTS: dict[str, list[Any]] = {
    "model": [MODEL],
    "prompt": ["Write a haiku"],
    "text": ["hello"],
    "texts": [["hello", "world"]],
    "content": ["hello"],
    "contents": [["hello", "world"]],
    "answer_style": ["ABSTRACTIVE"],
    # a resource name of each kind the API's bindings take (the first that fits is used)
    "name": [MODEL, "tunedModels/mine"],
    "tuned_model": [{"name": "tunedModels/mine", "base_model": MODEL}],
}
"""Values for required parameters, by name (several: tried in order until one is accepted)."""


def _functions() -> list[tuple[str, str]]:
    found = []
    for version in api_versions():
        facade = importlib.import_module(f"textservice.{version.name}")
        found += [
            (version.name, name)
            for name in facade.__all__
            if inspect.isfunction(getattr(facade, name))
        ]
    return found


FUNCTIONS = _functions()


def _call(function: Callable[..., Any], arguments: dict[str, Any], client: Any) -> Any:
    result = function(**arguments, client=client)
    if inspect.isawaitable(result):
        result = asyncio.run(_awaited(result))
    elif hasattr(result, "__aiter__"):
        result = asyncio.run(_collected(result))
    elif hasattr(result, "__next__"):
        result = list(result)
    return result


async def _awaited(result: Any) -> Any:
    return await result


async def _collected(iterator: Any) -> list[Any]:
    return [item async for item in iterator]


def _outcome(
    function: Callable[..., Any], arguments: dict[str, Any], transport: str
) -> tuple[Any, list[Any], str]:
    """How the call ended, the calls the fake saw, and the error's message (or ``""``)."""
    fake = FakeServer(api_key="k", embedding_dimension=8)
    client = Client("k", **via(fake, transport), retry=None)
    message = ""
    try:
        try:
            outcome: Any = ("ok", _call(function, arguments, client))
        except Exception as exc:
            outcome = ("error", type(exc).__name__, getattr(exc, "code", None))
            message = str(exc)
    finally:
        client.close()
    return outcome, [(c.method, c.status) for c in fake.calls], message


_VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)(?:=([^{}]*))?\}")


@cache
def _resource_names(version: str) -> dict[str, list[Any]]:
    """For each path variable of the version's REST bindings, a value of each form its
    patterns take: ``{parent=corpora/*}`` gives ``parent: corpora/x``; a nested one,
    ``{cached_content.name=cachedContents/*}``, the mapping ``{"name": "cachedContents/x"}``
    for the ``cached_content`` parameter."""
    found: dict[str, list[Any]] = {}
    for service in next(v for v in api_versions() if v.name == version).services:
        for method in rest_methods(version, service.name):
            for rule in method.http:
                for variable, pattern in _VARIABLE.findall(rule.path):
                    head, _, tail = variable.partition(".")
                    if "." in tail:
                        continue  # deeper than a parameter's own field: none in the API's rules
                    sample = re.sub(r"\*\*?", "x", pattern or "*")
                    value: Any = {tail: sample} if tail else sample
                    if value not in found.setdefault(head, []):
                        found[head].append(value)
    return found


_LEFT_OUT = object()
"""An optional parameter's first candidate: not passed."""


def _candidates(version: str, name: str, parameter: inspect.Parameter) -> list[Any]:
    """Values to try for a parameter, in order (see the module docstring): a required one
    always gets one; an optional one only when a binding's path takes it (first left out)."""
    values = [*ARGUMENTS.get(name, []), *_resource_names(version).get(name, [])]
    annotation = str(parameter.annotation)
    if parameter.default is not inspect.Parameter.empty:
        return [_LEFT_OUT, *_resource_names(version).get(name, [])]
    if "Mapping" in annotation:
        values.append({})
    elif not values:
        assert annotation.startswith("str"), f"no value for the parameter {name!r} ({annotation})"
        values.append("hello")
    return values


def _arguments(version: str, function: Callable[..., Any]) -> list[dict[str, Any]]:
    """Every combination of candidate values for the parameters that get one."""
    options: list[dict[str, Any]] = [{}]
    for name, parameter in inspect.signature(function).parameters.items():
        values = _candidates(version, name, parameter)
        options = [
            o if value is _LEFT_OUT else {**o, name: value} for o in options for value in values
        ]
    return options


@pytest.mark.parametrize(("version", "name"), FUNCTIONS, ids=[f"{v}.{n}" for v, n in FUNCTIONS])
def test_every_function_works_over_rest_as_over_grpc(version: str, name: str) -> None:
    function = getattr(importlib.import_module(f"textservice.{version}"), name)
    for arguments in _arguments(version, function):
        rest, rest_calls, message = _outcome(function, arguments, "rest")
        if rest[0] == "error" and not rest_calls:
            if "has no REST binding" in message:  # nothing to compare: over REST it cannot go
                assert rest[1] == "InvalidArgument" and 'transport="grpc"' in message
                return
            # refused before any call (over REST: a name that fits none of the RPC's
            # bindings, which has no URL): try the next resource name
            continue
        grpc, grpc_calls, _ = _outcome(function, arguments, "grpc")
        assert rest == grpc
        assert rest_calls == grpc_calls  # the same RPCs reached the fake, with the same ends
        assert rest_calls, "the call reached the fake"
        return
    pytest.fail(f"no arguments were accepted by {version}.{name}")
