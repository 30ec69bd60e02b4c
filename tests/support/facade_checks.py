"""Behaviour checks of one generated facade module against the fake TextService.

Plain functions (no pytest fixtures) so the same checks run on the committed versions
(``tests/facade/test_facade.py``) and, in a subprocess, on a freshly generated synthetic version
(``tests/codegen/test_facade_new_version.py``):
``python -m support.facade_checks textservice.v1beta9``.
"""

from __future__ import annotations

import asyncio
import enum
import importlib
import inspect
import sys
import types
import typing
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from textservice.client import Client
from textservice.testing import (
    FakeServer,
    expected_completion,
    expected_embedding,
    expected_token_count,
)

EMBED_MODEL = "models/embedding-gecko-001"
TEXT_MODEL = "models/text-bison-001"


@contextmanager
def served(**options: Any) -> Iterator[tuple[FakeServer, Client]]:
    """A fake and a client bound to it in memory."""
    fake = FakeServer(api_key="test-key", **options)
    client = Client("test-key", channel_factory=fake.channel)
    try:
        yield fake, client
    finally:
        client.close()


def rpcs_of(facade: types.ModuleType) -> tuple[str, ...]:
    """The RPCs the fake serves for the facade's API version (read from the generated stubs)."""
    version = facade.__name__.rsplit(".", 1)[1]
    from textservice.testing.versions import version_named

    return version_named(version).methods


def check_functions_follow_the_rpcs(facade: types.ModuleType) -> None:
    """A function (and its async twin) exists exactly when its RPCs do."""
    rpcs = set(rpcs_of(facade))
    wanted = {
        "generate_embeddings": "EmbedText" in rpcs,
        "iter_embeddings": "EmbedText" in rpcs,
        "generate_text": "GenerateText" in rpcs,
        "count_text_tokens": "CountTextTokens" in rpcs,
    }
    for name, present in wanted.items():
        assert hasattr(facade, name) == present, (facade.__name__, name, rpcs)
        assert hasattr(facade, f"{name}_async") == present, (facade.__name__, name)
        if present:
            assert name in facade.__all__ and f"{name}_async" in facade.__all__
            # iter_embeddings_async returns an async iterator at once (arguments checked first)
            awaitable = name != "iter_embeddings"
            assert inspect.iscoroutinefunction(getattr(facade, f"{name}_async")) == awaitable
            assert not inspect.iscoroutinefunction(getattr(facade, name))


def _params(function: Callable[..., Any]) -> list[tuple[str, str, object]]:
    return [
        (p.name, p.kind.name, p.default) for p in inspect.signature(function).parameters.values()
    ]


def check_signatures(facade: types.ModuleType) -> None:
    """The signatures the issue asks for; the async twins take the same parameters."""
    empty = inspect.Parameter.empty
    pos = "POSITIONAL_OR_KEYWORD"
    kw = "KEYWORD_ONLY"
    own = [("client", pos, None), ("request_options", pos, None)]
    assert _params(facade.generate_embeddings) == [
        ("model", pos, empty),
        ("text", pos, empty),
        *own,
        ("output", kw, "list"),
    ]
    assert _params(facade.iter_embeddings) == [
        ("model", pos, empty),
        ("texts", pos, empty),
        ("client", kw, None),
        ("request_options", kw, None),
        ("batch_size", kw, 100),
        ("progress", kw, None),
        ("output", kw, "list"),
    ]
    if hasattr(facade, "count_text_tokens"):
        assert _params(facade.count_text_tokens) == [
            ("model", pos, empty),
            ("prompt", pos, empty),
            *own,
        ]
    if hasattr(facade, "generate_text"):
        assert _params(facade.generate_text) == [
            ("model", kw, TEXT_MODEL),
            ("prompt", kw, empty),
            *[
                (name, kw, None)
                for name in (
                    "temperature",
                    "candidate_count",
                    "max_output_tokens",
                    "top_p",
                    "top_k",
                    "safety_settings",
                    "stop_sequences",
                    "client",
                    "request_options",
                )
            ],
        ]
    for name in ("generate_embeddings", "iter_embeddings", "generate_text", "count_text_tokens"):
        if hasattr(facade, name):
            sync, twin = getattr(facade, name), getattr(facade, f"{name}_async")
            assert _params(sync) == _params(twin), name
            assert sync.__doc__ and "Args:" in sync.__doc__ and "request_options" in sync.__doc__


