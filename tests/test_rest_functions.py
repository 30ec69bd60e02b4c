"""Every public function of every generated facade works over ``transport="rest"``.

The functions come from the facades' ``__all__`` (nothing listed by hand); each is called
once over gRPC and once over REST against the fake (in process), with arguments chosen by
parameter name, and must reach the fake over REST and end the same way: the same result, or
the same typed error (the fake answers UNIMPLEMENTED for the RPCs it does not serve, such
as the tuned-model ones, which still proves the request found its route).
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
from collections.abc import Callable
from typing import Any

import pytest
from support.transports import via

from textservice import TextServiceClient
from textservice.testing import FakeServer
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


def _outcome(function: Callable[..., Any], arguments: dict[str, Any], transport: str) -> Any:
    fake = FakeServer(api_key="k", embedding_dimension=8)
    client = TextServiceClient("k", **via(fake, transport), retry=None)
    try:
        try:
            outcome: Any = ("ok", _call(function, arguments, client))
        except Exception as exc:
            outcome = ("error", type(exc).__name__, getattr(exc, "code", None))
    finally:
        client.close()
    return outcome, [(c.method, c.status) for c in fake.calls]


def _arguments(function: Callable[..., Any]) -> list[dict[str, Any]]:
    """Every combination of candidate values for the required parameters."""
    options: list[dict[str, Any]] = [{}]
    for name, parameter in inspect.signature(function).parameters.items():
        if parameter.default is not inspect.Parameter.empty:
            continue
        assert name in ARGUMENTS, f"no value for the parameter {name!r} of {function.__name__}"
        options = [{**o, name: value} for o in options for value in ARGUMENTS[name]]
    return options


@pytest.mark.parametrize(("version", "name"), FUNCTIONS, ids=[f"{v}.{n}" for v, n in FUNCTIONS])
def test_every_function_works_over_rest_as_over_grpc(version: str, name: str) -> None:
    function = getattr(importlib.import_module(f"textservice.{version}"), name)
    for arguments in _arguments(function):
        rest, rest_calls = _outcome(function, arguments, "rest")
        if rest[0] == "error" and not rest_calls:
            # refused before any call (over REST: a name that fits none of the RPC's
            # bindings, which has no URL): try the next resource name
            continue
        grpc, grpc_calls = _outcome(function, arguments, "grpc")
        assert rest == grpc
        assert rest_calls == grpc_calls  # the same RPCs reached the fake, with the same ends
        assert rest_calls, "the call reached the fake"
        return
    pytest.fail(f"no arguments were accepted by {version}.{name}")
