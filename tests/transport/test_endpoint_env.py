"""``TEXTSERVICE_ENDPOINT``: unchanged code and commands pointed at another server (a fake, a
proxy) by the environment; an explicit ``endpoint`` (``--endpoint``) comes first."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.cli_helpers import cli_env, run_cli, write_lines

from textservice._transport.channels import Endpoint, parse_endpoint_url
from textservice.client import ENDPOINT_ENV, Client, configure, get_default_client
from textservice.testing import FakeServer, ServerAddress, expected_content_embedding

GEMINI = "models/gemini-embedding-001"
KEY = "endpoint-env-test-key"
"""A key no other test's key contains (the client scrubs every live key from error texts)."""


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.delenv(ENDPOINT_ENV, raising=False)


# -- the variable's forms ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "endpoint", "plaintext"),
    [
        ("127.0.0.1:50051", Endpoint("127.0.0.1", 50051), None),
        ("http://127.0.0.1:50051", Endpoint("127.0.0.1", 50051), True),
        ("HTTP://localhost:8080/", Endpoint("localhost", 8080), True),
        ("http://fake", Endpoint("fake", 80), True),
        ("https://proxy.example.com", Endpoint("proxy.example.com", 443), False),
        ("https://proxy.example.com:8443", Endpoint("proxy.example.com", 8443), False),
        (" http://[::1]:9000 ", Endpoint("::1", 9000), True),
    ],
)
def test_the_forms_of_the_variable(value: str, endpoint: Endpoint, plaintext: bool | None) -> None:
    assert parse_endpoint_url(value) == (endpoint, plaintext)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("grpc://127.0.0.1:1", "http:// (plaintext) or https:// (TLS)"),
        ("http://127.0.0.1:1/v1beta", "no path"),
        ("http://user@127.0.0.1:1", "no path"),
        ("http://", "no path"),
        ("http://127.0.0.1:port", "no valid port"),
        ("127.0.0.1:0", "no valid port"),
    ],
)
def test_a_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str, fragment: str
) -> None:
    monkeypatch.setenv(ENDPOINT_ENV, value)
    with pytest.raises(ValueError, match=f"the {ENDPOINT_ENV} environment variable") as info:
        Client()
    assert fragment in str(info.value)


# -- precedence: argument > variable > Google ---------------------------------------------------


def test_the_variable_sets_endpoint_and_tls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENDPOINT_ENV, "http://127.0.0.1:50051")
    with Client() as client:  # no key needed: not Google's endpoint
        assert (client.endpoint, client.insecure) == ("127.0.0.1:50051", True)
    monkeypatch.setenv(ENDPOINT_ENV, "https://proxy.example.com:8443")
    with Client(KEY) as client:
        assert (client.endpoint, client.insecure) == ("proxy.example.com:8443", False)
    monkeypatch.setenv(ENDPOINT_ENV, "proxy.example.com:8443")  # no scheme: insecure decides
    with Client(KEY) as client:
        assert client.insecure is False
    with Client(insecure=True) as client:
        assert (client.endpoint, client.insecure) == ("proxy.example.com:8443", True)


def test_an_explicit_endpoint_wins_and_the_variable_is_not_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ENDPOINT_ENV, "grpc://not even valid")
    with Client(KEY, endpoint="example.com:444") as client:
        assert (client.endpoint, client.insecure) == ("example.com:444", False)
    fake = FakeServer()
    with Client(channel_factory=fake.channel) as client:  # the factory decides
        assert client.endpoint == "generativelanguage.googleapis.com:443"


def test_empty_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENDPOINT_ENV, "  ")
    with Client(KEY) as client:
        assert (client.endpoint, client.insecure) == (
            "generativelanguage.googleapis.com:443",
            False,
        )


def test_tls_and_insecure_together_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENDPOINT_ENV, "https://proxy.example.com")
    with pytest.raises(ValueError, match=r"asks for TLS .* and insecure=True"):
        Client(KEY, insecure=True)


def test_the_key_is_not_sent_in_plaintext_to_another_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENDPOINT_ENV, "http://10.1.2.3:50051")
    with pytest.raises(ValueError, match=f"plaintext to 10.1.2.3:50051 \\(from the {ENDPOINT_ENV}"):
        Client(KEY)
    with Client(KEY, allow_plaintext_key=True) as client:
        assert client.insecure