def check_embeddings(facade: types.ModuleType) -> None:
    """One str -> one vector; a list -> vectors in input order, batched when the RPC exists."""
    with served() as (fake, client):
        one = facade.generate_embeddings(EMBED_MODEL, "hello", client=client)
        assert one == {"embedding": expected_embedding(EMBED_MODEL, "hello")}
        assert fake.count("EmbedText") == 1
        texts = [f"text {i}" for i in range(205)]
        many = facade.generate_embeddings(EMBED_MODEL, texts, client=client)
        assert many == {"embedding": [expected_embedding(EMBED_MODEL, t) for t in texts]}
        if "BatchEmbedText" in rpcs_of(facade):
            assert fake.count("BatchEmbedText") == 3  # 100 + 100 + 5
            assert fake.count("EmbedText") == 1
            sizes = sorted(len(c.request.texts) for c in fake.calls if c.method == "BatchEmbedText")
            assert sizes == [5, 100, 100]
        else:
            assert fake.count("EmbedText") == 1 + len(texts)
        tuple_result = facade.generate_embeddings(EMBED_MODEL, ("a", "b"), client=client)
        assert tuple_result["embedding"] == [expected_embedding(EMBED_MODEL, t) for t in "ab"]
        twin = asyncio.run(facade.generate_embeddings_async(EMBED_MODEL, ["x", "y"], client=client))
        assert twin == {"embedding": [expected_embedding(EMBED_MODEL, t) for t in "xy"]}


def _float32(array: Any, shape: tuple[int, ...]) -> Any:
    """``array`` after checking it is a C-contiguous float32 ndarray of ``shape``."""
    import numpy

    assert isinstance(array, numpy.ndarray), type(array)
    assert array.dtype == numpy.float32 and array.shape == shape, (array.dtype, array.shape)
    assert array.flags.c_contiguous
    return array


def check_numpy_output(facade: types.ModuleType) -> None:
    """``output="numpy"``: the same float32 values as the list output, as one array."""
    dim = 24
    with served(embedding_dimension=dim) as (fake, client):
        one = facade.generate_embeddings(EMBED_MODEL, "hello", client=client, output="numpy")
        assert list(one) == ["embedding"]
        assert _float32(one["embedding"], (dim,)).tolist() == expected_embedding(
            EMBED_MODEL, "hello", dim
        )
        texts = [f"text {i}" for i in range(205)]
        calls_before = fake.count()
        many = facade.generate_embeddings(EMBED_MODEL, texts, client=client, output="numpy")
        listed = facade.generate_embeddings(EMBED_MODEL, texts, client=client)
        assert _float32(many["embedding"], (205, dim)).tolist() == listed["embedding"]
        assert listed["embedding"] == [expected_embedding(EMBED_MODEL, t, dim) for t in texts]
        # the same RPCs as the list output: batches of 100, or one EmbedText per text
        per_call = 3 if "BatchEmbedText" in rpcs_of(facade) else 205
        assert fake.count() - calls_before == 2 * per_call
        empty = facade.generate_embeddings(EMBED_MODEL, [], client=client, output="numpy")
        _float32(empty["embedding"], (0, 0))
        twin = asyncio.run(
            facade.generate_embeddings_async(EMBED_MODEL, ("x", "y"), client=client, output="numpy")
        )
        assert _float32(twin["embedding"], (2, dim)).tolist() == [
            expected_embedding(EMBED_MODEL, t, dim) for t in "xy"
        ]
        listed_twin = asyncio.run(
            facade.generate_embeddings_async(EMBED_MODEL, "x", client=client, output="list")
        )
        assert listed_twin == {"embedding": expected_embedding(EMBED_MODEL, "x", dim)}


