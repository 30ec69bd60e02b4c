"""The bad-input table: every rejected input, its error and message, and no network call.

Each row runs the checks a generated facade runs before any RPC (``check_model``,
``check_text``, ``check_request_options``, ``get_client``) or builds a client, against a
fake server that must see no call. Generators of strings are accepted (consumed once into a
list); sets and mappings are rejected because they have no order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from support.runtime_specs import MODEL, embed_sync

import textservice
import textservice.v1beta2
from textservice import Client
from textservice._checks import check_model, check_text
from textservice._facade import get_client
from textservice._transport.options import check_request_options
from textservice.retry import Retry
from textservice.testing import FakeServer


@dataclass
class Model:
    name: Any


def facade_checks(model: Any = "models/embedding-gecko-001", text: Any = "hi", **kw: Any) -> None:
    """What a generated ``generate_embeddings`` checks before any network call."""
    check_model(model)
    check_text(text)
    check_request_options(kw.get("request_options"))
    get_client(kw.get("client", Client("k", endpoint="127.0.0.1:9", insecure=True)))


def client_with(**kwargs: Any) -> Callable[[FakeServer], Any]:
    return lambda fake: Client("k", channel_factory=fake.channel, **kwargs)


# (input described, what is done with it, the exception, a fragment of its message)
BAD_INPUTS: list[tuple[str, Callable[[FakeServer], Any], type[Exception], str]] = [
    ("text=None", lambda f: facade_checks(text=None), TypeError, "got NoneType"),
    ("text=b'bytes'", lambda f: facade_checks(text=b"abc"), TypeError, "decode bytes"),
    ("text=bytearray", lambda f: facade_checks(text=bytearray(b"a")), TypeError, "decode bytes"),
    ("text=42", lambda f: facade_checks(text=42), TypeError, "got int"),
    ("text=4.2", lambda f: facade_checks(text=4.2), TypeError, "got float"),
    ("text=True", lambda f: facade_checks(text=True), TypeError, "got bool"),
    ("text=['a', 1]", lambda f: facade_checks(text=["a", 1]), TypeError, "text[1] must be a str"),
    ("text=['a', None]", lambda f: facade_checks(text=["a", None]), TypeError, "text[1]"),
    ("text=['a', b'b']", lambda f: facade_checks(text=["a", b"b"]), TypeError, "got bytes"),
    ("text=[['a']] nested", lambda f: facade_checks(text=[["a"]]), TypeError, "nested"),
    ("text=('a', ('b',))", lambda f: facade_checks(text=("a", ("b",))), TypeError, "nested"),
    ("text={'a', 'b'} set", lambda f: facade_checks(text={"a", "b"}), TypeError, "no order"),
    ("text={'a': 1} dict", lambda f: facade_checks(text={"a": 1}), TypeError, "no order"),
    ("text='\\ud800'", lambda f: facade_checks(text="\ud800"), ValueError, "lone surrogate"),
    (
        "text=['a', 'é\\udcff'] (surrogateescape)",
        lambda f: facade_checks(text=["a", b"\xc3\xa9\xff".decode("utf-8", "surrogateescape")]),
        ValueError,
        "text[1] is not valid Unicode text: it holds a lone surrogate '\\udcff' at position 1",
    ),
    ("model=None", lambda f: facade_checks(model=None), TypeError, "model must be"),
    ("model=3", lambda f: facade_checks(model=3), TypeError, "model must be"),
    ("model=b'models/x'", lambda f: facade_checks(model=b"models/x"), TypeError, "model must be"),
    ("model with int .name", lambda f: facade_checks(model=Model(3)), TypeError, "model must be"),
    ("model='a b'", lambda f: facade_checks(model="a b"), ValueError, "must start with"),
    ("model='x/gecko'", lambda f: facade_checks(model="x/gecko"), ValueError, "or be a bare id"),
    ("model=''", lambda f: facade_checks(model=""), ValueError, "must start with"),
    ("model='models/'", lambda f: facade_checks(model="models/"), ValueError, "followed by an id"),
    ("model='models/a/b'", lambda f: facade_checks(model="models/a/b"), ValueError, "no '/'"),
    ("model='models/ '", lambda f: facade_checks(model="models/ "), ValueError, "whitespace"),
    ("model='models/a b'", lambda f: facade_checks(model="models/a b"), ValueError, "an id"),
    (
        "model='tunedModels/x\\n'",
        lambda f: facade_checks(model="tunedModels/x\n"),
        ValueError,
        "whitespace",
    ),
    (
        "model='models/\\ud800'",
        lambda f: facade_checks(model="models/\ud800"),
        ValueError,
        "surrogate",
    ),
    (
        "model=Model('a/gecko')",
        lambda f: facade_checks(model=Model("a/gecko")),
        ValueError,
        "must start with",
    ),
    (
        "request_options unknown key",
        lambda f: facade_checks(request_options={"timout": 1}),
        TypeError,
        "unknown keys 'timout'",
    ),
    (
        "request_options timeout=-1",
        lambda f: facade_checks(request_options={"timeout": -1}),
        ValueError,
        "positive",
    ),
    (
        "request_options timeout=0",
        lambda f: facade_checks(request_options={"timeout": 0}),
        ValueError,
        "positive",
    ),
    (
        "request_options timeout='5'",
        lambda f: facade_checks(request_options={"timeout": "5"}),
        TypeError,
        "number of seconds",
    ),
    (
        "request_options retry=3",
        lambda f: facade_checks(request_options={"retry": 3}),
        TypeError,
        "Retry or None",
    ),
    (
        "request_options=[('timeout', 1)]",
        lambda f: facade_checks(request_options=[("timeout", 1)]),
        TypeError,
        "must be a mapping",
    ),
    ("client='x'", lambda f: facade_checks(client="x"), TypeError, "client must be"),
    ("max_concurrency=0", client_with(max_concurrency=0), ValueError, "max_concurrency must be"),
    ("max_concurrency=-3", client_with(max_concurrency=-3), ValueError, ">= 1"),
    ("max_concurrency=2.0", client_with(max_concurrency=2.0), TypeError, "must be an int"),
    ("client timeout=-1", client_with(timeout=-1), ValueError, "positive"),
    ("client retry='x'", client_with(retry="x"), TypeError, "Retry or None"),
    ("Retry(max_attempts=0)", lambda f: Retry(max_attempts=0), ValueError, "max_attempts"),
    ("Retry(initial_backoff=-1)", lambda f: Retry(initial_backoff=-1), ValueError, ">= 0"),
]


@pytest.mark.parametrize(
    ("what", "run", "error", "fragment"), BAD_INPUTS, ids=[r[0] for r in BAD_INPUTS]
)
def test_bad_input_is_rejected_before_the_network(
    fake_server: FakeServer,
    what: str,
    run: Callable[[FakeServer], Any],
    error: type[Exception],
    fragment: str,
) -> None:
    with pytest.raises(error) as info:
        run(fake_server)
    assert fragment in str(info.value)
    assert fake_server.count() == 0


def test_accepted_inputs(fake_server: FakeServer) -> None:
    assert check_text(t for t in ["a", "b"]) == ["a", "b"]  # generators: accepted, in order
    assert check_text(("a", "b")) == ["a", "b"]
    assert check_text("") == ""
    assert check_model(Model("tunedModels/mine")) == "tunedModels/mine"
    assert check_model(Model("gecko")) == "models/gecko"  # a bare id, as Google's SDK reads it


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda c: textservice.generate_embeddings(MODEL, "x\ud800", client=c), "text is not"),
        (lambda c: textservice.generate_embeddings(MODEL, ["a", "\ud800"], client=c), "text[1]"),
        (lambda c: list(textservice.iter_embeddings(MODEL, ["a", "\udfff"], client=c)), "texts[1]"),
        (lambda c: textservice.count_text_tokens(MODEL, "\ud800", client=c), "prompt is not"),
        (lambda c: textservice.generate_text(prompt="\ud800", client=c), "prompt is not"),
        (lambda c: textservice.v1beta2.generate_embeddings(MODEL, ["\ud800"], client=c), "text[0]"),
    ],
)
def test_a_lone_surrogate_is_a_bad_input_named_before_any_call(
    fake_server: FakeServer, call: Callable[[Client], Any], fragment: str
) -> None:
    # It cannot be encoded as UTF-8, so no request holding it can be sent.
    client = Client("k", channel_factory=fake_server.channel)
    with client, pytest.raises(ValueError, match="lone surrogate") as info:
        call(client)
    assert fragment in str(info.value)
    assert fake_server.count() == 0


def test_empty_list_returns_without_a_call(fake_server: FakeServer) -> None:
    with Client("k", channel_factory=fake_server.channel) as client:
        assert embed_sync(client, check_text([])) == []  # type: ignore[arg-type]
        assert embed_sync(client, check_text(iter([]))) == []  # type: ignore[arg-type]
    assert fake_server.count() == 0
