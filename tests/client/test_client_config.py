"""Client construction: API key sources, endpoints, TLS, metadata, and never showing the key."""

from __future__ import annotations

import inspect
import pydoc
import ssl
from typing import Any

import pytest

from textservice import Client, MissingAPIKeyError, Retry, configure
from textservice._transport.channels import Endpoint, is_loopback, parse_endpoint, tls_context
from textservice._transport.methods import MethodSpec
from textservice._transport.options import NO_RETRY, RequestOptions, ResolvedOptions
from textservice.client import ClientOptions, call_path, get_default_client

KEY = "AIzaSy-test-key-0123456789"


@pytest.fixture(autouse=True)
def _no_env_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)


@pytest.mark.parametrize(
    ("text", "endpoint"),
    [
        (
            "generativelanguage.googleapis.com:443",
            Endpoint("generativelanguage.googleapis.com", 443),
        ),
        ("example.com", Endpoint("example.com", 443)),
        ("127.0.0.1:50051", Endpoint("127.0.0.1", 50051)),
        ("[::1]:8080", Endpoint("::1", 8080)),
        ("[::1]", Endpoint("::1", 443)),
    ],
)
def test_parse_endpoint(text: str, endpoint: Endpoint) -> None:
    assert parse_endpoint(text) == endpoint


@pytest.mark.parametrize(
    "text", ["https://example.com", "host:0", "host:99999", "host:abc", ":443", "::1:80", "[::1"]
)
def test_parse_endpoint_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_endpoint(text)


def test_is_loopback() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("127.5.5.5") and is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("10.0.0.1") and not is_loopback("example.com")


def test_tls_context_verifies_with_system_cas_and_offers_h2() -> None:
    context = tls_context()
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2


def test_key_from_argument_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with Client(KEY) as client:
        assert ("x-goog-api-key", KEY) in call_path(client).metadata()
        assert client.endpoint == "generativelanguage.googleapis.com:443"
        assert not client.insecure
    monkeypatch.setenv("GOOGLE_API_KEY", "from-env")
    with Client() as client:
        assert ("x-goog-api-key", "from-env") in call_path(client).metadata()


def test_missing_key_for_google_is_a_clear_error() -> None:
    with pytest.raises(MissingAPIKeyError, match="GOOGLE_API_KEY"):
        Client()
    assert issubclass(MissingAPIKeyError, ValueError)
    # A local server needs no key.
    with Client(endpoint="127.0.0.1:5000", insecure=True) as client:
        assert all(key != "x-goog-api-key" for key, _ in call_path(client).metadata())


def test_user_metadata_is_merged_with_the_key() -> None:
    with Client(KEY, metadata={"x-team": "search"}) as client:
        assert call_path(client).metadata() == [("x-team", "search"), ("x-goog-api-key", KEY)]
    with pytest.raises(ValueError, match="api_key="):
        Client(KEY, metadata={"x-goog-api-key": "other"})


def test_key_is_not_sent_in_plaintext_to_another_host() -> None:
    with pytest.raises(ValueError, match="plaintext") as info:
        Client(KEY, endpoint="192.0.2.10:80", insecure=True)
    assert KEY not in str(info.value)
    with Client(KEY, endpoint="127.0.0.1:80", insecure=True) as client:
        assert client.insecure
    forced = Client(KEY, endpoint="192.0.2.10:80", insecure=True, allow_plaintext_key=True)
    forced.close()


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"max_concurrency": 0}, ValueError),
        ({"max_concurrency": "8"}, TypeError),
        ({"timeout": -1}, ValueError),
        ({"retry": 3}, TypeError),
        ({"insecure": "yes"}, TypeError),
        ({"endpoint": 443}, TypeError),
        ({"channel_factory": 5}, TypeError),
    ],
)
def test_bad_client_options(kwargs: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        Client(KEY, **kwargs)  # type: ignore[arg-type]


def test_api_key_type_and_emptiness() -> None:
    with pytest.raises(TypeError, match="api_key must be a str"):
        Client(b"key")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty"):
        Client("  ")


def test_repr_never_shows_the_key() -> None:
    client = Client(KEY)
    try:
        text = repr(client) + str(client) + repr(vars(client))
        assert KEY not in text
        assert "<redacted>" in repr(client)
    finally:
        client.close()


def test_policy_precedence() -> None:
    spec = MethodSpec("pkg.TextService", "EmbedText", object, object, 60.0, Retry())  # type: ignore[type-var]
    mine = Retry(max_attempts=2)
    with Client(KEY) as client:
        assert call_path(client).resolve(spec, RequestOptions()) == ResolvedOptions(
            60.0, False, Retry()
        )
        assert call_path(client).resolve(
            spec, RequestOptions(timeout=3, retry=None)
        ) == ResolvedOptions(3, True, None)
    with Client(KEY, timeout=9, retry=mine) as client:
        assert call_path(client).resolve(spec, RequestOptions()) == ResolvedOptions(9, True, mine)
        assert call_path(client).resolve(spec, RequestOptions(timeout=None)) == ResolvedOptions(
            None, True, mine
        )


def test_a_method_without_a_retry_policy_gets_no_retry_but_quota_waits() -> None:
    # issue 13: its quota 429s are still waited out (by the governor, outside max_attempts);
    # only retry=None given by the user turns that off too
    spec = MethodSpec("pkg.S", "M", object, object, None, None)  # type: ignore[type-var]
    with Client(KEY) as client:
        resolved = call_path(client).resolve(spec, RequestOptions())
        assert resolved.retry == NO_RETRY == Retry(max_attempts=1)
        assert call_path(client).resolve(spec, RequestOptions(retry=None)).retry is None


def test_configure_replaces_and_closes_the_default_client() -> None:
    first = configure(KEY, endpoint="127.0.0.1:1", insecure=True)
    assert get_default_client() is first
    second = configure(KEY, endpoint="127.0.0.1:2", insecure=True)
    assert first.closed and get_default_client() is second
    second.close()
    with pytest.raises(MissingAPIKeyError):
        get_default_client()  # the closed one is replaced from the (unset) environment


def test_configure_takes_exactly_the_client_options() -> None:
    # configure() takes Client's arguments (typed from its signature: tests/typecheck); its
    # signature for help() is the client's own, and ClientOptions is made from it.
    client_params = inspect.signature(Client.__init__).parameters
    keyword_only = [n for n, p in client_params.items() if p.kind is p.KEYWORD_ONLY]
    options: Any = ClientOptions
    assert list(options.__annotations__) == keyword_only
    assert options.__required_keys__ == frozenset()
    shown = inspect.signature(configure)
    assert list(shown.parameters) == ["api_key", *keyword_only]
    assert shown.parameters["max_concurrency"].default == 8
    assert "max_concurrency: 'int' = 8" in pydoc.render_doc(configure, renderer=pydoc.plaintext)  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match="bogus"):
        configure(KEY, bogus=1)  # type: ignore[call-arg]


def test_the_former_names_stay_as_aliases() -> None:
    # Client and FakeServer are the names; code written with the first ones keeps working
    import textservice.testing

    assert textservice.TextServiceClient is textservice.Client is Client
    assert textservice.client.TextServiceClient is Client
    assert textservice.testing.FakeTextService is textservice.testing.FakeServer