def check_iter_embeddings(facade: types.ModuleType) -> None:
    """Batches in input order, as lists or arrays, sync and async; progress per batch."""
    dim = 8
    texts = [f"line {i}" for i in range(130)]
    expected = [expected_embedding(EMBED_MODEL, t, dim) for t in texts]
    with served(embedding_dimension=dim) as (fake, client):
        seen: list[tuple[int, int]] = []
        batches = list(
            facade.iter_embeddings(
                EMBED_MODEL,
                texts,
                client=client,
                batch_size=50,
                progress=lambda done, total: seen.append((done, total)),
            )
        )
        assert [len(b) for b in batches] == [50, 50, 30]
        assert [v for b in batches for v in b] == expected
        assert seen == [(50, 130), (100, 130), (130, 130)]
        if "BatchEmbedText" in rpcs_of(facade):
            sizes = [len(c.request.texts) for c in fake.calls if c.method == "BatchEmbedText"]
            assert sorted(sizes) == [30, 50, 50]
        else:
            assert fake.count("EmbedText") == len(texts)

        arrays = list(
            facade.iter_embeddings(
                EMBED_MODEL, texts, client=client, batch_size=100, output="numpy"
            )
        )
        assert [_float32(a, (len(a), dim)).shape[0] for a in arrays] == [100, 30]
        assert [row for a in arrays for row in a.tolist()] == expected

        async def collect(**options: Any) -> list[Any]:
            return [b async for b in facade.iter_embeddings_async(EMBED_MODEL, texts, **options)]

        listed = asyncio.run(collect(client=client, batch_size=64))
        assert [len(b) for b in listed] == [64, 64, 2]
        assert [v for b in listed for v in b] == expected
        numpy_batches = asyncio.run(collect(client=client, output="numpy"))
        assert [row for a in numpy_batches for row in a.tolist()] == expected
        assert list(facade.iter_embeddings(EMBED_MODEL, [], client=client)) == []


def text_service_module(facade: types.ModuleType) -> types.ModuleType:
    """The facade's TextService module (its method specs, proto package ``_pb``)."""
    return importlib.import_module(f"{facade.__name__}._text_service")