def test_the_default_client_and_configure_read_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENDPOINT_ENV, "http://127.0.0.1:50051")
    client = configure()
    try:
        assert get_default_client() is client
        assert (client.endpoint, client.insecure) == ("127.0.0.1:50051", True)
    finally:
        client.close()


# -- unchanged code against the fake, in another process ------------------------------------------

SCRIPT = """
import textservice

result = textservice.embed_content("models/gemini-embedding-001", ["hello", "world"])
print(len(result["embedding"]), len(result["embedding"][0]), result["embedding"][1][:2])
"""


@pytest.fixture
def served() -> Iterator[tuple[FakeServer, ServerAddress]]:
    fake = FakeServer()
    with fake.serve() as address:
        yield fake, address


@pytest.mark.subprocess
@pytest.mark.network
def test_an_unchanged_script_reaches_the_fake(
    tmp_path: Path, served: tuple[FakeServer, ServerAddress]
) -> None:
    fake, address = served
    (tmp_path / "app.py").write_text(SCRIPT, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "app.py"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=cli_env({ENDPOINT_ENV: f"http://{address.target}"}),  # and no GOOGLE_API_KEY
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    second = expected_content_embedding(GEMINI, "world")
    assert done.stdout == f"2 3072 {second[:2]}\n"
    assert [(c.method, c.request.model) for c in fake.calls] == [("BatchEmbedContents", GEMINI)]


@pytest.mark.subprocess
@pytest.mark.network
def test_without_the_variable_the_same_script_wants_googles_key(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(SCRIPT, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "app.py"], capture_output=True, text=True, cwd=tmp_path, env=cli_env()
    )
    assert done.returncode == 1
    assert "MissingAPIKeyError: no API key for generativelanguage.googleapis.com:443" in done.stderr


@pytest.mark.subprocess
@pytest.mark.network
def test_the_cli_reads_it_and_endpoint_comes_first(
    tmp_path: Path, served: tuple[FakeServer, ServerAddress]
) -> None:
    fake, address = served
    source = write_lines(tmp_path / "in.txt", ["one", "two"])
    env = {ENDPOINT_ENV: f"http://{address.target}"}
    done = run_cli(["embed", "-i", str(source), "-o", str(tmp_path / "a.jsonl")], env=env)
    assert done.returncode == 0, done.stderr
    assert fake.count() == 1
    # --endpoint (another fake) comes before the variable
    other = FakeServer()
    with other.serve() as elsewhere:
        args = ["embed", "--endpoint", elsewhere.target, "--insecure", "-i", str(source)]
        done = run_cli([*args, "-o", str(tmp_path / "b.jsonl")], env=env)
    assert done.returncode == 0, done.stderr
    assert (fake.count(), other.count()) == (1, 1)
    # a bad value is a usage error naming the variable
    env = {ENDPOINT_ENV: "grpc://127.0.0.1:1"}
    done = run_cli(["embed", "-i", str(source), "-o", str(tmp_path / "c.jsonl")], env=env)
    assert done.returncode == 2, done.stderr
    assert f"the {ENDPOINT_ENV} environment variable" in done.stderr
    assert not (tmp_path / "c.jsonl").exists()


def test_the_endpoint_argument_takes_the_variables_forms() -> None:
    with Client(endpoint="http://127.0.0.1:50051") as client:  # no key: not Google
        assert (client.endpoint, client.insecure) == ("127.0.0.1:50051", True)
    with Client(KEY, endpoint="https://proxy.example.com") as client:
        assert (client.endpoint, client.insecure) == ("proxy.example.com:443", False)
    with pytest.raises(ValueError, match=r"endpoint asks for TLS .* and insecure=True"):
        Client(KEY, endpoint="https://proxy.example.com", insecure=True)
    with pytest.raises(ValueError, match=r"http:// \(plaintext\) or https://") as info:
        Client(KEY, endpoint="grpc://127.0.0.1:1")
    assert ENDPOINT_ENV not in str(info.value)