def _run(coroutine_function: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """``asyncio.run`` of a coroutine made only when called."""
    return asyncio.run(coroutine_function())


def _enum_class(facade: types.ModuleType, name: str) -> Any:
    """The enum ``name`` of ``facade``'s messages (its members are read by name)."""
    cls = getattr(text_service_module(facade)._pb, name)
    assert isinstance(cls, enum.EnumMeta), name
    return cls


def check_generate_text(facade: types.ModuleType) -> None:
    """Completion shape: candidates, result, filters and safety_feedback with enum members."""
    if not hasattr(facade, "generate_text"):
        return
    with served() as (fake, client):
        completion = facade.generate_text(prompt="Tell me", client=client)
        assert completion["result"] == expected_completion(TEXT_MODEL, "Tell me")
        assert completion["candidates"][0]["output"] == completion["result"]
        assert completion["candidates"][0]["citation_metadata"] is None
        assert completion["filters"] == [] and completion["safety_feedback"] == []
        request = fake.calls[-1].request
        assert request.model == TEXT_MODEL and request.prompt.text == "Tell me"
        assert request.temperature is None and request.stop_sequences == []

        two = facade.generate_text(
            model="models/text-bison-001",
            prompt="Hi",
            temperature=0.25,
            candidate_count=2,
            top_k=3,
            stop_sequences="STOP",
            safety_settings=[{"category": "HARM_CATEGORY_TOXICITY", "threshold": 2}],
            client=client,
        )
        assert [c["output"] for c in two["candidates"]] == [
            expected_completion(TEXT_MODEL, "Hi", index=i) for i in range(2)
        ]
        request = fake.calls[-1].request
        assert request.stop_sequences == ["STOP"]
        assert request.temperature == 0.25 and request.candidate_count == 2 and request.top_k == 3
        threshold = _enum_class(facade, "SafetySettingHarmBlockThreshold")
        assert request.safety_settings[0].threshold == threshold(2)

        fake.set_generate_text_extras(
            filters=[{"reason": "SAFETY", "message": "blocked"}],
            safety_ratings=[{"category": "HARM_CATEGORY_TOXICITY", "probability": "LOW"}],
            blocked=True,
        )
        blocked = facade.generate_text(prompt="bad", client=client)
        assert blocked["result"] is None and blocked["candidates"] == []
        reason = blocked["filters"][0]["reason"]
        assert reason is _enum_class(facade, "ContentFilterBlockedReason").SAFETY
        assert blocked["filters"][0]["message"] == "blocked"

        fake.set_generate_text_extras(
            safety_ratings=[{"category": "HARM_CATEGORY_TOXICITY", "probability": "LOW"}],
            citation_sources=[{"uri": "https://example.com", "startIndex": 1}],
        )
        rated = asyncio.run(facade.generate_text_async(prompt="ok", client=client))
        rating = rated["candidates"][0]["safety_ratings"][0]
        assert rating["probability"] is _enum_class(facade, "SafetyRatingHarmProbability").LOW
        source = rated["candidates"][0]["citation_metadata"]["citation_sources"][0]
        assert source["uri"] == "https://example.com" and source["start_index"] == 1
        assert source["end_index"] is None  # optional scalar not set
        check_conforms(rated, typing.get_type_hints(facade.generate_text)["return"], "completion")


def check_count_text_tokens(facade: types.ModuleType) -> None:
    """``{"token_count": int}`` (and the async twin)."""
    if not hasattr(facade, "count_text_tokens"):
        return
    with served() as (fake, client):
        counted = facade.count_text_tokens(TEXT_MODEL, "one two three", client=client)
        assert counted == {"token_count": expected_token_count("one two three")}
        twin = asyncio.run(facade.count_text_tokens_async(TEXT_MODEL, "four", client=client))
        assert twin == {"token_count": expected_token_count("four")}
        assert fake.count("CountTextTokens") == 2


def _raises(kind: type[Exception], words: str, call: Callable[[], object]) -> None:
    try:
        call()
    except kind as exc:
        assert words in str(exc), (words, str(exc))
    else:
        raise AssertionError(f"expected {kind.__name__} mentioning {words!r}")


def check_bad_arguments_fail_before_the_network(facade: types.ModuleType) -> None:
    """Wrong arguments raise TypeError/ValueError naming them, and send nothing."""
    with served() as (fake, client):
        embed = facade.generate_embeddings
        _raises(ValueError, "model", lambda: embed("no/gecko", "x", client=client))
        _raises(TypeError, "text", lambda: embed(EMBED_MODEL, 3, client=client))
        _raises(TypeError, "text[1]", lambda: embed(EMBED_MODEL, ["a", 2], client=client))
        _raises(
            TypeError,
            "request_options",
            lambda: embed(EMBED_MODEL, "x", client=client, request_options={"bogus": 1}),
        )
        _raises(
            ValueError,
            "model",
            lambda: asyncio.run(facade.generate_embeddings_async("no/gecko", "x", client=client)),
        )
        for bad in ("array", "NUMPY", None, 1):
            options = {"client": client, "output": bad}
            _raises(ValueError, "output", partial(embed, EMBED_MODEL, "x", **options))
            twin = partial(facade.generate_embeddings_async, EMBED_MODEL, "x", **options)
            _raises(ValueError, "output", partial(_run, twin))
            _raises(
                ValueError, "output", partial(facade.iter_embeddings, EMBED_MODEL, ["x"], **options)
            )
        iterate = facade.iter_embeddings
        iterate_async = facade.iter_embeddings_async
        _raises(TypeError, "texts", lambda: iterate(EMBED_MODEL, "one", client=client))
        _raises(TypeError, "texts[1]", lambda: iterate_async(EMBED_MODEL, ["a", 2], client=client))
        _raises(
            ValueError,
            "batch_size",
            lambda: iterate(EMBED_MODEL, ["a"], client=client, batch_size=101),
        )
        _raises(
            TypeError,
            "progress",
            lambda: iterate_async(EMBED_MODEL, ["a"], client=client, progress=3),
        )
        _raises(ValueError, "model", lambda: iterate("no/gecko", ["a"], client=client))
        if hasattr(facade, "generate_text"):
            gen = facade.generate_text
            _raises(TypeError, "prompt", lambda: gen(prompt=3, client=client))
            _raises(
                TypeError, "temperature", lambda: gen(prompt="p", temperature="hot", client=client)
            )
            _raises(ValueError, "top_k", lambda: gen(prompt="p", top_k=2**40, client=client))
            _raises(
                TypeError,
                "stop_sequences",
                lambda: gen(prompt="p", stop_sequences=[1], client=client),
            )
            _raises(
                ValueError,
                "safety_settings[0]",
                lambda: gen(prompt="p", safety_settings=[{"nope": 1}], client=client),
            )
        if hasattr(facade, "count_text_tokens"):
            _raises(
                ValueError, "model", lambda: facade.count_text_tokens("x y", "p", client=client)
            )
        assert fake.count() == 0


def check_conforms(value: Any, annotation: Any, where: str) -> None:
    """``value`` has exactly the shape of ``annotation`` (a TypedDict, list, union, enum, ...)."""
    origin = typing.get_origin(annotation)
    if annotation is Any:  # a google.protobuf.Value: any JSON-like value
        assert value is None or isinstance(value, str | float | bool | list | dict), (where, value)
    elif typing.is_typeddict(annotation):
        hints = typing.get_type_hints(annotation)
        assert isinstance(value, dict), where
        assert set(value) == set(hints), (where, sorted(value), sorted(hints))
        for key, hint in hints.items():
            check_conforms(value[key], hint, f"{where}.{key}")
    elif origin in (typing.Union, types.UnionType):
        errors = []
        for option in typing.get_args(annotation):
            try:
                check_conforms(value, option, where)
                return
            except AssertionError as exc:
                errors.append(str(exc))
        raise AssertionError(f"{where}: {value!r} matches no option: {errors}")
    elif origin is list:
        assert isinstance(value, list), where
        (item,) = typing.get_args(annotation)
        for i, one in enumerate(value):
            check_conforms(one, item, f"{where}[{i}]")
    elif origin is dict:
        assert isinstance(value, dict), where
        key_type, value_type = typing.get_args(annotation)
        for k, v in value.items():
            check_conforms(k, key_type, f"{where} key")
            check_conforms(v, value_type, f"{where}[{k!r}]")
    elif annotation is type(None):
        assert value is None, where
    elif annotation is float:
        assert isinstance(value, float), (where, value)
    elif annotation is int:
        assert isinstance(value, int) and not isinstance(value, bool | enum.Enum), (where, value)
    elif isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        assert isinstance(value, annotation), (where, value, annotation)
    else:
        assert isinstance(value, annotation), (where, value, annotation)


CHECKS = (
    check_functions_follow_the_rpcs,
    check_signatures,
    check_embeddings,
    check_numpy_output,
    check_iter_embeddings,
    check_generate_text,
    check_count_text_tokens,
    check_bad_arguments_fail_before_the_network,
)


def run_all(module: str) -> list[str]:
    """Run every check on the facade ``module``; return the names of the checks run."""
    facade = importlib.import_module(module)
    for check in CHECKS:
        check(facade)
    return [check.__name__ for check in CHECKS]


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(name, "passed:", ", ".join(run_all(name)))
